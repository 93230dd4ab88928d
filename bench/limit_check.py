"""Kohort and the limit answer alike (bench/limit.py `check`, run by bench/api.py first).

On `sample` open groups of the key's organization and mode: GET /groups/{id} and
POST /groups/{code}/validate must answer the same status, `content-type` and bytes on both
servers. Then `joins` pairs of joins, each server's buyer joining its own group of the same
size: the answers must have the same keys in the same order with the same types (and the same
values where a join's outcome does not depend on who joined: amounts, fee, status, risk…),
and the rows each join wrote (its order, its customer, the group, the events appended) the
same columns with the same types and values, ids, names and times aside."""

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable
from typing import Any

import httpx

VOLATILE = frozenset(
    {
        "id",
        "customerId",
        "customerEmail",
        "customerFirstName",
        "customerLastName",
        "customerIp",
        "emailAddress",
        "firstName",
        "lastName",
        "paymentGroupId",
        "paymentGroupShareId",
        "shareId",
        "creatorEmail",
        "createdAt",
        "updatedAt",
        "expiresAt",
        "midExpireAt",
        "jMinus2ExpireAt",
        "jPlus3StartAt",
        "customer_id",
        "customer_email",
        "email_key",
        "email_address",
        "customer_first_name",
        "customer_last_name",
        "first_name",
        "last_name",
        "customer_ip",
        "payment_group_id",
        "payment_group_share_id",
        "share_id",
        "share_key",
        "creator_email",
        "created_at",
        "updated_at",
        "expires_at",
        "mid_expire_at",
        "j_minus2_expire_at",
        "j_plus3_start_at",
        "seq",
        "data",
    }
)
"""Keys and columns whose values differ between two joins of two buyers into two groups."""
Query = Callable[[str, tuple[Any, ...]], list[dict[str, Any]]]


def _query(url: str) -> tuple[Query, Callable[[], None]]:
    """A synchronous query function on the database of `url`, rows as dicts, and its closer."""
    scheme, _, rest = url.partition("://")
    if scheme.startswith("sqlite"):
        sqlite = sqlite3.connect(rest.removeprefix("/"), isolation_level=None)

        def run_sqlite(sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
            cursor = sqlite.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return run_sqlite, sqlite.close
    import psycopg

    pg = psycopg.connect(f"postgresql://{rest}", autocommit=True)

    def run_pg(sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        cursor = pg.execute(sql.replace("?", "%s"), params)
        names = [d.name for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return run_pg, pg.close


def shape(value: Any) -> Any:
    """Keys in order and the types of the values, recursively."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def differences(label: str, ours: Any, theirs: Any) -> list[str]:
    """Where `theirs` (the limit's) differs from `ours` (Kohort's): shape, then the values
    that do not depend on which buyer joined which group."""
    if shape(ours) != shape(theirs):
        return [f"{label}: shapes differ\n  kohort {shape(ours)}\n  limit  {shape(theirs)}"]
    if isinstance(ours, dict):
        found = []
        for key, item in ours.items():
            if key not in VOLATILE:
                found += differences(f"{label}.{key}", item, theirs[key])
        return found
    if isinstance(ours, list):
        return [p for i, o in enumerate(ours) for p in differences(f"{label}[{i}]", o, theirs[i])]
    return [] if ours == theirs else [f"{label}: kohort {ours!r}, limit {theirs!r}"]


def _same_answer(label: str, kohort: httpx.Response, limit: httpx.Response) -> list[str]:
    found = []
    if kohort.status_code != limit.status_code:
        found.append(f"{label}: status {kohort.status_code} and {limit.status_code}")
    for header in ("content-type", "kohort-version"):
        if kohort.headers.get(header) != limit.headers.get(header):
            found.append(
                f"{label}: {header} {kohort.headers.get(header)!r} and "
                f"{limit.headers.get(header)!r}"
            )
    return found


def _caller(query: Query, key: str) -> tuple[str, bool]:
    rows = query(
        "SELECT organization_id, livemode FROM api_keys WHERE key_hash = ?",
        (hashlib.sha256(key.encode()).hexdigest(),),
    )
    if not rows:
        raise SystemExit("check: the key is not in the database")
    return rows[0]["organization_id"], bool(rows[0]["livemode"])


def _reads(clients: list[httpx.Client], groups: list[dict[str, Any]]) -> tuple[int, list[str]]:
    found: list[str] = []
    compared = 0
    for group in groups:
        for label, method, path, body in (
            ("GET", "GET", f"/groups/{group['id']}", None),
            ("validate", "POST", f"/groups/{group['share_id']}/validate", {"amount": 5000}),
        ):
            kohort, limit = (c.request(method, path, json=body) for c in clients)
            compared += 1
            found += _same_answer(f"{label} {group['id']}", kohort, limit)
            if kohort.content != limit.content:
                found.append(
                    f"{label} {group['id']}: bodies differ\n  kohort {kohort.text}\n"
                    f"  limit  {limit.text}"
                )
    return compared, found


def _written(query: Query, before: int, answer: dict[str, Any]) -> dict[str, Any]:
    """What one join wrote: its order, customer and group rows, and the events after `before`."""
    one = "SELECT * FROM {} WHERE id = ?"
    return {
        "order": query(one.format("orders"), (answer["id"],)),
        "customer": query(one.format("customers"), (answer["customerId"],)),
        "group": query(one.format("payment_groups"), (answer["paymentGroupId"],)),
        "events": [
            {
                **row,
                "data": json.loads(row["data"]) if isinstance(row["data"], str) else row["data"],
            }
            for row in query(
                "SELECT seq, id, type, organization_id, livemode, data, created_at FROM events "
                "WHERE seq > ? ORDER BY seq",
                (before,),
            )
        ],
    }


def _buyer(group: dict[str, Any]) -> dict[str, Any]:
    tag = secrets.token_hex(4)
    return {
        "amount": 5000,
        "customerEmail": f"check.{tag}@{secrets.token_hex(4)}.example",
        "customerFirstName": "Check",
        "customerLastName": f"Buyer{tag}",
        "customerIp": f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7",
        "paymentGroupShareId": group["share_id"],
    }


def _joins(
    clients: list[httpx.Client], query: Query, pairs: list[list[dict[str, Any]]]
) -> list[str]:
    found: list[str] = []
    for n, pair in enumerate(pairs):
        written, answers = [], []
        for client, group in zip(clients, pair, strict=True):
            before = query("SELECT coalesce(max(seq), 0) AS seq FROM events", ())[0]["seq"]
            response = client.post("/orders", json=_buyer(group))
            answers.append(response)
            if response.status_code == 201:
                written.append(_written(query, before, response.json()))
        found += _same_answer(f"join {n}", *answers)
        if len(written) < 2:
            found.append(f"join {n}: {answers[0].status_code} {answers[1].text[:300]}")
            continue
        found += differences(f"join {n} answer", answers[0].json(), answers[1].json())
        kohort, limit = written
        found += differences(f"join {n} rows", kohort, limit)
        for i, (ours, theirs) in enumerate(zip(kohort["events"], limit["events"], strict=False)):
            found += differences(
                f"join {n} event {i} ({ours['type']}) data", ours["data"], theirs["data"]
            )
    return found


def check(
    kohort: str, limit: str, key: str, database_url: str, *, sample: int = 50, joins: int = 5
) -> list[str]:
    """Compare the two servers; print the outcome and return the differences found."""
    query, close = _query(database_url)
    headers = {"Authorization": f"Bearer {key}"}
    clients = [httpx.Client(base_url=base, headers=headers, timeout=30) for base in (kohort, limit)]
    try:
        organization_id, livemode = _caller(query, key)
        groups = query(
            "SELECT id, share_id, participants_count FROM payment_groups WHERE organization_id = ?"
            " AND livemode = ? AND status = 'OPEN' AND participants_count + 2 < max_participants"
            " ORDER BY participants_count, id LIMIT ?",
            (organization_id, livemode, sample + 2 * joins),
        )
        compared, found = _reads(clients, groups[:sample])
        fresh = groups[sample:]
        pairs = [
            fresh[i : i + 2]
            for i in range(0, len(fresh) - 1, 2)
            if fresh[i]["participants_count"] == fresh[i + 1]["participants_count"]
        ]
        found += _joins(clients, query, pairs[:joins])
        if not compared or len(pairs[:joins]) < min(joins, 1):
            found.append(f"nothing to compare: {len(groups)} open groups of the key's mode")
    finally:
        for client in clients:
            client.close()
        close()
    if found:
        print(f"check: {len(found)} difference(s) between Kohort and the limit:")
        for problem in found[:20]:
            print(f"  {problem}")
    else:
        print(
            f"check: {compared} answers byte-identical ({compared // 2} GET, {compared // 2} "
            f"validate), {len(pairs[:joins])} joins alike (answer's keys, order and types; "
            "rows written)"
        )
    return found

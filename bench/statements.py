"""The statements one hot request makes, and its CPU in process (no HTTP server, no wrk).

Migrates a temporary SQLite database (or `--database-url`), creates an organization, opens
`--groups` groups, then drives the app in process, calling it as an ASGI server would (no
client, no HTTP parsing in the figures), with `--requests` requests of each kind: GET
/groups/{id}, POST /groups/{code}/validate and POST /orders (a join, a new buyer each time).
Prints, per kind, the SQL statements of one request (with `--show`) and their count, the CPU
milliseconds per request (process time, the heap frozen as `kohort serve` freezes it; the
best and the median of 5 slices) and the Python function calls per request (counted by
cProfile over another `--requests`: the same on every run of the same code, so it compares
trees on a noisy machine where CPU time does not). `--profile FILE` writes that cProfile of
the joins (of the GETs with `--kind GET`).

    .venv/bin/python bench/statements.py [--groups 200] [--requests 300] [--show]
                                         [--database-url URL] [--profile /tmp/join.prof]

`PYTHONPATH=TREE` measures another tree's kohort (a `git worktree` of an older commit).
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

Call = Callable[[int], Awaitable[tuple[int, bytes]]]


def _asgi(app: Any, key: str) -> Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]:
    """`app` called as uvicorn calls it, once per request: status and body of the answer."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())]

    async def call(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        sent = False
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers
            + ([(b"content-type", b"application/json")] if body else [])
            + [(b"content-length", str(len(body)).encode())],
            "server": ("bench", 80),
            "client": ("127.0.0.1", 50000),
        }

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never leaves
            raise AssertionError

        status = 0
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return status, b"".join(chunks)

    return call


def _join_body(n: int, code: str) -> dict[str, Any]:
    return {
        "amount": 5000,
        "customerEmail": f"buyer{n}.x{n * 7919 % 100_003}@shop{n % 97}.example",
        "customerFirstName": f"First{n}",
        "customerLastName": f"Last{n * 31}",
        "customerIp": f"10.{n % 250}.{n // 250 % 250}.{n % 200 + 1}",
        "paymentGroupShareId": code,
    }


async def run(args: argparse.Namespace, database_url: str) -> None:
    from kohort import migrations
    from kohort.config import Settings
    from kohort.db import create_database
    from kohort.main import create_app, settle_heap
    from kohort.organization import service as organizations

    settings = Settings(database_url=database_url, worker="off")
    db = create_database(settings)
    await migrations.upgrade(db.engine)
    async with db.write() as session:
        created = await organizations.create_organization(session, name="Bench")
    key = created.keys["sk_test"]
    app = create_app(settings, database=db)
    statements: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    headers = {"Authorization": f"Bearer {key}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as client:
        await client.patch(
            f"/organizations/{created.organization.id}/payment-group-settings",
            json={"maxParticipants": 1000, "minutesDuration": 129_600},
        )
        groups = []
        for n in range(args.groups):
            answer = await client.post(
                "/orders",
                json={
                    "amount": 10_000,
                    "customerEmail": f"creator{n}@example.com",
                    "customerFirstName": "Cre",
                    "customerLastName": f"Ator{n}",
                },
            )
            assert answer.status_code < 300, answer.text
            order = answer.json()
            groups.append((order["paymentGroupId"], order["paymentGroupShareId"]))
        settle_heap()
        counter = iter(range(10**9))
        asgi = _asgi(app, key)

        def get(i: int) -> Awaitable[tuple[int, bytes]]:
            return asgi("GET", f"/groups/{groups[i % len(groups)][0]}", b"")

        def validate(i: int) -> Awaitable[tuple[int, bytes]]:
            code = groups[i % len(groups)][1]
            return asgi("POST", f"/groups/{code}/validate", b'{"amount": 5000}')

        def join(i: int) -> Awaitable[tuple[int, bytes]]:
            code = groups[i % len(groups)][1]
            return asgi("POST", "/orders", json.dumps(_join_body(next(counter), code)).encode())

        kinds: list[tuple[str, Call]] = [
            ("GET /groups/{id}", get),
            ("POST /groups/{code}/validate", validate),
            ("POST /orders (join)", join),
        ]
        for name, call in kinds:
            statements.clear()
            status, body = await call(0)
            assert status < 300, body
            one = list(statements)
            slices = sorted([await _cpu_ms(call, args.requests // 5) for _ in range(5)])
            profile = cProfile.Profile()
            profile.enable()
            await _cpu_ms(call, args.requests)
            profile.disable()
            calls = pstats.Stats(profile).total_calls / args.requests  # type: ignore[attr-defined]
            if args.profile and name.startswith(args.kind):
                profile.dump_stats(args.profile)
            print(
                f"{name:<30} {len(one):>3} statements  {slices[0]:6.2f} ms CPU per request "
                f"(median {slices[2]:.2f})  {calls:7.0f} calls per request"
            )
            if args.show:
                for statement in one:
                    print("    " + " ".join(statement.split())[:160])
        if args.json:
            print(json.dumps({"groups": len(groups)}))
    await db.dispose()


async def _cpu_ms(call: Call, requests: int) -> float:
    started = time.process_time()
    for i in range(requests):
        status, body = await call(i + 1)
        assert status < 300, body
    return (time.process_time() - started) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url")
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--profile")
    parser.add_argument("--kind", default="POST /orders", help="the requests profiled")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("KOHORT_LOG_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        os.environ["KOHORT_DATA_DIR"] = tmp
        asyncio.run(run(args, url))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

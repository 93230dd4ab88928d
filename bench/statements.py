"""The statements one hot request makes, and its CPU in process (no HTTP server, no wrk).

Migrates a temporary SQLite database (or `--database-url`), creates an organization, opens
`--groups` groups, then drives the app in process (httpx's ASGI transport) with `--requests`
requests of each kind: GET /groups/{id}, POST /groups/{code}/validate and POST /orders (a
join, a new buyer each time). Prints, per kind, the SQL statements of one request (with
`--show`) and their count, and the CPU milliseconds per request (process time, the heap frozen
as `kohort serve` freezes it). `--profile FILE` writes a cProfile of the joins (of the GETs
with `--kind GET`).

    .venv/bin/python bench/statements.py [--groups 200] [--requests 300] [--show]
                                         [--database-url URL] [--profile /tmp/join.prof]

`PYTHONPATH=TREE` measures another tree's kohort (a `git worktree` of an older commit).
"""

import argparse
import asyncio
import cProfile
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event


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

        def get(i: int) -> Awaitable[httpx.Response]:
            return client.get(f"/groups/{groups[i % len(groups)][0]}")

        def validate(i: int) -> Awaitable[httpx.Response]:
            code = groups[i % len(groups)][1]
            return client.post(f"/groups/{code}/validate", json={"amount": 5000})

        def join(i: int) -> Awaitable[httpx.Response]:
            code = groups[i % len(groups)][1]
            return client.post("/orders", json=_join_body(next(counter), code))

        kinds: list[tuple[str, Callable[[int], Awaitable[httpx.Response]]]] = [
            ("GET /groups/{id}", get),
            ("POST /groups/{code}/validate", validate),
            ("POST /orders (join)", join),
        ]
        for name, call in kinds:
            statements.clear()
            answer = await call(0)
            assert answer.status_code < 300, answer.text
            one = list(statements)
            profile = cProfile.Profile() if args.profile and name.startswith(args.kind) else None
            started = time.process_time()
            if profile:
                profile.enable()
            for i in range(1, args.requests + 1):
                answer = await call(i)
                assert answer.status_code < 300, answer.text
            if profile:
                profile.disable()
                profile.dump_stats(args.profile)
            cpu_ms = (time.process_time() - started) * 1000 / args.requests
            print(f"{name:<30} {len(one):>3} statements  {cpu_ms:6.2f} ms CPU per request")
            if args.show:
                for statement in one:
                    print("    " + " ".join(statement.split())[:160])
        if args.json:
            print(json.dumps({"groups": len(groups)}))
    await db.dispose()


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

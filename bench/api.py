"""API throughput: a real `kohort serve` on SQLite (and PostgreSQL when reachable), loaded
over loopback by concurrent HTTP clients. Prints requests/second and latency percentiles.

    uv run python bench/api.py [--requests 2000] [--concurrency 32] [--engine sqlite|postgres|all]
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "KOHORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


def recreate_pg(url: str) -> None:
    import psycopg
    from sqlalchemy import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{parsed.database}"')


def kohort(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "kohort.cli", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


async def load(
    name: str, requests: int, concurrency: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> None:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            started = time.perf_counter()
            response = await call(i)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    print(
        f"  {name:<28} {requests:>6} req  {requests / elapsed:>8.0f} req/s  "
        f"p50 {q[49]:>6.1f} ms  p99 {q[98]:>6.1f} ms  errors {errors}"
    )


async def scenarios(base: str, key: str, requests: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    auth = {"Authorization": f"Bearer {key}"}
    run = str(time.time_ns())
    async with httpx.AsyncClient(base_url=base, headers=auth, limits=limits, timeout=60) as c:
        await load(
            "POST /customers",
            requests,
            concurrency,
            lambda i: c.post("/customers", json={"emailAddress": f"b{run}-{i}@example.com"}),
        )
        await load(
            "POST /customers (idem key)",
            requests,
            concurrency,
            lambda i: c.post(
                "/customers",
                json={"emailAddress": f"i{run}-{i}@example.com"},
                headers={"Idempotency-Key": f"{run}-{i}"},
            ),
        )
        await load("GET /customers (take=25)", requests, concurrency, lambda i: c.get("/customers"))
        await load(
            "GET /customers?search=…",
            requests,
            concurrency,
            lambda i: c.get("/customers", params={"search": f"emailAddress~{i % 97}"}),
        )
        await load(
            "GET /organizations/me", requests, concurrency, lambda i: c.get("/organizations/me")
        )


def bench_engine(label: str, database_url: str, requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "KOHORT_DATABASE_URL": database_url,
            "KOHORT_DATA_DIR": tmp,
            "KOHORT_LOG_LEVEL": "WARNING",
        }
        port = free_port()
        env["KOHORT_PORT"] = str(port)
        kohort(env, "migrate")
        created = json.loads(kohort(env, "org", "create", "--name", "Bench", "--json"))
        server = subprocess.Popen([sys.executable, "-m", "kohort.cli", "serve"], env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(f"{label}: 1 API process, {concurrency} concurrent clients")
            asyncio.run(scenarios(base, created["keys"]["sk_test"], requests, concurrency))
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    if args.engine in ("sqlite", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            bench_engine(
                "SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", args.requests, args.concurrency
            )
    if args.engine in ("postgres", "all"):
        if not pg_reachable():
            print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
            return
        recreate_pg(PG_URL)
        bench_engine("PostgreSQL", PG_URL, args.requests, args.concurrency)


if __name__ == "__main__":
    main()

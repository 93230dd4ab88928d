"""How late groups end: the lag from each group's `expiresAt` to its end, with default settings.

For each engine, on a fresh database: starts `kohort serve` (the worker embedded, default poll
interval and batch size), seeds N OPEN groups of 1-10 members whose `expiresAt` falls
over the next `--spread` seconds (after a 10 s lead so that seeding is done first), waits until
every one has ended, and reads each group's lag = the moment it ended (`updatedAt`, set by the
transaction that ended it) - its `expiresAt`. Prints p50, p99 and max (goal: p99 <= 2 s).

    uv run python bench/ontime.py [--groups 3000] [--spread 30] [--engine sqlite|postgres|all]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import free_port, kohort, pg_reachable, recreate_pg, serve, stop
from bench.sweep import _seed_rows, sync_url

PG_URL = os.environ.get(
    "KOHORT_BENCH_ONTIME_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench_ontime",
)
LEAD = timedelta(seconds=10)


def lags(url: str) -> tuple[list[float], int]:
    """Each ended group's lag in seconds, and how many are still OPEN."""
    engine = create_engine(sync_url(url))
    with engine.connect() as c:
        rows = c.execute(text("SELECT status, expires_at, updated_at FROM payment_groups")).all()
    engine.dispose()

    def moment(value: object) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    ended = [
        (moment(updated) - moment(expires)).total_seconds()
        for status, expires, updated in rows
        if status != "OPEN"
    ]
    return ended, sum(1 for status, _, _ in rows if status == "OPEN")


def bench_engine(label: str, url: str, args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        if not url.startswith("sqlite"):
            recreate_pg(url)
        env = {
            **os.environ,
            "KOHORT_DATABASE_URL": url,
            "KOHORT_DATA_DIR": tmp,
            "KOHORT_LOG_LEVEL": "WARNING",
        }
        kohort(env, "migrate")
        created = json.loads(kohort(env, "org", "create", "--name", "Bench", "--json"))
        port = free_port()
        env["KOHORT_PORT"] = str(port)
        server = serve([sys.executable, "-m", "kohort.cli", "serve"], env, port)
        try:
            spread = timedelta(seconds=args.spread)

            def expires(n: int, now: datetime) -> datetime:
                return now + LEAD + spread * n / args.groups

            started = time.perf_counter()
            orders, _ = asyncio.run(
                _seed_rows(url, created["organizationId"], args.groups, expires)
            )
            print(
                f"{label}: seeded {args.groups} groups ({orders} orders) due over the next "
                f"{args.spread} s, in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            deadline = time.monotonic() + LEAD.total_seconds() + args.spread + 120
            while True:
                time.sleep(1)
                ended, still_open = lags(url)
                if not still_open or time.monotonic() > deadline:
                    break
        finally:
            stop(server)
    ended.sort()
    p99 = ended[max(0, int(len(ended) * 0.99) - 1)] if ended else float("nan")
    within = sum(1 for lag in ended if lag <= 2.0)
    line = (
        f"{label:<11} {len(ended):>7} {statistics.median(ended):>8.2f} {p99:>8.2f} "
        f"{ended[-1]:>8.2f} {100 * within / len(ended):>9.1f}%  {still_open} still open"
    )
    print(line, flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=3000)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds")
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    lines = []
    if args.engine in ("sqlite", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            lines.append(bench_engine("SQLite", f"sqlite+aiosqlite:///{tmp}/ontime.db", args))
    if args.engine in ("postgres", "all"):
        if pg_reachable():
            lines.append(bench_engine("PostgreSQL", PG_URL, args))
        else:
            print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
    print(
        f"\n`kohort serve` with its embedded worker, default settings; {args.groups} groups of "
        f"1-10 members due over {args.spread:.0f} s; lag = end - expiresAt (goal p99 <= 2 s)"
    )
    print(f"{'engine':<11} {'groups':>7} {'p50 s':>8} {'p99 s':>8} {'max s':>8} {'<= 2 s':>10}")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()

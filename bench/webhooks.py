"""Webhook delivery throughput and delay, on SQLite and on PostgreSQL.

On a fresh database per engine (SQLite temp file; PostgreSQL database kohort_bench_webhooks),
migrated, with one organization and 3 test-mode endpoints subscribed to everything, all
pointing at a fast local receiver (bench/webhook_receiver.py under uvicorn, answering 204):

1. backlog: seeds N events (default 10 000) not yet fanned out, starts `kohort worker`
   (KOHORT_WORKER_BATCH_SIZE=500) and times it until the receiver has every one of the 3 N
   deliveries; prints deliveries/s and the delay event.createdAt → arrival (p50, p99), which
   here is mostly the time the backlog takes to drain;
2. steady: with the worker running, appends events at a steady rate (default 200/s for
   10 s) and prints the delay event.createdAt → arrival (p50, p99) of those.

    uv run python bench/webhooks.py [--events 10000] [--rate 200] [--seconds 10]
                                    [--engine sqlite|postgres|all]
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import free_port, kohort, pg_reachable, recreate_pg, serve, stop
from kohort import clock
from kohort.config import Settings
from kohort.db import create_database
from kohort.ids import new_id
from kohort.models import Event
from kohort.webhook.schemas import WebhookEndpointCreate
from kohort.webhook.service import create_endpoint

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "KOHORT_BENCH_WEBHOOKS_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench_webhooks",
)
ENDPOINTS = 3
CHUNK = 2000
TIMEOUT = 300.0


@dataclass(frozen=True)
class Figures:
    engine: str
    phase: str
    deliveries: int
    seconds: float
    p50_ms: float
    p99_ms: float

    def line(self) -> str:
        rate = f"{self.deliveries / self.seconds:7.0f} deliveries/s" if self.seconds else ""
        return (
            f"{self.engine:10} {self.phase:8} {self.deliveries:6} deliveries in "
            f"{self.seconds:6.1f} s {rate}  delay p50 {self.p50_ms:8.0f} ms, "
            f"p99 {self.p99_ms:8.0f} ms"
        )


async def _endpoints(url: str, organization_id: str, receiver: str) -> None:
    db = create_database(Settings(database_url=url))
    try:
        async with db.write() as session:
            for n in range(ENDPOINTS):
                await create_endpoint(
                    session,
                    organization_id=organization_id,
                    livemode=False,
                    data=WebhookEndpointCreate(url=f"{receiver}/hook/{n}", events=["*"]),
                    allow_private=True,
                )
    finally:
        await db.dispose()


async def _append_events(url: str, organization_id: str, count: int) -> dict[str, float]:
    """`count` events, appended in chunks; returns their creation times by id."""
    db = create_database(Settings(database_url=url))
    created: dict[str, float] = {}
    try:
        for start in range(0, count, CHUNK):
            now = clock.now()
            rows = [
                {
                    "id": new_id("evt"),
                    "type": "customer.updated",
                    "organization_id": organization_id,
                    "livemode": False,
                    "data": {"object": "customer", "id": f"cus_bench{n}", "n": n},
                    "created_at": now,
                }
                for n in range(start, min(start + CHUNK, count))
            ]
            async with db.write() as session:
                await session.execute(insert(Event), rows)
            created.update(dict.fromkeys((r["id"] for r in rows), now.timestamp()))
    finally:
        await db.dispose()
    return created


async def _trickle(url: str, organization_id: str, rate: int, seconds: float) -> dict[str, float]:
    """Events at `rate` per second (ten appends a second) for `seconds`."""
    db = create_database(Settings(database_url=url))
    created: dict[str, float] = {}
    per_tick = max(1, rate // 10)
    try:
        started = time.perf_counter()
        tick = 0
        while time.perf_counter() - started < seconds:
            now = clock.now()
            rows = [
                {
                    "id": new_id("evt"),
                    "type": "customer.updated",
                    "organization_id": organization_id,
                    "livemode": False,
                    "data": {"object": "customer", "id": "cus_trickle"},
                    "created_at": now,
                }
                for _ in range(per_tick)
            ]
            async with db.write() as session:
                await session.execute(insert(Event), rows)
            created.update(dict.fromkeys((r["id"] for r in rows), now.timestamp()))
            tick += 1
            await asyncio.sleep(max(0.0, started + tick / 10 - time.perf_counter()))
    finally:
        await db.dispose()
    return created


def _arrivals(receiver: str) -> tuple[int, dict[str, float]]:
    body = httpx.get(receiver, timeout=30).json()
    return int(body["requests"]), {k: float(v) for k, v in body["arrivals"].items()}


def _event_of_delivery(url: str) -> dict[str, str]:
    """webhook-id (the delivery id) → event id."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("+aiosqlite", ""))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, event_id FROM webhook_deliveries")).all()
    engine.dispose()
    return {str(d): str(e) for d, e in rows}


def _wait_for(receiver: str, expected: int, label: str, worker: subprocess.Popen[bytes]) -> None:
    started = time.perf_counter()
    while True:
        count = len(_arrivals(receiver)[1])
        if count >= expected:
            return
        if worker.poll() is not None:
            raise RuntimeError(f"{label}: the worker exited with {worker.returncode}")
        if time.perf_counter() - started > TIMEOUT:
            raise RuntimeError(f"{label}: {count} of {expected} deliveries after {TIMEOUT:.0f} s")
        time.sleep(0.25)


def _figures(label: str, phase: str, url: str, receiver: str, created: dict[str, float]) -> Figures:
    _, arrivals = _arrivals(receiver)
    events = _event_of_delivery(url)
    delays = [
        (at - created[events[wid]]) * 1000
        for wid, at in arrivals.items()
        if events.get(wid) in created
    ]
    times = [at for wid, at in arrivals.items() if events.get(wid) in created]
    quantiles = statistics.quantiles(delays, n=100)
    return Figures(label, phase, len(delays), max(times) - min(times), quantiles[49], quantiles[98])


def bench_engine(label: str, url: str, tmp: str, args: argparse.Namespace) -> list[Figures]:
    if not url.startswith("sqlite"):
        recreate_pg(url)
    env = {
        **os.environ,
        "KOHORT_DATABASE_URL": url,
        "KOHORT_DATA_DIR": tmp,
        "KOHORT_LOG_LEVEL": "WARNING",
        "KOHORT_WORKER_BATCH_SIZE": "500",
        "KOHORT_WORKER_POLL_SECONDS": "0.05",
        "KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS": "true",
    }
    kohort(env, "migrate")
    organization_id = json.loads(kohort(env, "org", "create", "--name", "Bench", "--json"))[
        "organizationId"
    ]
    port = free_port()
    receiver_process = serve(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.webhook_receiver:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        port,
    )
    receiver = f"http://127.0.0.1:{port}"
    results = []
    worker: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(_endpoints(url, organization_id, receiver))
        created = asyncio.run(_append_events(url, organization_id, args.events))
        print(f"{label}: seeded {args.events} events, {ENDPOINTS} endpoints", flush=True)
        worker = subprocess.Popen([sys.executable, "-m", "kohort.cli", "worker"], env=env, cwd=ROOT)
        _wait_for(receiver, args.events * ENDPOINTS, label, worker)
        results.append(_figures(label, "backlog", url, receiver, created))
        print(results[-1].line(), flush=True)

        trickled = asyncio.run(_trickle(url, organization_id, args.rate, args.seconds))
        _wait_for(receiver, (args.events + len(trickled)) * ENDPOINTS, label, worker)
        results.append(_figures(label, "steady", url, receiver, trickled))
        print(results[-1].line(), flush=True)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        stop(receiver_process)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200, help="steady phase: events per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="steady phase length")
    parser.add_argument("--engine", choices=("sqlite", "postgres", "all"), default="all")
    args = parser.parse_args()
    results: list[Figures] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.engine in ("sqlite", "all"):
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            results += bench_engine("SQLite", url, tmp, args)
        if args.engine in ("postgres", "all"):
            if pg_reachable():
                results += bench_engine("PostgreSQL", PG_URL, tmp, args)
            else:
                print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped", flush=True)
    print()
    print(f"{ENDPOINTS} endpoints, one `kohort worker` (batch 500), receiver answering 204:")
    for figures in results:
        print(figures.line())


if __name__ == "__main__":
    main()

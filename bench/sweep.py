"""The worker's sweep of due groups, against the database's own limit for the same work.

On a fresh database per run (SQLite temp file; PostgreSQL database kohort_bench_sweep),
migrated and with one organization, seeds N OPEN groups already due, each with 1-10 member
orders (deterministic sizes and amounts), then:

- starts `kohort worker` (one process; on PostgreSQL also `--workers` processes at once) and
  times it until no OPEN group is left, then checks every group ended exactly once;
- as a baseline, applies the same final state (statuses, cashback, order statuses, events) in
  one hand-written bulk SQL transaction: the most the database can do for this work.

Prints groups ended per second and the ratio worker time / baseline time (goal: within 3x).

    uv run python bench/sweep.py [--groups 100000] [--engine sqlite|postgres|all] [--workers 3]
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import kohort, pg_reachable, recreate_pg
from kohort import clock
from kohort.config import Settings
from kohort.db import create_database
from kohort.event.sql_objects import event_id_sql, object_sql
from kohort.group.schemas import GroupRead
from kohort.group_settings.service import get_settings, snapshot
from kohort.ids import new_id, new_share_code, share_key
from kohort.models import Customer, Order, PaymentGroup
from kohort.models.base import UTCDateTime
from kohort.order.schemas import OrderRead

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "KOHORT_BENCH_SWEEP_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench_sweep",
)
CHUNK = 5000
MAX_MEMBERS = 10
SEED = 20240501
WORKER_TIMEOUT = 3600.0
STALL_TIMEOUT = 60.0


@dataclass(frozen=True)
class Run:
    engine: str
    name: str
    groups: int
    seconds: float
    check: str = ""


@dataclass
class Seeded:
    url: str
    env: dict[str, str]
    organization_id: str
    orders: int
    settings: dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Seeding


def _already_due(n: int, now: datetime) -> datetime:
    return now - timedelta(minutes=10, milliseconds=n % 60_000)


async def _seed_rows(
    url: str,
    organization_id: str,
    groups: int,
    expires: Callable[[int, datetime], datetime] = _already_due,
) -> tuple[int, dict[str, Any]]:
    """Insert `groups` OPEN groups of 1-10 members; group n ends at `expires(n, now)`."""
    db = create_database(Settings(database_url=url))
    rng = random.Random(SEED)
    now = clock.now()
    orders = 0
    try:
        async with db.write() as session:
            settings = snapshot(
                await get_settings(session, organization_id=organization_id, livemode=False)
            )
            customers = [
                {
                    "id": new_id("cus"),
                    "organization_id": organization_id,
                    "livemode": False,
                    "email_address": f"member{n}@example.com",
                    "email_key": f"member{n}@example.com",
                    "first_name": "Mem",
                    "last_name": f"Ber{n}",
                    "phone_number": None,
                    "locale": "fr_FR",
                    "is_blocked": False,
                    "client_reference_id": None,
                    "metadata_": {},
                    "created_at": now,
                    "created_by": "bench",
                    "updated_at": now,
                    "updated_by": "bench",
                }
                for n in range(MAX_MEMBERS)
            ]
            await session.execute(insert(Customer), customers)
        creator = customers[0]
        for start in range(0, groups, CHUNK):
            group_rows: list[dict[str, Any]] = []
            order_rows: list[dict[str, Any]] = []
            for n in range(start, min(start + CHUNK, groups)):
                size = rng.randint(1, MAX_MEMBERS)
                code = new_share_code(False)
                group_id = f"pg_{n:014x}"
                created = now - timedelta(minutes=20)
                group_rows.append(
                    {
                        "id": group_id,
                        "share_id": code,
                        "share_key": share_key(code) + f"-{n}",
                        "livemode": False,
                        "organization_id": organization_id,
                        "customer_id": creator["id"],
                        "creator_email": creator["email_address"],
                        "status": "OPEN",
                        "metadata_": {},
                        "participants_count": size,
                        "max_participants": int(settings["maxParticipants"]),
                        "settings": settings,
                        "expires_at": expires(n, now),
                        "mid_expire_at": None,
                        "j_minus2_expire_at": None,
                        "j_plus3_start_at": None,
                        "reminder_email_sent": "NOT_SENT",
                        "created_at": created,
                        "created_by": "bench",
                        "updated_at": created,
                        "updated_by": "bench",
                        "canceled_at": None,
                        "completed_at": None,
                    }
                )
                for m in range(size):
                    customer = customers[m]
                    order_rows.append(
                        {
                            "id": f"ord_{n:010x}{m:04x}",
                            "livemode": False,
                            "organization_id": organization_id,
                            # Odd amounts so that half-up rounding matters.
                            "amount": rng.randint(500, 50_000) | 1,
                            "amount_cashback": None,
                            "application_fee_amount": 0,
                            "currency": "EUR",
                            "locale": "fr_FR",
                            "status": "CREATED",
                            "customer_id": customer["id"],
                            "customer_email": customer["email_address"],
                            "email_key": customer["email_key"],
                            "customer_first_name": customer["first_name"],
                            "customer_last_name": customer["last_name"],
                            "customer_phone_number": None,
                            "payment_group_id": group_id,
                            "payment_group_share_id": code,
                            "client_reference_id": None,
                            "risk_level": None,
                            "join_error": None,
                            "metadata_": {},
                            "created_at": created + timedelta(microseconds=m),
                            "created_by": "bench",
                            "updated_at": created + timedelta(microseconds=m),
                            "updated_by": "bench",
                        }
                    )
            async with db.write() as session:
                await session.execute(insert(PaymentGroup), group_rows)
                for o in range(0, len(order_rows), CHUNK):
                    await session.execute(insert(Order), order_rows[o : o + CHUNK])
            orders += len(order_rows)
    finally:
        await db.dispose()
    return orders, settings


def seed(label: str, url: str, tmp: str, groups: int) -> Seeded:
    """Fresh database (PostgreSQL recreated), migrated, one organization, `groups` due groups."""
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
    started = time.perf_counter()
    orders, settings = asyncio.run(_seed_rows(url, created["organizationId"], groups))
    # Fresh statistics, as a live database has them (without them PostgreSQL may plan the
    # baseline's joins as nested loops over the whole table).
    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("ANALYZE"))
    engine.dispose()
    print(
        f"{label}: seeded {groups} groups, {orders} orders "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return Seeded(url, env, created["organizationId"], orders, settings)


# ---------------------------------------------------------------------------------------------
# Worker runs


def sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "")


def open_count(engine: Any) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text("SELECT count(*) FROM payment_groups WHERE status = 'OPEN'")
            ).scalar_one()
        )


def run_workers(label: str, seeded: Seeded, processes: int, groups: int) -> Run:
    env = {
        **seeded.env,
        "KOHORT_WORKER_BATCH_SIZE": "500",
        "KOHORT_WORKER_POLL_SECONDS": "0.05",
        "KOHORT_LOG_LEVEL": "WARNING",
        # Only the work the baseline does: the other lanes (fan-out of the events to e-mails
        # and webhooks, test-mode payouts) would share the write lock and the CPU.
        "KOHORT_WORKER_LANES": "groups",
    }
    engine = create_engine(sync_url(seeded.url))
    name = f"{processes} worker{'s' if processes > 1 else ''}"
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, "-m", "kohort.cli", "worker"], env=env, cwd=ROOT)
        for _ in range(processes)
    ]
    first_end: float | None = None
    last_report = started
    progress = (groups, started)
    try:
        while True:
            time.sleep(0.5)
            left = open_count(engine)
            now = time.perf_counter()
            if first_end is None and left < groups:
                first_end = now
            if left == 0:
                break
            if now - last_report >= 30:
                done = groups - left
                print(
                    f"  {label} {name}: {done} ended after {now - started:.0f} s "
                    f"({done / (now - started):.0f}/s)",
                    flush=True,
                )
                last_report = now
            if left < progress[0]:
                progress = (left, now)
            if now - progress[1] > STALL_TIMEOUT or now - started > WORKER_TIMEOUT:
                raise RuntimeError(f"{label} {name}: {left} groups still OPEN, no progress")
            for w in workers:
                if w.poll() is not None:
                    raise RuntimeError(f"{label} {name}: worker exited with {w.returncode}")
        elapsed = time.perf_counter() - started
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
    startup = (first_end or started) - started
    check = verify(engine, seeded, groups)
    engine.dispose()
    print(
        f"{label} {name}: {groups} groups in {elapsed:.1f} s = {groups / elapsed:.0f} groups/s "
        f"(first group ended {startup:.1f} s after start); exactly-once check: {check}",
        flush=True,
    )
    return Run(label, name, groups, elapsed, check)


def verify(engine: Any, seeded: Seeded, groups: int) -> str:
    """Every group ended exactly once (one end event each), every member of a completed group
    got one `order.cashback_available` and the cashback of `expected_cashback`, and each such
    event's object carries the order's stored id, status and cashback."""
    pg = not seeded.url.startswith("sqlite")
    group_id = "data->>'id'" if pg else "json_extract(data, '$.id')"
    field = (lambda key: f"e.data->>'{key}'") if pg else (lambda key: f"e.data ->> '$.{key}'")
    with engine.connect() as c:
        scalar = lambda sql: int(c.execute(text(sql)).scalar_one())  # noqa: E731
        still_open = scalar("SELECT count(*) FROM payment_groups WHERE status = 'OPEN'")
        per_group = c.execute(
            text(
                f"SELECT n, count(*) FROM (SELECT {group_id} AS g, count(*) AS n FROM events "
                "WHERE type IN ('payment_group.succeeded', 'payment_group.expired') "
                "GROUP BY g) AS t GROUP BY n"
            )
        ).all()
        histogram = {int(n): int(count) for n, count in per_group}
        members = scalar(
            "SELECT count(*) FROM orders o JOIN payment_groups g ON g.id = o.payment_group_id "
            "WHERE g.status = 'COMPLETED'"
        )
        member_events = scalar(
            "SELECT count(*) FROM events WHERE type = 'order.cashback_available'"
        )
        wrong = scalar(
            f"SELECT count(*) FROM orders o JOIN payment_groups g ON g.id = o.payment_group_id "
            f"WHERE g.status = 'COMPLETED' AND (o.status <> 'CASHBACK_AVAILABLE' "
            f"OR o.amount_cashback IS NULL OR o.amount_cashback <> "
            f"({expected_cashback(seeded.settings)}))"
        )
        # Each event's object is the order as stored (id, status, cashback).
        stale_events = scalar(
            f"SELECT count(*) FROM events AS e JOIN orders AS o ON o.id = {field('id')} "
            "WHERE e.type = 'order.cashback_available' AND "
            f"(CAST({field('amountCashback')} AS BIGINT) IS DISTINCT FROM o.amount_cashback "
            f"OR {field('status')} <> o.status)"
        )
    problems = []
    if still_open:
        problems.append(f"{still_open} still OPEN")
    if histogram != {1: groups}:
        problems.append(f"end events per group {histogram}")
    if member_events != members:
        problems.append(f"{member_events} cashback events for {members} members")
    if wrong:
        problems.append(f"{wrong} orders with an unexpected cashback or status")
    if stale_events:
        problems.append(f"{stale_events} cashback events unlike their order")
    return "OK" if not problems else "FAIL (" + "; ".join(problems) + ")"


# ---------------------------------------------------------------------------------------------
# Baseline: the same final state in one bulk transaction


def expected_cashback(settings: dict[str, Any]) -> str:
    """SQL for a member order's cashback (`o.amount`, `g.participants_count`): the level
    reached for the group's size, PERCENTAGE half-up in integer cents, capped at the amount
    (as kohort.group.cashback)."""
    levels = sorted(
        settings["discountLevels"],
        key=lambda level: (int(level["participantsToUnlock"]), int(level["level"])),
        reverse=True,
    )
    percentage = settings["discountType"] == "PERCENTAGE"
    whens = []
    for level in levels:
        value = Decimal(str(level["value"]))
        if percentage:
            hundredths = int(value.scaleb(2).to_integral_exact())
            amount = f"((o.amount * {hundredths} + 5000) / 10000)"
        else:
            amount = str(int((value * 100).to_integral_value()))
        capped = f"CASE WHEN {amount} > o.amount THEN o.amount ELSE {amount} END"
        whens.append(
            f"WHEN g.participants_count >= {int(level['participantsToUnlock'])} THEN {capped}"
        )
    return f"CASE {' '.join(whens)} ELSE 0 END"


def baseline_statements(pg: bool, settings: dict[str, Any]) -> list[str]:
    dialect = "postgresql" if pg else "sqlite"
    event_id = event_id_sql(dialect)
    due = "g.status = 'OPEN' AND g.expires_at <= :now"
    cashback = expected_cashback(settings)
    # The events' data are the full API objects, as the worker records them (the same final
    # state): the SQL that composes them is the worker's own, checked against the models.
    order_json = object_sql(OrderRead, cast(Table, Order.__table__), "o", dialect)
    group_json = object_sql(GroupRead, cast(Table, PaymentGroup.__table__), "g", dialect)
    return [
        # Members of the groups that complete: cashback and CASHBACK_AVAILABLE.
        f"UPDATE orders AS o SET amount_cashback = {cashback}, status = 'CASHBACK_AVAILABLE', "
        "updated_at = :now, updated_by = 'system' FROM payment_groups AS g "
        f"WHERE g.id = o.payment_group_id AND {due} AND g.participants_count >= 2 "
        "AND o.status = 'CREATED'",
        # One order.cashback_available per member (the orders just moved).
        "INSERT INTO events (id, type, organization_id, livemode, data, created_at) "
        f"SELECT {event_id}, 'order.cashback_available', o.organization_id, "
        f"o.livemode, {order_json}, :now FROM orders AS o "
        "WHERE o.status = 'CASHBACK_AVAILABLE' AND o.updated_at = :now",
        f"UPDATE payment_groups AS g SET status = 'COMPLETED', completed_at = :now, "
        f"updated_at = :now, updated_by = 'system' WHERE {due} AND g.participants_count >= 2",
        f"UPDATE payment_groups AS g SET status = 'EXPIRED', updated_at = :now, "
        f"updated_by = 'system' WHERE {due} AND g.participants_count <= 1",
        "INSERT INTO events (id, type, organization_id, livemode, data, created_at) "
        f"SELECT {event_id}, CASE g.status WHEN 'COMPLETED' "
        "THEN 'payment_group.succeeded' ELSE 'payment_group.expired' END, g.organization_id, "
        f"g.livemode, {group_json}, :now FROM payment_groups AS g "
        "WHERE g.status IN ('COMPLETED', 'EXPIRED') AND g.updated_at = :now",
    ]


async def _baseline(url: str, settings: dict[str, Any]) -> float:
    db = create_database(Settings(database_url=url))
    statements = [
        text(sql).bindparams(bindparam("now", type_=UTCDateTime()))
        for sql in baseline_statements(not url.startswith("sqlite"), settings)
    ]
    try:
        started = time.perf_counter()
        now = clock.now()
        async with db.write() as session:
            for statement in statements:
                await session.execute(statement, {"now": now})
        return time.perf_counter() - started
    finally:
        await db.dispose()


def run_baseline(label: str, seeded: Seeded, groups: int) -> Run:
    elapsed = asyncio.run(_baseline(seeded.url, seeded.settings))
    engine = create_engine(sync_url(seeded.url))
    check = verify(engine, seeded, groups)
    engine.dispose()
    print(
        f"{label} baseline (bulk SQL): {groups} groups in {elapsed:.1f} s = "
        f"{groups / elapsed:.0f} groups/s; same final state: {check}",
        flush=True,
    )
    return Run(label, "baseline", groups, elapsed, check)


# ---------------------------------------------------------------------------------------------


def bench_engine(label: str, url_for: Any, args: argparse.Namespace) -> list[Run]:
    runs: list[Run] = []
    plan = [1] + ([args.workers] if label == "PostgreSQL" and args.workers > 1 else [])
    for processes in plan if not args.baseline_only else []:
        with tempfile.TemporaryDirectory() as tmp:
            seeded = seed(label, url_for(tmp), tmp, args.groups)
            runs.append(run_workers(label, seeded, processes, args.groups))
    with tempfile.TemporaryDirectory() as tmp:
        seeded = seed(label, url_for(tmp), tmp, args.groups)
        runs.append(run_baseline(label, seeded, args.groups))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument(
        "--workers", type=int, default=3, help="worker processes of the PostgreSQL run"
    )
    parser.add_argument("--baseline-only", action="store_true", help="skip the worker runs")
    args = parser.parse_args()
    runs: list[Run] = []
    if args.engine in ("sqlite", "all"):
        runs += bench_engine("SQLite", lambda tmp: f"sqlite+aiosqlite:///{tmp}/sweep.db", args)
    if args.engine in ("postgres", "all"):
        if pg_reachable():
            runs += bench_engine("PostgreSQL", lambda _tmp: PG_URL, args)
        else:
            print("PostgreSQL: not reachable on 127.0.0.1:5432, skipped")
    print(
        "\nbatch 500, poll 0.05 s, lanes: groups only; groups of 1-10 members; worker time "
        "from process start until no OPEN group is left"
    )
    print(
        f"{'engine':<11} {'run':<11} {'groups':>8} {'seconds':>8} {'groups/s':>9} "
        f"{'vs base':>8}  check"
    )
    for engine in dict.fromkeys(r.engine for r in runs):
        mine = [r for r in runs if r.engine == engine]
        base = next(r for r in mine if r.name == "baseline")
        for r in mine:
            ratio = r.seconds / base.seconds
            print(
                f"{r.engine:<11} {r.name:<11} {r.groups:>8} {r.seconds:>8.1f} "
                f"{r.groups / r.seconds:>9.0f} {ratio:>7.1f}x  {r.check}"
            )


if __name__ == "__main__":
    main()

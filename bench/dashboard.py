"""The dashboard's pages under a big organization: server time per page, p50 and p99.

Seeds one organization's test mode with GROUPS groups spread over the last 120 days (1 to 9
members each, about 5 orders per group; groups older than a week COMPLETED with their
members' cashback, or EXPIRED when alone), signs a dashboard owner in, and requests each page
REQUESTS times through the app in this process (ASGI, no network, no worker), timing each
answer. Prints, per page and engine, the first request's time (the analytics' cache is empty
then: it computes every day of the period), p50 and p99.

    uv run python bench/dashboard.py [--groups 20000] [--requests 30] [--engine sqlite|postgres|all]
"""

import argparse
import asyncio
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kohort import clock, migrations  # noqa: E402
from kohort.config import Settings  # noqa: E402
from kohort.dashboard_user import service as users  # noqa: E402
from kohort.db import create_database  # noqa: E402
from kohort.group_settings.service import get_settings, snapshot  # noqa: E402
from kohort.ids import new_id, share_key  # noqa: E402
from kohort.main import create_app  # noqa: E402
from kohort.models import Customer, Order, PaymentGroup  # noqa: E402
from kohort.organization.service import create_organization  # noqa: E402

PG_URL = os.environ.get(
    "KOHORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/kohort_bench_dashboard"
)
PASSWORD = "bench password 123"
BUSY = {"overview 30 d, busy"}
"""Pages timed while the shop is busy: before each request, TOUCHED orders of the groups of the
last 8 days change (as refunds, cancellations, joins and completions do), so the analytics'
cache computes those days again."""
TOUCHED = 50
CHUNK = 2000
PAGES = {
    "overview 30 days": "/dashboard/o/{org}/overview?period=30d",
    "overview 90 days": "/dashboard/o/{org}/overview?period=90d",
    "overview daily.csv": "/dashboard/o/{org}/overview/daily.csv?period=90d",
    "overview 30 d, busy": "/dashboard/o/{org}/overview?period=30d",
    "groups": "/dashboard/o/{org}/groups",
    "groups, e-mail search": "/dashboard/o/{org}/groups?q=bench-1999-1@",
    "a group": "/dashboard/o/{org}/groups/{group}",
    "orders": "/dashboard/o/{org}/orders",
    "orders, e-mail search": "/dashboard/o/{org}/orders?q=bench-1999-1@",
    "an order": "/dashboard/o/{org}/orders/{order}",
    "customers": "/dashboard/o/{org}/customers",
    "a customer": "/dashboard/o/{org}/customers/{customer}",
    "program": "/dashboard/o/{org}/program",
    "developers": "/dashboard/o/{org}/developers",
    "webhooks": "/dashboard/o/{org}/developers/webhooks",
    "events": "/dashboard/o/{org}/developers/events",
    "payouts": "/dashboard/o/{org}/payouts",
    "payout batches": "/dashboard/o/{org}/payouts/batches",
    "e-mails": "/dashboard/o/{org}/emails",
    "outbox": "/dashboard/o/{org}/emails/outbox",
    "audit log": "/dashboard/o/{org}/audit-log",
    "team": "/dashboard/o/{org}/team",
}


def recreate_pg(url: str) -> None:
    import psycopg
    from sqlalchemy import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{parsed.database}"')


Rows = list[dict[str, Any]]


def _rows(organization_id: str, groups: int, settings: dict[str, Any]) -> tuple[Rows, Rows, Rows]:
    """Customers, groups and orders as the API would have left them, deterministic."""
    rng = random.Random(14)
    now = clock.now()
    customers: list[dict[str, Any]] = []
    group_rows: list[dict[str, Any]] = []
    order_rows: list[dict[str, Any]] = []
    base = {"organization_id": organization_id, "livemode": False}
    for index in range(groups):
        created = now - timedelta(seconds=rng.randint(60, 120 * 86400))
        size = rng.randint(1, 9)
        ended = created + timedelta(days=7)
        done = ended < now
        status = "OPEN" if not done else ("COMPLETED" if size >= 2 else "EXPIRED")
        percent = 5 if size < 5 else 10
        code = f"KHT-test-{index:08X}"
        group_id = new_id("pg")
        members = []
        for seat in range(size):
            email = f"bench-{index}-{seat}@example.com"
            customer_id = new_id("cus")
            customers.append(
                {
                    **base,
                    "id": customer_id,
                    "email_address": email,
                    "email_key": email,
                    "first_name": "Bench",
                    "last_name": "Shopper",
                    "phone_number": None,
                    "locale": "fr_FR",
                    "is_blocked": False,
                    "blocked_at": None,
                    "blocked_by": None,
                    "client_reference_id": None,
                    "metadata_": {},
                    "deleted_at": None,
                    "created_at": created,
                    "created_by": "bench",
                    "updated_at": created,
                    "updated_by": "bench",
                }
            )
            members.append(customer_id)
        group_rows.append(
            {
                **base,
                "id": group_id,
                "share_id": code,
                "share_key": share_key(code),
                "customer_id": members[0],
                "creator_email": f"bench-{index}-0@example.com",
                "status": status,
                "metadata_": {},
                "participants_count": size,
                "max_participants": 15,
                "settings": settings,
                "expires_at": ended,
                "mid_expire_at": None,
                "j_minus2_expire_at": None,
                "j_plus3_start_at": None,
                "reminder_email_sent": "NOT_SENT",
                "created_at": created,
                "created_by": "bench",
                "updated_at": ended if done else created,
                "updated_by": "bench",
                "canceled_at": None,
                "completed_at": ended if status == "COMPLETED" else None,
                "expired_at": ended if status == "EXPIRED" else None,
            }
        )
        for seat, customer_id in enumerate(members):
            amount = rng.randint(1_000, 20_000)
            joined = created + timedelta(minutes=seat * 30)
            completed = status == "COMPLETED"
            order_rows.append(
                {
                    **base,
                    "id": new_id("ord"),
                    "amount": amount,
                    "amount_cashback": amount * percent // 100 if completed else None,
                    "amount_refunded": 0,
                    "application_fee_amount": amount * 12 // 100 if seat else 0,
                    "currency": "EUR",
                    "locale": "fr_FR",
                    "status": "CASHBACK_AVAILABLE" if completed else "CREATED",
                    "payment_reference": None,
                    "canceled_at": None,
                    "customer_id": customer_id,
                    "customer_email": f"bench-{index}-{seat}@example.com",
                    "email_key": f"bench-{index}-{seat}@example.com",
                    "customer_first_name": "Bench",
                    "customer_last_name": "Shopper",
                    "customer_phone_number": None,
                    "payment_group_id": group_id,
                    "payment_group_share_id": code,
                    "client_reference_id": None,
                    "risk_level": None,
                    "join_error": None,
                    "metadata_": {},
                    "created_at": joined,
                    "created_by": "bench",
                    "updated_at": joined,
                    "updated_by": "bench",
                }
            )
    return customers, group_rows, order_rows


async def touch(db: Any, order_ids: list[str]) -> None:
    """The orders changed now (their `updated_at`), as any change of an order stamps it."""
    async with db.write() as session:
        await session.execute(
            update(Order).where(Order.id.in_(order_ids)).values(updated_at=clock.now())
        )


async def run(engine: str, database_url: str, groups: int, requests: int) -> list[str]:
    data = Path(tempfile.mkdtemp(prefix="kohort-bench-dashboard-"))
    settings = Settings(database_url=database_url, data_dir=data, worker="off")
    db = create_database(settings)
    await migrations.upgrade(db.engine)
    async with db.write() as session:
        created = await create_organization(session, name="Big Shop")
        organization_id = created.organization.id
        kept = snapshot(
            await get_settings(session, organization_id=organization_id, livemode=False)
        )
        email = f"owner-{secrets.token_hex(3)}@shop.example"
        user = await users.create_user(session, email=email, password=PASSWORD)
        await users.add_membership(
            session, user=user, organization_id=organization_id, role="owner", by=None
        )
    started = time.perf_counter()
    customers, group_rows, order_rows = _rows(organization_id, groups, kept)
    for model, rows in ((Customer, customers), (PaymentGroup, group_rows), (Order, order_rows)):
        for first in range(0, len(rows), CHUNK):
            async with db.write() as session:
                await session.execute(insert(model), rows[first : first + CHUNK])
    # What autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) does soon after a bulk load: the
    # planner's statistics (without them PostgreSQL plans the joins for empty tables) and, on
    # PostgreSQL, the visibility map that lets a scan read an index alone.
    statement = "ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"
    async with db.engine.connect() as connection:
        if not db.is_sqlite:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql(statement)
        await connection.commit()
    print(
        f"{engine}: seeded {len(group_rows)} groups, {len(order_rows)} orders in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rng = random.Random(17)
    week = clock.now() - timedelta(days=8)
    recent = [row["id"] for row in order_rows if row["created_at"] >= week]
    ids = {"group": group_rows[-1]["id"], "order": order_rows[-1]["id"]}
    ids["customer"] = customers[-1]["id"]
    # The seeded rows go before anything is timed: a server holds none of them, and 140 000
    # dicts kept alive here made each full garbage collection of the timed requests ~100 ms
    # longer (gc callbacks), the bench's own cost and not the server's.
    del customers, group_rows, order_rows, rows
    app = create_app(settings, database=db)
    lines = []
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
    origin = "http://kohort.bench"
    # The app's lifespan, as `kohort serve` runs it (it settles the heap; the worker is off).
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url=origin, headers={"Origin": origin}
        ) as client,
    ):
        form = await client.get("/dashboard/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        signed = await client.post(
            "/dashboard/sign-in",
            data={"csrf": csrf.group(1), "email": email, "password": PASSWORD},
        )
        assert signed.status_code == 303, signed.text
        for name, path in PAGES.items():
            url = path.format(org=organization_id, **ids)
            start = time.perf_counter()
            warm = await client.get(url)
            cold = (time.perf_counter() - start) * 1000
            assert warm.status_code == 200, (url, warm.status_code, warm.text[:300])
            times = []
            for _ in range(requests):
                if name in BUSY:
                    await touch(db, rng.sample(recent, TOUCHED))
                start = time.perf_counter()
                answer = await client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200
            times.sort()
            p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
            lines.append(
                f"{engine:<11} {name:<24} {cold:8.1f} {statistics.median(times):8.1f} {p99:8.1f}"
                f"  {'ok' if p99 < 300 else 'over 300 ms'}"
            )
    await db.dispose()
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--engine", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    lines: list[str] = []
    if args.engine in ("sqlite", "all"):
        path = Path(tempfile.mkdtemp(prefix="kohort-bench-dashboard-db-")) / "kohort.db"
        lines += await run("SQLite", f"sqlite+aiosqlite:///{path}", args.groups, args.requests)
    if args.engine in ("postgres", "all"):
        recreate_pg(PG_URL)
        lines += await run("PostgreSQL", PG_URL, args.groups, args.requests)
    print(f"\n{args.requests} requests per page, in process (server time), test mode")
    print(
        f"{'database':<11} {'page':<24} {'first ms':>8} {'p50 ms':>8} {'p99 ms':>8}"
        "  goal p99 < 300 ms"
    )
    for line in lines:
        print(line)


if __name__ == "__main__":
    asyncio.run(main())

"""A join that loses a race between its checks and its writes (DOMAIN.md §5).

Two transactions on PostgreSQL, held open side by side: the second has read the group as the
first found it, then waits on the first's row locks. (On SQLite a process's writers take
turns, so a join never meets another one half done: these races cannot happen there.)"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.db import Database
from kohort.errors import AppError
from kohort.models import Customer, Event, Order
from kohort.order import service
from kohort.order.schemas import OrderCreate
from tests.factories import Org
from tests.group_settings.api import levels, patched
from tests.order.api import buyer, new_group

pytestmark = pytest.mark.concurrency


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite's writers take turns: a join never waits on another one")


async def _register(session: AsyncSession, org: Org, **body: Any) -> Order:
    return await service.create_order(
        session,
        organization_id=org.id,
        livemode=False,
        actor="test",
        data=OrderCreate.model_validate(buyer(**body)),
    )


async def _waiting_on_a_lock(db: Database) -> None:
    """Until some transaction of this database waits on a row lock."""
    stmt = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        async with db.read() as session:
            if (await session.execute(stmt)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the second join never waited on the first")


@asynccontextmanager
async def _first_holds(db: Database, org: Org, **body: Any) -> AsyncIterator[Order]:
    """The first join, its transaction open until the block ends (then committed)."""
    async with db.write() as session:
        yield await _register(session, org, **body)


async def _second(db: Database, org: Org, **body: Any) -> Order:
    async with db.write() as session:
        return await _register(session, org, **body)


async def test_a_seat_lost_to_a_concurrent_join_leaves_no_member_behind(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patched(client, org, {"discountLevels": levels((2, 5)), "maxParticipants": 2})
    group = await new_group(client, org.sk_test)
    code = group["shareId"]
    async with _first_holds(db, org, paymentGroupShareId=code) as first:
        assert first.payment_group_id == group["id"]
        second = asyncio.create_task(_second(db, org, paymentGroupShareId=code))
        await _waiting_on_a_lock(db)
    lost = await second

    # its member order was inserted, then taken back when the seat was refused; the same
    # order opened a group of its own
    assert lost.join_error is not None
    assert lost.join_error["code"] == "COMPLETED_EXPIRED_CANCELED", lost.join_error
    assert lost.payment_group_id not in (None, group["id"])
    async with db.read() as session:
        members = (
            (await session.execute(select(Order.id).where(Order.payment_group_id == group["id"])))
            .scalars()
            .all()
        )
        assert first.id in members and len(members) == 2
        kept = (await session.execute(select(Order).where(Order.id == lost.id))).scalars().all()
        assert [o.payment_group_id for o in kept] == [lost.payment_group_id]
        created = (
            await session.execute(
                select(Event.data).where(
                    Event.type == "order.created", Event.data["id"].as_string() == lost.id
                )
            )
        ).scalars()
        assert [data["paymentGroupId"] for data in created] == [lost.payment_group_id]


async def test_a_client_reference_taken_by_a_concurrent_join_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    code = (await new_group(client, org.sk_test))["shareId"]
    async with db.read() as session:
        before = await _counts(session, org)
    async with _first_holds(db, org, paymentGroupShareId=code, clientReferenceId="ref-1"):
        second = asyncio.create_task(
            _second(db, org, paymentGroupShareId=code, clientReferenceId="ref-1")
        )
        await _waiting_on_a_lock(db)
    with pytest.raises(AppError) as refused:
        await second
    assert refused.value.code == "CLIENT_REFERENCE_ID_EXISTS"
    assert refused.value.param == "clientReferenceId"
    async with db.read() as session:
        after = await _counts(session, org)
    # the first join's order, its customer and their events: nothing of the second's
    assert {name: after[name] - before[name] for name in ("orders", "customers")} == {
        "orders": 1,
        "customers": 1,
    }
    async with db.read() as session:
        new = (
            await session.execute(
                select(Event.type, Event.data["id"].as_string())
                .where(Event.organization_id == org.id, Event.seq > before["last_event"])
                .order_by(Event.seq)
            )
        ).all()
    first_order = next(id for kind, id in new if kind == "order.created")
    assert [kind for kind, _ in new][:3] == [
        "customer.created",
        "order.created",
        "payment_group.joined",
    ]
    assert [id for kind, id in new if kind.startswith("order.")] == [first_order]
    assert [kind for kind, _ in new].count("customer.created") == 1


async def _counts(session: AsyncSession, org: Org) -> dict[str, int]:
    counts = {}
    for name, model in (("orders", Order), ("customers", Customer), ("events", Event)):
        stmt = select(func.count()).select_from(model).where(model.organization_id == org.id)
        counts[name] = (await session.execute(stmt)).scalar_one()
    last = select(func.coalesce(func.max(Event.seq), 0)).where(Event.organization_id == org.id)
    counts["last_event"] = (await session.execute(last)).scalar_one()
    return counts

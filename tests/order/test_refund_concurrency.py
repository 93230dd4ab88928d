"""Partial refunds racing the worker that ends the same groups (docs/api.md, "Refunds").

Many due groups; concurrent `POST /orders/{id}/refunds` while several `end_due_groups` loops
end them. Whichever wins each race, the end never pays cashback on a refunded amount: every
`order.cashback_available` is computed on what was left when it was written, and every member
ends with the cashback of what is left now."""

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from kohort import clock as kohort_clock
from kohort.db import Database
from kohort.group import jobs
from kohort.group.cashback import round_half_up
from kohort.models import Event, Order, PaymentGroup
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import frozen_at, join, place_order

GROUPS = 25
MEMBERS = 3
PERCENT = {2: 5, 3: 10}
WORKERS = 3


async def _work(db: Database, refunds_done: asyncio.Event) -> None:
    while True:
        batch = await jobs.end_due_groups(db, now=kohort_clock.now(), limit=2)
        if not batch and refunds_done.is_set():
            return
        await asyncio.sleep(0)


def _cashback(amount: int, refunded: int, participants: int) -> int:
    return round_half_up(Decimal(amount - refunded) * PERCENT[participants] / 100)


@pytest.mark.concurrency
async def test_partial_refunds_racing_the_worker_never_pay_cashback_on_refunded_cents(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patched(
        client,
        org,
        {"discountLevels": levels(*PERCENT.items()), "maxParticipants": 10, "minutesDuration": 10},
    )
    rng = random.Random(13)
    with frozen_at(datetime.now(UTC) - timedelta(minutes=11)) as clock:
        orders = []
        for _ in range(GROUPS):
            creator = await place_order(client, org.sk_test, amount=rng.randint(2, 20000))
            code = creator["paymentGroup"]["shareId"]
            orders.append(creator)
            for _ in range(MEMBERS - 1):
                orders.append(await join(client, org.sk_test, code, amount=rng.randint(2, 20000)))
        targets = rng.sample(orders, len(orders) // 2)
        amounts = {o["id"]: rng.randint(1, o["amount"] - 1) for o in targets}
        clock.shift(timedelta(minutes=10))
        refunds_done = asyncio.Event()

        async def refund_all() -> list[httpx.Response]:
            try:
                return await asyncio.gather(
                    *(
                        client.post(
                            f"/orders/{order_id}/refunds",
                            json={"amount": amount},
                            headers=bearer(org.sk_test),
                        )
                        for order_id, amount in amounts.items()
                    )
                )
            finally:
                refunds_done.set()

        responses, *_ = await asyncio.gather(
            refund_all(), *(_work(db, refunds_done) for _ in range(WORKERS))
        )
    assert [r.status_code for r in responses] == [201] * len(amounts), [
        r.text for r in responses if r.status_code != 201
    ]
    async with db.read() as session:
        stored = {
            o.id: o
            for o in (
                await session.execute(select(Order).where(Order.organization_id == org.id))
            ).scalars()
        }
        groups = {
            g.id: g
            for g in (
                await session.execute(
                    select(PaymentGroup).where(PaymentGroup.organization_id == org.id)
                )
            ).scalars()
        }
        events = list(
            (
                await session.execute(
                    select(Event).where(
                        Event.organization_id == org.id, Event.type == "order.cashback_available"
                    )
                )
            ).scalars()
        )
    assert {e.data["id"] for e in events} == set(stored)  # every member got its cashback once
    assert len(events) == len(stored)
    for event in events:
        data = event.data
        size = groups[data["paymentGroupId"]].participants_count
        assert data["amountCashback"] == _cashback(data["amount"], data["amountRefunded"], size)
    before_end = 0
    for order in stored.values():
        group = groups[order.payment_group_id]
        assert (group.status, group.participants_count) == ("COMPLETED", MEMBERS)
        assert order.amount_refunded == amounts.get(order.id, 0), order.id
        assert order.status == "CASHBACK_AVAILABLE", order.id
        expected = _cashback(order.amount, order.amount_refunded, MEMBERS)
        assert order.amount_cashback == expected, order.id
        seen = next(e.data for e in events if e.data["id"] == order.id)
        before_end += order.id in amounts and seen["amountRefunded"] == order.amount_refunded
    engine = db.engine.dialect.name
    print(
        f"\n[{engine}] {len(amounts)} refunds racing {WORKERS} workers: {before_end} before the end"
    )

"""Cancellations racing the worker that ends the same groups (README, "Order cancellation").

Many due groups; concurrent `POST /orders/{id}/cancel` requests while several
`end_due_groups` loops end them. Whatever wins each race: a canceled order never ends with
cashback, a completed group never counts a canceled member, and every group ends once."""

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kohort import clock as kohort_clock
from kohort.db import Database
from kohort.group import jobs
from kohort.models import Event, Order, PaymentGroup
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import frozen_at, join, place_order

GROUPS = 30
MEMBERS = 4
PERCENT = {2: 5, 3: 10, 4: 15}
WORKERS = 3
BATCH = 2


async def _seed(client: httpx.AsyncClient, org: Org) -> list[list[dict[str, Any]]]:
    """`GROUPS` OPEN groups of `MEMBERS` orders each (amounts in whole euros)."""
    groups = []
    for _ in range(GROUPS):
        creator = await place_order(client, org.sk_test, amount=1000)
        code = creator["paymentGroup"]["shareId"]
        groups.append(
            [
                creator,
                *[
                    await join(client, org.sk_test, code, amount=1000 * (n + 2))
                    for n in range(MEMBERS - 1)
                ],
            ]
        )
    return groups


async def _work(db: Database, cancels_done: asyncio.Event) -> int:
    """End due groups, a small batch at a time, until the cancels are over and none is due."""
    ended = 0
    while True:
        batch = await jobs.end_due_groups(db, now=kohort_clock.now(), limit=BATCH)
        ended += len(batch)
        if not batch and cancels_done.is_set():
            return ended
        await asyncio.sleep(0)


async def _stored(
    db: Database, org: Org
) -> tuple[dict[str, PaymentGroup], list[Order], list[Event]]:
    async with db.read() as session:
        groups = (
            await session.execute(
                select(PaymentGroup).where(PaymentGroup.organization_id == org.id)
            )
        ).scalars()
        orders = (
            await session.execute(select(Order).where(Order.organization_id == org.id))
        ).scalars()
        events = (
            await session.execute(
                select(Event).where(Event.organization_id == org.id).order_by(Event.seq)
            )
        ).scalars()
        return {g.id: g for g in groups}, list(orders), list(events)


@pytest.mark.concurrency
async def test_cancellations_racing_the_worker_keep_every_group_consistent(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patched(
        client,
        org,
        {"discountLevels": levels(*PERCENT.items()), "maxParticipants": 10, "minutesDuration": 10},
    )
    rng = random.Random(6)
    with frozen_at(datetime.now(UTC) - timedelta(minutes=11)) as clock:
        groups = await _seed(client, org)
        targets = [o for members in groups for o in rng.sample(members, rng.randint(0, MEMBERS))]
        rng.shuffle(targets)
        clock.shift(timedelta(minutes=10))

        cancels_done = asyncio.Event()

        async def cancel_all() -> list[httpx.Response]:
            try:
                return await asyncio.gather(
                    *(
                        client.post(f"/orders/{o['id']}/cancel", headers=bearer(org.sk_test))
                        for o in targets
                    )
                )
            finally:
                cancels_done.set()

        responses, *_ = await asyncio.gather(
            cancel_all(), *(_work(db, cancels_done) for _ in range(WORKERS))
        )

    assert [r.status_code for r in responses] == [200] * len(targets), [
        r.text for r in responses if r.status_code != 200
    ]
    canceled_ids = {o["id"] for o in targets}
    stored_groups, orders, events = await _stored(db, org)
    by_group: dict[str, list[Order]] = {}
    for order in orders:
        by_group.setdefault(order.payment_group_id, []).append(order)
    available = Counter(e.data["id"] for e in events if e.type == "order.cashback_available")
    succeeded = {e.data["id"]: e.data for e in events if e.type == "payment_group.succeeded"}
    ends = Counter(
        e.data["id"]
        for e in events
        if e.type in ("payment_group.succeeded", "payment_group.expired", "payment_group.canceled")
    )
    outcomes: Counter[str] = Counter()

    for group_id, members in by_group.items():
        group = stored_groups[group_id]
        assert group.status != "OPEN", group_id
        assert ends[group_id] == 1, group_id
        for order in members:
            assert (order.status == "CANCELED") == (order.id in canceled_ids), order.id
        paid = [o for o in members if o.amount_cashback is not None]
        left = [o for o in members if o.status == "CANCELED" and o.amount_cashback is None]
        if group.status == "COMPLETED":
            # every member counted at completion got cashback at the level of that count
            assert group.participants_count == len(paid) >= 2, group_id
            assert succeeded[group_id]["participantsCount"] == group.participants_count
            percent = PERCENT[group.participants_count]
            for order in paid:
                assert order.amount_cashback == order.amount * percent // 100, order.id
                assert order.status in ("CASHBACK_AVAILABLE", "CANCELED"), order.id
                assert available[order.id] == 1, order.id
            # the members who left while it was OPEN are not counted and got nothing
            assert len(left) == len(members) - group.participants_count, group_id
            assert all(available[o.id] == 0 for o in left)
            outcomes["voided after completion"] += len([o for o in paid if o.status == "CANCELED"])
            outcomes["left before completion"] += len(left)
        else:
            assert not paid, group_id
            assert all(available[o.id] == 0 for o in members)
            if group.status == "CANCELED":
                assert group.participants_count == 0, group_id
                assert all(o.status == "CANCELED" for o in members), group_id
            else:
                assert group.status == "EXPIRED", group_id
                assert group.participants_count == 1, group_id
                assert sum(o.status == "CREATED" for o in members) <= 1, group_id
        outcomes[group.status] += 1
    engine = db.engine.dialect.name
    print(f"\n[{engine}] {len(targets)} cancels racing {WORKERS} workers: {dict(outcomes)}")

"""Test mode: every completed order is paid with `test` at once, with no shopper action."""

import httpx

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.payout.jobs import process_due
from kohort.worker import Worker
from tests.factories import Org
from tests.group_settings.api import levels, patched
from tests.order.api import all_events, fetch, join, place_order
from tests.payout.api import (
    PAYOUT_FIELDS,
    completed_group,
    order_statuses,
    payout_of,
    stored_payouts,
)
from tests.test_helpers.test_advance import advanced

CASHBACK_EVENTS = ("order.cashback_available", "order.cashback_processing", "order.cashback_sent")


async def drain(db: Database, settings: Settings, limit: int = 500) -> None:
    """Run the payout lane until it has nothing more to do (other tests' rows included)."""
    while await process_due(db, settings, now=clock.now(), limit=limit) >= limit:
        pass


async def test_a_completed_group_pays_every_order_with_test_payouts(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    key = org.sk_test
    await patched(client, org, {"maxParticipants": 5, "discountLevels": levels((2, 10))})
    creator = await place_order(client, key, amount=12_340)
    code = creator["paymentGroup"]["shareId"]
    orders = [
        creator,
        await join(client, key, code, amount=5000),
        await join(client, key, code, amount=2000),
    ]
    group = await fetch(client, key, code)
    await advanced(client, key, group["id"], {"to": group["expiresAt"]})
    await Worker(db=db, settings=settings).sweep()
    assert (await fetch(client, key, code))["status"] == "COMPLETED"
    assert await order_statuses(client, key, orders) == ["CASHBACK_AVAILABLE"] * 3

    await drain(db, settings)

    assert await order_statuses(client, key, orders) == ["CASHBACK_SENT"] * 3
    for order, cashback in zip(orders, (1234, 500, 200), strict=True):
        payout = await payout_of(client, key, order["id"])
        assert set(payout) == PAYOUT_FIELDS
        assert payout["object"] == "payout"
        assert payout["livemode"] is False
        assert payout["method"] == "test"
        assert payout["status"] == "paid"
        assert payout["amount"] == cashback
        assert payout["currency"] == "EUR"
        assert payout["providerReference"].startswith("test_")
        assert payout["paidAt"] is not None and payout["nextAttemptAt"] is None
        assert payout["lastError"] is None and payout["ibanMasked"] is None

    events = await all_events(client, key)
    for order, cashback in zip(orders, (1234, 500, 200), strict=True):
        mine = [
            e for e in events if e["type"] in CASHBACK_EVENTS and e["data"]["id"] == order["id"]
        ]
        assert [e["type"] for e in mine] == list(CASHBACK_EVENTS)
        assert [e["data"]["status"] for e in mine] == [
            "CASHBACK_AVAILABLE",
            "CASHBACK_PROCESSING",
            "CASHBACK_SENT",
        ]
        assert {e["data"]["amountCashback"] for e in mine} == {cashback}


async def test_running_the_lane_again_pays_nobody_twice(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    orders = await completed_group(client, org, org.sk_test, [3000, 4000])
    await drain(db, settings)
    first = {p.id: (p.status, p.paid_at) for p in await stored_payouts(db, org.id)}
    await drain(db, settings)
    await drain(db, settings)
    again = {p.id: (p.status, p.paid_at) for p in await stored_payouts(db, org.id)}
    assert len(first) == 2 and again == first
    events = await all_events(client, org.sk_test)
    sent = [e for e in events if e["type"] == "order.cashback_sent"]
    assert sorted(e["data"]["id"] for e in sent) == sorted(o["id"] for o in orders)

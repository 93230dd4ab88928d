"""Test mode rehearses live mode's default flow: a completed test order waits for its
shopper's account on the withdrawal page, like a live SEPA one, and is paid by a test batch.
Nothing pays it by itself; a `test` payout left from before is still paid at once."""

import httpx

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.payout import service
from kohort.payout.jobs import process_due
from kohort.worker import Worker
from tests.factories import Org
from tests.group_settings.api import levels, patched
from tests.order.api import all_events, fetch, join, place_order
from tests.payout.api import (
    PAYOUT_FIELDS,
    completed_group,
    order_statuses,
    paid_by_test_batch,
    payout_of,
    stored_payouts,
)
from tests.test_helpers.test_advance import advanced

CASHBACK_EVENTS = ("order.cashback_available", "order.cashback_processing", "order.cashback_sent")


async def drain(db: Database, settings: Settings, limit: int = 500) -> None:
    """Run the payout lane until it has nothing more to do (other tests' rows included)."""
    while await process_due(db, settings, now=clock.now(), limit=limit) >= limit:
        pass


async def test_a_completed_test_group_waits_for_its_shoppers_like_live_sepa(
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

    await drain(db, settings)
    await drain(db, settings)

    assert await stored_payouts(db, org.id) == []
    assert await order_statuses(client, key, orders) == ["CASHBACK_AVAILABLE"] * 3
    events = await all_events(client, key)
    assert not [e for e in events if e["type"] in CASHBACK_EVENTS[1:]]


async def test_a_test_batch_pays_every_order_with_its_events(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    key = org.sk_test
    orders = await completed_group(client, org, key, [12_340, 5000, 2000])

    batch = await paid_by_test_batch(client, db, settings, org, orders)

    assert batch["livemode"] is False and batch["status"] == "confirmed"
    assert await order_statuses(client, key, orders) == ["CASHBACK_SENT"] * 3
    for order, cashback in zip(orders, (1234, 500, 200), strict=True):
        payout = await payout_of(client, key, order["id"])
        assert set(payout) == PAYOUT_FIELDS
        assert payout["livemode"] is False
        assert payout["method"] == "sepa_transfer"
        assert payout["status"] == "paid"
        assert payout["amount"] == cashback and payout["currency"] == "EUR"
        assert payout["providerReference"] == batch["messageId"]
        assert payout["batchId"] == batch["id"]
        assert payout["paidAt"] is not None and payout["nextAttemptAt"] is None
        assert payout["lastError"] is None and payout["ibanMasked"] is not None

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


async def test_a_leftover_test_payout_is_paid_once_at_once(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    """A `test` payout a database kept from before test mode rehearsed SEPA (pending: the
    worker stopped between starting and paying it) is paid, and only once."""
    orders = await completed_group(client, org, org.sk_test, [3000, 4000])
    async with db.write() as session:
        started = await service.start_payout(
            session, order_id=orders[0]["id"], method="test", now=clock.now()
        )
    assert started is not None

    await drain(db, settings)
    first = {p.id: (p.status, p.paid_at) for p in await stored_payouts(db, org.id)}
    await drain(db, settings)
    again = {p.id: (p.status, p.paid_at) for p in await stored_payouts(db, org.id)}

    assert list(first) == [started.id] and again == first
    payout = await payout_of(client, org.sk_test, orders[0]["id"])
    assert payout["method"] == "test" and payout["status"] == "paid"
    assert payout["providerReference"] == f"test_{started.id.removeprefix('po_')}"
    assert await order_statuses(client, org.sk_test, orders) == [
        "CASHBACK_SENT",
        "CASHBACK_AVAILABLE",
    ]
    sent = [e for e in await all_events(client, org.sk_test) if e["type"] == "order.cashback_sent"]
    assert [e["data"]["id"] for e in sent] == [orders[0]["id"]]

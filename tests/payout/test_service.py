"""start_payout and mark_paid: one payout per order, each transition once, whoever races."""

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select

from kohort import clock, crypto
from kohort.config import Settings
from kohort.db import Database
from kohort.models import Event
from kohort.payout import service
from kohort.payout.jobs import process_due
from tests.factories import Org
from tests.order.api import place_order
from tests.payout.api import completed_group, stored_order, stored_payouts

IBAN = "DE89 3704 0044 0532 0130 00"


async def _types(db: Database, organization_id: str, order_id: str) -> list[str]:
    async with db.read() as session:
        stmt = select(Event).where(Event.organization_id == organization_id).order_by(Event.seq)
        rows = (await session.execute(stmt)).scalars()
        return [e.type for e in rows if e.data.get("id") == order_id and "cashback" in e.type]


async def test_twenty_concurrent_starts_make_one_payout(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    orders = await completed_group(client, org, org.sk_live, [10_000, 2000])

    async def start() -> str | None:
        async with db.write() as session:
            payout = await service.start_payout(
                session,
                order_id=orders[0]["id"],
                method="sepa_transfer",
                now=clock.now(),
                iban=IBAN,
                account_holder_name="Ada Lovelace",
                settings=settings,
            )
            return None if payout is None else payout.id

    started = [p for p in await asyncio.gather(*(start() for _ in range(20))) if p]
    assert len(started) == 1
    payouts = await stored_payouts(db, org.id)
    assert [p.id for p in payouts] == started
    (payout,) = payouts
    assert (payout.method, payout.status, payout.amount) == ("sepa_transfer", "pending", 1000)
    assert payout.next_attempt_at is None, "a SEPA payout waits for the day's batch"
    assert payout.iban_masked == "DE89 **** **** **** ***0 00"
    assert payout.iban_encrypted and IBAN.replace(" ", "") not in payout.iban_encrypted
    assert crypto.decrypt(settings, payout.iban_encrypted) == IBAN.replace(" ", "")
    assert payout.account_holder_name == "Ada Lovelace"
    assert (await stored_order(db, orders[0]["id"])).status == "CASHBACK_PROCESSING"
    assert (await stored_order(db, orders[1]["id"])).status == "CASHBACK_AVAILABLE"
    assert await _types(db, org.id, orders[0]["id"]) == [
        "order.cashback_available",
        "order.cashback_processing",
    ]


async def test_an_order_that_is_not_available_gets_no_payout(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    orders = await completed_group(client, org, org.sk_live, [3000, 3000])
    lonely = await place_order(client, org.sk_live, amount=3000)
    now = clock.now()
    async with db.write() as session:
        first = await service.start_payout(
            session, order_id=orders[0]["id"], method="stripe_refund", now=now
        )
    assert first is not None and first.next_attempt_at == now
    async with db.write() as session:
        for order_id in (orders[0]["id"], lonely["id"], "ord_00000000000000"):
            again = await service.start_payout(
                session, order_id=order_id, method="stripe_refund", now=now
            )
            assert again is None, order_id
    assert [p.order_id for p in await stored_payouts(db, org.id)] == [orders[0]["id"]]
    assert (await stored_order(db, lonely["id"])).status == "CREATED"


async def test_mark_paid_sends_the_cashback_once(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    orders = await completed_group(client, org, org.sk_live, [10_000, 2000])
    now = clock.now()
    async with db.write() as session:
        payout = await service.start_payout(
            session, order_id=orders[1]["id"], method="sepa_transfer", now=now
        )
        assert payout is not None
    later = now + timedelta(days=1)

    async def pay() -> bool:
        async with db.write() as session:
            return await service.mark_paid(
                session, payout_id=payout.id, now=later, provider_reference="batch_1"
            )

    assert sorted(await asyncio.gather(*(pay() for _ in range(10)))) == [False] * 9 + [True]
    (stored,) = await stored_payouts(db, org.id)
    assert (stored.status, stored.paid_at, stored.provider_reference) == ("paid", later, "batch_1")
    assert (await stored_order(db, orders[1]["id"])).status == "CASHBACK_SENT"
    assert await _types(db, org.id, orders[1]["id"]) == [
        "order.cashback_available",
        "order.cashback_processing",
        "order.cashback_sent",
    ]


async def test_live_sepa_orders_wait_for_the_shopper(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    """Live mode with the default method (sepa_transfer): the lane starts nothing."""
    orders = await completed_group(client, org, org.sk_live, [10_000, 2000])
    await process_due(db, settings, now=clock.now(), limit=1000)
    assert await stored_payouts(db, org.id) == []
    assert {(await stored_order(db, o["id"])).status for o in orders} == {"CASHBACK_AVAILABLE"}

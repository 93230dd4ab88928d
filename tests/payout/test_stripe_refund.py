"""stripe_refund against localstripe: the cashback is refunded to the shopper's card, once,
whatever crashes, errors and outages happen on the way."""

from datetime import timedelta

import httpx
import time_machine

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.payout import jobs, stripe_refund
from kohort.payout.jobs import process_due
from tests.factories import Org, bearer
from tests.order.api import START, wire
from tests.payout.api import completed_group, order_statuses, patch_org, payout_of
from tests.payout.conftest import LocalStripe

STRIPE_KEY = "sk_live_localstripe0123456789"


async def _stripe_shop(client: httpx.AsyncClient, org: Org) -> None:
    response = await patch_org(
        client, org, org.sk_live, payoutMethod="stripe_refund", stripeSecretKey=STRIPE_KEY
    )
    assert response.status_code == 200, response.text


async def _pay(db: Database, settings: Settings) -> None:
    await process_due(db, settings, now=clock.now(), limit=1000)


async def test_the_cashback_is_refunded_to_the_card_once(
    client: httpx.AsyncClient,
    db: Database,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    org: Org,
) -> None:
    await _stripe_shop(client, org)
    intents = [await localstripe.payment_intent(amount) for amount in (10_000, 4999)]
    orders = await completed_group(client, org, org.sk_live, [10_000, 4999], intents)
    assert [o["amountCashback"] for o in orders] == [1000, 500]

    await _pay(db, stripe_settings)
    await _pay(db, stripe_settings)

    assert await order_statuses(client, org.sk_live, orders) == ["CASHBACK_SENT"] * 2
    for order, intent in zip(orders, intents, strict=True):
        (refund,) = await localstripe.refunds(intent)
        assert refund.amount == order["amountCashback"]
        assert refund.to_dict()["metadata"]["kohort_order_id"] == order["id"]
        payout = await payout_of(client, org.sk_live, order["id"])
        assert payout["method"] == "stripe_refund"
        assert payout["status"] == "paid"
        assert payout["providerReference"] == refund.id
        assert payout["amount"] == order["amountCashback"]
        assert payout["attempts"] == 1


async def test_a_worker_killed_after_stripe_answered_makes_no_second_refund(
    client: httpx.AsyncClient,
    db: Database,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    org: Org,
) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        await _stripe_shop(client, org)
        intents = [await localstripe.payment_intent(amount) for amount in (8000, 6000)]
        orders = await completed_group(client, org, org.sk_live, [8000, 6000], intents)
        await jobs.start_automatic(db, now=clock.now(), limit=1000)
        calls = await jobs.lease_refunds(db, stripe_settings, now=clock.now(), limit=1000)
        mine = [call for call, _ in calls if call.order_id in {o["id"] for o in orders}]
        assert len(mine) == 2
        for call in mine:
            await stripe_refund.refund(stripe_settings, call)
        # The worker dies here: the refunds exist, the database does not know.
        assert [len(await localstripe.refunds(i)) for i in intents] == [1, 1]
        await _pay(db, stripe_settings)
        leased = await payout_of(client, org.sk_live, orders[0]["id"])
        assert leased["status"] == "processing", "leased: nobody retries before the lease ends"

        traveller.shift(jobs.LEASE + timedelta(seconds=1))
        await _pay(db, stripe_settings)

        assert await order_statuses(client, org.sk_live, orders) == ["CASHBACK_SENT"] * 2
        for order, intent in zip(orders, intents, strict=True):
            (refund,) = await localstripe.refunds(intent)
            payout = await payout_of(client, org.sk_live, order["id"])
            assert payout["providerReference"] == refund.id
            assert payout["attempts"] == 2


async def test_a_stripe_error_fails_the_payout_visibly_and_the_merchant_can_retry(
    client: httpx.AsyncClient,
    db: Database,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    org: Org,
) -> None:
    await _stripe_shop(client, org)
    intent = await localstripe.payment_intent(10_000)
    orders = await completed_group(
        client, org, org.sk_live, [10_000, 3000], [intent, "pi_doesnotexist000"]
    )
    await _pay(db, stripe_settings)

    good = await payout_of(client, org.sk_live, orders[0]["id"])
    bad = await payout_of(client, org.sk_live, orders[1]["id"])
    assert good["status"] == "paid"
    assert bad["status"] == "failed"
    assert bad["lastError"].startswith("Stripe InvalidRequestError (404)")
    assert bad["failedAt"] is not None and bad["nextAttemptAt"] is None
    assert await order_statuses(client, org.sk_live, orders) == [
        "CASHBACK_SENT",
        "CASHBACK_PROCESSING",
    ]
    failed = await client.get(
        "/payouts", params={"search": "status:failed"}, headers=bearer(org.sk_live)
    )
    assert [p["id"] for p in failed.json()["data"]] == [bad["id"]]

    retried = await client.post(f"/payouts/{bad['id']}/retry", headers=bearer(org.sk_live))
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    await _pay(db, stripe_settings)
    again = await payout_of(client, org.sk_live, orders[1]["id"])
    assert again["status"] == "failed" and again["attempts"] == 1
    assert again["lastError"].startswith("Stripe InvalidRequestError (404)")


async def test_a_payout_that_cannot_be_attempted_fails_with_the_reason(
    client: httpx.AsyncClient,
    db: Database,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    org: Org,
) -> None:
    await _stripe_shop(client, org)
    orders = await completed_group(client, org, org.sk_live, [5000, 5000])
    await _pay(db, stripe_settings)
    for order in orders:
        payout = await payout_of(client, org.sk_live, order["id"])
        assert payout["status"] == "failed"
        assert "no paymentReference" in payout["lastError"]


async def test_stripe_unreachable_is_retried_with_backoff_until_it_is_back(
    client: httpx.AsyncClient,
    db: Database,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    org: Org,
) -> None:
    with time_machine.travel(START + timedelta(days=3), tick=False) as traveller:
        await _stripe_shop(client, org)
        intent = await localstripe.payment_intent(10_000)
        orders = await completed_group(client, org, org.sk_live, [10_000, 2000], [intent, None])
        localstripe.stop()

        await _pay(db, stripe_settings)
        payout = await payout_of(client, org.sk_live, orders[0]["id"])
        assert payout["status"] == "pending"
        assert payout["attempts"] == 1
        assert payout["lastError"].startswith("Stripe APIConnectionError")
        first_try = clock.now()
        assert payout["nextAttemptAt"] == wire(first_try + timedelta(minutes=1))

        traveller.shift(timedelta(seconds=59))
        await _pay(db, stripe_settings)
        assert (await payout_of(client, org.sk_live, orders[0]["id"]))["attempts"] == 1

        traveller.shift(timedelta(seconds=1))
        await _pay(db, stripe_settings)
        payout = await payout_of(client, org.sk_live, orders[0]["id"])
        assert payout["attempts"] == 2 and payout["status"] == "pending"
        assert payout["nextAttemptAt"] == wire(clock.now() + timedelta(minutes=5))

        localstripe.start()
        traveller.shift(timedelta(minutes=5))
        await _pay(db, stripe_settings)
        payout = await payout_of(client, org.sk_live, orders[0]["id"])
        assert payout["status"] == "paid" and payout["attempts"] == 3
        (refund,) = await localstripe.refunds(intent)
        assert refund.amount == 1000 and payout["providerReference"] == refund.id


async def test_stripe_down_for_a_day_fails_the_payout_after_the_last_attempt(
    client: httpx.AsyncClient,
    db: Database,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    org: Org,
) -> None:
    with time_machine.travel(START + timedelta(days=6), tick=False) as traveller:
        await _stripe_shop(client, org)
        intent = await localstripe.payment_intent(10_000)
        orders = await completed_group(client, org, org.sk_live, [10_000, 2000], [intent, None])
        localstripe.stop()
        for delay in (timedelta(0), *jobs.RETRY_DELAYS):
            traveller.shift(delay)
            await _pay(db, stripe_settings)
        payout = await payout_of(client, org.sk_live, orders[0]["id"])
        assert payout["status"] == "failed"
        assert payout["attempts"] == jobs.MAX_ATTEMPTS
        assert payout["lastError"].startswith(f"Gave up after {jobs.MAX_ATTEMPTS} attempts")
        assert sum(jobs.RETRY_DELAYS, timedelta(0)) < timedelta(hours=24)


async def test_held_cashback_is_never_paid_until_it_is_released(
    client: httpx.AsyncClient,
    db: Database,
    stripe_settings: Settings,
    localstripe: LocalStripe,
    org: Org,
) -> None:
    await _stripe_shop(client, org)
    response = await client.patch(
        f"/organizations/{org.id}/risk-policy",
        json={"actions": {"HIGHEST": "review"}},
        headers=bearer(org.sk_live),
    )
    assert response.status_code == 200, response.text
    intents = [await localstripe.payment_intent(amount) for amount in (10_000, 6000)]
    # Both buyers are "Ada Lovelace": the joiner's order is HIGHEST (SAME_NAME), held.
    creator, held = await completed_group(client, org, org.sk_live, [10_000, 6000], intents)
    assert (held["status"], held["reviewStatus"]) == ("CASHBACK_ON_HOLD", "PENDING")

    for _ in range(3):
        await _pay(db, stripe_settings)
    assert await order_statuses(client, org.sk_live, [creator, held]) == [
        "CASHBACK_SENT",
        "CASHBACK_ON_HOLD",
    ]
    assert await localstripe.refunds(intents[1]) == []

    approved = await client.post(
        f"/orders/{held['id']}/review", json={"decision": "approve"}, headers=bearer(org.sk_live)
    )
    assert approved.status_code == 200, approved.text
    await _pay(db, stripe_settings)
    await _pay(db, stripe_settings)
    assert await order_statuses(client, org.sk_live, [held]) == ["CASHBACK_SENT"]
    (refund,) = await localstripe.refunds(intents[1])
    assert refund.amount == 600

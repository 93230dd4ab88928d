"""POST /orders/{id}/refunds and KohortPay's POST /refunds (docs/api.md, "Refunds"): a full
refund is the order's cancellation, a partial one lowers the amount its cashback is computed
on, in every state of the order's group; the event, retries, the legacy ids and scoping."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from kohort.db import Database
from kohort.ids import new_id, payment_intent_id
from kohort.models import Order, Payout, Refund
from kohort.webhook.schemas import EVENT_TYPES
from tests.factories import Org, bearer
from tests.group_settings.api import patched
from tests.order.api import (
    ORDER_FIELDS,
    all_events,
    fetch,
    frozen_at,
    get_json,
    join,
    place_order,
    row_counts,
)
from tests.order.test_cancel import LEVELS, completed_group, end_due, order, types_since
from tests.shapes import TIMESTAMP, assert_error

REFUND_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "organizationId",
        "orderId",
        "paymentIntentId",
        "amount",
        "currency",
        "status",
        "reason",
        "metadata",
        "createdAt",
        "createdBy",
        "order",
    }
)


async def post_refund(
    client: httpx.AsyncClient, key: str, order_id: str, body: Any = None, **headers: str
) -> httpx.Response:
    return await client.post(
        f"/orders/{order_id}/refunds", json=body or {}, headers={**bearer(key), **headers}
    )


async def refunded(
    client: httpx.AsyncClient, key: str, order_id: str, **body: Any
) -> dict[str, Any]:
    response = await post_refund(client, key, order_id, body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    assert set(result) == REFUND_FIELDS
    assert set(result["order"]) == ORDER_FIELDS
    assert result["order"] == await order(client, key, order_id)
    return result


async def refund_count(db: Database, organization_id: str) -> int:
    async with db.read() as session:
        stmt = select(func.count()).select_from(Refund)
        return (
            await session.execute(stmt.where(Refund.organization_id == organization_id))
        ).scalar_one()


async def stored_state(client: httpx.AsyncClient, org: Org, db: Database) -> Any:
    """Everything a refusal must leave as it was: rows of every kind, and every order."""
    page = await get_json(client, org.sk_test, "/orders", take=100)
    return await row_counts(db, org.id), await refund_count(db, org.id), page


async def test_a_partial_refund_in_an_open_group_lowers_the_cashback_of_its_end(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patched(client, org, LEVELS)
    with frozen_at(datetime.now(UTC) - timedelta(minutes=11)) as clock:
        creator = await place_order(client, org.sk_test, amount=10000)
        code = creator["paymentGroup"]["shareId"]
        first = await join(client, org.sk_test, code, amount=3000)
        second = await join(client, org.sk_test, code, amount=3000)
        assert first["applicationFeeAmount"] == 360
        before = len(await all_events(client, org.sk_test))
        body = await refunded(
            client,
            org.sk_test,
            creator["id"],
            amount=4000,
            reason="one item returned",
            metadata={"creditMemo": "CM-1"},
        )
        assert body["id"].startswith("re_") and len(body["id"]) == 17
        assert body["orderId"] == creator["id"]
        assert body["paymentIntentId"] == payment_intent_id(creator["id"])
        assert body["paymentIntentId"] == "pi_" + creator["id"].removeprefix("ord_")
        assert (body["amount"], body["currency"], body["status"]) == (4000, "EUR", "SUCCEEDED")
        assert (body["reason"], body["metadata"]) == ("one item returned", {"creditMemo": "CM-1"})
        assert body["livemode"] is False and body["organizationId"] == org.id
        assert TIMESTAMP.match(body["createdAt"]) and body["createdBy"].startswith("key_")
        after = body["order"]
        assert (after["amount"], after["amountRefunded"]) == (10000, 4000)
        assert (after["status"], after["amountCashback"]) == ("CREATED", None)
        assert after["applicationFeeAmount"] == 0  # the creator owes none
        assert after["ambassadorId"] is None
        events = (await all_events(client, org.sk_test))[before:]
        assert [e["type"] for e in events] == ["order.refunded"]
        assert events[0]["data"] == body
        # A joiner's fee follows what it really sold: 10 % of 2000 + VAT.
        joiner = await refunded(client, org.sk_test, first["id"], amount=1000)
        assert joiner["order"]["applicationFeeAmount"] == 240
        group = await fetch(client, org.sk_test, code)
        assert (group["status"], group["participantsCount"]) == ("OPEN", 3)
        clock.shift(timedelta(minutes=10))
        await end_due(db)
    # 10 % of what is left: 6000 → 600, 2000 → 200; the untouched member 3000 → 300.
    assert (await order(client, org.sk_test, creator["id"]))["amountCashback"] == 600
    assert (await order(client, org.sk_test, first["id"]))["amountCashback"] == 200
    assert (await order(client, org.sk_test, second["id"]))["amountCashback"] == 300
    participants = await get_json(client, org.sk_test, f"/groups/{code}/participants")
    refunds = {o["id"]: o["amountRefunded"] for o in participants["data"]}
    assert refunds == {creator["id"]: 4000, first["id"]: 1000, second["id"]: 0}
    assert all(o["ambassadorId"] is None for o in participants["data"])
    available = [
        e for e in await all_events(client, org.sk_test) if e["type"] == "order.cashback_available"
    ]
    cashback = {e["data"]["id"]: e["data"]["amountCashback"] for e in available}
    assert cashback == {creator["id"]: 600, first["id"]: 200, second["id"]: 300}
    assert {e["data"]["id"]: e["data"]["amountRefunded"] for e in available} == refunds
    assert all(e["data"]["ambassadorId"] is None for e in available)
    assert all(set(e["data"]) == ORDER_FIELDS for e in available)
    expanded = await get_json(client, org.sk_test, f"/groups/{code}", **{"expand[]": "orders"})
    assert expanded["orders"] == participants["data"]


async def test_after_completion_a_partial_refund_recomputes_the_cashback(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group, (creator, first, second) = await completed_group(client, org, db)
    assert [o["amountCashback"] for o in (creator, first, second)] == [1000, 300, 300]
    before = len(await all_events(client, org.sk_test))
    body = await refunded(client, org.sk_test, creator["id"], amount=1005)
    # 10 % (the level of three members) of 8995 is 899.5, half up.
    assert body["order"]["amountCashback"] == 900
    assert body["order"]["status"] == "CASHBACK_AVAILABLE"
    assert body["order"]["amountRefunded"] == 1005
    again = await refunded(client, org.sk_test, creator["id"], amount=8990)
    assert again["order"]["amountCashback"] == 1  # 10 % of 5 cents, half up
    assert await fetch(client, org.sk_test, group["id"]) == group
    assert await order(client, org.sk_test, first["id"]) == first
    assert await order(client, org.sk_test, second["id"]) == second
    assert await types_since(client, org.sk_test, before) == ["order.refunded"] * 2
    # The last 5 cents are the rest: a full refund, the cancellation of the order.
    last = await refunded(client, org.sk_test, creator["id"])
    assert last["amount"] == 5
    assert last["order"]["status"] == "CANCELED" and last["order"]["canceledAt"] is not None
    assert last["order"]["amountRefunded"] == 10000
    assert await types_since(client, org.sk_test, before + 2) == [
        "order.canceled",
        "order.refunded",
    ]
    assert await fetch(client, org.sk_test, group["id"]) == group


async def test_a_full_refund_in_an_open_group_is_the_cancellation(
    client: httpx.AsyncClient, org: Org
) -> None:
    creator = await place_order(client, org.sk_test, amount=5000)
    group = creator["paymentGroup"]
    partial = await refunded(client, org.sk_test, creator["id"], amount=1000)
    assert partial["order"]["status"] == "CREATED"
    before = len(await all_events(client, org.sk_test))
    body = await refunded(client, org.sk_test, creator["id"])
    assert body["amount"] == 4000
    assert (body["order"]["status"], body["order"]["amountRefunded"]) == ("CANCELED", 5000)
    ended = await fetch(client, org.sk_test, group["id"])
    assert (ended["status"], ended["participantsCount"]) == ("CANCELED", 0)
    events = (await all_events(client, org.sk_test))[before:]
    assert [e["type"] for e in events] == [
        "order.canceled",
        "payment_group.canceled",
        "order.refunded",
    ]
    assert events[-1]["data"] == body
    assert events[0]["data"] == body["order"]
    refused = await post_refund(client, org.sk_test, creator["id"], {"amount": 1})
    assert_error(refused, 400, "ORDER_ALREADY_CANCELED", param="id")
    canceled = await client.post(f"/orders/{creator['id']}/cancel", headers=bearer(org.sk_test))
    assert_error(canceled, 400, "ORDER_ALREADY_CANCELED", param="id")


@pytest.mark.parametrize("end", ["expire", "cancel", "worker"])
async def test_in_an_ended_group_a_partial_refund_is_only_recorded(
    client: httpx.AsyncClient, org: Org, db: Database, end: str
) -> None:
    with frozen_at() as clock:
        creator = await place_order(client, org.sk_test, amount=7000)
        group_id = creator["paymentGroup"]["id"]
        if end == "worker":
            clock.shift(timedelta(minutes=10))
            await end_due(db)
        else:
            response = await client.post(f"/groups/{group_id}/{end}", headers=bearer(org.sk_test))
            assert response.status_code == 200, response.text
        ended = await fetch(client, org.sk_test, group_id)
        assert ended["status"] in ("EXPIRED", "CANCELED")
        stored = await order(client, org.sk_test, creator["id"])
        body = await refunded(client, org.sk_test, creator["id"], amount=2000)
    after = body["order"]
    assert after["amountRefunded"] == 2000
    changed = {k for k in ORDER_FIELDS if after[k] != stored[k]}
    assert changed - {"updatedAt", "updatedBy"} == {"amountRefunded"}
    assert await fetch(client, org.sk_test, group_id) == ended
    rest = await refunded(client, org.sk_test, creator["id"], amount=5000)
    assert rest["order"]["status"] == "CANCELED"
    assert await fetch(client, org.sk_test, group_id) == ended


async def test_a_refund_over_what_is_left_changes_nothing(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    creator = await place_order(client, org.sk_test, amount=3000)
    state = await stored_state(client, org, db)
    error = assert_error(
        await post_refund(client, org.sk_test, creator["id"], {"amount": 3001}),
        400,
        "REFUND_EXCEEDS_AMOUNT",
        param="amount",
    )
    assert "3001" in error["message"] and "3000" in error["message"]
    assert await stored_state(client, org, db) == state
    await refunded(client, org.sk_test, creator["id"], amount=1000)
    state = await stored_state(client, org, db)
    error = assert_error(
        await post_refund(client, org.sk_test, creator["id"], {"amount": 2001}),
        400,
        "REFUND_EXCEEDS_AMOUNT",
        param="amount",
    )
    assert "2001" in error["message"] and "2000" in error["message"]
    assert await stored_state(client, org, db) == state


@pytest.mark.parametrize(
    ("status", "payout"),
    [
        ("CASHBACK_PROCESSING", None),
        ("CASHBACK_SENT", "paid"),
        ("CASHBACK_AVAILABLE", "pending"),
    ],
)
@pytest.mark.parametrize("amount", [100, None])
async def test_after_a_payout_started_the_order_cannot_be_refunded(
    client: httpx.AsyncClient,
    org: Org,
    db: Database,
    status: str,
    payout: str | None,
    amount: int | None,
) -> None:
    _, (_, member, _) = await completed_group(client, org, db)
    now = datetime.now(UTC)
    async with db.write() as session:
        await session.execute(update(Order).where(Order.id == member["id"]).values(status=status))
        if payout is not None:
            session.add(
                Payout(
                    id=new_id("po"),
                    organization_id=org.id,
                    livemode=False,
                    order_id=member["id"],
                    method="test",
                    amount=member["amountCashback"],
                    currency="EUR",
                    status=payout,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
    state = await stored_state(client, org, db)
    body = {} if amount is None else {"amount": amount}
    error = assert_error(
        await post_refund(client, org.sk_test, member["id"], body),
        400,
        "CASHBACK_ALREADY_SENT",
        param="id",
    )
    assert "being paid or sent" in error["message"]
    assert await stored_state(client, org, db) == state


async def test_a_retry_with_the_same_idempotency_key_replays_the_refund(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    creator = await place_order(client, org.sk_test, amount=3000)
    before = len(await all_events(client, org.sk_test))
    first = await post_refund(
        client, org.sk_test, creator["id"], {"amount": 500}, **{"Idempotency-Key": "memo-1"}
    )
    assert first.status_code == 201, first.text
    again = await post_refund(
        client, org.sk_test, creator["id"], {"amount": 500}, **{"Idempotency-Key": "memo-1"}
    )
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await refund_count(db, org.id) == 1
    assert await types_since(client, org.sk_test, before) == ["order.refunded"]
    assert (await order(client, org.sk_test, creator["id"]))["amountRefunded"] == 500
    other = await post_refund(
        client, org.sk_test, creator["id"], {"amount": 600}, **{"Idempotency-Key": "memo-1"}
    )
    assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")


async def test_the_legacy_route_takes_the_payment_intent(
    client: httpx.AsyncClient, org: Org, other_org: Org, db: Database
) -> None:
    creator = await place_order(client, org.sk_test, amount=2000)
    intent = payment_intent_id(creator["id"])
    response = await client.post(
        "/refunds",
        json={"amount": 700, "payment_intent_id": intent, "reason": "credit memo"},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == REFUND_FIELDS
    assert (body["orderId"], body["paymentIntentId"], body["amount"]) == (
        creator["id"],
        intent,
        700,
    )
    assert body["order"]["amountRefunded"] == 700
    listed = await get_json(client, org.sk_test, f"/orders/{creator['id']}/refunds")
    assert listed == {"data": [body], "count": 1}
    theirs = await place_order(client, other_org.sk_test)
    live = await place_order(client, org.sk_live)
    state = await stored_state(client, org, db)
    for unknown in (
        "pi_0123456789abcd",
        creator["id"],
        "pi_",
        "nonsense",
        payment_intent_id(theirs["id"]),
        payment_intent_id(live["id"]),
    ):
        refused = await client.post(
            "/refunds", json={"paymentIntentId": unknown}, headers=bearer(org.sk_test)
        )
        assert_error(refused, 404, "NOT_FOUND", param="paymentIntentId")
    missing = await client.post("/refunds", json={"amount": 1}, headers=bearer(org.sk_test))
    assert_error(missing, 400, "VALIDATION_ERROR")
    assert await stored_state(client, org, db) == state
    publishable = await client.post(
        "/refunds", json={"paymentIntentId": intent}, headers=bearer(org.pk_test)
    )
    assert_error(publishable, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")


async def test_refunds_are_listed_newest_first_and_scoped(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    with frozen_at() as clock:
        creator = await place_order(client, org.sk_test, amount=9000)
        made = []
        for amount in (100, 200, 300):
            clock.shift(1)
            made.append(await refunded(client, org.sk_test, creator["id"], amount=amount))
    page = await get_json(client, org.sk_test, f"/orders/{creator['id']}/refunds")
    assert page["count"] == 3
    assert [r["id"] for r in page["data"]] == [r["id"] for r in reversed(made)]
    assert all(r["order"] == made[-1]["order"] for r in page["data"])
    small = await get_json(
        client, org.sk_test, f"/orders/{creator['id']}/refunds", search="amount>150", take=1
    )
    assert (small["count"], [r["amount"] for r in small["data"]]) == (2, [300])
    for key, order_id in (
        (other_org.sk_test, creator["id"]),
        (org.sk_live, creator["id"]),
        (org.sk_test, "ord_0123456789abcd"),
    ):
        url = f"/orders/{order_id}/refunds"
        assert_error(await client.get(url, headers=bearer(key)), 404, "NOT_FOUND")
        assert_error(await post_refund(client, key, order_id, {"amount": 1}), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 10.5},
        {"amount": "100"},
        {"amount": True},
        {"reason": "x" * 501},
        {"metadata": {"a": 1}},
    ],
)
async def test_invalid_refunds_are_refused(
    client: httpx.AsyncClient, org: Org, db: Database, body: dict[str, Any]
) -> None:
    creator = await place_order(client, org.sk_test, amount=3000)
    state = await stored_state(client, org, db)
    assert_error(
        await post_refund(client, org.sk_test, creator["id"], body), 400, "VALIDATION_ERROR"
    )
    assert await stored_state(client, org, db) == state


def test_webhook_endpoints_can_subscribe_to_refunds() -> None:
    assert "order.refunded" in EVENT_TYPES

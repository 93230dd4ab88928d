"""A share code that cannot be joined never loses the paid order (API.md §2.2, DOMAIN.md §4-§5).

For each reason the POST answers 201, the order opens a new group of its own (as its creator),
`joinError` says why, and the stale code's group is left exactly as it was."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from kohort.db import Database
from kohort.models import PaymentGroup
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import (
    START,
    all_events,
    create_order,
    email,
    frozen_at,
    get_json,
    group_of,
)


async def _assert_own_group(
    client: httpx.AsyncClient,
    key: str,
    order: dict[str, Any],
    stale: dict[str, Any],
    code: str,
) -> dict[str, Any]:
    """The order registered with a join error `code`, in a new group it created."""
    assert order["joinError"] is not None, order
    assert set(order["joinError"]) == {"code", "message"}
    assert order["joinError"]["code"] == code, order["joinError"]
    assert isinstance(order["joinError"]["message"], str) and order["joinError"]["message"]
    assert order["status"] == "CREATED"
    assert order["applicationFeeAmount"] == 0, "an order that opened its group owes no fee"
    assert order["paymentGroupId"] != stale["id"]
    assert order["paymentGroupShareId"] != stale["shareId"]
    own = await group_of(client, key, order)
    assert own["id"] == order["paymentGroupId"]
    assert own["shareId"] == order["paymentGroupShareId"]
    assert own["customerId"] == order["customerId"]
    assert own["creatorEmail"] == order["customerEmail"]
    assert own["status"] == "OPEN"
    assert own["participantsCount"] == 1
    stored = await get_json(client, key, f"/orders/{order['id']}")
    assert stored == order, "the join error is stored, not only answered"
    return own


async def _unchanged(client: httpx.AsyncClient, key: str, stale: dict[str, Any]) -> None:
    assert await get_json(client, key, f"/groups/{stale['id']}") == stale
    participants = await get_json(client, key, f"/groups/{stale['id']}/participants")
    assert participants["count"] == stale["participantsCount"]


async def _tail_types(client: httpx.AsyncClient, key: str, since: int) -> list[str]:
    return [e["type"] for e in (await all_events(client, key))[since:]]


async def test_unknown_code(client: httpx.AsyncClient, org: Org, other_org: Org) -> None:
    foreign = await create_order(client, other_org.sk_test)
    live = await create_order(client, org.sk_live)
    for code in (
        "KHT-test-00000000",
        "nonsense",
        foreign["paymentGroupShareId"],
        live["paymentGroupShareId"],
    ):
        before = len(await all_events(client, org.sk_test))
        order = await create_order(client, org.sk_test, paymentGroupShareId=code)
        assert order["joinError"] is not None, code
        assert order["joinError"]["code"] == "NOT_FOUND"
        assert order["paymentGroupShareId"] != code
        own = await group_of(client, org.sk_test, order)
        assert own["participantsCount"] == 1 and own["customerId"] == order["customerId"]
        assert await _tail_types(client, org.sk_test, before) == [
            "customer.created",
            "order.created",
            "payment_group.created",
        ]
    # the other organization's and the live group were not touched
    assert (await group_of(client, other_org.sk_test, foreign))["participantsCount"] == 1
    assert (await group_of(client, org.sk_live, live))["participantsCount"] == 1


@pytest.mark.parametrize("action", ["expire", "cancel"])
async def test_group_ended_early(client: httpx.AsyncClient, org: Org, action: str) -> None:
    creator = await create_order(client, org.sk_test)
    response = await client.post(
        f"/groups/{creator['paymentGroupId']}/{action}", headers=bearer(org.sk_test)
    )
    assert response.status_code == 200, response.text
    stale = response.json()
    assert stale["status"] == ("EXPIRED" if action == "expire" else "CANCELED")
    order = await create_order(client, org.sk_test, paymentGroupShareId=stale["shareId"])
    await _assert_own_group(client, org.sk_test, order, stale, "COMPLETED_EXPIRED_CANCELED")
    state = "expired" if action == "expire" else "canceled"
    assert order["joinError"]["message"] == (
        f"Group {stale['shareId']} is {state}: it cannot be joined any more."
    )
    await _unchanged(client, org.sk_test, stale)


async def test_group_past_its_expiry(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at() as clock:
        creator = await create_order(client, org.sk_test)
        stale = await group_of(client, org.sk_test, creator)
        assert stale["expiresAt"] == "2031-03-04T05:16:07.890Z"
        clock.shift(timedelta(minutes=10) - timedelta(milliseconds=1))
        joiner = await create_order(client, org.sk_test, paymentGroupShareId=stale["shareId"])
        assert joiner["joinError"] is None
        assert joiner["paymentGroupId"] == stale["id"]
        stale = await group_of(client, org.sk_test, creator)
        clock.shift(timedelta(milliseconds=1))  # now == expiresAt: over
        order = await create_order(client, org.sk_test, paymentGroupShareId=stale["shareId"])
        await _assert_own_group(client, org.sk_test, order, stale, "COMPLETED_EXPIRED_CANCELED")
        assert "has expired (its time ended)" in order["joinError"]["message"]
        await _unchanged(client, org.sk_test, stale)
        assert stale["participantsCount"] == 2
        assert stale["status"] == "OPEN"  # the worker, not the join, ends it


async def test_completed_group(client: httpx.AsyncClient, org: Org) -> None:
    await patched(client, org, {"maxParticipants": 2, "discountLevels": levels((2, 5))})
    creator = await create_order(client, org.sk_test)
    joiner = await create_order(
        client, org.sk_test, paymentGroupShareId=creator["paymentGroupShareId"]
    )
    assert joiner["joinError"] is None
    assert joiner["status"] == "CASHBACK_AVAILABLE"
    stale = await group_of(client, org.sk_test, creator)
    assert stale["status"] == "COMPLETED" and stale["participantsCount"] == 2
    order = await create_order(client, org.sk_test, paymentGroupShareId=stale["shareId"])
    # a full group completes at once: a late buyer sees it ended, not full
    await _assert_own_group(client, org.sk_test, order, stale, "COMPLETED_EXPIRED_CANCELED")
    assert f"Group {stale['shareId']} is completed" in order["joinError"]["message"]
    await _unchanged(client, org.sk_test, stale)


async def _make_full_but_open(db: Database, group_id: str) -> None:
    """An OPEN group holding `maxParticipants` members. The API never leaves a group so (a
    join that fills it completes it in the same transaction); it is written directly to
    prove the capacity check itself, which only a lost race would otherwise reach."""
    async with db.write() as session:
        await session.execute(
            update(PaymentGroup)
            .where(PaymentGroup.id == group_id)
            .values(participants_count=PaymentGroup.max_participants)
        )


async def test_full_group(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    await patched(client, org, {"maxParticipants": 3, "discountLevels": levels((2, 5))})
    creator = await create_order(client, org.sk_test)
    await _make_full_but_open(db, creator["paymentGroupId"])
    stale = await group_of(client, org.sk_test, creator)
    assert stale["status"] == "OPEN" and stale["participantsCount"] == 3
    order = await create_order(client, org.sk_test, paymentGroupShareId=stale["shareId"])
    await _assert_own_group(client, org.sk_test, order, stale, "MAX_PARTICIPANTS_REACHED")
    assert await get_json(client, org.sk_test, f"/groups/{stale['id']}") == stale


async def test_email_already_in_the_group(client: httpx.AsyncClient, org: Org) -> None:
    creator_email = email()
    creator = await create_order(client, org.sk_test, customerEmail=creator_email)
    code = creator["paymentGroupShareId"]
    member_email = email()
    member = await create_order(
        client, org.sk_test, customerEmail=member_email, paymentGroupShareId=code
    )
    assert member["joinError"] is None
    stale = await group_of(client, org.sk_test, creator)
    for address in (creator_email, creator_email.upper(), member_email.title()):
        before = len(await all_events(client, org.sk_test))
        order = await create_order(
            client, org.sk_test, customerEmail=address, paymentGroupShareId=code.lower()
        )
        await _assert_own_group(client, org.sk_test, order, stale, "EMAIL_ALREADY_USED")
        assert await _tail_types(client, org.sk_test, before) == [
            "order.created",
            "payment_group.created",
        ]
    # by customer id too
    again = await create_order(
        client,
        org.sk_test,
        customerId=creator["customerId"],
        customerEmail=None,
        paymentGroupShareId=code,
    )
    await _assert_own_group(client, org.sk_test, again, stale, "EMAIL_ALREADY_USED")
    await _unchanged(client, org.sk_test, stale)


async def test_amount_below_the_group_snapshot_minimum(client: httpx.AsyncClient, org: Org) -> None:
    await patched(client, org, {"minPurchaseValue": 5000})
    creator = await create_order(client, org.sk_test, amount=6000)
    await patched(client, org, {"minPurchaseValue": 1000})
    stale = await group_of(client, org.sk_test, creator)
    order = await create_order(
        client, org.sk_test, amount=4999, paymentGroupShareId=stale["shareId"]
    )
    own = await _assert_own_group(client, org.sk_test, order, stale, "AMOUNT_TOO_LOW")
    await _unchanged(client, org.sk_test, stale)
    # the new group has today's minimum; the old one keeps its own
    settings = await get_json(
        client,
        org.sk_test,
        f"/groups/{own['id']}",
        **{"expand[]": "paymentGroupSettings"},
    )
    assert settings["paymentGroupSettings"]["minPurchaseValue"] == 1000
    joined = await create_order(
        client, org.sk_test, amount=5000, paymentGroupShareId=stale["shareId"]
    )
    assert joined["joinError"] is None and joined["paymentGroupId"] == stale["id"]


async def test_first_failing_check_wins(client: httpx.AsyncClient, org: Org) -> None:
    await patched(client, org, {"minPurchaseValue": 5000})
    with frozen_at(START) as clock:
        creator = await create_order(client, org.sk_test, amount=6000)
        code = creator["paymentGroupShareId"]
        await patched(client, org, {"minPurchaseValue": 0})
        # e-mail already used AND amount too low → EMAIL_ALREADY_USED
        order = await create_order(
            client,
            org.sk_test,
            amount=10,
            customerEmail=creator["customerEmail"],
            paymentGroupShareId=code,
        )
        assert order["joinError"]["code"] == "EMAIL_ALREADY_USED"
        # expired AND e-mail used AND amount too low → COMPLETED_EXPIRED_CANCELED
        clock.shift(timedelta(minutes=11))
        order = await create_order(
            client,
            org.sk_test,
            amount=10,
            customerEmail=creator["customerEmail"],
            paymentGroupShareId=code,
        )
        assert order["joinError"]["code"] == "COMPLETED_EXPIRED_CANCELED"


async def test_join_error_is_cleared_on_a_successful_join(
    client: httpx.AsyncClient, org: Org
) -> None:
    creator = await create_order(client, org.sk_test)
    joiner = await create_order(
        client, org.sk_test, paymentGroupShareId=creator["paymentGroupShareId"].lower()
    )
    assert joiner["joinError"] is None
    assert joiner["paymentGroupShareId"] == creator["paymentGroupShareId"]
    group = await group_of(client, org.sk_test, creator)
    assert group["participantsCount"] == 2

"""POST /orders/{id}/cancel: the shop refunded or canceled the purchase (README, "Order
cancellation"). Every state of the order's group, the events, retries and scoping."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from kohort import clock as kohort_clock
from kohort.db import Database
from kohort.group import jobs
from kohort.ids import new_id
from kohort.models import Order, Payout
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import (
    ORDER_FIELDS,
    START,
    all_events,
    create_order,
    fetch,
    frozen_at,
    get_json,
    join,
    new_group,
    place_order,
    row_counts,
    validate,
    wire,
)
from tests.shapes import assert_error

LEVELS = {"discountLevels": levels((2, 5), (3, 10)), "maxParticipants": 10}


async def cancel(
    client: httpx.AsyncClient, key: str, order_id: str, **headers: str
) -> httpx.Response:
    return await client.post(f"/orders/{order_id}/cancel", headers={**bearer(key), **headers})


async def canceled(client: httpx.AsyncClient, key: str, order_id: str) -> dict[str, Any]:
    response = await cancel(client, key, order_id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ORDER_FIELDS
    assert body["status"] == "CANCELED"
    return body


async def order(client: httpx.AsyncClient, key: str, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await get_json(client, key, f"/orders/{order_id}")
    return found


async def end_due(db: Database) -> None:
    """What the worker does when the groups' time is up (payouts left out)."""
    while await jobs.end_due_groups(db, now=kohort_clock.now(), limit=10_000):
        pass


async def types_since(client: httpx.AsyncClient, key: str, count: int) -> list[str]:
    """The types of the events appended after the first `count`, oldest first."""
    return [event["type"] for event in (await all_events(client, key))[count:]]


async def test_lonely_creator_cancels_and_the_group_is_canceled(
    client: httpx.AsyncClient, org: Org
) -> None:
    with frozen_at(START) as clock:
        creator = await place_order(client, org.sk_test)
        group = creator["paymentGroup"]
        before = len(await all_events(client, org.sk_test))
        clock.shift(3)
        body = await canceled(client, org.sk_test, creator["id"])
    now = wire(START + timedelta(seconds=3))
    assert body["canceledAt"] == body["updatedAt"] == now
    assert body["amountCashback"] is None
    assert body["updatedBy"].startswith("key_")
    assert body == await order(client, org.sk_test, creator["id"])
    ended = await fetch(client, org.sk_test, group["id"])
    assert ended["status"] == "CANCELED"
    assert ended["canceledAt"] == now
    assert ended["participantsCount"] == 0
    assert ended["customerId"] == group["customerId"]
    events = (await all_events(client, org.sk_test))[before:]
    assert [e["type"] for e in events] == ["order.canceled", "payment_group.canceled"]
    assert events[0]["data"] == body
    assert events[1]["data"] == ended


async def test_a_joiner_leaves_an_open_group_and_the_level_follows(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patched(client, org, LEVELS)
    with frozen_at() as clock:
        creator = await place_order(client, org.sk_test, amount=10000)
        code = creator["paymentGroup"]["shareId"]
        first = await join(client, org.sk_test, code, amount=2000)
        second = await join(client, org.sk_test, code, amount=4000)
        assert (await fetch(client, org.sk_test, code))["participantsCount"] == 3

        before = len(await all_events(client, org.sk_test))
        left = await canceled(client, org.sk_test, second["id"])
        assert left["amountCashback"] is None
        group = await fetch(client, org.sk_test, code)
        assert group["status"] == "OPEN"
        assert group["participantsCount"] == 2
        assert group["updatedBy"] == left["updatedBy"]
        assert await types_since(client, org.sk_test, before) == ["order.canceled"]

        clock.shift(timedelta(minutes=10))
        await end_due(db)
    done = await fetch(client, org.sk_test, code)
    assert done["status"] == "COMPLETED"
    assert done["participantsCount"] == 2
    # two members: level 1, 5 %, for the two who stayed; nothing for the canceled order
    assert (await order(client, org.sk_test, creator["id"]))["amountCashback"] == 500
    assert (await order(client, org.sk_test, first["id"]))["amountCashback"] == 100
    assert await order(client, org.sk_test, second["id"]) == left
    events = await all_events(client, org.sk_test)
    available = [e["data"]["id"] for e in events if e["type"] == "order.cashback_available"]
    assert sorted(available) == sorted([creator["id"], first["id"]])


async def level_if_joined(client: httpx.AsyncClient, org: Org, code: str) -> int:
    """The level a new buyer would reach in the group (`currentDiscountLevel`)."""
    response = await validate(client, org.sk_test, code)
    assert response.status_code == 200, response.text
    level: int = response.json()["currentDiscountLevel"]["level"]
    return level


async def test_a_canceled_buyer_can_join_the_same_group_again(
    client: httpx.AsyncClient, org: Org
) -> None:
    await patched(client, org, LEVELS)
    group = await new_group(client, org.sk_test)
    joiner = await join(client, org.sk_test, group["shareId"], customerEmail="back@example.com")
    assert await level_if_joined(client, org, group["shareId"]) == 2
    await canceled(client, org.sk_test, joiner["id"])
    assert await level_if_joined(client, org, group["shareId"]) == 1
    before = len(await all_events(client, org.sk_test))
    again = await join(client, org.sk_test, group["shareId"], customerEmail="Back@Example.com")
    assert again["paymentGroup"]["participantsCount"] == 2
    assert again["customerId"] == joiner["customerId"]
    # the level of 2 members is reached again, so it is announced again
    assert await types_since(client, org.sk_test, before) == [
        "order.created",
        "payment_group.joined",
        "payment_group.level_unlocked",
    ]
    participants = await get_json(client, org.sk_test, f"/groups/{group['id']}/participants")
    assert [o["status"] for o in participants["data"]] == ["CREATED", "CANCELED", "CREATED"]


async def test_the_creator_leaves_and_the_members_keep_the_group(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patched(client, org, LEVELS)
    with frozen_at() as clock:
        creator = await place_order(client, org.sk_test, amount=10000)
        group = creator["paymentGroup"]
        first = await join(client, org.sk_test, group["shareId"], amount=2000)
        second = await join(client, org.sk_test, group["shareId"], amount=4000)
        await canceled(client, org.sk_test, creator["id"])
        kept = await fetch(client, org.sk_test, group["id"])
        assert kept["status"] == "OPEN"
        assert kept["participantsCount"] == 2
        assert kept["customerId"] == group["customerId"]
        assert kept["creatorEmail"] == group["creatorEmail"]
        clock.shift(timedelta(minutes=10))
        await end_due(db)
    done = await fetch(client, org.sk_test, group["id"])
    assert (done["status"], done["participantsCount"]) == ("COMPLETED", 2)
    assert (await order(client, org.sk_test, creator["id"]))["status"] == "CANCELED"
    assert (await order(client, org.sk_test, creator["id"]))["amountCashback"] is None
    assert (await order(client, org.sk_test, first["id"]))["amountCashback"] == 100
    assert (await order(client, org.sk_test, second["id"]))["amountCashback"] == 200


async def test_when_the_last_member_leaves_the_group_is_canceled(
    client: httpx.AsyncClient, org: Org
) -> None:
    creator = await place_order(client, org.sk_test)
    group = creator["paymentGroup"]
    joiner = await join(client, org.sk_test, group["shareId"])
    await canceled(client, org.sk_test, creator["id"])
    assert (await fetch(client, org.sk_test, group["id"]))["participantsCount"] == 1
    before = len(await all_events(client, org.sk_test))
    await canceled(client, org.sk_test, joiner["id"])
    ended = await fetch(client, org.sk_test, group["id"])
    assert (ended["status"], ended["participantsCount"]) == ("CANCELED", 0)
    assert await types_since(client, org.sk_test, before) == [
        "order.canceled",
        "payment_group.canceled",
    ]


async def completed_group(
    client: httpx.AsyncClient, org: Org, db: Database
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A group of three (10 %) that completed at its end; its orders as stored after."""
    await patched(client, org, LEVELS)
    with frozen_at(datetime.now(UTC) - timedelta(minutes=11)) as clock:
        creator = await place_order(client, org.sk_test, amount=10000)
        code = creator["paymentGroup"]["shareId"]
        members = [creator, *[await join(client, org.sk_test, code, amount=3000) for _ in "ab"]]
        clock.shift(timedelta(minutes=10))
        await end_due(db)
    group = await fetch(client, org.sk_test, code)
    assert group["status"] == "COMPLETED"
    return group, [await order(client, org.sk_test, m["id"]) for m in members]


async def test_after_completion_the_cashback_is_voided_and_the_others_keep_theirs(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group, (creator, first, second) = await completed_group(client, org, db)
    assert [o["amountCashback"] for o in (creator, first, second)] == [1000, 300, 300]
    before = len(await all_events(client, org.sk_test))
    body = await canceled(client, org.sk_test, first["id"])
    assert body["amountCashback"] == 300
    assert body["canceledAt"] is not None
    assert await fetch(client, org.sk_test, group["id"]) == group
    assert await order(client, org.sk_test, creator["id"]) == creator
    assert await order(client, org.sk_test, second["id"]) == second
    assert await types_since(client, org.sk_test, before) == ["order.canceled"]
    page = await get_json(client, org.sk_test, "/orders", search="status:CASHBACK_AVAILABLE")
    assert {o["id"] for o in page["data"]} == {creator["id"], second["id"]}


@pytest.mark.parametrize(
    ("status", "payout"),
    [
        ("CASHBACK_PROCESSING", None),
        ("CASHBACK_SENT", "paid"),
        ("CASHBACK_AVAILABLE", "pending"),
    ],
)
async def test_after_a_payout_started_the_order_cannot_be_canceled(
    client: httpx.AsyncClient, org: Org, db: Database, status: str, payout: str | None
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
    stored = await order(client, org.sk_test, member["id"])
    counts = await row_counts(db, org.id)
    response = await cancel(client, org.sk_test, member["id"])
    assert_error(response, 400, "CASHBACK_ALREADY_SENT", param="id")
    assert await order(client, org.sk_test, member["id"]) == stored
    assert await row_counts(db, org.id) == counts


@pytest.mark.parametrize("end", ["expire", "cancel", "worker"])
async def test_an_order_of_an_ended_group_is_simply_canceled(
    client: httpx.AsyncClient, org: Org, db: Database, end: str
) -> None:
    with frozen_at() as clock:
        creator = await place_order(client, org.sk_test)
        group_id = creator["paymentGroup"]["id"]
        if end == "worker":
            clock.shift(timedelta(minutes=10))
            await end_due(db)
        else:
            response = await client.post(f"/groups/{group_id}/{end}", headers=bearer(org.sk_test))
            assert response.status_code == 200, response.text
        ended = await fetch(client, org.sk_test, group_id)
        assert ended["status"] in ("EXPIRED", "CANCELED")
        before = len(await all_events(client, org.sk_test))
        body = await canceled(client, org.sk_test, creator["id"])
    assert body["amountCashback"] is None
    assert await fetch(client, org.sk_test, group_id) == ended
    assert await types_since(client, org.sk_test, before) == ["order.canceled"]
    response = await client.post(
        "/groups",
        json={"customerId": creator["customerId"], "orderId": creator["id"]},
        headers=bearer(org.sk_test),
    )
    assert_error(response, 400, "ORDER_ALREADY_CANCELED", param="orderId")


async def test_canceling_twice_is_refused_and_a_retry_replays(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group = await new_group(client, org.sk_test)
    member = await join(client, org.sk_test, group["shareId"])
    first = await cancel(client, org.sk_test, member["id"], **{"Idempotency-Key": "refund-1"})
    assert first.status_code == 200, first.text
    counts = await row_counts(db, org.id)
    again = await cancel(client, org.sk_test, member["id"], **{"Idempotency-Key": "refund-1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    twice = await cancel(client, org.sk_test, member["id"])
    assert_error(twice, 400, "ORDER_ALREADY_CANCELED", param="id")
    assert await row_counts(db, org.id) == counts
    assert (await fetch(client, org.sk_test, group["id"]))["participantsCount"] == 1
    other = await client.post(
        f"/orders/{group['id']}/cancel",
        headers={**bearer(org.sk_test), "Idempotency-Key": "refund-1"},
    )
    assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")


async def test_other_organizations_modes_and_publishable_keys(
    client: httpx.AsyncClient, org: Org, other_org: Org, db: Database
) -> None:
    member = await create_order(client, org.sk_test)
    counts = await row_counts(db, org.id)
    for key in (org.sk_live, other_org.sk_test, other_org.sk_live):
        assert_error(await cancel(client, key, member["id"]), 404, "NOT_FOUND")
    for key in (org.pk_test, org.pk_live):
        assert_error(await cancel(client, key, member["id"]), 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert_error(await cancel(client, org.sk_test, "ord_00000000000000"), 404, "NOT_FOUND")
    assert await row_counts(db, org.id) == counts
    assert (await order(client, org.sk_test, member["id"]))["status"] == "CREATED"


async def test_cancel_answers_with_the_expansions_asked_for(
    client: httpx.AsyncClient, org: Org
) -> None:
    group = await new_group(client, org.sk_test)
    member = await join(client, org.sk_test, group["shareId"])
    response = await client.post(
        f"/orders/{member['id']}/cancel",
        params={"expand[]": "paymentGroup"},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 200, response.text
    assert response.json()["paymentGroup"]["participantsCount"] == 1


async def test_canceled_orders_are_listed_and_searchable(
    client: httpx.AsyncClient, org: Org
) -> None:
    kept = await create_order(client, org.sk_test)
    gone = await create_order(client, org.sk_test)
    await canceled(client, org.sk_test, gone["id"])
    for search in ("status:CANCELED", "canceledAt!null"):
        page = await get_json(client, org.sk_test, "/orders", search=search)
        assert [o["id"] for o in page["data"]] == [gone["id"]], search
    page = await get_json(client, org.sk_test, "/orders", search="canceledAt:null")
    assert [o["id"] for o in page["data"]] == [kept["id"]]

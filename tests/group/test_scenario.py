"""The whole life of a group through HTTP (DOMAIN.md §3-§6, §9, §10; API.md §2.7).

A creator's order opens the group, its code is read with expand[]=paymentGroup and
validated, three friends join, levels unlock at 2 and 3 members, the fourth fills the group,
which completes at once; every order gets its cashback, and the events tell the story."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from kohort import clock as kohort_clock
from kohort.db import Database
from kohort.group.ending import end_group
from kohort.group.repository import COMPLETED
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import (
    START,
    all_events,
    create_order,
    frozen_at,
    get_json,
    group_of,
    validate,
)
from tests.shapes import EVENT_FIELDS


@dataclass(frozen=True)
class Case:
    discount_type: str
    amounts: tuple[int, int, int, int]
    cashback: tuple[int, int, int, int]
    fees: tuple[int, int, int, int]


CASES = [
    # DOMAIN §9's worked example: level 2 (10 %) for all, 499.9 → 500
    Case("PERCENTAGE", (10000, 2000, 3333, 4999), (1000, 200, 333, 500), (0, 240, 400, 600)),
    # 10 whole euros each, never more than the order: 999 cents get 999
    Case("AMOUNT", (10000, 2000, 3333, 999), (1000, 1000, 1000, 999), (0, 240, 400, 120)),
]

JOIN_TYPES = ["customer.created", "order.created", "payment_group.joined"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.discount_type)
async def test_full_scenario(client: httpx.AsyncClient, org: Org, db: Database, case: Case) -> None:
    key = org.sk_test
    await patched(
        client,
        org,
        {
            "discountType": case.discount_type,
            "discountLevels": levels((2, 5), (3, 10)),
            "maxParticipants": 4,
        },
    )
    expected_types: list[str] = []
    with frozen_at(START) as clock:
        creator = await create_order(client, key, amount=case.amounts[0])
        expected_types += ["customer.created", "order.created", "payment_group.created"]
        assert creator["applicationFeeAmount"] == 0
        created_group = await group_of(client, key, creator)
        code = created_group["shareId"]
        assert code == creator["paymentGroupShareId"]
        assert created_group["status"] == "OPEN" and created_group["participantsCount"] == 1

        clock.shift(1)
        check = await validate(client, org.pk_test, code, {"amount": case.amounts[1]})
        assert check.status_code == 200, check.text
        assert check.json()["currentDiscountLevel"]["participantsToUnlock"] == 2
        assert check.json()["nextDiscountLevel"]["participantsToUnlock"] == 3

        orders = [creator]
        group_states: list[dict[str, Any]] = []
        for index, amount in enumerate(case.amounts[1:], start=2):
            clock.shift(60)
            joiner = await create_order(
                client, key, amount=amount, paymentGroupShareId=code.lower()
            )
            orders.append(joiner)
            assert joiner["joinError"] is None
            assert joiner["paymentGroupId"] == created_group["id"]
            assert joiner["paymentGroupShareId"] == code
            assert joiner["applicationFeeAmount"] == case.fees[index - 1]
            expected_types += JOIN_TYPES
            if index in (2, 3):
                expected_types.append("payment_group.level_unlocked")
                group_states.append(await group_of(client, key, creator))
                assert group_states[-1]["status"] == "OPEN"
                assert group_states[-1]["participantsCount"] == index
        expected_types.append("payment_group.succeeded")
        expected_types += ["order.cashback_available"] * 4

    group = await get_json(client, key, f"/groups/{code}")
    assert group["status"] == "COMPLETED"
    assert group["participantsCount"] == 4
    assert group["completedAt"] == "2031-03-04T05:09:08.890Z"  # START + 1 s + 3 min
    assert group["completedAt"] == orders[-1]["createdAt"]
    assert group["canceledAt"] is None

    final = [await get_json(client, key, f"/orders/{o['id']}") for o in orders]
    assert [o["status"] for o in final] == ["CASHBACK_AVAILABLE"] * 4
    assert tuple(o["amountCashback"] for o in final) == case.cashback
    assert tuple(o["applicationFeeAmount"] for o in final) == case.fees
    # the filling join answers the order as it is after the group completed
    assert orders[-1] == final[-1]

    participants = await get_json(client, key, f"/groups/{code}/participants")
    assert participants["count"] == 4
    assert [o["id"] for o in participants["data"]] == [o["id"] for o in orders]

    events = await all_events(client, key)
    assert [e["type"] for e in events] == expected_types
    assert all(set(e) == EVENT_FIELDS for e in events)
    assert all(e["organizationId"] == org.id and e["livemode"] is False for e in events)

    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"])
    customers = [await get_json(client, key, f"/customers/{o['customerId']}") for o in orders]
    assert by_type["customer.created"] == customers
    assert by_type["order.created"] == [
        *orders[:3],
        {
            **orders[3],
            "status": "CREATED",
            "amountCashback": None,
            "updatedAt": orders[3]["createdAt"],
            "updatedBy": orders[3]["createdBy"],
        },
    ]
    assert by_type["payment_group.created"] == [created_group]
    joined = by_type["payment_group.joined"]
    assert [g["participantsCount"] for g in joined] == [2, 3, 4]
    assert all(g["status"] == "OPEN" and g["completedAt"] is None for g in joined)
    assert joined[:2] == group_states
    assert by_type["payment_group.level_unlocked"] == group_states
    assert by_type["payment_group.succeeded"] == [group]
    assert by_type["payment_group.succeeded"][0]["status"] == "COMPLETED"
    cashback_events = by_type["order.cashback_available"]
    assert sorted(cashback_events, key=lambda o: o["id"]) == sorted(final, key=lambda o: o["id"])

    # it ends once: the worker finds nothing to do, and a late buyer opens a group of its own
    async with db.write() as session:
        assert await end_group(session, group["id"], now=START.replace(year=2032)) is None
    late = await create_order(client, key, paymentGroupShareId=code)
    assert late["joinError"]["code"] == "COMPLETED_EXPIRED_CANCELED"
    assert await get_json(client, key, f"/groups/{code}") == group
    types = [e["type"] for e in await all_events(client, key)]
    assert types.count("payment_group.succeeded") == 1
    assert types.count("order.cashback_available") == 4
    assert group["status"] == COMPLETED


async def test_expired_lonely_group_keeps_its_order_created(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    """A group that ends alone expires: no cashback, the order stays CREATED (DOMAIN §6, §10)."""
    with frozen_at(START) as clock:
        creator = await create_order(client, org.sk_test)
        clock.shift(600)
        async with db.write() as session:
            ended = await end_group(session, creator["paymentGroupId"], now=kohort_clock.now())
        assert ended is not None and ended.status == "EXPIRED"
    order = await get_json(client, org.sk_test, f"/orders/{creator['id']}")
    assert order["status"] == "CREATED" and order["amountCashback"] is None
    events = await all_events(client, org.sk_test)
    assert [e["type"] for e in events][-1] == "payment_group.expired"
    assert events[-1]["data"]["status"] == "EXPIRED"
    response = await client.get(f"/groups/{creator['paymentGroupId']}", headers=bearer(org.sk_test))
    assert response.json()["status"] == "EXPIRED"

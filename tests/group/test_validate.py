"""Validating a share code before checkout (API.md §2.1 validate, §2.4, DOMAIN.md §5).

Every route: POST /codes/{code}/validate, POST /groups/{code}/validate and the
/payment-groups alias. Errors come in the contract's order; requests that break several
checks at once prove that order."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from kohort.db import Database
from kohort.models import PaymentGroup
from tests.factories import Org, bearer, make_customer
from tests.group_settings.api import LEVEL_FIELDS, levels, patched
from tests.order.api import (
    create_order,
    email,
    frozen_at,
    get_json,
    group_of,
    row_counts,
    validate,
)
from tests.shapes import GROUP_FIELDS, PUBLIC_GROUP_FIELDS, VALIDATION_EXTRAS, assert_error

ROUTES = ["codes", "groups", "payment-groups"]
PRIVATE_FIELDS = frozenset({"customerId", "creatorEmail", "metadata", "createdBy", "updatedBy"})

pytestmark = pytest.mark.parametrize("route", ROUTES)


async def _small_group(client: httpx.AsyncClient, org: Org, **settings: Any) -> dict[str, Any]:
    """Settings 2 → 5, 3 → 10 with at most 4 members (plus `settings`), and a new group."""
    await patched(
        client,
        org,
        {"discountLevels": levels((2, 5), (3, 10)), "maxParticipants": 4, **settings},
    )
    creator = await create_order(client, org.sk_test, amount=10000)
    return await group_of(client, org.sk_test, creator)


async def _join(client: httpx.AsyncClient, org: Org, code: str, **body: Any) -> dict[str, Any]:
    order = await create_order(client, org.sk_test, paymentGroupShareId=code, **body)
    assert order["joinError"] is None, order
    return order


async def _make_full_but_open(db: Database, group_id: str) -> None:
    """An OPEN group holding `maxParticipants` members: the API never leaves a group so (the
    join that fills it completes it at once), so it is written directly; only a lost race
    would otherwise reach the capacity check."""
    async with db.write() as session:
        await session.execute(
            update(PaymentGroup)
            .where(PaymentGroup.id == group_id)
            .values(participants_count=PaymentGroup.max_participants)
        )


async def _block(client: httpx.AsyncClient, org: Org, address: str) -> dict[str, Any]:
    customer = await make_customer(client, org.sk_test, emailAddress=address)
    response = await client.patch(f"/customers/{customer['id']}/block", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_validation_object(client: httpx.AsyncClient, org: Org, route: str) -> None:
    group = await _small_group(client, org)
    snapshot = (
        await get_json(
            client, org.sk_test, f"/groups/{group['id']}", **{"expand[]": "paymentGroupSettings"}
        )
    )["paymentGroupSettings"]
    first, second = snapshot["discountLevels"]
    response = await validate(client, org.sk_test, group["shareId"], {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == GROUP_FIELDS | VALIDATION_EXTRAS
    assert {k: body[k] for k in GROUP_FIELDS} == group
    assert body["paymentGroupId"] == group["id"]
    assert body["discountType"] == "PERCENTAGE"
    assert body["discountLevels"] == snapshot["discountLevels"]
    assert all(set(level) == LEVEL_FIELDS for level in body["discountLevels"])
    assert [
        (x["level"], x["participantsToUnlock"], x["value"]) for x in body["discountLevels"]
    ] == [
        (1, 2, 5),
        (2, 3, 10),
    ]
    assert body["maxParticipants"] == 4
    assert body["minutesDuration"] == 10
    assert body["minPurchaseValue"] == 0
    # alone in the group: the caller's join makes 2 → level 1, then level 2 is next
    assert body["currentDiscountLevel"] == first
    assert body["nextDiscountLevel"] == second

    await _join(client, org, group["shareId"])
    body = (await validate(client, org.sk_test, group["shareId"], {})).json()
    assert body["participantsCount"] == 2
    assert body["currentDiscountLevel"] == second
    assert body["nextDiscountLevel"] is None

    await _join(client, org, group["shareId"])
    body = (await validate(client, org.sk_test, group["shareId"], {})).json()
    assert body["participantsCount"] == 3
    assert body["currentDiscountLevel"] == second, "4 members: still the top level"
    assert body["nextDiscountLevel"] is None


async def test_validation_reads_the_snapshot(
    client: httpx.AsyncClient, org: Org, route: str
) -> None:
    group = await _small_group(client, org, minPurchaseValue=700, minutesDuration=30)
    await patched(
        client,
        org,
        {
            "discountType": "AMOUNT",
            "discountLevels": levels((2, 1), (3, 2), (4, 3)),
            "maxParticipants": 9,
            "minPurchaseValue": 0,
            "minutesDuration": 60,
        },
    )
    body = (await validate(client, org.sk_test, group["shareId"], {"amount": 700})).json()
    assert body["discountType"] == "PERCENTAGE"
    assert len(body["discountLevels"]) == 2
    assert body["maxParticipants"] == 4
    assert body["minutesDuration"] == 30
    assert body["minPurchaseValue"] == 700
    assert_error(
        await validate(client, org.sk_test, group["shareId"], {"amount": 699}),
        400,
        "AMOUNT_TOO_LOW",
        param="amount",
    )


async def test_no_body_and_lower_case_code(client: httpx.AsyncClient, org: Org, route: str) -> None:
    group = await _small_group(client, org)
    for code in (group["shareId"], group["shareId"].lower(), group["shareId"].swapcase()):
        response = await validate(client, org.sk_test, code, route=route)
        assert response.status_code == 200, response.text
        assert response.json()["shareId"] == group["shareId"]
    snake = await validate(
        client, org.sk_test, group["shareId"], {"customer_email": email(), "amount": 1}, route=route
    )
    assert snake.status_code == 200, snake.text


async def test_publishable_key_sees_public_fields_only(
    client: httpx.AsyncClient, org: Org, route: str
) -> None:
    group = await _small_group(client, org)
    response = await validate(client, org.pk_test, group["shareId"], {"amount": 100}, route=route)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == PUBLIC_GROUP_FIELDS | VALIDATION_EXTRAS
    assert not PRIVATE_FIELDS & set(body)
    assert body["id"] == body["paymentGroupId"] == group["id"]
    assert body["participantsCount"] == 1
    assert body["currentDiscountLevel"]["participantsToUnlock"] == 2
    assert "@" not in response.text, "no e-mail leaks to a publishable key"
    # a publishable key of the other mode does not see the group
    assert_error(
        await validate(client, org.pk_live, group["shareId"], {}, route=route), 404, "NOT_FOUND"
    )


async def test_not_found(client: httpx.AsyncClient, org: Org, other_org: Org, route: str) -> None:
    foreign = await group_of(
        client, other_org.sk_test, await create_order(client, other_org.sk_test)
    )
    live = await group_of(client, org.sk_live, await create_order(client, org.sk_live))
    for key in (org.sk_test, org.pk_test):
        for code in ("KHT-test-00000000", "KHT-00000000", foreign["shareId"], live["shareId"]):
            response = await validate(client, key, code, {}, route=route)
            assert_error(response, 404, "NOT_FOUND")
    # the same codes answer in their own organization and mode
    assert (await validate(client, other_org.pk_test, foreign["shareId"], route=route)).is_success
    assert (await validate(client, org.sk_live, live["shareId"], route=route)).is_success


@pytest.mark.parametrize("end", ["expire", "cancel", "time", "complete"])
async def test_ended_group(client: httpx.AsyncClient, org: Org, route: str, end: str) -> None:
    with frozen_at() as clock:
        group = await _small_group(client, org)
        code = group["shareId"]
        if end == "complete":
            for _ in range(3):
                await _join(client, org, code)
            ended = await get_json(client, org.sk_test, f"/groups/{code}")
            assert ended["status"] == "COMPLETED"
        elif end == "time":
            clock.shift(timedelta(minutes=10))
        else:
            response = await client.post(f"/groups/{code}/{end}", headers=bearer(org.sk_test))
            assert response.status_code == 200, response.text
        # ended AND e-mail used AND amount too low: the end is reported
        response = await validate(
            client,
            org.sk_test,
            code,
            {"customerEmail": group["creatorEmail"], "amount": 0},
            route=route,
        )
        assert_error(response, 400, "COMPLETED_EXPIRED_CANCELED")
        assert_error(
            await validate(client, org.pk_test, code, route=route),
            400,
            "COMPLETED_EXPIRED_CANCELED",
        )


async def test_one_millisecond_before_the_end_is_still_open(
    client: httpx.AsyncClient, org: Org, route: str
) -> None:
    with frozen_at() as clock:
        group = await _small_group(client, org)
        clock.shift(timedelta(minutes=10) - timedelta(milliseconds=1))
        assert (await validate(client, org.sk_test, group["shareId"], route=route)).is_success
        clock.shift(timedelta(milliseconds=1))
        assert_error(
            await validate(client, org.sk_test, group["shareId"], route=route),
            400,
            "COMPLETED_EXPIRED_CANCELED",
        )


async def test_full_group(client: httpx.AsyncClient, org: Org, db: Database, route: str) -> None:
    group = await _small_group(client, org, minPurchaseValue=500)
    await _make_full_but_open(db, group["id"])
    # full AND e-mail used AND amount too low: full is reported
    response = await validate(
        client,
        org.sk_test,
        group["shareId"],
        {"customerEmail": group["creatorEmail"], "amount": 1},
        route=route,
    )
    assert_error(response, 400, "MAX_PARTICIPANTS_REACHED")
    # one seat left is not full
    async with db.write() as session:
        await session.execute(
            update(PaymentGroup).where(PaymentGroup.id == group["id"]).values(participants_count=3)
        )
    assert (await validate(client, org.sk_test, group["shareId"], route=route)).is_success


async def test_email_already_used(client: httpx.AsyncClient, org: Org, route: str) -> None:
    group = await _small_group(client, org, minPurchaseValue=500)
    member = email()
    await _join(client, org, group["shareId"], customerEmail=member, amount=500)
    await _block(client, org, "blocked-" + email())
    for address in (group["creatorEmail"], group["creatorEmail"].upper(), member.title()):
        # e-mail used AND amount too low: the e-mail is reported
        response = await validate(
            client,
            org.sk_test,
            group["shareId"],
            {"customerEmail": address, "amount": 1},
            route=route,
        )
        assert_error(response, 400, "EMAIL_ALREADY_USED", param="customerEmail")
    assert (
        await validate(client, org.sk_test, group["shareId"], {"customerEmail": email()})
    ).is_success


async def test_amount_too_low(client: httpx.AsyncClient, org: Org, route: str) -> None:
    group = await _small_group(client, org, minPurchaseValue=500)
    blocked = await _block(client, org, email())
    # amount too low AND blocked: the amount is reported
    response = await validate(
        client,
        org.sk_test,
        group["shareId"],
        {"customerEmail": blocked["emailAddress"], "amount": 499},
        route=route,
    )
    assert_error(response, 400, "AMOUNT_TOO_LOW", param="amount")
    ok = await validate(client, org.sk_test, group["shareId"], {"amount": 500}, route=route)
    assert ok.is_success


async def test_customer_blocked(client: httpx.AsyncClient, org: Org, route: str) -> None:
    group = await _small_group(client, org)
    blocked = await _block(client, org, email())
    for address in (blocked["emailAddress"], blocked["emailAddress"].upper()):
        response = await validate(
            client, org.sk_test, group["shareId"], {"customerEmail": address}, route=route
        )
        assert_error(response, 400, "CUSTOMER_BLOCKED")
    # and the order agrees
    response = await client.post(
        "/orders",
        json={
            "amount": 100,
            "customerEmail": blocked["emailAddress"],
            "customerFirstName": "A",
            "customerLastName": "B",
            "paymentGroupShareId": group["shareId"],
        },
        headers=bearer(org.sk_test),
    )
    assert_error(response, 400, "CUSTOMER_BLOCKED")
    # a blocked customer of another mode is no one here
    live = await make_customer(client, org.sk_live)
    await client.patch(f"/customers/{live['id']}/block", headers=bearer(org.sk_live))
    assert (
        await validate(
            client, org.sk_test, group["shareId"], {"customerEmail": live["emailAddress"]}
        )
    ).is_success


async def test_blocked_then_deleted_customer_is_still_blocked(
    client: httpx.AsyncClient, org: Org, route: str
) -> None:
    """An order would restore the soft-deleted customer and refuse it as blocked, so the
    pre-checkout check must say so too."""
    group = await _small_group(client, org)
    blocked = await _block(client, org, email())
    deleted = await client.delete(f"/customers/{blocked['id']}", headers=bearer(org.sk_test))
    assert deleted.status_code == 200, deleted.text
    body = {"customerEmail": blocked["emailAddress"]}
    order = await client.post(
        "/orders",
        json={
            **body,
            "amount": 100,
            "customerFirstName": "A",
            "customerLastName": "B",
            "paymentGroupShareId": group["shareId"],
        },
        headers=bearer(org.sk_test),
    )
    assert_error(order, 400, "CUSTOMER_BLOCKED")
    response = await validate(client, org.sk_test, group["shareId"], body, route=route)
    assert_error(response, 400, "CUSTOMER_BLOCKED")


async def test_invalid_body(client: httpx.AsyncClient, org: Org, route: str) -> None:
    group = await _small_group(client, org)
    for body in ({"amount": -1}, {"amount": "x"}, {"amount": True}, {"customerEmail": "nope"}):
        response = await validate(client, org.sk_test, group["shareId"], body, route=route)
        assert_error(response, 400, "VALIDATION_ERROR")


async def test_validation_writes_nothing(
    client: httpx.AsyncClient, org: Org, db: Database, route: str
) -> None:
    group = await _small_group(client, org, minPurchaseValue=100)
    blocked = await _block(client, org, email())
    before = await row_counts(db, org.id)
    bodies: list[Any] = [
        None,
        {},
        {"customerEmail": email(), "amount": 100},
        {"customerEmail": group["creatorEmail"]},
        {"amount": 1},
        {"customerEmail": blocked["emailAddress"]},
    ]
    for key in (org.sk_test, org.pk_test):
        for body in bodies:
            await validate(client, key, group["shareId"], body, route=route)
    assert await row_counts(db, org.id) == before
    assert await get_json(client, org.sk_test, f"/groups/{group['id']}") == group
    customers = await get_json(client, org.sk_test, "/customers")
    assert customers["count"] == before["customers"]


async def test_validation_answers_while_a_writer_holds_the_database(
    client: httpx.AsyncClient, org: Org, db: Database, route: str
) -> None:
    """Validation only reads: it runs in a read transaction, so on SQLite it does not queue
    behind a write transaction that is open (as a sale day's joins keep one open)."""
    group = await _small_group(client, org)
    async with db.write() as session:
        await session.execute(
            update(PaymentGroup).where(PaymentGroup.id == group["id"]).values(updated_by="w")
        )
        response = await asyncio.wait_for(
            validate(client, org.sk_test, group["shareId"], {"amount": 5000}, route=route), 10
        )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == group["id"]


async def test_the_codes_route_takes_share_codes_not_group_ids(
    client: httpx.AsyncClient, org: Org, route: str
) -> None:
    if route != "codes":
        pytest.skip("the group routes take ids too, checked below")
    order = await create_order(client, org.sk_test)
    group = await group_of(client, org.sk_test, order)

    by_id = await validate(client, org.sk_test, group["id"], route="codes")
    by_code = await validate(client, org.sk_test, group["shareId"], route="codes")
    through_groups = await validate(client, org.sk_test, group["id"], route="groups")

    assert_error(by_id, 404, "NOT_FOUND")
    assert by_code.status_code == 200
    assert through_groups.status_code == 200

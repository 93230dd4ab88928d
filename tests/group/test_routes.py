"""The group routes of API.md §2.1 other than expire, under `/groups` and `/payment-groups`."""

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.factories import Org, bearer
from tests.group_settings.api import LEVEL_FIELDS, SETTINGS_FIELDS, levels, pairs, patched
from tests.order.api import (
    ORDER_FIELDS,
    PREFIXES,
    fetch,
    group_events,
    join,
    new_group,
    place_order,
    wire,
)
from tests.shapes import (
    CUSTOMER_FIELDS,
    GROUP_FIELDS,
    ORGANIZATION_FIELDS,
    PUBLIC_GROUP_FIELDS,
    TIMESTAMP,
    assert_error,
)

prefixed = pytest.mark.parametrize("prefix", PREFIXES)


async def ended(client: httpx.AsyncClient, key: str, group: dict[str, Any], how: str) -> None:
    response = await client.post(f"/groups/{group['id']}/{how}", headers=bearer(key))
    assert response.status_code == 200, response.text


# --- GET /groups/{idOrCode} -------------------------------------------------------------


@prefixed
async def test_get_by_id_or_by_code_in_any_case(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    code = group["shareId"]
    for target in (group["id"], code, code.lower(), code.upper(), code.swapcase()):
        response = await client.get(f"{prefix}/{target}", headers=bearer(org.sk_test))
        assert response.status_code == 200, (target, response.text)
        body = response.json()
        assert set(body) == GROUP_FIELDS
        assert body == group
        assert body["shareId"] == code  # canonical case, whatever was typed


@prefixed
async def test_get_an_absent_group_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, prefix: str
) -> None:
    theirs = await new_group(client, other_org.sk_test)
    live = await new_group(client, org.sk_live)
    for target in (
        "pg_0123456789abcd",
        "KHT-test-00000000",
        theirs["id"],
        theirs["shareId"],
        live["id"],
        live["shareId"],
    ):
        response = await client.get(f"{prefix}/{target}", headers=bearer(org.sk_test))
        assert_error(response, 404, "NOT_FOUND")
        response = await client.get(f"{prefix}/{target}", headers=bearer(org.pk_test))
        assert_error(response, 404, "NOT_FOUND")


@prefixed
async def test_a_publishable_key_sees_the_public_fields_only(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    for target in (group["id"], group["shareId"].lower()):
        response = await client.get(f"{prefix}/{target}", headers=bearer(org.pk_test))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == PUBLIC_GROUP_FIELDS
        assert group["creatorEmail"] not in response.text
        assert group["customerId"] not in response.text
        assert body["id"] == group["id"]
        assert body["shareId"] == group["shareId"]
        assert body["status"] == "OPEN"
        assert body["participantsCount"] == 1
        assert body["maxParticipants"] == 15
        for name in ("expiresAt", "createdAt", "midExpireAt"):
            assert body[name] == group[name]
        assert set(body["paymentGroupSettings"]) == SETTINGS_FIELDS
        assert pairs(body["paymentGroupSettings"]) == [(1, 2, 5), (2, 5, 10), (3, 10, 15)]


@prefixed
async def test_expand_with_a_publishable_key_is_refused(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    for expand in ("orders", "customer", "paymentGroupSettings", "organization"):
        response = await client.get(
            f"{prefix}/{group['id']}", params={"expand[]": expand}, headers=bearer(org.pk_test)
        )
        assert_error(response, 400, "VALIDATION_ERROR", param="expand[]")
    response = await client.get(
        f"{prefix}/{group['id']}", params={"expand[]": "nope"}, headers=bearer(org.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR", param="expand[]")


# --- GET /groups --------------------------------------------------------------------------


@prefixed
async def test_list_and_search(client: httpx.AsyncClient, org: Org, prefix: str) -> None:
    lonely = await new_group(client, org.sk_test)
    joined = await new_group(client, org.sk_test)
    await join(client, org.sk_test, joined["shareId"])
    gone = await new_group(client, org.sk_test)
    await ended(client, org.sk_test, gone, "expire")

    async def listed(**params: Any) -> dict[str, Any]:
        response = await client.get(prefix, params=params, headers=bearer(org.sk_test))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert set(body) == {"data", "count"}
        for item in body["data"]:
            assert set(item) == GROUP_FIELDS
        return body

    everything = await listed()
    assert everything["count"] == 3
    assert {g["id"] for g in everything["data"]} == {lonely["id"], joined["id"], gone["id"]}
    assert [g["id"] for g in (await listed(orderBy="createdAt:asc"))["data"]] == [
        lonely["id"],
        joined["id"],
        gone["id"],
    ]
    opened = await listed(search="status:OPEN")
    assert opened["count"] == 2
    assert {g["id"] for g in opened["data"]} == {lonely["id"], joined["id"]}
    crowded = await listed(search="participantsCount>1")
    assert [g["id"] for g in crowded["data"]] == [joined["id"]]
    assert crowded["data"][0]["participantsCount"] == 2
    both = await listed(search="status:OPEN,participantsCount<2")
    assert [g["id"] for g in both["data"]] == [lonely["id"]]
    assert (await listed(search="status:EXPIRED"))["count"] == 1
    assert (await listed(search=f"shareId:{gone['shareId']}"))["data"][0]["id"] == gone["id"]
    page = await listed(take=1, skip=1, orderBy="createdAt:asc")
    assert page["count"] == 3
    assert [g["id"] for g in page["data"]] == [joined["id"]]

    response = await client.get(prefix, params={"search": "nope:1"}, headers=bearer(org.sk_test))
    assert_error(response, 400, "VALIDATION_ERROR")
    response = await client.get(
        prefix, params={"search": "status:WHATEVER"}, headers=bearer(org.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR")


@prefixed
async def test_the_list_holds_the_callers_organization_and_mode_only(
    client: httpx.AsyncClient, org: Org, other_org: Org, prefix: str
) -> None:
    mine = await new_group(client, org.sk_test)
    await new_group(client, org.sk_live)
    await new_group(client, other_org.sk_test)
    response = await client.get(prefix, headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    assert [g["id"] for g in response.json()["data"]] == [mine["id"]]
    assert response.json()["count"] == 1


@prefixed
async def test_expand_embeds_orders_customer_settings_and_organization(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    await patched(client, org, {"maxParticipants": 4, "discountLevels": levels((2, 3), (4, 8))})
    group = await new_group(client, org.sk_test)
    member = await join(client, org.sk_test, group["shareId"])
    later = await patched(
        client, org, {"maxParticipants": 7, "discountLevels": levels((2, 6), (3, 9), (6, 12))}
    )
    expand = ["orders", "customer", "paymentGroupSettings", "organization"]
    answers = []
    response = await client.get(prefix, params={"expand[]": expand}, headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    answers.append(response.json()["data"][0])
    response = await client.get(
        f"{prefix}/{group['shareId'].lower()}",
        params={"expand[]": expand},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 200, response.text
    answers.append(response.json())

    for body in answers:
        assert set(body) == GROUP_FIELDS | set(expand)
        assert body["id"] == group["id"]
        orders = body["orders"]
        assert [o["id"] for o in orders][1:] == [member["id"]]
        assert orders[0]["customerId"] == group["customerId"]
        for order in orders:
            assert set(order) == ORDER_FIELDS
            assert order["paymentGroupId"] == group["id"]
        assert set(body["customer"]) == CUSTOMER_FIELDS
        assert body["customer"]["id"] == group["customerId"]
        assert body["customer"]["emailAddress"] == group["creatorEmail"]
        assert set(body["organization"]) == ORGANIZATION_FIELDS
        assert body["organization"]["id"] == org.id
        snapshot = body["paymentGroupSettings"]
        assert set(snapshot) == SETTINGS_FIELDS
        for level in snapshot["discountLevels"]:
            assert set(level) == LEVEL_FIELDS
        # The settings as they were when the group was created, not as they are now.
        assert snapshot["maxParticipants"] == 4
        assert pairs(snapshot) == [(1, 2, 3), (2, 4, 8)]
        assert later["maxParticipants"] == 7

    response = await client.get(prefix, params={"expand[]": "orders"}, headers=bearer(org.sk_test))
    assert set(response.json()["data"][0]) == GROUP_FIELDS | {"orders"}


# --- PATCH /groups/{id} -------------------------------------------------------------------


@prefixed
async def test_patch_metadata_and_creator_email(
    client: httpx.AsyncClient, org: Org, frozen: Any, start: datetime, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    frozen.shift(30)
    response = await client.patch(
        f"{prefix}/{group['shareId'].lower()}",
        json={"metadata": {"basket": "b-42"}, "creatorEmail": "New.Creator@Example.com"},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == GROUP_FIELDS
    assert body["metadata"] == {"basket": "b-42"}
    assert body["creatorEmail"].lower() == "new.creator@example.com"
    assert body["updatedAt"] == wire(start + timedelta(seconds=30))
    assert body["createdAt"] == group["createdAt"]
    unchanged = {
        k: v for k, v in group.items() if k not in {"metadata", "creatorEmail", "updatedAt"}
    }
    assert {k: body[k] for k in unchanged} == unchanged
    assert await fetch(client, org.sk_test, group["id"]) == body

    response = await client.patch(
        f"{prefix}/{group['id']}",
        json={"creator_email": "snake@example.com"},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 200, response.text
    assert response.json()["creatorEmail"] == "snake@example.com"
    assert response.json()["metadata"] == {"basket": "b-42"}


@prefixed
@pytest.mark.parametrize(
    "changes",
    [
        {"creatorEmail": "not-an-email"},
        {"creatorEmail": None},
        {"creatorEmail": 42},
        {"metadata": {"k": 1}},
        {"metadata": "text"},
        {"metadata": {"k" * 41: "v"}},
    ],
)
async def test_patch_refuses_invalid_values(
    client: httpx.AsyncClient, org: Org, prefix: str, changes: dict[str, Any]
) -> None:
    group = await new_group(client, org.sk_test)
    response = await client.patch(
        f"{prefix}/{group['id']}", json=changes, headers=bearer(org.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR")
    assert await fetch(client, org.sk_test, group["id"]) == group


@prefixed
async def test_patch_another_organizations_group_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, prefix: str
) -> None:
    theirs = await new_group(client, other_org.sk_test)
    response = await client.patch(
        f"{prefix}/{theirs['id']}", json={"metadata": {"a": "b"}}, headers=bearer(org.sk_test)
    )
    assert_error(response, 404, "NOT_FOUND")
    assert await fetch(client, other_org.sk_test, theirs["id"]) == theirs


# --- GET /groups/{idOrCode}/participants -------------------------------------------------


@prefixed
async def test_participants_creator_first(
    client: httpx.AsyncClient, org: Org, frozen: Any, prefix: str
) -> None:
    creator = await place_order(client, org.sk_test)
    code = creator["paymentGroup"]["shareId"]
    # Same millisecond for all: the creator still comes first.
    first = await join(client, org.sk_test, code)
    second = await join(client, org.sk_test, code)
    for target in (creator["paymentGroupId"], code.lower()):
        response = await client.get(f"{prefix}/{target}/participants", headers=bearer(org.sk_test))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "count"}
        assert body["count"] == 3
        assert body["data"][0]["id"] == creator["id"]
        assert {o["id"] for o in body["data"][1:]} == {first["id"], second["id"]}
        for order in body["data"]:
            assert set(order) == ORDER_FIELDS


@prefixed
async def test_participants_in_order_of_joining(
    client: httpx.AsyncClient, org: Org, frozen: Any, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    joined = []
    for _ in range(3):
        frozen.shift(1)
        joined.append((await join(client, org.sk_test, group["shareId"]))["id"])
    response = await client.get(f"{prefix}/{group['id']}/participants", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    ids = [o["id"] for o in response.json()["data"]]
    assert ids[1:] == joined
    assert response.json()["count"] == 4
    response = await client.get(
        f"{prefix}/pg_0123456789abcd/participants", headers=bearer(org.sk_test)
    )
    assert_error(response, 404, "NOT_FOUND")


# --- POST /groups/{idOrCode}/cancel -------------------------------------------------------


@prefixed
async def test_cancel_a_lonely_group(
    client: httpx.AsyncClient, org: Org, frozen: Any, start: datetime, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    frozen.shift(45)
    response = await client.post(
        f"{prefix}/{group['shareId'].lower()}/cancel", headers=bearer(org.sk_test)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == GROUP_FIELDS
    assert body["status"] == "CANCELED"
    assert body["canceledAt"] == body["updatedAt"] == wire(start + timedelta(seconds=45))
    assert TIMESTAMP.match(body["canceledAt"])
    assert body["completedAt"] is None
    assert body["expiresAt"] == group["expiresAt"]
    assert await fetch(client, org.sk_test, group["id"]) == body
    canceled = await group_events(client, org.sk_test, "payment_group.canceled", group["id"])
    assert [e["data"] for e in canceled] == [body]
    assert await group_events(client, org.sk_test, "payment_group.expired", group["id"]) == []

    again = await client.post(f"{prefix}/{group['id']}/cancel", headers=bearer(org.sk_test))
    assert_error(again, 400, "COMPLETED_EXPIRED_CANCELED")
    assert await fetch(client, org.sk_test, group["id"]) == body


@prefixed
async def test_cancel_a_group_with_participants_is_refused(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    await join(client, org.sk_test, group["shareId"])
    before = await fetch(client, org.sk_test, group["id"])
    response = await client.post(f"{prefix}/{group['id']}/cancel", headers=bearer(org.sk_test))
    assert_error(response, 400, "GROUP_HAS_PARTICIPANTS")
    assert await fetch(client, org.sk_test, group["id"]) == before
    assert await group_events(client, org.sk_test, "payment_group.canceled", group["id"]) == []


@prefixed
@pytest.mark.parametrize("how", ["expire", "complete"])
async def test_cancel_an_ended_group_is_refused(
    client: httpx.AsyncClient, org: Org, prefix: str, how: str
) -> None:
    await patched(client, org, {"maxParticipants": 2, "discountLevels": levels((2, 5))})
    group = await new_group(client, org.sk_test)
    if how == "expire":
        await ended(client, org.sk_test, group, "expire")
    else:
        await join(client, org.sk_test, group["shareId"])
    before = await fetch(client, org.sk_test, group["id"])
    assert before["status"] == {"expire": "EXPIRED", "complete": "COMPLETED"}[how]
    response = await client.post(f"{prefix}/{group['id']}/cancel", headers=bearer(org.sk_test))
    assert_error(response, 400, "COMPLETED_EXPIRED_CANCELED")
    assert await fetch(client, org.sk_test, group["id"]) == before


@prefixed
async def test_cancel_elsewhere_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, prefix: str
) -> None:
    theirs = await new_group(client, other_org.sk_test)
    live = await new_group(client, org.sk_live)
    for target in (theirs["id"], live["id"], live["shareId"], "pg_0123456789abcd"):
        response = await client.post(f"{prefix}/{target}/cancel", headers=bearer(org.sk_test))
        assert_error(response, 404, "NOT_FOUND")
    assert (await fetch(client, org.sk_live, live["id"]))["status"] == "OPEN"


# --- POST /groups -------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, key: str, prefix: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post(prefix, json=body, headers={**bearer(key), **headers})


async def group_count(client: httpx.AsyncClient, key: str) -> int:
    response = await client.get("/groups", headers=bearer(key))
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


@prefixed
@pytest.mark.parametrize("how", ["expire", "cancel"])
async def test_create_a_group_for_an_order_whose_group_ended(
    client: httpx.AsyncClient, org: Org, frozen: Any, start: datetime, prefix: str, how: str
) -> None:
    order = await place_order(client, org.sk_test)
    old = order["paymentGroup"]
    await ended(client, org.sk_test, old, how)
    frozen.shift(60)

    response = await create(
        client,
        org.sk_test,
        prefix,
        {"customerId": order["customerId"], "orderId": order["id"], "metadata": {"try": "2"}},
    )

    assert response.status_code == 201, response.text
    group = response.json()
    assert set(group) == GROUP_FIELDS
    assert group["id"] != old["id"] and group["id"].startswith("pg_")
    assert group["shareId"] != old["shareId"]
    assert re.fullmatch(r"KHT-test-[0-9A-F]{8}", group["shareId"])
    assert group["status"] == "OPEN"
    assert group["participantsCount"] == 1
    assert group["customerId"] == order["customerId"]
    assert group["creatorEmail"] == order["customerEmail"]
    assert group["metadata"] == {"try": "2"}
    now = start + timedelta(seconds=60)
    assert group["createdAt"] == wire(now)
    assert group["expiresAt"] == wire(now + timedelta(minutes=10))  # the test-mode duration
    assert group["midExpireAt"] == wire(now + timedelta(minutes=5))
    assert await fetch(client, org.sk_test, group["id"]) == group

    moved = await client.get(f"/orders/{order['id']}", headers=bearer(org.sk_test))
    assert moved.json()["paymentGroupId"] == group["id"]
    assert moved.json()["paymentGroupShareId"] == group["shareId"]
    members = await client.get(f"/groups/{group['id']}/participants", headers=bearer(org.sk_test))
    assert [o["id"] for o in members.json()["data"]] == [order["id"]]
    created = await group_events(client, org.sk_test, "payment_group.created", group["id"])
    assert len(created) == 1
    # The old group stays as it ended; the new one can be joined.
    assert (await fetch(client, org.sk_test, old["id"]))["status"] in {"EXPIRED", "CANCELED"}
    await join(client, org.sk_test, group["shareId"])
    # …and the order now sits in an OPEN group.
    again = await create(
        client, org.sk_test, prefix, {"customerId": order["customerId"], "orderId": order["id"]}
    )
    assert_error(again, 400, "ORDER_ALREADY_IN_GROUP")


@prefixed
async def test_create_with_expires_at(
    client: httpx.AsyncClient, org: Org, frozen: Any, start: datetime, prefix: str
) -> None:
    order = await place_order(client, org.sk_test)
    await ended(client, org.sk_test, order["paymentGroup"], "expire")
    end = start + timedelta(days=2)
    response = await create(
        client,
        org.sk_test,
        prefix,
        {
            "customer_id": order["customerId"],
            "order_id": order["id"],
            "expiresAt": end.astimezone(timezone(timedelta(hours=2))).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["expiresAt"] == wire(end)
    assert group["midExpireAt"] == wire(start + timedelta(days=1))
    assert group["jMinus2ExpireAt"] is None and group["jPlus3StartAt"] is None

    frozen.shift(timedelta(days=2) - timedelta(seconds=1))
    check = await client.post(f"/groups/{group['shareId']}/validate", headers=bearer(org.sk_test))
    assert check.status_code == 200, check.text
    frozen.shift(2)
    check = await client.post(f"/groups/{group['shareId']}/validate", headers=bearer(org.sk_test))
    assert_error(check, 400, "COMPLETED_EXPIRED_CANCELED")
    late = await place_order(client, org.sk_test, code=group["shareId"])
    assert late["joinError"]["code"] == "COMPLETED_EXPIRED_CANCELED"


@prefixed
@pytest.mark.parametrize(
    "offset",
    [
        timedelta(seconds=59),
        timedelta(seconds=-1),
        timedelta(days=-1),
        timedelta(days=90, seconds=1),
        timedelta(days=365),
    ],
)
async def test_create_refuses_expires_at_out_of_range(
    client: httpx.AsyncClient,
    org: Org,
    frozen: Any,
    start: datetime,
    prefix: str,
    offset: timedelta,
) -> None:
    order = await place_order(client, org.sk_test)
    await ended(client, org.sk_test, order["paymentGroup"], "expire")
    before = await group_count(client, org.sk_test)
    response = await create(
        client,
        org.sk_test,
        prefix,
        {
            "customerId": order["customerId"],
            "orderId": order["id"],
            "expiresAt": wire(start + offset),
        },
    )
    assert_error(response, 400, "VALIDATION_ERROR", param="expiresAt")
    assert await group_count(client, org.sk_test) == before


@prefixed
@pytest.mark.parametrize("offset", [timedelta(minutes=1), timedelta(days=90)])
async def test_create_accepts_the_bounds_of_expires_at(
    client: httpx.AsyncClient,
    org: Org,
    frozen: Any,
    start: datetime,
    prefix: str,
    offset: timedelta,
) -> None:
    order = await place_order(client, org.sk_test)
    await ended(client, org.sk_test, order["paymentGroup"], "expire")
    response = await create(
        client,
        org.sk_test,
        prefix,
        {
            "customerId": order["customerId"],
            "orderId": order["id"],
            "expiresAt": wire(start + offset),
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["expiresAt"] == wire(start + offset)


@prefixed
async def test_create_refuses_an_order_whose_group_is_open_or_completed(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    order = await place_order(client, org.sk_test)
    before = await group_count(client, org.sk_test)
    body = {"customerId": order["customerId"], "orderId": order["id"]}
    assert_error(await create(client, org.sk_test, prefix, body), 400, "ORDER_ALREADY_IN_GROUP")

    await patched(client, org, {"maxParticipants": 2, "discountLevels": levels((2, 5))})
    done = await place_order(client, org.sk_test)
    await join(client, org.sk_test, done["paymentGroup"]["shareId"])
    body = {"customerId": done["customerId"], "orderId": done["id"]}
    assert_error(await create(client, org.sk_test, prefix, body), 400, "ORDER_ALREADY_IN_GROUP")
    assert await group_count(client, org.sk_test) == before + 1


@prefixed
async def test_create_refuses_bad_requests(
    client: httpx.AsyncClient, org: Org, other_org: Org, prefix: str
) -> None:
    order = await place_order(client, org.sk_test)
    await ended(client, org.sk_test, order["paymentGroup"], "expire")
    someone = await place_order(client, org.sk_test)
    before = await group_count(client, org.sk_test)

    wrong = {"customerId": someone["customerId"], "orderId": order["id"]}
    assert_error(
        await create(client, org.sk_test, prefix, wrong),
        400,
        "VALIDATION_ERROR",
        param="customerId",
    )
    for body in (
        {"orderId": order["id"]},
        {"customerId": order["customerId"]},
        {"customerId": order["customerId"], "orderId": order["id"], "expiresAt": "soon"},
        {"customerId": order["customerId"], "orderId": order["id"], "metadata": {"a": 1}},
    ):
        assert_error(await create(client, org.sk_test, prefix, body), 400, "VALIDATION_ERROR")
    unknown = {"customerId": order["customerId"], "orderId": "ord_0123456789abcd"}
    assert_error(await create(client, org.sk_test, prefix, unknown), 404, "NOT_FOUND")
    # Another organization's or mode's order is unknown here.
    theirs = await place_order(client, other_org.sk_test)
    await ended(client, other_org.sk_test, theirs["paymentGroup"], "expire")
    body = {"customerId": theirs["customerId"], "orderId": theirs["id"]}
    assert_error(await create(client, org.sk_test, prefix, body), 404, "NOT_FOUND")
    live = await place_order(client, org.sk_live)
    await ended(client, org.sk_live, live["paymentGroup"], "expire")
    body = {"customerId": live["customerId"], "orderId": live["id"]}
    assert_error(await create(client, org.sk_test, prefix, body), 404, "NOT_FOUND")

    assert await group_count(client, org.sk_test) == before


# --- Share codes, modes ---------------------------------------------------------------------


async def test_share_code_format_by_mode(client: httpx.AsyncClient, org: Org) -> None:
    codes = set()
    for _ in range(3):
        test = await new_group(client, org.sk_test)
        live = await new_group(client, org.sk_live)
        assert test["livemode"] is False and live["livemode"] is True
        assert re.fullmatch(r"KHT-test-[0-9A-F]{8}", test["shareId"]), test["shareId"]
        assert re.fullmatch(r"KHT-[0-9A-F]{8}", live["shareId"]), live["shareId"]
        assert re.fullmatch(r"pg_[0-9a-f]{14}", test["id"]) and re.fullmatch(
            r"pg_[0-9a-f]{14}", live["id"]
        )
        codes |= {test["shareId"], live["shareId"]}
    assert len(codes) == 6


# --- Publishable keys -----------------------------------------------------------------------


@prefixed
@pytest.mark.parametrize("mode", ["test", "live"])
async def test_a_publishable_key_is_refused_on_secret_routes(
    client: httpx.AsyncClient, org: Org, prefix: str, mode: str
) -> None:
    secret, publishable = org.keys[f"sk_{mode}"], org.keys[f"pk_{mode}"]
    order = await place_order(client, secret)
    group = order["paymentGroup"]
    calls: list[tuple[str, str, Any]] = [
        ("POST", prefix, {"customerId": order["customerId"], "orderId": order["id"]}),
        ("GET", prefix, None),
        ("PATCH", f"{prefix}/{group['id']}", {"metadata": {"a": "b"}}),
        ("GET", f"{prefix}/{group['id']}/participants", None),
        ("POST", f"{prefix}/{group['id']}/cancel", None),
        ("POST", f"{prefix}/{group['id']}/expire", None),
        ("POST", f"{prefix}/{group['shareId']}/cancel", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=bearer(publishable))
        assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert await fetch(client, secret, group["id"]) == group


@pytest.mark.parametrize("mode", ["test", "live"])
async def test_a_publishable_key_may_read_a_group_and_validate_its_code(
    client: httpx.AsyncClient, org: Org, mode: str
) -> None:
    secret, publishable = org.keys[f"sk_{mode}"], org.keys[f"pk_{mode}"]
    group = await new_group(client, secret)
    for path in (f"/groups/{group['id']}", f"/payment-groups/{group['shareId'].lower()}"):
        response = await client.get(path, headers=bearer(publishable))
        assert response.status_code == 200, response.text
        assert set(response.json()) == PUBLIC_GROUP_FIELDS
    for path in (
        f"/groups/{group['shareId']}/validate",
        f"/payment-groups/{group['shareId']}/validate",
        f"/codes/{group['shareId'].lower()}/validate",
    ):
        response = await client.post(
            path,
            json={"customerEmail": "friend@example.com", "amount": 500},
            headers=bearer(publishable),
        )
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        assert body["paymentGroupId"] == group["id"]
        assert "creatorEmail" not in body and "customerId" not in body
        assert group["creatorEmail"] not in response.text
    assert await fetch(client, secret, group["id"]) == group


# --- The settings snapshot ------------------------------------------------------------------


async def test_a_group_keeps_the_settings_it_was_created_with(
    client: httpx.AsyncClient, org: Org
) -> None:
    await patched(client, org, {"maxParticipants": 3, "discountLevels": levels((2, 5), (3, 10))})
    old = await new_group(client, org.sk_test)
    await patched(client, org, {"maxParticipants": 2, "discountLevels": levels((2, 20))})
    new = await new_group(client, org.sk_test)

    # The old group still seats three: the new capacity of two does not close it.
    await join(client, org.sk_test, old["shareId"])
    assert (await fetch(client, org.sk_test, old["id"]))["status"] == "OPEN"
    last = await join(client, org.sk_test, old["shareId"], amount=10_000)
    done = await fetch(client, org.sk_test, old["id"])
    assert done["status"] == "COMPLETED"
    assert done["participantsCount"] == 3
    # Its cashback follows its own levels (3 members → 10 %), not the new 20 %.
    order = await client.get(f"/orders/{last['id']}", headers=bearer(org.sk_test))
    assert order.json()["amountCashback"] == 1_000
    late = await place_order(client, org.sk_test, code=old["shareId"])
    assert late["joinError"]["code"] == "COMPLETED_EXPIRED_CANCELED"

    # The new group takes the new settings: full at two.
    await join(client, org.sk_test, new["shareId"])
    assert (await fetch(client, org.sk_test, new["id"]))["status"] == "COMPLETED"
    public = await client.get(f"/groups/{old['id']}", headers=bearer(org.pk_test))
    assert public.json()["maxParticipants"] == 3
    assert pairs(public.json()["paymentGroupSettings"]) == [(1, 2, 5), (2, 3, 10)]


async def test_a_larger_capacity_later_does_not_widen_an_old_group(
    client: httpx.AsyncClient, org: Org
) -> None:
    await patched(client, org, {"maxParticipants": 2, "discountLevels": levels((2, 5))})
    old = await new_group(client, org.sk_test)
    await patched(client, org, {"maxParticipants": 5})
    await join(client, org.sk_test, old["shareId"])
    assert (await fetch(client, org.sk_test, old["id"]))["status"] == "COMPLETED"
    refused = await place_order(client, org.sk_test, code=old["shareId"])
    assert refused["joinError"]["code"] == "COMPLETED_EXPIRED_CANCELED"
    assert (await fetch(client, org.sk_test, old["id"]))["participantsCount"] == 2

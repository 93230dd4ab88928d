"""GET /events and GET /events/{id} (API.md §2.7, §1.5)."""

from datetime import timedelta

import httpx

from tests.factories import Org, bearer, make_customer
from tests.order.api import START, create_order, events, frozen_at, get_json
from tests.shapes import EVENT_FIELDS, TIMESTAMP, assert_error


async def test_list_is_newest_first_with_count(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at(START) as clock:
        first = await create_order(client, org.sk_test)
        clock.shift(60)
        second = await create_order(client, org.sk_test)
    page = await events(client, org.sk_test)
    assert page["count"] == 6
    assert set(page) == {"data", "count"}
    types = [e["type"] for e in page["data"]]
    assert types == ["payment_group.created", "order.created", "customer.created"] * 2
    assert [e["data"]["id"] for e in page["data"]] == [
        second["paymentGroupId"],
        second["id"],
        second["customerId"],
        first["paymentGroupId"],
        first["id"],
        first["customerId"],
    ]
    assert [e["createdAt"] for e in page["data"]] == ["2031-03-04T05:07:07.890Z"] * 3 + [
        "2031-03-04T05:06:07.890Z"
    ] * 3
    ascending = await events(client, org.sk_test, orderBy="createdAt:asc")
    assert [e["id"] for e in ascending["data"]] == [e["id"] for e in reversed(page["data"])]


async def test_search_and_paging(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at(START) as clock:
        first = await create_order(client, org.sk_test)
        clock.shift(timedelta(minutes=1))
        second = await create_order(
            client, org.sk_test, paymentGroupShareId=first["paymentGroupShareId"]
        )
        clock.shift(timedelta(minutes=1))
        await make_customer(client, org.sk_test)
    page = await events(client, org.sk_test, search="type:order.created")
    assert page["count"] == 2
    assert [e["data"]["id"] for e in page["data"]] == [second["id"], first["id"]]
    page = await events(client, org.sk_test, search="type:payment_group.joined")
    assert page["count"] == 1
    assert page["data"][0]["data"]["participantsCount"] == 2
    page = await events(client, org.sk_test, search="createdAt>2031-03-04T05:06:37.890Z")
    assert page["count"] == 5
    assert [e["type"] for e in page["data"]] == [
        "customer.created",
        "payment_group.level_unlocked",
        "payment_group.joined",
        "order.created",
        "customer.created",
    ]
    page = await events(
        client,
        org.sk_test,
        search="createdAt>2031-03-04T05:06:37.890Z,createdAt<2031-03-04T05:08:00.000Z,type~order",
    )
    assert [e["data"]["id"] for e in page["data"]] == [second["id"]]
    page = await events(client, org.sk_test, search="type!customer.created")
    assert page["count"] == 5
    everything = (await events(client, org.sk_test))["data"]
    assert len(everything) == 8
    page = await events(client, org.sk_test, take=2, skip=1)
    assert page["count"] == 8
    assert [e["id"] for e in page["data"]] == [e["id"] for e in everything[1:3]]
    page = await events(client, org.sk_test, take=5, skip=6)
    assert [e["id"] for e in page["data"]] == [e["id"] for e in everything[6:]]
    for params in ({"search": "data:x"}, {"take": 0}, {"take": 101}, {"skip": -1}):
        response = await client.get("/events", params=params, headers=bearer(org.sk_test))
        assert_error(response, 400, "VALIDATION_ERROR")


async def test_one_event_has_the_exact_shape(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at(START):
        order = await create_order(client, org.sk_test)
    listed = (await events(client, org.sk_test, search="type:order.created"))["data"][0]
    event = await get_json(client, org.sk_test, f"/events/{listed['id']}")
    assert event == listed
    assert set(event) == EVENT_FIELDS
    assert event["id"].startswith("evt_") and len(event["id"]) == 18
    assert event["type"] == "order.created"
    assert event["livemode"] is False
    assert event["organizationId"] == org.id
    assert event["createdAt"] == "2031-03-04T05:06:07.890Z"
    assert TIMESTAMP.match(event["createdAt"])
    assert event["data"] == order


async def test_other_organization_or_mode_is_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    await create_order(client, org.sk_test)
    event = (await events(client, org.sk_test))["data"][0]
    for key in (org.sk_live, other_org.sk_test, other_org.sk_live):
        response = await client.get(f"/events/{event['id']}", headers=bearer(key))
        assert_error(response, 404, "NOT_FOUND")
        assert await events(client, key) == {"data": [], "count": 0}
    response = await client.get("/events/evt_00000000000000", headers=bearer(org.sk_test))
    assert_error(response, 404, "NOT_FOUND")


async def test_publishable_key_is_403(client: httpx.AsyncClient, org: Org) -> None:
    await create_order(client, org.sk_test)
    event = (await events(client, org.sk_test))["data"][0]
    for key in (org.pk_test, org.pk_live):
        for url in ("/events", f"/events/{event['id']}"):
            response = await client.get(url, headers=bearer(key))
            assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")

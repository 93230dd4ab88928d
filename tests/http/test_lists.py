"""Lists (API.md §1.5) exercised through GET /customers: search, paging, order, expand."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from tests.factories import Org, bearer, make_customer

BASE = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _day(n: int) -> datetime:
    return BASE + timedelta(days=n)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _create_at(
    client: httpx.AsyncClient, key: str, moment: datetime, **body: Any
) -> dict[str, Any]:
    with time_machine.travel(moment, tick=False):
        return await make_customer(client, key, **body)


async def _list(client: httpx.AsyncClient, key: str, **params: Any) -> httpx.Response:
    return await client.get("/customers", params=params, headers=bearer(key))


async def _emails(client: httpx.AsyncClient, key: str, **params: Any) -> list[str]:
    response = await _list(client, key, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    return [item["emailAddress"] for item in body["data"]]


def _assert_400(response: httpx.Response, param: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    return error


@pytest.fixture
async def people(client: httpx.AsyncClient, org: Org) -> dict[str, dict[str, Any]]:
    """Four customers created a day apart; Dan is blocked, Carla has no first name."""
    ada = await _create_at(
        client, org.sk_test, _day(0), emailAddress="ada@example.com", firstName="Ada"
    )
    bob = await _create_at(
        client, org.sk_test, _day(1), emailAddress="bob@example.com", firstName="Bob"
    )
    carla = await _create_at(client, org.sk_test, _day(2), emailAddress="carla@example.org")
    dan = await _create_at(
        client, org.sk_test, _day(3), emailAddress="dan@example.org", firstName="Danny"
    )
    blocked = await client.patch(f"/customers/{dan['id']}/block", headers=bearer(org.sk_test))
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["isBlocked"] is True
    return {"ada": ada, "bob": bob, "carla": carla, "dan": dan}


ALL_NEWEST_FIRST = ["dan@example.org", "carla@example.org", "bob@example.com", "ada@example.com"]


async def test_default_order_is_newest_first(client, org: Org, people) -> None:
    assert await _emails(client, org.sk_test) == ALL_NEWEST_FIRST


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("emailAddress:bob@example.com", ["bob@example.com"]),
        ("emailAddress:BOB@example.com", []),
        ("firstName:Ada", ["ada@example.com"]),
        ("emailAddress~EXAMPLE.ORG", ["dan@example.org", "carla@example.org"]),
        ("firstName~dA", ["dan@example.org", "ada@example.com"]),
        ("emailAddress!ada@example.com", ALL_NEWEST_FIRST[:3]),
        # `!` on a nullable field keeps the rows where the field is null
        ("firstName!Bob", ["dan@example.org", "carla@example.org", "ada@example.com"]),
        ("firstName>Bob", ["dan@example.org"]),
        ("firstName<Bob", ["ada@example.com"]),
        ("firstName>=Bob", ["dan@example.org", "bob@example.com"]),
        ("firstName<=Bob", ["bob@example.com", "ada@example.com"]),
        ("emailAddress<bob@example.com", ["ada@example.com"]),
    ],
)
async def test_search_on_string_fields(client, org: Org, people, search, expected) -> None:
    assert await _emails(client, org.sk_test, search=search) == expected


async def test_contains_treats_wildcards_literally(client, org: Org) -> None:
    await make_customer(client, org.sk_test, emailAddress="under@example.com", firstName="A_b")
    await make_customer(client, org.sk_test, emailAddress="cross@example.com", firstName="Axb")
    await make_customer(client, org.sk_test, emailAddress="pct@example.com", firstName="50% off")
    assert await _emails(client, org.sk_test, search="firstName~a_b") == ["under@example.com"]
    assert await _emails(client, org.sk_test, search="firstName~0%") == ["pct@example.com"]
    assert await _emails(client, org.sk_test, search="firstName~%") == ["pct@example.com"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("isBlocked:true", ["dan@example.org"]),
        ("isBlocked:TRUE", ["dan@example.org"]),
        ("isBlocked:false", ALL_NEWEST_FIRST[1:]),
        ("isBlocked!true", ALL_NEWEST_FIRST[1:]),
        ("isBlocked!false", ["dan@example.org"]),
    ],
)
async def test_search_on_a_boolean_field(client, org: Org, people, search, expected) -> None:
    assert await _emails(client, org.sk_test, search=search) == expected


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (f"createdAt:{_iso(_day(1))}", ["bob@example.com"]),
        (f"createdAt!{_iso(_day(1))}", ["dan@example.org", "carla@example.org", "ada@example.com"]),
        (f"createdAt>{_iso(_day(1))}", ["dan@example.org", "carla@example.org"]),
        (f"createdAt>={_iso(_day(1))}", ALL_NEWEST_FIRST[:3]),
        (f"createdAt<{_iso(_day(1))}", ["ada@example.com"]),
        (f"createdAt<={_iso(_day(1))}", ["bob@example.com", "ada@example.com"]),
        # the same instant written with another offset, and naive (read as UTC)
        ("createdAt>=2030-01-02T14:00:00+02:00", ALL_NEWEST_FIRST[:3]),
        ("createdAt>=2030-01-02T12:00:00", ALL_NEWEST_FIRST[:3]),
        ("createdAt>2030-01-02T12:00:00.001Z", ["dan@example.org", "carla@example.org"]),
        ("createdAt>=2030-01-02", ALL_NEWEST_FIRST[:3]),
    ],
)
async def test_search_on_a_timestamp_field(client, org: Org, people, search, expected) -> None:
    assert await _emails(client, org.sk_test, search=search) == expected


async def test_created_at_is_the_frozen_instant(client, org: Org, people) -> None:
    assert people["bob"]["createdAt"] == "2030-01-02T12:00:00.000Z"


async def test_null_and_not_null_on_a_nullable_field(client, org: Org, people) -> None:
    assert await _emails(client, org.sk_test, search="firstName:null") == ["carla@example.org"]
    assert await _emails(client, org.sk_test, search="firstName!null") == [
        "dan@example.org",
        "bob@example.com",
        "ada@example.com",
    ]
    assert await _emails(client, org.sk_test, search="blockedAt!null") == ["dan@example.org"]
    assert await _emails(client, org.sk_test, search="blockedAt:null") == ALL_NEWEST_FIRST[1:]


async def test_conditions_are_anded(client, org: Org, people) -> None:
    search = "emailAddress~example.org,isBlocked:false"
    assert await _emails(client, org.sk_test, search=search) == ["carla@example.org"]
    search = f"createdAt>={_iso(_day(1))},createdAt<={_iso(_day(2))},firstName!null"
    assert await _emails(client, org.sk_test, search=search) == ["bob@example.com"]
    search = "firstName:Ada,firstName:Bob"
    assert await _emails(client, org.sk_test, search=search) == []


async def test_count_is_the_number_matching_not_the_page_size(client, org: Org, people) -> None:
    response = await _list(client, org.sk_test, search="isBlocked:false", take=2)
    body = response.json()
    assert [c["emailAddress"] for c in body["data"]] == ["carla@example.org", "bob@example.com"]
    assert body["count"] == 3
    response = await _list(client, org.sk_test, skip=10)
    assert response.json() == {"data": [], "count": 4}


@pytest.mark.parametrize(
    "search",
    [
        "nickname:bob",
        "emailKey:bob@example.com",
        "organizationId:org_x",
        "metadata:x",
        "deletedAt:null",
        "isBlocked:maybe",
        "isBlocked:1",
        "isBlocked:",
        "createdAt>notadate",
        "createdAt:2030-13-01",
        "isBlocked~true",
        "createdAt~2030",
        "isBlocked>true",
        "locale:pt_PT",
        "no operator here",
        "firstName",
    ],
)
async def test_bad_search_is_a_400_on_search(client, org: Org, search) -> None:
    response = await _list(client, org.sk_test, search=search)
    error = _assert_400(response, "search")
    assert error["message"]


async def test_unknown_search_field_names_the_searchable_ones(client, org: Org) -> None:
    error = _assert_400(await _list(client, org.sk_test, search="nickname:bob"), "search")
    assert "nickname" in error["message"]
    assert "emailAddress" in error["message"]


async def test_take_bounds(client, org: Org) -> None:
    for take in (0, 101, -1):
        _assert_400(await _list(client, org.sk_test, take=take), "take")
    _assert_400(await _list(client, org.sk_test, take="ten"), "take")
    response = await _list(client, org.sk_test, take=100)
    assert response.status_code == 200
    response = await _list(client, org.sk_test, take=1)
    assert response.status_code == 200


async def test_skip_must_not_be_negative(client, org: Org) -> None:
    _assert_400(await _list(client, org.sk_test, skip=-1), "skip")
    response = await _list(client, org.sk_test, skip=0)
    assert response.status_code == 200


async def test_default_page_is_25_and_paging_covers_every_row_once(client, org: Org) -> None:
    created = []
    for n in range(27):
        customer = await _create_at(
            client, org.sk_test, _day(0) + timedelta(minutes=n), emailAddress=f"p{n}@example.com"
        )
        created.append(customer["id"])
    body = (await _list(client, org.sk_test)).json()
    assert len(body["data"]) == 25
    assert body["count"] == 27
    assert [c["id"] for c in body["data"]] == created[::-1][:25]

    seen: list[str] = []
    for skip in range(0, 30, 10):
        page = (await _list(client, org.sk_test, take=10, skip=skip)).json()
        assert page["count"] == 27
        seen.extend(c["id"] for c in page["data"])
    assert seen == created[::-1]
    assert len(set(seen)) == 27

    everything = (await _list(client, org.sk_test, take=100)).json()
    assert [c["id"] for c in everything["data"]] == created[::-1]


async def test_order_by_a_field_ascending_and_descending(client, org: Org, people) -> None:
    by_email = sorted(ALL_NEWEST_FIRST)
    assert await _emails(client, org.sk_test, orderBy="emailAddress:asc") == by_email
    assert await _emails(client, org.sk_test, orderBy="emailAddress:desc") == by_email[::-1]
    assert await _emails(client, org.sk_test, orderBy="createdAt:asc") == ALL_NEWEST_FIRST[::-1]
    assert await _emails(client, org.sk_test, orderBy="createdAt:desc") == ALL_NEWEST_FIRST
    assert await _emails(client, org.sk_test, orderBy="firstName:asc") == [
        "carla@example.org",
        "ada@example.com",
        "bob@example.com",
        "dan@example.org",
    ]


@pytest.mark.parametrize(
    "order_by", ["nickname:asc", "emailKey:desc", "metadata:asc", ":asc", "createdAt:sideways"]
)
async def test_bad_order_by_is_a_400_on_order_by(client, org: Org, order_by) -> None:
    _assert_400(await _list(client, org.sk_test, orderBy=order_by), "orderBy")


async def test_same_instant_is_ordered_by_id(client, org: Org) -> None:
    ids = []
    with time_machine.travel(_day(5), tick=False):
        for n in range(6):
            ids.append((await make_customer(client, org.sk_test, emailAddress=f"s{n}@x.com"))["id"])
    ascending = sorted(ids)
    for direction, expected in (("asc", ascending), ("desc", ascending[::-1])):
        order_by = f"createdAt:{direction}"
        page = (await _list(client, org.sk_test, orderBy=order_by)).json()
        assert [c["id"] for c in page["data"]] == expected
        one_by_one = []
        for skip in range(len(ids)):
            page = (await _list(client, org.sk_test, orderBy=order_by, take=1, skip=skip)).json()
            assert page["count"] == len(ids)
            assert len(page["data"]) == 1
            one_by_one.append(page["data"][0]["id"])
        assert one_by_one == expected


async def test_expand_organization(client, org: Org, people) -> None:
    plain = (await _list(client, org.sk_test)).json()
    assert all("organization" not in c for c in plain["data"])
    response = await client.get(
        "/customers", params={"expand[]": "organization"}, headers=bearer(org.sk_test)
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(data) == 4
    for customer in data:
        organization = customer["organization"]
        assert organization["id"] == org.id
        assert organization["name"] == "Test Shop"
        assert organization["createdAt"].endswith("Z")


async def test_unknown_expand_is_a_400(client, org: Org) -> None:
    response = await client.get(
        "/customers", params={"expand[]": ["organization", "orders"]}, headers=bearer(org.sk_test)
    )
    error = _assert_400(response, "expand[]")
    assert "orders" in error["message"]


async def test_soft_deleted_customers_are_not_listed(client, org: Org, people) -> None:
    deleted = await client.delete(f"/customers/{people['bob']['id']}", headers=bearer(org.sk_test))
    assert deleted.status_code == 200
    assert deleted.json()["deletedAt"] is not None
    body = (await _list(client, org.sk_test)).json()
    assert [c["emailAddress"] for c in body["data"]] == [
        "dan@example.org",
        "carla@example.org",
        "ada@example.com",
    ]
    assert body["count"] == 3
    assert await _emails(client, org.sk_test, search="emailAddress:bob@example.com") == []


async def test_lists_are_scoped_to_organization_and_mode(
    client, org: Org, other_org: Org, people
) -> None:
    await make_customer(client, org.sk_live, emailAddress="live@example.com")
    await make_customer(client, other_org.sk_test, emailAddress="other@example.com")
    assert await _emails(client, org.sk_test) == ALL_NEWEST_FIRST
    assert await _emails(client, org.sk_live) == ["live@example.com"]
    assert await _emails(client, other_org.sk_test) == ["other@example.com"]

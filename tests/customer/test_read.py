"""GET /customers and GET /customers/{id}: scoping by organization and mode, keys, lists."""

from typing import Any

import httpx
import pytest

from tests.customer.rows import create, fetch
from tests.factories import Org, bearer, make_customer
from tests.shapes import assert_error


async def list_of(client: httpx.AsyncClient, key: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/customers", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_empty_list(client: httpx.AsyncClient, org: Org) -> None:
    assert await list_of(client, org.sk_test) == {"data": [], "count": 0}


async def test_list_holds_the_modes_customers_newest_first(
    client: httpx.AsyncClient, org: Org, other_org: Org, frozen: Any
) -> None:
    first = await make_customer(client, org.sk_test, emailAddress="first@example.com")
    frozen.shift(1)
    second = await make_customer(client, org.sk_test, emailAddress="second@example.com")
    await make_customer(client, org.sk_live, emailAddress="live@example.com")
    await make_customer(client, other_org.sk_test, emailAddress="first@example.com")

    page = await list_of(client, org.sk_test)

    assert page == {"data": [second, first], "count": 2}


async def test_list_pages_and_searches(client: httpx.AsyncClient, org: Org, frozen: Any) -> None:
    made = []
    for n in range(3):
        made.append(
            await make_customer(
                client, org.sk_test, emailAddress=f"c{n}@example.com", locale="en_US"
            )
        )
        frozen.shift(1)
    await make_customer(client, org.sk_test, emailAddress="fr@example.com")

    page = await list_of(client, org.sk_test, take=1, skip=1, orderBy="createdAt:asc")
    found = await list_of(client, org.sk_test, search="locale:en_US,emailAddress~c2")

    assert page == {"data": [made[1]], "count": 4}
    assert found == {"data": [made[2]], "count": 1}


async def test_list_rejects_an_unknown_search_field(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(
        "/customers", params={"search": "shoeSize:42"}, headers=bearer(org.sk_test)
    )

    assert_error(response, 400, "VALIDATION_ERROR")


async def test_list_can_embed_the_organization(client: httpx.AsyncClient, org: Org) -> None:
    await make_customer(client, org.sk_test, emailAddress="x@example.com")

    page = await list_of(client, org.sk_test, **{"expand[]": "organization"})

    assert page["data"][0]["organization"]["id"] == org.id
    assert "organization" not in (await list_of(client, org.sk_test))["data"][0]


async def test_get_returns_the_customer(client: httpx.AsyncClient, org: Org) -> None:
    created = await make_customer(
        client, org.sk_test, emailAddress="get@example.com", firstName="Get", metadata={"a": "b"}
    )

    assert await fetch(client, org.sk_test, created["id"]) == created


async def test_get_can_embed_the_organization(client: httpx.AsyncClient, org: Org) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="x@example.com")

    response = await client.get(
        f"/customers/{created['id']}",
        params={"expand[]": "organization"},
        headers=bearer(org.sk_test),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["organization"]["id"] == org.id
    assert {k: v for k, v in body.items() if k != "organization"} == created


async def test_get_rejects_an_unknown_expansion(client: httpx.AsyncClient, org: Org) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="x@example.com")

    response = await client.get(
        f"/customers/{created['id']}", params={"expand[]": "orders"}, headers=bearer(org.sk_test)
    )

    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("customer_id", ["cus_00000000000000", "nope", "CUS_%s"])
async def test_get_unknown_id_is_not_found(
    client: httpx.AsyncClient, org: Org, customer_id: str
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="x@example.com")
    customer_id = customer_id.replace("%s", created["id"].removeprefix("cus_"))

    response = await client.get(f"/customers/{customer_id}", headers=bearer(org.sk_test))

    error = assert_error(response, 404, "NOT_FOUND", param="id")
    assert error["type"] == "invalid_request_error"


async def test_customer_of_another_organization_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    theirs = await make_customer(client, other_org.sk_test, emailAddress="x@example.com")

    response = await client.get(f"/customers/{theirs['id']}", headers=bearer(org.sk_test))

    assert_error(response, 404, "NOT_FOUND", param="id")
    assert await list_of(client, org.sk_test) == {"data": [], "count": 0}


async def test_customer_of_the_other_mode_is_not_found(client: httpx.AsyncClient, org: Org) -> None:
    test_customer = await make_customer(client, org.sk_test, emailAddress="t@example.com")
    live_customer = await make_customer(client, org.sk_live, emailAddress="l@example.com")

    from_live = await client.get(f"/customers/{test_customer['id']}", headers=bearer(org.sk_live))
    from_test = await client.get(f"/customers/{live_customer['id']}", headers=bearer(org.sk_test))

    assert_error(from_live, 404, "NOT_FOUND", param="id")
    assert_error(from_test, 404, "NOT_FOUND", param="id")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/customers", None),
        ("POST", "/customers", {"emailAddress": "pk@example.com"}),
        ("GET", "/customers/{id}", None),
        ("PATCH", "/customers/{id}", {"firstName": "Changed"}),
        ("PATCH", "/customers/{id}/block", None),
        ("PATCH", "/customers/{id}/unblock", None),
        ("DELETE", "/customers/{id}", None),
        ("POST", "/customers/{id}/restore", None),
    ],
)
@pytest.mark.parametrize("key_name", ["pk_test", "pk_live"])
async def test_publishable_keys_are_refused_on_every_route(
    client: httpx.AsyncClient, org: Org, method: str, path: str, body: Any, key_name: str
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="x@example.com")

    response = await client.request(
        method,
        path.format(id=created["id"]),
        json=body,
        headers=bearer(org.keys[key_name]),
    )

    error = assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert error["type"] == "permission_error"
    assert await fetch(client, org.sk_test, created["id"]) == created


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk_test_" + "x" * 40}, {"Authorization": "Token abc"}],
)
async def test_missing_or_unknown_key_is_unauthorised(
    client: httpx.AsyncClient, org: Org, headers: dict[str, str]
) -> None:
    response = await client.get("/customers", headers=headers)

    assert response.status_code == 401, response.text
    assert response.json()["error"]["type"] == "authentication_error"


async def test_basic_auth_with_the_key_as_user_name_works(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create(client, org.sk_test, {"emailAddress": "basic@example.com"})
    assert created.status_code == 201, created.text

    response = await client.get("/customers", auth=(org.sk_test, ""))

    assert response.status_code == 200, response.text
    assert response.json()["data"] == [created.json()]

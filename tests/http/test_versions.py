"""API versions: which one a request gets (header > key > organization), the `kohortpay`
translation of requests and answers, and the current version's strict rules."""

import secrets
from typing import Any

import httpx
import pytest

from kohort.db import Database
from kohort.http.versions import CURRENT, KOHORTPAY
from tests.factories import Org, bearer, make_organization
from tests.shapes import assert_error


def email() -> str:
    return f"shopper-{secrets.token_hex(5)}@example.com"


@pytest.fixture
async def kp_org(db: Database) -> Org:
    """An organization whose default version is `kohortpay`, as KohortPay's shops switch."""
    return await make_organization(db, name="KohortPay Shop", api_version=KOHORTPAY)


async def order(
    client: httpx.AsyncClient, key: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    """POST /orders; a new customer needs a name, given unless the body has one."""
    names = {"customerFirstName": "Ana", "customerLastName": "Lima"}
    names = {key: value for key, value in names.items() if key not in body}
    if "customer_first_name" in body:
        names = {}
    return await client.post("/orders", json={**names, **body}, headers={**bearer(key), **headers})


# --- Which version -------------------------------------------------------------------------


async def test_a_new_organization_is_on_the_current_version(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get("/organizations/me", headers=bearer(org.sk_test))
    assert response.status_code == 200
    assert response.headers["Kohort-Version"] == CURRENT
    assert response.json()["apiVersion"] == CURRENT
    assert "websiteUrl" in response.json()


async def test_the_organization_default_applies_to_its_keys(
    client: httpx.AsyncClient, kp_org: Org
) -> None:
    response = await client.get("/organizations/me", headers=bearer(kp_org.sk_test))
    assert response.headers["Kohort-Version"] == KOHORTPAY
    body = response.json()
    assert body["api_version"] == KOHORTPAY
    assert "website_url" in body and "websiteUrl" not in body


async def test_a_key_pin_beats_the_organization_and_the_header_beats_both(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await client.post(
        "/api-keys", json={"name": "module", "apiVersion": KOHORTPAY}, headers=bearer(org.sk_test)
    )
    assert created.status_code == 201, created.text
    assert created.json()["apiVersion"] == KOHORTPAY
    pinned = created.json()["key"]
    by_key = await client.get("/organizations/me", headers=bearer(pinned))
    assert by_key.headers["Kohort-Version"] == KOHORTPAY
    assert "created_at" in by_key.json()
    by_header = await client.get(
        "/organizations/me", headers={**bearer(pinned), "Kohort-Version": CURRENT}
    )
    assert by_header.headers["Kohort-Version"] == CURRENT
    assert "createdAt" in by_header.json()
    unpinned = await client.get(
        "/organizations/me", headers={**bearer(org.sk_test), "Kohort-Version": KOHORTPAY}
    )
    assert unpinned.headers["Kohort-Version"] == KOHORTPAY
    assert "created_at" in unpinned.json()


async def test_a_rolled_key_keeps_its_pin(client: httpx.AsyncClient, org: Org) -> None:
    created = await client.post(
        "/api-keys", json={"apiVersion": KOHORTPAY}, headers=bearer(org.sk_test)
    )
    rolled = await client.post(
        f"/api-keys/{created.json()['id']}/roll", headers=bearer(org.sk_test)
    )
    assert rolled.status_code in (200, 201), rolled.text
    assert rolled.json()["apiVersion"] == KOHORTPAY
    answer = await client.get("/organizations/me", headers=bearer(rolled.json()["key"]))
    assert answer.headers["Kohort-Version"] == KOHORTPAY


async def test_an_unknown_version_is_refused_naming_the_known_ones(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get(
        "/organizations/me", headers={**bearer(org.sk_test), "Kohort-Version": "2020-01-01"}
    )
    assert_error(response, 400, "VALIDATION_ERROR")
    message = response.json()["error"]["message"]
    assert "2020-01-01" in message and CURRENT in message and KOHORTPAY in message
    assert response.json()["error"]["param"] == "Kohort-Version"
    key = await client.post("/api-keys", json={"apiVersion": "v2"}, headers=bearer(org.sk_test))
    assert_error(key, 400, "VALIDATION_ERROR")


async def test_an_unknown_version_changes_nothing(client: httpx.AsyncClient, org: Org) -> None:
    before = await client.get("/orders", headers=bearer(org.sk_test))
    refused = await order(
        client,
        org.sk_test,
        {"amount": 5000, "customerEmail": email()},
        **{"Kohort-Version": "nope"},
    )
    assert_error(refused, 400, "VALIDATION_ERROR")
    after = await client.get("/orders", headers=bearer(org.sk_test))
    assert after.json()["count"] == before.json()["count"]


async def test_patch_switches_the_organization_and_its_keys_follow(
    client: httpx.AsyncClient, org: Org
) -> None:
    test_key = await client.patch(
        f"/organizations/{org.id}", json={"apiVersion": KOHORTPAY}, headers=bearer(org.sk_test)
    )
    assert_error(test_key, 403, "LIVE_KEY_REQUIRED")
    switched = await client.patch(
        f"/organizations/{org.id}", json={"apiVersion": KOHORTPAY}, headers=bearer(org.sk_live)
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["apiVersion"] == KOHORTPAY
    assert switched.headers["Kohort-Version"] == CURRENT, "answered in the request's version"
    follow = await client.get("/organizations/me", headers=bearer(org.sk_test))
    assert follow.headers["Kohort-Version"] == KOHORTPAY
    back = await client.patch(
        f"/organizations/{org.id}", json={"api_version": CURRENT}, headers=bearer(org.sk_live)
    )
    assert back.json()["api_version"] == CURRENT
    for bad in ({"apiVersion": "kohortpay2"}, {"apiVersion": None}):
        refused = await client.patch(
            f"/organizations/{org.id}", json=bad, headers=bearer(org.sk_live)
        )
        assert_error(refused, 400, "VALIDATION_ERROR")
    assert (await client.get("/organizations/me", headers=bearer(org.sk_live))).json()[
        "apiVersion"
    ] == CURRENT


async def test_errors_before_authentication_name_a_valid_header_version(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/orders", headers={"Kohort-Version": KOHORTPAY})
    assert_error(response, 401, "API_KEY_MISSING", snake=True)
    assert response.headers["Kohort-Version"] == KOHORTPAY


# --- kohortpay: answers out ----------------------------------------------------------------


async def test_answers_are_snake_case_except_metadata_contents(
    client: httpx.AsyncClient, kp_org: Org
) -> None:
    metadata = {"orderId": "101", "cart_id": "55", "Mixed-Key": "x"}
    created = await order(
        client, kp_org.sk_test, {"amount": 5000, "customerEmail": email(), "metadata": metadata}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["metadata"] == metadata
    assert {"payment_group_id", "payment_group_share_id", "amount_cashback", "created_at"} <= set(
        body
    )
    assert not [key for key in body if any(char.isupper() for char in key)]
    read = await client.get(
        f"/orders/{body['id']}?expand[]=payment_group", headers=bearer(kp_org.sk_test)
    )
    assert read.status_code == 200, read.text
    group = read.json()["payment_group"]
    assert group["share_id"] == body["payment_group_share_id"]
    assert {"j_minus2_expire_at", "j_plus3_start_at", "participants_count"} <= set(group)


async def test_errors_are_snake_case_with_the_param_in_snake_case(
    client: httpx.AsyncClient, kp_org: Org
) -> None:
    response = await order(client, kp_org.sk_test, {"amount": 5000, "customerEmail": "nope"})
    assert_error(response, 400, "VALIDATION_ERROR", snake=True)
    assert response.json()["error"]["param"] == "customer_email"


async def test_every_post_answers_201_as_kohortpay_did(
    client: httpx.AsyncClient, kp_org: Org, org: Org
) -> None:
    sharer = await order(client, kp_org.sk_test, {"amount": 5000, "customerEmail": email()})
    code = sharer.json()["payment_group_share_id"]
    validate = await client.post(
        f"/payment-groups/{code}/validate", json={"amount": 5000}, headers=bearer(kp_org.sk_test)
    )
    assert validate.status_code == 201, validate.text
    current = await order(client, org.sk_test, {"amount": 5000, "customerEmail": email()})
    current_code = current.json()["paymentGroupShareId"]
    same = await client.post(
        f"/payment-groups/{current_code}/validate",
        json={"amount": 5000},
        headers=bearer(org.sk_test),
    )
    assert same.status_code == 200


# --- kohortpay: requests in ----------------------------------------------------------------


async def test_snake_and_camel_keys_mix_in_one_body(client: httpx.AsyncClient, kp_org: Org) -> None:
    response = await order(
        client,
        kp_org.sk_test,
        {
            "amount": 5000,
            "customer_email": email(),
            "customerFirstName": "Ana",
            "client_reference_id": f"ref-{secrets.token_hex(4)}",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["customer_first_name"] == "Ana"
    assert response.json()["client_reference_id"].startswith("ref-")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [(1998.9999999999998, 1999), (5000.0, 5000), ("4999.999", 5000), (5000.004, 5000)],
)
async def test_float_amounts_within_a_hundredth_of_a_cent_are_rounded(
    client: httpx.AsyncClient, kp_org: Org, sent: Any, stored: int
) -> None:
    response = await order(client, kp_org.sk_test, {"amount": sent, "customerEmail": email()})
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == stored


@pytest.mark.parametrize("sent", [1999.5, 1999.02, "19.99€", True])
async def test_other_fractions_are_refused_and_nothing_is_created(
    client: httpx.AsyncClient, kp_org: Org, sent: Any
) -> None:
    address = email()
    response = await order(client, kp_org.sk_test, {"amount": sent, "customerEmail": address})
    assert_error(response, 400, "VALIDATION_ERROR", snake=True)
    listed = await client.get(
        f"/orders?search=customer_email:{address}", headers=bearer(kp_org.sk_test)
    )
    assert listed.json()["count"] == 0


async def test_metadata_values_become_strings_and_null_drops_the_key(
    client: httpx.AsyncClient, kp_org: Org
) -> None:
    metadata = {"order_id": 101, "cart_id": 55, "customer_id": None, "gift": True, "note": "x"}
    response = await order(
        client, kp_org.sk_test, {"amount": 5000, "customerEmail": email(), "metadata": metadata}
    )
    assert response.status_code == 201, response.text
    assert response.json()["metadata"] == {
        "order_id": "101",
        "cart_id": "55",
        "gift": "true",
        "note": "x",
    }


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("fr_BE", "fr_FR"),
        ("de_CH", "de_DE"),
        ("en_US", "en_US"),
        ("en-AU", "en_US"),
        ("it_CH", "it_IT"),
        ("nl_BE", "nl_NL"),
        ("ja_JP", "fr_FR"),
        ("es", "es_ES"),
    ],
)
async def test_shop_locales_map_to_the_nearest_supported_one(
    client: httpx.AsyncClient, kp_org: Org, sent: str, stored: str
) -> None:
    response = await order(
        client, kp_org.sk_test, {"amount": 5000, "customerEmail": email(), "locale": sent}
    )
    assert response.status_code == 201, response.text
    assert response.json()["locale"] == stored


async def test_customer_phone_is_customer_phone_number(
    client: httpx.AsyncClient, kp_org: Org
) -> None:
    response = await order(
        client,
        kp_org.sk_test,
        {"amount": 5000, "customerEmail": email(), "customerPhone": "+33612345678"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["customer_phone_number"] == "+33612345678"


async def test_search_and_order_by_take_snake_case_and_ignore_unknown_fields(
    client: httpx.AsyncClient, kp_org: Org
) -> None:
    address = email()
    await order(client, kp_org.sk_test, {"amount": 5000, "customerEmail": address})
    await order(client, kp_org.sk_test, {"amount": 7000, "customerEmail": address.upper()})
    headers = bearer(kp_org.sk_test)
    listed = await client.get(
        "/orders",
        params={"search": f"customer_email~{address},no_such_field:1", "order_by": "amount:desc"},
        headers=headers,
    )
    assert listed.status_code == 200, listed.text
    assert [item["amount"] for item in listed.json()["data"]] == [7000, 5000]
    ascending = await client.get(
        "/orders",
        params={"search": f"customer_email~{address}", "orderBy": "created_at:asc"},
        headers=headers,
    )
    assert [item["amount"] for item in ascending.json()["data"]] == [5000, 7000]
    sorting_unknown = await client.get("/orders", params={"orderBy": "nope:asc"}, headers=headers)
    assert_error(sorting_unknown, 400, "VALIDATION_ERROR", snake=True)


# --- The current version keeps its strict rules --------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 1998.9999999999998},
        {"amount": "5000"},
        {"amount": 5000, "metadata": {"order_id": 101}},
        {"amount": 5000, "locale": "fr_BE"},
    ],
)
async def test_the_current_version_refuses_what_kohortpay_tolerates(
    client: httpx.AsyncClient, org: Org, body: dict[str, Any]
) -> None:
    response = await order(client, org.sk_test, {**body, "customerEmail": email()})
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_the_current_version_refuses_unknown_search_fields(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get("/orders?search=noSuchField:1", headers=bearer(org.sk_test))
    assert_error(response, 400, "VALIDATION_ERROR")
    phone = await order(
        client,
        org.sk_test,
        {"amount": 5000, "customerEmail": email(), "customerPhone": "+33612345678"},
    )
    assert phone.status_code == 201
    assert phone.json()["customerPhoneNumber"] is None

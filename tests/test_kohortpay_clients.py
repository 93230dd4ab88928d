"""KohortPay's clients, replayed as they send (../shared/spec/KOHORTPAY-WIRE.md §3): one test
per row of the table, with a key of an organization on the `kohortpay` API version, asserting
on the keys that client reads. Bodies are sent as the clients build them (casing, value types,
no Content-Type where the client sends none); the same flows in the current version answer
camelCase."""

import json
import re
import secrets
from typing import Any

import httpx
import pytest

from kohort.db import Database
from kohort.http.versions import CURRENT, KOHORTPAY
from tests.factories import Org, bearer, make_organization

MAX_PARTICIPANTS = 3
LEVELS = [{"participantsToUnlock": 2, "value": 5}, {"participantsToUnlock": 3, "value": 10}]


def email() -> str:
    return f"shopper-{secrets.token_hex(5)}@example.com"


def reference() -> str:
    return secrets.token_hex(6)


async def configured(client: httpx.AsyncClient, org: Org, *, code_prefix: str = "KHT") -> Org:
    """Test-mode levels of 5 % at 2 members and 10 % at 3 (the capacity), and the prefix."""
    settings = await client.patch(
        f"/organizations/{org.id}/payment-group-settings",
        json={
            "discountType": "PERCENTAGE",
            "discountLevels": LEVELS,
            "maxParticipants": MAX_PARTICIPANTS,
            "minutesDuration": 24 * 60,
            "minPurchaseValue": 0,
        },
        headers={**bearer(org.sk_test), "Kohort-Version": CURRENT},
    )
    assert settings.status_code == 200, settings.text
    prefix = await client.patch(
        f"/organizations/{org.id}",
        json={"codePrefix": code_prefix},
        headers={**bearer(org.sk_live), "Kohort-Version": CURRENT},
    )
    assert prefix.status_code == 200, prefix.text
    return org


@pytest.fixture
async def shop(client: httpx.AsyncClient, db: Database) -> Org:
    """A shop that switched from KohortPay: its organization is on the `kohortpay` version."""
    org = await make_organization(db, name="Boutique KohortPay", api_version=KOHORTPAY)
    return await configured(client, org)


@pytest.fixture
async def woo_shop(client: httpx.AsyncClient, db: Database) -> Org:
    """A WooCommerce 1.3 shop: it recognises only `khtpay-` coupons, so its codes use KHTPAY."""
    org = await make_organization(db, name="Woo Shop", api_version=KOHORTPAY)
    return await configured(client, org, code_prefix="KHTPAY")


@pytest.fixture
async def current_shop(client: httpx.AsyncClient, db: Database) -> Org:
    return await configured(client, await make_organization(db, name="Kohort Shop"))


async def sharer(client: httpx.AsyncClient, org: Org, amount: int = 10000) -> dict[str, Any]:
    """A first buyer's order through POST /orders: the group whose code is shared."""
    response = await client.post(
        "/orders",
        json={
            "amount": amount,
            "customerEmail": email(),
            "customerFirstName": "Ana",
            "customerLastName": "Lima",
        },
        headers={**bearer(org.sk_test), "Kohort-Version": CURRENT},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def order_of(client: httpx.AsyncClient, org: Org, order_id: str) -> dict[str, Any]:
    """The order as the current version shows it (the test's own view, not the client's)."""
    response = await client.get(
        f"/orders/{order_id}", headers={**bearer(org.sk_test), "Kohort-Version": CURRENT}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def raw_post(path: str, key: str, body: bytes | None) -> dict[str, Any]:
    """httpx arguments for a POST exactly as a PHP client builds it: the given bytes, and no
    Content-Type unless there is a JSON body."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {"url": path, "content": body or b"", "headers": headers}


# --- PrestaShop 1.3 ------------------------------------------------------------------------


async def test_prestashop_validates_an_upper_cased_code_and_reads_the_level(
    client: httpx.AsyncClient, shop: Org
) -> None:
    code = (await sharer(client, shop))["paymentGroupShareId"]
    assert code.startswith("KHT-")
    response = await client.post(
        **raw_post(f"/payment-groups/{code.upper()}/validate", shop.sk_test, b'{"amount":4590}')
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["discount_type"] == "PERCENTAGE"
    value = body["current_discount_level"]["value"]
    assert isinstance(value, int | float) and not isinstance(value, bool)
    assert value == 5


async def test_prestashop_reads_error_code_for_an_unknown_code(
    client: httpx.AsyncClient, shop: Org
) -> None:
    response = await client.post(
        **raw_post("/payment-groups/KHT-DEADBEEF/validate", shop.sk_test, b'{"amount":4590}')
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def prestashop_session(code: str, cart: int) -> dict[str, Any]:
    """The body PrestaShop 1.3 posts on payment confirmation (its casing, integer metadata)."""
    return {
        "customerFirstName": "Bob",
        "customerLastName": "Martin",
        "customerEmail": email(),
        "customerPhoneNumber": "+33612345678",
        "amountTotal": 4590,
        "lineItems": [
            {
                "name": "Mug",
                "description": "Blue mug",
                "price": 1990,
                "quantity": 2,
                "type": "PRODUCT",
                "image_url": "https://shop.example/img/mug.jpg",
            },
            {"name": "Shipping", "price": 610, "quantity": 1, "type": "SHIPPING"},
        ],
        "client_reference_id": f"PS-{reference()}",
        "payment_client_reference_id": f"pay-{reference()}",
        "payment_group_share_id": code,
        "metadata": {"order_id": cart + 1, "cart_id": cart, "customer_id": 7},
    }


async def test_prestashop_registers_the_paid_order_and_it_joins_the_group(
    client: httpx.AsyncClient, shop: Org
) -> None:
    first = await sharer(client, shop)
    body = prestashop_session(first["paymentGroupShareId"], cart=55)
    response = await client.post(
        **raw_post("/checkout-sessions", shop.sk_test, json.dumps(body).encode())
    )
    assert response.status_code == 201, response.text
    session = response.json()
    assert session["id"].startswith("cs_")
    assert session["status"] == "COMPLETED"
    assert session["metadata"] == {"order_id": "56", "cart_id": "55", "customer_id": "7"}
    assert session["line_items"][0]["image_url"] == "https://shop.example/img/mug.jpg"
    order = await order_of(client, shop, "ord_" + session["payment_intent_id"][len("pi_") :])
    assert order["paymentGroupId"] == first["paymentGroupId"]
    assert order["joinError"] is None
    assert order["paymentReference"] == body["payment_client_reference_id"]


async def test_prestashop_reads_error_message_when_the_reference_is_reused(
    client: httpx.AsyncClient, shop: Org
) -> None:
    body = prestashop_session((await sharer(client, shop))["paymentGroupShareId"], cart=60)
    first = await client.post(
        **raw_post("/checkout-sessions", shop.sk_test, json.dumps(body).encode())
    )
    assert first.status_code == 201, first.text
    body["customerEmail"] = email()
    again = await client.post(
        **raw_post("/checkout-sessions", shop.sk_test, json.dumps(body).encode())
    )
    assert again.status_code == 409
    assert body["client_reference_id"] in again.json()["error"]["message"]


# --- WooCommerce 1.3 -----------------------------------------------------------------------


async def test_woocommerce_validates_a_khtpay_coupon_without_body_or_content_type(
    client: httpx.AsyncClient, woo_shop: Org
) -> None:
    code = (await sharer(client, woo_shop))["paymentGroupShareId"]
    assert code.startswith("KHTPAY-test-")
    coupon = code.lower()
    assert coupon.startswith("khtpay-")
    sent = coupon.upper().replace("-TEST-", "-test-")
    response = await client.post(
        **raw_post(f"/payment-groups/{sent}/validate", woo_shop.sk_test, None)
    )
    assert "content-type" not in response.request.headers
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["current_discount_level"]["value"] == 5
    assert body["discount_type"] == "PERCENTAGE"
    unknown = await client.post(
        **raw_post("/payment-groups/KHTPAY-test-00000000/validate", woo_shop.sk_test, None)
    )
    assert unknown.json()["error"]["code"] == "NOT_FOUND"


async def test_woocommerce_registers_a_processing_order_in_the_site_locale(
    client: httpx.AsyncClient, woo_shop: Org
) -> None:
    first = await sharer(client, woo_shop)
    body = {
        "customerFirstName": "Chloé",
        "customerLastName": "Dubois",
        "customerEmail": email(),
        "customerPhoneNumber": "0470123456",
        "clientReferenceId": f"WC-{reference()}",
        "paymentClientReferenceId": f"pi_{reference()}",
        "locale": "fr_BE",
        "amountTotal": 3500,
        "lineItems": [{"name": "Tote bag", "price": 3500, "quantity": 1, "type": "PRODUCT"}],
        "metadata": {"order_id": 812, "customer_id": 31},
        "payment_group_share_id": first["paymentGroupShareId"],
    }
    response = await client.post(
        **raw_post("/checkout-sessions", woo_shop.sk_test, json.dumps(body).encode())
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "COMPLETED"
    assert response.json()["locale"] == "fr_FR"
    order_id = "ord_" + response.json()["payment_intent_id"][len("pi_") :]
    assert (await order_of(client, woo_shop, order_id))["paymentGroupId"] == first["paymentGroupId"]


# --- Magento 2 -----------------------------------------------------------------------------


def magento_session(code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customerFirstName": "Dirk",
        "customerLastName": "Meyer",
        "customerEmail": email(),
        "customerPhone": "+41791234567",
        "successUrl": "https://magento.example/checkout/onepage/success/",
        "cancelUrl": "https://magento.example/checkout/cart/",
        "locale": "de_CH",
        "currency": "EUR",
        "amountTotal": 1998.9999999999998,
        "lineItems": [
            {"name": "Scarf", "price": 1999, "quantity": "1.0000", "type": "PRODUCT"},
        ],
        "metadata": {"quote_id": 901, "order_id": "000000123", "customer_id": None},
    }
    if code is not None:
        body["paymentGroupShareId"] = code
    return body


async def test_magento_creates_a_session_and_redirects_the_shopper_to_its_url(
    client: httpx.AsyncClient, shop: Org
) -> None:
    first = await sharer(client, shop)
    body = magento_session(first["paymentGroupShareId"])
    response = await client.post(
        **raw_post("/checkout-sessions", shop.sk_test, json.dumps(body).encode())
    )
    assert response.status_code == 201, response.text
    session = response.json()
    assert session["url"] == body["successUrl"]
    assert session["amount_total"] == 1999
    assert session["locale"] == "de_DE"
    assert session["customer_phone_number"] == "+41791234567"
    assert session["metadata"] == {"quote_id": "901", "order_id": "000000123"}
    assert session["line_items"][0]["quantity"] == 1


async def test_magento_reads_error_message_for_a_bad_amount(
    client: httpx.AsyncClient, shop: Org
) -> None:
    body = {**magento_session(), "amountTotal": 1998.5}
    response = await client.post(
        **raw_post("/checkout-sessions", shop.sk_test, json.dumps(body).encode())
    )
    assert response.status_code == 400
    assert "amount_total" in response.json()["error"]["param"]
    assert response.json()["error"]["message"]


async def completed_trio(client: httpx.AsyncClient, org: Org) -> list[dict[str, Any]]:
    """Three 19.99 € orders filling a group of three (10 %): each has 200 cents of cashback."""
    first = await sharer(client, org, amount=1999)
    orders = [first]
    for _ in range(2):
        response = await client.post(
            "/orders",
            json={
                "amount": 1999,
                "customerEmail": email(),
                "customerFirstName": "Eva",
                "customerLastName": "Roth",
                "paymentGroupShareId": first["paymentGroupShareId"],
            },
            headers={**bearer(org.sk_test), "Kohort-Version": CURRENT},
        )
        assert response.status_code == 201, response.text
        orders.append(response.json())
    completed = await order_of(client, org, orders[-1]["id"])
    assert completed["status"] == "CASHBACK_AVAILABLE"
    assert completed["amountCashback"] == 200
    return orders


async def test_magento_reads_amount_cashback_of_a_payment_intent(
    client: httpx.AsyncClient, shop: Org
) -> None:
    orders = await completed_trio(client, shop)
    pi = "pi_" + orders[1]["id"][len("ord_") :]
    response = await client.get(f"/payment-intents/{pi}", headers=bearer(shop.sk_test))
    assert response.status_code == 200, response.text
    assert response.json()["amount_cashback"] == 200


async def test_magento_credit_memo_refunds_and_the_cashback_follows(
    client: httpx.AsyncClient, shop: Org
) -> None:
    orders = await completed_trio(client, shop)
    pi = "pi_" + orders[1]["id"][len("ord_") :]
    half = {"amount": 1000.0000000000001, "payment_intent_id": pi}
    response = await client.post(**raw_post("/refunds", shop.sk_test, json.dumps(half).encode()))
    assert response.status_code == 201, response.text
    after = await client.get(f"/payment-intents/{pi}", headers=bearer(shop.sk_test))
    assert after.json()["amount_cashback"] == 100
    too_much = {"amount": 1998.9999999999998, "payment_intent_id": pi}
    refused = await client.post(**raw_post("/refunds", shop.sk_test, json.dumps(too_much).encode()))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"]
    unchanged = await client.get(f"/payment-intents/{pi}", headers=bearer(shop.sk_test))
    assert unchanged.json()["amount_cashback"] == 100


# --- A merchant's own integration of /orders (KohortPay's end-to-end test) -----------------


async def test_own_integration_registers_orders_and_reads_the_group_share_id(
    client: httpx.AsyncClient, shop: Org
) -> None:
    created = []
    code = None
    for name in ("Fay", "Gus"):
        body: dict[str, Any] = {
            "amount": 2500,
            "customerFirstName": name,
            "customerLastName": "Test",
            "customerEmail": email(),
            "clientReferenceId": f"e2e-{reference()}",
            "locale": "fr_FR",
        }
        if code is not None:
            body["paymentGroupShareId"] = code
        response = await client.post("/orders", json=body, headers=bearer(shop.sk_test))
        assert response.status_code == 201, response.text
        read = await client.get(
            f"/orders/{response.json()['id']}?expand[]=paymentGroup", headers=bearer(shop.sk_test)
        )
        assert read.status_code == 200, read.text
        order = read.json()
        assert order["status"] == "CREATED"
        assert order["payment_group"]["share_id"].startswith("KHT-")
        code = order["payment_group"]["share_id"]
        created.append(order)
    assert created[1]["payment_group_id"] == created[0]["payment_group_id"]


# --- The SDKs: 26 methods ------------------------------------------------------------------

SDK_ROUTES = {
    "POST /customers",
    "GET /customers",
    "GET /customers/{id}",
    "PATCH /customers/{id}",
    "DELETE /customers/{id}",
    "GET /payment-groups",
    "GET /payment-groups/{id}",
    "PATCH /payment-groups/{id}",
    "GET /payment-groups/{id}/participants",
    "POST /payment-groups/{id}/cancel",
    "POST /payment-groups/{id}/expire",
    "POST /payment-groups/{id}/validate",
    "POST /payment-groups",
    "POST /payment-intents",
    "GET /payment-intents",
    "GET /payment-intents/{id}",
    "POST /payment-intents/{id}/cancel",
    "POST /checkout-sessions",
    "GET /checkout-sessions",
    "GET /checkout-sessions/{id}",
    "PATCH /checkout-sessions/{id}/expire",
}
"""The routes behind the SDKs' methods (KOHORTPAY-WIRE.md §3; get by id and by code share
one route, `update` covers `deletedAt`)."""
ID = re.compile(r"^((cus|pg|pi|cs|ord)_[0-9a-f]+|KHT[A-Z]*-.*)$")


def template(url: str) -> str:
    path = url.split("?")[0]
    return "/".join("{id}" if ID.match(part) else part for part in path.split("/"))


async def test_the_sdks_twenty_six_methods_answer(client: httpx.AsyncClient, shop: Org) -> None:
    headers = bearer(shop.sk_test)
    calls: list[str] = []

    async def call(method: str, url: str, body: Any = None, status: int = 200) -> Any:
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == status, (method, url, response.text)
        calls.append(f"{method} {template(url)}")
        return response.json()

    customer = await call(
        "POST",
        "/customers",
        {"emailAddress": email(), "firstName": "Hugo", "lastName": "Weber"},
        201,
    )
    assert (await call("GET", "/customers"))["count"] >= 1
    assert (await call("GET", f"/customers/{customer['id']}"))["email_address"]
    deleted = await call(
        "PATCH", f"/customers/{customer['id']}", {"deletedAt": "2026-12-01T10:00:00.000000+01:00"}
    )
    assert deleted["deleted_at"] is not None, "soft-deleted (at the time of the request)"
    restored = await call("PATCH", f"/customers/{customer['id']}", {"deletedAt": None})
    assert restored["deleted_at"] is None
    intent = await call(
        "POST", "/payment-intents", {"amount": 4200, "customerId": customer["id"]}, 201
    )
    assert intent["id"].startswith("pi_") and intent["status"] == "SUCCEEDED"
    assert (await call("GET", "/payment-intents"))["count"] >= 1
    assert (await call("GET", f"/payment-intents/{intent['id']}"))["amount"] == 4200
    group_id = intent["payment_group_id"]
    groups = await call("GET", "/payment-groups")
    assert any(group["id"] == group_id for group in groups["data"])
    group = await call("GET", f"/payment-groups/{group_id}")
    assert group["share_id"]
    by_code = await call("GET", f"/payment-groups/{group['share_id']}")
    assert by_code["id"] == group_id
    updated = await call("PATCH", f"/payment-groups/{group_id}", {"metadata": {"campaign": "xmas"}})
    assert updated["metadata"] == {"campaign": "xmas"}
    participants = await call("GET", f"/payment-groups/{group_id}/participants")
    assert participants["data"][0]["ambassador_id"] is None
    validation = await call(
        "POST", f"/payment-groups/{group['share_id']}/validate", {"customerEmail": email()}, 201
    )
    assert validation["discount_type"] == "PERCENTAGE"
    expired = await call("POST", f"/payment-groups/{group_id}/expire", None, 201)
    assert expired["status"] == "EXPIRED"
    moved = await call(
        "POST",
        "/payment-groups",
        {"customerId": customer["id"], "paymentIntentId": intent["id"]},
        201,
    )
    assert moved["id"] != group_id and moved["status"] == "OPEN"
    canceled = await call("POST", f"/payment-groups/{moved['id']}/cancel", None, 201)
    assert canceled["status"] == "CANCELED"
    other = await call(
        "POST",
        "/payment-intents",
        {
            "amount": 3100,
            "customerEmail": email(),
            "customerFirstName": "Ida",
            "customerLastName": "Berg",
        },
        201,
    )
    assert (await call("POST", f"/payment-intents/{other['id']}/cancel", None, 201))[
        "status"
    ] == "CANCELED"
    session = await call(
        "POST",
        "/checkout-sessions",
        {
            "amountTotal": 2700,
            "customerEmail": email(),
            "customerFirstName": "Kim",
            "customerLastName": "Lee",
            "lineItems": [{"name": "Cap", "price": 2700, "quantity": 1}],
            "expiresAt": "2026-12-02T10:00:00.000000+01:00",
        },
        201,
    )
    assert (await call("GET", "/checkout-sessions"))["count"] >= 1
    assert (await call("GET", f"/checkout-sessions/{session['id']}"))["status"] == "COMPLETED"
    expire = await client.patch(f"/checkout-sessions/{session['id']}/expire", headers=headers)
    assert expire.status_code == 400
    assert expire.json()["error"]["message"] == f"Checkout session {session['id']} is not open."
    calls.append(f"PATCH {template(expire.request.url.path)}")
    gone = await call(
        "DELETE",
        f"/customers/{(await call('POST', '/customers', {'emailAddress': email()}, 201))['id']}",
    )
    assert gone["deleted_at"] is not None
    assert set(calls) == SDK_ROUTES, set(calls) ^ SDK_ROUTES


# --- The same flows in the current version answer camelCase --------------------------------


async def test_the_same_flows_answer_camel_case_in_the_current_version(
    client: httpx.AsyncClient, current_shop: Org
) -> None:
    headers = bearer(current_shop.sk_test)
    first = await sharer(client, current_shop)
    validate = await client.post(
        f"/payment-groups/{first['paymentGroupShareId']}/validate",
        json={"amount": 4590},
        headers=headers,
    )
    assert validate.status_code == 200
    assert validate.json()["discountType"] == "PERCENTAGE"
    assert validate.json()["currentDiscountLevel"]["value"] == 5
    session = await client.post(
        "/checkout-sessions",
        json={
            "customerFirstName": "Bob",
            "customerLastName": "Martin",
            "customerEmail": email(),
            "amountTotal": 4590,
            "lineItems": [{"name": "Mug", "price": 4590, "quantity": 1, "imageUrl": None}],
            "successUrl": "https://shop.example/thanks",
            "clientReferenceId": f"PS-{reference()}",
            "paymentGroupShareId": first["paymentGroupShareId"],
            "metadata": {"order_id": "56"},
        },
        headers=headers,
    )
    assert session.status_code == 201, session.text
    assert session.json()["url"] == "https://shop.example/thanks"
    assert session.json()["paymentGroupId"] == first["paymentGroupId"]
    assert session.json()["lineItems"][0]["name"] == "Mug"
    intent = session.json()["paymentIntentId"]
    refund = await client.post(
        "/refunds", json={"amount": 590, "paymentIntentId": intent}, headers=headers
    )
    assert refund.status_code == 201, refund.text
    read = await client.get(f"/payment-intents/{intent}", headers=headers)
    assert read.json()["amountRefunded"] == 590
    assert "amountCashback" in read.json()
    strict = await client.post(
        "/refunds", json={"amount": 99.5, "paymentIntentId": intent}, headers=headers
    )
    assert strict.status_code == 400

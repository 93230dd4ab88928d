"""POST /checkout-sessions: a paid order registered with its cart, as POST /orders registers
it (KohortPay-WIRE.md §2), COMPLETED at once."""

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from kohort.checkout_session.schemas import CheckoutSessionCreate
from kohort.config import Settings
from kohort.db import Database
from kohort.ids import order_id_of_payment_intent, payment_intent_id
from kohort.order.schemas import OrderCreate
from kohort.payment_intent.schemas import PaymentIntentCreate
from tests.checkout_session.api import cart, counts, create_session, post_session
from tests.customer.rows import key_record_id
from tests.factories import Org, bearer
from tests.group_settings.api import patched
from tests.order.api import (
    START,
    all_events,
    create_order,
    email,
    frozen_at,
    get_json,
    group_of,
    wire,
)
from tests.shapes import assert_error


async def test_a_session_registers_its_order_and_is_completed(
    client: httpx.AsyncClient, db: Database, org: Org, settings: Settings
) -> None:
    body = cart(
        customerPhoneNumber="+33612345678",
        clientReferenceId="cmd-1",
        paymentClientReferenceId="pay-1",
        cancelUrl="https://shop.example/cart",
        expiresAt="2031-03-05T05:06:07+01:00",
        locale="en_GB",
        metadata={"order_id": "101", "cart_id": "55"},
    )
    with frozen_at():
        response = await post_session(client, org.sk_test, body)

    assert response.status_code == 201, response.text
    session = response.json()
    order_id = order_id_of_payment_intent(session["paymentIntentId"])
    order = await get_json(client, org.sk_test, f"/orders/{order_id}")
    assert session["id"].startswith("cs_") and len(session["id"]) == 17
    assert session["paymentIntentId"] == payment_intent_id(order["id"])
    key_id = await key_record_id(db, org.sk_test)
    assert session == {
        "id": session["id"],
        "livemode": False,
        "organizationId": org.id,
        "status": "COMPLETED",
        "amountTotal": 10000,
        "currency": "EUR",
        "locale": "en_GB",
        "url": f"{settings.base_url}/r/{order['paymentGroupShareId']}",
        "lineItems": [
            {
                "name": "Teapot",
                "price": 4500,
                "quantity": 2,
                "imageUrl": None,
                "description": None,
                "type": "PRODUCT",
            },
            {
                "name": "Shipping",
                "price": 1500,
                "quantity": 1,
                "imageUrl": None,
                "description": None,
                "type": "SHIPPING",
            },
            {
                "name": "Welcome",
                "price": -500,
                "quantity": 1,
                "imageUrl": None,
                "description": None,
                "type": "DISCOUNT",
            },
        ],
        "customerId": order["customerId"],
        "customerEmail": body["customerEmail"],
        "customerFirstName": "Ada",
        "customerLastName": "Lovelace",
        "customerPhoneNumber": "+33612345678",
        "paymentIntentId": payment_intent_id(order["id"]),
        "paymentGroupId": order["paymentGroupId"],
        "paymentGroupShareId": order["paymentGroupShareId"],
        "joinError": None,
        "riskLevel": "LOW",
        "reviewStatus": None,
        "clientReferenceId": "cmd-1",
        "paymentClientReferenceId": "pay-1",
        "successUrl": None,
        "cancelUrl": "https://shop.example/cart",
        "expiresAt": "2031-03-05T04:06:07.000Z",
        "metadata": {"order_id": "101", "cart_id": "55"},
        "createdAt": wire(START),
        "createdBy": key_id,
        "updatedAt": wire(START),
        "updatedBy": key_id,
    }
    assert order["amount"] == 10000
    assert order["clientReferenceId"] == "cmd-1"
    assert order["paymentReference"] == "pay-1"
    assert order["locale"] == "en_GB"
    assert order["metadata"] == {"order_id": "101", "cart_id": "55"}
    assert order["joinError"] is None
    group = await group_of(client, org.sk_test, order)
    assert (group["status"], group["participantsCount"]) == ("OPEN", 1)
    assert await counts(db, org.id) == {
        "orders": 1,
        "groups": 1,
        "customers": 1,
        "events": 3,
        "checkout_sessions": 1,
    }
    types = sorted(e["type"] for e in await all_events(client, org.sk_test))
    assert types == ["customer.created", "order.created", "payment_group.created"]


async def test_the_url_is_the_success_url_when_given(client: httpx.AsyncClient, org: Org) -> None:
    session = await create_session(
        client, org.sk_test, successUrl="https://shop.example/thanks?order=7"
    )
    assert session["url"] == session["successUrl"] == "https://shop.example/thanks?order=7"


async def test_a_session_joins_the_group_of_its_code(client: httpx.AsyncClient, org: Org) -> None:
    sharer = await create_order(client, org.sk_test)

    session = await create_session(
        client, org.sk_test, paymentGroupShareId=sharer["paymentGroupShareId"].lower()
    )

    assert session["joinError"] is None
    assert session["paymentGroupId"] == sharer["paymentGroupId"]
    assert session["paymentGroupShareId"] == sharer["paymentGroupShareId"]
    assert session["status"] == "COMPLETED"
    order = await get_json(client, org.sk_test, f"/orders/{sharer['id']}")
    group = await group_of(client, org.sk_test, order)
    assert group["participantsCount"] == 2
    joined = await get_json(
        client, org.sk_test, "/orders", search=f"paymentGroupId:{sharer['paymentGroupId']}"
    )
    assert joined["count"] == 2
    mine = next(o for o in joined["data"] if o["id"] != sharer["id"])
    assert mine["applicationFeeAmount"] > 0, "a joiner owes the fee, as with POST /orders"


async def test_a_code_that_cannot_be_joined_still_completes_the_session(
    client: httpx.AsyncClient, org: Org
) -> None:
    sharer = await create_order(client, org.sk_test)
    same_email = sharer["customerEmail"]

    session = await create_session(
        client,
        org.sk_test,
        customerEmail=same_email,
        paymentGroupShareId=sharer["paymentGroupShareId"],
    )

    assert session["status"] == "COMPLETED"
    assert session["joinError"] is not None
    assert session["joinError"]["code"] == "EMAIL_ALREADY_USED"
    assert session["paymentGroupId"] != sharer["paymentGroupId"]
    assert session["url"].endswith(f"/r/{session['paymentGroupShareId']}"), "its own group"
    unknown = await create_session(client, org.sk_test, paymentGroupShareId="KHT-test-00000000")
    assert unknown["joinError"]["code"] == "NOT_FOUND"
    assert unknown["status"] == "COMPLETED"


async def test_snake_case_keys_are_accepted(client: httpx.AsyncClient, org: Org) -> None:
    sharer = await create_order(client, org.sk_test)
    body = {
        "amount_total": 5000,
        "customer_email": email(),
        "customerFirstName": "Ada",
        "customer_last_name": "Lovelace",
        "client_reference_id": "ps-1",
        "payment_client_reference_id": "ps-pay-1",
        "payment_group_share_id": sharer["paymentGroupShareId"],
        "line_items": [{"name": "Mug", "price": 5000, "image_url": "http://img.example/m.png"}],
        "unknownKey": "ignored",
    }
    response = await post_session(client, org.sk_test, body)
    assert response.status_code == 201, response.text
    session = response.json()
    assert session["paymentGroupId"] == sharer["paymentGroupId"]
    assert session["lineItems"][0]["imageUrl"] == "http://img.example/m.png"
    assert (session["clientReferenceId"], session["paymentClientReferenceId"]) == (
        "ps-1",
        "ps-pay-1",
    )


async def test_line_items_need_not_add_up_to_the_total(client: httpx.AsyncClient, org: Org) -> None:
    items = [
        {"name": "Card", "price": -2000, "type": "GIFT_CARD"},
        {"name": "Credit", "price": -100, "type": "STORE_CREDIT"},
        {"name": "Free", "price": 0},
    ]
    session = await create_session(client, org.sk_test, amountTotal=777, lineItems=items)
    assert [i["price"] for i in session["lineItems"]] == [-2000, -100, 0]
    assert session["amountTotal"] == 777
    empty = await create_session(client, org.sk_test, lineItems=[])
    assert empty["lineItems"] == []


def _item(**overrides: Any) -> dict[str, Any]:
    return {"name": "Teapot", "price": 4500, **overrides}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lineItems": [_item(price=-1)]}, "lineItems"),
        ({"lineItems": [_item(price=-1, type="SHIPPING")]}, "lineItems"),
        ({"lineItems": [_item(quantity=2, type="SHIPPING")]}, "lineItems"),
        ({"lineItems": [_item(quantity=2, type="DISCOUNT", price=-5)]}, "lineItems"),
        ({"lineItems": [_item(quantity=0)]}, "lineItems[0].quantity"),
        ({"lineItems": [_item(quantity="2")]}, "lineItems[0].quantity"),
        ({"lineItems": [_item(price="4500")]}, "lineItems[0].price"),
        ({"lineItems": [_item(price=45.5)]}, "lineItems[0].price"),
        ({"lineItems": [{"price": 100}]}, "lineItems[0].name"),
        ({"lineItems": [_item(name="")]}, "lineItems[0].name"),
        ({"lineItems": [_item(name="x" * 256)]}, "lineItems[0].name"),
        ({"lineItems": [_item(name="Tea\npot")]}, "lineItems[0].name"),
        ({"lineItems": [{"name": "Teapot"}]}, "lineItems[0].price"),
        ({"lineItems": [_item(type="COUPON")]}, "lineItems[0].type"),
        ({"lineItems": [_item(imageUrl="ftp://img.example/x.png")]}, "lineItems[0].imageUrl"),
        ({"lineItems": [_item(imageUrl="img.example/x.png")]}, "lineItems[0].imageUrl"),
        (
            {"lineItems": [_item(imageUrl="https://img.example/" + "x" * 2030)]},
            "lineItems[0].imageUrl",
        ),
        ({"lineItems": [_item(description="x" * 1001)]}, "lineItems[0].description"),
        ({"lineItems": [_item()] * 101}, "lineItems"),
        ({"lineItems": {"name": "Teapot"}}, "lineItems"),
        ({"amountTotal": 0}, "amountTotal"),
        ({"amountTotal": "10000"}, "amountTotal"),
        ({"amountTotal": None}, "amountTotal"),
        ({"currency": "USD"}, "currency"),
        ({"successUrl": "javascript:alert(1)"}, "successUrl"),
        ({"cancelUrl": "https://"}, "cancelUrl"),
        ({"expiresAt": "tomorrow"}, "expiresAt"),
        ({"customerEmail": "not-an-email"}, "customerEmail"),
        ({"clientReferenceId": ""}, "clientReferenceId"),
        ({"metadata": {"k": "v" * 501}}, "metadata"),
    ],
)
async def test_an_invalid_body_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, org: Org, overrides: dict[str, Any], field: str
) -> None:
    before = await counts(db, org.id)
    response = await post_session(client, org.sk_test, cart(**overrides))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"].startswith(field), error
    assert await counts(db, org.id) == before


async def test_a_missing_amount_total_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    body = cart()
    del body["amountTotal"]
    body["amount"] = 10000
    error = assert_error(await post_session(client, org.sk_test, body), 400, "VALIDATION_ERROR")
    assert error["param"] == "amountTotal"


async def test_the_rules_of_post_orders_apply(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await patched(client, org, {"minPurchaseValue": 5000})
    before = await counts(db, org.id)
    low = await post_session(client, org.sk_test, cart(amountTotal=4999))
    assert_error(low, 400, "AMOUNT_TOO_LOW", param="amountTotal")
    nameless = await post_session(client, org.sk_test, cart(customerLastName=None))
    assert_error(nameless, 400, "VALIDATION_ERROR", param="customerLastName")
    unknown = await post_session(client, org.sk_test, cart(customerId="cus_00000000000000"))
    assert_error(unknown, 404, "NOT_FOUND")
    assert await counts(db, org.id) == before


async def test_a_blocked_customer_cannot_check_out(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    blocked = await client.patch(
        f"/customers/{order['customerId']}/block", headers=bearer(org.sk_test)
    )
    assert blocked.status_code == 200, blocked.text
    before = await counts(db, org.id)
    response = await post_session(client, org.sk_test, cart(customerId=order["customerId"]))
    assert_error(response, 400, "CUSTOMER_BLOCKED")
    assert await counts(db, org.id) == before


async def test_a_client_reference_id_is_used_once(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    first = await create_session(client, org.sk_test, clientReferenceId="cmd-9")
    before = await counts(db, org.id)

    again = await post_session(client, org.sk_test, cart(clientReferenceId="cmd-9"))
    assert_error(again, 409, "CLIENT_REFERENCE_ID_EXISTS", param="clientReferenceId")
    await create_order(client, org.sk_test, clientReferenceId="ord-9")
    of_an_order = await post_session(client, org.sk_test, cart(clientReferenceId="ord-9"))
    assert_error(of_an_order, 409, "CLIENT_REFERENCE_ID_EXISTS")

    assert (await counts(db, org.id))["checkout_sessions"] == before["checkout_sessions"]
    live = await create_session(client, org.sk_live, clientReferenceId="cmd-9")
    assert live["id"] != first["id"], "the other mode is another scope"


async def test_an_idempotent_retry_replays_the_first_answer(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    body = cart()
    with frozen_at(START) as clock:
        first = await post_session(client, org.sk_test, body, **{"Idempotency-Key": "cs-1"})
        clock.shift(5)
        again = await post_session(client, org.sk_test, body, **{"Idempotency-Key": "cs-1"})

    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await counts(db, org.id) == {
        "orders": 1,
        "groups": 1,
        "customers": 1,
        "events": 3,
        "checkout_sessions": 1,
    }
    other = await post_session(client, org.sk_test, cart(), **{"Idempotency-Key": "cs-1"})
    assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")


async def test_a_publishable_key_cannot_create_a_session(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    response = await post_session(client, org.pk_test, cart())
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    no_key = await client.post("/checkout-sessions", json=cart())
    assert_error(no_key, 401, no_key.json()["error"]["code"])
    assert (await counts(db, org.id))["checkout_sessions"] == 0


def _property(model: type[BaseModel], name: str) -> dict[str, Any]:
    found: dict[str, Any] = dict(model.model_json_schema()["properties"][name])
    found.pop("title", None)
    return found


@pytest.mark.parametrize("model", [CheckoutSessionCreate, PaymentIntentCreate])
def test_the_fields_shared_with_orders_have_the_order_rules(model: type[BaseModel]) -> None:
    """A session's and a payment intent's order fields are `OrderCreate`'s, rule for rule."""
    renamed = {"amountTotal": "amount", "paymentClientReferenceId": "paymentReference"}
    order_fields = OrderCreate.model_json_schema()["properties"]
    shared = [
        n for n in model.model_json_schema()["properties"] if renamed.get(n, n) in order_fields
    ]
    assert len(shared) >= 8
    for name in shared:
        assert _property(model, name) == _property(OrderCreate, renamed.get(name, name)), name

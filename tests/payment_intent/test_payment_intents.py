"""Payment intents (`pi_…`), a view of orders: `pi_X` is the order `ord_X` (KohortPay-WIRE.md
§2). Read, list, create (from a checkout session or as a new paid order), cancel."""

from typing import Any

import httpx

from kohort.db import Database
from kohort.ids import payment_intent_id
from tests.checkout_session.api import PAYMENT_INTENT_FIELDS, counts, create_session
from tests.customer.rows import key_record_id
from tests.factories import Org, bearer, make_customer
from tests.group_settings.api import levels, patched
from tests.order.api import START, create_order, email, frozen_at, get_json, group_of, wire
from tests.shapes import assert_error


async def post_intent(
    client: httpx.AsyncClient, key: str, body: Any, **headers: str
) -> httpx.Response:
    return await client.post("/payment-intents", json=body, headers={**bearer(key), **headers})


def shopper(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": 8000,
        "customerEmail": email(),
        "customerFirstName": "Grace",
        "customerLastName": "Hopper",
    }
    body.update(overrides)
    return body


async def test_an_order_reads_as_its_payment_intent(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at(START):
        order = await create_order(
            client, org.sk_test, clientReferenceId="c-1", metadata={"a": "b"}
        )

    intent = await get_json(
        client, org.sk_test, f"/payment-intents/{payment_intent_id(order['id'])}"
    )

    assert intent == {
        "id": "pi_" + order["id"].removeprefix("ord_"),
        "livemode": False,
        "organizationId": org.id,
        "status": "SUCCEEDED",
        "amount": order["amount"],
        "amountCashback": None,
        "amountRefunded": 0,
        "currency": "EUR",
        "orderId": order["id"],
        "checkoutSessionId": None,
        "customerId": order["customerId"],
        "paymentGroupId": order["paymentGroupId"],
        "clientReferenceId": "c-1",
        "metadata": {"a": "b"},
        "canceledAt": None,
        "createdAt": wire(START),
        "updatedAt": wire(START),
    }


async def test_a_checkout_session_has_its_payment_intent(
    client: httpx.AsyncClient, org: Org
) -> None:
    session = await create_session(client, org.sk_test)
    intent = await get_json(client, org.sk_test, f"/payment-intents/{session['paymentIntentId']}")
    assert intent["checkoutSessionId"] == session["id"]
    assert intent["amount"] == session["amountTotal"]
    assert intent["paymentGroupId"] == session["paymentGroupId"]


async def test_amount_cashback_is_the_orders(client: httpx.AsyncClient, org: Org) -> None:
    await patched(client, org, {"discountLevels": levels((2, 5)), "maxParticipants": 2})
    sharer = await create_order(client, org.sk_test, amount=10000)
    friend = await create_order(
        client, org.sk_test, amount=3000, paymentGroupShareId=sharer["paymentGroupShareId"]
    )
    intent = await get_json(
        client, org.sk_test, f"/payment-intents/{payment_intent_id(friend['id'])}"
    )
    assert intent["amountCashback"] == 150
    first = await get_json(
        client, org.sk_test, f"/payment-intents/{payment_intent_id(sharer['id'])}"
    )
    assert first["amountCashback"] == 500


async def test_an_unknown_payment_intent_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    intent = payment_intent_id(order["id"])
    for key, intent_id in (
        (org.sk_test, "pi_00000000000000"),
        (org.sk_test, order["id"]),
        (org.sk_test, "cs_00000000000000"),
        (org.sk_live, intent),
        (other_org.sk_test, intent),
    ):
        response = await client.get(f"/payment-intents/{intent_id}", headers=bearer(key))
        error = assert_error(response, 404, "NOT_FOUND", param="id")
        assert intent_id in error["message"]


async def test_the_list_pages_and_filters(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at(START) as clock:
        made = []
        for amount in (1000, 2000, 3000):
            made.append(await create_order(client, org.sk_test, amount=amount))
            clock.shift(1)
    await create_order(client, org.sk_live)
    ids = [payment_intent_id(o["id"]) for o in reversed(made)]

    first = await get_json(client, org.sk_test, "/payment-intents", take=2)
    rest = await get_json(client, org.sk_test, "/payment-intents", take=2, skip=2)

    assert first["count"] == rest["count"] == 3
    assert [i["id"] for i in first["data"] + rest["data"]] == ids
    assert all(set(i) == PAYMENT_INTENT_FIELDS for i in first["data"])
    by_amount = await get_json(client, org.sk_test, "/payment-intents", search="amount>=2000")
    assert by_amount["count"] == 2
    by_order = await get_json(
        client, org.sk_test, "/payment-intents", search=f"orderId:{made[0]['id']}"
    )
    assert [i["id"] for i in by_order["data"]] == [ids[-1]]
    unknown = await client.get(
        "/payment-intents", params={"search": "colour:red"}, headers=bearer(org.sk_test)
    )
    assert_error(unknown, 400, "VALIDATION_ERROR", param="search")


async def test_creating_one_registers_a_paid_order(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    with frozen_at(START):
        response = await post_intent(
            client, org.sk_test, shopper(clientReferenceId="m-1", metadata={"order_id": "7"})
        )

    assert response.status_code == 201, response.text
    intent = response.json()
    assert set(intent) == PAYMENT_INTENT_FIELDS
    assert (intent["status"], intent["amount"], intent["checkoutSessionId"]) == (
        "SUCCEEDED",
        8000,
        None,
    )
    order = await get_json(client, org.sk_test, f"/orders/{intent['orderId']}")
    assert intent["id"] == payment_intent_id(order["id"])
    assert (order["clientReferenceId"], order["metadata"]) == ("m-1", {"order_id": "7"})
    assert order["createdBy"] == await key_record_id(db, org.sk_test)
    assert order["joinError"] is None
    group = await group_of(client, org.sk_test, order)
    assert group["participantsCount"] == 1


async def test_payment_group_id_is_the_group_to_join(
    client: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    sharer = await create_order(client, org.sk_test)
    by_id = await post_intent(client, org.sk_test, shopper(paymentGroupId=sharer["paymentGroupId"]))
    by_code = await post_intent(
        client, org.sk_test, shopper(paymentGroupId=sharer["paymentGroupShareId"])
    )
    assert by_id.status_code == by_code.status_code == 201, by_id.text
    assert (
        by_id.json()["paymentGroupId"]
        == by_code.json()["paymentGroupId"]
        == sharer["paymentGroupId"]
    )
    joined = await get_json(client, org.sk_test, f"/groups/{sharer['paymentGroupId']}")
    assert joined["participantsCount"] == 3

    before = await counts(db, org.id)
    foreign = await create_order(client, other_org.sk_test)
    for group in ("pg_00000000000000", foreign["paymentGroupId"], foreign["paymentGroupShareId"]):
        response = await post_intent(client, org.sk_test, shopper(paymentGroupId=group))
        assert_error(response, 404, "NOT_FOUND", param="paymentGroupId")
    live = await post_intent(client, org.sk_live, shopper(paymentGroupId=sharer["paymentGroupId"]))
    assert_error(live, 404, "NOT_FOUND", param="paymentGroupId")
    assert await counts(db, org.id) == before


async def test_the_rules_of_post_orders_apply(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    customer = await make_customer(client, org.sk_test)
    by_customer = await post_intent(
        client, org.sk_test, {"amount": 100, "customerId": customer["id"]}
    )
    assert by_customer.status_code == 201, by_customer.text
    assert by_customer.json()["customerId"] == customer["id"]
    await create_order(client, org.sk_test, clientReferenceId="dup")
    before = await counts(db, org.id)
    reused = await post_intent(client, org.sk_test, shopper(clientReferenceId="dup"))
    assert_error(reused, 409, "CLIENT_REFERENCE_ID_EXISTS")
    nameless = await post_intent(client, org.sk_test, {"amount": 100, "customerEmail": email()})
    assert_error(nameless, 400, "VALIDATION_ERROR")
    for amount in (0, "100", 10.5, None):
        invalid = await post_intent(client, org.sk_test, shopper(amount=amount))
        assert_error(invalid, 400, "VALIDATION_ERROR", param="amount")
    assert await counts(db, org.id) == before


async def test_a_checkout_sessions_payment_intent_is_not_created_twice(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    session = await create_session(client, org.sk_test)
    before = await counts(db, org.id)

    response = await post_intent(
        client,
        org.sk_test,
        {"amount": session["amountTotal"], "checkout_session_id": session["id"], "metadata": {}},
    )

    assert response.status_code == 201, response.text
    intent = response.json()
    assert intent["id"] == session["paymentIntentId"]
    assert intent["checkoutSessionId"] == session["id"]
    assert intent == await get_json(client, org.sk_test, f"/payment-intents/{intent['id']}")
    assert await counts(db, org.id) == before


async def test_a_checkout_session_amount_must_match(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    session = await create_session(client, org.sk_test, amountTotal=10000)
    before = await counts(db, org.id)

    wrong = await post_intent(
        client, org.sk_test, {"amount": 9999, "checkoutSessionId": session["id"]}
    )
    error = assert_error(wrong, 400, "AMOUNT_MISMATCH", param="amount")
    assert "9999" in error["message"] and "10000" in error["message"]
    for key, session_id in ((org.sk_test, "cs_00000000000000"), (org.sk_live, session["id"])):
        missing = await post_intent(client, key, {"amount": 10000, "checkoutSessionId": session_id})
        assert_error(missing, 404, "NOT_FOUND", param="checkoutSessionId")
    assert await counts(db, org.id) == before


async def test_an_idempotent_retry_creates_one_order(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    body = shopper()
    first = await post_intent(client, org.sk_test, body, **{"Idempotency-Key": "pi-1"})
    again = await post_intent(client, org.sk_test, body, **{"Idempotency-Key": "pi-1"})
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json()
    assert (await counts(db, org.id))["orders"] == 1
    other = await post_intent(client, org.sk_test, shopper(), **{"Idempotency-Key": "pi-1"})
    assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")


async def test_cancel_cancels_the_order(client: httpx.AsyncClient, org: Org) -> None:
    session = await create_session(client, org.sk_test)
    url = f"/payment-intents/{session['paymentIntentId']}/cancel"

    with frozen_at(START):
        response = await client.post(url, headers=bearer(org.sk_test))

    assert response.status_code == 200, response.text
    intent = response.json()
    assert set(intent) == PAYMENT_INTENT_FIELDS
    assert (intent["status"], intent["canceledAt"]) == ("CANCELED", wire(START))
    assert intent["checkoutSessionId"] == session["id"]
    order = await get_json(client, org.sk_test, f"/orders/{intent['orderId']}")
    assert order["status"] == "CANCELED"
    group = await get_json(client, org.sk_test, f"/groups/{session['paymentGroupId']}")
    assert group["status"] == "CANCELED", "its last member left"
    again = await client.post(url, headers=bearer(org.sk_test))
    assert_error(again, 400, "ORDER_ALREADY_CANCELED")
    canceled = await get_json(client, org.sk_test, "/payment-intents", search="canceledAt!null")
    assert [i["id"] for i in canceled["data"]] == [intent["id"]]


async def test_cancelling_an_unknown_payment_intent_is_not_found(
    client: httpx.AsyncClient, org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    for key, intent_id in (
        (org.sk_test, "pi_00000000000000"),
        (org.sk_test, order["id"]),
        (org.sk_live, payment_intent_id(order["id"])),
    ):
        response = await client.post(f"/payment-intents/{intent_id}/cancel", headers=bearer(key))
        assert_error(response, 404, "NOT_FOUND", param="id")
    still = await get_json(client, org.sk_test, f"/orders/{order['id']}")
    assert still["status"] == "CREATED"


async def test_payment_intents_need_a_secret_key(client: httpx.AsyncClient, org: Org) -> None:
    order = await create_order(client, org.sk_test)
    intent = payment_intent_id(order["id"])
    for method, path in (
        ("GET", "/payment-intents"),
        ("GET", f"/payment-intents/{intent}"),
        ("POST", f"/payment-intents/{intent}/cancel"),
    ):
        response = await client.request(method, path, headers=bearer(org.pk_test))
        assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    created = await post_intent(client, org.pk_test, shopper())
    assert_error(created, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")

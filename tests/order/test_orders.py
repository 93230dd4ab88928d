"""POST /orders, GET /orders, GET /orders/{id} (API.md §2.2, DOMAIN.md §4, §9)."""

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kohort.db import Database
from kohort.models import Event
from tests.factories import Org, bearer, make_customer
from tests.group_settings.api import patched
from tests.order.api import (
    ORDER_FIELDS,
    START,
    all_events,
    buyer,
    create_order,
    email,
    frozen_at,
    get_json,
    group_of,
    post_order,
    row_counts,
)
from tests.shapes import (
    CUSTOMER_FIELDS,
    GROUP_FIELDS,
    ORGANIZATION_FIELDS,
    TIMESTAMP,
    assert_error,
)

KEY_ID = re.compile(r"^key_[0-9a-f]{14}$")


async def test_created_order_has_every_field_and_opens_a_group(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = buyer(
        amount=12345,
        customerPhoneNumber="+33612345678",
        clientReferenceId="cmd-1",
        metadata={"cartId": "c-9", "snake_key": "v"},
    )
    with frozen_at():
        response = await post_order(client, org.sk_test, body)
    assert response.status_code == 201, response.text
    order = response.json()
    assert set(order) == ORDER_FIELDS
    assert order["id"].startswith("ord_") and re.fullmatch(r"ord_[0-9a-f]{14}", order["id"])
    assert order["livemode"] is False
    assert order["organizationId"] == org.id
    assert order["amount"] == 12345
    assert order["amountCashback"] is None
    assert order["applicationFeeAmount"] == 0
    assert order["currency"] == "EUR"
    assert order["locale"] == "fr_FR"
    assert order["status"] == "CREATED"
    assert order["customerId"].startswith("cus_")
    assert order["customerEmail"] == body["customerEmail"]
    assert order["customerFirstName"] == "Ada"
    assert order["customerLastName"] == "Lovelace"
    assert order["customerPhoneNumber"] == "+33612345678"
    assert order["clientReferenceId"] == "cmd-1"
    assert order["riskLevel"] == "LOW" and order["riskReasons"] == []
    assert order["joinError"] is None
    assert order["metadata"] == {"cartId": "c-9", "snake_key": "v"}
    assert order["createdAt"] == order["updatedAt"] == "2031-03-04T05:06:07.890Z"
    assert TIMESTAMP.match(order["createdAt"])
    assert KEY_ID.match(order["createdBy"]) and order["updatedBy"] == order["createdBy"]

    group = await group_of(client, org.sk_test, order)
    assert set(group) == GROUP_FIELDS
    assert group["id"] == order["paymentGroupId"]
    assert group["shareId"] == order["paymentGroupShareId"]
    assert re.fullmatch(r"KHT-test-[0-9A-F]{8}", group["shareId"])
    assert group["customerId"] == order["customerId"]
    assert group["creatorEmail"] == order["customerEmail"]
    assert group["status"] == "OPEN"
    assert group["participantsCount"] == 1
    # test mode: 10 minutes by default
    assert group["expiresAt"] == "2031-03-04T05:16:07.890Z"


async def test_snake_case_body_and_live_mode(client: httpx.AsyncClient, org: Org) -> None:
    address = email()
    response = await post_order(
        client,
        org.sk_live,
        {
            "amount": 500,
            "customer_email": address,
            "customer_first_name": "Grace",
            "customer_last_name": "Hopper",
            "locale": "en_GB",
            "client_reference_id": "ref-live",
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["livemode"] is True
    assert order["locale"] == "en_GB"
    assert order["clientReferenceId"] == "ref-live"
    assert order["customerEmail"] == address
    assert re.fullmatch(r"KHT-[0-9A-F]{8}", order["paymentGroupShareId"])


async def test_joiner_pays_the_application_fee_with_vat(
    client: httpx.AsyncClient, org: Org
) -> None:
    creator = await create_order(client, org.sk_test, amount=10000)
    assert creator["applicationFeeAmount"] == 0
    code = creator["paymentGroupShareId"]
    expected = {2000: 240, 3333: 400, 4999: 600, 1: 0, 5: 1, 4: 0, 15: 2}
    # 15 cents: fee 1.5 → 2, VAT 0.4 → 0; 5 cents: 0.5 → 1, VAT 0.2 → 0; 4: 0.4 → 0
    for amount, fee in expected.items():
        joiner = await create_order(client, org.sk_test, amount=amount, paymentGroupShareId=code)
        assert joiner["joinError"] is None, joiner
        assert joiner["paymentGroupId"] == creator["paymentGroupId"]
        assert joiner["applicationFeeAmount"] == fee, (amount, joiner)


async def test_locale_is_validated(client: httpx.AsyncClient, org: Org) -> None:
    response = await post_order(client, org.sk_test, buyer(locale="pt_PT"))
    assert_error(response, 400, "VALIDATION_ERROR")
    order = await create_order(client, org.sk_test, locale="en_US")
    assert order["locale"] == "en_US"


async def test_customer_found_by_id(client: httpx.AsyncClient, org: Org) -> None:
    customer = await make_customer(
        client, org.sk_test, firstName="Marie", lastName="Curie", phoneNumber="+33600000001"
    )
    before = len(await all_events(client, org.sk_test))
    order = await create_order(
        client,
        org.sk_test,
        customerId=customer["id"],
        customerEmail=None,
        customerFirstName=None,
        customerLastName=None,
    )
    assert order["customerId"] == customer["id"]
    assert order["customerEmail"] == customer["emailAddress"]
    assert order["customerFirstName"] == "Marie"
    assert order["customerLastName"] == "Curie"
    assert order["customerPhoneNumber"] == "+33600000001"
    types = [e["type"] for e in (await all_events(client, org.sk_test))[before:]]
    assert types == ["order.created", "payment_group.created"]


async def test_customer_found_by_email_in_any_case(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    address = email()
    first = await create_order(client, org.sk_test, customerEmail=address)
    second = await create_order(
        client, org.sk_test, customerEmail=address.upper(), customerFirstName="Other"
    )
    assert second["customerId"] == first["customerId"]
    assert second["customerEmail"] == first["customerEmail"] == address
    customers = await get_json(client, org.sk_test, "/customers")
    assert customers["count"] == 1
    types = [e["type"] for e in await all_events(client, org.sk_test)]
    assert types.count("customer.created") == 1
    assert (await row_counts(db, org.id))["customers"] == 1


async def test_new_customer_is_created_with_an_event(client: httpx.AsyncClient, org: Org) -> None:
    body = buyer(customerPhoneNumber="+33611111111", locale="en_US")
    response = await post_order(client, org.sk_test, body)
    assert response.status_code == 201, response.text
    order = response.json()
    customer = await get_json(client, org.sk_test, f"/customers/{order['customerId']}")
    assert set(customer) == CUSTOMER_FIELDS
    assert customer["emailAddress"] == body["customerEmail"]
    assert customer["firstName"] == "Ada" and customer["lastName"] == "Lovelace"
    assert customer["phoneNumber"] == "+33611111111"
    assert customer["locale"] == "en_US"
    events = await all_events(client, org.sk_test)
    assert [e["type"] for e in events] == [
        "customer.created",
        "order.created",
        "payment_group.created",
    ]
    assert events[0]["data"] == customer
    assert events[1]["data"] == order


async def test_a_new_customer_joining_gets_its_event_before_the_orders(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    code = (await create_order(client, org.sk_test))["paymentGroupShareId"]
    before = len(await all_events(client, org.sk_test))
    joiner = await create_order(client, org.sk_test, paymentGroupShareId=code)
    assert joiner["joinError"] is None and joiner["paymentGroupShareId"] == code
    # in the order they were appended (their seq, the order the worker fans them out in)
    async with db.read() as session:
        stmt = select(Event).where(Event.organization_id == org.id).order_by(Event.seq)
        events = (await session.execute(stmt)).scalars().all()[before:]
    # two members reach the default program's first level
    assert [e.type for e in events] == [
        "customer.created",
        "order.created",
        "payment_group.joined",
        "payment_group.level_unlocked",
    ]
    assert events[0].data["id"] == joiner["customerId"]
    assert events[1].data["id"] == joiner["id"]
    assert events[2].data["participantsCount"] == 2


async def test_soft_deleted_customer_is_restored_by_an_order(
    client: httpx.AsyncClient, org: Org
) -> None:
    customer = await make_customer(client, org.sk_test, firstName="A", lastName="B")
    deleted = await client.delete(f"/customers/{customer['id']}", headers=bearer(org.sk_test))
    assert deleted.status_code == 200, deleted.text
    assert (await get_json(client, org.sk_test, "/customers"))["count"] == 0
    order = await create_order(client, org.sk_test, customerEmail=customer["emailAddress"])
    assert order["customerId"] == customer["id"]
    restored = await get_json(client, org.sk_test, f"/customers/{customer['id']}")
    assert restored["deletedAt"] is None
    assert (await get_json(client, org.sk_test, "/customers"))["count"] == 1


async def test_unknown_customer_id_is_404(
    client: httpx.AsyncClient, org: Org, other_org: Org, db: Database
) -> None:
    foreign = await make_customer(client, other_org.sk_test)
    live = await make_customer(client, org.sk_live)
    before = await row_counts(db, org.id)
    for customer_id in ("cus_00000000000000", foreign["id"], live["id"]):
        response = await post_order(client, org.sk_test, {"amount": 100, "customerId": customer_id})
        assert_error(response, 404, "NOT_FOUND")
    assert await row_counts(db, org.id) == before


@pytest.mark.parametrize(
    "missing",
    [
        {"customerEmail": None},
        {"customerFirstName": None},
        {"customerLastName": None},
        {"customerEmail": None, "customerFirstName": None, "customerLastName": None},
    ],
)
async def test_neither_customer_id_nor_email_and_names_is_400(
    client: httpx.AsyncClient, org: Org, db: Database, missing: dict[str, Any]
) -> None:
    body = {k: v for k, v in buyer().items() if k not in missing}
    response = await post_order(client, org.sk_test, body)
    assert_error(response, 400, "VALIDATION_ERROR")
    assert await row_counts(db, org.id) == {"orders": 0, "groups": 0, "customers": 0, "events": 0}


async def test_blocked_customer_cannot_order_and_nothing_is_written(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    customer = await make_customer(client, org.sk_test, firstName="A", lastName="B")
    blocked = await client.patch(f"/customers/{customer['id']}/block", headers=bearer(org.sk_test))
    assert blocked.status_code == 200, blocked.text
    creator = await create_order(client, org.sk_test)
    before = await row_counts(db, org.id)
    by_id = await post_order(client, org.sk_test, {"amount": 100, "customerId": customer["id"]})
    assert_error(by_id, 400, "CUSTOMER_BLOCKED")
    by_email = await post_order(
        client,
        org.sk_test,
        buyer(
            customerEmail=customer["emailAddress"].upper(),
            paymentGroupShareId=creator["paymentGroupShareId"],
        ),
    )
    assert_error(by_email, 400, "CUSTOMER_BLOCKED")
    assert await row_counts(db, org.id) == before
    group = await group_of(client, org.sk_test, creator)
    assert group["participantsCount"] == 1


async def test_amount_below_the_organization_minimum(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patched(client, org, {"minPurchaseValue": 5000})
    before = await row_counts(db, org.id)
    response = await post_order(client, org.sk_test, buyer(amount=4999))
    assert_error(response, 400, "AMOUNT_TOO_LOW", param="amount")
    assert await row_counts(db, org.id) == before
    assert (await create_order(client, org.sk_test, amount=5000))["amount"] == 5000
    # the live mode's settings are its own
    assert (await create_order(client, org.sk_live, amount=1))["amount"] == 1


@pytest.mark.parametrize("amount", [0, -1, 10.5, "abc", None, True, 10**13])
async def test_amount_must_be_a_positive_integer(
    client: httpx.AsyncClient, org: Org, db: Database, amount: Any
) -> None:
    body = buyer(amount=amount)
    if amount is None:
        del body["amount"]
    response = await post_order(client, org.sk_test, body)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "amount" in error["message"]
    assert await row_counts(db, org.id) == {"orders": 0, "groups": 0, "customers": 0, "events": 0}


async def test_client_reference_id_is_unique_per_organization_and_mode(
    client: httpx.AsyncClient, org: Org, other_org: Org, db: Database
) -> None:
    first = await create_order(client, org.sk_test, clientReferenceId="cmd-42")
    before = await row_counts(db, org.id)
    again = await post_order(
        client,
        org.sk_test,
        buyer(clientReferenceId="cmd-42", paymentGroupShareId=first["paymentGroupShareId"]),
    )
    assert_error(again, 409, "CLIENT_REFERENCE_ID_EXISTS", param="clientReferenceId")
    assert await row_counts(db, org.id) == before
    assert (await group_of(client, org.sk_test, first))["participantsCount"] == 1
    live = await create_order(client, org.sk_live, clientReferenceId="cmd-42")
    foreign = await create_order(client, other_org.sk_test, clientReferenceId="cmd-42")
    assert live["clientReferenceId"] == foreign["clientReferenceId"] == "cmd-42"
    # no reference at all is never a clash
    await create_order(client, org.sk_test)
    await create_order(client, org.sk_test)


async def test_list_and_search_orders(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at() as clock:
        small = await create_order(
            client, org.sk_test, amount=1000, customerEmail="zed-1@example.com"
        )
        clock.shift(1)
        big = await create_order(
            client, org.sk_test, amount=9000, customerEmail="amy-2@example.com"
        )
        clock.shift(1)
        joiner = await create_order(
            client, org.sk_test, amount=7000, paymentGroupShareId=small["paymentGroupShareId"]
        )
        await create_order(client, org.sk_live, amount=9999)
    page = await get_json(client, org.sk_test, "/orders")
    assert page["count"] == 3
    assert [o["id"] for o in page["data"]] == [joiner["id"], big["id"], small["id"]]
    assert all(set(o) == ORDER_FIELDS for o in page["data"])
    page = await get_json(client, org.sk_test, "/orders", search="amount>5000")
    assert {o["id"] for o in page["data"]} == {big["id"], joiner["id"]}
    assert page["count"] == 2
    page = await get_json(client, org.sk_test, "/orders", search="customerEmail~amy")
    assert [o["id"] for o in page["data"]] == [big["id"]]
    page = await get_json(client, org.sk_test, "/orders", search="status:CREATED,amount<8000")
    assert {o["id"] for o in page["data"]} == {small["id"], joiner["id"]}
    page = await get_json(
        client, org.sk_test, "/orders", search=f"paymentGroupId:{small['paymentGroupId']}"
    )
    assert page["count"] == 2
    page = await get_json(client, org.sk_test, "/orders", search="status:CASHBACK_SENT")
    assert page == {"data": [], "count": 0}
    page = await get_json(client, org.sk_test, "/orders", take=1, skip=1, orderBy="amount:asc")
    assert page["count"] == 3 and [o["id"] for o in page["data"]] == [joiner["id"]]
    response = await client.get("/orders", params={"search": "nope:1"}, headers=bearer(org.sk_test))
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_get_order_with_expansions(client: httpx.AsyncClient, org: Org) -> None:
    order = await create_order(client, org.sk_test)
    plain = await get_json(client, org.sk_test, f"/orders/{order['id']}")
    assert plain == order
    expanded = await get_json(
        client,
        org.sk_test,
        f"/orders/{order['id']}",
        **{"expand[]": ["customer", "paymentGroup", "organization"]},
    )
    assert set(expanded) == ORDER_FIELDS | {"customer", "paymentGroup", "organization"}
    assert {k: expanded[k] for k in ORDER_FIELDS} == order
    assert set(expanded["customer"]) == CUSTOMER_FIELDS
    assert expanded["customer"]["id"] == order["customerId"]
    assert set(expanded["paymentGroup"]) == GROUP_FIELDS
    assert expanded["paymentGroup"]["shareId"] == order["paymentGroupShareId"]
    assert set(expanded["organization"]) == ORGANIZATION_FIELDS
    assert expanded["organization"]["id"] == org.id
    only_customer = await get_json(
        client, org.sk_test, f"/orders/{order['id']}", **{"expand[]": "customer"}
    )
    assert set(only_customer) == ORDER_FIELDS | {"customer"}
    for bad in ("customers", "paymentGroup.orders.x", "token"):
        response = await client.get(
            f"/orders/{order['id']}", params={"expand[]": bad}, headers=bearer(org.sk_test)
        )
        assert_error(response, 400, "VALIDATION_ERROR")
    response = await client.get(
        "/orders", params={"expand[]": "bogus"}, headers=bearer(org.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR")
    listed = await get_json(client, org.sk_test, "/orders", **{"expand[]": "paymentGroup"})
    assert listed["data"][0]["paymentGroup"]["id"] == order["paymentGroupId"]


async def test_other_organization_or_mode_is_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    order = await create_order(client, org.sk_test)
    for key in (org.sk_live, other_org.sk_test, other_org.sk_live):
        response = await client.get(f"/orders/{order['id']}", headers=bearer(key))
        assert_error(response, 404, "NOT_FOUND")
        assert (await get_json(client, key, "/orders"))["count"] == 0
    response = await client.get("/orders/ord_00000000000000", headers=bearer(org.sk_test))
    assert_error(response, 404, "NOT_FOUND")


async def test_publishable_key_is_403(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    order = await create_order(client, org.sk_test)
    before = await row_counts(db, org.id)
    for key in (org.pk_test, org.pk_live):
        assert_error(await post_order(client, key, buyer()), 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
        for url in ("/orders", f"/orders/{order['id']}"):
            response = await client.get(url, headers=bearer(key))
            assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert await row_counts(db, org.id) == before


async def test_idempotent_replay_creates_one_order(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    body = buyer()
    with frozen_at(START) as clock:
        first = await post_order(client, org.sk_test, body, **{"Idempotency-Key": "order-1"})
        clock.shift(5)
        again = await post_order(client, org.sk_test, body, **{"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    counts = await row_counts(db, org.id)
    assert counts == {"orders": 1, "groups": 1, "customers": 1, "events": 3}
    other = await post_order(client, org.sk_test, buyer(), **{"Idempotency-Key": "order-1"})
    assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")
    # another mode is another scope
    live = await post_order(client, org.sk_live, body, **{"Idempotency-Key": "order-1"})
    assert live.status_code == 201 and live.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("amount", ["5000", 5000.0, True, 5000.5, None])
async def test_the_amount_must_be_a_json_integer(
    client: httpx.AsyncClient, db: Database, org: Org, amount: Any
) -> None:
    before = await row_counts(db, org.id)
    response = await post_order(client, org.sk_test, buyer(amount=amount))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "amount" in error["message"]
    assert await row_counts(db, org.id) == before

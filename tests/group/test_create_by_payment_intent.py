"""POST /payment-groups with `paymentIntentId` (KohortPay's SDKs): `pi_X` names the order
`ord_X`, as an alternative to `orderId`; both given must name the same order."""

from typing import Any

import httpx
import pytest

from kohort.ids import payment_intent_id
from tests.factories import Org, bearer
from tests.order.api import PREFIXES, fetch, get_json, place_order
from tests.shapes import GROUP_FIELDS, assert_error


async def ended_alone(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    """An order whose lonely group was expired: it may open a new group."""
    order = await place_order(client, org.sk_test)
    response = await client.post(
        f"/groups/{order['paymentGroup']['id']}/expire", headers=bearer(org.sk_test)
    )
    assert response.status_code == 200, response.text
    return order


async def create(client: httpx.AsyncClient, key: str, prefix: str, body: Any) -> httpx.Response:
    return await client.post(prefix, json=body, headers=bearer(key))


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("both", [False, True])
async def test_a_group_is_created_for_the_order_of_a_payment_intent(
    client: httpx.AsyncClient, org: Org, prefix: str, both: bool
) -> None:
    order = await ended_alone(client, org)
    body = {"customer_id": order["customerId"], "payment_intent_id": payment_intent_id(order["id"])}
    if both:
        body["orderId"] = order["id"]
    response = await create(client, org.sk_test, prefix, body)
    assert response.status_code == 201, response.text
    group = response.json()
    assert set(group) == GROUP_FIELDS
    assert group["id"] != order["paymentGroup"]["id"]
    assert (group["status"], group["participantsCount"]) == ("OPEN", 1)
    assert await fetch(client, org.sk_test, group["id"]) == group
    moved = await get_json(client, org.sk_test, f"/orders/{order['id']}")
    assert moved["paymentGroupId"] == group["id"]


async def test_bad_payment_intents_are_refused_and_nothing_is_created(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    order = await ended_alone(client, org)
    other = await ended_alone(client, org)
    theirs = await ended_alone(client, other_org)
    count = (await get_json(client, org.sk_test, "/groups"))["count"]
    customer = order["customerId"]
    for intent in ("pi_0123456789abcd", order["id"], "nonsense", payment_intent_id(theirs["id"])):
        body = {"customerId": customer, "paymentIntentId": intent}
        response = await create(client, org.sk_test, "/payment-groups", body)
        assert_error(response, 404, "NOT_FOUND", param="paymentIntentId")
    different = {
        "customerId": customer,
        "orderId": order["id"],
        "paymentIntentId": payment_intent_id(other["id"]),
    }
    response = await create(client, org.sk_test, "/payment-groups", different)
    assert_error(response, 400, "VALIDATION_ERROR", param="paymentIntentId")
    neither = await create(client, org.sk_test, "/payment-groups", {"customerId": customer})
    assert_error(neither, 400, "VALIDATION_ERROR", param="orderId")
    assert (await get_json(client, org.sk_test, "/groups"))["count"] == count

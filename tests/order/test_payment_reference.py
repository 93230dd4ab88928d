"""`paymentReference` on POST /orders: the shop's payment id (a Stripe PaymentIntent), stored
and returned everywhere the Order object appears."""

from typing import Any

import httpx
import pytest

from kohort.db import Database
from tests.factories import Org
from tests.order.api import all_events, buyer, get_json, post_order, row_counts
from tests.shapes import assert_error

PAYMENT_INTENT = "pi_3MtwBwLkdIwHu7ix28a3tqPa"


async def test_the_reference_is_stored_trimmed_and_shown_everywhere(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await post_order(
        client, org.sk_test, buyer(paymentReference=f"  {PAYMENT_INTENT}\n")
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["paymentReference"] == PAYMENT_INTENT
    assert order["canceledAt"] is None
    assert await get_json(client, org.sk_test, f"/orders/{order['id']}") == order
    page = await get_json(
        client, org.sk_test, "/orders", search=f"paymentReference:{PAYMENT_INTENT}"
    )
    assert page["data"] == [order]
    group = await get_json(
        client, org.sk_test, f"/groups/{order['paymentGroupId']}", **{"expand[]": "orders"}
    )
    assert group["orders"] == [order]
    created = [e for e in await all_events(client, org.sk_test) if e["type"] == "order.created"]
    assert created[-1]["data"] == order


async def test_the_reference_is_optional_and_accepted_in_snake_case(
    client: httpx.AsyncClient, org: Org
) -> None:
    without = await post_order(client, org.sk_test, buyer())
    assert without.json()["paymentReference"] is None
    snake = await post_order(client, org.sk_test, buyer(payment_reference="ch_1"))
    assert snake.json()["paymentReference"] == "ch_1"
    explicit_null = await post_order(client, org.sk_test, buyer(paymentReference=None))
    assert explicit_null.json()["paymentReference"] is None


@pytest.mark.parametrize("reference", ["", "   ", "pi_\x071", "pi_\u2028x", "p" * 256, 42])
async def test_a_bad_reference_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, org: Org, db: Database, reference: Any
) -> None:
    before = await row_counts(db, org.id)
    response = await post_order(client, org.sk_test, buyer(paymentReference=reference))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "paymentReference" in error["message"] or error["param"] == "paymentReference"
    assert await row_counts(db, org.id) == before


async def test_the_longest_reference_is_kept_whole(client: httpx.AsyncClient, org: Org) -> None:
    reference = "pi_" + "x" * 252
    response = await post_order(client, org.sk_test, buyer(paymentReference=reference))
    assert response.status_code == 201, response.text
    assert response.json()["paymentReference"] == reference

"""GET /payouts, GET /payouts/{id}, POST /payouts/{id}/retry."""

import httpx

from kohort.config import Settings
from kohort.db import Database
from tests.factories import Org, bearer
from tests.order.api import get_json
from tests.payout.api import PAYOUT_FIELDS, completed_group, paid_by_test_batch
from tests.shapes import assert_error


async def test_payouts_are_listed_searched_and_read_per_organization_and_mode(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, other_org: Org
) -> None:
    orders = await completed_group(client, org, org.sk_test, [1000, 2000, 3000])
    await paid_by_test_batch(client, db, settings, org, orders)
    key = org.sk_test

    page = await get_json(client, key, "/payouts")
    assert page["count"] == 3
    assert sorted(p["orderId"] for p in page["data"]) == sorted(o["id"] for o in orders)
    assert all(set(p) == PAYOUT_FIELDS for p in page["data"])
    by_status = await get_json(client, key, "/payouts", search="status:paid,method:sepa_transfer")
    assert by_status["count"] == 3
    assert (await get_json(client, key, "/payouts", search="status:failed"))["count"] == 0
    assert (await get_json(client, key, "/payouts", search="method:test"))["count"] == 0
    one = await get_json(client, key, "/payouts", search=f"orderId:{orders[1]['id']}")
    assert [p["amount"] for p in one["data"]] == [200]
    created = one["data"][0]["createdAt"]
    since = await get_json(client, key, "/payouts", search=f"createdAt>={created}")
    assert sorted(p["orderId"] for p in since["data"]) == sorted(o["id"] for o in orders[1:])
    paged = await get_json(client, key, "/payouts", take=2, skip=1, orderBy="amount:asc")
    assert [p["amount"] for p in paged["data"]] == [200, 300] and paged["count"] == 3

    payout = one["data"][0]
    assert await get_json(client, key, f"/payouts/{payout['id']}") == payout
    for stranger in (org.sk_live, other_org.sk_test):
        response = await client.get(f"/payouts/{payout['id']}", headers=bearer(stranger))
        assert_error(response, 404, "NOT_FOUND", param="id")
        assert (await get_json(client, stranger, "/payouts"))["count"] == 0
        retry = await client.post(f"/payouts/{payout['id']}/retry", headers=bearer(stranger))
        assert_error(retry, 404, "NOT_FOUND", param="id")


async def test_only_a_failed_payout_can_be_retried(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    orders = await completed_group(client, org, org.sk_test, [1000, 2000])
    await paid_by_test_batch(client, db, settings, org, orders)
    paid = (await get_json(client, org.sk_test, "/payouts"))["data"][0]
    response = await client.post(f"/payouts/{paid['id']}/retry", headers=bearer(org.sk_test))
    body = assert_error(response, 400, "PAYOUT_NOT_RETRYABLE", param="id")
    assert "paid" in body["message"]
    assert (await get_json(client, org.sk_test, f"/payouts/{paid['id']}")) == paid


async def test_bad_list_queries_are_refused(client: httpx.AsyncClient, org: Org) -> None:
    for params, param in (
        ({"search": "status:lost"}, "search"),
        ({"search": "iban:FR76"}, "search"),
        ({"orderBy": "lastError:asc"}, "orderBy"),
        ({"expand[]": "order"}, "expand[]"),
    ):
        response = await client.get("/payouts", params=params, headers=bearer(org.sk_test))
        assert_error(response, 400, "VALIDATION_ERROR", param=param)
    response = await client.get("/payouts", headers=bearer(org.pk_test))
    assert response.status_code == 403

"""Calls and rows shared by the payout tests."""

from collections.abc import Sequence
from itertools import cycle
from typing import Any

import httpx
from sqlalchemy import select

from kohort.config import Settings
from kohort.db import Database
from kohort.models import Order, Payout
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import get_json, join, place_order
from tests.withdrawal.flow import TEST_IBANS, withdrawn

PAYOUT_FIELDS = frozenset(
    {
        "id",
        "object",
        "livemode",
        "orderId",
        "method",
        "amount",
        "currency",
        "status",
        "providerReference",
        "attempts",
        "lastError",
        "nextAttemptAt",
        "accountHolderName",
        "ibanMasked",
        "batchId",
        "createdAt",
        "updatedAt",
        "paidAt",
        "failedAt",
    }
)


async def completed_group(
    client: httpx.AsyncClient,
    org: Org,
    key: str,
    amounts: Sequence[int],
    references: Sequence[str | None] | None = None,
) -> list[dict[str, Any]]:
    """Orders of `amounts` in one group of exactly that size, which completes as the last one
    joins (10 % cashback); `references` are their paymentReference."""
    await patched(
        client, org, {"maxParticipants": len(amounts), "discountLevels": levels((2, 10))}, key
    )
    refs = list(references or [None] * len(amounts))
    extra = [{"paymentReference": ref} if ref else {} for ref in refs]
    creator = await place_order(client, key, amount=amounts[0], **extra[0])
    code = creator["paymentGroup"]["shareId"]
    orders = [creator]
    for amount, more in zip(amounts[1:], extra[1:], strict=True):
        orders.append(await join(client, key, code, amount=amount, **more))
    group = await get_json(client, key, f"/groups/{code}")
    assert group["status"] == "COMPLETED", group
    return [await get_json(client, key, f"/orders/{order['id']}") for order in orders]


async def order_statuses(
    client: httpx.AsyncClient, key: str, orders: list[dict[str, Any]]
) -> list[str]:
    return [(await get_json(client, key, f"/orders/{o['id']}"))["status"] for o in orders]


async def payout_of(client: httpx.AsyncClient, key: str, order_id: str) -> dict[str, Any]:
    page = await get_json(client, key, "/payouts", search=f"orderId:{order_id}")
    assert page["count"] == 1, page
    payout: dict[str, Any] = page["data"][0]
    return payout


async def patch_org(client: httpx.AsyncClient, org: Org, key: str, **body: Any) -> httpx.Response:
    return await client.patch(f"/organizations/{org.id}", json=body, headers=bearer(key))


async def stored_payouts(db: Database, organization_id: str) -> list[Payout]:
    async with db.read() as session:
        stmt = select(Payout).where(Payout.organization_id == organization_id)
        return list((await session.execute(stmt)).scalars())


async def stored_order(db: Database, order_id: str) -> Order:
    async with db.read() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return order


async def built_batch(
    client: httpx.AsyncClient, key: str, idempotency_key: str | None = None
) -> dict[str, Any]:
    """`POST /payout-batches`: the batch built now (201)."""
    headers = bearer(key) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
    response = await client.post("/payout-batches", headers=headers)
    assert response.status_code == 201, response.text
    batch: dict[str, Any] = response.json()
    return batch


async def paid_by_test_batch(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    orders: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Test mode's whole SEPA flow for `orders`: each shopper gives a test IBAN on the page,
    the batch is built now and confirmed, so every payout is paid. The confirmed batch."""
    for order, iban in zip(orders, cycle(TEST_IBANS)):
        await withdrawn(client, db, settings, order["id"], iban=iban)
    batch = await built_batch(client, org.sk_test)
    confirmed = await client.post(
        f"/payout-batches/{batch['id']}/confirm", headers=bearer(org.sk_test)
    )
    assert confirmed.status_code == 200, confirmed.text
    result: dict[str, Any] = confirmed.json()
    return result

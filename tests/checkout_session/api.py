"""Calls and stored rows shared by the checkout session and payment intent tests."""

from typing import Any

import httpx
from sqlalchemy import func, select

from kohort.db import Database
from kohort.models import CheckoutSession
from tests.factories import bearer
from tests.order.api import email, row_counts

CHECKOUT_SESSION_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "organizationId",
        "status",
        "amountTotal",
        "currency",
        "locale",
        "url",
        "lineItems",
        "customerId",
        "customerEmail",
        "customerFirstName",
        "customerLastName",
        "customerPhoneNumber",
        "paymentIntentId",
        "paymentGroupId",
        "paymentGroupShareId",
        "joinError",
        "riskLevel",
        "reviewStatus",
        "clientReferenceId",
        "paymentClientReferenceId",
        "successUrl",
        "cancelUrl",
        "expiresAt",
        "metadata",
        "createdAt",
        "createdBy",
        "updatedAt",
        "updatedBy",
    }
)
PAYMENT_INTENT_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "organizationId",
        "status",
        "amount",
        "amountCashback",
        "amountRefunded",
        "currency",
        "orderId",
        "checkoutSessionId",
        "customerId",
        "paymentGroupId",
        "clientReferenceId",
        "metadata",
        "canceledAt",
        "createdAt",
        "updatedAt",
    }
)


def cart(**overrides: Any) -> dict[str, Any]:
    """A checkout session body for a new shopper, as the PrestaShop module sends it."""
    body: dict[str, Any] = {
        "amountTotal": 10000,
        "customerEmail": email(),
        "customerFirstName": "Ada",
        "customerLastName": "Lovelace",
        "lineItems": [
            {"name": "Teapot", "price": 4500, "quantity": 2},
            {"name": "Shipping", "price": 1500, "type": "SHIPPING"},
            {"name": "Welcome", "price": -500, "type": "DISCOUNT"},
        ],
    }
    body.update(overrides)
    return body


async def post_session(
    client: httpx.AsyncClient, key: str, body: Any, **headers: str
) -> httpx.Response:
    return await client.post("/checkout-sessions", json=body, headers={**bearer(key), **headers})


async def create_session(client: httpx.AsyncClient, key: str, **overrides: Any) -> dict[str, Any]:
    response = await post_session(client, key, cart(**overrides))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    assert set(result) == CHECKOUT_SESSION_FIELDS
    return result


async def counts(db: Database, organization_id: str) -> dict[str, int]:
    """`row_counts` and the checkout sessions."""
    found = await row_counts(db, organization_id)
    async with db.read() as session:
        stmt = (
            select(func.count())
            .select_from(CheckoutSession)
            .where(CheckoutSession.organization_id == organization_id)
        )
        found["checkout_sessions"] = (await session.execute(stmt)).scalar_one()
    return found

"""Calls and shapes shared by the group route tests: groups are made through `POST /orders`."""

import secrets
from typing import Any

import httpx

from tests.factories import bearer

GROUP_FIELDS = frozenset(
    {
        "id",
        "shareId",
        "livemode",
        "organizationId",
        "customerId",
        "creatorEmail",
        "status",
        "metadata",
        "expiresAt",
        "midExpireAt",
        "jMinus2ExpireAt",
        "jPlus3StartAt",
        "reminderEmailSent",
        "createdAt",
        "createdBy",
        "updatedAt",
        "updatedBy",
        "canceledAt",
        "completedAt",
        "participantsCount",
    }
)
"""The seed's Group object, field for field, plus `participantsCount` (API.md §2.1)."""

PUBLIC_FIELDS = frozenset(
    {
        "id",
        "shareId",
        "livemode",
        "organizationId",
        "status",
        "participantsCount",
        "maxParticipants",
        "expiresAt",
        "midExpireAt",
        "jMinus2ExpireAt",
        "jPlus3StartAt",
        "createdAt",
        "canceledAt",
        "completedAt",
        "paymentGroupSettings",
    }
)
"""What a publishable key sees of a group: no e-mails, no customer ids (API.md §1.2)."""

ORDER_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "organizationId",
        "amount",
        "amountCashback",
        "applicationFeeAmount",
        "currency",
        "locale",
        "status",
        "customerId",
        "customerEmail",
        "customerFirstName",
        "customerLastName",
        "customerPhoneNumber",
        "paymentGroupId",
        "paymentGroupShareId",
        "clientReferenceId",
        "riskLevel",
        "joinError",
        "metadata",
        "createdAt",
        "createdBy",
        "updatedAt",
        "updatedBy",
    }
)

PREFIXES = ("/groups", "/payment-groups")


def email() -> str:
    return f"buyer-{secrets.token_hex(6)}@example.com"


async def place_order(
    client: httpx.AsyncClient, key: str, *, code: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """`POST /orders` (joining `code` when given), the order with its `paymentGroup` expanded."""
    body: dict[str, Any] = {
        "amount": 10_000,
        "customerEmail": email(),
        "customerFirstName": "Ada",
        "customerLastName": "Lovelace",
    }
    if code is not None:
        body["paymentGroupShareId"] = code
    body.update(overrides)
    response = await client.post(
        "/orders", params={"expand[]": "paymentGroup"}, json=body, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["paymentGroup"] is not None, order
    return order


async def new_group(client: httpx.AsyncClient, key: str, **overrides: Any) -> dict[str, Any]:
    """A new OPEN group with its creator's order alone in it."""
    order = await place_order(client, key, **overrides)
    assert order["joinError"] is None, order
    group: dict[str, Any] = order["paymentGroup"]
    assert group["status"] == "OPEN", group
    assert group["participantsCount"] == 1, group
    return group


async def join(client: httpx.AsyncClient, key: str, code: str, **overrides: Any) -> dict[str, Any]:
    """A new order that joins the group of `code` (fails the test if it does not)."""
    order = await place_order(client, key, code=code, **overrides)
    assert order["joinError"] is None, order
    return order


async def fetch(client: httpx.AsyncClient, key: str, id_or_code: str) -> dict[str, Any]:
    response = await client.get(f"/groups/{id_or_code}", headers=bearer(key))
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()
    return group


async def events(client: httpx.AsyncClient, key: str, event_type: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/events", params={"search": f"type:{event_type}", "take": 100}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def of_group(found: list[dict[str, Any]], group_id: str) -> list[dict[str, Any]]:
    """The events whose `data` is the group `group_id`."""
    return [event for event in found if event["data"].get("id") == group_id]

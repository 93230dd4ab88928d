"""Calls and shapes shared by the group settings tests."""

from typing import Any

import httpx

from tests.factories import Org, bearer

SETTINGS_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "discountType",
        "discountLevels",
        "maxParticipants",
        "minutesDuration",
        "minPurchaseValue",
        "createdAt",
        "updatedAt",
    }
)
LEVEL_FIELDS = frozenset({"id", "level", "value", "participantsToUnlock"})


def levels(*pairs: tuple[int, Any]) -> list[dict[str, Any]]:
    """`discountLevels` for a request: (participantsToUnlock, value) pairs."""
    return [{"participantsToUnlock": unlock, "value": value} for unlock, value in pairs]


def pairs(settings: dict[str, Any]) -> list[tuple[int, int, float]]:
    """(level, participantsToUnlock, value) of each level of a settings answer."""
    return [(x["level"], x["participantsToUnlock"], x["value"]) for x in settings["discountLevels"]]


def url(org: Org) -> str:
    return f"/organizations/{org.id}/payment-group-settings"


async def get(client: httpx.AsyncClient, org: Org, key: str | None = None) -> dict[str, Any]:
    response = await client.get(url(org), headers=bearer(key or org.sk_test))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch(
    client: httpx.AsyncClient, org: Org, body: Any, key: str | None = None
) -> httpx.Response:
    return await client.patch(url(org), json=body, headers=bearer(key or org.sk_test))


async def patched(
    client: httpx.AsyncClient, org: Org, body: Any, key: str | None = None
) -> dict[str, Any]:
    response = await patch(client, org, body, key)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result

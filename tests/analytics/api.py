"""Calls shared by the analytics tests."""

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.factories import bearer


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A moment of 2031 (March unless told), UTC; Paris is UTC+1 until 30 March 2031."""
    return datetime(2031, month, day, hour, minute, tzinfo=UTC)


async def analytics(client: httpx.AsyncClient, key: str, **params: str) -> dict[str, Any]:
    response = await client.get("/analytics", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def figure(value: Any, previous: Any, change: Any) -> dict[str, Any]:
    return {"value": value, "previous": previous, "change": change}

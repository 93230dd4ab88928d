"""Calls shared by the audit tests."""

from typing import Any

import httpx

from kohort.api_key.service import preview_of
from tests.factories import bearer
from tests.order.api import get_json

ENTRY_FIELDS = frozenset(
    {
        "id",
        "livemode",
        "organizationId",
        "actorType",
        "actorId",
        "actorLabel",
        "action",
        "targetType",
        "targetId",
        "changes",
        "requestId",
        "ipAddress",
        "createdAt",
    }
)


async def entries(client: httpx.AsyncClient, key: str, **params: Any) -> list[dict[str, Any]]:
    """The audit log `key` sees, oldest first."""
    page = await get_json(client, key, "/audit-log", orderBy="createdAt:asc", take=100, **params)
    assert page["count"] == len(page["data"]), page
    found: list[dict[str, Any]] = page["data"]
    assert all(set(entry) == ENTRY_FIELDS for entry in found)
    return found


async def key_id(client: httpx.AsyncClient, key: str) -> str:
    """The id of the API key `key` (found by its preview among its mode's keys)."""
    page = await get_json(client, key, "/api-keys", take=100)
    ids = [k["id"] for k in page["data"] if k["preview"] == preview_of(key)]
    assert len(ids) == 1, page
    found: str = ids[0]
    return found


async def assert_by(
    client: httpx.AsyncClient, entry: dict[str, Any], key: str, response: httpx.Response
) -> None:
    """`entry` was made by `key` in the request that answered `response`."""
    assert entry["actorType"] == "api_key"
    assert entry["actorId"] == await key_id(client, key)
    assert entry["actorLabel"] == preview_of(key)
    assert entry["requestId"] == response.headers["Request-Id"]
    assert entry["ipAddress"] == "127.0.0.1"


def send(client: httpx.AsyncClient, method: str, url: str, key: str, **kwargs: Any) -> Any:
    headers = bearer(key) | kwargs.pop("headers", {})
    return client.request(method, url, headers=headers, **kwargs)

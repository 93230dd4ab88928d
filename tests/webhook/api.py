"""Calls shared by the webhook tests: the routes, and the worker's two webhook steps."""

import secrets
from typing import Any

import httpx

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.event.jobs import fan_out
from kohort.webhook.jobs import deliver_due
from tests.factories import bearer

EVERYTHING = 10_000
"""A batch large enough for every due row the other tests left behind."""


async def create_endpoint(
    client: httpx.AsyncClient, key: str, url: str, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "events": ["*"], **fields}
    response = await client.post("/webhooks", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def secret_of(client: httpx.AsyncClient, key: str, endpoint_id: str) -> str:
    response = await client.get(f"/webhooks/{endpoint_id}/secret", headers=bearer(key))
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


async def deliveries_of(
    client: httpx.AsyncClient, key: str, endpoint_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/webhooks/{endpoint_id}/deliveries",
        params={"take": 100, "orderBy": "createdAt:asc"},
        headers=bearer(key),
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def new_event(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    """A `customer.created` event (creates a customer); returns the event."""
    email = f"hook-{secrets.token_hex(6)}@example.com"
    response = await client.post("/customers", json={"emailAddress": email}, headers=bearer(key))
    assert response.status_code == 201, response.text
    events = await client.get(
        "/events",
        params={"search": "type:customer.created", "take": 1},
        headers=bearer(key),
    )
    event: dict[str, Any] = events.json()["data"][0]
    assert event["data"]["id"] == response.json()["id"]
    return event


async def event_of(client: httpx.AsyncClient, key: str, event_id: str) -> dict[str, Any]:
    response = await client.get(f"/events/{event_id}", headers=bearer(key))
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()
    return event


async def fan_out_all(db: Database) -> int:
    return await fan_out(db, now=clock.now(), limit=EVERYTHING)


async def deliver(db: Database, settings: Settings) -> int:
    return await deliver_due(db, settings, now=clock.now(), limit=EVERYTHING)


async def work(db: Database, settings: Settings) -> None:
    """What the worker's lanes do in a second: fan out new events, send what is due."""
    await fan_out_all(db)
    await deliver(db, settings)

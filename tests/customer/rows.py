"""What the database holds, read directly (not through the API) to check what was written."""

from typing import Any

import httpx
from sqlalchemy import select

from kohort.api_key.service import hash_key, issue_key
from kohort.db import Database
from kohort.models import ApiKey, Customer, Event
from tests.factories import bearer


async def key_record_id(db: Database, key: str) -> str:
    """The `key_…` id of the API key record behind `key`."""
    async with db.read() as session:
        stmt = select(ApiKey.id).where(ApiKey.key_hash == hash_key(key))
        return (await session.execute(stmt)).scalar_one()


async def issue_secret_key(db: Database, organization_id: str, *, livemode: bool = False) -> str:
    async with db.write() as session:
        issued = await issue_key(
            session,
            organization_id=organization_id,
            livemode=livemode,
            key_type="SECRET",
            name="Second key",
            created_by=None,
        )
    return issued.key


async def stored_customers(db: Database, organization_id: str) -> list[Customer]:
    async with db.read() as session:
        stmt = (
            select(Customer)
            .where(Customer.organization_id == organization_id)
            .order_by(Customer.created_at, Customer.id)
        )
        return list((await session.execute(stmt)).scalars())


async def stored_events(db: Database, organization_id: str) -> list[Event]:
    """The organization's events in the order they were recorded (tests move the clock)."""
    async with db.read() as session:
        stmt = select(Event).where(Event.organization_id == organization_id).order_by(Event.seq)
        return list((await session.execute(stmt)).scalars())


async def create(client: httpx.AsyncClient, key: str, body: Any, **headers: str) -> httpx.Response:
    return await client.post("/customers", json=body, headers={**bearer(key), **headers})


async def fetch(client: httpx.AsyncClient, key: str, customer_id: str) -> dict[str, Any]:
    response = await client.get(f"/customers/{customer_id}", headers=bearer(key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result

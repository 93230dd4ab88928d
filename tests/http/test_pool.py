"""More concurrent requests than connections: no request holds a connection while it waits
for another, so the pool never deadlocks (a read request writes `lastUsedAt` after it)."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from kohort.config import Settings
from kohort.db import Database, create_database
from kohort.main import create_app
from tests.factories import bearer, make_organization


@pytest.fixture
async def small_pool(settings: Settings, db: Database) -> AsyncIterator[Database]:
    """Two connections (one and one overflow) to the suite's migrated database."""
    database = create_database(settings.model_copy(update={"db_pool_size": 1}))
    yield database
    await database.dispose()


async def test_first_uses_of_many_keys_at_once_on_two_connections(
    settings: Settings, small_pool: Database
) -> None:
    app = create_app(settings, database=small_pool)
    orgs = [await make_organization(small_pool) for _ in range(6)]
    keys = [key for org in orgs for key in (org.sk_test, org.sk_live)]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        responses = await asyncio.wait_for(
            asyncio.gather(*(client.get("/api-keys", headers=bearer(key)) for key in keys)),
            timeout=20,
        )
    assert [r.status_code for r in responses] == [200] * len(keys)
    for key, response in zip(keys, responses, strict=True):
        mine = [k for k in response.json()["data"] if key.endswith(k["preview"][-4:])]
        assert mine and mine[0]["lastUsedAt"] is not None

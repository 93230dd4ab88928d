"""Recently authenticated keys are remembered for `KOHORT_KEY_CACHE_SECONDS` (2 s): a revoke
or roll through this process is seen at once, one made elsewhere within that delay."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import update

from kohort import clock
from kohort.api_key.service import hash_key
from kohort.config import Settings
from kohort.db import Database
from kohort.main import create_app
from kohort.models import ApiKey
from tests.factories import Org, bearer
from tests.shapes import assert_error


async def _revoke_elsewhere(db: Database, key: str) -> None:
    """Revoke as another API process would: straight in the database."""
    async with db.write() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_key(key)).values(revoked_at=clock.now())
        )


async def test_a_revoke_through_this_process_is_seen_at_once(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await client.post("/api-keys", json={"name": "temp"}, headers=bearer(org.sk_test))
    key, key_id = created.json()["key"], created.json()["id"]
    assert (await client.get("/customers", headers=bearer(key))).status_code == 200

    revoked = await client.delete(f"/api-keys/{key_id}", headers=bearer(org.sk_test))

    assert revoked.status_code == 200
    assert_error(await client.get("/customers", headers=bearer(key)), 401, "API_KEY_REVOKED")


async def test_a_revoke_elsewhere_is_seen_within_the_cache_delay(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as traveller:
        assert (await client.get("/customers", headers=bearer(org.sk_test))).status_code == 200
        await _revoke_elsewhere(db, org.sk_test)
        traveller.shift(timedelta(seconds=1))
        remembered = await client.get("/customers", headers=bearer(org.sk_test))
        traveller.shift(timedelta(seconds=1.5))
        forgotten = await client.get("/customers", headers=bearer(org.sk_test))

    assert remembered.status_code == 200
    assert_error(forgotten, 401, "API_KEY_REVOKED")


@pytest.fixture
async def uncached_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"key_cache_seconds": 0}), database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        yield client


async def test_without_the_cache_a_revoke_elsewhere_is_seen_at_once(
    uncached_client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    assert (await uncached_client.get("/customers", headers=bearer(org.sk_test))).status_code == 200
    await _revoke_elsewhere(db, org.sk_test)
    response = await uncached_client.get("/customers", headers=bearer(org.sk_test))
    assert_error(response, 401, "API_KEY_REVOKED")


async def test_an_expired_overlap_is_refused_even_when_remembered(
    client: httpx.AsyncClient, org: Org
) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as traveller:
        created = await client.post("/api-keys", json={}, headers=bearer(org.sk_test))
        old, old_id = created.json()["key"], created.json()["id"]
        rolled = await client.post(
            f"/api-keys/{old_id}/roll", json={"expiresInSeconds": 1}, headers=bearer(org.sk_test)
        )
        assert rolled.status_code == 200
        assert (await client.get("/customers", headers=bearer(old))).status_code == 200
        traveller.shift(timedelta(seconds=1.001))
        response = await client.get("/customers", headers=bearer(old))
    assert_error(response, 401, "API_KEY_EXPIRED")


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
async def test_a_write_with_a_body_is_authenticated_from_the_cache_too(
    client: httpx.AsyncClient, db: Database, org: Org, idempotent: bool
) -> None:
    """A body is read only once its key is known good: from the cache when it can (no lookup
    on the hot path), so a revoke elsewhere shows within the same delay as for a GET."""
    created = await client.post("/api-keys", json={"name": "temp"}, headers=bearer(org.sk_test))
    key = created.json()["key"]

    def headers(n: int) -> dict[str, str]:
        extra = {"Idempotency-Key": f"cache-{idempotent}-{n}"} if idempotent else {}
        return {**bearer(key), **extra}

    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as traveller:
        assert (await client.get("/customers", headers=bearer(key))).status_code == 200
        await _revoke_elsewhere(db, key)
        traveller.shift(timedelta(seconds=1))
        remembered = await client.post(
            "/customers", json={"emailAddress": f"c1-{idempotent}@example.com"}, headers=headers(1)
        )
        traveller.shift(timedelta(seconds=1.5))
        forgotten = await client.post(
            "/customers", json={"emailAddress": f"c2-{idempotent}@example.com"}, headers=headers(2)
        )

    assert remembered.status_code == 201, remembered.text
    assert_error(forgotten, 401, "API_KEY_REVOKED")

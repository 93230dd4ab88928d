"""Idempotency keys older than 24 h are purged by the housekeeping task."""

from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from sqlalchemy import func, select

from kohort.db import Database
from kohort.http.jobs import purge_idempotency_keys
from kohort.models import IdempotencyKey
from tests.factories import Org, bearer


async def _keys_of(db: Database, org: Org) -> int:
    async with db.read() as session:
        stmt = select(func.count()).where(IdempotencyKey.organization_id == org.id)
        return int((await session.execute(stmt)).scalar_one())


async def test_purge_removes_only_expired_keys(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    start = datetime.now(UTC)
    with time_machine.travel(start - timedelta(hours=25), tick=False):
        for i in range(3):
            response = await client.post(
                "/customers",
                json={"emailAddress": f"old{i}@example.com"},
                headers={**bearer(org.sk_test), "Idempotency-Key": f"old-{i}"},
            )
            assert response.status_code == 201
    response = await client.post(
        "/customers",
        json={"emailAddress": "new@example.com"},
        headers={**bearer(org.sk_test), "Idempotency-Key": "new"},
    )
    assert response.status_code == 201
    assert await _keys_of(db, org) == 4

    removed = await purge_idempotency_keys(db)

    assert removed >= 3
    assert await _keys_of(db, org) == 1
    async with db.read() as session:
        remaining = (
            await session.execute(
                select(IdempotencyKey.key).where(IdempotencyKey.organization_id == org.id)
            )
        ).scalar_one()
    assert remaining == "new"

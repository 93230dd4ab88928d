"""A bug answers 500 with the envelope, logs the requestId, leaks nothing, writes nothing."""

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select

from kohort.config import Settings
from kohort.db import Database
from kohort.http.auth import SecretKey
from kohort.http.routing import KohortRoute, Session
from kohort.main import create_app
from kohort.models import IdempotencyKey, Organization
from kohort.organization.service import create_organization
from tests.factories import Org, bearer


class Boom(RuntimeError):
    pass


def _app_with_a_failing_route(settings: Settings, db: Database) -> FastAPI:
    """The real app plus one route whose handler writes, then fails like a bug would."""
    app = create_app(settings, database=db)
    router = APIRouter(route_class=KohortRoute)

    @router.post("/boom")
    async def boom(session: Session, auth: SecretKey) -> None:
        await create_organization(session, name="Written then rolled back")
        raise Boom("secret detail /etc/passwd line 42")

    app.include_router(router)
    return app


@pytest.fixture
async def failing_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app_with_a_failing_route(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        yield client


async def _organizations_named(db: Database, name: str) -> int:
    async with db.read() as session:
        stmt = select(func.count()).where(Organization.name == name)
        return int((await session.execute(stmt)).scalar_one())


async def test_a_bug_answers_a_clean_500_and_rolls_back(
    failing_client: httpx.AsyncClient, db: Database, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await failing_client.post("/boom", headers=bearer(org.sk_test))

    assert response.status_code == 500
    error = response.json()["error"]
    assert error == {
        "type": "api_error",
        "code": "INTERNAL_ERROR",
        "message": "An internal error occurred.",
        "param": None,
        "requestId": response.headers["Request-Id"],
    }
    assert "passwd" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.__dict__.get("request_id") == error["requestId"] for r in logged)
    assert any(r.exc_info and isinstance(r.exc_info[1], Boom) for r in logged)
    assert await _organizations_named(db, "Written then rolled back") == 0


async def test_a_500_does_not_hold_the_idempotency_key(
    failing_client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    headers = {**bearer(org.sk_test), "Idempotency-Key": "after-a-bug"}
    first = await failing_client.post("/boom", headers=headers)
    second = await failing_client.post("/boom", headers=headers)

    assert first.status_code == second.status_code == 500
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["error"]["requestId"] != first.json()["error"]["requestId"]
    async with db.read() as session:
        stmt = select(func.count()).where(IdempotencyKey.organization_id == org.id)
        assert int((await session.execute(stmt)).scalar_one()) == 0

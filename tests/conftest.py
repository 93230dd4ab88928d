"""The suite runs on SQLite, or on PostgreSQL when KOHORT_TEST_DATABASE_URL points at one.

The schema always comes from the Alembic migrations. Each test makes its own organization,
so tests never see each other's rows and need no cleanup.
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, async_playwright
from sqlalchemy import make_url

from kohort import migrations
from kohort.config import Settings
from kohort.db import Database, create_database
from kohort.main import create_app
from tests.dashboard.browsing import CHROMIUM
from tests.factories import Org, make_organization
from tests.serve import server  # noqa: F401  (a fixture: `kohort serve` in a subprocess)


def recreate_postgres_database(url: str) -> None:
    """Drop and create the database named in `url` (the server's `postgres` db is used)."""
    parsed = make_url(url)
    name = parsed.database
    assert name, "KOHORT_TEST_DATABASE_URL must name a database"
    admin = parsed.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def fresh_database_url(tmp: Path, suffix: str = "") -> str:
    """A new, empty database: a SQLite file, or a recreated PostgreSQL database."""
    base = os.environ.get("KOHORT_TEST_DATABASE_URL")
    if not base:
        return f"sqlite+aiosqlite:///{tmp / f'kohort{suffix}.db'}"
    url = make_url(base)
    url = url.set(database=f"{url.database}{suffix}")
    rendered = url.render_as_string(hide_password=False)
    recreate_postgres_database(rendered)
    return rendered


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings(database_url=fresh_database_url(data_dir), data_dir=data_dir)


@asynccontextmanager
async def migrated_database(settings: Settings) -> AsyncIterator[Database]:
    """The database of `settings`, migrated to head, disposed of on exit."""
    database = create_database(settings)
    await migrations.upgrade(database.engine)
    try:
        yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def api_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on `app` through ASGI (no server)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        yield client


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    async with migrated_database(settings) as database:
        yield database


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app) as client:
        yield client


@pytest.fixture
async def org(db: Database) -> Org:
    return await make_organization(db)


@pytest.fixture
async def other_org(db: Database) -> Org:
    return await make_organization(db, name="Other Shop")


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, headless (tests using it are marked `browsing.needs_chromium`)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
def is_postgres(settings: Settings) -> Iterator[bool]:
    yield not settings.is_sqlite

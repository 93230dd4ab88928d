"""The batch tests run on a database of their own: building batches gathers the due payouts
of every organization of the database, which must not touch the other tests' payouts."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from kohort.config import Settings
from kohort.db import Database
from kohort.main import create_app
from tests.conftest import api_client, fresh_database_url, migrated_database
from tests.factories import Org, make_organization


@pytest.fixture(scope="module")
def sepa_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("sepa")
    return Settings(
        database_url=fresh_database_url(data_dir, "_batches"), data_dir=data_dir, worker="off"
    )


@pytest.fixture(scope="module")
async def sepa_db(sepa_settings: Settings) -> AsyncIterator[Database]:
    async with migrated_database(sepa_settings) as database:
        yield database


@pytest.fixture(scope="module")
def sepa_app(sepa_settings: Settings, sepa_db: Database) -> FastAPI:
    return create_app(sepa_settings, database=sepa_db)


@pytest.fixture
async def sepa_client(sepa_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(sepa_app) as client:
        yield client


@pytest.fixture
async def shop(sepa_db: Database) -> Org:
    return await make_organization(sepa_db, name="Chez Ada")

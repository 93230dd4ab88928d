"""The webhook tests receive on http://127.0.0.1, so here `settings` (the API's and the
worker's) allow private destinations, as `make run` does; `default_settings`,
`default_client` have the setting's default: private destinations refused.

`db` may be built from these `settings`: they name the suite's one database all the same."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from kohort.config import Settings
from kohort.db import Database
from kohort.main import create_app
from tests.conftest import api_client
from tests.webhook.receiver import Receiver, running_receiver


@pytest.fixture(scope="session")
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private_destinations": True})


@pytest.fixture(scope="session")
def default_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private_destinations": False})


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db)


@pytest.fixture(scope="session")
def default_app(default_settings: Settings, db: Database) -> FastAPI:
    return create_app(default_settings, database=db)


@pytest.fixture
async def default_client(default_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(default_app) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as started:
        yield started

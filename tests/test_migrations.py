"""The Alembic migrations: up from empty, one step down and back, and in step with the models."""

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from kohort import migrations
from kohort.config import Settings
from kohort.db import create_database
from kohort.models import Base
from tests.conftest import fresh_database_url

APP_TABLES = {"organizations", "api_keys", "idempotency_keys", "customers", "events"}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    db = create_database(Settings(database_url=fresh_database_url(tmp_path, "_mig")), pooled=False)
    try:
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        assert await migrations.current_revision(db.engine) is None

        await migrations.upgrade(db.engine)
        assert await migrations.current_revision(db.engine) == migrations.head_revision()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) >= APP_TABLES

        await migrations.downgrade(db.engine, "0001")
        assert await migrations.current_revision(db.engine) == "0001"
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(_tables)
        assert "customers" not in tables
        assert "events" not in tables
        assert tables == {"organizations", "api_keys", "idempotency_keys"}

        await migrations.upgrade(db.engine)
        assert await migrations.current_revision(db.engine) == migrations.head_revision()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) >= APP_TABLES

        await migrations.downgrade(db.engine, "base")
        assert await migrations.current_revision(db.engine) is None
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
    finally:
        await db.dispose()


async def test_models_match_the_migrations(tmp_path: Path) -> None:
    db = create_database(Settings(database_url=fresh_database_url(tmp_path, "_cmp")), pooled=False)
    try:
        await migrations.upgrade(db.engine)
        async with db.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
        assert differences == []
    finally:
        await db.dispose()


async def test_the_suite_database_is_at_head(db) -> None:
    assert await migrations.current_revision(db.engine) == migrations.head_revision()

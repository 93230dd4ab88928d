"""The database layer: SQLite configured for concurrent use, write transactions IMMEDIATE."""

import sqlite3

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import IntegrityError

from kohort.config import Settings
from kohort.db import Database


@pytest.fixture
def sqlite_only(settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite pragmas and locking only apply to SQLite")


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(
    db: Database, settings: Settings, sqlite_only: None
) -> None:
    async with db.read() as session:
        journal = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
        foreign_keys = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
        busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
    assert journal == "wal"
    assert foreign_keys == 1
    assert busy == settings.sqlite_busy_timeout_ms


async def test_a_write_transaction_takes_the_write_lock_when_it_begins(
    db: Database, settings: Settings, sqlite_only: None
) -> None:
    path = make_url(settings.database_url).database
    assert path
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with db.write() as session:
            await session.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_read_transaction_does_not_block_a_writer(
    db: Database, settings: Settings, sqlite_only: None
) -> None:
    path = make_url(settings.database_url).database
    assert path
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with db.read() as session:
            await session.execute(text("SELECT count(*) FROM organizations"))
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await session.execute(
                text(
                    "INSERT INTO customers (id, organization_id, livemode, email_address, "
                    "email_key, locale, is_blocked, metadata, created_at, updated_at) VALUES "
                    "('cus_x', 'org_missing', false, 'a@b.c', 'a@b.c', 'fr_FR', false, '{}', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )

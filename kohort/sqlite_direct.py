"""SQLite on the event loop: SQLAlchemy's asyncio engine over the standard `sqlite3` module,
called directly from the greenlet SQLAlchemy runs each operation in, without aiosqlite's
thread.

aiosqlite hands every statement, fetch and commit to its own thread and waits for the answer:
each hop costs the loop a wake-up and a future (75-85 µs of CPU, more than most of our
statements take to run), and a join makes about fifty of them. A statement on an indexed
table of a local file runs in microseconds, so here it runs where it is asked for.

What would make a direct call slow is a lock, and the loop never waits on one:
* within a process, writers already queue on `kohort.db.WriterQueue` (an asyncio lock) before
  `BEGIN IMMEDIATE`, and WAL readers never wait for writers;
* against other processes (a CLI command, a second server), SQLite's own busy handler, which
  sleeps, is off (`timeout=0`): a statement refused with SQLITE_BUSY is tried again after an
  asyncio sleep (1 ms, doubling up to 50 ms), until the configured busy timeout has passed.
  A statement refused with SQLITE_BUSY has done nothing, so trying it again is safe; a COMMIT
  refused so stays pending and is tried again the same way.

Long reads (the dashboard's and the analytics' aggregates over a whole organization) would hold
the loop while they run; `kohort.db.Database.read(offload=True)` runs those on aiosqlite's
thread instead (SQLite releases the GIL while it works).
"""

import asyncio
import sqlite3
import time
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine.url import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

NAME = "kohort_direct"
"""The driver's name in a URL: `sqlite+kohort_direct:///path` (set by `kohort.db`)."""
FIRST_PAUSE_S = 0.001
LONGEST_PAUSE_S = 0.05


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _Patience:
    """How long a statement may be refused for a lock before the refusal stands."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.pause = FIRST_PAUSE_S

    def wait(self, error: sqlite3.OperationalError) -> None:
        if not _busy(error) or time.monotonic() >= self.deadline:
            raise error
        if in_greenlet():
            await_(asyncio.sleep(self.pause))
        else:
            time.sleep(self.pause)
        self.pause = min(self.pause * 2, LONGEST_PAUSE_S)


async def _nothing() -> None:
    """Awaited once per statement: SQLAlchemy's `AsyncConnection.execute` requires its driver
    to have awaited something (its check against sync drivers). Awaiting a coroutine that
    returns at once is a greenlet switch, not a trip through the event loop."""


def _show_async() -> None:
    if in_greenlet():
        await_(_nothing())


class Cursor(sqlite3.Cursor):
    connection: "Connection"

    async def _async_soft_close(self) -> None:
        """Asked of every asyncio driver's cursor by SQLAlchemy's asyncio results; rows here
        are read synchronously, whenever, so there is nothing to close early."""

    def execute(self, sql: str, parameters: Any = (), /) -> "Cursor":
        patience: _Patience | None = None
        while True:
            try:
                super().execute(sql, parameters)
                _show_async()
                return self
            except sqlite3.OperationalError as error:
                patience = patience or _Patience(self.connection.patience_s)
                patience.wait(error)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> "Cursor":
        rows = list(seq_of_parameters)
        patience: _Patience | None = None
        while True:
            try:
                super().executemany(sql, rows)
                _show_async()
                return self
            except sqlite3.OperationalError as error:
                patience = patience or _Patience(self.connection.patience_s)
                patience.wait(error)


class Connection(sqlite3.Connection):
    patience_s: float = 30.0

    def cursor(self, factory: Any = Cursor) -> Cursor:  # type: ignore[override]
        return super().cursor(factory)  # type: ignore[no-any-return]

    def commit(self) -> None:
        patience: _Patience | None = None
        while True:
            try:
                super().commit()
                return
            except sqlite3.OperationalError as error:
                patience = patience or _Patience(self.patience_s)
                patience.wait(error)


class _DBAPI:
    """The `sqlite3` module, whose connections are `Connection`s without a busy handler."""

    def __init__(self) -> None:
        self._module = sqlite3

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def connect(self, *args: Any, timeout: float = 30.0, **kwargs: Any) -> Connection:
        kwargs.pop("factory", None)
        connect: Any = sqlite3.connect
        connection: Connection = connect(*args, timeout=0, factory=Connection, **kwargs)
        connection.patience_s = timeout
        return connection


class SQLiteDialect_direct(SQLiteDialect_pysqlite):
    driver = NAME
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool


registry.register(f"sqlite.{NAME}", __name__, "SQLiteDialect_direct")

"""The hand-written limit's database calls (bench/limit.py): the fastest sane driver call on
each engine, behind one small interface.

* SQLite, `direct`: the standard `sqlite3` module called on the event loop itself; one
  connection for reads (each read one implicit WAL transaction), one for writes (`BEGIN
  IMMEDIATE`, writers queue on an asyncio lock first). SQLite's sleeping busy handler is off:
  a `BEGIN IMMEDIATE` or `COMMIT` refused with SQLITE_BUSY (Kohort's worker, in the other
  process, holds the lock) is tried again after an asyncio sleep.
* SQLite, `thread`: the same two connections, each used from a thread of its own; a request's
  whole work is one hop to that thread (what `asyncio.to_thread` costs), SQLite's own busy
  timeout waits for locks there.
* PostgreSQL: psycopg 3 async connections in autocommit (a read is one round trip, a write
  transaction `BEGIN … COMMIT`), prepared statements, a small pool of our own (`psycopg_pool`
  is not installed here): at most KOHORT_DB_POOL_SIZE connections per process, opened as
  needed.

Statements are written once with `?` placeholders. Parameters are plain Python values on both
engines: timestamps as SQLite's stored text (`YYYY-MM-DD HH:MM:SS.ffffff`, which PostgreSQL
reads as a timestamp), JSON as text, booleans as bool. Results differ by engine (text or
datetime, JSON text or objects, 0/1 or bool); `api_time`, `json_of` and `stored_time` read
either."""

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Row = tuple[Any, ...]
BUSY_TIMEOUT_S = 30.0
FIRST_PAUSE_S = 0.001
LONGEST_PAUSE_S = 0.05


def stored_time(value: datetime | str) -> str:
    """A UTC moment as SQLite stores it (SQLAlchemy's format), and as both engines compare it."""
    if isinstance(value, str):
        return value
    return f"{value:%Y-%m-%d %H:%M:%S.%f}"


def api_time(value: datetime | str | None) -> str | None:
    """A stored UTC moment as the API writes it: milliseconds (truncated), `Z`."""
    if value is None:
        return None
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:23]}Z"
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def json_of(value: Any) -> Any:
    """A JSON column's value: SQLite gives its text, psycopg the document."""
    return json.loads(value) if isinstance(value, str) else value


class Tx(Protocol):
    """Statements on one connection (inside one transaction for a write)."""

    async def one(self, sql: str, params: tuple[Any, ...]) -> Row | None: ...

    async def all(self, sql: str, params: tuple[Any, ...]) -> list[Row]: ...

    async def run(self, sql: str, params: tuple[Any, ...]) -> None: ...


Work = Callable[[Tx], Coroutine[Any, Any, T]]


class Database(Protocol):
    name: str

    async def read(self, work: Work[T]) -> T: ...

    async def write(self, work: Work[T]) -> T: ...

    async def close(self) -> None: ...


class _SqliteTx:
    """Never suspends: on SQLite every statement runs to completion where it is called."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    async def one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        row: Row | None = self.connection.execute(sql, params).fetchone()
        return row

    async def all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        return self.connection.execute(sql, params).fetchall()

    async def run(self, sql: str, params: tuple[Any, ...]) -> None:
        self.connection.execute(sql, params)


def _drive(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a `_SqliteTx` work) to its end, synchronously:
    the way one thread hop carries a whole request's statements."""
    try:
        work.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    work.close()
    raise RuntimeError("a SQLite work suspended")


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _connect(path: str, *, timeout: float) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=timeout
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class SqliteDirect:
    name = "sqlite (on the loop)"

    def __init__(self, path: str) -> None:
        self.reader = _SqliteTx(_connect(path, timeout=0))
        self.writer = _SqliteTx(_connect(path, timeout=0))
        self.lock = asyncio.Lock()

    async def read(self, work: Work[T]) -> T:
        return await work(self.reader)

    async def write(self, work: Work[T]) -> T:
        async with self.lock:
            await self._patiently("BEGIN IMMEDIATE")
            try:
                result = await work(self.writer)
                await self._patiently("COMMIT")
            except BaseException:
                self.writer.connection.execute("ROLLBACK")
                raise
            return result

    async def _patiently(self, sql: str) -> None:
        deadline, pause = time.monotonic() + BUSY_TIMEOUT_S, FIRST_PAUSE_S
        while True:
            try:
                self.writer.connection.execute(sql)
                return
            except sqlite3.OperationalError as error:
                if not _busy(error) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)

    async def close(self) -> None:
        self.reader.connection.close()
        self.writer.connection.close()


class SqliteThread:
    name = "sqlite (one thread hop)"

    def __init__(self, path: str) -> None:
        self.reader = _SqliteTx(_connect(path, timeout=BUSY_TIMEOUT_S))
        self.writer = _SqliteTx(_connect(path, timeout=BUSY_TIMEOUT_S))
        self.read_thread = ThreadPoolExecutor(1, thread_name_prefix="limit-read")
        self.write_thread = ThreadPoolExecutor(1, thread_name_prefix="limit-write")

    async def read(self, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.read_thread, _drive, work(self.reader))

    async def write(self, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.write_thread, self._transaction, work)

    def _transaction(self, work: Work[T]) -> T:
        connection = self.writer.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = _drive(work(self.writer))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return result

    async def close(self) -> None:
        self.read_thread.shutdown()
        self.write_thread.shutdown()
        self.reader.connection.close()
        self.writer.connection.close()


@cache
def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class _PgTx:
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        cursor = await self.connection.execute(_pg(sql), params, prepare=True)
        row: Row | None = await cursor.fetchone()
        return row

    async def all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        cursor = await self.connection.execute(_pg(sql), params, prepare=True)
        rows: list[Row] = await cursor.fetchall()
        return rows

    async def run(self, sql: str, params: tuple[Any, ...]) -> None:
        await self.connection.execute(_pg(sql), params, prepare=True)


class Postgres:
    name = "postgresql (psycopg async)"

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo = conninfo
        self.slots = asyncio.Semaphore(size)
        self.idle: list[Any] = []
        self.opened: list[Any] = []

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        import psycopg

        async with self.slots:
            connection = self.idle.pop() if self.idle else None
            if connection is None:
                connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                self.opened.append(connection)
            try:
                yield connection
            finally:
                if connection.broken or connection.closed:
                    self.opened.remove(connection)
                else:
                    self.idle.append(connection)

    async def read(self, work: Work[T]) -> T:
        async with self._connection() as connection:
            return await work(_PgTx(connection))

    async def write(self, work: Work[T]) -> T:
        async with self._connection() as connection, connection.transaction():
            return await work(_PgTx(connection))

    async def close(self) -> None:
        for connection in self.opened:
            await connection.close()


def open_database(url: str, *, sqlite_thread: bool, pool_size: int) -> Database:
    """The limit's database for a Kohort URL (`sqlite+aiosqlite:///path`,
    `postgresql+psycopg://…`)."""
    scheme, _, rest = url.partition("://")
    if scheme.startswith("sqlite"):
        path = rest.removeprefix("/")
        return SqliteThread(path) if sqlite_thread else SqliteDirect(path)
    if scheme.startswith("postgresql"):
        return Postgres(f"postgresql://{rest}", pool_size)
    raise SystemExit(f"bench/limit.py: unsupported database URL {url!r}")

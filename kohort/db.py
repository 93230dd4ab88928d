"""Engine and session factories, SQLite pragmas, and the read/write transaction split.

SQLite runs in WAL mode with a busy timeout; a *write* session begins its transaction with
`BEGIN IMMEDIATE` so two writers queue on the lock instead of failing mid-transaction, while
read sessions use plain deferred transactions and never block anyone. Statements run on the
event loop itself (`kohort.sqlite_direct`), except the long reads of `Database.read(offload=True)`,
which run on aiosqlite's thread. Within one process,
SQLite writers also queue on an asyncio lock first: they wait their turn in order instead of
polling the file lock with SQLite's sleeping busy handler (which makes for long tail latencies).
Background writers (the worker's outbox lanes, marked with `background_writes`) let waiting
API writers go first, for at most `BACKGROUND_PATIENCE` seconds per transaction.
The connections on the loop never checkpoint the WAL themselves (a checkpoint is the only fsync
in WAL mode with synchronous=NORMAL): a thread does it (`kohort.sqlite_checkpoint`).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Executable, Row, Select, bindparam, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from kohort import sqlite_direct
from kohort.config import Settings
from kohort.sqlite_checkpoint import Checkpointer

_WRITE_OPTION = "kohort_write"
BACKGROUND_PATIENCE = 0.25
"""Seconds a background writer waits for the API's waiting writers before it queues anyway
(so the outbox lanes still move under a steady stream of requests)."""
_BACKGROUND: ContextVar[bool] = ContextVar("kohort_background_writes", default=False)


@contextlib.contextmanager
def background_writes() -> Iterator[None]:
    """Within this block (this task), write transactions are background work: on SQLite they
    give way to the API's waiting writers (see `WriterQueue`)."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


class WriterQueue:
    """One SQLite writer at a time in this process, in order of arrival, except that a
    background writer first waits (at most BACKGROUND_PATIENCE) until no foreground writer
    is waiting or writing."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._foreground = 0
        self._no_foreground = asyncio.Event()
        self._no_foreground.set()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if _BACKGROUND.get():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._no_foreground.wait(), BACKGROUND_PATIENCE)
            async with self._lock:
                yield
            return
        self._foreground += 1
        self._no_foreground.clear()
        try:
            async with self._lock:
                yield
        finally:
            self._foreground -= 1
            if not self._foreground:
                self._no_foreground.set()


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    is_sqlite: bool
    offloaded_reads: async_sessionmaker[AsyncSession] | None = None
    """SQLite only: sessions whose statements run on a thread (aiosqlite), for long reads."""
    offloaded_engine: AsyncEngine | None = None
    checkpointer: Checkpointer | None = None
    """SQLite on the loop, in a file: the thread that checkpoints its WAL."""
    _writer: WriterQueue = field(default_factory=WriterQueue, repr=False)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: commits when the block ends, rolls back on any exception.
        Never open one inside another (on SQLite the second would wait for the first)."""
        async with self._serialised(), _unit(self.write_sessions) as session:
            yield session

    @asynccontextmanager
    async def transaction(self, *, writes: bool) -> AsyncIterator[AsyncSession]:
        context = self.write() if writes else self.read()
        async with context as session:
            yield session

    @asynccontextmanager
    async def _serialised(self) -> AsyncIterator[None]:
        if not self.is_sqlite:
            yield
            return
        async with self._writer.turn():
            yield

    @asynccontextmanager
    async def read(self, *, offload: bool = False) -> AsyncIterator[AsyncSession]:
        """One read transaction. `offload`: its statements may take long (aggregates over an
        organization's history); on SQLite they run on a thread so the loop goes on serving."""
        sessions = (offload and self.offloaded_reads) or self.read_sessions
        async with _unit(sessions) as session:
            yield session

    async def dispose(self) -> None:
        if self.checkpointer is not None:
            await asyncio.to_thread(self.checkpointer.stop)
        await self.engine.dispose()
        if self.offloaded_engine is not None:
            await self.offloaded_engine.dispose()


LOOP_PASSES = 2
"""How many times a transaction's end lets the loop's other tasks run (as the shielded close of
`async with session` did): on SQLite the statements run on the loop, so without it a worker's
sweep of many transactions, or a request from its idempotency claim to its answer, would hold
the loop from start to end. Measured (wrk, 32 connections, GET /groups/{id} on SQLite, worker
off, 4 rounds of 4 s): p99 286-372 ms with no pass on reads, 119-165 ms with one, 61-121 ms
with two."""


@asynccontextmanager
async def _unit(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A new session's one transaction: begun by its first statement, committed when the block
    ends, rolled back (by the close) on any exception. Neither `async with session` nor
    `session.begin()`, which do the same at a price: the first closes the session in a task of
    its own behind `asyncio.shield`, the second begins in a greenlet of its own (together 80 µs
    of CPU, measured, on a GET that costs 1 ms)."""
    session = sessions()
    try:
        yield session
        await session.commit()
    finally:
        await session.close()
        for _ in range(LOOP_PASSES):
            await asyncio.sleep(0)


def in_mode(model: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The scope of a statement built once for one organization's mode: `model`'s rows whose
    `organization_id` and `livemode` are the parameters of those names, bound per call. (A
    statement built once costs a request neither its building nor its cache key.)"""
    return (
        model.organization_id == bindparam("organization_id"),
        model.livemode == bindparam("livemode"),
    )


_Columns = TypeVarTuple("_Columns")


async def core_first(
    session: AsyncSession, stmt: Select[*_Columns], params: dict[str, Any] | None = None
) -> Row[*_Columns] | None:
    """The first row of a Core statement, or None, run on the session's connection in its
    transaction but not through the ORM (no ORM row processing, no identity map): for the hot
    path's reads of a whole row, in one hop into SQLAlchemy. (A read of a few columns gains
    nothing over `session.execute`: measured on the join's risk reads, it costs more calls.)"""
    return await session.run_sync(lambda sync: sync.connection().execute(stmt, params).first())


async def core_execute(
    session: AsyncSession, stmt: Executable, params: list[dict[str, Any]]
) -> None:
    """A Core statement run for its effect on the session's connection, in its transaction,
    with one parameter set per row (an executemany when there are several), not through the
    ORM: for the hot path's writes of rows the session does not hold."""
    await session.run_sync(lambda sync: sync.connection().execute(stmt, params))


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int | None) -> None:
    """`busy_timeout_ms`: SQLite's own (sleeping) busy handler, for a connection off the loop;
    None on the loop, where `kohort.sqlite_direct` waits for locks asynchronously."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        if busy_timeout_ms is not None:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if busy_timeout_ms is None:
            # On the loop: a Checkpointer thread checkpoints instead (kohort.sqlite_checkpoint).
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def create_database(settings: Settings, *, pooled: bool = True) -> Database:
    url = make_url(settings.database_url)
    is_sqlite = url.get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = {}
    if is_sqlite:
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": settings.sqlite_busy_timeout_ms / 1000}
    in_memory = is_sqlite and url.database in (None, "", ":memory:")
    if pooled and not in_memory:
        kwargs.update(pool_size=settings.db_pool_size, max_overflow=settings.db_pool_size)
    elif not pooled:
        kwargs["poolclass"] = NullPool
    offloaded: AsyncEngine | None = None
    if is_sqlite and url.get_driver_name() == "aiosqlite":
        if not in_memory:
            offloaded = create_async_engine(url, **kwargs)
            _configure_sqlite(offloaded, settings.sqlite_busy_timeout_ms)
        url = url.set(drivername=f"sqlite+{sqlite_direct.NAME}")
    engine = create_async_engine(url, pool_pre_ping=not is_sqlite, **kwargs)
    checkpointer: Checkpointer | None = None
    if is_sqlite:
        direct = url.get_driver_name() == sqlite_direct.NAME
        _configure_sqlite(engine, None if direct else settings.sqlite_busy_timeout_ms)
        if direct and not in_memory and url.database:
            checkpointer = Checkpointer(url.database)
            checkpointer.start()
    write_engine = engine.execution_options(**{_WRITE_OPTION: True})
    return Database(
        engine=engine,
        read_sessions=async_sessionmaker(engine, expire_on_commit=False),
        write_sessions=async_sessionmaker(write_engine, expire_on_commit=False),
        is_sqlite=is_sqlite,
        offloaded_reads=(
            None if offloaded is None else async_sessionmaker(offloaded, expire_on_commit=False)
        ),
        offloaded_engine=offloaded,
        checkpointer=checkpointer,
    )

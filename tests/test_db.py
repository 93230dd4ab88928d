"""The database layer: SQLite configured for concurrent use, write transactions IMMEDIATE."""

import asyncio
import contextlib
import itertools
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import TextClause, make_url, text
from sqlalchemy.exc import IntegrityError, OperationalError

from kohort.config import Settings
from kohort.db import (
    BACKGROUND_PATIENCE,
    Database,
    WriterQueue,
    background_writes,
    create_database,
)


@pytest.fixture
def sqlite_only(settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite pragmas and locking only apply to SQLite")


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(
    db: Database, settings: Settings, sqlite_only: None
) -> None:
    """On the loop SQLite's sleeping busy handler is off (kohort.sqlite_direct waits for
    locks itself) and so is the automatic WAL checkpoint (kohort.sqlite_checkpoint's thread
    checkpoints); the offloaded reads' thread keeps both."""
    for offload, expected_busy, expected_autocheckpoint in (
        (False, 0, 0),
        (True, settings.sqlite_busy_timeout_ms, 1000),
    ):
        async with db.read(offload=offload) as session:
            journal = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
            autocheckpoint = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        assert journal == "wal"
        assert foreign_keys == 1
        assert busy == expected_busy
        assert autocheckpoint == expected_autocheckpoint


def _filler(rows: int) -> TextClause:
    """Inserts `rows` rows of about one 4 KiB page each."""
    return text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)"
        " INSERT INTO filler SELECT zeroblob(4000) FROM n"
    ).bindparams(rows=rows)


async def test_commits_on_the_loop_leave_the_wal_to_the_checkpointer_thread(
    settings: Settings, sqlite_only: None, tmp_path: Path
) -> None:
    """Commits past SQLite's 1000-page threshold checkpoint nothing on the loop: the WAL keeps
    every page until a checkpoint runs; the thread that `create_database` starts runs one by
    itself, and `dispose` stops it."""
    file_settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path}/wal.db"}
    )
    quiet = create_database(file_settings)
    assert quiet.checkpointer is not None
    quiet.checkpointer.stop()  # the commits below must meet no checkpoint but SQLite's own
    try:
        async with quiet.write() as session:
            await session.execute(text("CREATE TABLE filler (payload BLOB)"))
        for _ in range(5):  # 5 x 500 pages of 4 KiB, committed one after the other
            async with quiet.write() as session:
                await session.execute(_filler(500))
        wal_pages, copied = quiet.checkpointer.checkpoint() or (0, 0)
        assert wal_pages >= 2500
        assert copied == wal_pages
    finally:
        await quiet.dispose()

    database = create_database(file_settings)
    checkpointer = database.checkpointer
    assert checkpointer is not None
    try:
        async with database.write() as session:
            await session.execute(_filler(200))
        for _ in range(100):  # its interval is 1 s
            if checkpointer.last is not None:
                break
            await asyncio.sleep(0.05)
        assert checkpointer.last is not None
        assert checkpointer.last[0] >= 200
        assert checkpointer.last[1] == checkpointer.last[0]
    finally:
        await database.dispose()
    assert not any(t.name == "kohort-checkpoint:wal.db" for t in threading.enumerate())


async def test_a_writer_waiting_for_another_process_lock_leaves_the_loop_running(
    settings: Settings, sqlite_only: None
) -> None:
    """Another process holds the write lock for a while: the write waits for it without
    holding the event loop (other coroutines go on), then succeeds."""
    path = make_url(settings.database_url).database
    assert path
    db = create_database(settings.model_copy(update={"sqlite_busy_timeout_ms": 10_000}))
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> int:
        async with db.write() as session:
            return int((await session.execute(text("SELECT 1"))).scalar_one())

    try:
        other.execute("BEGIN IMMEDIATE")
        ticking = asyncio.create_task(ticker())
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done(), "the write must wait for the other process's lock"
        seen = ticks
        other.execute("ROLLBACK")
        assert await writing == 1
        ticking.cancel()
        # a blocked loop would have run the ticker once at most in those 0.3 s
        assert seen >= 5
    finally:
        other.close()
        await db.dispose()


async def test_a_lock_held_past_the_busy_timeout_fails_the_write(
    settings: Settings, sqlite_only: None
) -> None:
    path = make_url(settings.database_url).database
    assert path
    db = create_database(settings.model_copy(update={"sqlite_busy_timeout_ms": 200}))
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            async with db.write() as session:
                await session.execute(text("SELECT 1"))
        other.execute("ROLLBACK")
        async with db.write() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        other.close()
        await db.dispose()


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


async def test_waiting_api_writers_go_before_background_writers() -> None:
    """On SQLite one writer writes at a time: a worker lane's transaction that arrives while
    an API request writes waits until the API writers queued meanwhile are done."""
    queue = WriterQueue()
    order: list[str] = []
    first_holds, release = asyncio.Event(), asyncio.Event()

    async def write(name: str, *, background: bool = False, hold: asyncio.Event | None = None):
        with background_writes() if background else contextlib.nullcontext():
            async with queue.turn():
                order.append(name)
                if hold is not None:
                    first_holds.set()
                    await hold.wait()

    api_first = asyncio.create_task(write("api 1", hold=release))
    await first_holds.wait()
    lane = asyncio.create_task(write("lane", background=True))
    await asyncio.sleep(0.01)
    api_second = asyncio.create_task(write("api 2"))
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(api_first, lane, api_second)
    assert order == ["api 1", "api 2", "lane"]


async def test_a_background_writer_is_not_starved_by_a_stream_of_api_writers() -> None:
    """Under a steady stream of API writes, a lane still writes after BACKGROUND_PATIENCE."""
    queue = WriterQueue()
    stop = asyncio.Event()
    written: list[float] = []

    requests: list[asyncio.Task[None]] = []

    async def api_stream() -> None:
        while not stop.is_set():  # a request every 20 ms, each writing for 30 ms
            requests.append(asyncio.create_task(api_write()))
            await asyncio.sleep(0.02)

    async def api_write() -> None:
        async with queue.turn():
            await asyncio.sleep(0.03)

    async def lane() -> None:
        with background_writes():
            started = asyncio.get_running_loop().time()
            async with queue.turn():
                written.append(asyncio.get_running_loop().time() - started)

    stream = asyncio.create_task(api_stream())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(lane(), timeout=10)
    stop.set()
    await stream
    await asyncio.gather(*requests)
    assert written and BACKGROUND_PATIENCE <= written[0] < BACKGROUND_PATIENCE + 1


async def test_a_write_block_commits_at_its_end_and_nothing_when_it_raises(db: Database) -> None:
    """`Database.write`: what the block wrote is there once it ends, and none of it when the
    block raises after writing (the close rolls back)."""
    name = "kohort_unit_check"
    async with db.write() as session:
        await session.execute(text(f"CREATE TABLE IF NOT EXISTS {name} (v INTEGER)"))
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await session.execute(text(f"INSERT INTO {name} (v) VALUES (1)"))
            raise RuntimeError("after the write")
    async with db.write() as session:
        await session.execute(text(f"INSERT INTO {name} (v) VALUES (2)"))
    try:
        async with db.read() as session:
            kept = (await session.execute(text(f"SELECT v FROM {name}"))).scalars().all()
        assert kept == [2]
    finally:
        async with db.write() as session:
            await session.execute(text(f"DROP TABLE {name}"))


async def test_the_loop_runs_other_tasks_between_transactions(db: Database) -> None:
    """A stream of transactions (a worker's sweep, a request's claim then its work) lets the
    loop's other tasks run at each transaction's end, although on SQLite its statements run
    on the loop and never wait."""
    passes = 0

    async def ticker() -> None:
        nonlocal passes
        while True:
            passes += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    seen: list[int] = []
    try:
        for writes in (False, True) * 5:
            async with db.transaction(writes=writes) as session:
                before = passes
                await session.execute(text("SELECT 1"))
                assert passes == before or not db.is_sqlite, "a SQLite statement never waits"
            seen.append(passes)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert all(later > earlier for earlier, later in itertools.pairwise(seen)), seen

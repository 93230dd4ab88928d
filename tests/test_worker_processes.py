"""`kohort worker` processes under load (PostgreSQL only): several at once, and one killed
mid-sweep then replaced. Either way every due group ends exactly once, with exactly one
event per state change, as one uninterrupted worker would have left it."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import text

from kohort.config import Settings
from kohort.db import Database, create_database
from tests.conftest import fresh_database_url
from tests.factories.groups import seed_due_groups

pytestmark = [pytest.mark.slow, pytest.mark.concurrency]

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3
WORKERS_GROUPS = 20_000
CRASH_GROUPS = 3_000
SWEEP_TIMEOUT = 400.0  # generous: a correctness test, not a speed test (CI shares 2 cores)


@pytest.fixture(autouse=True)
def _postgres_only(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip(
            "several `kohort worker` processes need PostgreSQL "
            "(set KOHORT_TEST_DATABASE_URL to run this test)"
        )


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KOHORT_DATABASE_URL": database_url,
        "KOHORT_DATA_DIR": str(data_dir),
        "KOHORT_WORKER_POLL_SECONDS": "0.2",
        "KOHORT_WORKER_BATCH_SIZE": "200",
        "KOHORT_LOG_LEVEL": "WARNING",
    }


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kohort.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _prepare(tmp_path: Path, suffix: str) -> tuple[dict[str, str], str]:
    """A fresh, migrated database with one organization: the workers' env and its id."""
    url = fresh_database_url(tmp_path, suffix)
    env = _env(url, tmp_path)
    _cli(env, "migrate")
    created = json.loads(_cli(env, "org", "create", "--name", "Load Shop", "--json"))
    return env, str(created["organizationId"])


class Workers:
    """`kohort worker` processes, each logging to its own file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.files: list[IO[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "kohort.cli", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.files.append(log)
        self.processes.append(process)
        return process

    def check_alive(self, *processes: subprocess.Popen[bytes]) -> None:
        """The workers still run and none has logged a failure (fail fast, with its log)."""
        for process in processes or tuple(self.processes):
            assert process.poll() is None, (process.returncode, self.output())
        _assert_clean_logs(self)

    def stop(self, process: subprocess.Popen[bytes]) -> int:
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=20)

    def output(self) -> dict[str, str]:
        for log in self.files:
            log.flush()
        return {
            path.name: path.read_text(errors="replace")
            for path in sorted(self.logs.glob("worker-*.log"))
        }

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in self.files:
            log.close()


async def _scalar(db: Database, sql: str, **params: Any) -> int:
    async with db.read() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


async def _open_groups(db: Database) -> int:
    return await _scalar(db, "SELECT count(*) FROM payment_groups WHERE status = 'OPEN'")


async def _wait_until_none_open(
    db: Database, workers: Workers, *processes: subprocess.Popen[bytes]
) -> float:
    started = time.monotonic()
    while await _open_groups(db):
        workers.check_alive(*processes)
        assert time.monotonic() - started < SWEEP_TIMEOUT, (
            f"{await _open_groups(db)} groups still OPEN after {SWEEP_TIMEOUT} s"
        )
        await asyncio.sleep(0.25)
    return time.monotonic() - started


async def _assert_ended_exactly_once(db: Database, groups: int) -> None:
    """Every group ended as its size says, once; one event per group and per cashback."""
    async with db.write() as session:
        # Fresh statistics: the sweep changed every status faster than autovacuum follows,
        # and on stale ones PostgreSQL plans the checks below as nested loops over events.
        await session.execute(text("ANALYZE"))
    assert await _scalar(db, "SELECT count(*) FROM payment_groups") == groups
    assert await _open_groups(db) == 0
    # The seed is what the test thinks it is: one order per counted member.
    assert (
        await _scalar(
            db,
            """SELECT count(*) FROM payment_groups g
               WHERE g.participants_count <> (
                   SELECT count(*) FROM orders o WHERE o.payment_group_id = g.id)""",
        )
        == 0
    )
    completed = await _scalar(
        db, "SELECT count(*) FROM payment_groups WHERE participants_count >= 2"
    )
    assert 0 < completed < groups, "the seed must have both lonely and shared groups"
    wrong_status = await _scalar(
        db,
        """SELECT count(*) FROM payment_groups
           WHERE status <> CASE WHEN participants_count >= 2 THEN 'COMPLETED'
                                ELSE 'EXPIRED' END""",
    )
    assert wrong_status == 0
    assert (
        await _scalar(
            db,
            """SELECT count(*) FROM payment_groups
               WHERE (status = 'COMPLETED') <> (completed_at IS NOT NULL)""",
        )
        == 0
    )

    ending = "type IN ('payment_group.succeeded', 'payment_group.expired')"
    assert await _scalar(db, f"SELECT count(*) FROM events WHERE {ending}") == groups
    assert (
        await _scalar(db, f"SELECT count(DISTINCT data->>'id') FROM events WHERE {ending}")
        == groups
    )
    missing = await _scalar(
        db,
        """SELECT count(*) FROM payment_groups g WHERE NOT EXISTS (
               SELECT 1 FROM events e
               WHERE e.data->>'id' = g.id
                 AND e.type = CASE WHEN g.status = 'COMPLETED' THEN 'payment_group.succeeded'
                                   ELSE 'payment_group.expired' END)""",
    )
    assert missing == 0

    members = await _scalar(
        db,
        """SELECT count(*) FROM orders o JOIN payment_groups g ON g.id = o.payment_group_id
           WHERE g.status = 'COMPLETED'""",
    )
    assert members >= 2 * completed
    cashback = "type = 'order.cashback_available'"
    assert await _scalar(db, f"SELECT count(*) FROM events WHERE {cashback}") == members
    assert (
        await _scalar(db, f"SELECT count(DISTINCT data->>'id') FROM events WHERE {cashback}")
        == members
    )
    assert (
        await _scalar(
            db,
            """SELECT count(*) FROM orders o JOIN payment_groups g ON g.id = o.payment_group_id
               WHERE g.status = 'COMPLETED' AND NOT EXISTS (
                   SELECT 1 FROM events e
                   WHERE e.type = 'order.cashback_available' AND e.data->>'id' = o.id
                     AND e.data->>'status' = 'CASHBACK_AVAILABLE')""",
        )
        == 0
    )
    not_paid = await _scalar(
        db,
        """SELECT count(*) FROM orders o JOIN payment_groups g ON g.id = o.payment_group_id
           WHERE g.status = 'COMPLETED'
             AND (o.status NOT IN ('CASHBACK_AVAILABLE', 'CASHBACK_PROCESSING', 'CASHBACK_SENT')
                  OR o.amount_cashback IS NULL OR o.amount_cashback <= 0)""",
    )
    assert not_paid == 0
    # Test mode pays by itself (the payouts lane): whatever was paid was paid once.
    paid_twice = await _scalar(
        db,
        """SELECT count(*) FROM (SELECT data->>'id' FROM events WHERE type = 'order.cashback_sent'
           GROUP BY data->>'id' HAVING count(*) > 1) AS t""",
    )
    assert paid_twice == 0
    untouched = await _scalar(
        db,
        """SELECT count(*) FROM orders o JOIN payment_groups g ON g.id = o.payment_group_id
           WHERE g.status = 'EXPIRED'
             AND (o.status <> 'CREATED' OR o.amount_cashback IS NOT NULL)""",
    )
    assert untouched == 0


def _assert_clean_logs(workers: Workers) -> None:
    for name, output in workers.output().items():
        assert "deadlock" not in output.lower(), (name, output[-4000:])
        assert "Traceback" not in output, (name, output[-4000:])


async def _seed(env: dict[str, str], organization_id: str, count: int) -> Database:
    db = create_database(Settings(database_url=env["KOHORT_DATABASE_URL"]), pooled=False)
    started = time.monotonic()
    await seed_due_groups(db, organization_id=organization_id, count=count, seed=count)
    seconds = time.monotonic() - started
    print(f"\nseeded {count} due groups in {seconds:.1f} s")
    assert await _open_groups(db) == count
    return db


async def test_several_workers_end_every_due_group_exactly_once(tmp_path: Path) -> None:
    env, organization_id = _prepare(tmp_path, "_workers")
    db = await _seed(env, organization_id, WORKERS_GROUPS)
    workers = Workers(env, tmp_path)
    try:
        started = [workers.start() for _ in range(WORKERS)]
        seconds = await _wait_until_none_open(db, workers)
        print(
            f"{WORKERS} workers ended {WORKERS_GROUPS} groups in {seconds:.1f} s "
            f"({WORKERS_GROUPS / seconds:.0f} groups/s)"
        )
        codes = [workers.stop(process) for process in started]
        assert codes == [0] * WORKERS, workers.output()
        _assert_clean_logs(workers)
        await _assert_ended_exactly_once(db, WORKERS_GROUPS)
    finally:
        workers.close()
        await db.dispose()


async def test_a_killed_worker_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    env, organization_id = _prepare(tmp_path, "_crash")
    db = await _seed(env, organization_id, CRASH_GROUPS)
    workers = Workers(env, tmp_path)
    try:
        first = workers.start()
        started = time.monotonic()
        while await _open_groups(db) > CRASH_GROUPS * 2 // 3:
            workers.check_alive(first)
            assert time.monotonic() - started < SWEEP_TIMEOUT, "the first worker ends nothing"
            await asyncio.sleep(0.05)
        first.kill()
        assert first.wait(timeout=10) == -signal.SIGKILL
        left = await _open_groups(db)
        print(f"killed the first worker with {left} of {CRASH_GROUPS} groups still OPEN")
        assert 0 < left < CRASH_GROUPS, "the kill must land mid-sweep"

        second = workers.start()
        seconds = await _wait_until_none_open(db, workers, second)
        print(f"the second worker ended the other {left} in {seconds:.1f} s")
        assert workers.stop(second) == 0, workers.output()
        _assert_clean_logs(workers)
        await _assert_ended_exactly_once(db, CRASH_GROUPS)
    finally:
        workers.close()
        await db.dispose()

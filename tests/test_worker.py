"""The worker: housekeeping, the failure backoff, stopping, and `kohort worker` as a process."""

import asyncio
import copy
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy import func, select, update

from kohort import migrations
from kohort.config import Settings
from kohort.db import Database, create_database
from kohort.models import Event, IdempotencyKey, PaymentGroup
from kohort.worker import MAX_ATTEMPTS, Failures, Worker
from tests.conftest import fresh_database_url, migrated_database
from tests.factories import Org, bearer, make_organization
from tests.factories.groups import seed_due_groups
from tests.order.api import join, new_group

ROOT = Path(__file__).resolve().parent.parent


async def _event_times(db: Database, org: Org) -> list[datetime]:
    async with db.read() as session:
        stmt = select(Event.created_at).where(Event.organization_id == org.id)
        return sorted(
            value.replace(tzinfo=UTC) if value.tzinfo is None else value
            for value in (await session.execute(stmt)).scalars()
        )


async def _key_names(db: Database, org: Org) -> set[str]:
    async with db.read() as session:
        stmt = select(IdempotencyKey.key).where(IdempotencyKey.organization_id == org.id)
        return set((await session.execute(stmt)).scalars())


async def _create_customer(client: httpx.AsyncClient, org: Org, name: str) -> None:
    response = await client.post(
        "/customers",
        json={"emailAddress": f"{name}@example.com"},
        headers={**bearer(org.sk_test), "Idempotency-Key": name},
    )
    assert response.status_code == 201, response.text


async def test_housekeeping_purges_old_events_and_idempotency_keys_only(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    now = datetime.now(UTC)
    for name, age in (
        ("days-31", timedelta(days=31)),
        ("days-29", timedelta(days=29)),
        ("hours-25", timedelta(hours=25)),
        ("hours-23", timedelta(hours=23)),
    ):
        with time_machine.travel(now - age, tick=False):
            await _create_customer(client, org, name)
    await _create_customer(client, org, "now")
    assert len(await _event_times(db, org)) == 5
    assert len(await _key_names(db, org)) == 5

    await Worker(db=db, housekeeping_seconds=600).housekeeping()

    kept = await _event_times(db, org)
    assert len(kept) == 4
    assert min(kept) > now - timedelta(days=30)
    assert await _key_names(db, org) == {"hours-23", "now"}


async def test_housekeeping_runs_again_only_after_its_interval(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    now = datetime.now(UTC)
    with time_machine.travel(now - timedelta(hours=24) + timedelta(minutes=5), tick=False):
        await _create_customer(client, org, "soon-stale")
    worker = Worker(db=db, housekeeping_seconds=600)
    with time_machine.travel(now, tick=False) as clock:
        await worker.housekeeping()
        assert await _key_names(db, org) == {"soon-stale"}
        clock.shift(timedelta(minutes=6))
        await worker.housekeeping()
        assert await _key_names(db, org) == {"soon-stale"}
        clock.shift(timedelta(minutes=4))
        await worker.housekeeping()
        assert await _key_names(db, org) == set()


def test_failures_back_off_then_set_an_item_aside() -> None:
    failures = Failures()
    now = datetime(2031, 1, 1, tzinfo=UTC)
    item = "end:pg_x"
    assert failures.ready(item, now)

    for attempt in range(1, MAX_ATTEMPTS):
        failures.failed(item, now)
        delay = timedelta(seconds=2**attempt)
        assert not failures.ready(item, now)
        assert not failures.ready(item, now + delay - timedelta(milliseconds=1))
        assert failures.ready(item, now + delay)
        assert failures.ready("end:pg_other", now)
        now += delay
    assert item not in failures.set_aside

    failures.failed(item, now)
    assert item in failures.set_aside
    assert not failures.ready(item, now + timedelta(days=365))


def test_failures_forget_an_item_that_succeeds() -> None:
    failures = Failures()
    now = datetime(2031, 1, 1, tzinfo=UTC)
    for _ in range(MAX_ATTEMPTS - 1):
        failures.failed("remind:pg_x", now)
    failures.succeeded("remind:pg_x")
    assert failures.ready("remind:pg_x", now)
    for _ in range(MAX_ATTEMPTS - 1):
        failures.failed("remind:pg_x", now)
    assert "remind:pg_x" not in failures.set_aside


async def test_run_stops_promptly_when_asked(db: Database) -> None:
    worker = Worker(db=db, poll_seconds=0.05)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)
    assert not task.done()
    worker.stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert task.exception() is None


async def test_run_stops_promptly_even_with_a_long_poll(db: Database) -> None:
    worker = Worker(db=db, poll_seconds=60)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)
    started = time.monotonic()
    worker.stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert time.monotonic() - started < 1


def _worker_env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KOHORT_DATABASE_URL": database_url,
        "KOHORT_DATA_DIR": str(data_dir),
        "KOHORT_WORKER_POLL_SECONDS": "0.1",
    }


async def _status(db: Database, group_id: str) -> str:
    async with db.read() as session:
        stmt = select(PaymentGroup.status).where(PaymentGroup.id == group_id)
        return str((await session.execute(stmt)).scalar_one())


async def test_kohort_worker_ends_a_due_group_and_exits_cleanly_on_sigterm(
    client: httpx.AsyncClient, db: Database, org: Org, settings: Settings, tmp_path: Path
) -> None:
    with time_machine.travel(datetime.now(UTC) - timedelta(minutes=11), tick=False):
        group = await new_group(client, org.sk_test)
    assert datetime.fromisoformat(group["expiresAt"].replace("Z", "+00:00")) < datetime.now(UTC)
    assert await _status(db, group["id"]) == "OPEN"

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kohort.cli",
        "worker",
        env=_worker_env(settings.database_url, tmp_path),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while await _status(db, group["id"]) == "OPEN" and time.monotonic() < deadline:
            assert process.returncode is None, await process.communicate()
            await asyncio.sleep(0.1)
        assert await _status(db, group["id"]) == "EXPIRED"

        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=5)
        assert process.returncode == 0, (out, err)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


async def _kohort_worker(env: dict[str, str]) -> tuple[int, str]:
    """Run `kohort worker` to its end: its exit code and its output, whitespace folded."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kohort.cli",
        "worker",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode is not None
    return process.returncode, " ".join(out.decode().split())


async def test_kohort_worker_refuses_a_database_behind_the_migrations(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "_behind")
    behind = create_database(Settings(database_url=url), pooled=False)
    try:
        await migrations.upgrade(behind.engine, "0001")
    finally:
        await behind.dispose()

    code, output = await _kohort_worker(_worker_env(url, tmp_path))
    assert code == 1, output
    assert "kohort migrate" in output, output
    assert "0001" in output, output


@pytest.mark.parametrize("poll", ["0", "61", "soon"])
async def test_kohort_worker_refuses_a_bad_poll_interval(
    settings: Settings, tmp_path: Path, poll: str
) -> None:
    env = {**_worker_env(settings.database_url, tmp_path), "KOHORT_WORKER_POLL_SECONDS": poll}
    code, output = await _kohort_worker(env)
    assert code != 0, output
    assert "worker_poll_seconds" in output.lower(), output


async def test_a_full_batch_is_followed_at_once_by_the_next(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    """A backlog is worked through batch after batch, not one batch per poll interval."""
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=2), tick=False):
        ids = [(await new_group(client, org.sk_test))["id"] for _ in range(7)]
    worker = Worker(db=db, batch_size=2, poll_seconds=60)

    async def all_ended() -> bool:
        async with db.read() as session:
            stmt = select(PaymentGroup.status).where(PaymentGroup.id.in_(ids))
            return set((await session.execute(stmt)).scalars()) == {"EXPIRED"}

    await _run_until(worker, all_ended, seconds=10)


async def test_a_bad_group_fails_alone_and_the_rest_of_its_batch_ends(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    """Groups end a batch per transaction; when the batch fails it is rolled back and its
    groups are ended one by one, so only the bad one is left OPEN, backed off, and counted."""
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=2), tick=False):
        groups = [await new_group(client, org.sk_test) for _ in range(5)]
        await join(client, org.sk_test, groups[2]["shareId"])
    ids = [group["id"] for group in groups]
    bad = ids[2]
    async with db.write() as session:
        # A snapshot the API could never write (percentages have two decimals at most): the
        # cashback of the group's completion cannot be computed.
        good = (
            await session.execute(select(PaymentGroup.settings).where(PaymentGroup.id == bad))
        ).scalar_one()
        snapshot = copy.deepcopy(good)
        for level in snapshot["discountLevels"]:
            level["value"] = "1.005"
        await session.execute(
            update(PaymentGroup).where(PaymentGroup.id == bad).values(settings=snapshot)
        )
    try:
        await _check_the_bad_group_fails_alone(db, org, ids, bad)
    finally:
        # The database is the whole session's: a later test's sweep must not meet this group.
        async with db.write() as session:
            await session.execute(
                update(PaymentGroup).where(PaymentGroup.id == bad).values(settings=good)
            )


async def _check_the_bad_group_fails_alone(
    db: Database, org: Org, ids: list[str], bad: str
) -> None:
    worker = Worker(db=db, batch_size=10_000)
    failures_before = _sample("kohort_worker_failures_total", kind="end")
    result = await worker.sweep()

    async with db.read() as session:
        stmt = select(PaymentGroup.id, PaymentGroup.status).where(PaymentGroup.id.in_(ids))
        statuses = {row[0]: row[1] for row in await session.execute(stmt)}
        ended_events = (
            await session.execute(
                select(Event.data["id"].as_string()).where(
                    Event.organization_id == org.id, Event.type == "payment_group.expired"
                )
            )
        ).scalars()
    assert statuses == {i: ("OPEN" if i == bad else "EXPIRED") for i in ids}
    assert sorted(ended_events) == sorted(i for i in ids if i != bad)
    assert result.failed == 1
    assert worker.failures.attempts == {f"end:{bad}": 1}
    assert f"end:{bad}" in worker.failures.retry_at
    assert _sample("kohort_worker_failures_total", kind="end") == failures_before + 1

    # Backed off: the next sweep leaves it alone instead of failing it in a hot loop.
    again = await worker.sweep()
    assert again.failed == 0
    assert worker.failures.attempts == {f"end:{bad}": 1}


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_worker_lanes_are_read_from_a_comma_separated_list() -> None:
    assert Settings(worker_lanes="groups, mail").worker_lanes == {"groups", "mail"}  # type: ignore[arg-type]
    assert Settings().worker_lanes == {
        "groups",
        "dispatch",
        "webhooks",
        "mail",
        "payouts",
        "payout_batches",
    }
    with pytest.raises(ValidationError):
        Settings(worker_lanes="groups,bogus")  # type: ignore[arg-type]


async def test_a_worker_does_only_its_lanes(
    client: httpx.AsyncClient, db: Database, org: Org, settings: Settings
) -> None:
    """KOHORT_WORKER_LANES=dispatch: new events are fanned out, due groups are left alone."""
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=2), tick=False):
        group = await new_group(client, org.sk_test)
    worker = Worker(
        db=db,
        settings=settings.model_copy(update={"worker_lanes": {"dispatch"}}),
        poll_seconds=0.05,
    )

    async def dispatched() -> bool:
        async with db.read() as session:
            stmt = select(Event.dispatched_at).where(Event.organization_id == org.id)
            return all(at is not None for at in (await session.execute(stmt)).scalars())

    await _run_until(worker, dispatched, seconds=10)
    async with db.read() as session:
        status = await session.scalar(
            select(PaymentGroup.status).where(PaymentGroup.id == group["id"])
        )
    assert status == "OPEN"


async def test_other_lanes_wait_while_due_groups_are_waiting(
    tmp_path: Path, settings: Settings
) -> None:
    """In one process the lanes share one event loop (and, on SQLite, one writer): while the
    groups lane has a backlog, the others pause between their batches, so a burst of fan-out
    work cannot make groups end late. They catch up once the groups are done."""
    fresh = settings.model_copy(
        update={
            "database_url": fresh_database_url(tmp_path, "_lanes"),
            "worker_lanes": {"groups", "dispatch"},
        }
    )
    async with migrated_database(fresh) as database:
        shop = await make_organization(database)
        await seed_due_groups(database, organization_id=shop.id, count=600, members=(2, 6))
        worker = Worker(db=database, settings=fresh, batch_size=50, poll_seconds=0.05)

        async def all_done() -> bool:
            async with database.read() as session:
                open_group = select(PaymentGroup.id).where(PaymentGroup.status == "OPEN")
                undispatched = select(Event.id).where(Event.dispatched_at.is_(None))
                waiting = select(open_group.exists() | undispatched.exists())
                return not await session.scalar(waiting)

        await _run_until(worker, all_done, seconds=60)
        async with database.read() as session:
            last_end = await session.scalar(select(func.max(PaymentGroup.updated_at)))
            events = await session.scalar(select(func.count()).select_from(Event))
            early = await session.scalar(select(func.count()).where(Event.dispatched_at < last_end))
    assert events is not None and events > 40 * 50  # many batches of fan-out work
    # At most the batches in flight when the backlog was seen (one per lane round).
    assert early is not None and early <= 2 * 50, early


async def _run_until(
    worker: Worker, done: Callable[[], Awaitable[bool]], *, seconds: float
) -> None:
    """Run `worker` until `done()` holds (checked every 50 ms), then stop it."""
    task = asyncio.create_task(worker.run())

    async def wait() -> None:
        while True:
            if await done():
                return
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(wait(), timeout=seconds)
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, timeout=10)

"""The worker: repeatedly claims due work in small batches and handles each item in its own
transaction — groups whose time is up, due reminders, housekeeping.

It runs inside `kohort serve` by default (one machine, SQLite or PostgreSQL) or as separate
`kohort worker` processes (PostgreSQL, any number). A stop request lets the current item
finish; a killed worker loses nothing, since every item is a transaction of its own."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kohort import clock
from kohort.config import Settings
from kohort.db import Database, background_writes
from kohort.email.jobs import send_due
from kohort.event.jobs import fan_out
from kohort.event.repository import purge_older_than
from kohort.group import jobs
from kohort.http.jobs import purge_idempotency_keys
from kohort.metrics import BATCH_SECONDS, SWEEP_LAG, WORKER_FAILURES, WORKER_SET_ASIDE
from kohort.order.review import resolve_due_reviews
from kohort.payout.jobs import process_due
from kohort.payout_batch.jobs import build_due_batches
from kohort.webhook.jobs import deliver_due

log = logging.getLogger("kohort.worker")

EVENT_RETENTION = timedelta(days=30)
MAX_ATTEMPTS = 5
PURGE_BATCH = 1000
GROUPS_FIRST_SECONDS = 5.0
"""The longest the other lanes wait, between two of their batches, for due groups to end."""


@dataclass
class Failures:
    """Items that failed: retried with exponential backoff, set aside after MAX_ATTEMPTS."""

    attempts: dict[str, int] = field(default_factory=dict)
    retry_at: dict[str, datetime] = field(default_factory=dict)
    set_aside: set[str] = field(default_factory=set)

    def ready(self, item: str, now: datetime) -> bool:
        return item not in self.set_aside and self.retry_at.get(item, now) <= now

    def failed(self, item: str, now: datetime) -> None:
        attempts = self.attempts.get(item, 0) + 1
        self.attempts[item] = attempts
        if attempts >= MAX_ATTEMPTS:
            self.set_aside.add(item)
            log.error("item set aside after repeated failures", extra={"item": item})
            return
        self.retry_at[item] = now + timedelta(seconds=2**attempts)

    def waiting(self, prefix: str, now: datetime) -> list[str]:
        """Ids (after `prefix`) that are set aside or not yet due for their retry."""
        items = set(self.set_aside) | {i for i, at in self.retry_at.items() if at > now}
        return [item.removeprefix(prefix) for item in items if item.startswith(prefix)]

    def succeeded(self, item: str) -> None:
        self.attempts.pop(item, None)
        self.retry_at.pop(item, None)


@dataclass
class Sweep:
    ended: int = 0
    reminded: int = 0
    reviewed: int = 0
    failed: int = 0
    full: bool = False
    """A batch came back full: more work is waiting, sweep again without pausing."""


@dataclass
class Worker:
    db: Database
    settings: Settings = field(default_factory=Settings)
    batch_size: int = 100
    poll_seconds: float = 1.0
    housekeeping_seconds: float = 600.0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    failures: Failures = field(default_factory=Failures)
    _next_housekeeping: datetime | None = None
    _groups_caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    """Set unless due groups are waiting: the other lanes pause while it is clear."""

    def __post_init__(self) -> None:
        self._groups_caught_up.set()

    async def run(self) -> None:
        """Run every lane until asked to stop: groups (ends, reminders, housekeeping), the
        fan-out of new events, webhook deliveries and e-mails, side by side, so a slow
        receiver never delays a group's end."""
        log.info("worker started", extra={"poll_seconds": self.poll_seconds})
        steps: dict[str, Callable[[], Awaitable[int]]] = {
            "dispatch": self._fan_out,
            "webhooks": self._deliver,
            "mail": self._send_mail,
            "payouts": self._pay,
            "payout_batches": self._batch_payouts,
        }
        lanes: list[Awaitable[None]] = []
        if "groups" in self.settings.worker_lanes:
            lanes.append(self._groups_lane())
        lanes += [
            self._lane(name, step)
            for name, step in steps.items()
            if name in self.settings.worker_lanes
        ]
        log.info("worker lanes", extra={"lanes": ",".join(sorted(self.settings.worker_lanes))})
        await asyncio.gather(*lanes)
        log.info("worker stopped")

    async def _fan_out(self) -> int:
        return await fan_out(self.db, now=clock.now(), limit=self.batch_size)

    async def _deliver(self) -> int:
        return await deliver_due(self.db, self.settings, now=clock.now(), limit=self.batch_size)

    async def _send_mail(self) -> int:
        return await send_due(self.db, self.settings, now=clock.now(), limit=self.batch_size)

    async def _pay(self) -> int:
        return await process_due(self.db, self.settings, now=clock.now(), limit=self.batch_size)

    async def _batch_payouts(self) -> int:
        return await build_due_batches(
            self.db, self.settings, now=clock.now(), limit=self.batch_size
        )

    async def _lane(self, kind: str, step: Callable[[], Awaitable[int]]) -> None:
        """Repeat `step`; a full batch is followed at once by the next, otherwise wait a poll
        interval. A failing step is logged and counted, and tried again after the interval.
        Its writes are background work: on SQLite, waiting API requests write first."""
        with background_writes():
            while not self.stop.is_set():
                await self._after_due_groups()
                handled = 0
                try:
                    with BATCH_SECONDS.labels(kind=kind).time():
                        handled = await step()
                except Exception:
                    log.exception("worker lane failed", extra={"lane": kind})
                    WORKER_FAILURES.labels(kind=kind).inc()
                if handled >= self.batch_size:
                    continue
                await self._pause()

    async def _after_due_groups(self) -> None:
        """Wait while due groups are waiting (the groups lane's last sweep came back full),
        at most GROUPS_FIRST_SECONDS: in one process the lanes share one event loop and, on
        SQLite, one writer, so a burst of e-mails, deliveries and payouts would otherwise
        make groups end late. The other lanes catch up as soon as the backlog is gone."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._groups_caught_up.wait(), timeout=GROUPS_FIRST_SECONDS)

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=self.poll_seconds)

    async def _groups_lane(self) -> None:
        while not self.stop.is_set():
            result = Sweep()
            try:
                result = await self.sweep()
                await self.housekeeping()
            except Exception:
                log.exception("worker sweep failed")
            if result.full:
                self._groups_caught_up.clear()
                continue
            self._groups_caught_up.set()
            await self._pause()
        self._groups_caught_up.set()

    async def sweep(self) -> Sweep:
        """One pass: end the due groups, then send the due reminders, one batch of each."""
        result = Sweep()
        SWEEP_LAG.set(await jobs.sweep_lag(self.db, now=clock.now()))
        with BATCH_SECONDS.labels(kind="end").time():
            await self._end_due_groups(result)
        with BATCH_SECONDS.labels(kind="remind").time():
            now = clock.now()
            remind = await jobs.groups_to_remind(self.db, now=now, limit=self.batch_size)
            for group_id in remind:
                if await self._handle(f"remind:{group_id}", jobs.remind, group_id, result):
                    result.reminded += 1
        with BATCH_SECONDS.labels(kind="review").time():
            result.reviewed = await resolve_due_reviews(
                self.db, now=clock.now(), limit=self.batch_size
            )
        result.full = (
            result.ended == self.batch_size
            or (len(remind) == self.batch_size and result.reminded > 0)
            or result.reviewed == self.batch_size
        )
        WORKER_SET_ASIDE.set(len(self.failures.set_aside))
        return result

    async def _end_due_groups(self, result: Sweep) -> None:
        """Claim and end due groups a batch per transaction, up to a sweep's batch. A batch
        that fails is rolled back and its groups are ended one by one, each in its own
        transaction, so a bad group is found, backed off and set aside alone."""
        while result.ended < self.batch_size and not self.stop.is_set():
            now = clock.now()
            skip = self.failures.waiting("end:", now)
            try:
                ended = await jobs.end_due_groups(
                    self.db, now=now, limit=self.batch_size - result.ended, skip=skip
                )
            except jobs.BatchFailed as failure:
                log.warning(
                    "batch failed, ending its groups one by one",
                    exc_info=True,
                    extra={"items": len(failure.item_ids)},
                )
                for group_id in failure.item_ids:
                    if await self._handle(f"end:{group_id}", jobs.end_due_group, group_id, result):
                        result.ended += 1
                continue
            if not ended:
                return
            for group_id in ended:
                self.failures.succeeded(f"end:{group_id}")
            result.ended += len(ended)

    async def _handle(
        self,
        item: str,
        handler: Callable[..., Awaitable[bool]],
        group_id: str,
        result: Sweep,
    ) -> bool:
        now = clock.now()
        if self.stop.is_set() or not self.failures.ready(item, now):
            return False
        try:
            done = await handler(self.db, group_id, now=now)
        except Exception:
            log.exception("worker item failed", extra={"item": item})
            WORKER_FAILURES.labels(kind=item.partition(":")[0]).inc()
            self.failures.failed(item, now)
            result.failed += 1
            return False
        self.failures.succeeded(item)
        return done

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> "Worker":
        return cls(
            db=db,
            settings=settings,
            batch_size=settings.worker_batch_size,
            poll_seconds=settings.worker_poll_seconds,
            housekeeping_seconds=settings.housekeeping_interval_seconds,
        )

    async def housekeeping(self) -> None:
        """Purge idempotency keys older than 24 h and events older than 30 days."""
        now = clock.now()
        if self._next_housekeeping is not None and now < self._next_housekeeping:
            return
        self._next_housekeeping = now + timedelta(seconds=self.housekeeping_seconds)
        keys = await purge_idempotency_keys(self.db)
        events = 0
        while not self.stop.is_set():
            async with self.db.write() as session:
                removed = await purge_older_than(session, now - EVENT_RETENTION, limit=PURGE_BATCH)
            events += removed
            if removed < PURGE_BATCH:
                break
        if keys or events:
            log.info("housekeeping", extra={"idempotency_keys": keys, "events": events})

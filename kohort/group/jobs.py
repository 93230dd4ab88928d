"""The groups' background work: end the groups whose time is up, send the due reminders.

Each item is claimed and handled in its own transaction: the claim re-reads the row under a
lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL), re-checks that the work is still due, and does
nothing if another worker already did it. Any number of workers can run at once."""

from collections.abc import Sequence
from datetime import datetime

from kohort.db import Database
from kohort.group import repository
from kohort.group.ending import SYSTEM, Ended, end_groups, record_group_event
from kohort.metrics import GROUPS_COMPLETED, GROUPS_EXPIRED, REMINDERS_DUE
from kohort.models import PaymentGroup

MIDWAY_SENT = "MIDWAY_SENT"
DAY3_SENT = "DAY3_SENT"
DAY2_BEFORE_END_SENT = "DAY2_BEFORE_END_SENT"


async def sweep_lag(db: Database, *, now: datetime) -> float:
    """Seconds since the oldest group still waiting to be ended fell due (0 if none)."""
    async with db.read() as session:
        oldest = await repository.oldest_due_at(session, now=now)
    return 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)


async def end_due_groups(
    db: Database, *, now: datetime, limit: int, skip: Sequence[str] = ()
) -> list[str]:
    """Claim up to `limit` due groups no other worker holds and end them together, in one
    transaction; their ids (empty when nothing outside `skip` is due). Raises BatchFailed with
    the claimed ids if ending them fails: nothing of the batch is kept, and the caller ends
    them one by one to find the item at fault."""
    async with db.write() as session:
        group_ids = await repository.claim_due(session, now=now, limit=limit, skip=skip)
        if not group_ids:
            return []
        try:
            ended = await end_groups(session, group_ids, now=now)
        except Exception as error:
            raise BatchFailed(group_ids) from error
    _count(ended)
    return group_ids


async def end_due_group(db: Database, group_id: str, *, now: datetime) -> bool:
    """End one group if it is still due and no other worker holds it, in its own transaction."""
    async with db.write() as session:
        group = await repository.claim(
            session, group_id=group_id, due=PaymentGroup.expires_at <= now
        )
        if group is None:
            return False
        ended = await end_groups(session, [group_id], now=now)
    _count(ended)
    return ended.count > 0


def _count(ended: Ended) -> None:
    GROUPS_COMPLETED.inc(len(ended.completed))
    GROUPS_EXPIRED.inc(len(ended.expired))


class BatchFailed(Exception):
    """Ending the batch of `item_ids` failed as a whole (the cause is chained)."""

    def __init__(self, item_ids: list[str]) -> None:
        super().__init__(f"{len(item_ids)} items")
        self.item_ids = item_ids


async def groups_to_remind(db: Database, *, now: datetime, limit: int) -> list[str]:
    async with db.read() as session:
        return await repository.reminder_group_ids(session, now=now, limit=limit)


def next_reminder(group: PaymentGroup, now: datetime) -> tuple[str, tuple[str, ...]] | None:
    """The latest reminder moment that has passed (a stale earlier one is skipped), as the
    state to move to and the states it may come from (DOMAIN.md §8)."""
    sent = group.reminder_email_sent
    if group.j_minus2_expire_at is not None and group.j_minus2_expire_at <= now:
        if sent in ("NOT_SENT", DAY3_SENT):
            return DAY2_BEFORE_END_SENT, ("NOT_SENT", DAY3_SENT)
        return None
    if sent != "NOT_SENT":
        return None
    if group.j_plus3_start_at is not None and group.j_plus3_start_at <= now:
        return DAY3_SENT, ("NOT_SENT",)
    if group.mid_expire_at is not None and group.mid_expire_at <= now:
        return MIDWAY_SENT, ("NOT_SENT",)
    return None


async def remind(db: Database, group_id: str, *, now: datetime) -> bool:
    """Record one due reminder (conditional update + `payment_group.reminder_due`)."""
    async with db.write() as session:
        group = await repository.claim(session, group_id=group_id, due=repository.reminder_due(now))
        if group is None:
            return False
        step = next_reminder(group, now)
        if step is None:
            return False
        target, allowed_from = step
        moved = await repository.transition(
            session,
            group_id=group_id,
            condition=PaymentGroup.reminder_email_sent.in_(allowed_from)
            & (PaymentGroup.participants_count == 1),
            values={"reminder_email_sent": target, "updated_at": now, "updated_by": SYSTEM},
        )
        if not moved:
            return False
        fresh = await repository.get(session, group_id)
        assert fresh is not None
        await record_group_event(session, "payment_group.reminder_due", fresh)
    REMINDERS_DUE.labels(moment=target).inc()
    return True

"""The groups' background work: end the groups whose time is up, send the due reminders.

Each item is claimed and handled in its own transaction: the claim re-reads the row under a
lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL), re-checks that the work is still due, and does
nothing if another worker already did it. Any number of workers can run at once."""

from collections.abc import Sequence
from datetime import datetime

from kohort.db import Database
from kohort.group import repository
from kohort.group.ending import SYSTEM, end_group, record_group_event
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


async def end_next_due_group(
    db: Database, *, now: datetime, skip: Sequence[str] = ()
) -> str | None:
    """Claim the next due group no other worker holds and end it, in one transaction; its id,
    or None when nothing (outside `skip`) is due. Workers never queue on the same row."""
    async with db.write() as session:
        group = await repository.claim_next_due(session, now=now, skip=skip)
        if group is None:
            return None
        group_id = group.id
        try:
            ended = await end_group(session, group_id, now=now)
        except Exception as error:
            raise ItemFailed(group_id) from error
    if ended is not None:
        counter = GROUPS_COMPLETED if ended.status == repository.COMPLETED else GROUPS_EXPIRED
        counter.inc()
    return group_id


class ItemFailed(Exception):
    """Handling the item `item_id` failed (the cause is chained)."""

    def __init__(self, item_id: str) -> None:
        super().__init__(item_id)
        self.item_id = item_id


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

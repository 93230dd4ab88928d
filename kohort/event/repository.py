"""Every query on events."""

from datetime import datetime

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.http.lists import Kind, ListField
from kohort.models import Event

LIST_FIELDS = {
    "id": ListField(Event.id, Kind.STRING),
    "type": ListField(Event.type, Kind.STRING),
    "createdAt": ListField(Event.created_at, Kind.TIMESTAMP),
}


def select_listed(organization_id: str, livemode: bool) -> Select[Event]:
    return select(Event).where(Event.organization_id == organization_id, Event.livemode == livemode)


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, event_id: str
) -> Event | None:
    stmt = select_listed(organization_id, livemode).where(Event.id == event_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def purge_older_than(session: AsyncSession, cutoff: datetime, *, limit: int) -> int:
    """Delete up to `limit` events created before `cutoff`; how many went."""
    seqs = select(Event.seq).where(Event.created_at < cutoff).limit(limit)
    result = await session.execute(delete(Event).where(Event.seq.in_(seqs)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim_undispatched(session: AsyncSession, *, limit: int) -> list[Event]:
    """Lock up to `limit` events not fanned out yet, oldest first, that no other worker holds
    (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write lock serialises workers)."""
    stmt = (
        select(Event)
        .where(Event.dispatched_at.is_(None))
        .order_by(Event.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def mark_dispatched(session: AsyncSession, seqs: list[int], *, now: datetime) -> None:
    await session.execute(
        update(Event)
        .where(Event.seq.in_(seqs), Event.dispatched_at.is_(None))
        .values(dispatched_at=now)
    )


async def about(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    object_ids: list[str],
    since: datetime,
    limit: int,
) -> list[Event]:
    """The latest `limit` events whose object (`data.id`) is one of `object_ids`, newest
    first. The scan walks the (organization, mode, created_at) index back to `since` (no
    object's event is older than the oldest object); `data` has no index."""
    stmt = (
        select_listed(organization_id, livemode)
        .where(Event.created_at >= since, Event.data["id"].as_string().in_(object_ids))
        .order_by(Event.created_at.desc(), Event.seq.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())

"""Events: every state change appends one row in the transaction that made the change."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.db import core_execute
from kohort.ids import new_id
from kohort.models import Event

_INSERT = insert(Event)
"""Built once: a request binds only its rows (the statement's building and cache key cost it
nothing)."""


def new_event(
    *,
    type: str,
    organization_id: str,
    livemode: bool,
    data: dict[str, Any],
    dispatched_at: datetime | None = None,
) -> dict[str, Any]:
    """The row of an event of `type` with `data`, the resource as it is right after the
    change (API shape); `append_events` writes it."""
    return {
        "id": new_id("evt"),
        "type": type,
        "organization_id": organization_id,
        "livemode": livemode,
        "data": data,
        "created_at": clock.now(),
        "dispatched_at": dispatched_at,
    }


async def append_events(session: AsyncSession, events: Sequence[dict[str, Any]]) -> None:
    """Write these events (`new_event` rows) now, in one statement, in this order: their `seq`s
    follow it. A Core INSERT, not the unit of work (which cost a join a sixth of its calls):
    the rows are in the transaction when this returns, before any later statement."""
    if events:
        await core_execute(session, _INSERT, list(events))


async def append_event(
    session: AsyncSession,
    *,
    type: str,
    organization_id: str,
    livemode: bool,
    data: dict[str, Any],
) -> None:
    """Record one event of `type` with `data` (see `new_event`), now."""
    await append_events(
        session,
        [new_event(type=type, organization_id=organization_id, livemode=livemode, data=data)],
    )

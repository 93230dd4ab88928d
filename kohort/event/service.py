"""Events: every state change appends one row in the transaction that made the change."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.ids import new_id
from kohort.models import Event


async def append_event(
    session: AsyncSession,
    *,
    type: str,
    organization_id: str,
    livemode: bool,
    data: dict[str, Any],
) -> Event:
    """Record `type` with `data`, the resource as it is right after the change (API shape).

    The row is flushed with the transaction's next statement or at commit: the events of one
    change go to the database in one batch, in the order they were appended."""
    event = Event(
        id=new_id("evt"),
        type=type,
        organization_id=organization_id,
        livemode=livemode,
        data=data,
        created_at=clock.now(),
    )
    session.add(event)
    return event

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
    """Record `type` with `data`, the resource as it is right after the change (API shape)."""
    event = Event(
        id=new_id("evt"),
        type=type,
        organization_id=organization_id,
        livemode=livemode,
        data=data,
        created_at=clock.now(),
    )
    session.add(event)
    await session.flush()
    return event

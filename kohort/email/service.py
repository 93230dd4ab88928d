"""The shoppers' e-mails."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import Event


async def plan_messages(session: AsyncSession, events: Sequence[Event], *, now: datetime) -> None:
    """One outbox row per (event, recipient, kind) that the event calls for."""

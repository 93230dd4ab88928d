"""Webhook endpoints and their deliveries."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import Event


async def plan_deliveries(session: AsyncSession, events: Sequence[Event], *, now: datetime) -> None:
    """One delivery row per (event, subscribed active endpoint of its organization and mode)."""

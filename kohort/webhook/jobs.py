"""Webhook deliveries: send the due ones, retry on the schedule."""

from datetime import datetime

from kohort.config import Settings
from kohort.db import Database


async def deliver_due(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Attempt up to `limit` due deliveries; how many were attempted."""
    return 0

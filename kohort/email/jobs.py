"""E-mail outbox: send the due messages, retry transient failures."""

from datetime import datetime

from kohort.config import Settings
from kohort.db import Database


async def send_due(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Send up to `limit` due messages; how many were handled."""
    return 0

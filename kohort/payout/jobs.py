"""Payouts' background work: start the payouts that need no shopper action, call the
providers, retry with backoff."""

from datetime import datetime

from kohort.config import Settings
from kohort.db import Database


async def process_due(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Handle up to `limit` due payout items; how many were handled."""
    return 0

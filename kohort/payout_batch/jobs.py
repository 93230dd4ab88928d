"""SEPA batches: gather each day's approved SEPA payouts into one pain.001 file per
organization and mode."""

from datetime import datetime

from kohort.config import Settings
from kohort.db import Database


async def build_due_batches(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Build up to `limit` due batches; how many were built."""
    return 0

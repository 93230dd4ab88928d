"""Housekeeping of the HTTP layer (run by the worker): forget idempotency keys older than 24 h."""

from kohort.db import Database
from kohort.http import idempotency


async def purge_idempotency_keys(db: Database) -> int:
    """Delete every expired idempotency key, in batches of short transactions."""
    total = 0
    while True:
        async with db.write() as session:
            removed = await idempotency.purge_expired(session)
        total += removed
        if removed < idempotency.PURGE_BATCH:
            return total

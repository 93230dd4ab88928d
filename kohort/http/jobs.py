"""Background housekeeping of the HTTP layer: forget idempotency keys older than 24 h."""

import asyncio
import logging

from kohort.db import Database
from kohort.http import idempotency

log = logging.getLogger("kohort.housekeeping")


async def purge_idempotency_keys(db: Database) -> int:
    """Delete every expired idempotency key, in batches of short transactions."""
    total = 0
    while True:
        async with db.write() as session:
            removed = await idempotency.purge_expired(session)
        total += removed
        if removed < idempotency.PURGE_BATCH:
            return total


async def run_housekeeping(db: Database, *, interval_seconds: float) -> None:
    """Purge forever, every `interval_seconds`; a failed round is logged and retried later."""
    while True:
        try:
            removed = await purge_idempotency_keys(db)
            if removed:
                log.info("purged expired idempotency keys", extra={"count": removed})
        except Exception:
            log.exception("idempotency key purge failed; retrying next round")
        await asyncio.sleep(interval_seconds)

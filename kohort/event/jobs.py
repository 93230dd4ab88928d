"""Fan-out: every new event becomes the webhook deliveries and e-mails it calls for.

One transaction claims a batch of events not yet fanned out (`FOR UPDATE SKIP LOCKED`), lets
each channel plan its outbox rows from them, and marks them fanned out: an event is planned
exactly once however many workers run, and a killed worker leaves it for the next one."""

from datetime import datetime

from kohort.db import Database
from kohort.email.service import plan_messages
from kohort.event import repository
from kohort.webhook.service import plan_deliveries


async def fan_out(db: Database, *, now: datetime, limit: int) -> int:
    """Fan out up to `limit` new events; how many were."""
    async with db.write() as session:
        events = await repository.claim_undispatched(session, limit=limit)
        if not events:
            return 0
        await plan_deliveries(session, events, now=now)
        await plan_messages(session, events, now=now)
        await repository.mark_dispatched(session, [event.seq for event in events], now=now)
    return len(events)

"""Webhook deliveries: send the due ones, retry on the schedule.

A batch is leased in one short transaction (each delivery: one more attempt, due again when
the 60 s lease ends), sent with no transaction open, and its outcomes recorded in another
short transaction. A worker killed in between loses nothing: when the lease ends the next
worker sends again, with the same webhook-id (at least once; receivers de-duplicate by id).
"""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.event.schemas import EventRead
from kohort.http import versions
from kohort.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_FAILED, WEBHOOK_SUCCEEDED
from kohort.models import Event, WebhookDelivery, WebhookEndpoint
from kohort.webhook import repository, service
from kohort.webhook.sending import Attempt, Outcome, event_body, send_all

LEASE = timedelta(seconds=60)
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=10),
)
"""The wait after the 1st, 2nd, … failed attempt; the attempt after the last one is final."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1


def retry_delay(attempts: int) -> timedelta | None:
    """The wait before the next attempt after `attempts` failed ones, ±10 %, in whole
    milliseconds (the API's precision); None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    return timedelta(milliseconds=round(delay / timedelta(milliseconds=1)))


def _attempt(delivery: WebhookDelivery, endpoint: WebhookEndpoint, event: Event) -> Attempt:
    now = clock.now()
    return Attempt(
        delivery_id=delivery.id,
        attempts=delivery.attempts,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        livemode=endpoint.livemode,
        active=endpoint.is_active,
        secrets=tuple(service.signing_secrets(endpoint, now)),
        body=event_body(EventRead.model_validate(event).model_dump(mode="json", by_alias=True)),
        api_version=endpoint.api_version or versions.CURRENT,
    )


def _values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    attempts = outcome.attempt.attempts
    delay = None if outcome.succeeded or not outcome.attempt.active else retry_delay(attempts)
    if outcome.succeeded:
        status = repository.SUCCEEDED
    else:
        status = repository.PENDING if delay is not None else repository.FAILED
    return {
        "d_id": outcome.attempt.delivery_id,
        "d_attempts": attempts,
        "status": status,
        "next_attempt_at": None if delay is None else now + delay,
        "last_response_status": outcome.status_code,
        "last_response_body": outcome.response_body,
        "last_error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "updated_at": now,
    }


async def _record(db: Database, outcomes: Sequence[Outcome]) -> None:
    """Record the outcomes; then the endpoints' failure streaks: a success ends one, a
    failure starts one, and a streak 5 days old disables its endpoint."""
    now = clock.now()
    tried = [o for o in outcomes if o.attempt.active]
    healthy = {o.attempt.endpoint_id for o in tried if o.succeeded}
    failing = {o.attempt.endpoint_id for o in tried if not o.succeeded} - healthy
    async with db.write() as session:
        await repository.record_attempts(session, [_values(o, now) for o in outcomes])
        await repository.clear_failing(session, healthy)
        await repository.mark_failing(session, failing, now=now)
        await service.disable_failing(session, failing, now=now)


async def deliver_due(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Attempt up to `limit` due deliveries; how many were attempted."""
    async with db.write() as session:
        claimed = await repository.claim_due(session, now=now, lease_until=now + LEASE, limit=limit)
        attempts = [_attempt(*row) for row in claimed]
    if not attempts:
        return 0
    outcomes = await send_all(
        attempts,
        time_limit=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
        allow_private=settings.webhook_allow_private_destinations,
    )
    await _record(db, outcomes)
    tried = [o for o in outcomes if o.attempt.active]
    WEBHOOK_ATTEMPTS.inc(len(tried))
    WEBHOOK_SUCCEEDED.inc(sum(o.succeeded for o in tried))
    WEBHOOK_FAILED.inc(sum(not o.succeeded for o in tried))
    return len(attempts)

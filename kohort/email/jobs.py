"""E-mail outbox: send the due messages, retry transient failures.

A message is leased in a short transaction (`FOR UPDATE SKIP LOCKED`; one more attempt, the
next attempt pushed past the lease), rendered and sent with no transaction open, then its
outcome is recorded in another short transaction. Delivery is at least once: a worker killed
between sending and recording sends that message again when the lease runs out, with the
same Message-ID (the outbox row id), so the duplicate is recognisable."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from typing import Any

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.email import repository, sending
from kohort.email.rendering import Formatter, compose, render, zone
from kohort.email.service import CASHBACK_AVAILABLE, withdrawal_token
from kohort.metrics import EMAILS_FAILED, EMAILS_RETRIED, EMAILS_SENT
from kohort.models import EmailMessage, Organization
from kohort.secret_key import secret_key

log = logging.getLogger("kohort.email")

LEASE = timedelta(minutes=10)
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=12),
    timedelta(hours=12),
)
"""Wait after the n-th failed attempt; after the last one (about 45 h in all) it is failed."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


@dataclass(frozen=True)
class Outgoing:
    id: str
    kind: str
    recipient: str
    attempts: int
    mime: MimeMessage | None
    problem: str | None
    """Why the message could not be composed (a permanent failure), or None."""


async def send_due(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Send up to `limit` due messages; how many were handled."""
    outgoing = await _claim(db, settings, now=now, limit=limit)
    for index, item in enumerate(outgoing):
        if item.mime is None:
            await _record_failure(db, item, item.problem or "", permanent=True)
            continue
        try:
            where = await sending.send(settings, item.mime, name=item.id)
        except sending.SendFailed as failure:
            await _record_failure(db, item, failure.reason, permanent=failure.permanent)
            if failure.unreachable:
                for rest in outgoing[index + 1 :]:
                    await _record_failure(db, rest, failure.reason, permanent=False)
                break
            continue
        await _record_sent(db, item)
        log.info(
            "e-mail sent",
            extra={"recipient": item.recipient, "kind": item.kind, "to": where, "id": item.id},
        )
    return len(outgoing)


async def _claim(db: Database, settings: Settings, *, now: datetime, limit: int) -> list[Outgoing]:
    async with db.write() as session:
        messages = await repository.claim_due(
            session, now=now, lease_until=now + LEASE, limit=limit
        )
        if not messages:
            return []
        shops = await repository.organizations(session, {m.organization_id for m in messages})
        links: dict[str, dict[str, Any]] = {}
        for message in messages:
            if message.kind == CASHBACK_AVAILABLE:
                order_id = str(message.data["orderId"])
                token, expires_at = await withdrawal_token(
                    session,
                    order_id=order_id,
                    key=secret_key(settings),
                    now=now,
                    valid_days=settings.withdrawal_token_days,
                )
                links[message.id] = {
                    "withdraw_url": f"{settings.base_url}/w/{order_id}?token={token}",
                    "link_expires_at": expires_at,
                }
    return [
        _outgoing(settings, m, shops.get(m.organization_id), links.get(m.id, {}), now)
        for m in messages
    ]


def _outgoing(
    settings: Settings,
    message: EmailMessage,
    shop: Organization | None,
    links: dict[str, Any],
    now: datetime,
) -> Outgoing:
    mime: MimeMessage | None = None
    problem: str | None = None
    try:
        assert shop is not None, "organization not found"
        sender = shop.from_email_name or shop.name
        context = {
            **message.data,
            **links,
            "shop_name": sender,
            "share_url": f"{settings.base_url}/r/{message.data.get('code', '')}",
            "fmt": Formatter(
                locale=message.locale,
                timezone=zone(shop.timezone),
                currency=str(message.data.get("currency") or "EUR"),
                now=now,
            ),
        }
        rendered = render(message.kind, message.locale, context)
        mime = compose(
            rendered,
            message_id=message.id,
            sender_name=sender,
            mail_from=settings.mail_from,
            to=message.recipient,
            now=now,
        )
    except Exception as error:
        log.exception("e-mail could not be composed", extra={"id": message.id})
        problem = f"cannot compose: {type(error).__name__}: {error}"
    return Outgoing(message.id, message.kind, message.recipient, message.attempts, mime, problem)


async def _record_sent(db: Database, item: Outgoing) -> None:
    now = clock.now()
    async with db.write() as session:
        done = await repository.finish_attempt(
            session,
            message_id=item.id,
            attempts=item.attempts,
            values={"status": repository.SENT, "sent_at": now, "last_error": None},
        )
    if done:
        EMAILS_SENT.labels(kind=item.kind).inc()


async def _record_failure(db: Database, item: Outgoing, reason: str, *, permanent: bool) -> None:
    """Failed for good (permanent, or out of attempts), else pending again after a delay."""
    now = clock.now()
    give_up = permanent or item.attempts >= MAX_ATTEMPTS
    values: dict[str, Any] = {"last_error": reason[:1000]}
    if give_up:
        values["status"] = repository.FAILED
    else:
        values["status"] = repository.PENDING
        values["next_attempt_at"] = now + RETRY_DELAYS[item.attempts - 1]
    async with db.write() as session:
        done = await repository.finish_attempt(
            session, message_id=item.id, attempts=item.attempts, values=values
        )
    if not done:
        return
    (EMAILS_FAILED if give_up else EMAILS_RETRIED).labels(kind=item.kind).inc()
    log.warning(
        "e-mail failed" if give_up else "e-mail attempt failed, will retry",
        extra={"recipient": item.recipient, "kind": item.kind, "id": item.id, "error": reason},
    )

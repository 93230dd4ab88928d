"""E-mail outbox: send the due messages, retry transient failures.

A batch is leased in one short transaction (`FOR UPDATE SKIP LOCKED`; one more attempt, the
next attempt pushed past the lease; the batch's withdrawal tokens made with one insert),
rendered and sent with no transaction open, then the outcomes are recorded together in another
short transaction (one `UPDATE` per distinct outcome; every `FLUSH_EVERY` seconds while a slow
batch lasts). Delivery is at least once: a worker killed
between sending and recording sends that message again when the lease runs out, with the
same Message-ID (the outbox row id), so the duplicate is recognisable."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.config import Settings
from kohort.dashboard_user.tokens import link as user_link
from kohort.db import Database
from kohort.email import repository, sending
from kohort.email.branding import branding
from kohort.email.rendering import Formatter, Rendered, compose, render, render_dashboard, zone
from kohort.email.service import (
    CASHBACK_AVAILABLE,
    DASHBOARD_KINDS,
    GROUP_REMINDER,
    USER_INVITATION,
    withdrawal_tokens,
)
from kohort.http.schemas import CONTROL_CHARACTERS, has_control_characters
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


FLUSH_EVERY = 2.0
"""Seconds of sending after which the outcomes so far are recorded, before the batch ends."""


@dataclass(frozen=True)
class _Outcome:
    item: Outgoing
    where: str | None
    """Where the message went, or None when it failed."""
    reason: str = ""
    permanent: bool = False


async def send_due(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Send up to `limit` due messages; how many were handled. The outcomes are recorded
    together, when the batch is done (or every `FLUSH_EVERY` seconds while it lasts)."""
    outgoing = await _claim(db, settings, now=now, limit=limit)
    outcomes: list[_Outcome] = []
    flushed = time.monotonic()
    try:
        for index, item in enumerate(outgoing):
            if item.mime is None:
                outcomes.append(_Outcome(item, None, item.problem or "", permanent=True))
                continue
            try:
                where = await sending.send(settings, item.mime, name=item.id)
            except sending.SendFailed as failure:
                outcomes.append(_Outcome(item, None, failure.reason, failure.permanent))
                if failure.unreachable:
                    outcomes.extend(
                        _Outcome(rest, None, failure.reason) for rest in outgoing[index + 1 :]
                    )
                    break
                continue
            outcomes.append(_Outcome(item, where))
            if time.monotonic() - flushed >= FLUSH_EVERY:
                await _record(db, outcomes)
                outcomes, flushed = [], time.monotonic()
    finally:
        await _record(db, outcomes)
    return len(outgoing)


async def _claim(db: Database, settings: Settings, *, now: datetime, limit: int) -> list[Outgoing]:
    async with db.write() as session:
        messages = await repository.claim_due(
            session, now=now, lease_until=now + LEASE, limit=limit
        )
        messages = await _drop_stale_reminders(session, messages)
        if not messages:
            return []
        shops = await repository.organizations(session, {m.organization_id for m in messages})
        order_ids = [str(m.data["orderId"]) for m in messages if m.kind == CASHBACK_AVAILABLE]
        tokens = await withdrawal_tokens(
            session,
            order_ids,
            key=secret_key(settings),
            now=now,
            valid_days=settings.withdrawal_token_days,
        )
        links: dict[str, dict[str, Any]] = {}
        for message in messages:
            if message.kind == CASHBACK_AVAILABLE:
                order_id = str(message.data["orderId"])
                token, expires_at = tokens[order_id]
                links[message.id] = {
                    "withdraw_url": f"{settings.base_url}/w/{order_id}?token={token}",
                    "link_expires_at": expires_at,
                }
    return [
        _outgoing(settings, m, shops.get(m.organization_id), links.get(m.id, {}), now)
        for m in messages
    ]


async def _drop_stale_reminders(
    session: AsyncSession, messages: list[EmailMessage]
) -> list[EmailMessage]:
    """A reminder tells the creator they are still alone: one whose group has since been
    joined, ended or canceled (its send was delayed: retries, a backlog) is not sent but
    recorded as skipped. The other messages, to send."""
    reminders = [m for m in messages if m.kind == GROUP_REMINDER]
    if not reminders:
        return messages
    alone = await repository.groups_still_alone(
        session, {str(m.data.get("groupId")) for m in reminders}
    )
    stale = [m for m in reminders if str(m.data.get("groupId")) not in alone]
    if stale:
        await repository.finish_attempts(
            session,
            [(m.id, m.attempts) for m in stale],
            values={"status": repository.SKIPPED, "last_error": STALE_REMINDER},
        )
    skipped = {m.id for m in stale}
    return [m for m in messages if m.id not in skipped]


STALE_REMINDER = "Not sent: the group is no longer waiting for friends."


def _outgoing(
    settings: Settings,
    message: EmailMessage,
    shop: Organization | None,
    links: dict[str, Any],
    now: datetime,
) -> Outgoing:
    if message.kind in DASHBOARD_KINDS:
        return _dashboard_outgoing(settings, message, now)
    mime: MimeMessage | None = None
    problem: str | None = None
    try:
        assert shop is not None, "organization not found"
        sender = shop.from_email_name or shop.name
        context = shopper_context(
            settings,
            data={**message.data, **links},
            shop=shop,
            locale=message.locale,
            livemode=message.livemode,
            now=now,
        )
        rendered = render(message.kind, message.locale, context)
        mime = _compose_safely(rendered, message, sender, settings, now)
    except Exception as error:
        log.exception("e-mail could not be composed", extra={"id": message.id})
        problem = f"cannot compose: {type(error).__name__}: {error}"
    return Outgoing(message.id, message.kind, message.recipient, message.attempts, mime, problem)


def shopper_context(
    settings: Settings,
    *,
    data: dict[str, Any],
    shop: Organization,
    locale: str,
    livemode: bool,
    now: datetime,
) -> dict[str, Any]:
    """What a shopper's message is rendered with: its facts (and links), the shop's name as
    sender, the share link, the brand (logo, colours, share buttons), money and dates in the
    reader's language and the shop's timezone (the dashboard's previews use it too)."""
    fmt = Formatter(
        locale=locale,
        timezone=zone(shop.timezone),
        currency=str(data.get("currency") or "EUR"),
        now=now,
    )
    return {
        **data,
        "shop_name": one_line(shop.from_email_name or shop.name),
        "livemode": livemode,
        "share_url": f"{settings.base_url}/r/{data.get('code', '')}",
        "brand": branding(settings.base_url, shop, data, locale, fmt),
        "fmt": fmt,
    }


def _dashboard_outgoing(settings: Settings, message: EmailMessage, now: datetime) -> Outgoing:
    """A dashboard user's e-mail, from KOHORT_MAIL_FROM, with its link derived again."""
    mime: MimeMessage | None = None
    problem: str | None = None
    try:
        kind = "invitation" if message.kind == USER_INVITATION else "password_reset"
        context = {
            **message.data,
            "url": user_link(settings, kind, str(message.data["tokenId"])),
            "organization": one_line(str(message.data.get("organization", ""))),
        }
        rendered = render_dashboard(message.kind, message.locale, context)
        mime = compose(
            rendered,
            message_id=message.id,
            sender_name=None,
            mail_from=settings.mail_from,
            to=message.recipient,
            now=now,
        )
    except Exception as error:
        log.exception("e-mail could not be composed", extra={"id": message.id})
        problem = f"cannot compose: {type(error).__name__}: {error}"
    return Outgoing(message.id, message.kind, message.recipient, message.attempts, mime, problem)


def _compose_safely(
    rendered: Rendered, message: EmailMessage, sender: str, settings: Settings, now: datetime
) -> MimeMessage:
    """From the shop's name; a name that cannot be a display name (control characters, stored
    before they were refused) falls back to KOHORT_MAIL_FROM alone rather than failing."""

    def composed(name: str | None) -> MimeMessage:
        return compose(
            rendered,
            message_id=message.id,
            sender_name=name,
            mail_from=settings.mail_from,
            to=message.recipient,
            now=now,
        )

    if not has_control_characters(sender):
        try:
            return composed(sender)
        except (ValueError, TypeError, IndexError) as error:
            reason = str(error)
    else:
        reason = "control characters in the sender name"
    log.warning(
        "e-mail sender name unusable: sent from KOHORT_MAIL_FROM alone",
        extra={"id": message.id, "organization_id": message.organization_id, "error": reason},
    )
    return composed(None)


def one_line(text: str) -> str:
    """`text` with its control characters (line breaks included) as single spaces."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())


def _values(outcome: _Outcome, now: datetime) -> dict[str, Any]:
    """Sent; else failed for good (permanent, or out of attempts), else pending again after a
    delay."""
    if outcome.where is not None:
        return {"status": repository.SENT, "sent_at": now, "last_error": None}
    attempts = outcome.item.attempts
    values: dict[str, Any] = {"last_error": outcome.reason[:1000]}
    if outcome.permanent or attempts >= MAX_ATTEMPTS:
        values["status"] = repository.FAILED
    else:
        values["status"] = repository.PENDING
        values["next_attempt_at"] = now + RETRY_DELAYS[attempts - 1]
    return values


async def _record(db: Database, outcomes: list[_Outcome]) -> None:
    """Record the outcomes in one short transaction, one statement per distinct outcome (all
    the sent messages together); one whose lease ran out and was taken over is left alone."""
    if not outcomes:
        return
    now = clock.now()
    groups: dict[tuple[tuple[str, Any], ...], tuple[dict[str, Any], list[tuple[str, int]]]] = {}
    for outcome in outcomes:
        values = _values(outcome, now)
        key = tuple(sorted(values.items()))
        groups.setdefault(key, (values, []))[1].append((outcome.item.id, outcome.item.attempts))
    done: set[str] = set()
    async with db.write() as session:
        for values, leases in groups.values():
            done |= await repository.finish_attempts(session, leases, values=values)
    for outcome in outcomes:
        item = outcome.item
        if outcome.where is not None:
            if item.id in done:
                EMAILS_SENT.labels(kind=item.kind).inc()
            log.info(
                "e-mail sent",
                extra={
                    "recipient": item.recipient,
                    "kind": item.kind,
                    "to": outcome.where,
                    "id": item.id,
                },
            )
            continue
        if item.id not in done:
            continue
        give_up = outcome.permanent or item.attempts >= MAX_ATTEMPTS
        (EMAILS_FAILED if give_up else EMAILS_RETRIED).labels(kind=item.kind).inc()
        log.warning(
            "e-mail failed" if give_up else "e-mail attempt failed, will retry",
            extra={
                "recipient": item.recipient,
                "kind": item.kind,
                "id": item.id,
                "error": outcome.reason,
            },
        )

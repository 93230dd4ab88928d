"""The shoppers' e-mails: which events call for which message to whom, and the withdrawal
tokens of cashback links.

Planning runs inside the fan-out transaction: it records the facts each message states (the
code, the levels and what each is worth on the recipient's own order, amounts) in the outbox
row, in the recipient's language. The text itself is rendered when the message is sent."""

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.audit import service as audit
from kohort.email import repository
from kohort.group import repository as groups
from kohort.group.cashback import DiscountLevel, cashback_amount, level_reached, next_level
from kohort.group.ending import levels_of
from kohort.ids import new_id
from kohort.models import EmailMessage, Event, Order, PaymentGroup
from kohort.order.repository import CANCELED

log = logging.getLogger("kohort.email")

NEW_GROUP = "NEW_GROUP"
JOIN_GROUP = "JOIN_GROUP"
NEW_LEVEL_UNLOCKED = "NEW_LEVEL_UNLOCKED"
GROUP_REMINDER = "GROUP_REMINDER"
CASHBACK_AVAILABLE = "CASHBACK_AVAILABLE"
CASHBACK_SENT = "CASHBACK_SENT"
GROUP_EXPIRED = "GROUP_EXPIRED"
KINDS = (
    NEW_GROUP,
    JOIN_GROUP,
    NEW_LEVEL_UNLOCKED,
    GROUP_REMINDER,
    CASHBACK_AVAILABLE,
    CASHBACK_SENT,
    GROUP_EXPIRED,
)
DEFAULT_LOCALE = "fr_FR"
USER_INVITATION = "USER_INVITATION"
PASSWORD_RESET = "PASSWORD_RESET"
DASHBOARD_KINDS = (USER_INVITATION, PASSWORD_RESET)
"""The dashboard users' e-mails (not the shoppers'): their own templates and catalogs, the
link derived again from the `user_tokens` row id when sent."""

Planned = tuple[str, str, str, dict[str, Any]]
"""(kind, recipient e-mail, recipient customer id, facts to render)."""


async def plan_messages(session: AsyncSession, events: Sequence[Event], *, now: datetime) -> None:
    """One outbox row per (event, recipient, kind) that the event calls for. A replayed event
    adds nothing: the unique key keeps the rows already planned."""
    rows: list[dict[str, Any]] = []
    planned: list[tuple[Event, Planned]] = []
    for event in events:
        planner = _PLANNERS.get(event.type)
        if planner is not None:
            planned.extend((event, message) for message in await planner(session, event))
    locales = await repository.customer_locales(session, {m[2] for _, m in planned})
    for event, (kind, recipient, customer_id, data) in planned:
        rows.append(
            {
                "id": new_id("msg"),
                "organization_id": event.organization_id,
                "livemode": event.livemode,
                "event_id": event.id,
                "kind": kind,
                "recipient": recipient,
                "locale": locales.get(customer_id, DEFAULT_LOCALE),
                "data": data,
                "status": repository.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": None,
                "sent_at": None,
                "created_at": now,
            }
        )
    await repository.add_messages(session, rows)


async def plan_dashboard_message(
    session: AsyncSession,
    *,
    kind: str,
    token_id: str,
    recipient: str,
    locale: str,
    organization_id: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """One outbox row for a dashboard user's e-mail; `event_id` is the token row's id (one
    e-mail per link). `organization_id` is empty for a password reset (no shop involved)."""
    row = {
        "id": new_id("msg"),
        "organization_id": organization_id,
        "livemode": True,
        "event_id": token_id,
        "kind": kind,
        "recipient": recipient,
        "locale": locale,
        "data": {**data, "tokenId": token_id},
        "status": repository.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "sent_at": None,
        "created_at": now,
    }
    await repository.add_messages(session, [row])


async def resend_failed(
    session: AsyncSession, message: EmailMessage, *, actor: audit.Actor, now: datetime
) -> bool:
    """One failed message sent again, as `kohort email retry-failed` does for many (pending,
    due now, a fresh count of attempts), recorded in the audit log; False (nothing written)
    when it is not failed (any more)."""
    attempts = message.attempts
    count = await repository.retry_failed(
        session, now=now, organization_id=message.organization_id, message_id=message.id
    )
    if not count:
        return False
    await audit.record(
        session,
        actor=actor,
        organization_id=message.organization_id,
        livemode=message.livemode,
        action="email_message.resent",
        target_type="email_message",
        target_id=message.id,
        changes={
            "status": {"from": repository.FAILED, "to": repository.PENDING},
            "attempts": {"from": attempts, "to": 0},
        },
    )
    return True


def _level(discount_type: str, level: DiscountLevel | None, amount: int) -> dict[str, Any] | None:
    if level is None:
        return None
    return {
        "level": level.level,
        "participants": level.participants_to_unlock,
        "cashback": cashback_amount(discount_type, level, amount),
    }


def _group_facts(group: PaymentGroup, data: dict[str, Any], order: Order) -> dict[str, Any]:
    """What every group message states, valued on `order` (the recipient's own)."""
    levels = sorted(levels_of(group), key=lambda level: level.participants_to_unlock)
    discount_type = str(group.settings["discountType"])
    participants = int(data["participantsCount"])
    return {
        "groupId": group.id,
        "code": data["shareId"],
        "expiresAt": data["expiresAt"],
        "participants": participants,
        "orderId": order.id,
        "amount": order.amount,
        "currency": order.currency,
        "levels": [_level(discount_type, level, order.amount) for level in levels],
        "discountType": discount_type,
        "bestValue": f"{max(level.value for level in levels):f}" if levels else None,
        "level": _level(discount_type, level_reached(levels, participants), order.amount),
        "nextLevel": _level(discount_type, next_level(levels, participants), order.amount),
    }


async def _group_and_members(
    session: AsyncSession, event: Event
) -> tuple[PaymentGroup, Sequence[Order]] | None:
    group = await groups.get(session, str(event.data["id"]))
    if group is None:
        return None
    return group, await groups.members(session, group.id)


async def _to_creator(session: AsyncSession, event: Event, kind: str) -> list[Planned]:
    found = await _group_and_members(session, event)
    if found is None:
        return []
    group, members = found
    if kind == GROUP_REMINDER and not still_alone(group):
        return []  # a friend joined, or the group ended, since the reminder fell due
    creator = next((o for o in members if o.customer_id == group.customer_id), None)
    if creator is None or creator.status == CANCELED:
        return []
    facts = _group_facts(group, event.data, creator)
    if kind == GROUP_REMINDER:
        facts["moment"] = event.data["reminderEmailSent"]
    if kind == GROUP_EXPIRED:
        facts["endedAt"] = event.data["updatedAt"]
    return [(kind, str(event.data["creatorEmail"]), group.customer_id, facts)]


async def _new_group(session: AsyncSession, event: Event) -> list[Planned]:
    return await _to_creator(session, event, NEW_GROUP)


def still_alone(group: PaymentGroup) -> bool:
    """What a reminder says: the group is OPEN and its creator alone (checked again when the
    message is sent: `repository.groups_still_alone`)."""
    return group.status == groups.OPEN and group.participants_count == 1


async def _reminder(session: AsyncSession, event: Event) -> list[Planned]:
    return await _to_creator(session, event, GROUP_REMINDER)


async def _expired(session: AsyncSession, event: Event) -> list[Planned]:
    return await _to_creator(session, event, GROUP_EXPIRED)


async def _joiner(session: AsyncSession, event: Event, members: Sequence[Order]) -> Order | None:
    """The order whose join appended `event` (its `order.created` comes just before)."""
    created = await repository.order_created_before(session, event.seq)
    if created is None or created.data.get("paymentGroupId") != event.data["id"]:
        log.warning("no joining order found for event", extra={"event_id": event.id})
        return None
    return next((order for order in members if order.id == created.data["id"]), None)


async def _joined(session: AsyncSession, event: Event) -> list[Planned]:
    found = await _group_and_members(session, event)
    if found is None:
        return []
    group, members = found
    joiner = await _joiner(session, event, members)
    if joiner is None:
        return []
    facts = _group_facts(group, event.data, joiner)
    return [(JOIN_GROUP, joiner.customer_email, joiner.customer_id, facts)]


async def _level_unlocked(session: AsyncSession, event: Event) -> list[Planned]:
    """To the members already there before the join that unlocked the level (the joiner
    learns it from JOIN_GROUP)."""
    found = await _group_and_members(session, event)
    if found is None:
        return []
    group, members = found
    joiner = await _joiner(session, event, members)
    if joiner is None:
        return []
    return [
        (NEW_LEVEL_UNLOCKED, o.customer_email, o.customer_id, _group_facts(group, event.data, o))
        for o in members
        if o.id != joiner.id
        and o.status != CANCELED
        and (o.created_at, o.id) <= (joiner.created_at, joiner.id)
    ]


async def _order_message(kind: str, event: Event) -> list[Planned]:
    data = event.data
    facts = {
        "orderId": data["id"],
        "code": data["paymentGroupShareId"],
        "amount": data["amount"],
        "cashback": data["amountCashback"] or 0,
        "currency": data["currency"],
    }
    return [(kind, str(data["customerEmail"]), str(data["customerId"]), facts)]


async def _cashback_available(session: AsyncSession, event: Event) -> list[Planned]:
    return await _order_message(CASHBACK_AVAILABLE, event)


async def _cashback_sent(session: AsyncSession, event: Event) -> list[Planned]:
    return await _order_message(CASHBACK_SENT, event)


_PLANNERS: dict[str, Callable[[AsyncSession, Event], Awaitable[list[Planned]]]] = {
    "payment_group.created": _new_group,
    "payment_group.joined": _joined,
    "payment_group.level_unlocked": _level_unlocked,
    "payment_group.reminder_due": _reminder,
    "payment_group.expired": _expired,
    "order.cashback_available": _cashback_available,
    "order.cashback_sent": _cashback_sent,
}


def _derive_token(key: bytes, order_id: str, nonce: str) -> str:
    digest = hmac.new(key, f"withdraw:{order_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def withdrawal_token(
    session: AsyncSession, *, order_id: str, key: bytes, now: datetime, valid_days: int
) -> tuple[str, datetime]:
    """The order's withdrawal token and its expiry, made on first use. Only the token's hash
    is stored; the token is re-derived from the stored nonce, so a resent e-mail carries the
    same link. If the secret key changed, an unused token is renewed."""
    tokens = await withdrawal_tokens(session, [order_id], key=key, now=now, valid_days=valid_days)
    return tokens[order_id]


async def withdrawal_tokens(
    session: AsyncSession,
    order_ids: Collection[str],
    *,
    key: bytes,
    now: datetime,
    valid_days: int,
) -> dict[str, tuple[str, datetime]]:
    """`withdrawal_token` for each of the orders, with one multi-row insert and one select for
    them all (a renewal, after the secret key changed, is one update per order)."""
    nonces = {order_id: secrets.token_hex(16) for order_id in dict.fromkeys(order_ids)}
    if not nonces:
        return {}
    await repository.add_withdrawal_tokens(
        session,
        [
            {
                "order_id": order_id,
                "nonce": nonce,
                "token_hash": _hash_token(_derive_token(key, order_id, nonce)),
                "expires_at": now + timedelta(days=valid_days),
                "used_at": None,
                "created_at": now,
            }
            for order_id, nonce in nonces.items()
        ],
    )
    stored = await repository.withdrawal_tokens(session, nonces)
    tokens: dict[str, tuple[str, datetime]] = {}
    for order_id, nonce in nonces.items():
        row = stored[order_id]
        token = _derive_token(key, order_id, row.nonce)
        if not hmac.compare_digest(_hash_token(token), row.token_hash):
            token = _derive_token(key, order_id, nonce)
            await repository.renew_withdrawal_token(
                session, order_id=order_id, nonce=nonce, token_hash=_hash_token(token)
            )
        tokens[order_id] = (token, row.expires_at)
    return tokens


async def verify_withdrawal_token(
    session: AsyncSession, order_id: str, token: str, now: datetime
) -> bool:
    """Whether `token` is the order's withdrawal token, unused and not expired. Marking it
    used (single use) belongs to the payout that consumes it."""
    stored = await repository.withdrawal_token(session, order_id)
    if stored is None or stored.used_at is not None or stored.expires_at <= now:
        return False
    return hmac.compare_digest(_hash_token(token), stored.token_hash)

"""Every query of the e-mail outbox and of the withdrawal tokens."""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.group.repository import OPEN
from kohort.http.lists import Kind, ListField
from kohort.models import (
    Customer,
    EmailMessage,
    Event,
    Order,
    Organization,
    PaymentGroup,
    WithdrawalToken,
)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
"""Not sent because what it says stopped being true (a reminder to a group no longer alone)."""
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED)

OUTBOX_FIELDS = {
    "kind": ListField(EmailMessage.kind, Kind.STRING),
    "recipient": ListField(EmailMessage.recipient, Kind.STRING),
    "status": ListField(EmailMessage.status, Kind.STRING, choices=STATUSES),
    "attempts": ListField(EmailMessage.attempts, Kind.INTEGER),
    "createdAt": ListField(EmailMessage.created_at, Kind.TIMESTAMP),
    "sentAt": ListField(EmailMessage.sent_at, Kind.TIMESTAMP, nullable=True),
}
"""The outbox as a list (the dashboard's): its searchable and sortable fields."""


def select_outbox(organization_id: str, livemode: bool) -> Select[EmailMessage]:
    return select(EmailMessage).where(
        EmailMessage.organization_id == organization_id, EmailMessage.livemode == livemode
    )


async def get_message(
    session: AsyncSession, *, organization_id: str, livemode: bool, message_id: str
) -> EmailMessage | None:
    stmt = select_outbox(organization_id, livemode).where(EmailMessage.id == message_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _insert_ignoring_duplicates(session: AsyncSession, model: Any) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` on either engine."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing()


async def add_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows; one already there for the same (event, recipient, kind) is kept."""
    if rows:
        await session.execute(_insert_ignoring_duplicates(session, EmailMessage), list(rows))


async def customer_locales(session: AsyncSession, customer_ids: Collection[str]) -> dict[str, str]:
    if not customer_ids:
        return {}
    stmt = select(Customer.id, Customer.locale).where(Customer.id.in_(set(customer_ids)))
    return {row.id: row.locale for row in await session.execute(stmt)}


async def order(session: AsyncSession, order_id: str) -> Order | None:
    return await session.get(Order, order_id)


async def order_created_before(session: AsyncSession, seq: int) -> Event | None:
    """The last `order.created` appended before event `seq`: for a join, the joining order's
    (the join appends it first, in the same transaction)."""
    stmt = (
        select(Event)
        .where(Event.seq < seq, Event.type == "order.created")
        .order_by(Event.seq.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[EmailMessage]:
    """Lease up to `limit` due messages no other worker holds: pending ones, and sending ones
    whose lease ran out (their worker died). Each gets one more attempt."""
    stmt = (
        select(EmailMessage)
        .where(EmailMessage.status.in_((PENDING, SENDING)), EmailMessage.next_attempt_at <= now)
        .order_by(EmailMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    messages = list((await session.execute(stmt)).scalars())
    if messages:
        await session.execute(
            update(EmailMessage)
            .where(EmailMessage.id.in_([message.id for message in messages]))
            .values(
                status=SENDING,
                attempts=EmailMessage.attempts + 1,
                next_attempt_at=lease_until,
            )
            .execution_options(synchronize_session=False)
        )
        for message in messages:
            message.status, message.attempts = SENDING, message.attempts + 1
            message.next_attempt_at = lease_until
    return messages


async def groups_still_alone(session: AsyncSession, group_ids: Collection[str]) -> set[str]:
    """The groups among `group_ids` still OPEN with their creator alone (a reminder holds;
    `service.still_alone` on a loaded group)."""
    if not group_ids:
        return set()
    stmt = select(PaymentGroup.id).where(
        PaymentGroup.id.in_(set(group_ids)),
        PaymentGroup.status == OPEN,
        PaymentGroup.participants_count == 1,
    )
    return set((await session.execute(stmt)).scalars())


async def organizations(
    session: AsyncSession, organization_ids: Collection[str]
) -> dict[str, Organization]:
    stmt = select(Organization).where(Organization.id.in_(set(organization_ids)))
    return {org.id: org for org in (await session.execute(stmt)).scalars()}


async def finish_attempts(
    session: AsyncSession, leases: Sequence[tuple[str, int]], *, values: dict[str, Any]
) -> set[str]:
    """Record the same outcome for the attempts that leased these (message id, attempts); the
    ids actually changed: a message whose lease ran out and another worker took over is left
    alone. One statement per chunk of messages."""
    done: set[str] = set()
    for start in range(0, len(leases), _CHUNK):
        chunk = leases[start : start + _CHUNK]
        result = await session.execute(
            update(EmailMessage)
            .where(
                tuple_(EmailMessage.id, EmailMessage.attempts).in_(chunk),
                EmailMessage.status == SENDING,
            )
            .values(**values)
            .returning(EmailMessage.id)
            .execution_options(synchronize_session=False)
        )
        done.update(result.scalars())
    return done


_CHUNK = 500
"""Rows per statement, well under the bound-parameter limits of both engines."""


async def add_withdrawal_tokens(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert each order's token unless it has one: one multi-row `INSERT` per chunk."""
    for start in range(0, len(rows), _CHUNK):
        insert = _insert_ignoring_duplicates(session, WithdrawalToken)
        await session.execute(insert.values(list(rows[start : start + _CHUNK])))


async def withdrawal_tokens(
    session: AsyncSession, order_ids: Collection[str]
) -> dict[str, WithdrawalToken]:
    ids = list(order_ids)
    found: dict[str, WithdrawalToken] = {}
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            select(WithdrawalToken)
            .where(WithdrawalToken.order_id.in_(ids[start : start + _CHUNK]))
            .execution_options(populate_existing=True)
        )
        found.update((t.order_id, t) for t in (await session.execute(stmt)).scalars())
    return found


async def withdrawal_token(session: AsyncSession, order_id: str) -> WithdrawalToken | None:
    stmt = (
        select(WithdrawalToken)
        .where(WithdrawalToken.order_id == order_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def renew_withdrawal_token(
    session: AsyncSession, *, order_id: str, nonce: str, token_hash: str
) -> None:
    """Give an unused token a new nonce and hash (the secret key changed)."""
    await session.execute(
        update(WithdrawalToken)
        .where(WithdrawalToken.order_id == order_id, WithdrawalToken.used_at.is_(None))
        .values(nonce=nonce, token_hash=token_hash)
    )


async def retry_failed(
    session: AsyncSession,
    *,
    now: datetime,
    organization_id: str | None = None,
    error_contains: str | None = None,
    message_id: str | None = None,
) -> int:
    """Failed messages (of one organization, whose last error contains a text, or the one
    message `message_id`) pending again, due now, with a fresh count of attempts; how many.
    Sent or pending ones are not touched."""
    stmt = update(EmailMessage).where(EmailMessage.status == FAILED)
    if organization_id is not None:
        stmt = stmt.where(EmailMessage.organization_id == organization_id)
    if message_id is not None:
        stmt = stmt.where(EmailMessage.id == message_id)
    if error_contains:
        stmt = stmt.where(EmailMessage.last_error.contains(error_contains, autoescape=True))
    result = await session.execute(
        stmt.values(status=PENDING, attempts=0, next_attempt_at=now)
        .returning(EmailMessage.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.scalars().all())

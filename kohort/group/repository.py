"""Every query on groups; every one is scoped to an organization and a mode."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.customer.repository import email_key as email_key_of
from kohort.http.lists import Kind, ListField
from kohort.ids import share_key
from kohort.models import Order, PaymentGroup

OPEN = "OPEN"
COMPLETED = "COMPLETED"
EXPIRED = "EXPIRED"
CANCELED = "CANCELED"

LIST_FIELDS = {
    "id": ListField(PaymentGroup.id, Kind.STRING),
    "shareId": ListField(PaymentGroup.share_id, Kind.STRING),
    "customerId": ListField(PaymentGroup.customer_id, Kind.STRING),
    "creatorEmail": ListField(PaymentGroup.creator_email, Kind.STRING),
    "status": ListField(
        PaymentGroup.status, Kind.STRING, choices=(OPEN, COMPLETED, CANCELED, EXPIRED)
    ),
    "reminderEmailSent": ListField(
        PaymentGroup.reminder_email_sent,
        Kind.STRING,
        choices=("NOT_SENT", "MIDWAY_SENT", "DAY3_SENT", "DAY2_BEFORE_END_SENT"),
    ),
    "participantsCount": ListField(PaymentGroup.participants_count, Kind.INTEGER),
    "expiresAt": ListField(PaymentGroup.expires_at, Kind.TIMESTAMP),
    "createdAt": ListField(PaymentGroup.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(PaymentGroup.updated_at, Kind.TIMESTAMP),
    "completedAt": ListField(PaymentGroup.completed_at, Kind.TIMESTAMP, nullable=True),
    "canceledAt": ListField(PaymentGroup.canceled_at, Kind.TIMESTAMP, nullable=True),
}


def _scoped(organization_id: str, livemode: bool) -> Select[PaymentGroup]:
    return select(PaymentGroup).where(
        PaymentGroup.organization_id == organization_id, PaymentGroup.livemode == livemode
    )


def select_listed(organization_id: str, livemode: bool) -> Select[PaymentGroup]:
    return _scoped(organization_id, livemode)


async def get_by_id_or_code(
    session: AsyncSession, *, organization_id: str, livemode: bool, id_or_code: str
) -> PaymentGroup | None:
    """By `pg_…` id, or by share code whatever its case."""
    stmt = _by_id_or_code(_scoped(organization_id, livemode), id_or_code)
    return (await session.execute(stmt)).scalar_one_or_none()


def _by_id_or_code(stmt: Any, id_or_code: str) -> Any:
    if id_or_code.startswith("pg_"):
        return stmt.where(PaymentGroup.id == id_or_code)
    return stmt.where(PaymentGroup.share_key == share_key(id_or_code))


async def get(session: AsyncSession, group_id: str) -> PaymentGroup | None:
    """A group by id, fresh from the database (after a conditional update)."""
    stmt = select(PaymentGroup).where(PaymentGroup.id == group_id)
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def share_key_taken(session: AsyncSession, key: str) -> bool:
    stmt = select(exists().where(PaymentGroup.share_key == key))
    return bool((await session.execute(stmt)).scalar_one())


async def email_is_member(session: AsyncSession, *, group_id: str, email_key: str) -> bool:
    stmt = select(exists().where(Order.payment_group_id == group_id, Order.email_key == email_key))
    return bool((await session.execute(stmt)).scalar_one())


async def take_seat(session: AsyncSession, *, group_id: str, now: datetime) -> PaymentGroup | None:
    """Add one member if the group is OPEN, not expired and not full: one conditional UPDATE,
    so concurrent joins never overfill. The group as updated, or None when refused."""
    result = await session.execute(
        update(PaymentGroup)
        .where(
            PaymentGroup.id == group_id,
            PaymentGroup.status == OPEN,
            PaymentGroup.expires_at > now,
            PaymentGroup.participants_count < PaymentGroup.max_participants,
        )
        .values(participants_count=PaymentGroup.participants_count + 1, updated_at=now)
        .returning(PaymentGroup)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def get_with_membership(
    session: AsyncSession, *, organization_id: str, livemode: bool, id_or_code: str, email: str
) -> tuple[PaymentGroup, bool] | None:
    """The group of `id_or_code`, and whether `email` is already one of its members."""
    member = (
        exists()
        .where(Order.payment_group_id == PaymentGroup.id, Order.email_key == email_key_of(email))
        .label("member")
    )
    stmt = _by_id_or_code(
        select(PaymentGroup, member).where(
            PaymentGroup.organization_id == organization_id, PaymentGroup.livemode == livemode
        ),
        id_or_code,
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], bool(row[1]))


async def transition(
    session: AsyncSession, *, group_id: str, condition: Any, values: dict[str, Any]
) -> bool:
    """Move an OPEN group on, if `condition` still holds; False when another actor won."""
    result = await session.execute(
        update(PaymentGroup)
        .where(PaymentGroup.id == group_id, PaymentGroup.status == OPEN, condition)
        .values(**values)
        .returning(PaymentGroup.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def members(session: AsyncSession, group_id: str) -> Sequence[Order]:
    """The group's orders, creator first (by customer, not by clock: orders created in the
    same millisecond would otherwise come in id order), then in order of joining."""
    creator = select(PaymentGroup.customer_id).where(PaymentGroup.id == group_id)
    is_creator = case((Order.customer_id == creator.scalar_subquery(), 0), else_=1)
    stmt = (
        select(Order)
        .where(Order.payment_group_id == group_id)
        .order_by(is_creator, Order.created_at, Order.id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().all()


async def update_group(session: AsyncSession, group_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(PaymentGroup)
        .where(PaymentGroup.id == group_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )

"""Every query of the analytics page: SQL aggregates bucketed by local day, never rows.

A day bucket is a binary tree of `CASE WHEN t < bound` over the UTC bounds of the
organization's local days (computed in Python with zoneinfo): about log2(days) comparisons per
row, the same SQL on SQLite and PostgreSQL, right across daylight-saving changes."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kohort.models import Order, Organization, PaymentGroup, Payout

CANCELED = "CANCELED"
COMPLETED = "COMPLETED"
EXPIRED = "EXPIRED"
UNPAID_PAYOUTS = ("pending", "processing", "failed")


def day_of(column: Any, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """The index i of the day with bounds[i] <= column < bounds[i + 1] (the caller keeps the
    rows within bounds[0] … bounds[-1])."""

    def tree(low: int, high: int) -> ColumnElement[int]:
        if high - low == 1:
            return literal_column(str(low))
        middle = (low + high) // 2
        return case((column < bounds[middle], tree(low, middle)), else_=tree(middle, high))

    return tree(0, len(bounds) - 1)


def joining(order: Any, group: Any) -> ColumnElement[bool]:
    """The order joined its group rather than opened it: it came after the group was created,
    or it is another customer's than the group's creator."""
    return or_(order.created_at > group.created_at, order.customer_id != group.customer_id)


def _scoped(model: Any, organization_id: str, livemode: bool) -> ColumnElement[bool]:
    return and_(model.organization_id == organization_id, model.livemode == livemode)


async def without_jit(session: AsyncSession) -> None:
    """PostgreSQL: no JIT for this transaction. Its cost model sees the day tree as costly
    and compiles for hundreds of milliseconds queries that run in tens."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))


async def organization_timezone(session: AsyncSession, organization_id: str) -> str:
    stmt = select(Organization.timezone).where(Organization.id == organization_id)
    return str((await session.execute(stmt)).scalar_one())


def _orders_within(
    organization_id: str, livemode: bool, bounds: Sequence[datetime]
) -> list[ColumnElement[bool]]:
    return [
        _scoped(Order, organization_id, livemode),
        Order.created_at >= bounds[0],
        Order.created_at < bounds[-1],
    ]


async def order_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, bounds: Sequence[datetime]
) -> Sequence[Any]:
    """Per day of registration: referred revenue, joins, opening orders and fees (canceled
    orders left out of all)."""
    is_join = and_(joining(Order, PaymentGroup), Order.status != CANCELED)
    is_opening = and_(~joining(Order, PaymentGroup), Order.status != CANCELED)
    rows = (
        select(
            day_of(Order.created_at, bounds).label("day"),
            case((is_join, Order.amount - Order.amount_refunded), else_=0).label("revenue"),
            case((is_join, 1), else_=0).label("joins"),
            case((is_opening, 1), else_=0).label("openings"),
            case((is_join, Order.application_fee_amount), else_=0).label("fees"),
        )
        .join(PaymentGroup, PaymentGroup.id == Order.payment_group_id)
        .where(*_orders_within(organization_id, livemode, bounds))
        .subquery()
    )
    stmt = select(
        rows.c.day,
        func.sum(rows.c.revenue),
        func.sum(rows.c.joins),
        func.sum(rows.c.openings),
        func.sum(rows.c.fees),
    ).group_by(rows.c.day)
    return (await session.execute(stmt)).all()


async def newcomer_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, bounds: Sequence[datetime]
) -> Sequence[Any]:
    """Per day: customers whose first order (earliest, then lowest id) is that day's joining
    order, not canceled. A NOT EXISTS in WHERE, so PostgreSQL plans it as an anti-join."""
    earlier = aliased(Order)
    rows = (
        select(day_of(Order.created_at, bounds).label("day"))
        .join(PaymentGroup, PaymentGroup.id == Order.payment_group_id)
        .where(
            *_orders_within(organization_id, livemode, bounds),
            joining(Order, PaymentGroup),
            Order.status != CANCELED,
            ~exists().where(
                earlier.customer_id == Order.customer_id,
                or_(
                    earlier.created_at < Order.created_at,
                    and_(earlier.created_at == Order.created_at, earlier.id < Order.id),
                ),
            ),
        )
        .subquery()
    )
    stmt = select(rows.c.day, func.count()).group_by(rows.c.day)
    return (await session.execute(stmt)).all()


def _has_join() -> ColumnElement[bool]:
    """The group has a joining order that is not canceled, or it completed (so had one)."""
    member = aliased(Order)
    return or_(
        PaymentGroup.status == COMPLETED,
        exists().where(
            member.payment_group_id == PaymentGroup.id,
            member.status != CANCELED,
            joining(member, PaymentGroup),
        ),
    )


async def opened_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, bounds: Sequence[datetime]
) -> Sequence[Any]:
    """Per day of creation: groups opened, of those with a join, of those completed (now)."""
    rows = (
        select(
            day_of(PaymentGroup.created_at, bounds).label("day"),
            case((_has_join(), 1), else_=0).label("joined"),
            case((PaymentGroup.status == COMPLETED, 1), else_=0).label("completed"),
        )
        .where(
            _scoped(PaymentGroup, organization_id, livemode),
            PaymentGroup.created_at >= bounds[0],
            PaymentGroup.created_at < bounds[-1],
        )
        .subquery()
    )
    stmt = select(
        rows.c.day, func.count(), func.sum(rows.c.joined), func.sum(rows.c.completed)
    ).group_by(rows.c.day)
    return (await session.execute(stmt)).all()


def ended_at() -> ColumnElement[datetime]:
    """When a group ended: `completedAt`, or for an EXPIRED group the earlier of `expiresAt`
    (the worker) and its last update (`POST …/expire` ends it early and keeps `expiresAt`)."""
    return case(
        (PaymentGroup.status == COMPLETED, PaymentGroup.completed_at),
        (PaymentGroup.updated_at < PaymentGroup.expires_at, PaymentGroup.updated_at),
        else_=PaymentGroup.expires_at,
    )


def _ended_within(
    organization_id: str, livemode: bool, bounds: Sequence[datetime], statuses: Sequence[str]
) -> list[ColumnElement[bool]]:
    return [
        _scoped(PaymentGroup, organization_id, livemode),
        PaymentGroup.created_at < bounds[-1],
        PaymentGroup.status.in_(statuses),
        ended_at() >= bounds[0],
        ended_at() < bounds[-1],
    ]


async def ended_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, bounds: Sequence[datetime]
) -> Sequence[Any]:
    """Per day of their end: groups completed, groups expired, members of the completed."""
    is_completed = PaymentGroup.status == COMPLETED
    rows = (
        select(
            day_of(ended_at(), bounds).label("day"),
            case((is_completed, 1), else_=0).label("completed"),
            case((is_completed, 0), else_=1).label("expired"),
            case((is_completed, PaymentGroup.participants_count), else_=0).label("members"),
        )
        .where(*_ended_within(organization_id, livemode, bounds, (COMPLETED, EXPIRED)))
        .subquery()
    )
    stmt = select(
        rows.c.day, func.sum(rows.c.completed), func.sum(rows.c.expired), func.sum(rows.c.members)
    ).group_by(rows.c.day)
    return (await session.execute(stmt)).all()


async def cashback_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, bounds: Sequence[datetime]
) -> Sequence[Any]:
    """Per day of their group's completion: the cashback of the member orders not canceled."""
    rows = (
        select(
            day_of(PaymentGroup.completed_at, bounds).label("day"),
            func.coalesce(Order.amount_cashback, 0).label("cashback"),
        )
        .join(Order, Order.payment_group_id == PaymentGroup.id)
        .where(
            *_ended_within(organization_id, livemode, bounds, (COMPLETED,)),
            Order.status != CANCELED,
        )
        .subquery()
    )
    stmt = select(rows.c.day, func.sum(rows.c.cashback)).group_by(rows.c.day)
    return (await session.execute(stmt)).all()


async def cashback_paid(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    start: datetime,
    middle: datetime,
    end: datetime,
) -> tuple[int, int]:
    """The amounts of the payouts paid in [start, middle) and in [middle, end)."""
    stmt = select(
        func.coalesce(func.sum(case((Payout.paid_at < middle, Payout.amount), else_=0)), 0),
        func.coalesce(func.sum(case((Payout.paid_at >= middle, Payout.amount), else_=0)), 0),
    ).where(
        _scoped(Payout, organization_id, livemode),
        Payout.created_at < end,
        Payout.status == "paid",
        Payout.paid_at >= start,
        Payout.paid_at < end,
    )
    before, during = (await session.execute(stmt)).one()
    return int(before), int(during)


async def cashback_pending(session: AsyncSession, *, organization_id: str, livemode: bool) -> int:
    """Cashback owed and not paid yet: CASHBACK_AVAILABLE orders and payouts not paid."""
    available = select(func.coalesce(func.sum(Order.amount_cashback), 0)).where(
        Order.status == literal_column("'CASHBACK_AVAILABLE'"),
        _scoped(Order, organization_id, livemode),
    )
    unpaid = select(func.coalesce(func.sum(Payout.amount), 0)).where(
        Payout.status.in_(UNPAID_PAYOUTS), _scoped(Payout, organization_id, livemode)
    )
    stmt = select(available.scalar_subquery(), unpaid.scalar_subquery())
    first, second = (await session.execute(stmt)).one()
    return int(first) + int(second)


async def top_groups(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    start: datetime,
    end: datetime,
    limit: int,
) -> Sequence[Any]:
    """The groups created in [start, end) with the most members, then the most referred
    revenue (their joining orders not canceled, whenever registered), then by id."""
    owner = aliased(PaymentGroup)
    revenue = (
        select(
            Order.payment_group_id.label("group_id"),
            func.sum(Order.amount - Order.amount_refunded).label("revenue"),
        )
        .join(owner, owner.id == Order.payment_group_id)
        .where(
            _scoped(Order, organization_id, livemode),
            Order.created_at >= start,
            Order.status != CANCELED,
            joining(Order, owner),
            owner.created_at >= start,
            owner.created_at < end,
        )
        .group_by(Order.payment_group_id)
        .subquery()
    )
    referred = func.coalesce(revenue.c.revenue, 0)
    stmt = (
        select(
            PaymentGroup.id,
            PaymentGroup.share_id,
            PaymentGroup.status,
            PaymentGroup.participants_count,
            referred,
        )
        .outerjoin(revenue, revenue.c.group_id == PaymentGroup.id)
        .where(
            _scoped(PaymentGroup, organization_id, livemode),
            PaymentGroup.created_at >= start,
            PaymentGroup.created_at < end,
        )
        .order_by(PaymentGroup.participants_count.desc(), referred.desc(), PaymentGroup.id)
        .limit(limit)
    )
    rows: Sequence[Any] = (await session.execute(stmt)).all()
    return rows

"""Every query of the analytics page: SQL aggregates bucketed by local day, never rows.

A day bucket is a binary tree of `CASE WHEN t < bound` over the UTC bounds of the
organization's local days (computed in Python with zoneinfo): about log2(days) comparisons per
row, the same SQL on SQLite and PostgreSQL, right across daylight-saving changes."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kohort.models import Order, Organization, PaymentGroup, Payout, ShareCount

CANCELED = "CANCELED"
COMPLETED = "COMPLETED"
EXPIRED = "EXPIRED"
UNPAID_PAYOUTS = ("pending", "processing", "failed")


def day_of(
    column: Any, bounds: Sequence[datetime], labels: Sequence[int] | None = None
) -> ColumnElement[int]:
    """The index i of the day with bounds[i] <= column < bounds[i + 1] (the caller keeps the
    rows within bounds[0] … bounds[-1]), or labels[i] when given. Bounds and labels are bound
    parameters: trees with as many leaves are one statement for SQLAlchemy's compiled cache."""

    def tree(low: int, high: int) -> ColumnElement[int]:
        if high - low == 1:
            return literal(low if labels is None else labels[low], Integer)
        middle = (low + high) // 2
        return case((column < bounds[middle], tree(low, middle)), else_=tree(middle, high))

    return tree(0, len(bounds) - 1)


@dataclass(frozen=True)
class Buckets:
    """The local days to compute: `bounds` are the UTC instants at which the days of a span
    begin (and the last one ends); `runs` are the [first, end) index ranges of the days wanted
    within it. A row is counted on day i when bounds[i] <= its time < bounds[i + 1]; the day
    tree only tells the wanted days apart (a few days cost a few comparisons)."""

    bounds: Sequence[datetime]
    runs: Sequence[tuple[int, int]]

    def day(self, column: Any) -> ColumnElement[int]:
        points: list[datetime] = []
        labels: list[int] = []
        for first, end in self.runs:
            if points and points[-1] == self.bounds[first]:
                points.pop()
            elif points:
                labels.append(-1)  # the gap between two runs: `contains` keeps its rows out
            points.extend(self.bounds[first : end + 1])
            labels.extend(range(first, end))
        # As many leaves as the next power of two (empty instants after the last day), so that
        # the days' number and places change the statement's parameters, not its shape.
        leaves = 1 << (len(labels) - 1).bit_length()
        for extra in range(1, leaves - len(labels) + 1):
            points.append(points[-1] + timedelta(microseconds=extra))
            labels.append(-1)
        return day_of(column, points, labels)

    @property
    def days(self) -> int:
        return sum(end - first for first, end in self.runs)

    @property
    def start(self) -> datetime:
        """When the first day wanted begins."""
        return self.bounds[self.runs[0][0]]

    def contains(self, column: Any) -> ColumnElement[bool]:
        return or_(*(and_(column >= self.bounds[a], column < self.bounds[b]) for a, b in self.runs))


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
    organization_id: str, livemode: bool, buckets: Buckets
) -> list[ColumnElement[bool]]:
    return [_scoped(Order, organization_id, livemode), buckets.contains(Order.created_at)]


async def order_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, buckets: Buckets
) -> Sequence[Any]:
    """Per day of registration: referred revenue, joins, opening orders and fees (canceled
    orders left out of all)."""
    is_join = and_(joining(Order, PaymentGroup), Order.status != CANCELED)
    is_opening = and_(~joining(Order, PaymentGroup), Order.status != CANCELED)
    rows = (
        select(
            buckets.day(Order.created_at).label("day"),
            case((is_join, Order.amount - Order.amount_refunded), else_=0).label("revenue"),
            case((is_join, 1), else_=0).label("joins"),
            case((is_opening, 1), else_=0).label("openings"),
            case((is_join, Order.application_fee_amount), else_=0).label("fees"),
        )
        .join(PaymentGroup, PaymentGroup.id == Order.payment_group_id)
        .where(*_orders_within(organization_id, livemode, buckets))
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


FEW_DAYS = 31
"""Up to this many days, per-row lookups beat reading every order (see `newcomer_days`)."""


async def newcomer_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, buckets: Buckets
) -> Sequence[Any]:
    """Per day: customers whose first order (earliest, then lowest id) is that day's joining
    order, not canceled. For many days, a NOT EXISTS in WHERE, which PostgreSQL plans as one
    hashed anti-join over the orders; for a few (the cache's usual work), the same test in
    the select list, which it runs per row on the customer's index."""
    earlier = aliased(Order)
    first = ~exists().where(
        earlier.customer_id == Order.customer_id,
        or_(
            earlier.created_at < Order.created_at,
            and_(earlier.created_at == Order.created_at, earlier.id < Order.id),
        ),
    )
    conditions = [
        *_orders_within(organization_id, livemode, buckets),
        joining(Order, PaymentGroup),
        Order.status != CANCELED,
    ]
    few = buckets.days <= FEW_DAYS
    rows = (
        select(
            buckets.day(Order.created_at).label("day"),
            (case((first, 1), else_=0) if few else literal_column("1", Integer)).label("first"),
        )
        .select_from(Order)
        .join(PaymentGroup, PaymentGroup.id == Order.payment_group_id)
        .where(*conditions, *(() if few else (first,)))
        .subquery()
    )
    stmt = select(rows.c.day, func.sum(rows.c.first)).group_by(rows.c.day)
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
    session: AsyncSession, *, organization_id: str, livemode: bool, buckets: Buckets
) -> Sequence[Any]:
    """Per day of creation: groups opened, of those with a join, of those completed (now)."""
    rows = (
        select(
            buckets.day(PaymentGroup.created_at).label("day"),
            case((_has_join(), 1), else_=0).label("joined"),
            case((PaymentGroup.status == COMPLETED, 1), else_=0).label("completed"),
        )
        .where(
            _scoped(PaymentGroup, organization_id, livemode),
            buckets.contains(PaymentGroup.created_at),
        )
        .subquery()
    )
    stmt = select(
        rows.c.day, func.count(), func.sum(rows.c.joined), func.sum(rows.c.completed)
    ).group_by(rows.c.day)
    return (await session.execute(stmt)).all()


async def ended_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, buckets: Buckets
) -> Sequence[Any]:
    """Per day of their end: groups completed (`completedAt`), groups expired (`expired_at`),
    members of the completed; each part ranged on its own index."""
    completed = select(
        buckets.day(PaymentGroup.completed_at).label("day"),
        literal_column("1", Integer).label("completed"),
        literal_column("0", Integer).label("expired"),
        PaymentGroup.participants_count.label("members"),
    ).where(
        _scoped(PaymentGroup, organization_id, livemode),
        buckets.contains(PaymentGroup.completed_at),
        PaymentGroup.status == COMPLETED,
    )
    expired = select(
        buckets.day(PaymentGroup.expired_at).label("day"),
        literal_column("0", Integer).label("completed"),
        literal_column("1", Integer).label("expired"),
        literal_column("0", Integer).label("members"),
    ).where(
        _scoped(PaymentGroup, organization_id, livemode),
        buckets.contains(PaymentGroup.expired_at),
        PaymentGroup.status == EXPIRED,
    )
    rows = completed.union_all(expired).subquery()
    stmt = select(
        rows.c.day, func.sum(rows.c.completed), func.sum(rows.c.expired), func.sum(rows.c.members)
    ).group_by(rows.c.day)
    return (await session.execute(stmt)).all()


async def cashback_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, buckets: Buckets
) -> Sequence[Any]:
    """Per day of their group's completion: the cashback of the member orders not canceled
    (summed per group on the orders' group index: a completion day has few groups)."""
    member = aliased(Order)
    cashback = (
        select(func.coalesce(func.sum(member.amount_cashback), 0))
        .where(member.payment_group_id == PaymentGroup.id, member.status != CANCELED)
        .scalar_subquery()
    )
    rows = (
        select(
            buckets.day(PaymentGroup.completed_at).label("day"),
            cashback.label("cashback"),
        )
        .where(
            _scoped(PaymentGroup, organization_id, livemode),
            buckets.contains(PaymentGroup.completed_at),
            PaymentGroup.status == COMPLETED,
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
    buckets: Buckets,
    limit: int,
) -> Sequence[Any]:
    """Per day of creation, its `limit` groups with the most members, then the most referred
    revenue (their joining orders not canceled), then by id: rows (day, id, share id, status,
    members, referred revenue)."""
    owner = aliased(PaymentGroup)
    revenue = (
        select(
            Order.payment_group_id.label("group_id"),
            func.sum(Order.amount - Order.amount_refunded).label("revenue"),
        )
        .join(owner, owner.id == Order.payment_group_id)
        .where(
            _scoped(Order, organization_id, livemode),
            Order.created_at >= buckets.start,  # after their group: its creation is in the runs
            Order.status != CANCELED,
            joining(Order, owner),
            buckets.contains(owner.created_at),
        )
        .group_by(Order.payment_group_id)
        .subquery()
    )
    referred = func.coalesce(revenue.c.revenue, 0)
    day = buckets.day(PaymentGroup.created_at)
    ranked = (
        select(
            day.label("day"),
            PaymentGroup.id.label("id"),
            PaymentGroup.share_id.label("share_id"),
            PaymentGroup.status.label("status"),
            PaymentGroup.participants_count.label("members"),
            referred.label("revenue"),
            func.row_number()
            .over(
                partition_by=day,
                order_by=(
                    PaymentGroup.participants_count.desc(),
                    referred.desc(),
                    PaymentGroup.id,
                ),
            )
            .label("rank"),
        )
        .outerjoin(revenue, revenue.c.group_id == PaymentGroup.id)
        .where(
            _scoped(PaymentGroup, organization_id, livemode),
            buckets.contains(PaymentGroup.created_at),
        )
        .subquery()
    )
    stmt = select(
        ranked.c.day,
        ranked.c.id,
        ranked.c.share_id,
        ranked.c.status,
        ranked.c.members,
        ranked.c.revenue,
    ).where(ranked.c.rank <= limit)
    rows: Sequence[Any] = (await session.execute(stmt)).all()
    return rows


async def changes(
    session: AsyncSession, *, organization_id: str, livemode: bool, since: datetime
) -> Sequence[Any]:
    """The orders and groups changed at or after `since`, each as (its `updated_at`, then the
    moments that place it on days: an order's registration, its group's creation and
    completion; a group's creation, completion and expiry)."""
    group = aliased(PaymentGroup)
    orders = (
        select(Order.updated_at, Order.created_at, group.created_at, group.completed_at)
        .join(group, group.id == Order.payment_group_id)
        .where(_scoped(Order, organization_id, livemode), Order.updated_at >= since)
    )
    groups = select(
        PaymentGroup.updated_at,
        PaymentGroup.created_at,
        PaymentGroup.completed_at,
        PaymentGroup.expired_at,
    ).where(_scoped(PaymentGroup, organization_id, livemode), PaymentGroup.updated_at >= since)
    rows: Sequence[Any] = (await session.execute(orders.union_all(groups))).all()
    return rows


async def share_days(
    session: AsyncSession, *, organization_id: str, livemode: bool, start: date, end: date
) -> list[tuple[date, str, int]]:
    """(day, channel, count) of the share counts of the local days in [start, end)."""
    stmt = (
        select(ShareCount.day, ShareCount.channel, func.sum(ShareCount.count))
        .where(
            _scoped(ShareCount, organization_id, livemode),
            ShareCount.day >= start,
            ShareCount.day < end,
        )
        .group_by(ShareCount.day, ShareCount.channel)
    )
    return [(day, channel, int(count)) for day, channel, count in (await session.execute(stmt))]

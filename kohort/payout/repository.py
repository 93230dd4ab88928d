"""Every query on payouts, and the order transitions a payout makes."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.http.lists import Kind, ListField
from kohort.models import Order, Organization, Payout

PENDING = "pending"
PROCESSING = "processing"
PAID = "paid"
FAILED = "failed"
STATUSES = (PENDING, PROCESSING, PAID, FAILED)

TEST = "test"
"""Test mode's method until test mode rehearsed SEPA: no new payout uses it; the stored ones
keep it (and a pending one is still paid by the worker)."""
STRIPE_REFUND = "stripe_refund"
SEPA_TRANSFER = "sepa_transfer"
METHODS = (TEST, STRIPE_REFUND, SEPA_TRANSFER)

CASHBACK_AVAILABLE = "CASHBACK_AVAILABLE"
CASHBACK_PROCESSING = "CASHBACK_PROCESSING"
CASHBACK_SENT = "CASHBACK_SENT"

LIST_FIELDS = {
    "id": ListField(Payout.id, Kind.STRING),
    "orderId": ListField(Payout.order_id, Kind.STRING),
    "method": ListField(Payout.method, Kind.STRING, choices=METHODS),
    "status": ListField(Payout.status, Kind.STRING, choices=STATUSES),
    "amount": ListField(Payout.amount, Kind.INTEGER),
    "attempts": ListField(Payout.attempts, Kind.INTEGER),
    "batchId": ListField(Payout.batch_id, Kind.STRING, nullable=True),
    "createdAt": ListField(Payout.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(Payout.updated_at, Kind.TIMESTAMP),
    "paidAt": ListField(Payout.paid_at, Kind.TIMESTAMP, nullable=True),
    "failedAt": ListField(Payout.failed_at, Kind.TIMESTAMP, nullable=True),
}


def select_listed(organization_id: str, livemode: bool) -> Select[Payout]:
    return select(Payout).where(
        Payout.organization_id == organization_id, Payout.livemode == livemode
    )


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, payout_id: str
) -> Payout | None:
    stmt = select_listed(organization_id, livemode).where(Payout.id == payout_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_id(session: AsyncSession, payout_id: str) -> Payout | None:
    stmt = select(Payout).where(Payout.id == payout_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_order(session: AsyncSession, order_id: str) -> Payout | None:
    stmt = select(Payout).where(Payout.order_id == order_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def move_order(
    session: AsyncSession, order_id: str, *, from_status: str, to_status: str, now: datetime
) -> Order | None:
    """One conditional UPDATE of the order's status; None when it was not `from_status`."""
    stmt = (
        update(Order)
        .where(Order.id == order_id, Order.status == from_status)
        .values(status=to_status, updated_at=now, updated_by="system")
        .returning(Order)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_if(
    session: AsyncSession,
    payout_id: str,
    *,
    statuses: Collection[str] | None = None,
    attempts: int | None = None,
    values: Mapping[str, Any],
) -> Payout | None:
    """One conditional UPDATE of a payout, if its status is among `statuses` and it is at
    attempt `attempts` (when given); None when it is not."""
    conditions = [Payout.id == payout_id]
    if statuses is not None:
        conditions.append(Payout.status.in_(statuses))
    if attempts is not None:
        conditions.append(Payout.attempts == attempts)
    stmt = (
        update(Payout)
        .where(*conditions)
        .values(**values)
        .returning(Payout)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def claim_orders_to_pay(session: AsyncSession, *, limit: int) -> list[Order]:
    """CASHBACK_AVAILABLE orders with no payout whose method needs no shopper action (live
    orders of organizations paying by Stripe refund), locked. Test mode pays by SEPA, like
    live mode's default: its payouts start on the withdrawal page."""
    stmt = (
        select(Order)
        .join(Organization, Organization.id == Order.organization_id)
        .where(
            Order.status == CASHBACK_AVAILABLE,
            Order.livemode.is_(True),
            Organization.payout_method == STRIPE_REFUND,
            ~exists().where(Payout.order_id == Order.id),
        )
        .order_by(Order.updated_at, Order.id)
        .limit(limit)
        .with_for_update(of=Order, skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def claim_due(
    session: AsyncSession, *, now: datetime, methods: Sequence[str], limit: int
) -> list[Payout]:
    """Payouts due for a provider call, locked: pending ones whose time has come, and
    processing ones whose lease ran out (their worker died mid-call)."""
    stmt = (
        select(Payout)
        .where(
            Payout.status.in_((PENDING, PROCESSING)),
            Payout.next_attempt_at <= now,
            Payout.method.in_(methods),
        )
        .order_by(Payout.next_attempt_at, Payout.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def orders_by_id(session: AsyncSession, order_ids: Collection[str]) -> dict[str, Order]:
    if not order_ids:
        return {}
    stmt = select(Order).where(Order.id.in_(set(order_ids)))
    return {order.id: order for order in (await session.execute(stmt)).scalars()}


async def organizations_by_id(
    session: AsyncSession, organization_ids: Collection[str]
) -> dict[str, Organization]:
    if not organization_ids:
        return {}
    stmt = select(Organization).where(Organization.id.in_(set(organization_ids)))
    return {org.id: org for org in (await session.execute(stmt)).scalars()}

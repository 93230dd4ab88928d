"""Every query on orders and their refunds; every one is scoped to an organization and a
mode. The members' cashback is written by kohort.group.repository (its one owner), which
also holds the order statuses; they are named here too for the order's callers."""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.db import in_mode
from kohort.group import repository as groups
from kohort.http.lists import Kind, ListField
from kohort.models import Order, Payout, Refund

CREATED = groups.ORDER_CREATED
CASHBACK_AVAILABLE = groups.CASHBACK_AVAILABLE
CASHBACK_PROCESSING = groups.CASHBACK_PROCESSING
CASHBACK_SENT = groups.CASHBACK_SENT
CANCELED = groups.ORDER_CANCELED
CASHBACK_ON_HOLD = groups.CASHBACK_ON_HOLD
CASHBACK_REJECTED = groups.CASHBACK_REJECTED
STATUSES = groups.ORDER_STATUSES
REVIEWABLE = groups.REVIEWABLE
canceled_email_key = groups.canceled_email_key

LIST_FIELDS = {
    "id": ListField(Order.id, Kind.STRING),
    "amount": ListField(Order.amount, Kind.INTEGER),
    "amountCashback": ListField(Order.amount_cashback, Kind.INTEGER, nullable=True),
    "amountRefunded": ListField(Order.amount_refunded, Kind.INTEGER),
    "applicationFeeAmount": ListField(Order.application_fee_amount, Kind.INTEGER),
    "status": ListField(Order.status, Kind.STRING, choices=STATUSES),
    "riskLevel": ListField(
        Order.risk_level, Kind.STRING, nullable=True, choices=("LOW", "MEDIUM", "HIGH", "HIGHEST")
    ),
    "reviewStatus": ListField(
        Order.review_status, Kind.STRING, nullable=True, choices=("PENDING", "APPROVED", "REJECTED")
    ),
    "reviewDueAt": ListField(Order.review_due_at, Kind.TIMESTAMP, nullable=True),
    "paymentReference": ListField(Order.payment_reference, Kind.STRING, nullable=True),
    "canceledAt": ListField(Order.canceled_at, Kind.TIMESTAMP, nullable=True),
    "customerId": ListField(Order.customer_id, Kind.STRING),
    "customerEmail": ListField(Order.customer_email, Kind.STRING),
    "paymentGroupId": ListField(Order.payment_group_id, Kind.STRING),
    "paymentGroupShareId": ListField(Order.payment_group_share_id, Kind.STRING),
    "clientReferenceId": ListField(Order.client_reference_id, Kind.STRING, nullable=True),
    "locale": ListField(
        Order.locale,
        Kind.STRING,
        choices=("fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL"),
    ),
    "createdAt": ListField(Order.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(Order.updated_at, Kind.TIMESTAMP),
}


def select_listed(organization_id: str, livemode: bool) -> Select[Order]:
    return select(Order).where(Order.organization_id == organization_id, Order.livemode == livemode)


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, order_id: str
) -> Order | None:
    stmt = select_listed(organization_id, livemode).where(Order.id == order_id)
    return (await session.execute(stmt)).scalar_one_or_none()


_REFERENCE_USED = select(
    exists().where(
        *in_mode(Order),
        Order.client_reference_id == bindparam("client_reference_id"),
    )
)


async def client_reference_used(
    session: AsyncSession, *, organization_id: str, livemode: bool, client_reference_id: str
) -> bool:
    params = {
        "organization_id": organization_id,
        "livemode": livemode,
        "client_reference_id": client_reference_id,
    }
    return bool((await session.execute(_REFERENCE_USED, params)).scalar_one())


async def get_for_update(session: AsyncSession, order_id: str) -> Order:
    """The order fresh from the database, locked for this transaction on PostgreSQL (SQLite's
    write lock already serialises writers)."""
    stmt = (
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def has_payout(session: AsyncSession, order_id: str) -> bool:
    stmt = select(exists().where(Payout.order_id == order_id))
    return bool((await session.execute(stmt)).scalar_one())


async def cancel(
    session: AsyncSession,
    *,
    order_id: str,
    from_status: str,
    now: datetime,
    actor: str,
    amount_refunded: int | None = None,
) -> bool:
    """`from_status` → CANCELED, if the order is still in `from_status` and no payout exists
    for it; frees its (group, e-mail) key; a full refund sets `amount_refunded` too. False
    when another actor moved it first."""
    refunded = {} if amount_refunded is None else {"amount_refunded": amount_refunded}
    no_payout = ~exists().where(Payout.order_id == Order.id)
    result = await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == from_status, no_payout)
        .values(
            status=CANCELED,
            canceled_at=now,
            email_key=canceled_email_key(order_id),
            updated_at=now,
            updated_by=actor,
            **refunded,
        )
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


REFUND_LIST_FIELDS = {
    "id": ListField(Refund.id, Kind.STRING),
    "amount": ListField(Refund.amount, Kind.INTEGER),
    "reason": ListField(Refund.reason, Kind.STRING, nullable=True),
    "createdAt": ListField(Refund.created_at, Kind.TIMESTAMP),
}


def select_refunds(organization_id: str, livemode: bool, order_id: str) -> Select[Refund]:
    return select(Refund).where(
        Refund.organization_id == organization_id,
        Refund.livemode == livemode,
        Refund.order_id == order_id,
    )


async def payouts_by_order(session: AsyncSession, order_ids: Collection[str]) -> dict[str, Payout]:
    """The payouts of these orders, by order id, in one query (for a page of orders)."""
    if not order_ids:
        return {}
    stmt = select(Payout).where(Payout.order_id.in_(set(order_ids)))
    return {p.order_id: p for p in (await session.execute(stmt)).scalars()}


def payout_is(status: str | None) -> ColumnElement[bool]:
    """The orders whose payout has `status`; None: the orders without a payout."""
    if status is None:
        return ~exists().where(Payout.order_id == Order.id)
    return exists().where(Payout.order_id == Order.id, Payout.status == status)


def _pending_review(organization_id: str, livemode: bool) -> ColumnElement[bool]:
    return and_(
        Order.review_status == groups.REVIEW_PENDING,
        Order.organization_id == organization_id,
        Order.livemode == livemode,
        Order.status.in_(REVIEWABLE),
    )


def select_pending_reviews(organization_id: str, livemode: bool) -> Select[Order]:
    """The mode's review queue: its orders under review a decision can still change."""
    return select(Order).where(_pending_review(organization_id, livemode))


async def count_pending_reviews(session: AsyncSession, organization_id: str, livemode: bool) -> int:
    """The queue's size (the partial index of pending reviews), which the dashboard's
    navigation shows on every page."""
    count = await session.scalar(
        select(func.count()).select_from(Order).where(_pending_review(organization_id, livemode))
    )
    return int(count or 0)

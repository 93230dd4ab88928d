"""Every query on checkout sessions; every one is scoped to an organization and a mode (by the
ids the caller already holds, for the lookups by order)."""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.http.lists import Kind, ListField
from kohort.models import CheckoutSession, Order

OPEN = "OPEN"
COMPLETED = "COMPLETED"
EXPIRED = "EXPIRED"

LIST_FIELDS = {
    "id": ListField(CheckoutSession.id, Kind.STRING),
    "status": ListField(CheckoutSession.status, Kind.STRING, choices=(COMPLETED, EXPIRED)),
    "amountTotal": ListField(CheckoutSession.amount_total, Kind.INTEGER),
    "currency": ListField(CheckoutSession.currency, Kind.STRING, choices=("EUR",)),
    "locale": ListField(
        CheckoutSession.locale,
        Kind.STRING,
        choices=("fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL"),
    ),
    "clientReferenceId": ListField(CheckoutSession.client_reference_id, Kind.STRING, nullable=True),
    "paymentClientReferenceId": ListField(
        CheckoutSession.payment_client_reference_id, Kind.STRING, nullable=True
    ),
    "customerId": ListField(Order.customer_id, Kind.STRING),
    "customerEmail": ListField(Order.customer_email, Kind.STRING),
    "paymentGroupId": ListField(Order.payment_group_id, Kind.STRING),
    "paymentGroupShareId": ListField(Order.payment_group_share_id, Kind.STRING),
    "expiresAt": ListField(CheckoutSession.expires_at, Kind.TIMESTAMP, nullable=True),
    "createdAt": ListField(CheckoutSession.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(CheckoutSession.updated_at, Kind.TIMESTAMP),
}
"""Searchable and sortable fields; the customer and group ones are the session's order's."""


def select_listed(organization_id: str, livemode: bool) -> Select[CheckoutSession]:
    return (
        select(CheckoutSession)
        .join(Order, Order.id == CheckoutSession.order_id)
        .where(
            CheckoutSession.organization_id == organization_id,
            CheckoutSession.livemode == livemode,
        )
    )


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, checkout_session_id: str
) -> CheckoutSession | None:
    stmt = select(CheckoutSession).where(
        CheckoutSession.id == checkout_session_id,
        CheckoutSession.organization_id == organization_id,
        CheckoutSession.livemode == livemode,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def orders_of(
    session: AsyncSession, checkout_sessions: Collection[CheckoutSession]
) -> dict[str, Order]:
    """The orders of these sessions by order id, in one query, fresh from the database."""
    if not checkout_sessions:
        return {}
    stmt = (
        select(Order)
        .where(Order.id.in_({cs.order_id for cs in checkout_sessions}))
        .execution_options(populate_existing=True)
    )
    return {order.id: order for order in (await session.execute(stmt)).scalars()}


async def ids_by_order(session: AsyncSession, order_ids: Collection[str]) -> dict[str, str]:
    """The checkout session id of each of these orders that has one."""
    if not order_ids:
        return {}
    stmt = select(CheckoutSession.order_id, CheckoutSession.id).where(
        CheckoutSession.order_id.in_(set(order_ids))
    )
    return {order_id: cs_id for order_id, cs_id in (await session.execute(stmt)).all()}


async def expire(
    session: AsyncSession, checkout_session: CheckoutSession, *, now: datetime, actor: str
) -> bool:
    """OPEN → EXPIRED, in one conditional UPDATE; False when the session is not OPEN."""
    result = await session.execute(
        update(CheckoutSession)
        .where(CheckoutSession.id == checkout_session.id, CheckoutSession.status == OPEN)
        .values(status=EXPIRED, updated_at=now, updated_by=actor)
        .returning(CheckoutSession.id)
        .execution_options(synchronize_session=False)
    )
    changed = result.first() is not None
    if changed:
        await session.refresh(checkout_session)
    return changed

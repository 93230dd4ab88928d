"""Checkout sessions (KohortPay-WIRE.md §2): the shop's payment already succeeded, so creating
a session registers its paid order through `order.service.create_order` (create or join,
`joinError`, fees, events, e-mails) and stores the session, COMPLETED, in the same
transaction. A session is never OPEN, so none can be expired."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.checkout_session import repository
from kohort.checkout_session.errors import (
    CheckoutSessionNotFoundError,
    CheckoutSessionNotOpenError,
)
from kohort.checkout_session.schemas import CheckoutSessionCreate, stored_line_items
from kohort.group.errors import AmountTooLowError
from kohort.ids import new_id
from kohort.models import CheckoutSession, Order, Organization
from kohort.order import service as orders
from kohort.order.schemas import OrderCreate


@dataclass(frozen=True)
class Paid:
    """A checkout session with its order (the payment intent, the group, the customer)."""

    checkout_session: CheckoutSession
    order: Order


def order_of(data: CheckoutSessionCreate) -> OrderCreate:
    """The order a checkout session registers: `amountTotal` is its amount and
    `paymentClientReferenceId` its payment reference."""
    return OrderCreate.model_validate(
        {
            "amount": data.amount_total,
            "currency": data.currency,
            "customer_id": data.customer_id,
            "customer_email": data.customer_email,
            "customer_first_name": data.customer_first_name,
            "customer_last_name": data.customer_last_name,
            "customer_phone_number": data.customer_phone_number,
            "payment_group_share_id": data.payment_group_share_id,
            "client_reference_id": data.client_reference_id,
            "payment_reference": data.payment_client_reference_id,
            "locale": data.locale,
            "metadata": data.metadata,
            "customer_ip": data.customer_ip,
            "device_fingerprint": data.device_fingerprint,
            "payment_fingerprint": data.payment_fingerprint,
        }
    )


async def create_checkout_session(
    session: AsyncSession,
    *,
    organization: Organization,
    livemode: bool,
    actor: str,
    data: CheckoutSessionCreate,
) -> Paid:
    try:
        order = await orders.create_order(
            session,
            organization_id=organization.id,
            livemode=livemode,
            actor=actor,
            data=order_of(data),
        )
    except AmountTooLowError as refusal:
        refusal.param = "amountTotal"
        raise
    now = clock.now()
    checkout_session = CheckoutSession(
        id=new_id("cs"),
        organization_id=organization.id,
        livemode=livemode,
        order_id=order.id,
        status=repository.COMPLETED,
        amount_total=data.amount_total,
        currency=data.currency,
        locale=data.locale,
        line_items=stored_line_items(data.line_items),
        success_url=data.success_url,
        cancel_url=data.cancel_url,
        client_reference_id=data.client_reference_id,
        payment_client_reference_id=data.payment_client_reference_id,
        metadata_=data.metadata or {},
        expires_at=data.expires_at,
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    session.add(checkout_session)
    await session.flush()
    return Paid(checkout_session, order)


async def get_checkout_session(
    session: AsyncSession, *, organization_id: str, livemode: bool, checkout_session_id: str
) -> Paid:
    found = await repository.get(
        session,
        organization_id=organization_id,
        livemode=livemode,
        checkout_session_id=checkout_session_id,
    )
    if found is None:
        raise CheckoutSessionNotFoundError(
            f"No such checkout session: '{checkout_session_id}'", param="id"
        )
    return (await with_orders(session, [found]))[0]


async def with_orders(
    session: AsyncSession, checkout_sessions: Sequence[CheckoutSession]
) -> list[Paid]:
    found = await repository.orders_of(session, checkout_sessions)
    return [Paid(cs, found[cs.order_id]) for cs in checkout_sessions]


async def expire_checkout_session(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    checkout_session_id: str,
    actor: str,
) -> Paid:
    """OPEN → EXPIRED. Kohort's sessions are COMPLETED when created, so this answers
    CHECKOUT_SESSION_NOT_OPEN for every one of them (KohortPay did the same for its
    completed sessions)."""
    paid = await get_checkout_session(
        session,
        organization_id=organization_id,
        livemode=livemode,
        checkout_session_id=checkout_session_id,
    )
    if not await repository.expire(session, paid.checkout_session, now=clock.now(), actor=actor):
        raise CheckoutSessionNotOpenError(
            f"Checkout session {checkout_session_id} is not open.", param="id"
        )
    return paid


def shopper_url(paid: Paid, *, public_url: str) -> str:
    """Where a client that redirects the shopper sends them: its `successUrl`, else the share
    page of the group the order is in (Kohort takes no payment: the session is complete); an
    order in no group (the month's budget was used up) has no share page: the service's root."""
    success_url = paid.checkout_session.success_url
    if success_url:
        return success_url
    code = paid.order.payment_group_share_id
    return f"{public_url.rstrip('/')}/" + ("" if code is None else f"r/{code}")

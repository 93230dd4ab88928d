"""Payment intents as a view of orders (KohortPay-WIRE.md §2): `pi_X` is the order `ord_X`,
so there is no table. Creating one registers a paid order through `create_order`; a checkout
session's payment intent is its order, registered with the session."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.checkout_session import repository as checkout_sessions
from kohort.checkout_session import service as checkout
from kohort.errors import NotFoundError
from kohort.group import service as groups
from kohort.group.errors import GroupNotFoundError
from kohort.ids import order_id_of_payment_intent
from kohort.models import Order, Organization
from kohort.order import service as orders
from kohort.order.errors import OrderNotFoundError
from kohort.order.schemas import OrderCreate
from kohort.payment_intent.errors import AmountMismatchError, PaymentIntentNotFoundError
from kohort.payment_intent.schemas import PaymentIntentCreate


@dataclass(frozen=True)
class Registered:
    order: Order
    created: bool
    """False when the payment intent is a checkout session's, registered with it."""
    code: str | None
    """The share code the order tried to join."""


async def get_payment_intent(
    session: AsyncSession, *, organization_id: str, livemode: bool, payment_intent_id: str
) -> Order:
    order_id = order_id_of_payment_intent(payment_intent_id)
    try:
        if order_id is None:
            raise OrderNotFoundError(payment_intent_id)
        return await orders.get_order(
            session, organization_id=organization_id, livemode=livemode, order_id=order_id
        )
    except OrderNotFoundError:
        raise PaymentIntentNotFoundError(
            f"No such payment intent: '{payment_intent_id}'", param="id"
        ) from None


async def create_payment_intent(
    session: AsyncSession,
    *,
    organization: Organization,
    livemode: bool,
    actor: str,
    data: PaymentIntentCreate,
) -> Registered:
    if data.checkout_session_id is not None:
        return Registered(
            await _of_checkout_session(session, organization, livemode, data), False, None
        )
    code = await _share_code(session, organization, livemode, data.payment_group_id)
    order = await orders.create_order(
        session,
        organization_id=organization.id,
        livemode=livemode,
        actor=actor,
        data=OrderCreate.model_validate(
            {
                "amount": data.amount,
                "customer_id": data.customer_id,
                "customer_email": data.customer_email,
                "customer_first_name": data.customer_first_name,
                "customer_last_name": data.customer_last_name,
                "payment_group_share_id": code,
                "client_reference_id": data.client_reference_id,
                "locale": data.locale,
                "metadata": data.metadata,
            }
        ),
    )
    return Registered(order, True, code)


async def _of_checkout_session(
    session: AsyncSession, organization: Organization, livemode: bool, data: PaymentIntentCreate
) -> Order:
    """The session registered its order (its payment intent) when it was created; `amount`
    must be the session's `amountTotal`, the other fields are the session's already."""
    assert data.checkout_session_id is not None
    try:
        paid = await checkout.get_checkout_session(
            session,
            organization_id=organization.id,
            livemode=livemode,
            checkout_session_id=data.checkout_session_id,
        )
    except NotFoundError as missing:
        missing.param = "checkoutSessionId"
        raise
    total = paid.checkout_session.amount_total
    if data.amount != total:
        raise AmountMismatchError(
            f"The amount {data.amount} does not match the amountTotal {total} of checkout "
            f"session {paid.checkout_session.id}.",
            param="amount",
        )
    return paid.order


async def _share_code(
    session: AsyncSession, organization: Organization, livemode: bool, group: str | None
) -> str | None:
    """The share code of `paymentGroupId` (an id or a code) in this organization and mode."""
    if group is None:
        return None
    try:
        found = await groups.get_group(
            session, organization_id=organization.id, livemode=livemode, id_or_code=group
        )
    except GroupNotFoundError:
        raise GroupNotFoundError(
            f"No such payment group: '{group}'", param="paymentGroupId"
        ) from None
    return found.share_id


async def checkout_session_ids(session: AsyncSession, found: list[Order]) -> dict[str, str]:
    """The checkout session of each order that has one, by order id."""
    return await checkout_sessions.ids_by_order(session, {order.id for order in found})


async def cancel_payment_intent(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    payment_intent_id: str,
    actor: str,
) -> orders.Cancellation:
    """`POST /orders/{id}/cancel` on the payment intent's order, with its rules and errors."""
    order = await get_payment_intent(
        session,
        organization_id=organization_id,
        livemode=livemode,
        payment_intent_id=payment_intent_id,
    )
    return await orders.cancel_order(
        session, organization_id=organization_id, livemode=livemode, order_id=order.id, actor=actor
    )

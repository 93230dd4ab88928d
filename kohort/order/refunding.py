"""Refunding a paid order, fully or in part (docs/api.md, "Refunds").

A refund of everything left is the order's cancellation (the same rules, errors and
`order.canceled`). A partial refund lowers what the order is worth for cashback: the group,
which owns its members' cashback, applies it (`group.service.refund_member`). Either way the
group is locked first, then the order, as `cancel_order` does, so a refund and the group's end
serialise: the end never pays cashback on a refunded amount. Each refund is stored with one
`order.refunded` event in the same transaction."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.event.service import append_event
from kohort.group import service as groups
from kohort.ids import new_id, order_id_of_payment_intent, payment_intent_id
from kohort.models import Order, PaymentGroup, Refund
from kohort.order import repository
from kohort.order.errors import (
    CashbackAlreadySentError,
    OrderAlreadyCanceledError,
    OrderNotFoundError,
    RefundExceedsAmountError,
)
from kohort.order.schemas import OrderRead, PaymentIntentRefundCreate, RefundCreate, RefundRead
from kohort.order.service import UNPAID, cancel_locked, get_order, lock_order
from kohort.organization import repository as organizations

SUCCEEDED = "SUCCEEDED"


@dataclass(frozen=True)
class Refunded:
    refund: RefundRead
    group_canceled: bool
    """The refund canceled the order and it was its OPEN group's last member."""


async def refund_order(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    order_id: str,
    actor: str,
    data: RefundCreate,
) -> Refunded:
    """Refund `data.amount` cents of the order (omitted: everything left)."""
    order = await get_order(
        session, organization_id=organization_id, livemode=livemode, order_id=order_id
    )
    group, order = await lock_order(session, order)
    if order.status == repository.CANCELED:
        raise OrderAlreadyCanceledError(f"Order {order.id} is already canceled.", param="id")
    left = order.amount - order.amount_refunded
    amount = left if data.amount is None else data.amount
    if amount > left:
        raise RefundExceedsAmountError(
            f"The refund of {amount} cents exceeds the {left} cents left to refund on order "
            f"{order.id} ({order.amount} paid, {order.amount_refunded} already refunded).",
            param="amount",
        )
    now = clock.now()
    group_canceled = False
    if amount == left:
        canceled = await cancel_locked(
            session, group, order, now=now, actor=actor, amount_refunded=order.amount
        )
        order, group_canceled = canceled.order, canceled.group_canceled
    else:
        await _refund_part(session, group, order, amount=amount, now=now, actor=actor)
    refund = Refund(
        id=new_id("re"),
        organization_id=order.organization_id,
        livemode=order.livemode,
        order_id=order.id,
        amount=amount,
        currency=order.currency,
        reason=data.reason,
        metadata_=data.metadata or {},
        created_at=now,
        created_by=actor,
    )
    session.add(refund)
    await session.flush()
    read = refund_read(refund, order)
    await append_event(
        session,
        type="order.refunded",
        organization_id=order.organization_id,
        livemode=order.livemode,
        data=read.model_dump(mode="json", by_alias=True),
    )
    return Refunded(refund=read, group_canceled=group_canceled)


async def _refund_part(
    session: AsyncSession,
    group: PaymentGroup | None,
    order: Order,
    *,
    amount: int,
    now: datetime,
    actor: str,
) -> None:
    if order.status not in UNPAID or (await repository.has_payout(session, order.id)):
        raise _cashback_paid(order)
    organization = await organizations.get_by_id(session, order.organization_id)
    assert organization is not None
    if not await groups.refund_member(
        session,
        group,
        order,
        amount=amount,
        fee_percent=organization.acquisition_fee_percent,
        now=now,
        actor=actor,
    ):
        raise _cashback_paid(order)
    await session.refresh(order)


async def refund_payment_intent(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    actor: str,
    data: PaymentIntentRefundCreate,
) -> Refunded:
    """KohortPay's `POST /refunds`: the order is its payment intent (`pi_X` is `ord_X`); an id
    that is not a payment intent's, or names no order of the caller, is 404."""
    order_id = order_id_of_payment_intent(data.payment_intent_id)
    if order_id is None or (
        await repository.get(
            session, organization_id=organization_id, livemode=livemode, order_id=order_id
        )
        is None
    ):
        raise OrderNotFoundError(
            f"No such payment intent: '{data.payment_intent_id}'", param="paymentIntentId"
        )
    return await refund_order(
        session,
        organization_id=organization_id,
        livemode=livemode,
        order_id=order_id,
        actor=actor,
        data=data,
    )


def refund_read(refund: Refund, order: Order) -> RefundRead:
    return RefundRead.model_validate(
        {
            "id": refund.id,
            "livemode": refund.livemode,
            "organization_id": refund.organization_id,
            "order_id": refund.order_id,
            "payment_intent_id": payment_intent_id(refund.order_id),
            "amount": refund.amount,
            "currency": refund.currency,
            "status": SUCCEEDED,
            "reason": refund.reason,
            "metadata": refund.metadata_,
            "created_at": refund.created_at,
            "created_by": refund.created_by,
            "order": OrderRead.model_validate(order),
        }
    )


def _cashback_paid(order: Order) -> CashbackAlreadySentError:
    return CashbackAlreadySentError(
        f"The cashback of order {order.id} is already being paid or sent; the order can no "
        "longer be refunded through Kohort.",
        param="id",
    )

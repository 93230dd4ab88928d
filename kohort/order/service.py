"""Registering a paid order (DOMAIN.md §4): find the buyer, then join the shared group or open
a new one, in one transaction. A code that cannot be joined never loses the order: the order
opens its own group and `joinError` says why the code was not joined."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.customer import service as customers
from kohort.customer.repository import email_key
from kohort.errors import AppError
from kohort.event.service import append_events
from kohort.group import joining
from kohort.group import repository as group_repository
from kohort.group import service as groups
from kohort.group.cashback import application_fee
from kohort.group.ending import complete_group, group_events, order_events
from kohort.group.errors import AmountTooLowError, CustomerBlockedError, RiskRefusedError
from kohort.group_settings.service import get_with_organization
from kohort.ids import new_id
from kohort.models import Order, Organization, PaymentGroup
from kohort.order import repository
from kohort.order.errors import (
    CashbackAlreadySentError,
    ClientReferenceIdExistsError,
    OrderAlreadyCanceledError,
    OrderNotFoundError,
)
from kohort.order.schemas import OrderCreate
from kohort.risk import budget
from kohort.risk import service as risk
from kohort.risk.policy import PENDING, Policy
from kohort.risk.service import Assessment


async def get_order(
    session: AsyncSession, *, organization_id: str, livemode: bool, order_id: str
) -> Order:
    order = await repository.get(
        session, organization_id=organization_id, livemode=livemode, order_id=order_id
    )
    if order is None:
        raise OrderNotFoundError(f"No such order: '{order_id}'", param="id")
    return order


async def create_order(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    actor: str,
    data: OrderCreate,
) -> Order:
    now = clock.now()
    organization, settings = await get_with_organization(
        session, organization_id=organization_id, livemode=livemode
    )
    if data.client_reference_id is not None and await repository.client_reference_used(
        session,
        organization_id=organization.id,
        livemode=livemode,
        client_reference_id=data.client_reference_id,
    ):
        raise _reference_used(data.client_reference_id)
    if data.amount < settings.min_purchase_value:
        raise AmountTooLowError(
            f"The amount {data.amount} is below the minimum purchase value "
            f"{settings.min_purchase_value}.",
            param="amount",
        )
    buyer = await customers.customer_for_order(
        session,
        organization_id=organization.id,
        livemode=livemode,
        actor=actor,
        customer_id=data.customer_id,
        email=str(data.customer_email) if data.customer_email else None,
        first_name=data.customer_first_name,
        last_name=data.customer_last_name,
        phone_number=data.customer_phone_number,
        locale=data.locale,
    )
    customer, first = buyer.customer, buyer.events
    if customer.is_blocked:
        raise CustomerBlockedError(f"Customer {customer.id} is blocked.", param="customerId")
    values: dict[str, Any] = {
        "id": new_id("ord"),
        "livemode": livemode,
        "organization_id": organization.id,
        "amount": data.amount,
        "amount_cashback": None,
        "application_fee_amount": 0,
        "currency": data.currency,
        "locale": data.locale,
        "status": repository.CREATED,
        "customer_id": customer.id,
        "customer_email": customer.email_address,
        "email_key": email_key(customer.email_address),
        "customer_first_name": customer.first_name,
        "customer_last_name": customer.last_name,
        "customer_phone_number": customer.phone_number,
        "client_reference_id": data.client_reference_id,
        "payment_reference": data.payment_reference,
        "risk_level": None,
        "risk_reasons": [],
        "customer_ip": data.customer_ip,
        "device_fingerprint": data.device_fingerprint,
        "payment_fingerprint": data.payment_fingerprint,
        "review_status": None,
        "review_due_at": None,
        "join_error": None,
        "metadata_": data.metadata or {},
        "created_at": now,
        "created_by": actor,
        "updated_at": now,
        "updated_by": actor,
    }
    policy = Policy.of(settings)
    assessment: Assessment | None = None
    if data.payment_group_share_id:
        try:
            return await _join(
                session, organization, livemode, data.payment_group_share_id, values, policy, first
            )
        except ClientReferenceIdExistsError:
            raise  # the transaction is lost (a unique key of the order's): no group instead
        except AppError as refusal:
            values["join_error"] = {"code": refusal.code, "message": refusal.message}
            if isinstance(refusal, RiskRefusedError):
                assessment = refusal.assessment
    if assessment is None:
        assessment = await risk.assess(session, values, group=None, now=now)
    values.update(assessment.values())
    if await budget.exhausted(session, organization, settings, now):
        return await _outside(session, values, first)
    action = policy.action(assessment.level, joining=False)
    values.update(policy.review_values(action, now))
    return await _open(session, organization, livemode, settings, values, first)


async def _outside(
    session: AsyncSession, values: dict[str, Any], first: list[dict[str, Any]]
) -> Order:
    """The month's cashback budget is used up: the paid order is registered in no group
    (nothing to review, no cashback); `joinError` BUDGET_EXHAUSTED says why, with the reason
    its code could not be joined when it had one."""
    refused = values["join_error"]
    message = "The month's cashback budget is used up: the order opened no group."
    if refused is not None:
        message = f"{refused['message']} {message} ({refused['code']})"
    values["join_error"] = {"code": "BUDGET_EXHAUSTED", "message": message}
    order = Order(**values, payment_group_id=None, payment_group_share_id=None)
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:
        raise _reference_used(values["client_reference_id"]) from None
    await append_events(session, [*first, *order_events(order, "order.created")])
    return order


async def _join(
    session: AsyncSession,
    organization: Organization,
    livemode: bool,
    code: str,
    values: dict[str, Any],
    policy: Policy,
    first: list[dict[str, Any]],
) -> Order:
    values = {
        **values,
        "application_fee_amount": application_fee(
            values["amount"], organization.acquisition_fee_percent
        ),
    }
    now = values["created_at"]
    try:
        seat = await joining.join(
            session,
            organization_id=organization.id,
            livemode=livemode,
            code=code,
            order_values=values,
            policy=policy,
            now=now,
        )
    except IntegrityError:
        # The member order's one other unique key: a concurrent order took its reference
        # since create_order checked it.
        raise _reference_used(values["client_reference_id"]) from None
    thresholds = {
        int(level["participantsToUnlock"]) for level in seat.group.settings["discountLevels"]
    }
    unlocked = ["payment_group.level_unlocked"] if seat.participants in thresholds else []
    events = [
        *first,
        *_created_events(seat.order),
        *group_events(seat.group, "payment_group.joined", *unlocked),
    ]
    await append_events(session, events)
    if seat.participants >= seat.group.max_participants:
        await complete_group(session, seat.group.id, now=now, actor=values["created_by"])
        await session.refresh(seat.order)
    return seat.order


async def _open(
    session: AsyncSession,
    organization: Organization,
    livemode: bool,
    settings: Any,
    values: dict[str, Any],
    first: list[dict[str, Any]],
) -> Order:
    group = await groups.open_group(
        session,
        organization=organization,
        livemode=livemode,
        settings=settings,
        customer_id=values["customer_id"],
        creator_email=values["customer_email"],
        now=values["created_at"],
        actor=values["created_by"],
    )
    order = Order(**values, payment_group_id=group.id, payment_group_share_id=group.share_id)
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:
        raise _reference_used(values["client_reference_id"]) from None
    await append_events(
        session,
        [*first, *_created_events(order), *group_events(group, "payment_group.created")],
    )
    return order


@dataclass(frozen=True)
class Cancellation:
    order: Order
    group_canceled: bool
    """The order was its OPEN group's last member, so the group is CANCELED too."""


async def cancel_order(
    session: AsyncSession, *, organization_id: str, livemode: bool, order_id: str, actor: str
) -> Cancellation:
    """The shop refunded or canceled the purchase (README, "Order cancellation"): the order
    leaves its OPEN group, or its cashback is voided before any payout, or it is simply
    CANCELED in an ended group. The group is locked first, so the worker ending it and this
    cancellation serialise: a canceled order never gets cashback, a completed group never
    counts a canceled member."""
    order = await get_order(
        session, organization_id=organization_id, livemode=livemode, order_id=order_id
    )
    group, order = await lock_order(session, order)
    return await cancel_locked(session, group, order, now=clock.now(), actor=actor)


async def lock_order(session: AsyncSession, order: Order) -> tuple[PaymentGroup | None, Order]:
    """The order's group locked, then the order itself (`FOR UPDATE`), both fresh: the one
    lock order of every change to a member, so that it and the group's end serialise. An
    order in no group (the budget was used up) has no group to lock."""
    group = (
        None
        if order.payment_group_id is None
        else await group_repository.lock(session, order.payment_group_id)
    )
    return group, await repository.get_for_update(session, order.id)


async def cancel_locked(
    session: AsyncSession,
    group: PaymentGroup | None,
    order: Order,
    *,
    now: datetime,
    actor: str,
    amount_refunded: int | None = None,
) -> Cancellation:
    """`cancel_order` once `lock_order` holds the group and the order; a full refund passes
    the order's new `amount_refunded`."""
    if order.status == repository.CANCELED:
        raise OrderAlreadyCanceledError(f"Order {order.id} is already canceled.", param="id")
    if order.status not in UNPAID or (await repository.has_payout(session, order.id)):
        raise _cashback_sent(order)
    if not await repository.cancel(
        session,
        order_id=order.id,
        from_status=order.status,
        now=now,
        actor=actor,
        amount_refunded=amount_refunded,
    ):
        raise _cashback_sent(order)
    leaves = (
        group is not None
        and group.status == group_repository.OPEN
        and order.status == repository.CREATED
    )
    await session.refresh(order)
    await _record_order(session, order, "order.canceled")
    canceled = False
    if leaves and group is not None:
        group = await groups.leave_group(session, group, now=now, actor=actor)
        canceled = group.status == group_repository.CANCELED
    return Cancellation(order=order, group_canceled=canceled)


UNPAID = (
    repository.CREATED,
    repository.CASHBACK_ON_HOLD,
    repository.CASHBACK_AVAILABLE,
    repository.CASHBACK_REJECTED,
)
"""The statuses in which no payout exists yet: the order can be canceled or refunded."""


def _cashback_sent(order: Order) -> CashbackAlreadySentError:
    return CashbackAlreadySentError(
        f"The cashback of order {order.id} is already being paid or sent; it cannot be canceled.",
        param="id",
    )


def _created_events(order: Order) -> list[dict[str, Any]]:
    """`order.created`, then `order.review_required` when its cashback is held for review."""
    types = ["order.created"] + (
        ["order.review_required"] if order.review_status == PENDING else []
    )
    return order_events(order, *types)


async def _record_order(session: AsyncSession, order: Order, event_type: str) -> None:
    await append_events(session, order_events(order, event_type))


def _reference_used(reference: str | None) -> ClientReferenceIdExistsError:
    return ClientReferenceIdExistsError(
        f"An order with clientReferenceId '{reference}' already exists.",
        param="clientReferenceId",
    )

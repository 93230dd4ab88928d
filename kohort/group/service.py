"""Groups: creation with a settings snapshot and a schedule, validation of a code, the early
ends (cancel, expire), updates, and what a member's cancellation or partial refund does to
the group. Joining is in joining.py, ending in ending.py. Nothing here imports kohort.order:
registering, canceling and refunding an order are its use cases, and they call in here."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.customer import repository as customers
from kohort.errors import ValidationError
from kohort.group import joining, repository
from kohort.group.cashback import application_fee, cashback_amount, level_reached, next_level
from kohort.group.ending import levels_of, record_group_event
from kohort.group.errors import (
    BudgetExhaustedError,
    CustomerBlockedError,
    GroupEndedError,
    GroupHasParticipantsError,
    GroupNotFoundError,
    OrderAlreadyCanceledError,
    OrderAlreadyInGroupError,
    OrderNotFoundError,
)
from kohort.group.schedule import schedule_for
from kohort.group.schemas import GroupCreate, GroupUpdate
from kohort.group_settings.service import get_settings, snapshot
from kohort.ids import new_id, new_share_code, order_id_of_payment_intent, share_key
from kohort.models import Order, Organization, PaymentGroup
from kohort.models import PaymentGroupSettings as Settings
from kohort.organization import repository as organizations
from kohort.risk import budget

_Group = TypeVar("_Group", PaymentGroup, Row[Any])
MAX_DURATION = timedelta(days=90)
MIN_DURATION = timedelta(minutes=1)
_CODE_ATTEMPTS = 5


async def get_group(
    session: AsyncSession, *, organization_id: str, livemode: bool, id_or_code: str
) -> PaymentGroup:
    group = await repository.get_by_id_or_code(
        session, organization_id=organization_id, livemode=livemode, id_or_code=id_or_code
    )
    return _found(group, id_or_code)


async def read_group(
    session: AsyncSession, *, organization_id: str, livemode: bool, id_or_code: str
) -> Row[Any]:
    """`get_group` for a read that changes nothing: the group's Core row."""
    group = await repository.read_by_id_or_code(
        session, organization_id=organization_id, livemode=livemode, id_or_code=id_or_code
    )
    return _found(group, id_or_code)


def _found(group: _Group | None, id_or_code: str) -> _Group:
    if group is None:
        raise GroupNotFoundError(f"No such group: '{id_or_code}'", param="id")
    return group


async def open_group(
    session: AsyncSession,
    *,
    organization: Organization,
    livemode: bool,
    settings: Settings,
    customer_id: str,
    creator_email: str,
    now: datetime,
    actor: str,
    expires_at: datetime | None = None,
    metadata: dict[str, str] | None = None,
) -> PaymentGroup:
    """A new OPEN group with its creator counted, the settings snapshot and the schedule."""
    end = expires_at or now + timedelta(minutes=settings.minutes_duration)
    schedule = schedule_for(now, end, organization.timezone)
    for _ in range(_CODE_ATTEMPTS):
        code = new_share_code(livemode, organization.code_prefix)
        group = PaymentGroup(
            id=new_id("pg"),
            share_id=code,
            share_key=share_key(code),
            livemode=livemode,
            organization_id=organization.id,
            customer_id=customer_id,
            creator_email=creator_email,
            status=repository.OPEN,
            metadata_=metadata or {},
            participants_count=1,
            max_participants=settings.max_participants,
            settings=snapshot(settings),
            expires_at=schedule.expires_at,
            mid_expire_at=schedule.mid_expire_at,
            j_minus2_expire_at=schedule.j_minus2_expire_at,
            j_plus3_start_at=schedule.j_plus3_start_at,
            reminder_email_sent="NOT_SENT",
            created_at=now,
            created_by=actor,
            updated_at=now,
            updated_by=actor,
        )
        try:
            async with session.begin_nested():
                session.add(group)
                await session.flush()
        except IntegrityError:
            continue
        return group
    raise RuntimeError("could not draw a free share code")


async def validate_code(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    code: str,
    email: str | None,
    amount: int | None,
) -> Row[Any]:
    """The checks of a code before checkout, in the contract's order; the group's row if it
    passes."""
    now = clock.now()
    group = await joining.find_group(
        session,
        organization_id=organization_id,
        livemode=livemode,
        code=code,
        now=now,
        email=email,
    )
    if amount is not None:
        joining.check_amount(group, amount)
    if email is not None:
        customer = await customers.get_by_email(
            session, organization_id=organization_id, livemode=livemode, email=email
        )
        # a soft-deleted customer is still refused: the order would restore it, blocked
        if customer is not None and customer.is_blocked:
            raise CustomerBlockedError(f"Customer {email} is blocked.", param="customerEmail")
    return group


def validation_extras(group: repository.GroupState) -> dict[str, Any]:
    """The rules of the group and what the caller's join would unlock."""
    settings = group.settings
    levels = {level["id"]: level for level in settings["discountLevels"]}
    reached = level_reached(levels_of(group), group.participants_count + 1)
    following = next_level(levels_of(group), group.participants_count + 1)
    return {
        "payment_group_id": group.id,
        "discount_type": settings["discountType"],
        "discount_levels": settings["discountLevels"],
        "max_participants": group.max_participants,
        "minutes_duration": settings["minutesDuration"],
        "min_purchase_value": settings["minPurchaseValue"],
        "current_discount_level": levels[reached.id] if reached else None,
        "next_discount_level": levels[following.id] if following else None,
    }


async def _end_early(
    session: AsyncSession, group: PaymentGroup, *, status: str, actor: str
) -> PaymentGroup:
    if group.status != repository.OPEN:
        raise GroupEndedError(
            f"Group {group.share_id} is already {group.status.lower()}.", param="id"
        )
    if group.participants_count > 1:
        raise GroupHasParticipantsError(
            f"Group {group.share_id} has {group.participants_count} participants; it can only "
            "complete, so their cashback is protected.",
            param="id",
        )
    now = clock.now()
    values: dict[str, Any] = {"status": status, "updated_at": now, "updated_by": actor}
    if status == repository.CANCELED:
        values["canceled_at"] = now
    else:
        values["expired_at"] = now
    changed = await repository.transition(
        session,
        group_id=group.id,
        condition=PaymentGroup.participants_count <= 1,
        values=values,
    )
    fresh = await repository.get(session, group.id)
    assert fresh is not None
    if not changed:
        return await _end_early(session, fresh, status=status, actor=actor)
    event = "payment_group.canceled" if status == repository.CANCELED else "payment_group.expired"
    await record_group_event(session, event, fresh)
    return fresh


async def expire_group(session: AsyncSession, group: PaymentGroup, *, actor: str) -> PaymentGroup:
    """The seed endpoint: an OPEN lonely group → EXPIRED now (`expiresAt` kept)."""
    return await _end_early(session, group, status=repository.EXPIRED, actor=actor)


async def cancel_group(session: AsyncSession, group: PaymentGroup, *, actor: str) -> PaymentGroup:
    return await _end_early(session, group, status=repository.CANCELED, actor=actor)


async def leave_group(
    session: AsyncSession, group: PaymentGroup, *, now: datetime, actor: str
) -> PaymentGroup:
    """A member's order of an OPEN group was canceled: `participantsCount` goes down by one
    (the level reached follows it); the last member leaving cancels the group. The caller
    holds the group's lock (`repository.lock`), so the conditional update cannot lose."""
    values: dict[str, Any] = {"updated_at": now, "updated_by": actor}
    if group.participants_count <= 1:
        condition = PaymentGroup.participants_count <= 1
        values.update(status=repository.CANCELED, canceled_at=now, participants_count=0)
    else:
        condition = PaymentGroup.participants_count >= 2
        values.update(participants_count=PaymentGroup.participants_count - 1)
    if not await repository.transition(
        session, group_id=group.id, condition=condition, values=values
    ):
        raise RuntimeError(f"group {group.id} changed under its lock")
    fresh = await repository.get(session, group.id)
    assert fresh is not None
    if fresh.status == repository.CANCELED:
        await record_group_event(session, "payment_group.canceled", fresh)
    return fresh


async def refund_member(
    session: AsyncSession,
    group: PaymentGroup | None,
    order: Order,
    *,
    amount: int,
    fee_percent: Decimal,
    now: datetime,
    actor: str,
) -> bool:
    """A partial refund of a member order; the caller holds the group's lock, then the
    order's. `amount_refunded` grows: an OPEN group's end computes cashback on the rest; in a
    COMPLETED group, cashback available is recomputed on the rest at the level reached; an
    ended group without cashback changes nothing else. A joiner's fee follows the rest, never
    up. False when the order moved first (a payout started)."""
    rest = order.amount - order.amount_refunded - amount
    values: dict[str, Any] = {}
    if order.application_fee_amount > 0:
        values["application_fee_amount"] = min(
            order.application_fee_amount, application_fee(rest, fee_percent)
        )
    if (
        group is not None
        and group.status == repository.COMPLETED
        and order.status
        in (
            repository.CASHBACK_AVAILABLE,
            repository.CASHBACK_ON_HOLD,
        )
    ):
        level = level_reached(levels_of(group), group.participants_count)
        values["amount_cashback"] = cashback_amount(group.settings["discountType"], level, rest)
    return await repository.refund_member(
        session, order=order, refunded=amount, values=values, now=now, actor=actor
    )


async def update_group(
    session: AsyncSession, group: PaymentGroup, changes: GroupUpdate, *, actor: str
) -> PaymentGroup:
    provided = changes.model_fields_set
    values: dict[str, Any] = {}
    if "creator_email" in provided:
        if changes.creator_email is None:
            raise ValidationError("creatorEmail cannot be null.", param="creatorEmail")
        values["creator_email"] = str(changes.creator_email)
    if "metadata" in provided:
        values["metadata_"] = changes.metadata or {}
    values = {k: v for k, v in values.items() if getattr(group, k) != v}
    if not values:
        return group
    values.update(updated_at=clock.now(), updated_by=actor)
    await repository.update_group(session, group.id, values)
    fresh = await repository.get(session, group.id)
    assert fresh is not None
    return fresh


def check_expires_at(expires_at: datetime, now: datetime) -> None:
    if not now + MIN_DURATION <= expires_at <= now + MAX_DURATION:
        raise ValidationError(
            "expiresAt must be between 1 minute and 90 days from now.", param="expiresAt"
        )


async def create_group_for_order(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    actor: str,
    data: GroupCreate,
) -> PaymentGroup:
    """A new group around an order whose group ended without completing; the order becomes
    the creator's order of the new group."""
    now = clock.now()
    order = await _order_to_regroup(
        session, organization_id=organization_id, livemode=livemode, data=data
    )
    if order.customer_id != data.customer_id:
        raise ValidationError(
            f"Order {order.id} does not belong to customer {data.customer_id}.",
            param="customerId",
        )
    if order.status == repository.ORDER_CANCELED:
        raise OrderAlreadyCanceledError(f"Order {order.id} is canceled.", param="orderId")
    current = (
        None
        if order.payment_group_id is None
        else await repository.get(session, order.payment_group_id)
    )
    if order.status != repository.ORDER_CREATED or (
        current is not None and current.status in (repository.OPEN, repository.COMPLETED)
    ):
        raise OrderAlreadyInGroupError(
            f"Order {order.id} is already in group {order.payment_group_share_id}.",
            param="orderId",
        )
    if data.expires_at is not None:
        check_expires_at(data.expires_at, now)
    organization = await organizations.get_by_id(session, organization_id)
    assert organization is not None
    settings = await get_settings(session, organization_id=organization_id, livemode=livemode)
    if await budget.exhausted(session, organization, settings, now):
        raise BudgetExhaustedError(
            "The month's cashback budget is used up: no new group can open until the next "
            "month or a raise (PATCH /organizations/{id}/cashback-budget).",
            param="orderId",
        )
    group = await open_group(
        session,
        organization=organization,
        livemode=livemode,
        settings=settings,
        customer_id=order.customer_id,
        creator_email=order.customer_email,
        now=now,
        actor=actor,
        expires_at=data.expires_at,
        metadata=data.metadata,
    )
    await repository.move_order_to_group(
        session,
        order_id=order.id,
        group=group,
        from_group_id=order.payment_group_id,
        now=now,
        actor=actor,
    )
    await record_group_event(session, "payment_group.created", group)
    return group


async def _order_to_regroup(
    session: AsyncSession, *, organization_id: str, livemode: bool, data: GroupCreate
) -> Order:
    """The order named by `orderId` or by `paymentIntentId` (`pi_X` is `ord_X`, KohortPay's
    SDKs send that one); both given must name the same order."""
    order_id, param = data.order_id, "orderId"
    if data.payment_intent_id is not None:
        param = "paymentIntentId"
        intended = order_id_of_payment_intent(data.payment_intent_id)
        if intended is None:
            raise OrderNotFoundError(
                f"No such payment intent: '{data.payment_intent_id}'", param=param
            )
        if order_id is not None and order_id != intended:
            raise ValidationError(
                f"orderId '{order_id}' and paymentIntentId '{data.payment_intent_id}' name "
                "different orders; give one of them.",
                param=param,
            )
        order_id = intended
    if order_id is None:
        raise ValidationError("orderId or paymentIntentId is required.", param="orderId")
    order = await repository.get_order(
        session, organization_id=organization_id, livemode=livemode, order_id=order_id
    )
    if order is None:
        shown = data.payment_intent_id if param == "paymentIntentId" else order_id
        raise OrderNotFoundError(f"No such order: '{shown}'", param=param)
    return order

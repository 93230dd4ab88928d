"""Ending a group: COMPLETED with every member's cashback, or EXPIRED when alone.

`end_group` is the one function that ends a group whose time is up (the worker calls it) or
that has just filled (the join calls it). Every transition is a conditional update from OPEN:
whoever loses a race changes nothing, so a group ends exactly once."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kohort.event.service import append_event
from kohort.group import repository
from kohort.group.cashback import DiscountLevel, cashback_amount, level_reached
from kohort.group.schemas import GroupRead
from kohort.models import Order, PaymentGroup
from kohort.order import repository as orders
from kohort.order.schemas import OrderRead

SYSTEM = "system"


def levels_of(group: PaymentGroup) -> list[DiscountLevel]:
    """The discount levels of the group's settings snapshot."""
    return [
        DiscountLevel(
            id=str(level["id"]),
            level=int(level["level"]),
            value=Decimal(str(level["value"])),
            participants_to_unlock=int(level["participantsToUnlock"]),
        )
        for level in group.settings["discountLevels"]
    ]


def group_data(group: PaymentGroup) -> dict[str, Any]:
    return GroupRead.model_validate(group).model_dump(mode="json", by_alias=True)


def order_data(order: Order) -> dict[str, Any]:
    return OrderRead.model_validate(order).model_dump(mode="json", by_alias=True)


async def record_group_event(session: AsyncSession, event_type: str, group: PaymentGroup) -> None:
    await append_event(
        session,
        type=event_type,
        organization_id=group.organization_id,
        livemode=group.livemode,
        data=group_data(group),
    )


async def end_group(
    session: AsyncSession, group_id: str, *, now: datetime, actor: str = SYSTEM
) -> PaymentGroup | None:
    """End an OPEN group now; None if it was not OPEN any more (someone else ended it)."""
    completed = await complete_group(session, group_id, now=now, actor=actor)
    if completed is not None:
        return completed
    expired = await repository.transition(
        session,
        group_id=group_id,
        condition=PaymentGroup.participants_count <= 1,
        values={"status": repository.EXPIRED, "updated_at": now, "updated_by": actor},
    )
    if not expired:
        return None
    group = await repository.get(session, group_id)
    assert group is not None
    await record_group_event(session, "payment_group.expired", group)
    return group


async def complete_group(
    session: AsyncSession, group_id: str, *, now: datetime, actor: str = SYSTEM
) -> PaymentGroup | None:
    """OPEN with ≥ 2 members → COMPLETED; every member order gets its cashback and moves to
    CASHBACK_AVAILABLE. None when the group was not OPEN with ≥ 2 members."""
    done = await repository.transition(
        session,
        group_id=group_id,
        condition=PaymentGroup.participants_count >= 2,
        values={
            "status": repository.COMPLETED,
            "completed_at": now,
            "updated_at": now,
            "updated_by": actor,
        },
    )
    if not done:
        return None
    group = await repository.get(session, group_id)
    assert group is not None
    level = level_reached(levels_of(group), group.participants_count)
    discount_type = str(group.settings["discountType"])
    members = [
        order
        for order in await repository.members(session, group_id)
        if order.status == orders.CREATED
    ]
    cashback = {order.id: cashback_amount(discount_type, level, order.amount) for order in members}
    await orders.make_cashback_available(session, cashback, now=now, actor=actor)
    await record_group_event(session, "payment_group.succeeded", group)
    for order in members:
        for name, value in (
            ("amount_cashback", cashback[order.id]),
            ("status", orders.CASHBACK_AVAILABLE),
            ("updated_at", now),
            ("updated_by", actor),
        ):
            set_committed_value(order, name, value)
        await append_event(
            session,
            type="order.cashback_available",
            organization_id=order.organization_id,
            livemode=order.livemode,
            data=order_data(order),
        )
    return group

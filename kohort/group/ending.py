"""Ending a group: COMPLETED with every member's cashback, or EXPIRED when alone.

`end_group` is the one function that ends a group whose time is up (the worker calls it) or
that has just filled (the join calls it). Every transition is a conditional update from OPEN:
whoever loses a race changes nothing, so a group ends exactly once."""

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.event.service import append_event, append_events, event_row
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


def order_data(order: Order | dict[str, Any]) -> dict[str, Any]:
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
    ended = await end_groups(session, [group_id], now=now, actor=actor)
    return ended[0] if ended else None


async def complete_group(
    session: AsyncSession, group_id: str, *, now: datetime, actor: str = SYSTEM
) -> PaymentGroup | None:
    """OPEN with ≥ 2 members → COMPLETED; every member order gets its cashback and moves to
    CASHBACK_AVAILABLE. None when the group was not OPEN with ≥ 2 members."""
    ended = await end_groups(session, [group_id], now=now, actor=actor, expire=False)
    return ended[0] if ended else None


async def end_groups(
    session: AsyncSession,
    group_ids: Sequence[str],
    *,
    now: datetime,
    actor: str = SYSTEM,
    expire: bool = True,
) -> list[PaymentGroup]:
    """End the OPEN groups among `group_ids`: those with ≥ 2 members COMPLETED, with every
    member order's cashback (CREATED → CASHBACK_AVAILABLE); those alone EXPIRED (unless
    `expire` is False). The groups that ended, in `group_ids` order.

    Set-based: one conditional UPDATE per outcome, one query for the members, one batch of
    order updates and one multi-row INSERT of the events, whatever the number of groups. A
    group another actor ended first is simply left out, so each group ends exactly once."""
    completed = await repository.transition_many(
        session,
        group_ids=group_ids,
        condition=PaymentGroup.participants_count >= 2,
        values={
            "status": repository.COMPLETED,
            "completed_at": now,
            "updated_at": now,
            "updated_by": actor,
        },
    )
    expired: list[PaymentGroup] = []
    if expire:
        expired = await repository.transition_many(
            session,
            group_ids=group_ids,
            condition=PaymentGroup.participants_count <= 1,
            values={"status": repository.EXPIRED, "updated_at": now, "updated_by": actor},
        )
    members = await repository.created_member_rows(session, completed)
    cashback: dict[str, int] = {}
    events: dict[str, list[dict[str, Any]]] = {}
    changes = {
        "status": orders.CASHBACK_AVAILABLE,
        "updated_at": now,
        "updated_by": actor,
    }
    for group in completed:
        level = level_reached(levels_of(group), group.participants_count)
        discount_type = str(group.settings["discountType"])
        rows = events[group.id] = [_event(group, "payment_group.succeeded", group_data(group), now)]
        for order in members[group.id]:
            amount = cashback[order["id"]] = cashback_amount(discount_type, level, order["amount"])
            data = order_data({**order, **changes, "amount_cashback": amount})
            rows.append(_event_of(order, "order.cashback_available", data, now))
    for group in expired:
        events[group.id] = [_event(group, "payment_group.expired", group_data(group), now)]
    await orders.make_cashback_available(session, cashback, now=now, actor=actor)
    _forget_orders(session, cashback)
    await append_events(
        session, [row for group_id in group_ids for row in events.get(group_id, [])]
    )
    ended = {group.id: group for group in [*completed, *expired]}
    return [ended[group_id] for group_id in group_ids if group_id in ended]


def _event(
    group: PaymentGroup, event_type: str, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return event_row(
        type=event_type,
        organization_id=group.organization_id,
        livemode=group.livemode,
        data=data,
        now=now,
    )


def _event_of(
    order: RowMapping, event_type: str, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return event_row(
        type=event_type,
        organization_id=order["organization_id"],
        livemode=order["livemode"],
        data=data,
        now=now,
    )


def _forget_orders(session: AsyncSession, order_ids: Collection[str]) -> None:
    """Orders this transaction loaded before their cashback was set are now stale: expire
    them so that the next access reloads them."""
    if not order_ids:
        return
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Order) and instance.id in order_ids:
            session.expire(instance)

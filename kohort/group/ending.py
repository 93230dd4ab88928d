"""Ending a group: COMPLETED with every member's cashback, or EXPIRED when alone.

`end_group` is the one function that ends a group whose time is up (the worker calls it) or
that has just filled (the join calls it). Every transition is a conditional update from OPEN:
whoever loses a race changes nothing, so a group ends exactly once. The worker runs this
without kohort.order: the members' cashback is written by this package only."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.event.service import append_events, new_event
from kohort.group import repository
from kohort.group.cashback import DiscountLevel, cashback_terms, level_reached
from kohort.group.repository import GroupState
from kohort.group.schemas import GroupRead, OrderRead
from kohort.models import Order, PaymentGroup
from kohort.risk import budget

SYSTEM = "system"


def levels_of(group: GroupState) -> list[DiscountLevel]:
    """The discount levels of the group's settings snapshot."""
    return snapshot_levels(group.settings)


def snapshot_levels(settings: dict[str, Any]) -> list[DiscountLevel]:
    """The discount levels of a settings snapshot (API shape)."""
    return [
        DiscountLevel(
            id=str(level["id"]),
            level=int(level["level"]),
            value=Decimal(str(level["value"])),
            participants_to_unlock=int(level["participantsToUnlock"]),
        )
        for level in settings["discountLevels"]
    ]


def group_data(group: PaymentGroup) -> dict[str, Any]:
    return GroupRead.model_validate(group).model_dump(mode="json", by_alias=True)


def order_data(order: Order | dict[str, Any]) -> dict[str, Any]:
    return OrderRead.model_validate(order).model_dump(mode="json", by_alias=True)


def group_events(group: PaymentGroup, *event_types: str) -> list[dict[str, Any]]:
    """The events of these types with the group as it is now, for `append_events`."""
    return _events_of(group, group_data(group), event_types)


def order_events(order: Order, *event_types: str) -> list[dict[str, Any]]:
    """The events of these types with the order as it is now, for `append_events`."""
    return _events_of(order, order_data(order), event_types)


def _events_of(
    resource: Order | PaymentGroup, data: dict[str, Any], event_types: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One resource's events share its API object, built once."""
    return [
        new_event(
            type=event_type,
            organization_id=resource.organization_id,
            livemode=resource.livemode,
            data=data,
        )
        for event_type in event_types
    ]


async def record_group_event(session: AsyncSession, event_type: str, group: PaymentGroup) -> None:
    await append_events(session, group_events(group, event_type))


async def end_group(
    session: AsyncSession, group_id: str, *, now: datetime, actor: str = SYSTEM
) -> PaymentGroup | None:
    """End an OPEN group now; None if it was not OPEN any more (someone else ended it)."""
    ended = await end_groups(session, [group_id], now=now, actor=actor)
    return await repository.get(session, group_id) if ended.count else None


async def complete_group(
    session: AsyncSession, group_id: str, *, now: datetime, actor: str = SYSTEM
) -> bool:
    """OPEN with ≥ 2 members → COMPLETED; every member order gets its cashback and moves to
    CASHBACK_AVAILABLE. False when the group was not OPEN with ≥ 2 members."""
    ended = await end_groups(session, [group_id], now=now, actor=actor, expire=False)
    return ended.count > 0


@dataclass(frozen=True)
class Ended:
    """The groups `end_groups` ended, by outcome."""

    completed: list[str]
    expired: list[str]

    @property
    def count(self) -> int:
        return len(self.completed) + len(self.expired)


async def end_groups(
    session: AsyncSession,
    group_ids: Sequence[str],
    *,
    now: datetime,
    actor: str = SYSTEM,
    expire: bool = True,
) -> Ended:
    """End the OPEN groups among `group_ids`: those with ≥ 2 members COMPLETED, with every
    member order's cashback (CREATED → CASHBACK_AVAILABLE); those alone EXPIRED (unless
    `expire` is False). A group another actor ended first is left out: each ends once.

    Set-based, and no row comes into Python but each group's id, status, size and settings:
    one UPDATE of the groups, one UPDATE … FROM of every member order (the level reached is
    chosen here, the database applies it to each amount), one INSERT … SELECT of every event
    with its API object composed by the database."""
    await session.flush()
    rows = await repository.end_open(
        session, group_ids=group_ids, now=now, actor=actor, expire=expire
    )
    status = {row[0]: row[1] for row in rows}
    terms: dict[str, tuple[str, int]] = {}
    parsed: dict[str, tuple[str, list[DiscountLevel]]] = {}
    for group_id, group_status, participants, settings in rows:
        if group_status != repository.COMPLETED:
            continue
        if settings not in parsed:
            snapshot = json.loads(settings)
            parsed[settings] = (str(snapshot["discountType"]), snapshot_levels(snapshot))
        discount_type, levels = parsed[settings]
        terms[group_id] = cashback_terms(discount_type, level_reached(levels, participants))
    moved = await repository.make_cashback_available(session, terms, now=now, actor=actor)
    ordered = [group_id for group_id in group_ids if group_id in status]
    position = {group_id: n for n, group_id in enumerate(ordered)}
    available = [member for member in moved if not member.held]
    await repository.record_end_events(
        session,
        groups=ordered,
        members=[(member.order_id, position[member.group_id]) for member in available],
        now=now,
    )
    await budget.count_available(
        session, [(m.organization_id, m.livemode, m.cashback) for m in available], now=now
    )
    _forget(session, set(ordered), set(terms))
    return Ended(
        completed=[group_id for group_id in ordered if group_id in terms],
        expired=[group_id for group_id in ordered if group_id not in terms],
    )


def _forget(session: AsyncSession, group_ids: set[str], completed: set[str]) -> None:
    """Groups and member orders this transaction loaded before they ended are now stale (the
    statements above bypass the session): expire them so that the next access reloads them."""
    for instance in list(session.identity_map.values()):
        state = inspect(instance)
        stale = (isinstance(instance, PaymentGroup) and state.identity[0] in group_ids) or (
            isinstance(instance, Order) and state.dict.get("payment_group_id") in completed
        )
        if stale:
            session.expire(instance)

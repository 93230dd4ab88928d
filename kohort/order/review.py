"""Deciding an order held for review (docs/api.md, "Trust"): the merchant approves or rejects
it (`POST /orders/{id}/review`, the dashboard's queue), or its deadline passes and the mode's
default decides. Approved, a held cashback becomes available; rejected, the order's cashback
is voided as a cancellation voids it: it leaves an OPEN group, and in a completed group the
other members keep theirs."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.db import Database
from kohort.event.service import append_events
from kohort.group import repository as group_repository
from kohort.group import service as groups
from kohort.group.ending import SYSTEM, order_events
from kohort.group_settings.service import get_settings
from kohort.models import Order, PaymentGroup
from kohort.order import repository
from kohort.order.errors import ReviewNotPendingError
from kohort.order.service import get_order, lock_order
from kohort.risk import budget
from kohort.risk.policy import PENDING, Policy


async def review_order(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    order_id: str,
    approve: bool,
    actor: str,
) -> Order:
    order = await get_order(
        session, organization_id=organization_id, livemode=livemode, order_id=order_id
    )
    group, order = await lock_order(session, order)
    if order.review_status != PENDING or order.status not in (
        repository.CREATED,
        repository.CASHBACK_ON_HOLD,
    ):
        state = (
            "is not under review"
            if order.review_status is None
            else f"is {order.status.lower()}"
            if order.review_status == PENDING
            else f"was already {order.review_status.lower()}"
        )
        raise ReviewNotPendingError(f"Order {order.id} {state}.", param="id")
    await resolve(session, group, order, approve=approve, now=clock.now(), actor=actor)
    return order


async def resolve(
    session: AsyncSession,
    group: PaymentGroup | None,
    order: Order,
    *,
    approve: bool,
    now: datetime,
    actor: str,
) -> bool:
    """Decide the review of `order`, which the caller locked with its `group` (`lock_order`);
    False when it was decided first by another actor."""
    leaves = (
        not approve
        and group is not None
        and group.status == group_repository.OPEN
        and order.status == repository.CREATED
    )
    status = await group_repository.resolve_review(
        session, order=order, approve=approve, leaves=leaves, now=now, actor=actor
    )
    if status is None:
        return False
    released = order.status == repository.CASHBACK_ON_HOLD and approve
    await session.refresh(order)
    if leaves and group is not None:
        await groups.leave_group(session, group, now=now, actor=actor)
    types = ["order.review_resolved"] + (["order.cashback_available"] if released else [])
    await append_events(session, order_events(order, *types))
    if released:
        await budget.count_available(
            session, [(order.organization_id, order.livemode, order.amount_cashback or 0)], now=now
        )
    return True


async def resolve_due_reviews(db: Database, *, now: datetime, limit: int) -> int:
    """Decide, by each mode's `reviewDefault`, the reviews whose deadline passed: each in its
    own transaction, under the order's locks, re-checked there (the merchant may have decided
    in between). The number decided."""
    async with db.read() as session:
        order_ids = await group_repository.due_reviews(session, now=now, limit=limit)
    decided = 0
    for order_id in order_ids:
        async with db.write() as session:
            order = await session.get(Order, order_id)
            if order is None:
                continue
            group, order = await lock_order(session, order)
            due = order.review_due_at is not None and order.review_due_at <= now
            if order.review_status != PENDING or not due:
                continue
            settings = await get_settings(
                session, organization_id=order.organization_id, livemode=order.livemode
            )
            approve = Policy.of(settings).review_default == "release"
            if await resolve(session, group, order, approve=approve, now=now, actor=SYSTEM):
                decided += 1
    return decided

"""Joining a group (DOMAIN.md §5): the checks in their order, then one atomic seat.

The checks read the group as it is; then the member order is inserted under the unique
(group, e-mail) constraint (`ON CONFLICT DO NOTHING`) and the seat is taken by one conditional
UPDATE: a join that loses either race changes nothing (a refused seat takes its order back)
and says why. No savepoint: nothing fails inside the transaction."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.errors import AppError
from kohort.group import repository
from kohort.group.errors import (
    AmountTooLowError,
    EmailAlreadyUsedError,
    GroupEndedError,
    GroupFullError,
    GroupNotFoundError,
    RiskRefusedError,
)
from kohort.group.repository import GroupState
from kohort.models import Order, PaymentGroup
from kohort.risk import service as risk
from kohort.risk.policy import Policy


@dataclass(frozen=True)
class Seat:
    group: PaymentGroup
    order: Order
    participants: int


def check_open(group: GroupState, now: datetime) -> None:
    """An ended group, or one past its end the worker has not ended yet, cannot be joined;
    the message says which state it is in."""
    if group.status != repository.OPEN:
        state = {repository.COMPLETED: "completed (it filled up or its time ended)"}.get(
            group.status, group.status.lower()
        )
        raise GroupEndedError(
            f"Group {group.share_id} is {state}: it cannot be joined any more.", param="code"
        )
    if group.expires_at <= now:
        raise GroupEndedError(
            f"Group {group.share_id} has expired (its time ended): it cannot be joined any more.",
            param="code",
        )


def check_capacity(group: GroupState) -> None:
    if group.participants_count >= group.max_participants:
        raise GroupFullError(
            f"Maximum number of participants reached for group {group.share_id}.", param="code"
        )


def check_amount(group: GroupState, amount: int) -> None:
    minimum = int(group.settings["minPurchaseValue"])
    if amount < minimum:
        raise AmountTooLowError(
            f"The amount {amount} is below the group's minimum purchase value {minimum}.",
            param="amount",
        )


async def find_group(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    code: str,
    now: datetime,
    email: str | None = None,
) -> Row[Any]:
    """The group of `code` if it passes the first checks, in their order: it exists, it is
    OPEN and not expired, it is not full, and (with `email`) that e-mail is not a member."""
    found = await repository.get_with_membership(
        session,
        organization_id=organization_id,
        livemode=livemode,
        id_or_code=code,
        email=email or "",
    )
    if found is None:
        raise GroupNotFoundError(f"No such group: '{code}'", param="code")
    group, member = found
    check_open(group, now)
    check_capacity(group)
    if email is not None and member:
        raise EmailAlreadyUsedError(
            f"{email} is already a member of group {group.share_id}.", param="customerEmail"
        )
    return group


async def join(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    code: str,
    order_values: dict[str, Any],
    policy: Policy,
    now: datetime,
) -> Seat:
    """Seat the order in the group of `code`, or raise the first reason it cannot join; the
    last check is the order's risk against the members (`RISK_REFUSED` when the policy
    refuses its level), which also decides whether its cashback is held for review."""
    group = await find_group(
        session,
        organization_id=organization_id,
        livemode=livemode,
        code=code,
        now=now,
        email=order_values["customer_email"],
    )
    check_amount(group, order_values["amount"])
    assessment = await risk.assess(session, order_values, group=group, now=now)
    action = policy.action(assessment.level, joining=True)
    if action == "refuse":
        raise RiskRefusedError(
            f"The order's risk is {assessment.level} against the members of group "
            f"{group.share_id} ({', '.join(r.code for r in assessment.reasons)}): the "
            "organization's policy refuses such joins, so the order opened its own group.",
            assessment=assessment,
        )
    order_values = {**order_values, **assessment.values(), **policy.review_values(action, now)}
    order = await repository.insert_member(
        session,
        {**order_values, "payment_group_id": group.id, "payment_group_share_id": group.share_id},
    )
    if order is None:
        raise EmailAlreadyUsedError(
            f"{order_values['customer_email']} is already a member of group {group.share_id}.",
            param="customerEmail",
        )
    seated = await repository.take_seat(session, group_id=group.id, now=now)
    if seated is None:
        await repository.remove_member(session, order)
        raise await _why_refused(session, group.id, now)
    return Seat(group=seated, order=order, participants=seated.participants_count)


async def _why_refused(session: AsyncSession, group_id: str, now: datetime) -> AppError:
    group = await repository.get(session, group_id)
    assert group is not None
    try:
        check_open(group, now)
        check_capacity(group)
    except AppError as error:
        return error
    return GroupFullError(f"Maximum number of participants reached for group {group.share_id}.")

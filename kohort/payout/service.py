"""Payouts: one per order at most, each a chain of conditional updates.

`start_payout` moves the order CASHBACK_AVAILABLE → CASHBACK_PROCESSING and inserts its payout
(unique per order) in one savepoint: a double submit or a second worker changes nothing.
`mark_paid` moves the payout to `paid` and the order to CASHBACK_SENT. Each order transition
appends its event in the same transaction."""

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import crypto
from kohort.audit import service as audit
from kohort.config import Settings
from kohort.event.service import append_event
from kohort.group.ending import order_data
from kohort.ids import new_id
from kohort.models import Order, Payout
from kohort.payout import repository
from kohort.payout.errors import PayoutNotFoundError, PayoutNotRetryableError
from kohort.payout.repository import (
    CASHBACK_AVAILABLE,
    CASHBACK_PROCESSING,
    CASHBACK_SENT,
    FAILED,
    PAID,
    PENDING,
    PROCESSING,
    SEPA_TRANSFER,
)
from kohort.payout.schemas import PayoutRead


class _Lost(Exception):
    """Another actor started this order's payout first (or the order is not payable)."""


def method_for(*, livemode: bool, organization_method: str | None) -> str:
    """Test mode rehearses live mode's default, `sepa_transfer` (the shopper's form, then a
    batch); live mode pays with the organization's method."""
    if not livemode:
        return SEPA_TRANSFER
    return organization_method or SEPA_TRANSFER


async def _record(session: AsyncSession, event_type: str, order: Order) -> None:
    await append_event(
        session,
        type=event_type,
        organization_id=order.organization_id,
        livemode=order.livemode,
        data=order_data(order),
    )


async def start_payout(
    session: AsyncSession,
    *,
    order_id: str,
    method: str,
    now: datetime,
    iban: str | None = None,
    account_holder_name: str | None = None,
    settings: Settings | None = None,
) -> Payout | None:
    """Insert the order's payout (`pending`) and move the order to CASHBACK_PROCESSING.
    None, with nothing changed, when the order is not CASHBACK_AVAILABLE or already has its
    payout. Provider payouts are due now; SEPA ones wait for the day's batch. `settings` is
    needed with an IBAN (encrypted at rest)."""
    if iban is not None and settings is None:
        raise ValueError("settings are needed to encrypt the IBAN")
    try:
        async with session.begin_nested():
            order = await repository.move_order(
                session,
                order_id,
                from_status=CASHBACK_AVAILABLE,
                to_status=CASHBACK_PROCESSING,
                now=now,
            )
            if order is None or order.amount_cashback is None:
                raise _Lost
            payout = Payout(
                id=new_id("po"),
                organization_id=order.organization_id,
                livemode=order.livemode,
                order_id=order.id,
                method=method,
                amount=order.amount_cashback,
                currency=order.currency,
                status=PENDING,
                attempts=0,
                next_attempt_at=None if method == SEPA_TRANSFER else now,
                account_holder_name=account_holder_name,
                iban_encrypted=(
                    crypto.encrypt(settings, crypto.compact_iban(iban))
                    if iban is not None and settings is not None
                    else None
                ),
                iban_masked=crypto.mask_iban(iban) if iban is not None else None,
                created_at=now,
                updated_at=now,
            )
            session.add(payout)
            await session.flush()
    except (_Lost, IntegrityError):
        return None
    await _record(session, "order.cashback_processing", order)
    return payout


async def mark_paid(
    session: AsyncSession,
    *,
    payout_id: str,
    now: datetime,
    provider_reference: str | None = None,
) -> bool:
    """pending|processing → paid, and the order CASHBACK_PROCESSING → CASHBACK_SENT with
    `order.cashback_sent`. False when the payout was not pending or processing."""
    payout = await repository.update_if(
        session,
        payout_id,
        statuses=(PENDING, PROCESSING),
        values={
            "status": PAID,
            "paid_at": now,
            "provider_reference": provider_reference,
            "next_attempt_at": None,
            "updated_at": now,
        },
    )
    if payout is None:
        return False
    order = await repository.move_order(
        session,
        payout.order_id,
        from_status=CASHBACK_PROCESSING,
        to_status=CASHBACK_SENT,
        now=now,
    )
    if order is not None:
        await _record(session, "order.cashback_sent", order)
    return True


async def mark_failed(
    session: AsyncSession,
    *,
    payout_id: str,
    now: datetime,
    error: str,
    attempts: int | None = None,
) -> bool:
    """pending|processing → failed with `error` (the merchant can retry it). With `attempts`,
    only if the payout is still at that attempt (a newer attempt's outcome is kept)."""
    payout = await repository.update_if(
        session,
        payout_id,
        statuses=(PENDING, PROCESSING),
        attempts=attempts,
        values={
            "status": FAILED,
            "failed_at": now,
            "last_error": error,
            "next_attempt_at": None,
            "updated_at": now,
        },
    )
    return payout is not None


async def postpone(
    session: AsyncSession,
    *,
    payout_id: str,
    attempts: int,
    retry_at: datetime,
    error: str,
    now: datetime,
) -> bool:
    """A transient failure of attempt `attempts`: pending again, due at `retry_at`."""
    payout = await repository.update_if(
        session,
        payout_id,
        statuses=(PROCESSING,),
        attempts=attempts,
        values={
            "status": PENDING,
            "next_attempt_at": retry_at,
            "last_error": error,
            "updated_at": now,
        },
    )
    return payout is not None


async def get_payout(
    session: AsyncSession, *, organization_id: str, livemode: bool, payout_id: str
) -> Payout:
    payout = await repository.get(
        session, organization_id=organization_id, livemode=livemode, payout_id=payout_id
    )
    if payout is None:
        raise PayoutNotFoundError(f"No such payout: '{payout_id}'", param="id")
    return payout


async def retry_payout(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    payout_id: str,
    now: datetime,
    actor: audit.Actor,
) -> Payout:
    """The merchant's retry: failed → pending, due now (SEPA: in the next day's batch),
    recorded as `payout.retried`."""
    payout = await get_payout(
        session, organization_id=organization_id, livemode=livemode, payout_id=payout_id
    )
    before = _audited(payout)
    retried = await repository.update_if(
        session,
        payout.id,
        statuses=(FAILED,),
        values={
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": None if payout.method == SEPA_TRANSFER else now,
            "batch_id": None,
            "updated_at": now,
        },
    )
    if retried is None:
        raise PayoutNotRetryableError(
            f"Only a failed payout can be retried; this one is {payout.status}.", param="id"
        )
    await audit.record(
        session,
        actor=actor,
        organization_id=retried.organization_id,
        livemode=retried.livemode,
        action="payout.retried",
        target_type="payout",
        target_id=retried.id,
        changes=audit.diff(before, _audited(retried)),
    )
    return retried


def _audited(payout: Payout) -> dict[str, Any]:
    """The payout as the API shows it, but for `updatedAt`."""
    shown = PayoutRead.model_validate(payout).model_dump(mode="json", by_alias=True)
    del shown["updatedAt"]
    return shown

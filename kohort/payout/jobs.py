"""Payouts' background work: start the payouts that need no shopper action (Stripe refunds),
pay the due ones, retry transient provider failures with backoff. SEPA payouts, in both modes,
are started by the shopper and paid by a batch (`kohort.payout_batch`).

A provider payout is leased in a short transaction (`FOR UPDATE SKIP LOCKED`; `processing`,
one more attempt, due again when the lease ends), the provider is called with no transaction
open, and the outcome is recorded in another short transaction. A worker killed between the
call and the record leaves the payout leased: when the lease ends another attempt is made,
which finds the refund already made (see `stripe_refund`)."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from kohort import crypto
from kohort.config import Settings
from kohort.db import Database
from kohort.models import Order, Organization, Payout
from kohort.payout import repository, service, stripe_refund
from kohort.payout.repository import PROCESSING, STRIPE_REFUND, TEST
from kohort.payout.stripe_refund import Refund, RefundFailed

log = logging.getLogger("kohort.payout")

LEASE = timedelta(minutes=15)
CONCURRENCY = 10
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
"""Wait after the n-th transient failure. They add up to under 24 hours, the time Stripe keeps
an idempotency key; after the last one the payout is failed (the merchant can retry it)."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


@dataclass(frozen=True)
class _Outcome:
    payout_id: str
    attempts: int
    reference: str | None = None
    failure: RefundFailed | None = None


async def process_due(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Handle up to `limit` items of each kind (payouts to start, leftover `test` payouts,
    Stripe refunds); the most handled of any kind, so that a full batch is followed at once."""
    started = await start_automatic(db, now=now, limit=limit)
    paid = await pay_test(db, now=now, limit=limit)
    refunded = await pay_stripe(db, settings, now=now, limit=limit)
    return max(started, paid, refunded)


async def start_automatic(db: Database, *, now: datetime, limit: int) -> int:
    """Start the payouts of CASHBACK_AVAILABLE orders that need no shopper action: live
    orders of organizations paying by Stripe refund."""
    async with db.write() as session:
        orders = await repository.claim_orders_to_pay(session, limit=limit)
        for order in orders:
            await service.start_payout(session, order_id=order.id, method=STRIPE_REFUND, now=now)
    return len(orders)


async def pay_test(db: Database, *, now: datetime, limit: int) -> int:
    """A `test` payout (test mode's method before it rehearsed SEPA; none is made any more)
    still pending in a database moves no money: it is paid at once, so its order is not left
    CASHBACK_PROCESSING."""
    async with db.write() as session:
        payouts = await repository.claim_due(session, now=now, methods=(TEST,), limit=limit)
        for payout in payouts:
            reference = f"test_{payout.id.removeprefix('po_')}"
            await service.mark_paid(
                session, payout_id=payout.id, now=now, provider_reference=reference
            )
    return len(payouts)


async def pay_stripe(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Lease the due Stripe refunds, make them, record each outcome."""
    calls = await lease_refunds(db, settings, now=now, limit=limit)
    if not calls:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(call: Refund, attempts: int) -> _Outcome:
        async with gate:
            try:
                reference = await stripe_refund.refund(settings, call)
            except RefundFailed as failure:
                return _Outcome(call.payout_id, attempts, failure=failure)
            return _Outcome(call.payout_id, attempts, reference=reference)

    outcomes = await asyncio.gather(*(run(call, attempts) for call, attempts in calls))
    for outcome in outcomes:
        await _record(db, outcome, now=now)
    return len(calls)


async def lease_refunds(
    db: Database, settings: Settings, *, now: datetime, limit: int
) -> list[tuple[Refund, int]]:
    """Claim due Stripe payouts (one more attempt each, leased until now + LEASE); those that
    cannot be attempted (no payment reference, no usable key) fail at once."""
    calls: list[tuple[Refund, int]] = []
    async with db.write() as session:
        payouts = await repository.claim_due(
            session, now=now, methods=(STRIPE_REFUND,), limit=limit
        )
        orders = await repository.orders_by_id(session, {p.order_id for p in payouts})
        shops = await repository.organizations_by_id(session, {p.organization_id for p in payouts})
        for payout in payouts:
            leased = await repository.update_if(
                session,
                payout.id,
                statuses=(payout.status,),
                attempts=payout.attempts,
                values={
                    "status": PROCESSING,
                    "attempts": payout.attempts + 1,
                    "next_attempt_at": now + LEASE,
                    "updated_at": now,
                },
            )
            if leased is None:
                continue
            call = _refund_call(
                settings, leased, orders[payout.order_id], shops[payout.organization_id]
            )
            if isinstance(call, str):
                await service.mark_failed(session, payout_id=payout.id, now=now, error=call)
                continue
            calls.append((call, leased.attempts))
    return calls


def _refund_call(
    settings: Settings, payout: Payout, order: Order, shop: Organization
) -> Refund | str:
    """The refund to make, or why it cannot be made."""
    if not order.payment_reference:
        return "The order has no paymentReference (its Stripe PaymentIntent id): nothing to refund."
    if not shop.stripe_secret_key_encrypted:
        return "The organization has no Stripe secret key (stripeSecretKey)."
    try:
        api_key = crypto.decrypt(settings, shop.stripe_secret_key_encrypted)
    except crypto.DecryptionError as error:
        return f"The organization's Stripe secret key cannot be read: {error}."
    suffix = f"_{int(payout.failed_at.timestamp())}" if payout.failed_at else ""
    return Refund(
        payout_id=payout.id,
        order_id=order.id,
        payment_intent=order.payment_reference,
        amount=payout.amount,
        api_key=api_key,
        idempotency_key=f"kohort_payout_{order.id}{suffix}",
    )


async def _record(db: Database, outcome: _Outcome, *, now: datetime) -> None:
    async with db.write() as session:
        if outcome.failure is None:
            await service.mark_paid(
                session, payout_id=outcome.payout_id, now=now, provider_reference=outcome.reference
            )
            log.info("payout paid", extra={"payout": outcome.payout_id})
            return
        failure = outcome.failure
        if failure.transient and outcome.attempts < MAX_ATTEMPTS:
            await service.postpone(
                session,
                payout_id=outcome.payout_id,
                attempts=outcome.attempts,
                retry_at=now + RETRY_DELAYS[outcome.attempts - 1],
                error=failure.reason,
                now=now,
            )
            log.warning(
                "payout postponed", extra={"payout": outcome.payout_id, "error": failure.reason}
            )
            return
        reason = failure.reason
        if failure.transient:
            reason = f"Gave up after {outcome.attempts} attempts: {reason}"
        await service.mark_failed(
            session,
            payout_id=outcome.payout_id,
            now=now,
            error=reason,
            attempts=outcome.attempts,
        )
        log.warning("payout failed", extra={"payout": outcome.payout_id, "error": reason})

"""The merchant's side of SEPA batches: build one now, read them, download the file, and
confirm that the bank executed it, which pays every payout in it."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import crypto
from kohort.audit import service as audit
from kohort.config import Settings
from kohort.models import PayoutBatch
from kohort.payout.service import mark_paid
from kohort.payout_batch import building, repository
from kohort.payout_batch.errors import (
    NothingToBatchError,
    PayoutBatchAlreadyConfirmedError,
    PayoutBatchNotFoundError,
    PayoutDebtorAccountMissingError,
)
from kohort.payout_batch.schemas import PayoutBatchRead

NO_DEBTOR_ACCOUNT = (
    "Live mode has no SEPA debtor account to pay from: set payoutDebtorName and "
    "payoutDebtorIban with PATCH /organizations/{id} (a live secret key), then build the batch."
)
UNREADABLE_DEBTOR_ACCOUNT = (
    "The organization's debtor IBAN cannot be decrypted (KOHORT_SECRET_KEY changed since it "
    "was set): set payoutDebtorIban again with PATCH /organizations/{id}."
)
NOTHING_TO_BATCH = (
    "No approved SEPA payout of this organization and mode waits for a batch: a payout is "
    "approved when the shopper submits the withdrawal page, and is in one batch at most."
)


async def build_now(
    session: AsyncSession,
    settings: Settings,
    *,
    organization_id: str,
    livemode: bool,
    now: datetime,
    actor: audit.Actor | None = None,
) -> PayoutBatch:
    """The batch of every approved SEPA payout of the account that no batch holds, built at
    once by the worker's building code (whatever the day's batch did). Live mode without a
    debtor account → 400 PAYOUT_DEBTOR_ACCOUNT_MISSING; nothing waiting → 400
    NOTHING_TO_BATCH. `actor` records the build (`payout_batch.created`)."""
    organization = await repository.organization(session, organization_id)
    if livemode and organization is not None:
        missing = [
            field
            for field, value in (
                ("payoutDebtorName", organization.payout_debtor_name),
                ("payoutDebtorIban", organization.payout_debtor_iban_encrypted),
            )
            if not value
        ]
        if missing:
            raise PayoutDebtorAccountMissingError(NO_DEBTOR_ACCOUNT, param=missing[0])
    try:
        batch = await building.build_batch(
            session,
            settings,
            organization_id=organization_id,
            livemode=livemode,
            cutoff=None,
            now=now,
        )
    except crypto.DecryptionError:
        raise PayoutDebtorAccountMissingError(
            UNREADABLE_DEBTOR_ACCOUNT, param="payoutDebtorIban"
        ) from None
    if batch is None:
        raise NothingToBatchError(NOTHING_TO_BATCH)
    if actor is not None:
        await _record(session, actor, batch, "created", audit.created(_audited(batch)))
    return batch


def _audited(batch: PayoutBatch) -> dict[str, Any]:
    shown = PayoutBatchRead.model_validate(batch).model_dump(mode="json", by_alias=True)
    fields = ("status", "currency", "totalAmount", "payoutsCount", "messageId", "confirmedAt")
    return {name: shown[name] for name in fields}


async def _record(
    session: AsyncSession,
    actor: audit.Actor,
    batch: PayoutBatch,
    verb: str,
    changes: dict[str, Any],
) -> None:
    await audit.record(
        session,
        actor=actor,
        organization_id=batch.organization_id,
        livemode=batch.livemode,
        action=f"payout_batch.{verb}",
        target_type="payout_batch",
        target_id=batch.id,
        changes=changes,
    )


async def get_batch(
    session: AsyncSession, *, organization_id: str, livemode: bool, batch_id: str
) -> PayoutBatch:
    batch = await repository.get(
        session, organization_id=organization_id, livemode=livemode, batch_id=batch_id
    )
    if batch is None:
        raise PayoutBatchNotFoundError(f"No such payout batch: '{batch_id}'", param="id")
    return batch


async def confirm_batch(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    batch_id: str,
    now: datetime,
    actor: audit.Actor,
) -> PayoutBatch:
    """ready → confirmed, and each payout in it paid (its order CASHBACK_SENT, with
    `order.cashback_sent`). A batch confirmed already → 400 PAYOUT_BATCH_ALREADY_CONFIRMED,
    nothing changed."""
    batch = await get_batch(
        session, organization_id=organization_id, livemode=livemode, batch_id=batch_id
    )
    before = _audited(batch)
    confirmed = await repository.confirm(session, batch.id, now=now)
    if confirmed is None:
        raise PayoutBatchAlreadyConfirmedError(
            f"Payout batch '{batch_id}' was already confirmed.", param="id"
        )
    for payout_id in await repository.payout_ids_in(session, batch.id):
        await mark_paid(session, payout_id=payout_id, now=now, provider_reference=batch.message_id)
    await _record(session, actor, confirmed, "confirmed", audit.diff(before, _audited(confirmed)))
    return confirmed

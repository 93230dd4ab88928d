"""The merchant's side of SEPA batches: read them, download the file, and confirm that the
bank executed it, which pays every payout in it."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import PayoutBatch
from kohort.payout.service import mark_paid
from kohort.payout_batch import repository
from kohort.payout_batch.errors import PayoutBatchAlreadyConfirmedError, PayoutBatchNotFoundError


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
    session: AsyncSession, *, organization_id: str, livemode: bool, batch_id: str, now: datetime
) -> PayoutBatch:
    """ready → confirmed, and each payout in it paid (its order CASHBACK_SENT, with
    `order.cashback_sent`). A batch confirmed already → 400 PAYOUT_BATCH_ALREADY_CONFIRMED,
    nothing changed."""
    batch = await get_batch(
        session, organization_id=organization_id, livemode=livemode, batch_id=batch_id
    )
    confirmed = await repository.confirm(session, batch.id, now=now)
    if confirmed is None:
        raise PayoutBatchAlreadyConfirmedError(
            f"Payout batch '{batch_id}' was already confirmed.", param="id"
        )
    for payout_id in await repository.payout_ids_in(session, batch.id):
        await mark_paid(session, payout_id=payout_id, now=now, provider_reference=batch.message_id)
    return confirmed

"""SEPA batches: gather each day's approved SEPA payouts into one pain.001 file per
organization and mode.

The cut-off is midnight UTC: a run on day D gathers the payouts approved before D 00:00 UTC
that no batch holds yet, and builds at most one batch per organization and mode per UTC day
(a payout approved just before midnight whose transaction committed after that day's batch
waits for the next one). The worker runs this every poll interval; it finds work once a day."""

import logging
from datetime import datetime, time

from kohort import crypto
from kohort.config import Settings
from kohort.db import Database
from kohort.payout_batch import building, repository

log = logging.getLogger("kohort.payout_batch")

NO_DEBTOR = (
    "waiting for the organization's SEPA debtor account "
    "(payoutDebtorName and payoutDebtorIban) to build the day's batch"
)
UNREADABLE_DEBTOR = (
    "the organization's debtor IBAN cannot be decrypted (KOHORT_SECRET_KEY changed): "
    "set payoutDebtorIban again"
)


def cutoff_of(now: datetime) -> datetime:
    """The start of `now`'s UTC day: payouts approved before it go in today's batches."""
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


async def build_due_batches(db: Database, settings: Settings, *, now: datetime, limit: int) -> int:
    """Build up to `limit` due batches; how many were built."""
    cutoff = cutoff_of(now)
    await _flag_missing_debtors(db, cutoff=cutoff, now=now, limit=limit)
    async with db.read() as session:
        accounts = await repository.due_accounts(session, cutoff=cutoff, limit=limit)
    built = 0
    for organization_id, livemode in accounts:
        try:
            async with db.write() as session:
                batch = await building.build_batch(
                    session,
                    settings,
                    organization_id=organization_id,
                    livemode=livemode,
                    cutoff=cutoff,
                    now=now,
                )
        except crypto.DecryptionError:
            await _flag_account(db, organization_id, livemode, cutoff=cutoff, now=now)
            continue
        if batch is not None:
            built += 1
            log.info(
                "payout batch built",
                extra={
                    "organization_id": organization_id,
                    "batch_id": batch.id,
                    "payouts": batch.payouts_count,
                    "total_amount": batch.total_amount,
                },
            )
    return built


async def _flag_missing_debtors(
    db: Database, *, cutoff: datetime, now: datetime, limit: int
) -> None:
    """Tell, once, on each waiting payout (its `lastError`) and in the log, that its
    organization has no debtor account yet."""
    async with db.read() as session:
        waiting = await repository.unflagged_without_debtor(
            session, cutoff=cutoff, error=NO_DEBTOR, limit=limit
        )
    if not waiting:
        return
    async with db.write() as session:
        flagged = await repository.flag(session, waiting, error=NO_DEBTOR, now=now)
    if flagged:
        log.warning("SEPA payouts wait for a debtor account", extra={"payouts": flagged})


async def _flag_account(
    db: Database, organization_id: str, livemode: bool, *, cutoff: datetime, now: datetime
) -> None:
    async with db.write() as session:
        claimed = await repository.claim_payouts(
            session, organization_id=organization_id, livemode=livemode, cutoff=cutoff
        )
        fresh = [p.id for p in claimed if p.last_error != UNREADABLE_DEBTOR]
        flagged = await repository.flag(session, fresh, error=UNREADABLE_DEBTOR, now=now)
    if flagged:
        log.error(
            "SEPA batch not built: the debtor IBAN cannot be decrypted",
            extra={"organization_id": organization_id, "payouts": flagged},
        )

"""SEPA batches: gather each day's approved SEPA payouts into one pain.001 file per
organization and mode, and build them now on request (`kohort payout-batches build`).

The cut-off is midnight UTC: a run on day D gathers the payouts approved before D 00:00 UTC
that no batch holds yet, and builds at most one batch per organization and mode per UTC day
(a payout approved just before midnight whose transaction committed after that day's batch
waits for the next one). The worker runs this every poll interval; it finds work once a day."""

import logging
from dataclasses import dataclass
from datetime import datetime, time

from kohort import crypto
from kohort.config import Settings
from kohort.db import Database
from kohort.errors import AppError
from kohort.models import PayoutBatch
from kohort.payout_batch import building, repository, service

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


@dataclass(frozen=True)
class Built:
    """One account's outcome of a build on request: its batch, or why none was built."""

    organization_id: str
    livemode: bool
    batch: PayoutBatch | None = None
    error: AppError | None = None


async def build_waiting_batches(
    db: Database,
    settings: Settings,
    *,
    now: datetime,
    organization_id: str | None = None,
    livemode: bool | None = None,
) -> list[Built]:
    """A batch now, as `POST /payout-batches` builds it, for each account (of one organization
    and mode when given) with approved SEPA payouts waiting, each in its own transaction."""
    async with db.read() as session:
        accounts = await repository.waiting_accounts(
            session, organization_id=organization_id, livemode=livemode
        )
    outcomes = []
    for account_id, account_livemode in accounts:
        try:
            async with db.write() as session:
                batch = await service.build_now(
                    session,
                    settings,
                    organization_id=account_id,
                    livemode=account_livemode,
                    now=now,
                )
        except AppError as error:
            outcomes.append(Built(account_id, account_livemode, error=error))
            continue
        outcomes.append(Built(account_id, account_livemode, batch=batch))
    return outcomes

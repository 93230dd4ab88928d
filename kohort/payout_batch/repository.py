"""Every query on payout batches, and on the SEPA payouts they gather."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.http.lists import Kind, ListField
from kohort.models import Organization, Payout, PayoutBatch
from kohort.payout.repository import PENDING, PROCESSING, SEPA_TRANSFER

READY = "ready"
CONFIRMED = "confirmed"
SEPA_CURRENCY = "EUR"

LIST_FIELDS = {
    "id": ListField(PayoutBatch.id, Kind.STRING),
    "status": ListField(PayoutBatch.status, Kind.STRING, choices=(READY, CONFIRMED)),
    "messageId": ListField(PayoutBatch.message_id, Kind.STRING),
    "totalAmount": ListField(PayoutBatch.total_amount, Kind.INTEGER),
    "payoutsCount": ListField(PayoutBatch.payouts_count, Kind.INTEGER),
    "createdAt": ListField(PayoutBatch.created_at, Kind.TIMESTAMP),
    "confirmedAt": ListField(PayoutBatch.confirmed_at, Kind.TIMESTAMP, nullable=True),
}


def select_listed(organization_id: str, livemode: bool) -> Select[PayoutBatch]:
    return select(PayoutBatch).where(
        PayoutBatch.organization_id == organization_id, PayoutBatch.livemode == livemode
    )


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, batch_id: str
) -> PayoutBatch | None:
    stmt = select_listed(organization_id, livemode).where(PayoutBatch.id == batch_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _awaiting_batch(cutoff: datetime | None) -> ColumnElement[bool]:
    """SEPA payouts approved before `cutoff` (None: until now) that no batch holds yet."""
    return and_(
        Payout.method == SEPA_TRANSFER,
        Payout.status == PENDING,
        Payout.batch_id.is_(None),
        Payout.currency == SEPA_CURRENCY,
        true() if cutoff is None else Payout.created_at < cutoff,
    )


def _has_debtor() -> ColumnElement[bool]:
    """The payout's account can be paid from: test mode's simulated debtor always, live mode
    once the organization set its debtor account."""
    return or_(
        Payout.livemode.is_(False),
        and_(
            Organization.payout_debtor_name.is_not(None),
            Organization.payout_debtor_name != "",
            Organization.payout_debtor_iban_encrypted.is_not(None),
        ),
    )


def _batched_since(cutoff: datetime) -> ColumnElement[bool]:
    return exists().where(
        PayoutBatch.organization_id == Payout.organization_id,
        PayoutBatch.livemode == Payout.livemode,
        PayoutBatch.created_at >= cutoff,
    )


async def due_accounts(
    session: AsyncSession, *, cutoff: datetime, limit: int
) -> list[tuple[str, bool]]:
    """(organization, mode) pairs with payouts awaiting a batch, a debtor account, and no
    batch built since `cutoff` (one batch per organization, mode and day)."""
    stmt = (
        select(Payout.organization_id, Payout.livemode)
        .join(Organization, Organization.id == Payout.organization_id)
        .where(_awaiting_batch(cutoff), _has_debtor(), ~_batched_since(cutoff))
        .group_by(Payout.organization_id, Payout.livemode)
        .order_by(Payout.organization_id, Payout.livemode)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await session.execute(stmt)]


async def waiting_accounts(
    session: AsyncSession, *, organization_id: str | None, livemode: bool | None
) -> list[tuple[str, bool]]:
    """(organization, mode) pairs with payouts awaiting a batch now, whatever their debtor
    account and the day's batch, of one organization and mode when given."""
    conditions = [_awaiting_batch(None)]
    if organization_id is not None:
        conditions.append(Payout.organization_id == organization_id)
    if livemode is not None:
        conditions.append(Payout.livemode.is_(livemode))
    stmt = (
        select(Payout.organization_id, Payout.livemode)
        .where(*conditions)
        .group_by(Payout.organization_id, Payout.livemode)
        .order_by(Payout.organization_id, Payout.livemode)
    )
    return [(row[0], row[1]) for row in await session.execute(stmt)]


async def unflagged_without_debtor(
    session: AsyncSession, *, cutoff: datetime, error: str, limit: int
) -> list[str]:
    """Payouts awaiting a batch whose organization has no debtor account, not yet told so."""
    stmt = (
        select(Payout.id)
        .join(Organization, Organization.id == Payout.organization_id)
        .where(
            _awaiting_batch(cutoff),
            ~_has_debtor(),
            or_(Payout.last_error.is_(None), Payout.last_error != error),
        )
        .order_by(Payout.created_at, Payout.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def flag(
    session: AsyncSession, payout_ids: Sequence[str], *, error: str, now: datetime
) -> int:
    """Record why these payouts wait (they stay pending); how many were changed."""
    result = await session.execute(
        update(Payout)
        .where(Payout.id.in_(payout_ids), Payout.status == PENDING, Payout.batch_id.is_(None))
        .values(last_error=error, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def organization(session: AsyncSession, organization_id: str) -> Organization | None:
    return await session.get(Organization, organization_id)


async def claim_payouts(
    session: AsyncSession, *, organization_id: str, livemode: bool, cutoff: datetime | None
) -> list[Payout]:
    """The account's payouts awaiting a batch, locked (another worker skips them)."""
    stmt = (
        select(Payout)
        .where(
            Payout.organization_id == organization_id,
            Payout.livemode == livemode,
            _awaiting_batch(cutoff),
        )
        .order_by(Payout.created_at, Payout.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def batched_since(
    session: AsyncSession, *, organization_id: str, livemode: bool, cutoff: datetime
) -> bool:
    stmt = select(
        exists().where(
            PayoutBatch.organization_id == organization_id,
            PayoutBatch.livemode == livemode,
            PayoutBatch.created_at >= cutoff,
        )
    )
    return bool((await session.execute(stmt)).scalar())


async def attach(
    session: AsyncSession, payout_ids: Sequence[str], *, batch_id: str, now: datetime
) -> int:
    """pending → processing in the batch, for payouts no batch holds; how many moved."""
    result = await session.execute(
        update(Payout)
        .where(Payout.id.in_(payout_ids), Payout.status == PENDING, Payout.batch_id.is_(None))
        .values(batch_id=batch_id, status=PROCESSING, last_error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def confirm(session: AsyncSession, batch_id: str, *, now: datetime) -> PayoutBatch | None:
    """ready → confirmed; None when the batch was not ready."""
    stmt = (
        update(PayoutBatch)
        .where(PayoutBatch.id == batch_id, PayoutBatch.status == READY)
        .values(status=CONFIRMED, confirmed_at=now, updated_at=now)
        .returning(PayoutBatch)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def payout_ids_in(session: AsyncSession, batch_id: str) -> list[str]:
    stmt = select(Payout.id).where(Payout.batch_id == batch_id).order_by(Payout.id)
    return list((await session.execute(stmt)).scalars())

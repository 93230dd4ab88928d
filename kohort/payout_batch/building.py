"""Building a batch for one organization and mode: the SEPA payouts approved before the
cut-off (the worker's midnight run) or all those waiting (the merchant's `POST
/payout-batches`), their pain.001 file, and each payout moved to `processing` in the batch, in
one transaction. Payouts are claimed with `FOR UPDATE SKIP LOCKED` and moved by a conditional
update, so a payout is in one batch at most whatever the workers and requests do."""

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import crypto
from kohort.config import Settings
from kohort.ids import new_id
from kohort.models import Order, Organization, Payout, PayoutBatch
from kohort.payout import repository as payouts
from kohort.payout.service import mark_failed
from kohort.payout_batch import pain001, repository

log = logging.getLogger("kohort.payout_batch")

UNREADABLE_IBAN = "the IBAN cannot be decrypted (KOHORT_SECRET_KEY changed since it was given)"


class BatchNotBuilt(Exception):
    """Payouts moved under the builder's feet: the transaction is rolled back."""


def message_id(batch_id: str, now: datetime) -> str:
    """`KOHORT-{yyyymmdd}-{batch id's hex}`: 30 characters of the SEPA character set."""
    return f"KOHORT-{now:%Y%m%d}-{batch_id.partition('_')[2].upper()}"


def end_to_end_id(payout_id: str) -> str:
    """The transfer's `EndToEndId`: the payout id in the EPC's restricted character set (no
    `_`): `po_0123456789abcd` → `po-0123456789abcd`."""
    return payout_id.replace("_", "-")


def _remittance(shop: str, order: Order | None, payout: Payout) -> str:
    reference = (order.client_reference_id if order else None) or payout.order_id
    return f"Cashback {shop} - order {reference}"


def debtor_of(
    settings: Settings, organization: Organization, *, livemode: bool
) -> pain001.Debtor | None:
    """The account the transfers leave from: in live mode the merchant's (None when it is not
    set up), in test mode the simulated one."""
    if not livemode:
        return pain001.TEST_MODE_DEBTOR
    if not organization.payout_debtor_name or not organization.payout_debtor_iban_encrypted:
        return None
    return pain001.Debtor(
        name=organization.payout_debtor_name,
        iban=crypto.decrypt(settings, organization.payout_debtor_iban_encrypted),
        bic=organization.payout_debtor_bic or None,
    )


async def _transfers(
    session: AsyncSession, settings: Settings, shop: str, claimed: list[Payout], now: datetime
) -> list[tuple[Payout, pain001.Transfer]]:
    """A transfer per payout; a payout whose IBAN cannot be read fails (the merchant sees it
    and the shopper can be asked again) instead of blocking the others."""
    orders = await payouts.orders_by_id(session, {payout.order_id for payout in claimed})
    transfers = []
    for payout in claimed:
        try:
            iban = crypto.decrypt(settings, payout.iban_encrypted or "")
        except crypto.DecryptionError:
            await mark_failed(session, payout_id=payout.id, now=now, error=UNREADABLE_IBAN)
            continue
        transfer = pain001.Transfer(
            end_to_end_id=end_to_end_id(payout.id),
            creditor_name=payout.account_holder_name or "",
            iban=iban,
            amount=payout.amount,
            remittance=_remittance(shop, orders.get(payout.order_id), payout),
        )
        transfers.append((payout, transfer))
    return transfers


async def build_batch(
    session: AsyncSession,
    settings: Settings,
    *,
    organization_id: str,
    livemode: bool,
    cutoff: datetime | None,
    now: datetime,
) -> PayoutBatch | None:
    """The account's batch of the payouts approved before `cutoff`, at most one per UTC day
    since it; with `cutoff` None, of every payout waiting, whatever was built today. None when
    there is nothing to gather, a batch was built today, or live mode has no debtor account.
    `crypto.DecryptionError` when the debtor's IBAN cannot be read."""
    organization = await repository.organization(session, organization_id)
    if organization is None or (
        cutoff is not None
        and await repository.batched_since(
            session, organization_id=organization_id, livemode=livemode, cutoff=cutoff
        )
    ):
        return None
    debtor = debtor_of(settings, organization, livemode=livemode)
    if debtor is None:
        return None
    claimed = await repository.claim_payouts(
        session, organization_id=organization_id, livemode=livemode, cutoff=cutoff
    )
    transfers = await _transfers(session, settings, organization.name, claimed, now)
    if not transfers:
        return None
    batch_id = new_id("pb")
    batch = PayoutBatch(
        id=batch_id,
        organization_id=organization_id,
        livemode=livemode,
        status=repository.READY,
        currency=repository.SEPA_CURRENCY,
        total_amount=sum(transfer.amount for _, transfer in transfers),
        payouts_count=len(transfers),
        message_id=message_id(batch_id, now),
        file=pain001.build(
            message_id=message_id(batch_id, now),
            debtor=debtor,
            transfers=[transfer for _, transfer in transfers],
            created_at=now,
            execution_date=now.date(),
            currency=repository.SEPA_CURRENCY,
        ),
        created_at=now,
        updated_at=now,
        confirmed_at=None,
    )
    session.add(batch)
    await session.flush()
    ids = [payout.id for payout, _ in transfers]
    if await repository.attach(session, ids, batch_id=batch_id, now=now) != len(ids):
        raise BatchNotBuilt(f"payouts of batch {batch_id} changed while it was built")
    return batch

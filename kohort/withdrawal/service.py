"""The shopper's withdrawal of a cashback: what the link shows, and the submitted bank
account turned into the order's one payout.

The token decides first (unknown order, wrong, used or expired link), then the order's state
and its payout method. A submit uses the token and starts the payout in one savepoint of the
request's transaction: of any number of simultaneous submits, one starts the payout, the
others find the token used and change nothing."""

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.config import Settings
from kohort.email import repository as tokens
from kohort.email.service import verify_withdrawal_token
from kohort.models import Order, Organization, Payout
from kohort.order import repository as orders
from kohort.payout.repository import SEPA_TRANSFER
from kohort.payout.service import method_for, start_payout
from kohort.withdrawal import repository

MAX_HOLDER_LENGTH = 70
"""The longest name a pain.001 creditor (`Cdtr/Nm`) may carry."""
MAX_IBAN_LENGTH = 64


class Outcome(StrEnum):
    FORM = "form"
    INVALID_INPUT = "invalid_input"
    STARTED = "started"
    AUTOMATIC = "automatic"
    UNKNOWN_ORDER = "unknown_order"
    WRONG_TOKEN = "wrong_token"
    TOKEN_USED = "token_used"
    TOKEN_EXPIRED = "token_expired"
    IN_PROGRESS = "in_progress"
    SENT = "sent"
    CANCELED = "canceled"
    NOT_AVAILABLE = "not_available"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    order: Order | None = None
    organization: Organization | None = None
    method: str | None = None
    payout: Payout | None = None
    errors: dict[str, str] = field(default_factory=dict)
    """Field name → error code, in the order of the form's fields."""


@dataclass(frozen=True)
class Account:
    holder: str
    iban: str


_BY_STATUS = {
    orders.CASHBACK_PROCESSING: Outcome.IN_PROGRESS,
    orders.CASHBACK_SENT: Outcome.SENT,
    orders.CANCELED: Outcome.CANCELED,
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _token_problem(
    session: AsyncSession, order_id: str, token: str, now: datetime
) -> Outcome | None:
    """None when `token` is the order's valid link; else what is wrong with it. A wrong token
    learns nothing about the real one's state (nor the order's shop)."""
    if await verify_withdrawal_token(session, order_id, token, now):
        return None
    stored = await tokens.withdrawal_token(session, order_id)
    if stored is None or not hmac.compare_digest(_hash(token), stored.token_hash):
        return Outcome.WRONG_TOKEN
    return Outcome.TOKEN_USED if stored.used_at is not None else Outcome.TOKEN_EXPIRED


async def open_link(session: AsyncSession, *, order_id: str, token: str, now: datetime) -> Result:
    """What the link shows: the form (a SEPA transfer awaiting the shopper's account: every
    test-mode order, as live mode's default), a page saying the payout needs nothing from the
    shopper (a live Stripe refund), or why the link cannot be used."""
    found = await repository.order_and_organization(session, order_id)
    if found is None:
        return Result(Outcome.UNKNOWN_ORDER)
    order, organization = found
    problem = await _token_problem(session, order_id, token, now)
    if problem is Outcome.WRONG_TOKEN:
        return Result(problem)
    if problem is not None:
        return Result(problem, order=order, organization=organization)
    method = method_for(livemode=order.livemode, organization_method=organization.payout_method)
    if order.status != orders.CASHBACK_AVAILABLE:
        outcome = _BY_STATUS.get(order.status, Outcome.NOT_AVAILABLE)
    else:
        outcome = Outcome.FORM if method == SEPA_TRANSFER else Outcome.AUTOMATIC
    return Result(outcome, order=order, organization=organization, method=method)


async def locale_of(session: AsyncSession, order_id: str) -> str | None:
    """The shopper's language, for a page about the order that shows nothing of it."""
    found = await repository.order_and_organization(session, order_id)
    return None if found is None else found[0].locale


def check_account(holder: str, iban: str) -> tuple[Account | None, dict[str, str]]:
    """The account as typed (name trimmed, IBAN compacted), or an error code per field."""
    errors: dict[str, str] = {}
    holder = " ".join(holder.split())
    if not holder:
        errors["holder"] = "holder_required"
    elif len(holder) > MAX_HOLDER_LENGTH:
        errors["holder"] = "holder_too_long"
    elif any(unicodedata.category(c).startswith("C") for c in holder):
        errors["holder"] = "holder_invalid"
    compact = "".join(iban.split()).upper()
    if not compact:
        errors["iban"] = "iban_required"
    else:
        try:
            parsed = IBAN(compact[:MAX_IBAN_LENGTH])
            if len(compact) > MAX_IBAN_LENGTH:
                raise SchwiftyException("too long")
        except (SchwiftyException, ValueError):
            errors["iban"] = "iban_invalid"
        else:
            if not parsed.in_sepa_zone:
                errors["iban"] = "iban_not_sepa"
            compact = parsed.compact
    return (None, errors) if errors else (Account(holder=holder, iban=compact), {})


class _Taken(Exception):
    """The token was used, or the order left CASHBACK_AVAILABLE, since this request read it."""


async def withdraw(
    session: AsyncSession,
    *,
    order_id: str,
    token: str,
    holder: str,
    iban: str,
    now: datetime,
    settings: Settings,
) -> Result:
    """Start the order's SEPA payout to the account given, using the link's token. Checks
    the link first, then the account (a mistyped IBAN keeps the link usable)."""
    opened = await open_link(session, order_id=order_id, token=token, now=now)
    if opened.outcome is not Outcome.FORM:
        return opened
    account, errors = check_account(holder, iban)
    if account is None:
        return Result(
            Outcome.INVALID_INPUT,
            order=opened.order,
            organization=opened.organization,
            method=opened.method,
            errors=errors,
        )
    try:
        async with session.begin_nested():
            used = await repository.use_token(
                session, order_id=order_id, token_hash=_hash(token), now=now
            )
            if not used:
                raise _Taken
            payout = await start_payout(
                session,
                order_id=order_id,
                method=SEPA_TRANSFER,
                now=now,
                iban=account.iban,
                account_holder_name=account.holder,
                settings=settings,
            )
            if payout is None:
                raise _Taken
    except _Taken:
        return await open_link(session, order_id=order_id, token=token, now=now)
    return Result(
        Outcome.STARTED,
        order=opened.order,
        organization=opened.organization,
        method=SEPA_TRANSFER,
        payout=payout,
    )

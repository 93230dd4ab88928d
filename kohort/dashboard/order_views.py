"""What the Orders and Customers pages share: money, times, statuses and risk as the reader's
language writes them, a service's refusal as a page shows it, a page of orders with their
groups and payouts, and the checks on what the URL and the filters bring."""

from decimal import Decimal
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_currency
from fastapi import Request
from sqlalchemy import ColumnElement, Select, or_

from kohort.dashboard import listing
from kohort.dashboard.errors import PageNotFound
from kohort.dashboard.rendering import choose, translate
from kohort.errors import AppError
from kohort.group import repository as groups
from kohort.http.lists import ListField, filters
from kohort.models import Order
from kohort.order import repository

ORDER_SORTS = ("createdAt", "amount", "amountCashback", "amountRefunded", "customerEmail")


def order_matching(text: str) -> ColumnElement[bool]:
    """The orders whose id, shopper's e-mail, client reference or payment reference contains
    `text`, in any case (the orders' text box). Ids are lower-case and e-mails are compared
    through their key: plain LIKEs, without folding the case of every row."""
    return or_(
        Order.id.contains(text.lower(), autoescape=True),
        groups.member_email_contains(text),
        Order.client_reference_id.icontains(text, autoescape=True),
        Order.payment_reference.icontains(text, autoescape=True),
    )


def matching(fields: dict[str, ListField], names: tuple[str, ...], text: str) -> Any:
    """The rows where any field of `names` contains `text`: the API's `~` condition on each,
    ORed (the API's `search` ANDs its conditions)."""
    found: list[ColumnElement[bool]] = []
    for name in names:
        found.extend(filters(f"{name}~{text}", fields))
    return or_(*found)


def checked_id(request: Request, value: str) -> str:
    """An id from the URL, or the 404 page for what no id looks like (a NUL byte, which
    PostgreSQL refuses in a parameter, or anything longer than the API's ids)."""
    if len(value) > 64 or not value.isprintable():
        raise PageNotFound(choose(request))
    return value


def typed_text(value: object) -> str:
    """A filter's text as a `search` value, without the characters a database refuses."""
    return "".join(char for char in listing.clean(value) if char.isprintable())


def formats(locale: str) -> dict[str, Any]:
    """What the templates format with: money from cents, times (UTC), the statuses' names."""
    return {
        "money": lambda cents: (
            "—"
            if cents is None
            else format_currency(Decimal(cents).scaleb(-2), "EUR", locale=locale)
        ),
        "when": lambda moment: (
            "—" if moment is None else format_datetime(moment, "medium", locale=locale) + " UTC"
        ),
        "order_status": {
            repository.CREATED: translate(locale, "Waiting for the group"),
            repository.CASHBACK_ON_HOLD: translate(locale, "Cashback held for review"),
            repository.CASHBACK_AVAILABLE: translate(locale, "Cashback due"),
            repository.CASHBACK_PROCESSING: translate(locale, "Cashback being paid"),
            repository.CASHBACK_SENT: translate(locale, "Cashback paid"),
            repository.CASHBACK_REJECTED: translate(locale, "Cashback rejected"),
            repository.CANCELED: translate(locale, "Canceled"),
        },
        "payout_status": {
            "pending": translate(locale, "Pending"),
            "processing": translate(locale, "Processing"),
            "paid": translate(locale, "Paid"),
            "failed": translate(locale, "Failed"),
        },
        "group_status": {
            groups.OPEN: translate(locale, "Open"),
            groups.COMPLETED: translate(locale, "Completed"),
            groups.EXPIRED: translate(locale, "Expired"),
            groups.CANCELED: translate(locale, "Canceled"),
        },
        **risk_formats(locale),
    }


def risk_formats(locale: str) -> dict[str, Any]:
    """What `_risk.html` writes: the risk levels, what each reason's code means (docs/api.md,
    "Trust"; a code without a name here is shown alone), the review states."""
    return {
        "risk_level": {
            "LOW": translate(locale, "Low"),
            "MEDIUM": translate(locale, "Medium"),
            "HIGH": translate(locale, "High"),
            "HIGHEST": translate(locale, "Highest"),
        },
        "risk_reason": {
            "SAME_MAILBOX": translate(locale, "Same mailbox as a member"),
            "SIMILAR_EMAIL": translate(locale, "E-mail one letter away from a member's"),
            "SAME_NAME": translate(locale, "Same first and last name as a member"),
            "SAME_PHONE": translate(locale, "Same phone number as a member"),
            "SAME_PAYMENT_FINGERPRINT": translate(locale, "Same payment card as a member"),
            "SAME_DEVICE": translate(locale, "Same device as a member"),
            "SAME_IP": translate(locale, "Same network address as a member"),
            "COMPANY_DOMAIN": translate(locale, "Same company e-mail domain as a member"),
            "CREATOR_SELF_JOIN": translate(locale, "Looks like the group's creator"),
            "DISPOSABLE_EMAIL": translate(locale, "Disposable e-mail address"),
            "BURST": translate(locale, "Third order or more from one address in 10 minutes"),
        },
        "review_status": {
            "PENDING": translate(locale, "Under review"),
            "APPROVED": translate(locale, "Approved"),
            "REJECTED": translate(locale, "Rejected"),
        },
    }


def refusal(locale: str, error: AppError) -> dict[str, str]:
    """A service's refusal as the page shows it: what it means, then the API's own message."""
    known = {
        "REFUND_EXCEEDS_AMOUNT": translate(locale, "This is more than what is left to refund."),
        "CASHBACK_ALREADY_SENT": translate(
            locale,
            "Its cashback is already being paid or was paid: the order can no longer be "
            "changed here.",
        ),
        "ORDER_ALREADY_CANCELED": translate(locale, "This order is already canceled."),
        "CUSTOMER_EXISTS": translate(locale, "Another customer has this e-mail."),
        "INVALID_AMOUNT": translate(locale, "Enter an amount such as 12.50."),
        "REVIEW_NOT_PENDING": translate(
            locale, "This order is not waiting for a review: nothing was changed."
        ),
    }
    text = known.get(error.code, translate(locale, "This change could not be made."))
    detail = "" if error.code == "INVALID_AMOUNT" else error.message
    return {"text": text, "detail": detail, "param": error.param or ""}


async def orders_listing(
    session: Any,
    request: Request,
    stmt: Select[Any],
    conditions: list[str],
    params: dict[str, str],
) -> tuple[listing.Listing[Any] | None, str | None, dict[str, Any]]:
    """A page of orders with their groups and payouts, or the error of a bad filter."""
    try:
        found = await listing.fetch(
            session,
            request,
            stmt,
            fields=repository.LIST_FIELDS,
            id_column=Order.id,
            sortable=ORDER_SORTS,
            conditions=conditions,
            params=params,
        )
    except AppError as error:
        return None, error.message, {}
    ids = {order.payment_group_id for order in found.rows}
    extra = {
        "groups": await groups.get_many(session, ids),
        "payouts": await repository.payouts_by_order(session, [o.id for o in found.rows]),
    }
    return found, None, extra

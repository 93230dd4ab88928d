"""The Orders pages: the API's list of orders (the same statement, fields and `search`
operators) with its filters, and an order's page with its risk, its review, its cancellation
and refunds. Each change is the API's own service call in one write transaction, then
post-redirect-get; a refusal is shown on the page again with the API's message, and nothing
is written. The Customers and Reviews pages (kohort.dashboard.customers, .reviews) are served
by this router too."""

import re
from dataclasses import replace
from typing import Any

import pydantic
from babel.numbers import format_currency, format_percent
from fastapi import APIRouter, Request
from starlette.responses import Response

from kohort.customer import repository as customers
from kohort.dashboard import customers as customer_pages
from kohort.dashboard import listing, reviews
from kohort.dashboard.endpoints import db_of, html, redirect
from kohort.dashboard.errors import PageNotFound
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.order_views import (
    checked_id,
    formats,
    order_matching,
    orders_listing,
    refusal,
    typed_text,
)
from kohort.dashboard.rendering import choose
from kohort.dashboard_user.service import WRITE
from kohort.errors import AppError, ValidationError
from kohort.group import repository as groups
from kohort.group.cashback import DiscountLevel, level_reached
from kohort.group.ending import levels_of
from kohort.metrics import GROUPS_CANCELED
from kohort.models import PaymentGroup, Refund
from kohort.order import refunding, repository, review, service
from kohort.order.errors import OrderNotFoundError
from kohort.order.schemas import RefundCreate
from kohort.payout import repository as payouts
from kohort.risk.signals import LEVELS

router = APIRouter(include_in_schema=False)
router.include_router(customer_pages.router)
router.include_router(reviews.router)


AMOUNT = re.compile(r"(\d{1,13})(?:[.,](\d{1,2}))?")


def cents(raw: str) -> int | None:
    """'12.50' or '12,50' (euros, spaces allowed between thousands) as 1250 cents; None for
    anything else (more than two decimals, an exponent, a sign, zero)."""
    found = AMOUNT.fullmatch(re.sub(r"[ \u00a0\u202f]", "", raw))
    if found is None:
        return None
    amount = int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))
    return amount or None


PAYOUT_FILTERS = ("none", *payouts.STATUSES)
"""The payout filter: orders without a payout, or with a payout in this state."""


@router.get("/dashboard/o/{organization_id}/orders")
async def orders_page(organization_id: str, request: Request) -> Response:
    query = request.query_params
    status = typed_text(query.get("status"))[:40]
    text = typed_text(query.get("q"))
    payout = query.get("payout", "")
    risk = typed_text(query.get("risk"))[:20]
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        stmt = repository.select_listed(organization_id, page.livemode)
        if text:
            stmt = stmt.where(order_matching(text))
        if payout in PAYOUT_FILTERS:
            stmt = stmt.where(repository.payout_is(None if payout == "none" else payout))
        found, error, extra = await orders_listing(
            session,
            request,
            stmt,
            [f"status:{status}" if status else "", f"riskLevel:{risk}" if risk else ""],
            {
                "status": status,
                "q": text,
                "payout": payout if payout in PAYOUT_FILTERS else "",
                "risk": risk,
            },
        )
    if payout and payout not in PAYOUT_FILTERS:
        error = error or ""
    context = {
        **page.layout(request.url.path),
        **formats(page.locale),
        **extra,
        "orders": found,
        "error": error,
        "status": status,
        "q": text,
        "payout": payout,
        "risk": risk,
        "risk_levels": LEVELS,
        "statuses": repository.STATUSES,
        "payout_filters": payouts.STATUSES,
    }
    return html("orders.html", page.locale, context, 200 if error is None else 400)


async def _order_page(
    request: Request,
    organization_id: str,
    order_id: str,
    *,
    form: Any = None,
    error: AppError | None = None,
    action: str = "",
) -> Response:
    """The order's page; after a refused change, with the refusal next to its form and what
    was typed kept."""
    checked_id(request, order_id)
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id, form=form)
        context = await _order_context(session, request, page, order_id)
    context.update(
        problem=None if error is None else refusal(page.locale, error),
        action=action,
        amount=str(form.get("amount", ""))[:40] if form is not None else "",
        reason=str(form.get("reason", ""))[:500] if form is not None else "",
        done=request.query_params.get("done"),
    )
    return html("order.html", page.locale, context, 200 if error is None else 400)


async def _order_context(session: Any, request: Request, page: Page, order_id: str) -> Any:
    organization_id = page.current.organization_id if page.current else ""
    order = await repository.get(
        session, organization_id=organization_id, livemode=page.livemode, order_id=order_id
    )
    if order is None:
        raise PageNotFound(page.locale)
    group = (
        None
        if order.payment_group_id is None
        else await groups.get(session, order.payment_group_id)
    )
    stmt = repository.select_refunds(organization_id, page.livemode, order.id)
    refunds = await listing.fetch(
        session,
        request,
        stmt,
        fields=repository.REFUND_LIST_FIELDS,
        id_column=Refund.id,
        sortable=("createdAt", "amount"),
    )
    payout = await payouts.get_by_order(session, order.id)
    level = None if group is None else level_reached(levels_of(group), group.participants_count)
    here = f"/dashboard/o/{organization_id}/orders/{order.id}"
    return {
        **page.layout(here),
        **formats(page.locale),
        "order": order,
        "customer": await customers.get(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            customer_id=order.customer_id,
        ),
        "group": group,
        "created_group": group is not None and group.customer_id == order.customer_id,
        "level": level,
        "level_value": None
        if group is None or level is None
        else _level_value(group, level, page.locale),
        "payout": payout,
        "refunds": replace(refunds, path=here),
        "left": order.amount - order.amount_refunded,
        "changeable": page.can(WRITE) and order.status in service.UNPAID and payout is None,
        "can_write": page.can(WRITE),
        **await reviews.review_facts(session, page, order),
    }


def _level_value(group: PaymentGroup, level: DiscountLevel, locale: str) -> str:
    """What the level gives: a percent of the order, or an amount (whole euros)."""
    if group.settings.get("discountType") == "AMOUNT":
        return format_currency(level.value, "EUR", locale=locale)
    return format_percent(level.value / 100, "#,##0.##%", locale=locale)


@router.get("/dashboard/o/{organization_id}/orders/{order_id}")
async def order_page(organization_id: str, order_id: str, request: Request) -> Response:
    return await _order_page(request, organization_id, order_id)


@router.post("/dashboard/o/{organization_id}/orders/{order_id}/cancel")
async def cancel_order(organization_id: str, order_id: str, request: Request) -> Response:
    checked_id(request, order_id)
    form = await request.form()
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session, request, organization_id=organization_id, permission=WRITE, form=form
            )
            canceled = await service.cancel_order(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                order_id=order_id,
                actor=page.user.id,
            )
    except OrderNotFoundError:
        raise PageNotFound(choose(request)) from None
    except AppError as error:
        return await _order_page(
            request, organization_id, order_id, form=form, error=error, action="cancel"
        )
    if canceled.group_canceled:
        GROUPS_CANCELED.inc()
    return redirect(f"/dashboard/o/{organization_id}/orders/{order_id}?done=canceled")


class InvalidAmountError(AppError):
    status = 400
    code = "INVALID_AMOUNT"


def refund_of(form: Any) -> RefundCreate:
    """The refund typed in the form: an amount in euros (`12.50`), an optional reason."""
    amount = cents(str(form.get("amount", ""))[:40])
    if amount is None:
        raise InvalidAmountError("amount must be euros such as 12.50.", param="amount")
    reason = str(form.get("reason", "")).strip()
    try:
        return RefundCreate.model_validate({"amount": amount, "reason": reason or None})
    except pydantic.ValidationError as invalid:
        first = invalid.errors()[0]
        param = str(first["loc"][0]) if first["loc"] else "amount"
        raise ValidationError(f"{param}: {first['msg']}.", param=param) from None


@router.post("/dashboard/o/{organization_id}/orders/{order_id}/refunds")
async def refund_order(organization_id: str, order_id: str, request: Request) -> Response:
    checked_id(request, order_id)
    form = await request.form()
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session, request, organization_id=organization_id, permission=WRITE, form=form
            )
            refunded = await refunding.refund_order(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                order_id=order_id,
                actor=page.user.id,
                data=refund_of(form),
            )
    except OrderNotFoundError:
        raise PageNotFound(choose(request)) from None
    except AppError as error:
        return await _order_page(
            request, organization_id, order_id, form=form, error=error, action="refund"
        )
    if refunded.group_canceled:
        GROUPS_CANCELED.inc()
    return redirect(f"/dashboard/o/{organization_id}/orders/{order_id}?done=refunded")


@router.post("/dashboard/o/{organization_id}/orders/{order_id}/review")
async def review_order(organization_id: str, order_id: str, request: Request) -> Response:
    """Approve or reject an order under review (`kohort.order.review`), from its page or from
    the Reviews page (`back`), which the answer goes back to."""
    checked_id(request, order_id)
    form = await request.form()
    back = reviews.back_of(organization_id, form)
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session, request, organization_id=organization_id, permission=WRITE, form=form
            )
            approve = reviews.decision_of(form)
            await review.review_order(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                order_id=order_id,
                approve=approve,
                actor=page.user.id,
            )
    except OrderNotFoundError:
        raise PageNotFound(choose(request)) from None
    except AppError as error:
        if back is not None:
            return await reviews.queue_page(request, organization_id, form=form, error=error)
        return await _order_page(
            request, organization_id, order_id, form=form, error=error, action="review"
        )
    done = "approved" if approve else "rejected"
    if back is not None:
        return redirect(reviews.after(back, done=done, order=order_id))
    return redirect(f"/dashboard/o/{organization_id}/orders/{order_id}?done={done}")

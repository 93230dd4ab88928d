"""The Payouts pages, per mode: the payouts (retrying a failed one), the SEPA batches (building
one now, downloading its pain.001 file, marking it paid) and the payout settings
(`payout_settings`). Each action calls the service of the API endpoint that does it, so the
refusals are the API's."""

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_currency
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort import clock
from kohort.dashboard import listing, payout_settings, rendering
from kohort.dashboard.endpoints import actor, db_of, html, redirect, settings_of
from kohort.dashboard.errors import PageNotFound
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard_user import service as permissions
from kohort.errors import AppError, NotFoundError
from kohort.models import Payout, PayoutBatch
from kohort.payout import repository as payouts
from kohort.payout import service as payout_service
from kohort.payout_batch import repository as batches
from kohort.payout_batch import service as batch_service
from kohort.payout_batch.endpoints import file_response

router = APIRouter(include_in_schema=False)
router.include_router(payout_settings.router)
PAYOUT_SORTS = ("createdAt", "amount", "method", "status", "paidAt", "failedAt")
BATCH_SORTS = ("createdAt", "totalAmount", "payoutsCount", "status", "confirmedAt")
PAYOUT_ERRORS = {"PAYOUT_NOT_RETRYABLE"}
BATCH_ERRORS = {
    "NOTHING_TO_BATCH",
    "PAYOUT_DEBTOR_ACCOUNT_MISSING",
    "PAYOUT_BATCH_ALREADY_CONFIRMED",
}
_NOT_AN_ID = re.compile(r"[^A-Za-z0-9_]")


def formats(locale: str) -> dict[str, Any]:
    """How the payout pages write amounts (cents) and instants (UTC)."""

    def money(cents: int, currency: str = "EUR") -> str:
        return format_currency(Decimal(cents).scaleb(-2), currency, locale=locale)

    def when(value: datetime | None) -> str:
        if value is None:
            return "—"
        return format_datetime(value, "medium", tzinfo=UTC, locale=locale) + " UTC"

    return {"money": money, "when": when}


def _known(object_id: str) -> str:
    """An id as the URL gave it; one no object can have (PostgreSQL refuses a NUL in a
    query) is not found without asking the database."""
    if not object_id or _NOT_AN_ID.search(object_id):
        raise NotFoundError(f"No such object: '{object_id[:64]}'", param="id")
    return object_id


def _choice(request: Request, name: str, choices: tuple[str, ...]) -> str:
    value = request.query_params.get(name, "")
    return value if value in choices else ""


def _outcome(request: Request, errors: set[str]) -> dict[str, Any]:
    error = request.query_params.get("error")
    return {"error": error if error in errors else None, "done": request.query_params.get("done")}


@router.get("/dashboard/o/{organization_id}/payouts")
async def payouts_page(organization_id: str, request: Request) -> Response:
    status = _choice(request, "status", payouts.STATUSES)
    method = _choice(request, "method", payouts.METHODS)
    order = _NOT_AN_ID.sub("", request.query_params.get("order", ""))[:64]
    conditions = [
        f"status:{status}" if status else "",
        f"method:{method}" if method else "",
        f"orderId:{order}" if order else "",
    ]
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        found = await listing.fetch(
            session,
            request,
            payouts.select_listed(organization_id, page.livemode),
            fields=payouts.LIST_FIELDS,
            id_column=Payout.id,
            sortable=PAYOUT_SORTS,
            conditions=conditions,
            params={"status": status, "method": method, "order": order},
        )
    context = {
        **page.layout(request.url.path),
        **formats(page.locale),
        "listing": found,
        "statuses": payouts.STATUSES,
        "methods": payouts.METHODS,
        "filters": {"status": status, "method": method, "order": order},
        "can_write": page.can(permissions.WRITE),
    }
    return html("payouts.html", page.locale, context)


@router.get("/dashboard/o/{organization_id}/payouts/batches")
async def batches_page(organization_id: str, request: Request) -> Response:
    status = _choice(request, "status", (batches.READY, batches.CONFIRMED))
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        found = await listing.fetch(
            session,
            request,
            batches.select_listed(organization_id, page.livemode),
            fields=batches.LIST_FIELDS,
            id_column=PayoutBatch.id,
            sortable=BATCH_SORTS,
            conditions=[f"status:{status}" if status else ""],
            params={"status": status},
        )
    context = {
        **page.layout(request.url.path),
        **formats(page.locale),
        **_outcome(request, BATCH_ERRORS),
        "listing": found,
        "statuses": (batches.READY, batches.CONFIRMED),
        "status": status,
        "can_write": page.can(permissions.WRITE),
    }
    return html("payout_batches.html", page.locale, context)


async def _batch(
    session: AsyncSession, page: Page, organization_id: str, batch_id: str
) -> PayoutBatch:
    try:
        return await batch_service.get_batch(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            batch_id=_known(batch_id),
        )
    except NotFoundError:
        raise PageNotFound(page.locale) from None


@router.get("/dashboard/o/{organization_id}/payouts/batches/{batch_id}")
async def batch_page(organization_id: str, batch_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        batch = await _batch(session, page, organization_id, batch_id)
        found = await listing.fetch(
            session,
            request,
            payouts.select_listed(organization_id, page.livemode),
            fields=payouts.LIST_FIELDS,
            id_column=Payout.id,
            sortable=("createdAt", "amount"),
            conditions=[f"batchId:{batch.id}"],
        )
    context = {
        **page.layout(request.url.path),
        **formats(page.locale),
        **_outcome(request, BATCH_ERRORS),
        "batch": batch,
        "listing": found,
        "can_write": page.can(permissions.WRITE),
    }
    return html("payout_batch.html", page.locale, context)


@router.get("/dashboard/o/{organization_id}/payouts/batches/{batch_id}/file")
async def batch_file(organization_id: str, batch_id: str, request: Request) -> Response:
    """The API's `GET /payout-batches/{id}/file` answer: the same bytes and headers."""
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        batch = await _batch(session, page, organization_id, batch_id)
    return file_response(batch)


Action = Callable[[AsyncSession, Page], Awaitable[str]]


async def _act(request: Request, organization_id: str, back: str, action: Action) -> Response:
    """Post-redirect-get around one change by a role that may write: `action` answers where
    to go next; an unknown id is the 404 page; a refusal comes back to `back` as `error`."""
    form = await request.form()
    locale = rendering.choose(request)
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session,
                request,
                organization_id=organization_id,
                permission=permissions.WRITE,
                form=form,
            )
            locale = page.locale
            done = await action(session, page)
    except NotFoundError:
        raise PageNotFound(locale) from None
    except AppError as error:
        return redirect(f"{back}?error={error.code}")
    return redirect(done)


@router.post("/dashboard/o/{organization_id}/payouts/batches")
async def build_batch(organization_id: str, request: Request) -> Response:
    base = f"/dashboard/o/{organization_id}/payouts/batches"

    async def action(session: AsyncSession, page: Page) -> str:
        batch = await batch_service.build_now(
            session,
            settings_of(request),
            organization_id=organization_id,
            livemode=page.livemode,
            now=clock.now(),
            actor=actor(request, page),
        )
        return f"{base}/{batch.id}?done=built"

    return await _act(request, organization_id, base, action)


@router.post("/dashboard/o/{organization_id}/payouts/batches/{batch_id}/confirm")
async def confirm_batch(organization_id: str, batch_id: str, request: Request) -> Response:
    back = f"/dashboard/o/{organization_id}/payouts/batches/{batch_id}"

    async def action(session: AsyncSession, page: Page) -> str:
        await batch_service.confirm_batch(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            batch_id=_known(batch_id),
            now=clock.now(),
            actor=actor(request, page),
        )
        return f"{back}?done=confirmed"

    return await _act(request, organization_id, back, action)


@router.post("/dashboard/o/{organization_id}/payouts/{payout_id}/retry")
async def retry_payout(organization_id: str, payout_id: str, request: Request) -> Response:
    back = f"/dashboard/o/{organization_id}/payouts/{payout_id}"

    async def action(session: AsyncSession, page: Page) -> str:
        await payout_service.retry_payout(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            payout_id=_known(payout_id),
            now=clock.now(),
            actor=actor(request, page),
        )
        return f"{back}?done=retried"

    return await _act(request, organization_id, back, action)


@router.get("/dashboard/o/{organization_id}/payouts/{payout_id}")
async def payout_page(organization_id: str, payout_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        try:
            payout = await payout_service.get_payout(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                payout_id=_known(payout_id),
            )
        except NotFoundError:
            raise PageNotFound(page.locale) from None
    context = {
        **page.layout(request.url.path),
        **formats(page.locale),
        **_outcome(request, PAYOUT_ERRORS),
        "payout": payout,
        "can_write": page.can(permissions.WRITE),
    }
    return html("payout.html", page.locale, context)

"""The Customers pages: the API's list of customers (without the deleted ones) with search and
the blocked filter, and a customer's page with their orders in this mode and the API's
changes: block, unblock, edit, delete (soft) and restore, each the customer service's call."""

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pydantic
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort.customer import repository as customers
from kohort.customer import service as customer_service
from kohort.customer.errors import CustomerNotFoundError
from kohort.customer.schemas import CustomerUpdate
from kohort.dashboard import listing
from kohort.dashboard.endpoints import db_of, html, redirect
from kohort.dashboard.errors import PageNotFound
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.order_views import (
    checked_id,
    formats,
    matching,
    orders_listing,
    refusal,
    typed_text,
)
from kohort.dashboard.rendering import choose
from kohort.dashboard_user.service import WRITE
from kohort.errors import AppError, ValidationError
from kohort.models import Customer
from kohort.order import repository

router = APIRouter(include_in_schema=False)


CUSTOMER_SORTS = ("createdAt", "emailAddress", "lastName", "updatedAt")
CUSTOMER_TEXT = ("emailAddress", "firstName", "lastName")
BLOCKED = {"yes": "isBlocked:true", "no": "isBlocked:false"}


@router.get("/dashboard/o/{organization_id}/customers")
async def customers_page(organization_id: str, request: Request) -> Response:
    query = request.query_params
    text = typed_text(query.get("q"))
    blocked = query.get("blocked", "")
    error = None if blocked in ("", *BLOCKED) else "blocked"
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        stmt = customers.select_listed(organization_id, page.livemode)
        if text:
            stmt = stmt.where(matching(customers.LIST_FIELDS, CUSTOMER_TEXT, text))
        found = await listing.fetch(
            session,
            request,
            stmt,
            fields=customers.LIST_FIELDS,
            id_column=Customer.id,
            sortable=CUSTOMER_SORTS,
            conditions=[BLOCKED.get(blocked, "")],
            params={"q": text, "blocked": blocked if error is None else ""},
        )
    context = {
        **page.layout(request.url.path),
        **formats(page.locale),
        "customers": found,
        "q": text,
        "blocked": blocked,
        "error": error,
    }
    return html("customers.html", page.locale, context, 200 if error is None else 400)


async def _customer_page(
    request: Request,
    organization_id: str,
    customer_id: str,
    *,
    form: Any = None,
    error: AppError | None = None,
) -> Response:
    checked_id(request, customer_id)
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id, form=form)
        customer = await customers.get(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            customer_id=customer_id,
        )
        if customer is None:
            raise PageNotFound(page.locale)
        stmt = repository.select_listed(organization_id, page.livemode)
        found, _, extra = await orders_listing(
            session, request, stmt, [f"customerId:{customer.id}"], {}
        )
    typed = {name: str(form[name])[:320] for name in EDITABLE if form and name in form}
    here = f"/dashboard/o/{organization_id}/customers/{customer.id}"
    context = {
        **page.layout(here),
        **formats(page.locale),
        **extra,
        "customer": customer,
        "orders": None if found is None else replace(found, path=here),
        "can_write": page.can(WRITE),
        "problem": None if error is None else refusal(page.locale, error),
        "typed": typed,
        "locales": LOCALES,
        "done": request.query_params.get("done"),
    }
    return html("customer.html", page.locale, context, 200 if error is None else 400)


@router.get("/dashboard/o/{organization_id}/customers/{customer_id}")
async def customer_page(organization_id: str, customer_id: str, request: Request) -> Response:
    return await _customer_page(request, organization_id, customer_id)


Change = Callable[[AsyncSession, Page, Customer, Any], Awaitable[object]]


async def _change(
    request: Request,
    organization_id: str,
    customer_id: str,
    done: str,
    change: Change,
    *,
    live: bool = True,
) -> Response:
    """One change of a customer by a writer, then back to their page; a refusal is shown
    there. A deleted customer can only be restored (any other change is the 404 page)."""
    checked_id(request, customer_id)
    form = await request.form()
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session, request, organization_id=organization_id, permission=WRITE, form=form
            )
            get = customer_service.get_live_customer if live else customer_service.get_customer
            customer = await get(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                customer_id=customer_id,
            )
            await change(session, page, customer, form)
    except CustomerNotFoundError:
        raise PageNotFound(choose(request)) from None
    except AppError as error:
        return await _customer_page(request, organization_id, customer_id, form=form, error=error)
    return redirect(f"/dashboard/o/{organization_id}/customers/{customer_id}?done={done}")


EDITABLE = ("emailAddress", "firstName", "lastName", "phoneNumber", "locale")
LOCALES = ("fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL")


async def _edit(session: AsyncSession, page: Page, customer: Customer, form: Any) -> Customer:
    """The API's PATCH of the fields on the form; an emptied optional field is cleared."""
    typed = {name: str(form.get(name, "")).strip()[:320] or None for name in EDITABLE}
    try:
        changes = CustomerUpdate.model_validate(typed)
    except pydantic.ValidationError as invalid:
        first = invalid.errors()[0]
        param = str(first["loc"][0]) if first["loc"] else ""
        raise ValidationError(f"{param}: {first['msg']}.", param=param) from None
    return await customer_service.update_customer(session, customer, changes, actor=page.user.id)


async def _block(session: AsyncSession, page: Page, customer: Customer, form: Any) -> Customer:
    return await customer_service.set_blocked(session, customer, blocked=True, actor=page.user.id)


async def _unblock(session: AsyncSession, page: Page, customer: Customer, form: Any) -> Customer:
    return await customer_service.set_blocked(session, customer, blocked=False, actor=page.user.id)


async def _delete(session: AsyncSession, page: Page, customer: Customer, form: Any) -> Customer:
    return await customer_service.delete_customer(session, customer, actor=page.user.id)


async def _restore(session: AsyncSession, page: Page, customer: Customer, form: Any) -> Customer:
    return await customer_service.restore_customer(session, customer, actor=page.user.id)


@router.post("/dashboard/o/{organization_id}/customers/{customer_id}/edit")
async def edit_customer(organization_id: str, customer_id: str, request: Request) -> Response:
    return await _change(request, organization_id, customer_id, "edited", _edit)


@router.post("/dashboard/o/{organization_id}/customers/{customer_id}/block")
async def block_customer(organization_id: str, customer_id: str, request: Request) -> Response:
    return await _change(request, organization_id, customer_id, "blocked", _block)


@router.post("/dashboard/o/{organization_id}/customers/{customer_id}/unblock")
async def unblock_customer(organization_id: str, customer_id: str, request: Request) -> Response:
    return await _change(request, organization_id, customer_id, "unblocked", _unblock)


@router.post("/dashboard/o/{organization_id}/customers/{customer_id}/delete")
async def delete_customer(organization_id: str, customer_id: str, request: Request) -> Response:
    return await _change(request, organization_id, customer_id, "deleted", _delete)


@router.post("/dashboard/o/{organization_id}/customers/{customer_id}/restore")
async def restore_customer(organization_id: str, customer_id: str, request: Request) -> Response:
    return await _change(request, organization_id, customer_id, "restored", _restore, live=False)

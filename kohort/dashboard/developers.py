"""The Developers pages, per mode. Here the API keys: create, roll with an overlap, revoke
(a new key is shown once, on the answer to its POST: never in a URL, never stored). The
webhook endpoints, their deliveries and the events browser are in `developer_webhooks`,
whose routes this router includes. Each calls the service the API calls, with the API's own
schemas for what a form sends."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pydantic
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort import clock
from kohort.api_key import service as api_keys
from kohort.api_key.endpoints import LIST_FIELDS as KEY_FIELDS
from kohort.api_key.repository import select_usable_keys
from kohort.api_key.schemas import ApiKeyCreate, ApiKeyRoll
from kohort.dashboard import developer_webhooks
from kohort.dashboard.developer_pages import (
    BASE,
    ERRORS,
    KEY_TYPES,
    MAX_OVERLAP_HOURS,
    base_path,
    clean,
    fetch_list,
    integer,
    invalid,
    message_of,
    page_context,
    text,
    writer,
)
from kohort.dashboard.endpoints import actor, db_of, html, redirect, settings_of
from kohort.dashboard.errors import PageNotFound
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.rendering import translate
from kohort.errors import AppError, NotFoundError
from kohort.http.auth import forget_key
from kohort.http.commit import run_after_commit
from kohort.models import ApiKey, WidgetSecret
from kohort.organization import repository as organizations
from kohort.widget import service as widgets

router = APIRouter(include_in_schema=False)


async def _keys_page(
    session: AsyncSession,
    request: Request,
    page: Page,
    *,
    issued: api_keys.IssuedKey | None = None,
    error: str | None = None,
    values: Mapping[str, Any] | None = None,
    widget_secret: WidgetSecret | None = None,
) -> Response:
    organization_id = page.current.organization_id if page.current else ""
    key_type = request.query_params.get("type", "")
    stmt = select_usable_keys(organization_id, page.livemode, clock.now())
    keys, list_error = await fetch_list(
        session,
        request,
        stmt,
        fields=KEY_FIELDS,
        id_column=ApiKey.id,
        sortable=("name", "createdAt", "lastUsedAt", "expiresAt"),
        conditions=[f"type:{clean(key_type)}"] if key_type else [],
        params={"type": key_type},
    )
    context = page_context(
        request,
        page,
        keys=keys,
        key_type=key_type,
        key_types=KEY_TYPES,
        issued=issued,
        error=error or list_error,
        values=values or {},
        max_hours=MAX_OVERLAP_HOURS,
        widget_secret=widget_secret,
        now=clock.now(),
        base_url=settings_of(request).base_url,
        publishable=next(
            (key.preview for key in (keys.rows if keys else []) if key.type == "PUBLISHABLE"),
            None,
        ),
    )
    status = 400 if error or list_error else 200
    return html("developers.html", page.locale, context, status)


@router.get(BASE)
async def keys_page(organization_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        return await _keys_page(session, request, page)


@router.post(BASE + "/widget-secret")
async def reveal_widget_secret(organization_id: str, request: Request) -> Response:
    """The mode's widget secret, on this answer only (as `GET …/widget-secret`)."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        stored = await widgets.get_secret(
            session, organization_id=organization_id, livemode=page.livemode
        )
        return await _keys_page(session, request, page, widget_secret=stored)


@router.post(BASE + "/widget-secret/roll")
async def roll_widget_secret(organization_id: str, request: Request) -> Response:
    """A new widget secret, shown on this answer; tokens of the old one work 24 hours more."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        stored = await widgets.get_secret(
            session, organization_id=organization_id, livemode=page.livemode
        )
        await widgets.roll_secret(session, stored, actor=actor(request, page))
        return await _keys_page(session, request, page, widget_secret=stored)


@router.post(BASE + "/keys")
async def create_key(organization_id: str, request: Request) -> Response:
    """The new key is on this answer only: never in a URL, never stored."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        values = {"name": text(form, "name", 300), "type": text(form, "type", 20)}
        try:
            data = ApiKeyCreate.model_validate(
                {"name": values["name"] or None, "type": values["type"] or "SECRET"}
            )
        except pydantic.ValidationError as exc:
            return await _keys_page(session, request, page, error=invalid(exc), values=values)
        issued = await api_keys.issue_key(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            key_type=data.type,
            name=data.name,
            created_by=page.user.id,
            actor=actor(request, page),
        )
        return await _keys_page(session, request, page, issued=issued)


@router.post(BASE + "/keys/{key_id}/roll")
async def roll_key(organization_id: str, key_id: str, request: Request) -> Response:
    """A new key of the same type and name, shown on this answer; the old one keeps working
    the hours asked for (the API's `expiresInSeconds`, 0 to 7 days)."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        hours = integer(text(form, "hours", 20))
        try:
            overlap = ApiKeyRoll.model_validate(
                {"expiresInSeconds": -1 if hours is None or hours > 10**6 else hours * 3600}
            )
        except pydantic.ValidationError:
            error = translate(page.locale, ERRORS["OVERLAP"])
            return await _keys_page(session, request, page, error=error)
        await organizations.lock(session, organization_id)
        forget_key(request, key_id)
        try:
            issued = await api_keys.roll_key(
                session,
                key_id=key_id,
                organization_id=organization_id,
                livemode=page.livemode,
                expires_in=timedelta(seconds=overlap.expires_in_seconds),
                actor=actor(request, page),
            )
        except NotFoundError:
            raise PageNotFound(page.locale) from None
        except AppError as error:
            return await _keys_page(session, request, page, error=message_of(page.locale, error))
        answer = await _keys_page(session, request, page, issued=issued)
    run_after_commit(request)
    return answer


@router.post(BASE + "/keys/{key_id}/revoke")
async def revoke_key(organization_id: str, key_id: str, request: Request) -> Response:
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        await organizations.lock(session, organization_id)
        forget_key(request, key_id)
        try:
            await api_keys.revoke_key(
                session,
                key_id=key_id,
                organization_id=organization_id,
                livemode=page.livemode,
                actor=actor(request, page),
            )
        except NotFoundError:
            raise PageNotFound(page.locale) from None
        except AppError as error:
            return await _keys_page(session, request, page, error=message_of(page.locale, error))
    run_after_commit(request)
    return redirect(f"{base_path(organization_id)}?done=revoked")


router.include_router(developer_webhooks.router)

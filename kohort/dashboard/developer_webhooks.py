"""The Developers pages' webhooks and events, per mode: endpoints (create, change, delete,
reveal and roll the secret, send a test event), their deliveries with filters and retry, the
events browser (an event's payload, its deliveries, redelivery). Each calls the service the
API calls, with the API's own schemas for what a form sends."""

import json
from collections.abc import Mapping
from typing import Any

import pydantic
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort import clock
from kohort.dashboard import listing
from kohort.dashboard.developer_pages import (
    BASE,
    DELIVERY_TYPES,
    STATUSES,
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
from kohort.errors import AppError, NotFoundError
from kohort.event import repository as events
from kohort.models import Event, WebhookDelivery, WebhookEndpoint
from kohort.organization import repository as organizations
from kohort.webhook import repository as webhooks
from kohort.webhook import service as webhook_service
from kohort.webhook.schemas import (
    ALL_EVENTS,
    EVENT_TYPES,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)

router = APIRouter(include_in_schema=False)


def _endpoint_values(form: Any) -> dict[str, Any]:
    """What an endpoint form sends, as the API's body (camelCase); a new endpoint is active."""
    return {
        "url": text(form, "url", 4096),
        "description": text(form, "description", 1000) or None,
        "events": [str(value)[:100] for value in form.getlist("events")][:100],
    }


async def _webhooks_page(
    session: AsyncSession,
    request: Request,
    page: Page,
    *,
    error: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> Response:
    organization_id = page.current.organization_id if page.current else ""
    query = request.query_params
    url, active = query.get("url", ""), query.get("active", "")
    conditions = [f"url~{clean(url)}" if url else ""]
    conditions.append(f"isActive:{clean(active)}" if active else "")
    endpoints, list_error = await fetch_list(
        session,
        request,
        webhooks.select_listed(organization_id, page.livemode),
        fields=webhooks.ENDPOINT_FIELDS,
        id_column=WebhookEndpoint.id,
        sortable=("url", "createdAt"),
        conditions=conditions,
        params={"url": url, "active": active},
    )
    context = page_context(
        request,
        page,
        endpoints=endpoints,
        url_filter=url,
        active_filter=active,
        event_types=EVENT_TYPES,
        all_events=ALL_EVENTS,
        error=error or list_error,
        values=values or {"events": [ALL_EVENTS], "isActive": True},
    )
    status = 400 if error or list_error else 200
    return html("webhooks.html", page.locale, context, status)


@router.get(BASE + "/webhooks")
async def webhooks_page(organization_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        return await _webhooks_page(session, request, page)


async def _organization_version(session: AsyncSession, organization_id: str) -> str:
    """The API version a request of this organization gets by default (its own)."""
    organization = await organizations.get_by_id(session, organization_id)
    assert organization is not None
    return organization.api_version


@router.post(BASE + "/webhooks")
async def create_endpoint(organization_id: str, request: Request) -> Response:
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        values = _endpoint_values(form)
        try:
            data = WebhookEndpointCreate.model_validate(values)
            endpoint = await webhook_service.create_endpoint(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                data=data,
                allow_private=settings_of(request).webhook_allow_private_destinations,
                api_version=await _organization_version(session, organization_id),
                actor=actor(request, page),
            )
        except pydantic.ValidationError as exc:
            return await _webhooks_page(session, request, page, error=invalid(exc), values=values)
        except AppError as error:
            message = message_of(page.locale, error)
            return await _webhooks_page(session, request, page, error=message, values=values)
    return redirect(f"{base_path(organization_id)}/webhooks/{endpoint.id}?done=created")


async def _endpoint_of(session: AsyncSession, page: Page, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint of this organization and mode, else the 404 page."""
    found = await webhooks.get(
        session,
        organization_id=page.current.organization_id if page.current else "",
        livemode=page.livemode,
        endpoint_id=endpoint_id,
    )
    if found is None:
        raise PageNotFound(page.locale)
    return found


def _delivery_filters(request: Request) -> tuple[dict[str, str], list[str]]:
    query = request.query_params
    params = {"status": query.get("status", ""), "event_type": query.get("event_type", "")}
    conditions = [
        f"status:{clean(params['status'])}" if params["status"] else "",
        f"eventType:{clean(params['event_type'])}" if params["event_type"] else "",
    ]
    return params, conditions


async def _deliveries(
    session: AsyncSession, request: Request, stmt: Any
) -> tuple[dict[str, Any], str | None]:
    params, conditions = _delivery_filters(request)
    found, error = await fetch_list(
        session,
        request,
        stmt,
        fields=webhooks.DELIVERY_FIELDS,
        id_column=WebhookDelivery.id,
        sortable=("createdAt", "nextAttemptAt", "attempts"),
        conditions=conditions,
        params=params,
    )
    context = {
        "deliveries": found,
        "filters": params,
        "statuses": STATUSES,
        "delivery_types": DELIVERY_TYPES,
    }
    return context, error


async def _endpoint_page(
    session: AsyncSession,
    request: Request,
    page: Page,
    endpoint: WebhookEndpoint,
    *,
    secret: str | None = None,
    error: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> Response:
    deliveries, list_error = await _deliveries(
        session, request, webhooks.select_deliveries(endpoint.id)
    )
    context = page_context(
        request,
        page,
        endpoint=endpoint,
        secret=secret,
        now=clock.now(),
        event_types=EVENT_TYPES,
        all_events=ALL_EVENTS,
        error=error or list_error,
        values=values
        or {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "isActive": endpoint.is_active,
        },
        **deliveries,
    )
    status = 400 if error or list_error else 200
    return html("webhook.html", page.locale, context, status)


@router.get(BASE + "/webhooks/{endpoint_id}")
async def endpoint_page(organization_id: str, endpoint_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        endpoint = await _endpoint_of(session, page, endpoint_id)
        return await _endpoint_page(session, request, page, endpoint)


@router.post(BASE + "/webhooks/{endpoint_id}")
async def update_endpoint(organization_id: str, endpoint_id: str, request: Request) -> Response:
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        endpoint = await _endpoint_of(session, page, endpoint_id)
        values = {**_endpoint_values(form), "isActive": form.get("is_active") == "on"}
        try:
            await webhook_service.update_endpoint(
                session,
                endpoint,
                WebhookEndpointUpdate.model_validate(values),
                allow_private=settings_of(request).webhook_allow_private_destinations,
                actor=actor(request, page),
            )
        except pydantic.ValidationError as exc:
            message = invalid(exc)
            return await _endpoint_page(
                session, request, page, endpoint, error=message, values=values
            )
        except AppError as error:
            message = message_of(page.locale, error)
            return await _endpoint_page(
                session, request, page, endpoint, error=message, values=values
            )
    return redirect(f"{base_path(organization_id)}/webhooks/{endpoint_id}?done=updated")


@router.post(BASE + "/webhooks/{endpoint_id}/delete")
async def delete_endpoint(organization_id: str, endpoint_id: str, request: Request) -> Response:
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        endpoint = await _endpoint_of(session, page, endpoint_id)
        try:
            await webhook_service.delete_endpoint(session, endpoint, actor=actor(request, page))
        except NotFoundError:
            raise PageNotFound(page.locale) from None
    return redirect(f"{base_path(organization_id)}/webhooks?done=deleted")


@router.post(BASE + "/webhooks/{endpoint_id}/secret")
async def reveal_secret(organization_id: str, endpoint_id: str, request: Request) -> Response:
    """The signing secret, on this answer only (as `GET /webhooks/{id}/secret`)."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        endpoint = await _endpoint_of(session, page, endpoint_id)
        return await _endpoint_page(session, request, page, endpoint, secret=endpoint.secret)


@router.post(BASE + "/webhooks/{endpoint_id}/roll-secret")
async def roll_secret(organization_id: str, endpoint_id: str, request: Request) -> Response:
    """A new secret, shown on this answer; the old one signs alongside it for 24 hours."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        endpoint = await _endpoint_of(session, page, endpoint_id)
        try:
            endpoint = await webhook_service.roll_secret(
                session, endpoint, actor=actor(request, page)
            )
        except NotFoundError:
            raise PageNotFound(page.locale) from None
        return await _endpoint_page(session, request, page, endpoint, secret=endpoint.secret)


@router.post(BASE + "/webhooks/{endpoint_id}/test")
async def send_test(organization_id: str, endpoint_id: str, request: Request) -> Response:
    """A `webhook.test` event for this endpoint alone; the worker sends it within a second."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        endpoint = await _endpoint_of(session, page, endpoint_id)
        try:
            await webhook_service.send_test(session, endpoint)
        except AppError as error:
            message = message_of(page.locale, error)
            return await _endpoint_page(session, request, page, endpoint, error=message)
    return redirect(f"{base_path(organization_id)}/webhooks/{endpoint_id}?done=test_sent")


@router.post(BASE + "/deliveries/{delivery_id}/retry")
async def retry_delivery(organization_id: str, delivery_id: str, request: Request) -> Response:
    """Due now, pending again, the same webhook-id; back to the endpoint's page (or to the
    event's, when the form says `back=event`)."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        try:
            delivery = await webhook_service.retry_delivery(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                delivery_id=delivery_id,
            )
        except NotFoundError:
            raise PageNotFound(page.locale) from None
        except AppError as error:
            found = await webhooks.get_delivery(
                session,
                organization_id=organization_id,
                livemode=page.livemode,
                delivery_id=delivery_id,
            )
            assert found is not None
            endpoint = await _endpoint_of(session, page, found.endpoint_id)
            message = message_of(page.locale, error)
            return await _endpoint_page(session, request, page, endpoint, error=message)
    base = base_path(organization_id)
    if form.get("back") == "event":
        return redirect(f"{base}/events/{delivery.event_id}?done=retried")
    return redirect(f"{base}/webhooks/{delivery.endpoint_id}?done=retried")


# Events


@router.get(BASE + "/events")
async def events_page(organization_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        event_type = request.query_params.get("type", "")
        found, error = await fetch_list(
            session,
            request,
            events.select_listed(organization_id, page.livemode),
            fields=events.LIST_FIELDS,
            id_column=Event.seq,
            sortable=("createdAt",),
            conditions=[f"type:{clean(event_type)}" if event_type else ""],
            params={"type": event_type},
        )
    context = page_context(
        request,
        page,
        events=found,
        event_type=event_type,
        delivery_types=DELIVERY_TYPES,
        error=error,
    )
    return html("events.html", page.locale, context, 400 if error else 200)


def _endpoint_ids(found: listing.Listing[Any] | None) -> set[str]:
    return {delivery.endpoint_id for delivery in found.rows} if found else set()


@router.get(BASE + "/events/{event_id}")
async def event_page(organization_id: str, event_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        event = await events.get(
            session, organization_id=organization_id, livemode=page.livemode, event_id=event_id
        )
        if event is None:
            raise PageNotFound(page.locale)
        deliveries, error = await _deliveries(
            session, request, webhooks.select_event_deliveries(event.id)
        )
        urls = await webhooks.urls_of(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            endpoint_ids=_endpoint_ids(deliveries["deliveries"]),
        )
    context = page_context(
        request,
        page,
        event=event,
        payload=json.dumps(event.data, indent=2, ensure_ascii=False, sort_keys=False),
        urls=urls,
        count=integer(request.query_params.get("count", "")[:6]),
        error=error,
        **deliveries,
    )
    return html("event.html", page.locale, context, 400 if error else 200)


@router.post(BASE + "/events/{event_id}/redeliver")
async def redeliver_event(organization_id: str, event_id: str, request: Request) -> Response:
    """New deliveries (new webhook-ids) to the active endpoints subscribed to its type now."""
    form = await request.form()
    async with db_of(request).write() as session:
        page = await writer(request, organization_id, form, session)
        event = await events.get(
            session, organization_id=organization_id, livemode=page.livemode, event_id=event_id
        )
        if event is None:
            raise PageNotFound(page.locale)
        created = await webhook_service.redeliver_event(session, event)
    return redirect(
        f"{base_path(organization_id)}/events/{event_id}?done=redelivered&count={len(created)}"
    )

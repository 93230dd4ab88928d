"""Webhook endpoints and their deliveries: create, change, roll the secret, plan deliveries,
test, retry and redeliver. Nothing is sent here: the worker sends (kohort.webhook.jobs)."""

import base64
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit import service as audit
from kohort.errors import ValidationError
from kohort.event.service import append_events, new_event
from kohort.ids import new_id
from kohort.models import Event, WebhookDelivery, WebhookEndpoint
from kohort.webhook import destinations, repository
from kohort.webhook.errors import (
    WebhookDeliveryNotFoundError,
    WebhookEndpointDisabledError,
    WebhookEndpointNotFoundError,
    WebhookUrlNotAllowedError,
)
from kohort.webhook.schemas import (
    ALL_EVENTS,
    TEST_EVENT,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
)

SECRET_OVERLAP = timedelta(hours=24)
"""How long the secret before a roll keeps signing alongside the new one."""
DISABLED_EVENT = "webhook_endpoint.disabled"
FAILING_DAYS = timedelta(days=5)
"""An endpoint failing that long without a success in between is disabled."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_data(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint as the API returns it (never its secret)."""
    return WebhookEndpointRead.model_validate(endpoint).model_dump(mode="json", by_alias=True)


def subscribes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    if event_type == TEST_EVENT:
        return False
    return event_type in endpoint.events or ALL_EVENTS in endpoint.events


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the one before the last roll during its 24 h overlap."""
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        keys.append(endpoint.previous_secret)
    return keys


async def check_url(url: str, *, livemode: bool, allow_private: bool) -> None:
    reason = await destinations.refusal(url, livemode=livemode, allow_private=allow_private)
    if reason is not None:
        raise WebhookUrlNotAllowedError(reason, param="url")


async def get_endpoint(
    session: AsyncSession, *, organization_id: str, livemode: bool, endpoint_id: str
) -> WebhookEndpoint:
    endpoint = await repository.get(
        session, organization_id=organization_id, livemode=livemode, endpoint_id=endpoint_id
    )
    if endpoint is None:
        raise WebhookEndpointNotFoundError(f"No such webhook endpoint: '{endpoint_id}'", param="id")
    return endpoint


async def create_endpoint(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    data: WebhookEndpointCreate,
    allow_private: bool,
    api_version: str,
    actor: audit.Actor | None = None,
) -> WebhookEndpoint:
    """`api_version`: the one the endpoint asks for, else the creating request's; `actor`
    records the creation."""
    if data.is_active is None and "is_active" in data.model_fields_set:
        raise ValidationError("isActive cannot be null.", param="isActive")
    await check_url(data.url, livemode=livemode, allow_private=allow_private)
    now = clock.now()
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        organization_id=organization_id,
        livemode=livemode,
        url=data.url,
        description=data.description,
        events=list(data.events),
        is_active=data.is_active if data.is_active is not None else True,
        metadata_=data.metadata or {},
        api_version=data.api_version or api_version,
        secret=new_secret(),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    if actor is not None:
        await _record(session, actor, endpoint, "created", audit.created(_audited(endpoint)))
    return endpoint


def _audited(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The fields a merchant sets, as the API shows them (the secret is never among them)."""
    data = endpoint_data(endpoint)
    return {
        name: data[name]
        for name in ("url", "description", "events", "isActive", "metadata", "apiVersion")
    }


async def _record(
    session: AsyncSession,
    actor: audit.Actor,
    endpoint: WebhookEndpoint,
    verb: str,
    changes: dict[str, Any],
) -> None:
    await audit.record(
        session,
        actor=actor,
        organization_id=endpoint.organization_id,
        livemode=endpoint.livemode,
        action=f"webhook_endpoint.{verb}",
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        changes=changes,
    )


async def update_endpoint(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    changes: WebhookEndpointUpdate,
    *,
    allow_private: bool,
    actor: audit.Actor,
) -> WebhookEndpoint:
    """Change the fields given; re-enabling an endpoint forgets its failure streak."""
    provided = changes.model_fields_set
    for name in ("url", "events", "is_active", "api_version"):
        if name in provided and getattr(changes, name) is None:
            raise ValidationError(f"{to_camel(name)} cannot be null.", param=to_camel(name))
    values: dict[str, Any] = {}
    for name in provided & {"url", "description", "events", "is_active", "api_version"}:
        values[name] = getattr(changes, name)
    if "metadata" in provided:
        values["metadata_"] = changes.metadata or {}
    values = {k: v for k, v in values.items() if getattr(endpoint, k) != v}
    if "url" in values:
        await check_url(values["url"], livemode=endpoint.livemode, allow_private=allow_private)
    if not values:
        return endpoint
    if values.get("is_active") is True:
        values["failing_since"] = None
    values["updated_at"] = clock.now()
    before = _audited(endpoint)
    await _update(session, endpoint, values)
    changed = audit.diff(before, _audited(endpoint))
    if changed:
        await _record(session, actor, endpoint, "updated", changed)
    return endpoint


async def _update(session: AsyncSession, endpoint: WebhookEndpoint, values: dict[str, Any]) -> None:
    if not await repository.update_endpoint(session, endpoint, values):
        raise WebhookEndpointNotFoundError(f"No such webhook endpoint: '{endpoint.id}'", param="id")


async def delete_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, *, actor: audit.Actor
) -> WebhookEndpoint:
    """Delete the endpoint and its delivery log; nothing more is sent to it."""
    if not await repository.delete_endpoint(session, endpoint):
        raise WebhookEndpointNotFoundError(f"No such webhook endpoint: '{endpoint.id}'", param="id")
    await _record(session, actor, endpoint, "deleted", audit.deleted(_audited(endpoint)))
    return endpoint


async def roll_secret(
    session: AsyncSession, endpoint: WebhookEndpoint, *, actor: audit.Actor
) -> WebhookEndpoint:
    """A new secret; the current one keeps signing alongside it for 24 hours (a roll during
    an overlap ends the older overlap: at most two secrets sign)."""
    now = clock.now()
    values = {
        "previous_secret": WebhookEndpoint.secret,
        "previous_secret_expires_at": now + SECRET_OVERLAP,
        "secret": new_secret(),
        "updated_at": now,
    }
    await _update(session, endpoint, values)
    secret = audit.secret_change(was_set=True, is_set=True)
    await _record(session, actor, endpoint, "secret_rolled", {"secret": secret})
    return endpoint


def _delivery_row(
    event_id: str,
    event_type: str,
    endpoint: WebhookEndpoint,
    *,
    now: datetime,
    redelivery: bool = False,
) -> dict[str, Any]:
    return {
        "id": new_id("whd"),
        "event_id": event_id,
        "endpoint_id": endpoint.id,
        "event_type": event_type,
        "redelivery": redelivery,
        "status": repository.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_attempt_at": None,
        "last_response_status": None,
        "last_response_body": None,
        "last_error": None,
        "duration_ms": None,
        "created_at": now,
        "updated_at": now,
    }


async def plan_deliveries(session: AsyncSession, events: Sequence[Event], *, now: datetime) -> None:
    """One delivery row per (event, subscribed active endpoint of its organization and mode),
    due now; a pair planned already is left as it is (unique index)."""
    if not events:
        return
    endpoints = await repository.active_endpoints_of(
        session, {event.organization_id for event in events}
    )
    by_owner: dict[tuple[str, bool], list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in endpoints:
        by_owner[(endpoint.organization_id, endpoint.livemode)].append(endpoint)
    rows = [
        _delivery_row(event.id, event.type, endpoint, now=now)
        for event in events
        for endpoint in by_owner[(event.organization_id, event.livemode)]
        if subscribes(endpoint, event.type)
    ]
    await repository.insert_deliveries(session, rows)


async def send_test(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Append a `webhook.test` event for this endpoint alone, with its one delivery, due now
    (the event is born fanned out: no other endpoint gets it)."""
    if not endpoint.is_active:
        raise _disabled(endpoint)
    now = clock.now()
    event = new_event(
        type=TEST_EVENT,
        organization_id=endpoint.organization_id,
        livemode=endpoint.livemode,
        data=endpoint_data(endpoint),
        dispatched_at=now,
    )
    await append_events(session, [event])
    row = _delivery_row(event["id"], event["type"], endpoint, now=now)
    await repository.insert_deliveries(session, [row])
    return (await repository.get_deliveries(session, [row["id"]]))[0]


async def retry_delivery(
    session: AsyncSession, *, organization_id: str, livemode: bool, delivery_id: str
) -> WebhookDelivery:
    """Due now, pending again (a failed or succeeded delivery too): the same webhook-id."""
    delivery = await repository.get_delivery(
        session, organization_id=organization_id, livemode=livemode, delivery_id=delivery_id
    )
    if delivery is None:
        raise WebhookDeliveryNotFoundError(f"No such webhook delivery: '{delivery_id}'", param="id")
    endpoint = await get_endpoint(
        session,
        organization_id=organization_id,
        livemode=livemode,
        endpoint_id=delivery.endpoint_id,
    )
    if not endpoint.is_active:
        raise _disabled(endpoint)
    await repository.schedule_now(session, delivery, now=clock.now())
    return delivery


async def redeliver_event(session: AsyncSession, event: Event) -> list[WebhookDelivery]:
    """New deliveries of `event` (new webhook-ids) to the active endpoints subscribed to it
    now; a `webhook.test` event goes to the endpoint it tested."""
    endpoints = await repository.active_endpoints_of(session, [event.organization_id])
    targets = [
        endpoint
        for endpoint in endpoints
        if endpoint.livemode == event.livemode
        and (
            subscribes(endpoint, event.type)
            or (event.type == TEST_EVENT and endpoint.id == event.data.get("id"))
        )
    ]
    now = clock.now()
    rows = [
        _delivery_row(event.id, event.type, endpoint, now=now, redelivery=True)
        for endpoint in targets
    ]
    await repository.insert_deliveries(session, rows)
    return await repository.get_deliveries(session, [row["id"] for row in rows])


async def disable_failing(
    session: AsyncSession, endpoint_ids: Iterable[str], *, now: datetime
) -> list[WebhookEndpoint]:
    """Disable the endpoints whose failure streak began 5 days ago or more, each with a
    `webhook_endpoint.disabled` event."""
    disabled = await repository.disable_failing(
        session, set(endpoint_ids), since=now - FAILING_DAYS, now=now
    )
    await append_events(
        session,
        [
            new_event(
                type=DISABLED_EVENT,
                organization_id=endpoint.organization_id,
                livemode=endpoint.livemode,
                data=endpoint_data(endpoint),
            )
            for endpoint in disabled
        ],
    )
    return disabled


def _disabled(endpoint: WebhookEndpoint) -> WebhookEndpointDisabledError:
    return WebhookEndpointDisabledError(
        f"The webhook endpoint {endpoint.id} is disabled; set isActive to true first.",
        param="id",
    )

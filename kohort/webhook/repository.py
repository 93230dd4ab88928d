"""Every query on webhook endpoints and deliveries. Endpoints are scoped to an organization
and a mode; deliveries through their endpoint."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.http.lists import Kind, ListField
from kohort.models import Event, WebhookDelivery, WebhookEndpoint

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"

ENDPOINT_FIELDS = {
    "id": ListField(WebhookEndpoint.id, Kind.STRING),
    "url": ListField(WebhookEndpoint.url, Kind.STRING),
    "description": ListField(WebhookEndpoint.description, Kind.STRING, nullable=True),
    "isActive": ListField(WebhookEndpoint.is_active, Kind.BOOLEAN),
    "createdAt": ListField(WebhookEndpoint.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(WebhookEndpoint.updated_at, Kind.TIMESTAMP),
}
DELIVERY_FIELDS = {
    "id": ListField(WebhookDelivery.id, Kind.STRING),
    "eventId": ListField(WebhookDelivery.event_id, Kind.STRING),
    "eventType": ListField(WebhookDelivery.event_type, Kind.STRING),
    "status": ListField(WebhookDelivery.status, Kind.STRING, choices=(PENDING, SUCCEEDED, FAILED)),
    "attempts": ListField(WebhookDelivery.attempts, Kind.INTEGER),
    "lastResponseStatus": ListField(
        WebhookDelivery.last_response_status, Kind.INTEGER, nullable=True
    ),
    "nextAttemptAt": ListField(WebhookDelivery.next_attempt_at, Kind.TIMESTAMP, nullable=True),
    "createdAt": ListField(WebhookDelivery.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(WebhookDelivery.updated_at, Kind.TIMESTAMP),
}


def select_listed(organization_id: str, livemode: bool) -> Select[WebhookEndpoint]:
    return select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == organization_id,
        WebhookEndpoint.livemode == livemode,
    )


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, endpoint_id: str
) -> WebhookEndpoint | None:
    stmt = select_listed(organization_id, livemode).where(WebhookEndpoint.id == endpoint_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_endpoint(
    session: AsyncSession, endpoint: WebhookEndpoint, values: Mapping[str, Any]
) -> bool:
    """One UPDATE of `endpoint` (values may be SQL expressions); False if it is gone."""
    result = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id)
        .values(**values)
        .returning(WebhookEndpoint.id)
        .execution_options(synchronize_session=False)
    )
    changed = result.first() is not None
    if changed:
        await session.refresh(endpoint)
    return changed


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> bool:
    result = await session.execute(
        delete(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint.id)
        .returning(WebhookEndpoint.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def active_endpoints_of(
    session: AsyncSession, organization_ids: Collection[str]
) -> list[WebhookEndpoint]:
    """The active endpoints of these organizations, both modes."""
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id.in_(set(organization_ids)),
        WebhookEndpoint.is_active.is_(True),
    )
    return list((await session.execute(stmt)).scalars())


async def insert_deliveries(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert delivery rows; a planned (event, endpoint) pair that exists is skipped."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(WebhookDelivery).on_conflict_do_nothing(), list(rows))


def select_deliveries(endpoint_id: str) -> Select[WebhookDelivery]:
    return select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)


async def get_delivery(
    session: AsyncSession, *, organization_id: str, livemode: bool, delivery_id: str
) -> WebhookDelivery | None:
    stmt = (
        select(WebhookDelivery)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookEndpoint.organization_id == organization_id,
            WebhookEndpoint.livemode == livemode,
        )
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_deliveries(session: AsyncSession, ids: Collection[str]) -> list[WebhookDelivery]:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id.in_(set(ids)))
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    )
    return list((await session.execute(stmt)).scalars())


async def schedule_now(session: AsyncSession, delivery: WebhookDelivery, *, now: datetime) -> None:
    """Make `delivery` pending and due now, whatever its state."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values(status=PENDING, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(delivery)


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[tuple[WebhookDelivery, WebhookEndpoint, Event]]:
    """Lease up to `limit` due pending deliveries, oldest due first, that no other worker
    holds (`FOR UPDATE SKIP LOCKED`): one more attempt each, due again at `lease_until`
    unless its outcome is recorded before. Returns them with their endpoint and event."""
    due = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=lease_until,
            last_attempt_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    stmt = (
        select(WebhookDelivery, WebhookEndpoint, Event)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.next_attempt_at)
        .execution_options(populate_existing=True)
    )
    return [(d, w, e) for d, w, e in (await session.execute(stmt)).all()]


async def record_attempts(session: AsyncSession, outcomes: Sequence[Mapping[str, Any]]) -> None:
    """Write the outcome of each attempt, unless the delivery was claimed again since (its
    lease ran out): each mapping has `d_id` and `d_attempts` and the columns to set."""
    if not outcomes:
        return
    table = cast(Table, WebhookDelivery.__table__)
    stmt = (
        table.update()
        .where(
            table.c.id == bindparam("d_id"),
            table.c.attempts == bindparam("d_attempts"),
            table.c.status == PENDING,
        )
        .values(
            {
                name: bindparam(name)
                for name in (
                    "status",
                    "next_attempt_at",
                    "last_response_status",
                    "last_response_body",
                    "last_error",
                    "duration_ms",
                    "updated_at",
                )
            }
        )
    )
    connection = await session.connection()
    await connection.execute(stmt, list(outcomes))


async def clear_failing(session: AsyncSession, endpoint_ids: Collection[str]) -> None:
    if endpoint_ids:
        await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id.in_(set(endpoint_ids)),
                WebhookEndpoint.failing_since.is_not(None),
            )
            .values(failing_since=None)
        )


async def mark_failing(
    session: AsyncSession, endpoint_ids: Collection[str], *, now: datetime
) -> None:
    """Start a failure streak on the endpoints that are not in one yet."""
    if endpoint_ids:
        await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id.in_(set(endpoint_ids)),
                WebhookEndpoint.failing_since.is_(None),
            )
            .values(failing_since=now)
        )


async def disable_failing(
    session: AsyncSession, endpoint_ids: Collection[str], *, since: datetime, now: datetime
) -> list[WebhookEndpoint]:
    """Disable the active endpoints among these whose failure streak began at or before
    `since`; returns those this statement disabled."""
    if not endpoint_ids:
        return []
    result = await session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id.in_(set(endpoint_ids)),
            WebhookEndpoint.is_active.is_(True),
            WebhookEndpoint.failing_since <= since,
        )
        .values(is_active=False, updated_at=now)
        .returning(WebhookEndpoint)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list(result.scalars())


def select_event_deliveries(event_id: str) -> Select[WebhookDelivery]:
    """The deliveries of one event (its endpoints share its organization and mode)."""
    return select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)


async def urls_of(
    session: AsyncSession, *, organization_id: str, livemode: bool, endpoint_ids: Collection[str]
) -> dict[str, str]:
    """The URL of each of these endpoints of the organization and mode, by id."""
    if not endpoint_ids:
        return {}
    stmt = select(WebhookEndpoint.id, WebhookEndpoint.url).where(
        WebhookEndpoint.organization_id == organization_id,
        WebhookEndpoint.livemode == livemode,
        WebhookEndpoint.id.in_(set(endpoint_ids)),
    )
    return {row.id: row.url for row in await session.execute(stmt)}

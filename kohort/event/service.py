"""Events: every state change appends one row in the transaction that made the change."""

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.ids import new_id
from kohort.models import Event


async def append_event(
    session: AsyncSession,
    *,
    type: str,
    organization_id: str,
    livemode: bool,
    data: dict[str, Any],
) -> Event:
    """Record `type` with `data`, the resource as it is right after the change (API shape).

    The row is flushed with the transaction's next statement or at commit: the events of one
    change go to the database in one batch, in the order they were appended."""
    event = Event(
        id=new_id("evt"),
        type=type,
        organization_id=organization_id,
        livemode=livemode,
        data=data,
        created_at=clock.now(),
    )
    session.add(event)
    return event


def event_row(
    *, type: str, organization_id: str, livemode: bool, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """One event as a row for `append_events`."""
    return {
        "id": new_id("evt"),
        "type": type,
        "organization_id": organization_id,
        "livemode": livemode,
        "data": data,
        "created_at": now,
    }


async def append_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record many events at once (rows of `event_row`), in list order, after every event
    already appended in this transaction: one INSERT … SELECT from a single JSON parameter
    (`jsonb_to_recordset` on PostgreSQL, `json_each` on SQLite) whatever the number of rows;
    statements per row, even batched or pipelined, cost several times more."""
    if not rows:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    records = [
        {**row, "n": n, "created_at": _stored_timestamp(row["created_at"], postgres)}
        for n, row in enumerate(rows)
    ]
    statement = _INSERT_RECORDS_PG if postgres else _INSERT_RECORDS_SQLITE
    await session.execute(statement, {"records": json.dumps(records)})


def _stored_timestamp(value: datetime, postgres: bool) -> str:
    """As a UTC timestamp column holds it (UTCDateTime: naive UTC; SQLite: text, always with
    microseconds, so that text order is time order)."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat() if postgres else naive.strftime("%Y-%m-%d %H:%M:%S.%f")


_INSERT_RECORDS_PG = text(
    "INSERT INTO events (id, type, organization_id, livemode, data, created_at) "
    "SELECT r.id, r.type, r.organization_id, r.livemode, r.data, r.created_at "
    "FROM jsonb_to_recordset(CAST(:records AS jsonb)) AS r(n integer, id text, type text, "
    "organization_id text, livemode boolean, data jsonb, created_at timestamp) ORDER BY r.n"
)
_INSERT_RECORDS_SQLITE = text(
    "INSERT INTO events (id, type, organization_id, livemode, data, created_at) "
    "SELECT json_extract(r.value, '$.id'), json_extract(r.value, '$.type'), "
    "json_extract(r.value, '$.organization_id'), json_extract(r.value, '$.livemode'), "
    "json_extract(r.value, '$.data'), json_extract(r.value, '$.created_at') "
    "FROM json_each(:records) AS r ORDER BY r.key"
)

"""The analytics cache: each local day's figures, kept in `analytics_days` and computed again
only when something that counts on that day changed.

Every order and group is written with its `updated_at`, and what places it on days never moves
once written (an order's registration, its group's creation, completion and expiry; an order
that moves to a new group touches the group it leaves). So a day's row stays exact while no
order or group counting on that day has `updated_at` at or after the row's `computed_at` less
MARGIN. MARGIN covers a write transaction that stamped its rows before the row was computed and
committed after it, and processes whose clocks differ a little; a transaction longer than that
would go unseen until its rows change again.

A request reads the rows of its days, asks the database what changed since the oldest of them
was computed (indexes on `updated_at`), and computes again, in one pass of each query, only
the days missing or touched since: today and the days of the groups that moved lately, on a
busy shop; nothing more on a quiet one."""

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.analytics import repository
from kohort.analytics.repository import Buckets
from kohort.db import Database
from kohort.models import AnalyticsDay

VERSION = 1
"""The definitions of the figures: rows of another version are computed again."""
MARGIN = timedelta(minutes=10)
FIGURES = (
    "revenue",
    "joins",
    "openings",
    "fees",
    "newcomers",
    "opened",
    "joined",
    "opened_completed",
    "completed",
    "expired",
    "members",
    "earned",
)
"""Per day: referred revenue, joins, opening orders, fees (of the orders registered that day);
customers brought by referral; groups opened, of those with a join and completed (created that
day); groups completed, expired, members of the completed, cashback earned (ended that day)."""
_QUERIES = (
    (repository.order_days, ("revenue", "joins", "openings", "fees")),
    (repository.newcomer_days, ("newcomers",)),
    (repository.opened_days, ("opened", "joined", "opened_completed")),
    (repository.ended_days, ("completed", "expired", "members")),
    (repository.cashback_days, ("earned",)),
)


class Day:
    """One local day's figures and its top groups."""

    __slots__ = ("figures", "top")

    def __init__(self, figures: dict[str, int] | None = None, top: list[Any] | None = None):
        self.figures = figures or dict.fromkeys(FIGURES, 0)
        self.top = top or []


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted day indexes as [first, end) ranges of consecutive days."""
    runs: list[tuple[int, int]] = []
    for index in indexes:
        if runs and runs[-1][1] == index:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    return runs


def _touched(rows: Sequence[Any], bounds: Sequence[datetime]) -> dict[int, datetime]:
    """Per day index of `bounds`, the latest `updated_at` of the changed rows counting on it."""
    latest: dict[int, datetime] = {}
    last = len(bounds) - 1
    for updated_at, *moments in rows:
        for moment in moments:
            if moment is None:
                continue
            index = bisect_right(bounds, moment) - 1
            if 0 <= index < last and (index not in latest or latest[index] < updated_at):
                latest[index] = updated_at
    return latest


async def _compute(
    session: AsyncSession, scope: dict[str, Any], buckets: Buckets, top: int
) -> dict[int, Day]:
    days = {index: Day() for first, end in buckets.runs for index in range(first, end)}
    for query, names in _QUERIES:
        for row in await query(session, **scope, buckets=buckets):
            figures = days[int(row[0])].figures
            for name, value in zip(names, row[1:], strict=True):
                figures[name] = int(value or 0)
    for row in await repository.top_groups(session, **scope, buckets=buckets, limit=top):
        days[int(row[0])].top.append([row[1], row[2], row[3], int(row[4]), int(row[5])])
    return days


def _upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(AnalyticsDay).values(rows)
    kept = ("organization_id", "livemode", "timezone", "day")
    return stmt.on_conflict_do_update(
        index_elements=list(kept),
        set_={
            column.name: stmt.excluded[column.name]
            for column in AnalyticsDay.__table__.columns
            if column.name not in kept
        },
    )


async def _store(
    database: Database,
    scope: dict[str, Any],
    timezone: str,
    first: date,
    days: dict[int, Day],
    computed_at: datetime,
) -> None:
    """The days computed, in their own short transaction; the rows of another time zone (the
    organization changed it) go."""
    rows = [
        {
            **scope,
            "timezone": timezone,
            "day": first + timedelta(days=index),
            "version": VERSION,
            "computed_at": computed_at,
            **day.figures,
            "top": day.top,
        }
        for index, day in sorted(days.items())
    ]
    async with database.write() as session:
        await session.execute(
            delete(AnalyticsDay).where(
                AnalyticsDay.organization_id == scope["organization_id"],
                AnalyticsDay.livemode == scope["livemode"],
                AnalyticsDay.timezone != timezone,
            )
        )
        for start in range(0, len(rows), 200):
            await session.execute(_upsert(session, rows[start : start + 200]))


async def days(
    session: AsyncSession,
    database: Database,
    *,
    organization_id: str,
    livemode: bool,
    timezone: str,
    first: date,
    bounds: Sequence[datetime],
    top: int,
    started: datetime,
) -> list[Day]:
    """The figures of the len(bounds) - 1 local days from `first` (bounds: the UTC instants at
    which they begin, and the last ends), from the cache where it holds, computed (and kept)
    where not. `started`: a moment before this transaction read anything."""
    scope: dict[str, Any] = {"organization_id": organization_id, "livemode": livemode}
    count = len(bounds) - 1
    stmt = select(AnalyticsDay).where(
        AnalyticsDay.organization_id == organization_id,
        AnalyticsDay.livemode == livemode,
        AnalyticsDay.timezone == timezone,
        AnalyticsDay.day >= first,
        AnalyticsDay.day < first + timedelta(days=count),
        AnalyticsDay.version == VERSION,
    )
    cached = {(row.day - first).days: row for row in (await session.execute(stmt)).scalars()}
    stale: set[int] = set()
    if cached:
        since = min(row.computed_at for row in cached.values()) - MARGIN
        changed = await repository.changes(session, **scope, since=since)
        stale = {
            index
            for index, updated_at in _touched(changed, bounds).items()
            if index in cached and updated_at >= cached[index].computed_at - MARGIN
        }
    wanted = [index for index in range(count) if index not in cached or index in stale]
    computed: dict[int, Day] = {}
    if wanted:
        computed = await _compute(session, scope, Buckets(bounds, _runs(wanted)), top)
        await _store(database, scope, timezone, first, computed, started)
    return [
        computed[index]
        if index in computed
        else Day({name: getattr(cached[index], name) for name in FIGURES}, cached[index].top)
        for index in range(count)
    ]

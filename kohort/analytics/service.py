"""The analytics page (docs/api.md, "Analytics"): a period of local days, in the
organization's time zone, against the period of the same length just before it."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.analytics import cache, repository
from kohort.analytics.schemas import (
    AmountFigure,
    AnalyticsRead,
    DayRead,
    Funnel,
    Period,
    RatioFigure,
    Shares,
    TopGroupRead,
)
from kohort.db import Database
from kohort.errors import ValidationError
from kohort.share.service import CHANNELS

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_PERIOD = "30d"
MAX_DAYS = 366
TOP_GROUPS = 10
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Days:
    """The days asked for: `first` … `last` inclusive, local dates."""

    first: date
    last: date

    @property
    def count(self) -> int:
        return (self.last - self.first).days + 1


def _parse_date(value: str, param: str) -> date:
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError(
        f"'{param}' must be an ISO date (YYYY-MM-DD), not '{value}'.", param=param
    )


def requested_days(*, period: str | None, start: str | None, end: str | None, today: date) -> Days:
    """The days of `period` (ending today) or of `from`…`to`; 400 VALIDATION_ERROR otherwise."""
    if start is None and end is None:
        name = DEFAULT_PERIOD if period is None else period
        if name not in PERIODS:
            raise ValidationError(
                f"'period' must be one of 7d, 30d, 90d, not '{name}'.", param="period"
            )
        return Days(first=today - timedelta(days=PERIODS[name] - 1), last=today)
    if period is not None:
        raise ValidationError("Give either 'period' or 'from' and 'to', not both.", param="period")
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise ValidationError(f"'{missing}' is required with a custom period.", param=missing)
    days = Days(first=_parse_date(start, "from"), last=_parse_date(end, "to"))
    if days.first > days.last:
        raise ValidationError("'from' must be on or before 'to'.", param="from")
    if days.count > MAX_DAYS:
        raise ValidationError(
            f"A period is at most {MAX_DAYS} days; this one has {days.count}.", param="to"
        )
    return days


def day_bounds(first: date, count: int, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which `count` + 1 local days starting with `first` begin (a day is
    23 or 25 hours long across a daylight-saving change)."""
    return [
        datetime.combine(first + timedelta(days=n), time(0), tzinfo=zone).astimezone(UTC)
        for n in range(count + 1)
    ]


def _ratio(numerator: int, denominator: int) -> float | None:
    if denominator == 0:
        return None
    return float((Decimal(numerator) / Decimal(denominator)).quantize(_PLACES, ROUND_HALF_UP))


def _change(value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None or previous == 0:
        return None
    relative = (Decimal(str(value)) - Decimal(str(previous))) / Decimal(str(previous))
    return float(relative.quantize(_PLACES, ROUND_HALF_UP))


def amount(value: int, previous: int | None) -> AmountFigure:
    return AmountFigure(value=value, previous=previous, change=_change(value, previous))


def ratio(value: float | None, previous: float | None) -> RatioFigure:
    return RatioFigure(value=value, previous=previous, change=_change(value, previous))


def _split(values: list[int], days: int) -> tuple[int, int]:
    """(this period's total, the previous period's total) of a series over both periods."""
    return sum(values[days:]), sum(values[:days])


def _shares(rows: list[tuple[date, str, int]], first: date) -> Shares:
    """The share counts of both periods (`first`: the period's first day) as figures."""
    shown, shared, channels = [0, 0], [0, 0], dict.fromkeys(CHANNELS, 0)
    for day, channel, count in rows:
        now = 1 if day >= first else 0
        if channel.startswith("shown:"):
            shown[now] += count
        else:
            shared[now] += count
            if now:
                channels[channel] = channels.get(channel, 0) + count
    return Shares(
        shown=amount(shown[1], shown[0]), shared=amount(shared[1], shared[0]), by_channel=channels
    )


async def analytics(
    session: AsyncSession,
    database: Database,
    *,
    organization_id: str,
    livemode: bool,
    period: str | None,
    start: str | None,
    end: str | None,
    now: datetime,
) -> AnalyticsRead:
    """The figures, from the days' cache (kohort/analytics/cache.py) where it holds; `now`
    is taken before `session` read anything, or within the cache's margin of it."""
    await repository.without_jit(session)
    timezone = await repository.organization_timezone(session, organization_id)
    zone = ZoneInfo(timezone)
    days = requested_days(period=period, start=start, end=end, today=now.astimezone(zone).date())
    n = days.count
    bounds = day_bounds(days.first - timedelta(days=n), 2 * n, zone)
    scope: dict[str, Any] = {"organization_id": organization_id, "livemode": livemode}
    each_day = await cache.days(
        session,
        database,
        **scope,
        timezone=timezone,
        first=days.first - timedelta(days=n),
        bounds=bounds,
        top=TOP_GROUPS,
        started=now,
    )
    series = {name: [day.figures[name] for day in each_day] for name in cache.FIGURES}
    revenue, joins, opened, completed, earned = (
        series[name] for name in ("revenue", "joins", "opened", "completed", "earned")
    )
    paid_before, paid = await repository.cashback_paid(
        session, **scope, start=bounds[0], middle=bounds[n], end=bounds[-1]
    )
    pending = await repository.cashback_pending(session, **scope)
    shares = await repository.share_days(
        session, **scope, start=days.first - timedelta(days=n), end=days.last + timedelta(days=1)
    )
    top = sorted(
        (group for day in each_day[n:] for group in day.top),
        key=lambda group: (-group[3], -group[4], group[0]),
    )[:TOP_GROUPS]
    totals = {name: _split(values, n) for name, values in series.items()}

    def figure(name: str) -> AmountFigure:
        return amount(*totals[name])

    def quotient(top: str, *bottom: str) -> RatioFigure:
        values = [_ratio(totals[top][k], sum(totals[name][k] for name in bottom)) for k in (0, 1)]
        return ratio(values[0], values[1])

    totals["costs"] = (
        totals["earned"][0] + totals["fees"][0],
        totals["earned"][1] + totals["fees"][1],
    )
    previous = Days(first=days.first - timedelta(days=n), last=days.first - timedelta(days=1))
    return AnalyticsRead(
        livemode=livemode,
        timezone=timezone,
        period=Period(from_=days.first, to=days.last, days=n),
        previous_period=Period(from_=previous.first, to=previous.last, days=n),
        referred_revenue=figure("revenue"),
        new_referred_customers=figure("newcomers"),
        groups_opened=figure("opened"),
        groups_completed=figure("completed"),
        groups_expired=figure("expired"),
        average_group_size=quotient("members", "completed"),
        funnel=Funnel(
            opened=figure("opened"),
            joined=figure("joined"),
            completed=figure("opened_completed"),
        ),
        shares=_shares(shares, days.first),
        k_factor=quotient("joins", "openings"),
        cashback_earned=figure("earned"),
        cashback_paid=amount(paid, paid_before),
        cashback_pending=amount(pending, None),
        fees=figure("fees"),
        roi=quotient("revenue", "costs"),
        daily=[
            DayRead(
                date=days.first + timedelta(days=k),
                referred_revenue=revenue[n + k],
                groups_opened=opened[n + k],
                joins=joins[n + k],
                groups_completed=completed[n + k],
                cashback_earned=earned[n + k],
            )
            for k in range(n)
        ],
        top_groups=[
            TopGroupRead(
                id=row[0], share_id=row[1], status=row[2], members=row[3], referred_revenue=row[4]
            )
            for row in top
        ],
    )

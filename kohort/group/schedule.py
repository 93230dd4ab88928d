"""A group's reminder moments (DOMAIN §7), computed once when the group is created."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

REMINDER_HOUR: time = time(10, 0)
"""Local hour of the day-3 and day-minus-2 reminders when the organization sets none."""

_MIDWAY_LIMIT = timedelta(days=7)
"""Groups lasting at most this long get a midway reminder; longer ones get J+3 and J-2."""


@dataclass(frozen=True)
class Schedule:
    """The timing fields of a group, aware UTC, to the millisecond."""

    expires_at: datetime
    mid_expire_at: datetime | None
    j_plus3_start_at: datetime | None
    j_minus2_expire_at: datetime | None


def schedule_for(
    start: datetime, expires_at: datetime, timezone: str, reminder_hour: time = REMINDER_HOUR
) -> Schedule:
    """A midway moment when the group lasts ≤ 7 days; else J+3 and J-2 at `reminder_hour`.

    J+3 is `start`'s local date in `timezone` plus 3 days, J-2 `expires_at`'s minus 2 days.
    """
    start = _utc_millis(start)
    expires_at = _utc_millis(expires_at)
    if expires_at <= start:
        raise ValueError("expires_at must be after start")
    duration = expires_at - start
    if duration <= _MIDWAY_LIMIT:
        midway = _utc_millis(start + duration // 2)
        return Schedule(expires_at, midway, None, None)
    zone = ZoneInfo(timezone)
    start_day = start.astimezone(zone).date()
    end_day = expires_at.astimezone(zone).date()
    return Schedule(
        expires_at=expires_at,
        mid_expire_at=None,
        j_plus3_start_at=_local_moment(start_day + timedelta(days=3), reminder_hour, zone),
        j_minus2_expire_at=_local_moment(end_day - timedelta(days=2), reminder_hour, zone),
    )


def _local_moment(day: date, hour: time, zone: ZoneInfo) -> datetime:
    """`hour` on `day` in `zone`, as UTC, read with the offset in force before any change (fold=0).

    A wall time skipped by a spring-forward gap lands the gap's length later (02:30 → 03:30);
    a wall time repeated in autumn is its first occurrence.
    """
    wall = datetime.combine(day, hour.replace(tzinfo=None, fold=0), tzinfo=zone)
    return _utc_millis(wall)


def _utc_millis(moment: datetime) -> datetime:
    """`moment` in UTC, truncated to milliseconds; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

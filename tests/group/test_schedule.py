"""DOMAIN §7 timing fields: a midway moment for short groups, J+3 and J-2 at a local hour else."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kohort.group.schedule import REMINDER_HOUR, Schedule, schedule_for


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("timezone", "created", "duration", "expected"),
    [
        pytest.param(
            "Europe/Paris",
            "2026-03-20T09:00:00.000Z",
            timedelta(days=14),
            Schedule(
                expires_at=utc("2026-04-03T09:00:00.000Z"),
                mid_expire_at=None,
                j_plus3_start_at=utc("2026-03-23T09:00:00.000Z"),
                j_minus2_expire_at=utc("2026-04-01T08:00:00.000Z"),
            ),
            id="paris-summer-time-begins",
        ),
        pytest.param(
            "Europe/Paris",
            "2026-10-20T22:30:00.000Z",
            timedelta(days=10),
            Schedule(
                expires_at=utc("2026-10-30T22:30:00.000Z"),
                mid_expire_at=None,
                j_plus3_start_at=utc("2026-10-24T08:00:00.000Z"),
                j_minus2_expire_at=utc("2026-10-28T09:00:00.000Z"),
            ),
            id="paris-local-date-differs-winter-time",
        ),
        pytest.param(
            "Europe/Paris",
            "2026-05-04T12:00:00.000Z",
            timedelta(days=7),
            Schedule(
                expires_at=utc("2026-05-11T12:00:00.000Z"),
                mid_expire_at=utc("2026-05-08T00:00:00.000Z"),
                j_plus3_start_at=None,
                j_minus2_expire_at=None,
            ),
            id="paris-seven-days",
        ),
        pytest.param(
            "Europe/Paris",
            "2026-05-04T12:00:00.000Z",
            timedelta(minutes=10),
            Schedule(
                expires_at=utc("2026-05-04T12:10:00.000Z"),
                mid_expire_at=utc("2026-05-04T12:05:00.000Z"),
                j_plus3_start_at=None,
                j_minus2_expire_at=None,
            ),
            id="paris-ten-minutes",
        ),
        pytest.param(
            "America/New_York",
            "2026-03-05T03:00:00.000Z",
            timedelta(days=90),
            Schedule(
                expires_at=utc("2026-06-03T03:00:00.000Z"),
                mid_expire_at=None,
                j_plus3_start_at=utc("2026-03-07T15:00:00.000Z"),
                j_minus2_expire_at=utc("2026-05-31T14:00:00.000Z"),
            ),
            id="new-york-ninety-days",
        ),
    ],
)
def test_worked_examples_of_the_domain(
    timezone: str, created: str, duration: timedelta, expected: Schedule
) -> None:
    start = utc(created)
    assert schedule_for(start, start + duration, timezone) == expected


def test_exactly_seven_days_gets_a_midway_reminder_only() -> None:
    start = utc("2026-01-05T08:00:00.000Z")
    schedule = schedule_for(start, start + timedelta(days=7), "Europe/Paris")
    assert schedule.mid_expire_at == utc("2026-01-08T20:00:00.000Z")
    assert schedule.j_plus3_start_at is None
    assert schedule.j_minus2_expire_at is None


def test_one_millisecond_past_seven_days_gets_day_reminders_only() -> None:
    start = utc("2026-01-05T08:00:00.000Z")
    expires_at = start + timedelta(days=7, milliseconds=1)
    schedule = schedule_for(start, expires_at, "Europe/Paris")
    assert schedule == Schedule(
        expires_at=expires_at,
        mid_expire_at=None,
        j_plus3_start_at=utc("2026-01-08T09:00:00.000Z"),
        j_minus2_expire_at=utc("2026-01-10T09:00:00.000Z"),
    )


def test_results_are_truncated_to_milliseconds() -> None:
    start = utc("2026-05-04T12:00:00.000999Z")
    expires_at = utc("2026-05-04T12:10:00.001999Z")
    schedule = schedule_for(start, expires_at, "Europe/Paris")
    assert schedule.expires_at == utc("2026-05-04T12:10:00.001Z")
    assert schedule.mid_expire_at == utc("2026-05-04T12:05:00.000Z")


def test_the_duration_is_measured_in_utc_whatever_the_input_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    start = datetime(2026, 10, 20, 10, 0, tzinfo=paris)
    expires_at = datetime(2026, 10, 27, 10, 0, tzinfo=paris)
    schedule = schedule_for(start, expires_at, "Europe/Paris")
    assert schedule == Schedule(
        expires_at=utc("2026-10-27T09:00:00.000Z"),
        mid_expire_at=None,
        j_plus3_start_at=utc("2026-10-23T08:00:00.000Z"),
        j_minus2_expire_at=utc("2026-10-25T09:00:00.000Z"),
    )
    assert schedule.expires_at.tzinfo is UTC


def test_a_reminder_hour_in_the_spring_gap_lands_the_gap_length_later() -> None:
    start = utc("2026-03-26T09:00:00.000Z")
    schedule = schedule_for(start, start + timedelta(days=14), "Europe/Paris", time(2, 30))
    assert schedule.j_plus3_start_at == utc("2026-03-29T01:30:00.000Z")
    local = schedule.j_plus3_start_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.date().isoformat(), local.time()) == ("2026-03-29", time(3, 30))


def test_a_reminder_hour_repeated_in_autumn_is_its_first_occurrence() -> None:
    start = utc("2026-10-15T09:00:00.000Z")
    schedule = schedule_for(start, start + timedelta(days=12), "Europe/Paris", time(2, 30))
    assert schedule.j_minus2_expire_at == utc("2026-10-25T00:30:00.000Z")


def test_new_york_reminders_keep_their_local_hour_across_the_autumn_change() -> None:
    start = utc("2026-10-29T14:00:00.000Z")
    schedule = schedule_for(start, start + timedelta(days=8), "America/New_York")
    assert schedule.j_plus3_start_at == utc("2026-11-01T15:00:00.000Z")
    assert schedule.j_minus2_expire_at == utc("2026-11-04T15:00:00.000Z")


def test_sydney_reminders_follow_southern_summer_time_ending_in_april() -> None:
    start = utc("2026-03-31T00:00:00.000Z")
    schedule = schedule_for(start, start + timedelta(days=14), "Australia/Sydney")
    assert schedule.j_plus3_start_at == utc("2026-04-02T23:00:00.000Z")
    assert schedule.j_minus2_expire_at == utc("2026-04-12T00:00:00.000Z")


def test_tokyo_reminders_use_the_local_date_ahead_of_utc() -> None:
    start = utc("2026-01-10T16:00:00.000Z")
    schedule = schedule_for(start, start + timedelta(days=30), "Asia/Tokyo")
    assert schedule.j_plus3_start_at == utc("2026-01-14T01:00:00.000Z")
    assert schedule.j_minus2_expire_at == utc("2026-02-08T01:00:00.000Z")


def test_the_default_reminder_hour_is_ten_local() -> None:
    start = utc("2026-07-01T08:00:00.000Z")
    default = schedule_for(start, start + timedelta(days=30), "Europe/Paris")
    assert default == schedule_for(start, start + timedelta(days=30), "Europe/Paris", time(10))
    assert default.j_plus3_start_at == utc("2026-07-04T08:00:00.000Z")
    assert time(10, 0) == REMINDER_HOUR


def test_the_reminder_hour_is_configurable() -> None:
    start = utc("2026-01-05T08:00:00.000Z")
    schedule = schedule_for(start, start + timedelta(days=30), "UTC", time(18, 15))
    assert schedule.j_plus3_start_at == utc("2026-01-08T18:15:00.000Z")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        schedule_for(datetime(2026, 1, 5), datetime(2026, 1, 6), "Europe/Paris")


def test_an_expiry_not_after_the_start_is_refused() -> None:
    start = utc("2026-01-05T08:00:00.000Z")
    with pytest.raises(ValueError, match="after start"):
        schedule_for(start, start, "Europe/Paris")

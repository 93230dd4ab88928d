"""The worker's group jobs (DOMAIN.md §6-§8): a sweep ends the groups whose time is up and
records the due reminders, exactly once each, however many sweeps run."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kohort.db import Database
from kohort.group import jobs
from kohort.models import PaymentGroup
from kohort.worker import Sweep, Worker
from tests.factories import Org
from tests.group_settings.api import patched
from tests.order.api import (
    create_order,
    fetch,
    frozen_at,
    group_events,
    group_of,
    join,
    new_group,
    wire,
)

REMINDER = "payment_group.reminder_due"


async def sweep(db: Database) -> Sweep:
    """One sweep, in a batch large enough for every due row the other tests left behind."""
    return await Worker(db=db, batch_size=10_000).sweep()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def state(client: httpx.AsyncClient, org: Org, group_id: str) -> tuple[str, str]:
    group = await fetch(client, org.sk_test, group_id)
    return group["status"], group["reminderEmailSent"]


async def count(client: httpx.AsyncClient, org: Org, event_type: str, group_id: str) -> int:
    return len(await group_events(client, org.sk_test, event_type, group_id))


async def long_group(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    """A lonely group of 14 days (J+3 and J-2 reminders, no midway one)."""
    await patched(client, org, {"minutesDuration": 20160})
    group = await new_group(client, org.sk_test)
    assert group["midExpireAt"] is None
    assert group["jPlus3StartAt"] is not None and group["jMinus2ExpireAt"] is not None
    return group


async def test_a_lonely_group_past_its_end_expires_once(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        group = await new_group(client, org.sk_test)
        clock.shift(timedelta(minutes=10) - timedelta(milliseconds=1))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "MIDWAY_SENT")

        clock.shift(timedelta(milliseconds=1))
        assert moment(group["expiresAt"]) == datetime.now(UTC)
        result = await sweep(db)
        assert result.ended >= 1
        ended = await fetch(client, org.sk_test, group["id"])
        assert ended["status"] == "EXPIRED"
        assert ended["completedAt"] is None
        assert ended["updatedAt"] == wire(datetime.now(UTC))
        assert ended["updatedBy"] == "system"
        expired = await group_events(client, org.sk_test, "payment_group.expired", group["id"])
        assert len(expired) == 1
        assert expired[0]["data"]["status"] == "EXPIRED"

        clock.shift(timedelta(minutes=5))
        await sweep(db)
        assert await fetch(client, org.sk_test, group["id"]) == ended
        assert await count(client, org, "payment_group.expired", group["id"]) == 1
        assert await count(client, org, "payment_group.succeeded", group["id"]) == 0


async def test_a_group_of_several_past_its_end_completes_with_every_cashback(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        creator = await create_order(client, org.sk_test, amount=10000)
        group = await group_of(client, org.sk_test, creator)
        second = await join(client, org.sk_test, group["shareId"], amount=2000)
        third = await join(client, org.sk_test, group["shareId"], amount=3333)
        assert (await fetch(client, org.sk_test, group["id"]))["status"] == "OPEN"

        clock.shift(timedelta(minutes=10))
        await sweep(db)
        done = await fetch(client, org.sk_test, group["id"])
        assert done["status"] == "COMPLETED"
        assert done["participantsCount"] == 3
        assert done["completedAt"] == wire(datetime.now(UTC))
        cashback = {}
        for order in (creator, second, third):
            stored = await _order(client, org, order["id"])
            assert stored["status"] == "CASHBACK_AVAILABLE", stored
            cashback[order["id"]] = stored["amountCashback"]
        # 3 members reach the default level of 5 %, rounded half up.
        assert cashback == {creator["id"]: 500, second["id"]: 100, third["id"]: 167}
        assert await count(client, org, "payment_group.succeeded", group["id"]) == 1
        assert await count(client, org, "payment_group.expired", group["id"]) == 0
        available = await _order_events(client, org, "order.cashback_available")
        assert sorted(available) == sorted(cashback)

        clock.shift(timedelta(minutes=1))
        await sweep(db)
        assert await fetch(client, org.sk_test, group["id"]) == done
        assert await count(client, org, "payment_group.succeeded", group["id"]) == 1
        assert sorted(await _order_events(client, org, "order.cashback_available")) == sorted(
            cashback
        )


async def _order(client: httpx.AsyncClient, org: Org, order_id: str) -> dict[str, Any]:
    response = await client.get(
        f"/orders/{order_id}", headers={"Authorization": f"Bearer {org.sk_test}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _order_events(client: httpx.AsyncClient, org: Org, event_type: str) -> list[str]:
    """The order ids of the organization's events of `event_type`."""
    response = await client.get(
        "/events",
        params={"search": f"type:{event_type}", "take": 100},
        headers={"Authorization": f"Bearer {org.sk_test}"},
    )
    assert response.status_code == 200, response.text
    return [event["data"]["id"] for event in response.json()["data"]]


async def test_a_group_not_yet_due_is_untouched(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        lonely = await new_group(client, org.sk_test)
        full = await new_group(client, org.sk_test)
        await join(client, org.sk_test, full["shareId"])
        clock.shift(timedelta(minutes=4, seconds=59))
        before = [await fetch(client, org.sk_test, g["id"]) for g in (lonely, full)]
        await sweep(db)
        assert [await fetch(client, org.sk_test, g["id"]) for g in (lonely, full)] == before
        assert [g["status"] for g in before] == ["OPEN", "OPEN"]
        for g in (lonely, full):
            for event_type in (REMINDER, "payment_group.expired", "payment_group.succeeded"):
                assert await count(client, org, event_type, g["id"]) == 0


async def test_a_short_group_is_reminded_at_its_midway_moment_only(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        group = await new_group(client, org.sk_test)
        mid = moment(group["midExpireAt"])
        assert mid == start + timedelta(minutes=5)
        clock.move_to(mid - timedelta(milliseconds=1))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "NOT_SENT")
        assert await count(client, org, REMINDER, group["id"]) == 0

        clock.move_to(mid)
        result = await sweep(db)
        assert result.reminded >= 1
        assert await state(client, org, group["id"]) == ("OPEN", "MIDWAY_SENT")
        reminders = await group_events(client, org.sk_test, REMINDER, group["id"])
        assert len(reminders) == 1
        assert reminders[0]["data"]["reminderEmailSent"] == "MIDWAY_SENT"

        clock.shift(timedelta(minutes=4))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "MIDWAY_SENT")
        assert await count(client, org, REMINDER, group["id"]) == 1


async def test_a_long_group_is_reminded_on_day_three_then_two_days_before_its_end(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        group = await long_group(client, org)
        plus3 = moment(group["jPlus3StartAt"])
        minus2 = moment(group["jMinus2ExpireAt"])
        assert start < plus3 < minus2 < moment(group["expiresAt"])

        clock.move_to(plus3 - timedelta(milliseconds=1))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "NOT_SENT")

        clock.move_to(plus3)
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "DAY3_SENT")
        assert await count(client, org, REMINDER, group["id"]) == 1

        clock.move_to(minus2 - timedelta(milliseconds=1))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "DAY3_SENT")
        assert await count(client, org, REMINDER, group["id"]) == 1

        clock.move_to(minus2)
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "DAY2_BEFORE_END_SENT")
        reminders = await group_events(client, org.sk_test, REMINDER, group["id"])
        assert [r["data"]["reminderEmailSent"] for r in reminders] == [
            "DAY2_BEFORE_END_SENT",
            "DAY3_SENT",
        ]

        clock.shift(timedelta(days=1))
        await sweep(db)
        assert await count(client, org, REMINDER, group["id"]) == 2


async def test_a_worker_down_for_days_sends_only_the_latest_reminder(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        group = await long_group(client, org)
        clock.move_to(moment(group["jMinus2ExpireAt"]) + timedelta(days=1))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "DAY2_BEFORE_END_SENT")
        reminders = await group_events(client, org.sk_test, REMINDER, group["id"])
        assert [r["data"]["reminderEmailSent"] for r in reminders] == ["DAY2_BEFORE_END_SENT"]

        clock.move_to(moment(group["expiresAt"]) + timedelta(hours=3))
        await sweep(db)
        await sweep(db)
        assert await state(client, org, group["id"]) == ("EXPIRED", "DAY2_BEFORE_END_SENT")
        assert await count(client, org, "payment_group.expired", group["id"]) == 1
        assert await count(client, org, REMINDER, group["id"]) == 1


async def test_a_short_group_swept_only_after_its_end_expires_without_a_reminder(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        group = await new_group(client, org.sk_test)
        clock.shift(timedelta(minutes=30))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("EXPIRED", "NOT_SENT")
        assert await count(client, org, REMINDER, group["id"]) == 0


@pytest.mark.parametrize("days", [4, 13])
async def test_a_group_of_two_gets_no_reminder(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime, days: int
) -> None:
    with frozen_at(start) as clock:
        group = await long_group(client, org)
        await join(client, org.sk_test, group["shareId"])
        lonely = await new_group(client, org.sk_test)
        clock.shift(timedelta(days=days))
        await sweep(db)
        assert await state(client, org, group["id"]) == ("OPEN", "NOT_SENT")
        assert await count(client, org, REMINDER, group["id"]) == 0
        # A lonely group of the same age is reminded by the same sweep.
        assert (await state(client, org, lonely["id"]))[1] != "NOT_SENT"
        assert await count(client, org, REMINDER, lonely["id"]) == 1


async def test_sweeping_twice_at_the_same_instant_records_nothing_new(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        reminded = await new_group(client, org.sk_test)
        ending = await new_group(client, org.sk_test)
        clock.shift(timedelta(minutes=5))
        later = await new_group(client, org.sk_test)
        clock.shift(timedelta(minutes=5) - timedelta(seconds=1))
        await sweep(db)
        assert await state(client, org, reminded["id"]) == ("OPEN", "MIDWAY_SENT")
        # Now the first two are due to end and the third to get its midway reminder.
        clock.shift(timedelta(seconds=1))
        first = await sweep(db)
        snapshot = [await fetch(client, org.sk_test, g["id"]) for g in (reminded, ending, later)]
        events = {
            g["id"]: [
                await count(client, org, t, g["id"])
                for t in (REMINDER, "payment_group.expired", "payment_group.succeeded")
            ]
            for g in (reminded, ending, later)
        }
        assert first.ended >= 2 and first.reminded >= 1
        assert [g["status"] for g in snapshot] == ["EXPIRED", "EXPIRED", "OPEN"]
        assert snapshot[2]["reminderEmailSent"] == "MIDWAY_SENT"

        again = await sweep(db)
        assert (again.ended, again.reminded, again.failed) == (0, 0, 0)
        assert [await fetch(client, org.sk_test, g["id"]) for g in (reminded, ending, later)] == (
            snapshot
        )
        assert {
            g["id"]: [
                await count(client, org, t, g["id"])
                for t in (REMINDER, "payment_group.expired", "payment_group.succeeded")
            ]
            for g in (reminded, ending, later)
        } == events


async def test_concurrent_sweeps_end_each_group_exactly_once(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        lonely = [await new_group(client, org.sk_test) for _ in range(4)]
        crowded = [await new_group(client, org.sk_test) for _ in range(3)]
        for group in crowded:
            await join(client, org.sk_test, group["shareId"])
        clock.shift(timedelta(minutes=11))
        results = await asyncio.gather(sweep(db), sweep(db), Worker(db=db).sweep())
        assert sum(r.failed for r in results) == 0
        assert sum(r.ended for r in results) >= len(lonely) + len(crowded)
        for group in lonely:
            assert (await fetch(client, org.sk_test, group["id"]))["status"] == "EXPIRED"
            assert await count(client, org, "payment_group.expired", group["id"]) == 1
            assert await count(client, org, REMINDER, group["id"]) == 0
        for group in crowded:
            assert (await fetch(client, org.sk_test, group["id"]))["status"] == "COMPLETED"
            assert await count(client, org, "payment_group.succeeded", group["id"]) == 1
            assert await count(client, org, "payment_group.expired", group["id"]) == 0
        assert len(await _order_events(client, org, "order.cashback_available")) == 6


async def test_concurrent_sweeps_send_each_reminder_exactly_once(
    client: httpx.AsyncClient, db: Database, org: Org, start: datetime
) -> None:
    with frozen_at(start) as clock:
        groups = [await new_group(client, org.sk_test) for _ in range(5)]
        clock.shift(timedelta(minutes=6))
        results = await asyncio.gather(sweep(db), sweep(db))
        assert sum(r.failed for r in results) == 0
        for group in groups:
            assert await state(client, org, group["id"]) == ("OPEN", "MIDWAY_SENT")
            assert await count(client, org, REMINDER, group["id"]) == 1


# next_reminder, unit cases (DOMAIN.md §8).

T0 = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)


def _group(
    sent: str = "NOT_SENT",
    *,
    mid: datetime | None = None,
    plus3: datetime | None = None,
    minus2: datetime | None = None,
) -> PaymentGroup:
    return PaymentGroup(
        reminder_email_sent=sent,
        mid_expire_at=mid,
        j_plus3_start_at=plus3,
        j_minus2_expire_at=minus2,
    )


SHORT = {"mid": T0 + timedelta(minutes=5)}
LONG = {"plus3": T0 + timedelta(days=3), "minus2": T0 + timedelta(days=12)}
NOT_SENT = ("NOT_SENT",)
DAY2_FROM = ("NOT_SENT", "DAY3_SENT")


@pytest.mark.parametrize(
    ("sent", "timing", "at", "expected"),
    [
        ("NOT_SENT", SHORT, T0, None),
        ("NOT_SENT", SHORT, T0 + timedelta(minutes=5) - timedelta(microseconds=1), None),
        ("NOT_SENT", SHORT, T0 + timedelta(minutes=5), ("MIDWAY_SENT", NOT_SENT)),
        ("NOT_SENT", SHORT, T0 + timedelta(days=30), ("MIDWAY_SENT", NOT_SENT)),
        ("MIDWAY_SENT", SHORT, T0 + timedelta(minutes=6), None),
        ("NOT_SENT", LONG, T0 + timedelta(days=1), None),
        ("NOT_SENT", LONG, T0 + timedelta(days=3), ("DAY3_SENT", NOT_SENT)),
        ("DAY3_SENT", LONG, T0 + timedelta(days=5), None),
        ("DAY3_SENT", LONG, T0 + timedelta(days=12), ("DAY2_BEFORE_END_SENT", DAY2_FROM)),
        ("NOT_SENT", LONG, T0 + timedelta(days=12), ("DAY2_BEFORE_END_SENT", DAY2_FROM)),
        ("NOT_SENT", LONG, T0 + timedelta(days=13), ("DAY2_BEFORE_END_SENT", DAY2_FROM)),
        ("DAY2_BEFORE_END_SENT", LONG, T0 + timedelta(days=13), None),
        ("NOT_SENT", {}, T0 + timedelta(days=365), None),
    ],
)
def test_next_reminder(
    sent: str, timing: dict[str, datetime], at: datetime, expected: tuple[str, tuple[str, ...]]
) -> None:
    assert jobs.next_reminder(_group(sent, **timing), at) == expected

"""The analytics' days cache (kohort/analytics/cache.py): after every kind of change, the
figures read through the cache equal those computed from nothing, and the days nothing touched
are not computed again."""

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, insert, literal, select, update

from kohort.analytics.cache import MARGIN
from kohort.analytics.repository import Buckets
from kohort.config import Settings
from kohort.db import Database
from kohort.models import AnalyticsDay, Order
from kohort.models.base import UTCDateTime
from kohort.worker import Worker
from tests.analytics.api import analytics, utc
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import fetch, frozen_at, join, place_order
from tests.payout.api import paid_by_test_batch

PERIODS = ({"period": "7d"}, {"period": "30d"}, {"from": "2031-03-01", "to": "2031-03-31"})


async def _cached_rows(db: Database, org: Org) -> list[dict[str, Any]]:
    async with db.read() as session:
        stmt = select(AnalyticsDay.__table__).where(AnalyticsDay.organization_id == org.id)
        rows = (await session.execute(stmt)).mappings().all()
    return [dict(row) for row in rows]


async def computed_at(db: Database, org: Org) -> dict[date, datetime]:
    return {row["day"]: row["computed_at"] for row in await _cached_rows(db, org)}


async def from_nothing(client: httpx.AsyncClient, db: Database, org: Org, **params: str) -> Any:
    """The analytics computed with an empty cache, the cache then put back as it was."""
    kept = await _cached_rows(db, org)
    mine = delete(AnalyticsDay).where(AnalyticsDay.organization_id == org.id)
    async with db.write() as session:
        await session.execute(mine)
    try:
        return await analytics(client, org.sk_test, **params)
    finally:
        async with db.write() as session:
            await session.execute(mine)
            if kept:
                await session.execute(insert(AnalyticsDay.__table__), kept)


async def exact(client: httpx.AsyncClient, db: Database, org: Org) -> None:
    """Each period read through the cache equals the same computed from nothing."""
    for params in PERIODS:
        through_cache = await analytics(client, org.sk_test, **params)
        assert through_cache == await from_nothing(client, db, org, **params), params


async def test_the_cache_stays_exact_through_every_kind_of_change(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    key = org.sk_test
    await patched(
        client,
        org,
        {"maxParticipants": 3, "discountLevels": levels((2, 10)), "minutesDuration": 4320},
    )
    with frozen_at(utc(10, 10)) as clock:
        await exact(client, db, org)
        a1 = await place_order(client, key, amount=10_000)
        code_a = a1["paymentGroup"]["shareId"]
        await exact(client, db, org)
        clock.move_to(utc(10, 11))
        a2 = await join(client, key, code_a, amount=5_000)
        await exact(client, db, org)

        clock.move_to(utc(12, 9))
        b1 = await place_order(client, key, amount=20_000)
        clock.move_to(utc(12, 10))
        b2 = await join(client, key, b1["paymentGroup"]["shareId"], amount=8_000)
        await exact(client, db, org)
        clock.move_to(utc(12, 11))
        canceled = await client.post(f"/orders/{b2['id']}/cancel", headers=bearer(key))
        assert canceled.status_code == 200, canceled.text
        await exact(client, db, org)

        clock.move_to(utc(13, 8))
        refund = await client.post(
            f"/orders/{a2['id']}/refunds", json={"amount": 1_000}, headers=bearer(key)
        )
        assert refund.status_code == 201, refund.text
        await exact(client, db, org)
        # A's time is up at 10:00: the worker completes it, with the members' cashback.
        clock.move_to(utc(13, 11))
        await Worker(db=db, settings=settings).sweep()
        assert (await fetch(client, key, code_a))["status"] == "COMPLETED"
        await exact(client, db, org)
        clock.move_to(utc(13, 12))
        refund = await client.post(
            f"/orders/{a2['id']}/refunds", json={"amount": 500}, headers=bearer(key)
        )
        assert refund.status_code == 201, refund.text
        await exact(client, db, org)

        # D expires early, then its metadata changes: it stays expired on the 14th.
        clock.move_to(utc(14, 9))
        d = (await place_order(client, key, amount=6_000))["paymentGroup"]
        clock.move_to(utc(14, 10))
        expired = await client.post(f"/groups/{d['id']}/expire", headers=bearer(key))
        assert expired.status_code == 200, expired.text
        await exact(client, db, org)
        clock.move_to(utc(16, 10))
        patched_d = await client.patch(
            f"/groups/{d['id']}", json={"metadata": {"note": "late"}}, headers=bearer(key)
        )
        assert patched_d.status_code == 200, patched_d.text
        on_14 = await analytics(client, key, **{"from": "2031-03-14", "to": "2031-03-14"})
        assert on_14["groupsExpired"]["value"] == 1
        await exact(client, db, org)

        # F, created on the 16th, loses its creator's order and expires with its joiner alone
        # (joined on the 17th); the joiner's order opens a new group: F no longer has a join.
        f1 = await place_order(client, key, amount=3_000)
        clock.move_to(utc(17, 9))
        f2 = await join(client, key, f1["paymentGroup"]["shareId"], amount=4_000)
        clock.move_to(utc(17, 9, 30))
        canceled = await client.post(f"/orders/{f1['id']}/cancel", headers=bearer(key))
        assert canceled.status_code == 200, canceled.text
        expired = await client.post(
            f"/groups/{f1['paymentGroup']['id']}/expire", headers=bearer(key)
        )
        assert expired.status_code == 200, expired.text
        clock.move_to(utc(17, 12))
        on_16 = {"from": "2031-03-16", "to": "2031-03-16"}
        assert (await analytics(client, key, **on_16))["funnel"]["joined"]["value"] == 1
        await exact(client, db, org)
        clock.move_to(utc(18, 9))
        regrouped = await client.post(
            "/groups",
            json={"customerId": f2["customerId"], "orderId": f2["id"]},
            headers=bearer(key),
        )
        assert regrouped.status_code == 201, regrouped.text
        assert (await analytics(client, key, **on_16))["funnel"]["joined"]["value"] == 0
        await exact(client, db, org)

        clock.move_to(utc(18, 11))
        await paid_by_test_batch(client, db, settings, org, [a1, a2])
        await exact(client, db, org)

        # An organization that moves to another time zone: its days are other days.
        moved = await client.patch(
            f"/organizations/{org.id}",
            json={"timezone": "America/New_York"},
            headers=bearer(org.sk_live),
        )
        assert moved.status_code == 200, moved.text
        await exact(client, db, org)
        assert {row["timezone"] for row in await _cached_rows(db, org)} == {"America/New_York"}


async def test_days_nothing_touched_are_not_computed_again(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    key = org.sk_test
    await patched(client, org, {"minutesDuration": 20 * 1440})
    with frozen_at(utc(10, 10)) as clock:
        opener = await place_order(client, key, amount=10_000)
        await analytics(client, key, period="30d")
        first = await computed_at(db, org)
        assert len(first) == 60 and set(first.values()) == {utc(10, 10)}

        clock.move_to(utc(20, 10))
        await join(client, key, opener["paymentGroup"]["shareId"], amount=5_000)
        clock.move_to(utc(20, 12))
        await analytics(client, key, period="30d")
        second = await computed_at(db, org)

    # The 10th again (the group created that day has a join); the ten days the window moved
    # on computed once; every other day kept from the first read.
    again = {day for day, moment in second.items() if day in first and moment != first[day]}
    assert again == {date(2031, 3, 10)}
    new = {day for day in second if day not in first}
    assert new == {date(2031, 3, 11) + timedelta(days=k) for k in range(10)}
    assert all(second[day] == utc(20, 12) for day in new | again)
    assert len(second) == 70


async def test_a_change_committed_late_within_the_margin_is_seen(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    """A write transaction stamps its rows when it writes them, and may commit after the cache
    was computed: a row stamped up to MARGIN before the day's `computed_at` still counts."""
    key = org.sk_test
    await patched(client, org, {"minutesDuration": 1440})
    with frozen_at(utc(10, 10)) as clock:
        opener = await place_order(client, key, amount=10_000)
        clock.move_to(utc(10, 11))
        joiner = await join(client, key, opener["paymentGroup"]["shareId"], amount=5_000)
        clock.move_to(utc(10, 12))
        before = await analytics(client, key, period="7d")
        assert before["referredRevenue"]["value"] == 5_000
        # The refund a slow transaction wrote at 11:52 and committed only now, at 12:00.
        stamped = utc(10, 12) - MARGIN + timedelta(minutes=2)
        async with db.write() as session:
            await session.execute(
                update(Order)
                .where(Order.id == joiner["id"])
                .values(amount_refunded=2_000, updated_at=stamped)
            )
        after = await analytics(client, key, period="7d")
    assert after["referredRevenue"]["value"] == 3_000


async def test_concurrent_first_reads_all_answer_the_same(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    key = org.sk_test
    await patched(client, org, {"minutesDuration": 1440})
    with frozen_at(utc(10, 10)) as clock:
        opener = await place_order(client, key, amount=10_000)
        clock.move_to(utc(10, 11))
        await join(client, key, opener["paymentGroup"]["shareId"], amount=5_000)
        clock.move_to(utc(10, 12))
        answers = await asyncio.gather(*(analytics(client, key, period="90d") for _ in range(4)))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["referredRevenue"]["value"] == 5_000
    assert len(await computed_at(db, org)) == 180


async def test_a_day_tree_over_runs_with_gaps_places_each_moment_on_its_day(db: Database) -> None:
    bounds = [utc(10 + k, 0) for k in range(7)]  # the days 10 … 15 March, UTC
    buckets = Buckets(bounds, [(0, 1), (3, 5)])
    moments = {utc(10, 0): 0, utc(10, 23, 59): 0, utc(13, 0): 3, utc(14, 12): 4, utc(14, 23): 4}
    async with db.read() as session:
        for moment, index in moments.items():
            value = literal(moment, UTCDateTime())
            row = (await session.execute(select(buckets.day(value), buckets.contains(value)))).one()
            assert (row[0], bool(row[1])) == (index, True), moment
        for outside in (utc(11, 5), utc(12, 23), utc(15, 0), utc(9, 23)):
            value = literal(outside, UTCDateTime())
            assert not (await session.execute(select(buckets.contains(value)))).scalar_one()

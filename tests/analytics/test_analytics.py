"""GET /analytics over a scenario built through the API, with exact figures."""

from typing import Any

import httpx

from kohort.config import Settings
from kohort.db import Database
from kohort.worker import Worker
from tests.analytics.api import analytics, figure, utc
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import fetch, frozen_at, join, place_order
from tests.payout.api import paid_by_test_batch

ZERO = {"referredRevenue": 0, "groupsOpened": 0, "joins": 0, "groupsCompleted": 0}


def day(date: str, **figures: int) -> dict[str, Any]:
    return {"date": date, **ZERO, "cashbackEarned": 0, **figures}


async def seeded(client: httpx.AsyncClient, db: Database, settings: Settings, org: Org) -> dict:
    """Test mode, 3 seats, 10 % from 2 members, 10 % fee + 20 % VAT on joiners.

    Previous week (7-13 March): A opened by a1 (10 000), joined by a2 (5 000) and a3 (3 000),
    full so COMPLETED on 10 March. This week (14-20 March, Europe/Paris): D opened 14th and
    expired early on the 16th; B opened 15th by b1 (20 000), joined by b2 (8 000) on the 15th
    and by b3 (4 000) at 23:30 UTC on the 16th, i.e. on the 17th in Paris, which completes it;
    b2 refunded 2 000 on the 17th; C opened 18th by c1 (7 000), joined by c2 (9 000, canceled)
    and by a1 again (1 500) on the 19th; E opened 18th with a one-day duration, expired by the
    worker on the 19th; a1's and a2's cashback paid on the 19th."""
    key = org.sk_test
    await patched(
        client,
        org,
        {"maxParticipants": 3, "discountLevels": levels((2, 10)), "minutesDuration": 4320},
    )
    with frozen_at(utc(10, 10)) as clock:
        a1 = await place_order(client, key, amount=10_000)
        code_a = a1["paymentGroup"]["shareId"]
        clock.move_to(utc(10, 11))
        a2 = await join(client, key, code_a, amount=5_000)
        clock.move_to(utc(10, 12))
        await join(client, key, code_a, amount=3_000)

        clock.move_to(utc(14, 10))
        d = (await place_order(client, key, amount=6_000))["paymentGroup"]
        clock.move_to(utc(15, 9))
        b1 = await place_order(client, key, amount=20_000)
        code_b = b1["paymentGroup"]["shareId"]
        clock.move_to(utc(15, 10))
        b2 = await join(client, key, code_b, amount=8_000)
        clock.move_to(utc(16, 12))
        expired = await client.post(f"/groups/{d['id']}/expire", headers=bearer(key))
        assert expired.status_code == 200, expired.text
        clock.move_to(utc(16, 23, 30))
        await join(client, key, code_b, amount=4_000)
        assert (await fetch(client, key, code_b))["status"] == "COMPLETED"
        clock.move_to(utc(17, 8))
        refund = await client.post(
            f"/orders/{b2['id']}/refunds", json={"amount": 2_000}, headers=bearer(key)
        )
        assert refund.status_code == 201, refund.text

        clock.move_to(utc(18, 9))
        c1 = await place_order(client, key, amount=7_000)
        code_c = c1["paymentGroup"]["shareId"]
        await patched(client, org, {"minutesDuration": 1440})
        clock.move_to(utc(18, 10))
        e = (await place_order(client, key, amount=2_500))["paymentGroup"]
        clock.move_to(utc(19, 9))
        c2 = await join(client, key, code_c, amount=9_000)
        clock.move_to(utc(19, 10))
        canceled = await client.post(f"/orders/{c2['id']}/cancel", headers=bearer(key))
        assert canceled.status_code == 200, canceled.text
        clock.move_to(utc(19, 11))
        await join(client, key, code_c, amount=1_500, customerEmail=a1["customerEmail"])
        await Worker(db=db, settings=settings).sweep()
        assert (await fetch(client, key, e["id"]))["status"] == "EXPIRED"
        clock.move_to(utc(19, 15))
        await paid_by_test_batch(client, db, settings, org, [a1, a2])
    return {"B": b1["paymentGroup"], "C": c1["paymentGroup"], "D": d, "E": e}


async def test_every_figure_of_a_week_against_the_week_before(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    groups = await seeded(client, db, settings, org)

    with frozen_at(utc(20, 12)):
        body = await analytics(client, org.sk_test, period="7d")

    assert body["object"] == "analytics" and body["livemode"] is False
    assert body["currency"] == "EUR" and body["timezone"] == "Europe/Paris"
    assert body["period"] == {"from": "2031-03-14", "to": "2031-03-20", "days": 7}
    assert body["previousPeriod"] == {"from": "2031-03-07", "to": "2031-03-13", "days": 7}
    assert body["referredRevenue"] == figure(11_500, 8_000, 0.4375)
    assert body["newReferredCustomers"] == figure(2, 2, 0.0)
    assert body["groupsOpened"] == figure(4, 1, 3.0)
    assert body["groupsCompleted"] == figure(1, 1, 0.0)
    assert body["groupsExpired"] == figure(2, 0, None)
    assert body["averageGroupSize"] == figure(3.0, 3.0, 0.0)
    assert body["funnel"] == {
        "opened": figure(4, 1, 3.0),
        "joined": figure(2, 1, 1.0),
        "completed": figure(1, 1, 0.0),
    }
    assert body["kFactor"] == figure(0.75, 2.0, -0.625)
    assert body["cashbackEarned"] == figure(3_000, 1_800, 0.6667)
    assert body["cashbackPaid"] == figure(1_500, 0, None)
    assert body["cashbackPending"] == figure(3_300, None, None)
    assert body["fees"] == figure(1_380, 960, 0.4375)
    assert body["roi"] == figure(2.6256, 2.8986, -0.0942)
    assert body["daily"] == [
        day("2031-03-14", groupsOpened=1),
        day("2031-03-15", referredRevenue=6_000, groupsOpened=1, joins=1),
        day("2031-03-16"),
        day("2031-03-17", referredRevenue=4_000, joins=1, groupsCompleted=1, cashbackEarned=3_000),
        day("2031-03-18", groupsOpened=2),
        day("2031-03-19", referredRevenue=1_500, joins=1),
        day("2031-03-20"),
    ]
    lonely = sorted([groups["D"], groups["E"]], key=lambda g: g["id"])
    assert body["topGroups"] == [
        {
            "id": groups["B"]["id"],
            "shareId": groups["B"]["shareId"],
            "status": "COMPLETED",
            "members": 3,
            "referredRevenue": 10_000,
        },
        {
            "id": groups["C"]["id"],
            "shareId": groups["C"]["shareId"],
            "status": "OPEN",
            "members": 2,
            "referredRevenue": 1_500,
        },
        *[
            {
                "id": g["id"],
                "shareId": g["shareId"],
                "status": "EXPIRED",
                "members": 1,
                "referredRevenue": 0,
            }
            for g in lonely
        ],
    ]

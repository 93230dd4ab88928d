"""Periods of GET /analytics: local days of the organization's time zone, custom ranges,
every refusal in the API's envelope, and the key's mode only."""

from datetime import date, timedelta

import httpx
import pytest

from tests.analytics.api import analytics, utc
from tests.factories import Org, bearer
from tests.group_settings.api import patched
from tests.order.api import frozen_at, join, place_order


async def test_the_default_period_is_the_30_local_days_ending_today(
    client: httpx.AsyncClient, org: Org
) -> None:
    with frozen_at(utc(20, 23, 30)):
        body = await analytics(client, org.sk_test)

    assert body["period"] == {"from": "2031-02-20", "to": "2031-03-21", "days": 30}
    assert body["previousPeriod"] == {"from": "2031-01-21", "to": "2031-02-19", "days": 30}
    assert [row["date"] for row in body["daily"]][:2] == ["2031-02-20", "2031-02-21"]
    assert len(body["daily"]) == 30 and body["daily"][-1]["date"] == "2031-03-21"
    assert body["topGroups"] == [] and body["roi"]["value"] is None
    assert body["kFactor"] == {"value": None, "previous": None, "change": None}


@pytest.mark.parametrize(("period", "days"), [("7d", 7), ("30d", 30), ("90d", 90)])
async def test_each_named_period_ends_today(
    client: httpx.AsyncClient, org: Org, period: str, days: int
) -> None:
    with frozen_at(utc(20, 12)):
        body = await analytics(client, org.sk_test, period=period)

    first = date(2031, 3, 20) - timedelta(days=days - 1)
    assert body["period"] == {"from": first.isoformat(), "to": "2031-03-20", "days": days}
    assert len(body["daily"]) == days


async def test_an_order_at_23_30_utc_counts_on_the_next_day_in_paris(
    client: httpx.AsyncClient, org: Org
) -> None:
    await patched(client, org, {"minutesDuration": 129_600})
    with frozen_at(utc(13, 23, 30)):
        creator = await place_order(client, org.sk_test, amount=4_000)
    with frozen_at(utc(30, 22, 30)):
        await join(client, org.sk_test, creator["paymentGroup"]["shareId"], amount=2_000)

    with frozen_at(utc(1, 12, month=4)):
        on_13 = await analytics(client, org.sk_test, **{"from": "2031-03-13", "to": "2031-03-13"})
        on_14 = await analytics(client, org.sk_test, **{"from": "2031-03-14", "to": "2031-03-14"})
        dst = await analytics(client, org.sk_test, **{"from": "2031-03-30", "to": "2031-03-31"})

    assert on_13["groupsOpened"]["value"] == 0
    assert on_14["groupsOpened"] == {"value": 1, "previous": 0, "change": None}
    assert on_14["daily"] == [
        {
            "date": "2031-03-14",
            "referredRevenue": 0,
            "groupsOpened": 1,
            "joins": 0,
            "groupsCompleted": 0,
            "cashbackEarned": 0,
        }
    ]
    # 30 March 2031 is 23 hours long in Paris: 22:30 UTC is already 00:30 on the 31st.
    assert [(row["date"], row["joins"]) for row in dst["daily"]] == [
        ("2031-03-30", 0),
        ("2031-03-31", 1),
    ]
    assert dst["referredRevenue"] == {"value": 2_000, "previous": 0, "change": None}
    assert dst["previousPeriod"] == {"from": "2031-03-28", "to": "2031-03-29", "days": 2}


async def test_a_custom_period_of_366_days_is_accepted(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at(utc(20, 12)):
        body = await analytics(client, org.sk_test, **{"from": "2030-03-21", "to": "2031-03-21"})

    assert body["period"]["days"] == 366 and len(body["daily"]) == 366
    assert body["previousPeriod"] == {"from": "2029-03-20", "to": "2030-03-20", "days": 366}


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"period": "1d"}, "period"),
        ({"period": ""}, "period"),
        ({"period": "7d", "from": "2031-03-01", "to": "2031-03-02"}, "period"),
        ({"from": "2031-03-01"}, "to"),
        ({"to": "2031-03-01"}, "from"),
        ({"from": "2031-3-1", "to": "2031-03-02"}, "from"),
        ({"from": "20310301", "to": "2031-03-02"}, "from"),
        ({"from": "2031-02-30", "to": "2031-03-02"}, "from"),
        ({"from": "2031-03-01", "to": "tomorrow"}, "to"),
        ({"from": "2031-03-01T00:00:00Z", "to": "2031-03-02"}, "from"),
        ({"from": "2031-03-02", "to": "2031-03-01"}, "from"),
        ({"from": "2030-03-20", "to": "2031-03-21"}, "to"),
    ],
)
async def test_a_bad_period_is_a_validation_error(
    client: httpx.AsyncClient, org: Org, params: dict[str, str], param: str
) -> None:
    response = await client.get("/analytics", params=params, headers=bearer(org.sk_test))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["requestId"] == response.headers["Request-Id"]


async def test_analytics_need_a_secret_key(client: httpx.AsyncClient, org: Org) -> None:
    publishable = await client.get("/analytics", headers=bearer(org.pk_test))
    anonymous = await client.get("/analytics")

    assert publishable.status_code == 403
    assert publishable.json()["error"]["code"] == "PUBLISHABLE_KEY_NOT_ALLOWED"
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "API_KEY_MISSING"


async def test_a_key_sees_its_own_mode_and_organization_only(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    with frozen_at(utc(15, 10)):
        live = await place_order(client, org.sk_live, amount=3_000)
        await join(client, org.sk_live, live["paymentGroup"]["shareId"], amount=7_000)
        await place_order(client, org.sk_test, amount=1_000)
        await place_order(client, other_org.sk_test, amount=1_000)
    with frozen_at(utc(20, 12)):
        test = await analytics(client, org.sk_test, period="7d")
        live_body = await analytics(client, org.sk_live, period="7d")

    assert test["livemode"] is False and live_body["livemode"] is True
    assert test["groupsOpened"]["value"] == 1 and test["referredRevenue"]["value"] == 0
    assert live_body["groupsOpened"]["value"] == 1
    assert live_body["referredRevenue"]["value"] == 7_000
    assert live_body["kFactor"]["value"] == 1.0
    assert [g["id"] for g in live_body["topGroups"]] == [live["paymentGroup"]["id"]]

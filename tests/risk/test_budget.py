"""The monthly cashback budget (docs/api.md, "Budget"): counted as cashback becomes
available, exactly under concurrent completions, its thresholds sent once, and once used up
new orders open no group while the open groups keep their promise."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kohort import clock
from kohort.db import Database
from kohort.group import jobs
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import all_events, buyer, frozen_at, get_json, place_order
from tests.risk.api import review, set_budget, set_policy
from tests.shapes import assert_error

MID_MONTH = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)


def budget_url(org: Org) -> str:
    return f"/organizations/{org.id}/cashback-budget"


async def thresholds(client: httpx.AsyncClient, key: str) -> list[int]:
    events = await all_events(client, key)
    return [e["data"]["threshold"] for e in events if e["type"] == "budget.threshold_reached"]


async def open_pairs(client: httpx.AsyncClient, org: Org, count: int) -> list[str]:
    """`count` OPEN groups of one creator (10 000 cents) that complete at their second member."""
    await patched(
        client, org, {"maxParticipants": 2, "discountLevels": levels((2, 10))}, org.sk_test
    )
    return [
        (await place_order(client, org.sk_test, amount=10_000))["paymentGroup"]["shareId"]
        for _ in range(count)
    ]


async def test_no_budget_by_default_and_bad_amounts_are_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    with frozen_at(MID_MONTH):
        body = await get_json(client, org.sk_test, budget_url(org))
    assert body == {
        "livemode": False,
        "monthlyAmount": None,
        "currency": "EUR",
        "month": "2031-03",
        "used": 0,
        "remaining": None,
        "exhausted": False,
        "thresholdsReached": [],
    }
    for amount in (-1, 1.5, "100", 2**53):
        response = await client.patch(
            budget_url(org), json={"monthlyAmount": amount}, headers=bearer(org.sk_test)
        )
        assert_error(response, 400, "VALIDATION_ERROR", param="monthlyAmount")
    assert (await get_json(client, org.sk_test, budget_url(org)))["monthlyAmount"] is None


async def test_concurrent_completions_add_up_and_each_threshold_is_sent_once(
    client: httpx.AsyncClient, org: Org
) -> None:
    with frozen_at(MID_MONTH):
        codes = await open_pairs(client, org, 8)
        await set_budget(client, org, org.sk_test, 10_000)
        joins = await asyncio.gather(
            *(
                client.post(
                    "/orders",
                    json=buyer(amount=10_000, paymentGroupShareId=code),
                    headers=bearer(org.sk_test),
                )
                for code in codes
            )
        )
        assert [r.status_code for r in joins] == [201] * 8
        assert all(r.json()["joinError"] is None for r in joins)
        body = await get_json(client, org.sk_test, budget_url(org))
    # Eight groups were open before the budget ran out: each keeps its promise, so the
    # budget is passed by what they owed (2 000 cents each), never by a new group.
    assert (body["used"], body["remaining"], body["exhausted"]) == (16_000, 0, True)
    assert body["thresholdsReached"] == [80, 100]
    assert sorted(await thresholds(client, org.sk_test)) == [80, 100]


async def test_the_worker_counts_what_it_completes_in_the_shops_month(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    # 23:30 UTC on 31 March is already April in Paris.
    with frozen_at(datetime(2031, 3, 31, 21, 0, tzinfo=UTC)) as traveller:
        await patched(
            client, org, {"maxParticipants": 5, "discountLevels": levels((2, 10))}, org.sk_test
        )
        await set_budget(client, org, org.sk_test, 1_000_000)
        for _ in range(3):
            code = (await place_order(client, org.sk_test, amount=5000))["paymentGroup"]["shareId"]
            await place_order(client, org.sk_test, amount=5000, paymentGroupShareId=code)
        traveller.move_to(datetime(2031, 3, 31, 22, 30, tzinfo=UTC))
        while await jobs.end_due_groups(db, now=clock.now(), limit=1000):
            pass
        april = await get_json(client, org.sk_test, budget_url(org))
    assert (april["month"], april["used"]) == ("2031-04", 3000)


async def test_a_released_review_counts_when_it_is_released(
    client: httpx.AsyncClient, org: Org
) -> None:
    with frozen_at(MID_MONTH):
        await set_policy(client, org, org.sk_test, actions={"HIGHEST": "review"})
        [code] = await open_pairs(client, org, 1)
        await set_budget(client, org, org.sk_test, 10_000)
        held = await place_order(client, org.sk_test, amount=10_000, paymentGroupShareId=code)
        assert held["reviewStatus"] == "PENDING"  # the same name as the creator
        assert (await get_json(client, org.sk_test, budget_url(org)))["used"] == 1000
        assert (await review(client, org.sk_test, held["id"], "approve")).status_code == 200
        assert (await get_json(client, org.sk_test, budget_url(org)))["used"] == 2000


@pytest.mark.parametrize("limit", [0, 1000])
async def test_once_used_up_new_orders_open_no_group_but_open_groups_still_fill(
    client: httpx.AsyncClient, org: Org, limit: int
) -> None:
    with frozen_at(MID_MONTH) as traveller:
        codes = await open_pairs(client, org, 2)
        await set_budget(client, org, org.sk_test, limit)
        await place_order(client, org.sk_test, amount=10_000, paymentGroupShareId=codes[0])
        assert (await get_json(client, org.sk_test, budget_url(org)))["exhausted"] is True

        alone = await _post(client, org, buyer())
        assert alone["paymentGroupId"] is None and alone["paymentGroupShareId"] is None
        assert alone["joinError"]["code"] == "BUDGET_EXHAUSTED"
        assert alone["status"] == "CREATED" and alone["reviewStatus"] is None
        stale = await _post(client, org, buyer(paymentGroupShareId=codes[0]))
        assert stale["joinError"]["code"] == "BUDGET_EXHAUSTED"
        assert "COMPLETED_EXPIRED_CANCELED" in stale["joinError"]["message"]
        friend = await _post(client, org, buyer(paymentGroupShareId=codes[1]))
        assert friend["joinError"] is None and friend["paymentGroupShareId"] == codes[1]

        await set_budget(client, org, org.sk_test, 1_000_000)
        raised = await _post(client, org, buyer())
        assert raised["joinError"] is None and raised["paymentGroupShareId"] is not None

        await set_budget(client, org, org.sk_test, limit)
        traveller.move_to(datetime(2031, 4, 1, 12, 0, tzinfo=UTC))
        next_month = await _post(client, org, buyer())
        # A budget of 0 opens nothing, any month; 1000 starts again from 0 in April.
        assert (next_month["paymentGroupId"] is None) is (limit == 0)


async def _post(client: httpx.AsyncClient, org: Org, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/orders", json=body, headers=bearer(org.sk_test))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result

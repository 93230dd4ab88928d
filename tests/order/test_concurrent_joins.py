"""200 buyers race for the 14 free seats of one group, over real HTTP (DOMAIN.md §5, §6).

The service runs as `kohort serve` in a subprocess: two worker processes on PostgreSQL (when
KOHORT_TEST_DATABASE_URL is set), one process on SQLite. Every order must be registered (201,
never a 5xx); exactly 15 of them end up in the group, which completes exactly once; every
other order opens a group of its own and says in `joinError` why it could not join."""

import asyncio
import time
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from tests.factories import bearer
from tests.serve import Server

BUYERS = 200
MAX_PARTICIPANTS = 15
LEVELS = [(2, 5), (5, 10), (10, 15)]
TOP_PERCENT = 15
CREATOR_AMOUNT = 10_000
REFUSALS = {"COMPLETED_EXPIRED_CANCELED", "MAX_PARTICIPANTS_REACHED"}
REQUEST_TIMEOUT_S = 60
PAID_OR_AVAILABLE = {"CASHBACK_AVAILABLE", "CASHBACK_PROCESSING", "CASHBACK_SENT"}


def _cashback(amount: int) -> int:
    exact = Decimal(amount) * TOP_PERCENT / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _buyer(code: str, index: int) -> dict[str, Any]:
    return {
        "amount": 2_000 + 37 * index,
        "customerEmail": f"buyer-{index:03d}@example.com",
        "customerFirstName": "Buyer",
        "customerLastName": f"N{index:03d}",
        "paymentGroupShareId": code,
        "clientReferenceId": f"conc-{index:03d}",
    }


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


async def _events(client: httpx.AsyncClient, event_type: str) -> dict[str, Any]:
    page: dict[str, Any] = _ok(
        await client.get("/events", params={"search": f"type:{event_type}", "take": 100})
    )
    return page


@pytest.mark.slow
@pytest.mark.concurrency
async def test_two_hundred_concurrent_joins_fill_the_group_exactly_once(server: Server) -> None:
    limits = httpx.Limits(max_connections=BUYERS, max_keepalive_connections=BUYERS)
    async with httpx.AsyncClient(
        base_url=server.base_url,
        headers=bearer(server.key),
        limits=limits,
        timeout=REQUEST_TIMEOUT_S,
    ) as client:
        _ok(
            await client.patch(
                f"/organizations/{server.organization_id}/payment-group-settings",
                json={
                    "discountType": "PERCENTAGE",
                    "discountLevels": [{"participantsToUnlock": n, "value": v} for n, v in LEVELS],
                    "maxParticipants": MAX_PARTICIPANTS,
                    "minutesDuration": 24 * 60,
                    "minPurchaseValue": 0,
                },
            )
        )
        creator = _ok(
            await client.post(
                "/orders",
                params={"expand[]": "paymentGroup"},
                json={
                    "amount": CREATOR_AMOUNT,
                    "customerEmail": "creator@example.com",
                    "customerFirstName": "Creator",
                    "customerLastName": "One",
                },
            ),
            201,
        )
        group_id = creator["paymentGroupId"]
        code = creator["paymentGroup"]["shareId"]
        assert code.startswith("KHT-test-")

        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.post("/orders", json=_buyer(code, i)) for i in range(BUYERS)),
            return_exceptions=True,
        )
        burst = time.monotonic() - started

        failures = [
            r if isinstance(r, BaseException) else f"{r.status_code} {r.text}"
            for r in responses
            if isinstance(r, BaseException) or r.status_code != 201
        ]
        statuses = Counter(
            type(r).__name__ if isinstance(r, BaseException) else r.status_code for r in responses
        )
        assert not failures, (
            f"{server.engine}: answers {dict(statuses)}; first: {failures[:3]}\n"
            f"server log (tail):\n{server.log.read_text()[-4000:]}"
        )
        orders = [r.json() for r in responses if isinstance(r, httpx.Response)]

        joined = [o for o in orders if o["paymentGroupId"] == group_id]
        refused = [o for o in orders if o["paymentGroupId"] != group_id]
        split = Counter(o["joinError"]["code"] for o in refused if o["joinError"])
        print(
            f"\n[{server.engine}] {BUYERS} concurrent joins in {burst:.2f} s: "
            f"{len(joined)} joined, {len(refused)} refused {dict(split)}"
        )

        assert len(joined) == MAX_PARTICIPANTS - 1
        assert all(o["joinError"] is None for o in joined)
        assert len(refused) == BUYERS - (MAX_PARTICIPANTS - 1)
        for order in refused:
            assert order["joinError"] is not None, order
            assert order["joinError"]["code"] in REFUSALS, order["joinError"]
            assert order["paymentGroupShareId"] != code
        assert sum(split.values()) == len(refused)
        assert len({o["paymentGroupId"] for o in refused}) == len(refused), "one group each"

        group = _ok(await client.get(f"/groups/{code}"))
        assert group["id"] == group_id
        assert group["participantsCount"] == MAX_PARTICIPANTS
        assert group["status"] == "COMPLETED"
        assert group["completedAt"] is not None

        participants = _ok(await client.get(f"/groups/{code}/participants"))
        assert participants["count"] == MAX_PARTICIPANTS
        members = participants["data"]
        assert len(members) == MAX_PARTICIPANTS
        assert members[0]["id"] == creator["id"]
        assert {m["id"] for m in members} == {creator["id"]} | {o["id"] for o in joined}
        for member in members:
            # the worker inside `kohort serve` pays test-mode cashback at once
            assert member["status"] in PAID_OR_AVAILABLE, member
            assert member["amountCashback"] == _cashback(member["amount"]), member

        lonely = _ok(
            await client.get("/groups", params={"search": "participantsCount:1", "take": 1})
        )
        assert lonely["count"] == len(refused)
        all_groups = _ok(await client.get("/groups", params={"take": 1}))
        assert all_groups["count"] == len(refused) + 1

        succeeded = await _events(client, "payment_group.succeeded")
        assert succeeded["count"] == 1
        assert succeeded["data"][0]["data"]["id"] == group_id
        assert succeeded["data"][0]["data"]["participantsCount"] == MAX_PARTICIPANTS

        cashback = await _events(client, "order.cashback_available")
        assert cashback["count"] == MAX_PARTICIPANTS
        assert {e["data"]["id"] for e in cashback["data"]} == {m["id"] for m in members}
        assert all(e["data"]["paymentGroupId"] == group_id for e in cashback["data"])

        joined_events = await _events(client, "payment_group.joined")
        assert joined_events["count"] == MAX_PARTICIPANTS - 1
        unlocked = await _events(client, "payment_group.level_unlocked")
        assert sorted(e["data"]["participantsCount"] for e in unlocked["data"]) == [
            n for n, _ in LEVELS
        ]
        created = await _events(client, "payment_group.created")
        assert created["count"] == len(refused) + 1

    assert "Traceback" not in server.log.read_text(), server.log.read_text()[-4000:]

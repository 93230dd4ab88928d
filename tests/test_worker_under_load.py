"""The API under write load while the worker (inside `kohort serve`) ends groups: no 5xx, no
lock error, every due group ended once. On SQLite the worker shares the API's write lock."""

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.serve import Server

GROUPS = 60
ORDERS = 200


def _buyer(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "amount": 5_000 + index,
        "customerEmail": f"load-{index:04d}@example.com",
        "customerFirstName": "Load",
        "customerLastName": f"N{index}",
        **extra,
    }


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


@pytest.mark.slow
@pytest.mark.concurrency
async def test_writes_go_on_while_the_worker_ends_groups(server: Server) -> None:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {server.key}"},
        limits=limits,
        timeout=60,
    ) as client:
        groups = []
        for index in range(GROUPS):
            order = await _ok(
                await client.post("/orders?expand[]=paymentGroup", json=_buyer(index)), 201
            )
            groups.append(order["paymentGroup"])
        for index, group in enumerate(groups[: GROUPS // 2]):
            joiner = _buyer(10_000 + index, paymentGroupShareId=group["shareId"])
            assert (await _ok(await client.post("/orders", json=joiner), 201))["joinError"] is None
        for group in groups:
            await _ok(
                await client.post(
                    f"/test-helpers/groups/{group['id']}/advance", json={"seconds": 600}
                )
            )

        load = [client.post("/orders", json=_buyer(20_000 + i)) for i in range(ORDERS)]
        load += [client.get(f"/groups/{g['id']}") for g in groups]
        responses = await asyncio.gather(*load)
        assert [r.status_code for r in responses if r.status_code >= 300] == []

        deadline = time.monotonic() + 20
        while True:
            states = [(await _ok(await client.get(f"/groups/{g['id']}")))["status"] for g in groups]
            if "OPEN" not in states or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert states == ["COMPLETED"] * (GROUPS // 2) + ["EXPIRED"] * (GROUPS // 2)
        ended = await _ok(
            await client.get("/events", params={"search": "type:payment_group.expired"})
        )
        succeeded = await _ok(
            await client.get("/events", params={"search": "type:payment_group.succeeded"})
        )
        assert ended["count"] == GROUPS // 2
        assert succeeded["count"] == GROUPS // 2
    log = server.log.read_text()
    assert "database is locked" not in log
    assert "Traceback" not in log

"""Calls shared by the trust tests: shops with the default risk policy, and its routes."""

from typing import Any

import httpx

from kohort.db import Database
from tests.factories import Org, bearer, make_organization


async def default_shop(db: Database) -> Org:
    """A shop with the defaults of a new organization (HIGH and HIGHEST reviewed)."""
    return await make_organization(db, name="Careful Shop", risk_policy=None)


async def set_policy(client: httpx.AsyncClient, org: Org, key: str, **body: Any) -> dict[str, Any]:
    response = await client.patch(
        f"/organizations/{org.id}/risk-policy", json=body, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def set_budget(client: httpx.AsyncClient, org: Org, key: str, amount: int | None) -> Any:
    response = await client.patch(
        f"/organizations/{org.id}/cashback-budget",
        json={"monthlyAmount": amount},
        headers=bearer(key),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def review(
    client: httpx.AsyncClient, key: str, order_id: str, decision: str
) -> httpx.Response:
    return await client.post(
        f"/orders/{order_id}/review", json={"decision": decision}, headers=bearer(key)
    )


def codes(order: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in order["riskReasons"]]

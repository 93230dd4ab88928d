"""Calls and stored rows shared by the order, group and event tests."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import time_machine
from sqlalchemy import func, select

from kohort.db import Database
from kohort.models import Customer, Event, Order, PaymentGroup
from tests import shapes
from tests.factories import bearer

ORDER_FIELDS = shapes.ORDER_FIELDS

PREFIXES = ("/groups", "/payment-groups")
"""The group routes and their alias."""

START = datetime(2031, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


@contextmanager
def frozen_at(moment: datetime = START) -> Iterator[Any]:
    """The wall clock frozen at `moment`; `.shift(seconds)` moves it."""
    with time_machine.travel(moment, tick=False) as traveller:
        yield traveller


def wire(moment: datetime) -> str:
    """`moment` as the API writes a timestamp (milliseconds, `Z`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def email() -> str:
    return f"buyer-{secrets.token_hex(5)}@example.com"


def buyer(**overrides: Any) -> dict[str, Any]:
    """An order body for a new buyer; `overrides` win."""
    body: dict[str, Any] = {
        "amount": 10000,
        "customerEmail": email(),
        "customerFirstName": "Ada",
        "customerLastName": "Lovelace",
    }
    body.update(overrides)
    return body


async def post_order(
    client: httpx.AsyncClient, key: str, body: Any, **headers: str
) -> httpx.Response:
    return await client.post("/orders", json=body, headers={**bearer(key), **headers})


async def create_order(client: httpx.AsyncClient, key: str, **overrides: Any) -> dict[str, Any]:
    response = await post_order(client, key, buyer(**overrides))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def get_json(client: httpx.AsyncClient, key: str, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


async def group_of(client: httpx.AsyncClient, key: str, order: dict[str, Any]) -> dict[str, Any]:
    """The order's group, read through `GET /orders/{id}?expand[]=paymentGroup`."""
    body = await get_json(client, key, f"/orders/{order['id']}", **{"expand[]": "paymentGroup"})
    group: dict[str, Any] = body["paymentGroup"]
    return group


async def place_order(
    client: httpx.AsyncClient, key: str, *, code: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """`POST /orders` (joining `code` when given), the order with its `paymentGroup` expanded."""
    joining = {} if code is None else {"paymentGroupShareId": code}
    response = await client.post(
        "/orders",
        params={"expand[]": "paymentGroup"},
        json=buyer(**{**joining, **overrides}),
        headers=bearer(key),
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["paymentGroup"] is not None, order
    return order


async def new_group(client: httpx.AsyncClient, key: str, **overrides: Any) -> dict[str, Any]:
    """A new OPEN group with its creator's order alone in it."""
    order = await place_order(client, key, **overrides)
    assert order["joinError"] is None, order
    group: dict[str, Any] = order["paymentGroup"]
    assert group["status"] == "OPEN", group
    assert group["participantsCount"] == 1, group
    return group


async def join(client: httpx.AsyncClient, key: str, code: str, **overrides: Any) -> dict[str, Any]:
    """A new order that joins the group of `code` (fails the test if it does not)."""
    order = await place_order(client, key, code=code, **overrides)
    assert order["joinError"] is None, order
    return order


async def fetch(client: httpx.AsyncClient, key: str, id_or_code: str) -> dict[str, Any]:
    """`GET /groups/{idOrCode}`."""
    group: dict[str, Any] = await get_json(client, key, f"/groups/{id_or_code}")
    return group


async def validate(
    client: httpx.AsyncClient, key: str, code: str, body: Any = None, *, route: str = "codes"
) -> httpx.Response:
    url = f"/{route}/{code}/validate"
    if body is None:
        return await client.post(url, headers=bearer(key))
    return await client.post(url, json=body, headers=bearer(key))


async def events(client: httpx.AsyncClient, key: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await get_json(client, key, "/events", **params)
    return result


async def all_events(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    """Every event of the key's organization and mode, oldest first."""
    page = await events(client, key, take=100)
    assert page["count"] == len(page["data"]), page["count"]
    return list(reversed(page["data"]))


async def group_events(
    client: httpx.AsyncClient, key: str, event_type: str, group_id: str
) -> list[dict[str, Any]]:
    """The events of type `event_type` whose `data` is the group `group_id` (of the latest 100)."""
    page = await events(client, key, search=f"type:{event_type}", take=100)
    return [event for event in page["data"] if event["data"].get("id") == group_id]


async def row_counts(db: Database, organization_id: str) -> dict[str, int]:
    """How many orders, groups, customers and events the organization holds (both modes)."""
    counts: dict[str, int] = {}
    async with db.read() as session:
        for name, model in (
            ("orders", Order),
            ("groups", PaymentGroup),
            ("customers", Customer),
            ("events", Event),
        ):
            stmt = (
                select(func.count())
                .select_from(model)
                .where(model.organization_id == organization_id)
            )
            counts[name] = (await session.execute(stmt)).scalar_one()
    return counts

"""Orders whose cashback is available (live mode unless told otherwise), their withdrawal
links and the form's submit, made the way the product makes them: orders through the API, the
token through the e-mail's code path, the account through the page."""

import re
from datetime import datetime
from typing import Any

import httpx

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.email.service import withdrawal_token
from kohort.secret_key import secret_key
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import join, place_order

VALID_IBAN = "FR76 3000 6000 0112 3456 7890 189"
OTHER_IBAN = "DE89 3704 0044 0532 0130 00"
DEBTOR_IBAN = "NL91ABNA0417164300"
TEST_IBANS = (
    "DE89 3704 0044 0532 0130 00",
    "FR76 3000 6000 0112 3456 7890 189",
    "NL91 ABNA 0417 1643 00",
    "GB82 WEST 1234 5698 7654 32",
)
"""The well-known test IBANs docs/api.md tells merchants to use in test mode."""
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


async def complete_pair(
    client: httpx.AsyncClient,
    org: Org,
    *,
    key: str | None = None,
    amounts: tuple[int, int] = (12_340, 5_000),
    locale: str = "fr_FR",
) -> list[dict[str, Any]]:
    """Two orders of a group that completes at once (2 seats, 10 % from 2 members): both
    CASHBACK_AVAILABLE. Live mode unless `key` says otherwise."""
    key = key or org.sk_live
    await patched(client, org, {"maxParticipants": 2, "discountLevels": levels((2, 10))}, key=key)
    creator = await place_order(client, key, amount=amounts[0], locale=locale)
    joiner = await join(
        client, key, creator["paymentGroup"]["shareId"], amount=amounts[1], locale=locale
    )
    orders = [await order_of(client, key, o["id"]) for o in (creator, joiner)]
    assert [o["status"] for o in orders] == ["CASHBACK_AVAILABLE"] * 2, orders
    return orders


async def order_of(client: httpx.AsyncClient, key: str, order_id: str) -> dict[str, Any]:
    response = await client.get(f"/orders/{order_id}", headers=bearer(key))
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


async def link(
    db: Database, settings: Settings, order_id: str, *, now: datetime | None = None
) -> str:
    """The path and query of the order's withdrawal link, as its e-mail carries it."""
    async with db.write() as session:
        token, _ = await withdrawal_token(
            session,
            order_id=order_id,
            key=secret_key(settings),
            now=now or clock.now(),
            valid_days=settings.withdrawal_token_days,
        )
    return f"/w/{order_id}?token={token}"


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found is not None, html
    return found.group(1)


async def opened_form(client: httpx.AsyncClient, url: str) -> str:
    """Open the link (the client keeps the CSRF cookie); the form's CSRF field."""
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


async def submit(
    client: httpx.AsyncClient, url: str, csrf: str, *, holder: str, iban: str
) -> httpx.Response:
    return await client.post(url, data={"csrf": csrf, "holder": holder, "iban": iban})


async def payouts_of(client: httpx.AsyncClient, key: str, order_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/payouts", params={"search": f"orderId:{order_id}"}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def events_of(
    client: httpx.AsyncClient, key: str, event_type: str, order_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/events", params={"search": f"type:{event_type}", "take": 100}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    return [e for e in response.json()["data"] if e["data"]["id"] == order_id]


async def withdrawn(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    order_id: str,
    *,
    holder: str = "Ada Lovelace",
    iban: str = VALID_IBAN,
) -> httpx.Response:
    """The shopper opens the order's link and submits the account: the processing page."""
    url = await link(db, settings, order_id)
    response = await submit(client, url, await opened_form(client, url), holder=holder, iban=iban)
    assert response.status_code == 200, response.text
    return response

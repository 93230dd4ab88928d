"""The widget's secret and `GET /widget/order`: public fields only for a valid token, the same
404 for every way of not having one, the ladder in money for the basket."""

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import join, place_order
from tests.shapes import assert_error
from tests.widget.api import read, secret_of, token


@pytest.fixture
async def shopper(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser from its own address (the widget's reads are capped per address)."""
    address = f"10.8.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        yield client


async def ordered(client: httpx.AsyncClient, org: Org, reference: str, **extra: object) -> dict:
    await patched(client, org, {"maxParticipants": 10, "discountLevels": levels((2, 5), (4, 15))})
    return await place_order(
        client, org.sk_test, clientReferenceId=reference, amount=5000, locale="fr_FR", **extra
    )


async def test_each_mode_has_its_secret_and_a_roll_keeps_the_old_one_a_day(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    test, live = await secret_of(client, org), await secret_of(client, org, org.sk_live)
    assert test.startswith("wgs_") and live.startswith("wgs_") and test != live
    assert test != await secret_of(client, other_org)
    reference = f"WC-{secrets.token_hex(3)}"
    await ordered(client, org, reference)
    rolled = await client.post(
        f"/organizations/{org.id}/widget-secret/roll", headers=bearer(org.sk_test)
    )
    assert rolled.status_code == 200, rolled.text
    body = rolled.json()
    assert body["secret"] != test and body["livemode"] is False
    assert body["previousSecretExpiresAt"] is not None
    assert await secret_of(client, org, org.sk_live) == live
    for secret in (test, body["secret"]):
        assert (
            await read(client, org.pk_test, reference, token(secret, reference))
        ).status_code == 200
    log = await client.get("/audit-log", headers=bearer(org.sk_test))
    assert [e["action"] for e in log.json()["data"]][:1] == ["widget_secret.rolled"]
    refused = await client.get(
        f"/organizations/{other_org.id}/widget-secret", headers=bearer(org.sk_test)
    )
    assert_error(refused, 404, "NOT_FOUND", param="id")


async def test_a_signed_reference_reads_the_orders_group_in_its_language(
    client: httpx.AsyncClient, shopper: httpx.AsyncClient, org: Org
) -> None:
    reference = f"WC-{secrets.token_hex(3)}"
    order = await ordered(client, org, reference)
    code = order["paymentGroup"]["shareId"]
    await join(client, org.sk_test, code)
    signed = token(await secret_of(client, org), reference)
    response = await read(shopper, org.pk_test, reference, signed)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "public, max-age=10"
    body = response.json()
    invite = f"http://127.0.0.1:8000/r/{code}?invite=1"
    assert {k: body[k] for k in ("object", "livemode", "locale", "code", "status")} == {
        "object": "widget_order",
        "livemode": False,
        "locale": "fr_FR",
        "code": code,
        "status": "OPEN",
    }
    assert (body["participants"], body["maxParticipants"]) == (2, 10)
    assert body["inviteUrl"] == invite and body["shareUrl"] == f"http://127.0.0.1:8000/r/{code}"
    assert code in body["message"] and invite in body["message"]
    assert set(body["links"]) == {"whatsapp", "sms", "email", "telegram"}
    # 5 % then 15 % of 50,00 €, in French.
    assert body["ladder"] == [
        {
            "members": 2,
            "amount": 250,
            "reached": True,
            "text": "2 membres : vous recevez 2,50\xa0€",
        },
        {
            "members": 4,
            "amount": 750,
            "reached": False,
            "text": "4 membres : vous recevez 7,50\xa0€",
        },
    ]
    assert body["texts"]["copy"] == "Copier"
    assert body["brand"]["shopName"] == "Test Shop"
    for private in (order["customerEmail"], order["id"], order["paymentGroup"]["id"]):
        assert private not in response.text


async def test_every_way_of_not_having_a_valid_token_is_the_same_404(
    client: httpx.AsyncClient, shopper: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    reference = f"WC-{secrets.token_hex(3)}"
    order = await ordered(client, org, reference)
    secret = await secret_of(client, org)
    good = token(secret, reference)
    cases = [
        (org.pk_test, reference, good[:-1] + ("0" if good[-1] != "0" else "1")),
        (org.pk_test, reference, token(secret, reference + "x")),
        (org.pk_test, "WC-nobody", token(secret, "WC-nobody")),
        (org.pk_live, reference, token(await secret_of(client, org, org.sk_live), reference)),
        (other_org.pk_test, reference, token(await secret_of(client, other_org), reference)),
        (org.pk_test, reference, ""),
        (org.pk_test, "", good),
    ]
    answers = []
    for key, ref, signed in cases:
        response = await read(shopper, key, ref, signed)
        error = assert_error(response, 404, "NOT_FOUND", param="order")
        answers.append(error["message"])
    assert set(answers) == {"No such order."}
    canceled = await client.post(f"/orders/{order['id']}/cancel", headers=bearer(org.sk_test))
    assert canceled.status_code == 200, canceled.text
    assert_error(await read(shopper, org.pk_test, reference, good), 404, "NOT_FOUND")
    assert_error(
        await read(shopper, org.sk_test, reference, good), 400, "VALIDATION_ERROR", param="key"
    )
    assert_error(await read(shopper, "pk_test_nope", reference, good), 401, "INVALID_API_KEY")


async def test_an_address_reading_too_often_is_slowed_down(
    client: httpx.AsyncClient, shopper: httpx.AsyncClient, org: Org
) -> None:
    for _ in range(120):
        assert (await read(shopper, org.pk_test, "WC-x", "0" * 64)).status_code == 404
    limited = await read(shopper, org.pk_test, "WC-x", "0" * 64)
    assert_error(limited, 429, "RATE_LIMITED")
    assert limited.headers["access-control-allow-origin"] == "*"

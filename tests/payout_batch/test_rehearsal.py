"""Test mode rehearses every step of live mode's default flow, through the real app and the
worker's own functions, with e-mails received by a real SMTP server: orders → join → the test
clock ends the group → CASHBACK_AVAILABLE e-mail → its link → the form with a test IBAN → a
pending payout → `POST /payout-batches` → the pain.001 file → confirm → paid, CASHBACK_SENT
and its e-mail."""

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import xmlschema
from fastapi import FastAPI

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.payout.jobs import process_due
from kohort.payout_batch import pain001
from kohort.payout_batch.jobs import build_due_batches
from kohort.worker import Worker
from tests.email.conftest import (  # noqa: F401  (fixtures: a database, app and SMTP server)
    PUBLIC_URL,
    SMTPServer,
    mail_app,
    mail_db,
    mail_dir,
    mail_settings,
    smtp,
)
from tests.email.mail import deliver, flat, parts
from tests.factories import Org, bearer, make_organization
from tests.group_settings.api import levels, patched
from tests.order.api import fetch, join, place_order
from tests.test_helpers.test_advance import advanced
from tests.withdrawal.flow import TEST_IBANS, csrf_of, events_of, order_of, payouts_of, submit

LINK = re.compile(re.escape(PUBLIC_URL) + r"(/w/ord_[0-9a-f]+\?token=[A-Za-z0-9_-]+)")
TEST_LINE = "Test mode: no money is moved."


@pytest.fixture
async def shopper(mail_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    """One client for the merchant's API calls and the shopper's browser, at the public URL
    the e-mails link to (https: the page's CSRF cookie is Secure)."""
    transport = httpx.ASGITransport(app=mail_app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


async def _cashback_available(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Org
) -> list[dict[str, Any]]:
    """A test-mode group of three seats that two orders join, ended by the test clock."""
    key = shop.sk_test
    await patched(client, shop, {"maxParticipants": 3, "discountLevels": levels((2, 10))})
    creator = await place_order(client, key, amount=12_340, locale="en_US")
    code = creator["paymentGroup"]["shareId"]
    joiner = await join(client, key, code, amount=4_999, locale="en_US")
    group = await fetch(client, key, code)
    assert group["status"] == "OPEN"
    await advanced(client, key, group["id"], {"to": group["expiresAt"]})
    await Worker(db=db, settings=settings).sweep()
    assert (await fetch(client, key, code))["status"] == "COMPLETED"
    return [await order_of(client, key, o["id"]) for o in (creator, joiner)]


async def test_test_mode_rehearses_every_step_of_a_sepa_payout(
    shopper: httpx.AsyncClient,
    mail_db: Database,  # noqa: F811
    mail_settings: Settings,  # noqa: F811
    smtp: SMTPServer,  # noqa: F811
) -> None:
    client, db, settings = shopper, mail_db, mail_settings
    shop = await make_organization(db, name="Chez Ada")
    key = shop.sk_test
    orders = await _cashback_available(client, db, settings, shop)
    assert [o["status"] for o in orders] == ["CASHBACK_AVAILABLE"] * 2
    await process_due(db, settings, now=clock.now(), limit=100)
    for order in orders:
        assert await payouts_of(client, key, order["id"]) == [], "nothing pays by itself"

    await deliver(db, settings)
    for order, iban in zip(orders, TEST_IBANS[::3], strict=True):
        [mail] = [
            m for m in smtp.inbox.to(order["customerEmail"]) if "is available" in str(m["Subject"])
        ]
        text, html = parts(mail)
        assert TEST_LINE in flat(text) and TEST_LINE in html
        found = LINK.search(text)
        assert found is not None, text
        url = found.group(1)

        opened = await client.get(url)
        assert opened.status_code == 200, opened.text
        assert "Withdraw your cashback" in opened.text and TEST_LINE in opened.text
        processing = await submit(
            client, url, csrf_of(opened.text), holder="Ada Lovelace", iban=iban
        )
        assert processing.status_code == 200, processing.text
        assert "Your cashback is on its way" in processing.text and TEST_LINE in processing.text
        [payout] = await payouts_of(client, key, order["id"])
        assert (payout["livemode"], payout["method"], payout["status"]) == (
            False,
            "sepa_transfer",
            "pending",
        )
        assert payout["batchId"] is None
    await process_due(db, settings, now=clock.now(), limit=100)
    assert await build_due_batches(db, settings, now=clock.now(), limit=100) == 0, (
        "the worker's midnight rule stays: today's payouts wait for tomorrow's run"
    )

    built = await client.post(
        "/payout-batches", json={}, headers=bearer(key) | {"Idempotency-Key": "rehearsal"}
    )
    assert built.status_code == 201, built.text
    batch = built.json()
    assert batch["livemode"] is False and batch["status"] == "ready"
    assert (batch["payoutsCount"], batch["totalAmount"]) == (2, 1_234 + 500)
    file = await client.get(f"/payout-batches/{batch['id']}/file", headers=bearer(key))
    assert file.status_code == 200
    xmlschema.XMLSchema(pain001.SCHEMA_FILE).validate(file.text)
    assert "<Nm>Kohort test mode</Nm>" in file.text and "BE68539007547034" in file.text
    for iban in TEST_IBANS[::3]:
        assert iban.replace(" ", "") in file.text
    for order in orders:
        assert (await order_of(client, key, order["id"]))["status"] == "CASHBACK_PROCESSING"

    confirmed = await client.post(f"/payout-batches/{batch['id']}/confirm", headers=bearer(key))

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    await deliver(db, settings)
    for order in orders:
        assert (await order_of(client, key, order["id"]))["status"] == "CASHBACK_SENT"
        [payout] = await payouts_of(client, key, order["id"])
        assert payout["status"] == "paid" and payout["providerReference"] == batch["messageId"]
        assert len(await events_of(client, key, "order.cashback_sent", order["id"])) == 1
        sent = [
            m for m in smtp.inbox.to(order["customerEmail"]) if "is on its way" in str(m["Subject"])
        ]
        assert len(sent) == 1

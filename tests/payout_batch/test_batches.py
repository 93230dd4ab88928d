"""The day's SEPA batch: built after midnight UTC from the payouts the shoppers approved on
the withdrawal page, a pain.001.001.03 file valid against its schema with each transfer, and
its confirmation paying every order."""

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import xmlschema

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.payout_batch import pain001
from kohort.payout_batch.jobs import NO_DEBTOR, build_due_batches
from tests.factories import Org, bearer, make_organization
from tests.withdrawal.flow import (
    DEBTOR_IBAN,
    OTHER_IBAN,
    VALID_IBAN,
    complete_pair,
    events_of,
    link,
    opened_form,
    order_of,
    payouts_of,
    submit,
)

NS = {"p": pain001.NAMESPACE}
ACCOUNTS = [("Ada Lovelace", VALID_IBAN), ("Zoë Müller", OTHER_IBAN)]


def tomorrow() -> datetime:
    return clock.now() + timedelta(days=1)


async def set_debtor(client: httpx.AsyncClient, shop: Org, bic: str | None = "ABNANL2A") -> None:
    response = await client.patch(
        f"/organizations/{shop.id}",
        json={"payoutDebtorName": "Chez Ada SARL", "payoutDebtorIban": DEBTOR_IBAN}
        | ({"payoutDebtorBic": bic} if bic else {}),
        headers=bearer(shop.sk_live),
    )
    assert response.status_code == 200, response.text


async def withdrawn(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Org
) -> list[dict[str, Any]]:
    """A completed live group of two whose shoppers both gave their account on the page."""
    orders = await complete_pair(client, shop, amounts=(12_340, 4_999))
    for order, (holder, iban) in zip(orders, ACCOUNTS, strict=True):
        url = await link(db, settings, order["id"])
        response = await submit(
            client, url, await opened_form(client, url), holder=holder, iban=iban
        )
        assert response.status_code == 200, response.text
    return orders


async def batches(client: httpx.AsyncClient, key: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/payout-batches", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_the_days_batch_is_a_valid_pain001_file_with_each_transfer(
    sepa_client: httpx.AsyncClient, sepa_db: Database, sepa_settings: Settings, shop: Org
) -> None:
    await set_debtor(sepa_client, shop)
    orders = await withdrawn(sepa_client, sepa_db, sepa_settings, shop)
    assert await build_due_batches(sepa_db, sepa_settings, now=clock.now(), limit=10) == 0

    # early in tomorrow's UTC day, so "an hour later" is still that day whenever this runs
    run_at = tomorrow().replace(hour=0, minute=5, second=0, microsecond=0)
    assert await build_due_batches(sepa_db, sepa_settings, now=run_at, limit=10) == 1

    page = await batches(sepa_client, shop.sk_live)
    assert page["count"] == 1
    [batch] = page["data"]
    assert batch["object"] == "payout_batch" and batch["livemode"] is True
    assert batch["status"] == "ready" and batch["confirmedAt"] is None
    assert batch["currency"] == "EUR"
    assert batch["totalAmount"] == 1_234 + 500
    assert batch["payoutsCount"] == 2
    assert batch["messageId"] == f"KOHORT-{run_at:%Y%m%d}-{batch['id'][3:].upper()}"
    one = await sepa_client.get(f"/payout-batches/{batch['id']}", headers=bearer(shop.sk_live))
    assert one.status_code == 200 and one.json() == batch

    file = await sepa_client.get(
        f"/payout-batches/{batch['id']}/file", headers=bearer(shop.sk_live)
    )
    assert file.status_code == 200
    assert file.headers["content-type"].startswith("application/xml")
    disposition = file.headers["content-disposition"]
    assert disposition == f'attachment; filename="{batch["messageId"]}.xml"'
    xmlschema.XMLSchema(pain001.SCHEMA_FILE).validate(file.text)

    root = ET.fromstring(file.content)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header is not None
    assert header.findtext("p:MsgId", namespaces=NS) == batch["messageId"]
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "2"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "17.34"
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info is not None
    assert info.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Chez Ada SARL"
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == DEBTOR_IBAN
    assert info.findtext("p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == "ABNANL2A"
    assert info.findtext("p:ReqdExctnDt", namespaces=NS) == f"{run_at:%Y-%m-%d}"
    transfers = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): (
            Decimal(tx.findtext("p:Amt/p:InstdAmt", namespaces=NS) or "0"),
            tx.findtext("p:Cdtr/p:Nm", namespaces=NS),
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
            tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS),
        )
        for tx in info.findall("p:CdtTrfTxInf", NS)
    }
    payouts = [(await payouts_of(sepa_client, shop.sk_live, o["id"]))[0] for o in orders]
    assert all("_" not in end_to_end for end_to_end in transfers)  # the EPC's character set
    assert transfers == {
        payouts[0]["id"].replace("_", "-"): (
            Decimal("12.34"),
            "Ada Lovelace",
            "FR7630006000011234567890189",
            f"Cashback Chez Ada - order {orders[0]['id']}",
        ),
        payouts[1]["id"].replace("_", "-"): (
            Decimal("5.00"),
            "Zoe Muller",
            "DE89370400440532013000",
            f"Cashback Chez Ada - order {orders[1]['id']}",
        ),
    }
    for payout in payouts:
        assert payout["status"] == "processing" and payout["batchId"] == batch["id"]


async def test_confirming_the_batch_sends_every_orders_cashback(
    sepa_client: httpx.AsyncClient, sepa_db: Database, sepa_settings: Settings, shop: Org
) -> None:
    await set_debtor(sepa_client, shop, bic=None)
    orders = await withdrawn(sepa_client, sepa_db, sepa_settings, shop)
    assert await build_due_batches(sepa_db, sepa_settings, now=tomorrow(), limit=10) == 1
    [batch] = (await batches(sepa_client, shop.sk_live))["data"]
    url = f"/payout-batches/{batch['id']}/confirm"

    confirmed = await sepa_client.post(url, headers=bearer(shop.sk_live))

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["confirmedAt"] is not None
    for order in orders:
        assert (await order_of(sepa_client, shop.sk_live, order["id"]))["status"] == "CASHBACK_SENT"
        [payout] = await payouts_of(sepa_client, shop.sk_live, order["id"])
        assert payout["status"] == "paid" and payout["providerReference"] == batch["messageId"]
        sent = await events_of(sepa_client, shop.sk_live, "order.cashback_sent", order["id"])
        assert len(sent) == 1
    again = await sepa_client.post(url, headers=bearer(shop.sk_live))
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "PAYOUT_BATCH_ALREADY_CONFIRMED"
    for order in orders:
        sent = await events_of(sepa_client, shop.sk_live, "order.cashback_sent", order["id"])
        assert len(sent) == 1


async def test_one_batch_per_organization_and_day(
    sepa_client: httpx.AsyncClient, sepa_db: Database, sepa_settings: Settings, shop: Org
) -> None:
    await set_debtor(sepa_client, shop)
    await withdrawn(sepa_client, sepa_db, sepa_settings, shop)
    # early in tomorrow's UTC day, so "an hour later" is still that day whenever this runs
    run_at = tomorrow().replace(hour=0, minute=5, second=0, microsecond=0)
    assert await build_due_batches(sepa_db, sepa_settings, now=run_at, limit=10) == 1
    assert await build_due_batches(sepa_db, sepa_settings, now=run_at, limit=10) == 0

    late = await withdrawn(sepa_client, sepa_db, sepa_settings, shop)
    later_that_day = run_at + timedelta(hours=1)
    assert await build_due_batches(sepa_db, sepa_settings, now=later_that_day, limit=10) == 0
    assert (await payouts_of(sepa_client, shop.sk_live, late[0]["id"]))[0]["batchId"] is None
    assert await build_due_batches(sepa_db, sepa_settings, now=run_at + timedelta(1), limit=10) == 1
    assert (await batches(sepa_client, shop.sk_live))["count"] == 2


async def test_without_a_debtor_account_payouts_wait_and_say_why(
    sepa_client: httpx.AsyncClient, sepa_db: Database, sepa_settings: Settings, shop: Org
) -> None:
    orders = await withdrawn(sepa_client, sepa_db, sepa_settings, shop)

    assert await build_due_batches(sepa_db, sepa_settings, now=tomorrow(), limit=10) == 0

    [payout] = await payouts_of(sepa_client, shop.sk_live, orders[0]["id"])
    assert payout["status"] == "pending" and payout["lastError"] == NO_DEBTOR
    await set_debtor(sepa_client, shop)
    assert await build_due_batches(sepa_db, sepa_settings, now=tomorrow(), limit=10) == 1
    [payout] = await payouts_of(sepa_client, shop.sk_live, orders[0]["id"])
    assert payout["status"] == "processing" and payout["lastError"] is None


async def test_batches_are_seen_only_by_their_organization_and_mode(
    sepa_client: httpx.AsyncClient, sepa_db: Database, sepa_settings: Settings, shop: Org
) -> None:
    other = await make_organization(sepa_db, name="Other Shop")
    await set_debtor(sepa_client, shop)
    await withdrawn(sepa_client, sepa_db, sepa_settings, shop)
    assert await build_due_batches(sepa_db, sepa_settings, now=tomorrow(), limit=10) == 1
    [batch] = (await batches(sepa_client, shop.sk_live))["data"]

    for key in (shop.sk_test, other.sk_live):
        assert (await batches(sepa_client, key))["count"] == 0
        for path in ("", "/file"):
            response = await sepa_client.get(
                f"/payout-batches/{batch['id']}{path}", headers=bearer(key)
            )
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "NOT_FOUND"
        confirm = await sepa_client.post(
            f"/payout-batches/{batch['id']}/confirm", headers=bearer(key)
        )
        assert confirm.status_code == 404
    assert (await batches(sepa_client, shop.sk_live, search="status:ready"))["count"] == 1
    assert (await batches(sepa_client, shop.sk_live, search="status:confirmed"))["count"] == 0

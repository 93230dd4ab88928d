"""`POST /payout-batches`: the batch of the key's organization and mode, built now from its
waiting approved SEPA payouts (test mode from a simulated debtor account), instead of after
midnight UTC. Each build takes only its own account's payouts, so these tests share the
suite's database."""

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import xmlschema
from sqlalchemy import update

from kohort.config import Settings
from kohort.db import Database
from kohort.models import Organization
from kohort.payout_batch import pain001
from tests.factories import Org, bearer
from tests.payout.api import built_batch
from tests.payout_batch.test_batches import NS, batches, set_debtor
from tests.shapes import assert_error
from tests.withdrawal.flow import (
    DEBTOR_IBAN,
    TEST_IBANS,
    complete_pair,
    order_of,
    payouts_of,
    withdrawn,
)

BATCH_FIELDS = {
    "id",
    "object",
    "livemode",
    "status",
    "currency",
    "totalAmount",
    "payoutsCount",
    "messageId",
    "createdAt",
    "confirmedAt",
}


async def waiting(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    key: str,
    ibans: tuple[str, str] = TEST_IBANS[:2],
) -> list[dict[str, Any]]:
    """Two orders of `key`'s mode whose shoppers gave their account: approved SEPA payouts."""
    orders = await complete_pair(client, org, key=key, amounts=(12_340, 4_999))
    for order, iban in zip(orders, ibans, strict=True):
        await withdrawn(client, db, settings, order["id"], iban=iban)
    return orders


async def build(client: httpx.AsyncClient, key: str, **headers: str) -> httpx.Response:
    return await client.post("/payout-batches", headers=bearer(key) | headers)


async def file_of(client: httpx.AsyncClient, key: str, batch_id: str) -> ET.Element:
    response = await client.get(f"/payout-batches/{batch_id}/file", headers=bearer(key))
    assert response.status_code == 200, response.text
    xmlschema.XMLSchema(pain001.SCHEMA_FILE).validate(response.text)
    return ET.fromstring(response.content)


async def test_a_live_batch_is_built_now_from_the_waiting_payouts(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await set_debtor(client, org)
    orders = await waiting(client, db, settings, org, org.sk_live)

    response = await build(client, org.sk_live)

    assert response.status_code == 201, response.text
    batch = response.json()
    assert set(batch) == BATCH_FIELDS
    assert batch["object"] == "payout_batch" and batch["livemode"] is True
    assert batch["status"] == "ready" and batch["confirmedAt"] is None
    assert (batch["payoutsCount"], batch["totalAmount"]) == (2, 1_234 + 500)
    read = await client.get(f"/payout-batches/{batch['id']}", headers=bearer(org.sk_live))
    assert read.json() == batch
    for order in orders:
        [payout] = await payouts_of(client, org.sk_live, order["id"])
        assert payout["status"] == "processing" and payout["batchId"] == batch["id"]
    info = (await file_of(client, org.sk_live, batch["id"])).find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info is not None
    assert info.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Chez Ada SARL"
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == DEBTOR_IBAN

    again = await build(client, org.sk_live)
    assert_error(again, 400, "NOTHING_TO_BATCH")
    assert (await batches(client, org.sk_live))["count"] == 1


async def test_a_test_batch_is_paid_from_the_simulated_account_with_every_test_iban(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await set_debtor(client, org)
    first = await waiting(client, db, settings, org, org.sk_test, TEST_IBANS[:2])
    second = await waiting(client, db, settings, org, org.sk_test, TEST_IBANS[2:])

    batch = await built_batch(client, org.sk_test)

    assert batch["livemode"] is False and batch["payoutsCount"] == 4
    root = await file_of(client, org.sk_test, batch["id"])
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info is not None
    assert info.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Kohort test mode"
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "BE68539007547034"
    assert info.findtext("p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=NS) == "NOTPROVIDED"
    assert "Chez Ada SARL" not in ET.tostring(root, encoding="unicode")
    creditors = [
        tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS)
        for tx in info.findall("p:CdtTrfTxInf", NS)
    ]
    assert sorted(creditors) == sorted(iban.replace(" ", "") for iban in TEST_IBANS)
    for order in first + second:
        assert (await order_of(client, org.sk_test, order["id"]))["status"] == (
            "CASHBACK_PROCESSING"
        )


async def test_nothing_to_batch_is_a_clear_400_that_changes_nothing(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await set_debtor(client, org)
    for key in (org.sk_test, org.sk_live):
        assert_error(await build(client, key), 400, "NOTHING_TO_BATCH")
    orders = await complete_pair(client, org, key=org.sk_test)

    response = await build(client, org.sk_test)

    error = assert_error(response, 400, "NOTHING_TO_BATCH")
    assert "withdrawal page" in error["message"]
    for key in (org.sk_test, org.sk_live):
        assert (await batches(client, key))["count"] == 0
    for order in orders:
        assert (await order_of(client, org.sk_test, order["id"]))["status"] == (
            "CASHBACK_AVAILABLE"
        )


async def test_live_mode_without_a_debtor_account_is_refused_naming_it(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    orders = await waiting(client, db, settings, org, org.sk_live)
    refused = await build(client, org.sk_live)
    error = assert_error(refused, 400, "PAYOUT_DEBTOR_ACCOUNT_MISSING", param="payoutDebtorName")
    assert "payoutDebtorIban" in error["message"]
    named = await client.patch(
        f"/organizations/{org.id}",
        json={"payoutDebtorName": "Chez Ada SARL"},
        headers=bearer(org.sk_live),
    )
    assert named.status_code == 200, named.text
    refused = await build(client, org.sk_live)
    assert_error(refused, 400, "PAYOUT_DEBTOR_ACCOUNT_MISSING", param="payoutDebtorIban")
    for order in orders:
        [payout] = await payouts_of(client, org.sk_live, order["id"])
        assert payout["status"] == "pending" and payout["batchId"] is None
    assert (await batches(client, org.sk_live))["count"] == 0

    await waiting(client, db, settings, org, org.sk_test)
    assert (await built_batch(client, org.sk_test))["payoutsCount"] == 2


async def test_a_debtor_iban_that_cannot_be_read_is_refused_naming_it(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await set_debtor(client, org)
    await waiting(client, db, settings, org, org.sk_live)
    async with db.write() as session:
        await session.execute(
            update(Organization)
            .where(Organization.id == org.id)
            .values(payout_debtor_iban_encrypted="written-with-another-secret-key")
        )

    response = await build(client, org.sk_live)

    error = assert_error(response, 400, "PAYOUT_DEBTOR_ACCOUNT_MISSING", param="payoutDebtorIban")
    assert "KOHORT_SECRET_KEY" in error["message"]
    assert (await batches(client, org.sk_live))["count"] == 0


async def test_a_build_takes_only_its_own_organizations_and_modes_payouts(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, other_org: Org
) -> None:
    await set_debtor(client, org)
    live = await waiting(client, db, settings, org, org.sk_live)
    test = await waiting(client, db, settings, org, org.sk_test)
    theirs = await waiting(client, db, settings, other_org, other_org.sk_test)

    batch = await built_batch(client, org.sk_test)

    assert batch["payoutsCount"] == 2
    for key, orders in ((org.sk_live, live), (other_org.sk_test, theirs)):
        for order in orders:
            [payout] = await payouts_of(client, key, order["id"])
            assert payout["status"] == "pending" and payout["batchId"] is None
    for order in test:
        [payout] = await payouts_of(client, org.sk_test, order["id"])
        assert payout["batchId"] == batch["id"]
    for stranger in (org.sk_live, other_org.sk_test, other_org.sk_live):
        assert (await batches(client, stranger))["count"] == 0
        for path in ("", "/file"):
            response = await client.get(
                f"/payout-batches/{batch['id']}{path}", headers=bearer(stranger)
            )
            assert_error(response, 404, "NOT_FOUND", param="id")
        confirm = await client.post(
            f"/payout-batches/{batch['id']}/confirm", headers=bearer(stranger)
        )
        assert_error(confirm, 404, "NOT_FOUND", param="id")

    assert (await built_batch(client, other_org.sk_test))["payoutsCount"] == 2
    assert (await built_batch(client, org.sk_live))["payoutsCount"] == 2
    assert (await batches(client, org.sk_test))["count"] == 1


async def test_a_replayed_build_answers_the_same_batch_and_builds_once(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await waiting(client, db, settings, org, org.sk_test)
    first = await build(client, org.sk_test, **{"Idempotency-Key": "build-1"})
    assert first.status_code == 201, first.text
    await waiting(client, db, settings, org, org.sk_test)

    again = await build(client, org.sk_test, **{"Idempotency-Key": "build-1"})

    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await batches(client, org.sk_test))["count"] == 1
    other = await build(client, org.sk_test, **{"Idempotency-Key": "build-2"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert (await batches(client, org.sk_test))["count"] == 2
    empty = await build(client, org.sk_test, **{"Idempotency-Key": "build-3"})
    assert_error(empty, 400, "NOTHING_TO_BATCH")
    replayed = await build(client, org.sk_test, **{"Idempotency-Key": "build-3"})
    assert replayed.status_code == 400 and replayed.json() == empty.json()


async def test_only_a_secret_key_builds(client: httpx.AsyncClient, org: Org) -> None:
    for key in (org.pk_test, org.pk_live):
        assert_error(await build(client, key), 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert_error(await client.post("/payout-batches"), 401, "API_KEY_MISSING")

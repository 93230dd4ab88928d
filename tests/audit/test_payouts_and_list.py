"""Payout retries and SEPA batches are recorded; the log is listed per organization and
mode, searched and ordered as every list is."""

import httpx
from sqlalchemy import update

from kohort.config import Settings
from kohort.db import Database
from kohort.models import Payout
from tests.audit.api import assert_by, entries, send
from tests.factories import Org
from tests.group_settings.api import patch
from tests.order.api import get_json
from tests.payout_batch.test_build_now import waiting
from tests.shapes import assert_error


async def test_a_retry_and_a_batch_built_and_confirmed_are_recorded(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await waiting(client, db, settings, org, org.sk_test)
    payouts = (await get_json(client, org.sk_test, "/payouts", orderBy="amount:asc"))["data"]
    failed = payouts[0]
    async with db.write() as session:
        await session.execute(
            update(Payout)
            .where(Payout.id == failed["id"])
            .values(status="failed", attempts=3, last_error="bank said no")
        )
    retried = await send(client, "POST", f"/payouts/{failed['id']}/retry", org.sk_test)
    assert retried.status_code == 200, retried.text
    again = await send(client, "POST", f"/payouts/{failed['id']}/retry", org.sk_test)
    assert_error(again, 400, "PAYOUT_NOT_RETRYABLE", param="id")
    built = await send(
        client, "POST", "/payout-batches", org.sk_test, headers={"Idempotency-Key": "audit-b1"}
    )
    assert built.status_code == 201, built.text
    replay = await send(
        client, "POST", "/payout-batches", org.sk_test, headers={"Idempotency-Key": "audit-b1"}
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    batch = built.json()
    confirmed = await send(client, "POST", f"/payout-batches/{batch['id']}/confirm", org.sk_test)
    assert confirmed.status_code == 200, confirmed.text
    twice = await send(client, "POST", f"/payout-batches/{batch['id']}/confirm", org.sk_test)
    assert_error(twice, 400, "PAYOUT_BATCH_ALREADY_CONFIRMED", param="id")

    log = await entries(client, org.sk_test, search="targetType!payment_group_settings")
    assert [(e["action"], e["targetType"], e["targetId"]) for e in log] == [
        ("payout.retried", "payout", failed["id"]),
        ("payout_batch.created", "payout_batch", batch["id"]),
        ("payout_batch.confirmed", "payout_batch", batch["id"]),
    ]
    for entry, response in zip(log, (retried, built, confirmed), strict=True):
        await assert_by(client, entry, org.sk_test, response)
    assert log[0]["changes"] == {
        "status": {"from": "failed", "to": "pending"},
        "attempts": {"from": 3, "to": 0},
    }
    assert log[1]["changes"] == {
        "status": {"from": None, "to": "ready"},
        "currency": {"from": None, "to": "EUR"},
        "totalAmount": {"from": None, "to": batch["totalAmount"]},
        "payoutsCount": {"from": None, "to": 2},
        "messageId": {"from": None, "to": batch["messageId"]},
    }
    assert log[2]["changes"] == {
        "status": {"from": "ready", "to": "confirmed"},
        "confirmedAt": {"from": None, "to": confirmed.json()["confirmedAt"]},
    }


async def test_the_log_is_listed_searched_and_read_per_organization_and_mode(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    for maximum in (16, 17, 18):
        assert (await patch(client, org, {"maxParticipants": maximum})).status_code == 200
    created = await send(client, "POST", "/api-keys", org.sk_test, json={"name": "x"})
    assert (await patch(client, org, {"maxParticipants": 19}, org.sk_live)).status_code == 200
    assert (await patch(client, other_org, {"maxParticipants": 30})).status_code == 200

    newest_first = (await get_json(client, org.sk_test, "/audit-log"))["data"]
    assert [e["action"] for e in newest_first] == [
        "api_key.created",
        *["payment_group_settings.updated"] * 3,
    ]
    assert [e["changes"]["maxParticipants"]["to"] for e in newest_first[1:]] == [18, 17, 16]
    assert {e["organizationId"] for e in newest_first} == {org.id}
    assert {e["livemode"] for e in newest_first} == {False}
    [live] = await entries(client, org.sk_live)
    assert live["livemode"] is True and live["changes"]["maxParticipants"]["to"] == 19
    [theirs] = await entries(client, other_org.sk_test)
    assert theirs["changes"]["maxParticipants"]["to"] == 30

    settings_entries = await entries(
        client, org.sk_test, search="action:payment_group_settings.updated"
    )
    assert len(settings_entries) == 3
    key = await entries(client, org.sk_test, search=f"targetId:{created.json()['id']}")
    assert [e["action"] for e in key] == ["api_key.created"]
    actor = newest_first[0]["actorId"]
    by_actor = await entries(client, org.sk_test, search=f"actorType:api_key,actorId:{actor}")
    assert len(by_actor) == 4
    since = newest_first[1]["createdAt"]
    recent = await entries(client, org.sk_test, search=f"createdAt>={since}")
    assert [e["id"] for e in recent] == [newest_first[1]["id"], newest_first[0]["id"]]
    fuzzy = await entries(client, org.sk_test, search="action~api_key")
    assert [e["id"] for e in fuzzy] == [newest_first[0]["id"]]
    by_target = await get_json(
        client, org.sk_test, "/audit-log", orderBy="targetType:asc", take=1, skip=0
    )
    assert by_target["count"] == 4 and by_target["data"][0]["action"] == "api_key.created"

    one = newest_first[2]
    assert await get_json(client, org.sk_test, f"/audit-log/{one['id']}") == one
    for stranger in (org.sk_live, other_org.sk_test):
        response = await send(client, "GET", f"/audit-log/{one['id']}", stranger)
        assert_error(response, 404, "NOT_FOUND", param="id")


async def test_bad_audit_log_queries_are_refused(client: httpx.AsyncClient, org: Org) -> None:
    for params, param in (
        ({"search": "actorType:robot"}, "search"),
        ({"search": "changes:x"}, "search"),
        ({"orderBy": "ipAddress:asc"}, "orderBy"),
        ({"expand[]": "actor"}, "expand[]"),
    ):
        response = await send(client, "GET", "/audit-log", org.sk_test, params=params)
        assert_error(response, 400, "VALIDATION_ERROR", param=param)
    assert (await send(client, "GET", "/audit-log", org.pk_test)).status_code == 403
    assert (await send(client, "GET", "/audit-log", "sk_test_" + "x" * 40)).status_code == 401

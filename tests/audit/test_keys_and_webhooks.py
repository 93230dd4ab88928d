"""API keys and webhook endpoints: each change is one entry, never with a key or a secret,
once under an idempotent replay."""

import httpx

from kohort.audit.service import SECRET
from tests.audit.api import assert_by, entries, send
from tests.factories import Org
from tests.shapes import assert_error
from tests.webhook.api import secret_of
from tests.webhook.test_endpoints import LOCAL, PUBLIC


async def test_creating_rolling_and_revoking_a_key_are_recorded_without_the_key(
    client: httpx.AsyncClient, org: Org
) -> None:
    headers = {"Idempotency-Key": "audit-create-1"}
    body = {"name": "CI"}
    created = await send(client, "POST", "/api-keys", org.sk_test, json=body, headers=headers)
    assert created.status_code == 201, created.text
    replay = await send(client, "POST", "/api-keys", org.sk_test, json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    key = created.json()
    rolled = await send(
        client, "POST", f"/api-keys/{key['id']}/roll", org.sk_test, json={"expiresInSeconds": 60}
    )
    assert rolled.status_code == 200, rolled.text
    successor = rolled.json()
    revoked = await send(client, "DELETE", f"/api-keys/{successor['id']}", org.sk_test)
    assert revoked.status_code == 200, revoked.text

    log = await entries(client, org.sk_test)
    assert [(e["action"], e["targetType"], e["targetId"]) for e in log] == [
        ("api_key.created", "api_key", key["id"]),
        ("api_key.rolled", "api_key", key["id"]),
        ("api_key.revoked", "api_key", successor["id"]),
    ]
    for entry, response in zip(log, (created, rolled, revoked), strict=True):
        await assert_by(client, entry, org.sk_test, response)
    assert log[0]["changes"] == {
        "name": {"from": None, "to": "CI"},
        "type": {"from": None, "to": "SECRET"},
        "preview": {"from": None, "to": key["preview"]},
    }
    assert log[1]["changes"] == {
        "expiresAt": {"from": None, "to": (await _key(client, org, key["id"]))["expiresAt"]},
        "rolledToId": {"from": None, "to": successor["id"]},
    }
    assert log[2]["changes"] == {"revokedAt": {"from": None, "to": revoked.json()["revokedAt"]}}
    text = (await send(client, "GET", "/audit-log", org.sk_test)).text
    assert key["key"] not in text and successor["key"] not in text


async def _key(client: httpx.AsyncClient, org: Org, key_id: str) -> dict[str, object]:
    page = (await send(client, "GET", "/api-keys", org.sk_test, params={"take": 100})).json()
    [found] = [k for k in page["data"] if k["id"] == key_id]
    return dict(found)


async def test_a_refused_key_change_records_nothing(client: httpx.AsyncClient, org: Org) -> None:
    own = (await send(client, "GET", "/api-keys", org.sk_test)).json()["data"]
    [secret] = [k for k in own if k["type"] == "SECRET"]
    last = await send(client, "DELETE", f"/api-keys/{secret['id']}", org.sk_test)
    assert_error(last, 400, "LAST_SECRET_KEY", param="id")
    publishable = await send(client, "POST", "/api-keys", org.pk_test, json={})
    assert publishable.status_code == 403
    assert await entries(client, org.sk_test) == []


async def test_webhook_endpoint_changes_are_recorded_without_the_secret(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = {"url": PUBLIC, "events": ["order.created"], "description": "ERP"}
    headers = {"Idempotency-Key": "audit-webhook-1"}
    created = await send(client, "POST", "/webhooks", org.sk_test, json=body, headers=headers)
    assert created.status_code == 201, created.text
    replay = await send(client, "POST", "/webhooks", org.sk_test, json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    endpoint = created.json()
    path = f"/webhooks/{endpoint['id']}"
    first_secret = await secret_of(client, org.sk_test, endpoint["id"])
    same = await send(client, "PATCH", path, org.sk_test, json={"description": "ERP"})
    assert same.status_code == 200
    changed = {"events": ["*"], "isActive": False, "metadata": {"team": "ops"}}
    updated = await send(client, "PATCH", path, org.sk_test, json=changed)
    assert updated.status_code == 200, updated.text
    rolled = await send(client, "POST", f"{path}/roll-secret", org.sk_test)
    assert rolled.status_code == 200, rolled.text
    second_secret = await secret_of(client, org.sk_test, endpoint["id"])
    deleted = await send(client, "DELETE", path, org.sk_test)
    assert deleted.status_code == 200, deleted.text

    log = await entries(client, org.sk_test, search="targetType:webhook_endpoint")
    assert [e["action"] for e in log] == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.secret_rolled",
        "webhook_endpoint.deleted",
    ]
    assert {e["targetId"] for e in log} == {endpoint["id"]}
    for entry, response in zip(log, (created, updated, rolled, deleted), strict=True):
        await assert_by(client, entry, org.sk_test, response)
    assert log[0]["changes"] == {
        "url": {"from": None, "to": PUBLIC},
        "description": {"from": None, "to": "ERP"},
        "events": {"from": None, "to": ["order.created"]},
        "isActive": {"from": None, "to": True},
        "metadata": {"from": None, "to": {}},
        "apiVersion": {"from": None, "to": "2026-12-01"},
    }
    assert log[1]["changes"] == {
        "events": {"from": ["order.created"], "to": ["*"]},
        "isActive": {"from": True, "to": False},
        "metadata": {"from": {}, "to": {"team": "ops"}},
    }
    assert log[2]["changes"] == {"secret": {"from": SECRET, "to": SECRET}}
    assert log[3]["changes"] == {
        "url": {"from": PUBLIC, "to": None},
        "description": {"from": "ERP", "to": None},
        "events": {"from": ["*"], "to": None},
        "isActive": {"from": False, "to": None},
        "metadata": {"from": {"team": "ops"}, "to": None},
        "apiVersion": {"from": "2026-12-01", "to": None},
    }
    text = (await send(client, "GET", "/audit-log", org.sk_test)).text
    assert first_secret not in text and second_secret not in text


async def test_a_refused_webhook_change_records_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    refused = await send(
        client, "POST", "/webhooks", org.sk_live, json={"url": LOCAL, "events": ["*"]}
    )
    assert_error(refused, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
    invalid = await send(client, "POST", "/webhooks", org.sk_test, json={"url": PUBLIC})
    assert_error(invalid, 400, "VALIDATION_ERROR")
    assert await entries(client, org.sk_live) == []
    assert await entries(client, org.sk_test) == []

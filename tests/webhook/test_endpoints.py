"""The webhook endpoint routes: fields, validation, keys, organizations and modes, and the
destinations live mode refuses."""

from collections.abc import AsyncIterator

import httpx
import pytest

from kohort.config import Settings
from kohort.db import Database
from kohort.main import create_app
from tests.factories import Org, bearer
from tests.shapes import TIMESTAMP, assert_error
from tests.webhook.api import create_endpoint, secret_of

ENDPOINT_FIELDS = {
    "id",
    "object",
    "livemode",
    "organizationId",
    "url",
    "description",
    "events",
    "isActive",
    "metadata",
    "createdAt",
    "updatedAt",
}
LOCAL = "http://localhost:9/hooks"
PUBLIC = "https://93.184.215.14/kohort"
"""A public address written as a literal: accepted in live mode without any DNS lookup."""


async def test_an_endpoint_is_created_read_listed_changed_and_deleted(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_endpoint(
        client,
        org.sk_test,
        LOCAL,
        events=["payment_group.succeeded", "order.created", "order.created"],
        description="Shop backend",
        metadata={"team": "backend"},
    )
    assert set(created) == ENDPOINT_FIELDS
    assert created["id"].startswith("we_")
    assert created["object"] == "webhook_endpoint"
    assert created["livemode"] is False
    assert created["organizationId"] == org.id
    assert created["url"] == LOCAL
    assert created["events"] == ["payment_group.succeeded", "order.created"]
    assert created["isActive"] is True
    assert created["metadata"] == {"team": "backend"}
    assert TIMESTAMP.match(created["createdAt"]) and created["updatedAt"] == created["createdAt"]
    assert "secret" not in created

    got = await client.get(f"/webhooks/{created['id']}", headers=bearer(org.sk_test))
    assert got.status_code == 200 and got.json() == created
    secret = await secret_of(client, org.sk_test, created["id"])
    assert secret.startswith("whsec_") and len(secret) > 40

    second = await create_endpoint(client, org.sk_test, LOCAL + "/2", isActive=False)
    listed = await client.get("/webhooks", headers=bearer(org.sk_test))
    assert listed.status_code == 200
    assert listed.json() == {"data": [second, created], "count": 2}
    inactive = await client.get(
        "/webhooks", params={"search": "isActive:false"}, headers=bearer(org.sk_test)
    )
    assert [e["id"] for e in inactive.json()["data"]] == [second["id"]]

    patched = await client.patch(
        f"/webhooks/{created['id']}",
        json={"events": ["*"], "description": None, "is_active": False, "metadata": None},
        headers=bearer(org.sk_test),
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["events"] == ["*"]
    assert body["description"] is None
    assert body["isActive"] is False
    assert body["metadata"] == {}
    assert body["url"] == LOCAL

    deleted = await client.delete(f"/webhooks/{created['id']}", headers=bearer(org.sk_test))
    assert deleted.status_code == 200 and deleted.json()["id"] == created["id"]
    gone = await client.get(f"/webhooks/{created['id']}", headers=bearer(org.sk_test))
    assert_error(gone, 404, "NOT_FOUND", param="id")
    again = await client.delete(f"/webhooks/{created['id']}", headers=bearer(org.sk_test))
    assert_error(again, 404, "NOT_FOUND")


async def test_a_patch_that_changes_nothing_keeps_updated_at(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_endpoint(client, org.sk_test, LOCAL)
    same = await client.patch(
        f"/webhooks/{created['id']}", json={"url": LOCAL}, headers=bearer(org.sk_test)
    )
    assert same.status_code == 200 and same.json() == created


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"events": ["*"]}, "url"),
        ({"url": LOCAL}, "events"),
        ({"url": LOCAL, "events": []}, "events"),
        ({"url": LOCAL, "events": ["order.created", "order.exploded"]}, "events[1]"),
        ({"url": LOCAL, "events": ["*", "order.created"]}, "events"),
        ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "https:///path-only", "events": ["*"]}, "url"),
        ({"url": "http://example.com:99999/", "events": ["*"]}, "url"),
        ({"url": "http://example.com/" + "a" * 2048, "events": ["*"]}, "url"),
        ({"url": LOCAL, "events": ["*"], "isActive": "maybe"}, "isActive"),
        ({"url": LOCAL, "events": ["*"], "isActive": None}, "isActive"),
        ({"url": LOCAL, "events": ["*"], "metadata": {"k": "v" * 501}}, "metadata.k"),
        ({"url": LOCAL, "events": ["*"], "description": "d" * 501}, "description"),
    ],
)
async def test_invalid_endpoints_are_refused_naming_the_field(
    client: httpx.AsyncClient, org: Org, body: dict[str, object], param: str
) -> None:
    response = await client.post("/webhooks", json=body, headers=bearer(org.sk_test))
    assert_error(response, 400, "VALIDATION_ERROR", param=param)
    listed = await client.get("/webhooks", headers=bearer(org.sk_test))
    assert listed.json()["count"] == 0


@pytest.mark.parametrize("field", ["url", "events", "isActive"])
async def test_a_required_field_cannot_be_patched_to_null(
    client: httpx.AsyncClient, org: Org, field: str
) -> None:
    created = await create_endpoint(client, org.sk_test, LOCAL)
    response = await client.patch(
        f"/webhooks/{created['id']}", json={field: None}, headers=bearer(org.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR", param=field)


async def test_publishable_keys_cannot_call_any_webhook_route(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_endpoint(client, org.sk_test, LOCAL)
    key = bearer(org.pk_test)
    wid = created["id"]
    calls = [
        client.post("/webhooks", json={"url": LOCAL, "events": ["*"]}, headers=key),
        client.get("/webhooks", headers=key),
        client.get(f"/webhooks/{wid}", headers=key),
        client.patch(f"/webhooks/{wid}", json={"isActive": False}, headers=key),
        client.delete(f"/webhooks/{wid}", headers=key),
        client.get(f"/webhooks/{wid}/secret", headers=key),
        client.post(f"/webhooks/{wid}/roll-secret", headers=key),
        client.post(f"/webhooks/{wid}/test", headers=key),
        client.get(f"/webhooks/{wid}/deliveries", headers=key),
        client.post("/webhook-deliveries/whd_00000000000000/retry", headers=key),
        client.post("/events/evt_00000000000000/redeliver", headers=key),
    ]
    for call in calls:
        assert_error(await call, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert (await client.get(f"/webhooks/{wid}", headers=bearer(org.sk_test))).json() == created


async def test_another_organization_or_mode_sees_no_endpoint(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    created = await create_endpoint(client, org.sk_test, LOCAL)
    test_event = await client.post(f"/webhooks/{created['id']}/test", headers=bearer(org.sk_test))
    assert test_event.status_code == 200, test_event.text
    delivery = test_event.json()
    for key in (other_org.sk_test, org.sk_live):
        headers = bearer(key)
        wid = created["id"]
        calls = [
            client.get(f"/webhooks/{wid}", headers=headers),
            client.patch(f"/webhooks/{wid}", json={"isActive": False}, headers=headers),
            client.delete(f"/webhooks/{wid}", headers=headers),
            client.get(f"/webhooks/{wid}/secret", headers=headers),
            client.post(f"/webhooks/{wid}/roll-secret", headers=headers),
            client.post(f"/webhooks/{wid}/test", headers=headers),
            client.get(f"/webhooks/{wid}/deliveries", headers=headers),
            client.post(f"/webhook-deliveries/{delivery['id']}/retry", headers=headers),
            client.post(f"/events/{delivery['eventId']}/redeliver", headers=headers),
        ]
        for call in calls:
            assert_error(await call, 404, "NOT_FOUND", param="id")
        listed = await client.get("/webhooks", headers=headers)
        assert listed.json() == {"data": [], "count": 0}
    assert (await client.get(f"/webhooks/{wid}", headers=bearer(org.sk_test))).json() == created


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hooks",
        "https://LOCALHOST./hooks",
        "https://api.localhost/hooks",
        "https://127.0.0.1/hooks",
        "https://127.1/hooks",
        "https://2130706433/hooks",
        "https://10.0.0.1/hooks",
        "https://192.168.1.20:8443/hooks",
        "https://172.16.0.1/hooks",
        "https://100.64.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",
        "https://240.0.0.1/hooks",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[fe80::1]/hooks",
        "https://[fd00::1]/hooks",
        "http://93.184.215.14/hooks",
        "http://localhost:8000/hooks",
    ],
)
async def test_live_mode_refuses_private_destinations_and_plain_http(
    client: httpx.AsyncClient, org: Org, url: str
) -> None:
    response = await client.post(
        "/webhooks", json={"url": url, "events": ["*"]}, headers=bearer(org.sk_live)
    )
    error = assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
    expected = "https://" if url.startswith("http://") else "public addresses only"
    assert expected in error["message"]
    listed = await client.get("/webhooks", headers=bearer(org.sk_live))
    assert listed.json()["count"] == 0


async def test_live_mode_refuses_a_host_that_does_not_resolve(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(
        "/webhooks",
        json={"url": "https://no-such-host.invalid/hooks", "events": ["*"]},
        headers=bearer(org.sk_live),
    )
    error = assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
    assert "could not be resolved" in error["message"]


async def test_live_mode_accepts_a_public_https_url_and_refuses_a_private_one_in_a_patch(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_endpoint(client, org.sk_live, PUBLIC)
    assert created["livemode"] is True
    response = await client.patch(
        f"/webhooks/{created['id']}",
        json={"url": "https://10.1.2.3/hooks"},
        headers=bearer(org.sk_live),
    )
    assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
    got = await client.get(f"/webhooks/{created['id']}", headers=bearer(org.sk_live))
    assert got.json()["url"] == PUBLIC


@pytest.mark.parametrize(
    "url", ["http://localhost:3000/hooks", "http://10.0.0.1/hooks", "https://[::1]:8443/x"]
)
async def test_test_mode_accepts_local_and_private_destinations(
    client: httpx.AsyncClient, org: Org, url: str
) -> None:
    created = await create_endpoint(client, org.sk_test, url)
    assert created["url"] == url


@pytest.fixture
async def self_hosted(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The API of an operator who set KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=true."""
    allowing = settings.model_copy(update={"webhook_allow_private_destinations": True})
    transport = httpx.ASGITransport(app=create_app(allowing, database=db))
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        yield client


async def test_the_operator_setting_allows_private_destinations_in_live_mode_over_https(
    self_hosted: httpx.AsyncClient, org: Org
) -> None:
    created = await create_endpoint(self_hosted, org.sk_live, "https://10.0.0.1/hooks")
    assert created["livemode"] is True
    plain = await self_hosted.post(
        "/webhooks",
        json={"url": "http://10.0.0.1/hooks", "events": ["*"]},
        headers=bearer(org.sk_live),
    )
    assert_error(plain, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")


async def test_creating_an_endpoint_is_idempotent(client: httpx.AsyncClient, org: Org) -> None:
    headers = {**bearer(org.sk_test), "Idempotency-Key": "endpoint-1"}
    body = {"url": LOCAL, "events": ["order.created"]}
    first = await client.post("/webhooks", json=body, headers=headers)
    again = await client.post("/webhooks", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/webhooks", json={**body, "url": LOCAL + "/x"}, headers=headers)
    assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")
    listed = await client.get("/webhooks", headers=bearer(org.sk_test))
    assert listed.json()["count"] == 1


async def test_rolling_the_secret_gives_a_new_one(client: httpx.AsyncClient, org: Org) -> None:
    created = await create_endpoint(client, org.sk_test, LOCAL)
    before = await secret_of(client, org.sk_test, created["id"])
    rolled = await client.post(
        f"/webhooks/{created['id']}/roll-secret", headers=bearer(org.sk_test)
    )
    assert rolled.status_code == 200, rolled.text
    assert set(rolled.json()) == ENDPOINT_FIELDS
    after = await secret_of(client, org.sk_test, created["id"])
    assert after != before and after.startswith("whsec_")

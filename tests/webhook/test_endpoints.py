"""The webhook endpoint routes: fields, validation, keys, organizations and modes, and the
destinations refused in both modes by default (IPv6 forms embedding IPv4 included), and
allowed by the operator's setting."""

import ipaddress

import httpx
import pytest

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
    "apiVersion",
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


PRIVATE = [
    "https://localhost/hooks",
    "https://LOCALHOST./hooks",
    "https://api.localhost/hooks",
    "https://127.0.0.1/hooks",
    "https://127.0.0.1:5432/",
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
    "https://[2002:7f00:1::]/hooks",
]
PLAIN_HTTP = [
    "http://93.184.215.14/hooks",
    "http://localhost:8000/hooks",
    "http://127.0.0.1:8080/hooks",
    "http://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:3000/hooks",
]
MODES = pytest.mark.parametrize("mode", ["test", "live"])


def _key(org: Org, mode: str) -> str:
    return org.sk_live if mode == "live" else org.sk_test


def _refusal_says(url: str, message: str, mode: str) -> None:
    assert ("https://" if url.startswith("http://") else "public addresses only") in message
    hint = "KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=true"
    assert (hint in message) == (mode == "test"), message


@MODES
@pytest.mark.parametrize("url", PRIVATE + PLAIN_HTTP)
async def test_by_default_both_modes_refuse_private_destinations_and_plain_http(
    default_client: httpx.AsyncClient, org: Org, mode: str, url: str
) -> None:
    key = _key(org, mode)
    response = await default_client.post(
        "/webhooks", json={"url": url, "events": ["*"]}, headers=bearer(key)
    )
    error = assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
    _refusal_says(url, error["message"], mode)
    listed = await default_client.get("/webhooks", headers=bearer(key))
    assert listed.json()["count"] == 0


@MODES
async def test_by_default_a_patch_to_a_private_destination_or_plain_http_is_refused(
    default_client: httpx.AsyncClient, org: Org, mode: str
) -> None:
    key = _key(org, mode)
    created = await create_endpoint(default_client, key, PUBLIC)
    assert created["livemode"] is (mode == "live")
    for url in [
        "https://127.0.0.1:5432/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://localhost:3000/hooks",
        "https://10.1.2.3/hooks",
        "http://127.0.0.1:8080/hooks",
    ]:
        response = await default_client.patch(
            f"/webhooks/{created['id']}", json={"url": url}, headers=bearer(key)
        )
        error = assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
        _refusal_says(url, error["message"], mode)
    got = await default_client.get(f"/webhooks/{created['id']}", headers=bearer(key))
    assert got.json() == created


@MODES
async def test_by_default_a_host_that_does_not_resolve_is_refused(
    default_client: httpx.AsyncClient, org: Org, mode: str
) -> None:
    response = await default_client.post(
        "/webhooks",
        json={"url": "https://no-such-host.invalid/hooks", "events": ["*"]},
        headers=bearer(_key(org, mode)),
    )
    error = assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
    assert "could not be resolved" in error["message"]


def _teredo(server: str, client: str) -> ipaddress.IPv6Address:
    """A Teredo address (RFC 4380): 2001:0::/32, the server, flags and port, and the client
    with its bits inverted."""
    bits = int(ipaddress.IPv4Address(server)) << 64 | int(ipaddress.IPv4Address(client))
    return ipaddress.IPv6Address(0x2001_0000 << 96 | bits ^ 0xFFFF_FFFF)


def _embedding(form: str, v4: str) -> ipaddress.IPv6Address:
    """The IPv6 address of `form` that embeds the IPv4 address `v4`."""
    bits = int(ipaddress.IPv4Address(v4))
    forms = {
        "mapped": lambda: ipaddress.IPv6Address(0xFFFF << 32 | bits),
        "compatible": lambda: ipaddress.IPv6Address(bits),
        "6to4": lambda: ipaddress.IPv6Address(0x2002 << 112 | bits << 80 | 1),
        "teredo-server": lambda: _teredo(v4, "8.8.4.4"),
        "teredo-client": lambda: _teredo("8.8.4.4", v4),
        "nat64": lambda: ipaddress.IPv6Address(0x64_FF9B << 96 | bits),
        "nat64-local": lambda: ipaddress.IPv6Address(0x64_FF9B_0001 << 80 | bits),
    }
    return forms[form]()


FORMS = ["mapped", "compatible", "6to4", "teredo-server", "teredo-client", "nat64", "nat64-local"]
REACHES_IPV4 = {"mapped", "6to4", "nat64"}
"""The forms that reach the IPv4 host they embed; the others are never globally reachable."""


def test_the_forms_embed_the_address_they_name() -> None:
    assert _embedding("mapped", "127.0.0.1").ipv4_mapped == ipaddress.IPv4Address("127.0.0.1")
    assert _embedding("6to4", "10.0.0.1").sixtofour == ipaddress.IPv4Address("10.0.0.1")
    server, client = _embedding("teredo-client", "192.168.1.1").teredo or (None, None)
    assert (str(server), str(client)) == ("8.8.4.4", "192.168.1.1")
    assert str(_embedding("nat64", "169.254.169.254")) == "64:ff9b::a9fe:a9fe"
    assert str(_embedding("nat64-local", "8.8.8.8")) == "64:ff9b:1::808:808"
    assert str(_embedding("compatible", "10.0.0.1")) == "::a00:1"


@pytest.mark.parametrize("v4", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.1"])
@pytest.mark.parametrize("form", FORMS)
async def test_live_mode_refuses_ipv6_forms_embedding_a_non_public_ipv4(
    default_client: httpx.AsyncClient, org: Org, form: str, v4: str
) -> None:
    address = _embedding(form, v4)
    response = await default_client.post(
        "/webhooks",
        json={"url": f"https://[{address}]/hooks", "events": ["*"]},
        headers=bearer(org.sk_live),
    )
    error = assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
    assert f"resolves to {address}, " in error["message"]
    assert f" address embedding {v4}, " in error["message"]
    assert "public addresses only" in error["message"]


@pytest.mark.parametrize("form", FORMS)
async def test_live_mode_accepts_the_forms_that_reach_a_public_ipv4_and_refuses_the_others(
    default_client: httpx.AsyncClient, org: Org, form: str
) -> None:
    url = f"https://[{_embedding(form, '8.8.8.8')}]/hooks"
    response = await default_client.post(
        "/webhooks", json={"url": url, "events": ["*"]}, headers=bearer(org.sk_live)
    )
    if form in REACHES_IPV4:
        assert response.status_code == 201, response.text
        assert response.json()["url"] == url
    else:
        error = assert_error(response, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
        assert "public addresses only" in error["message"]


@MODES
async def test_by_default_both_modes_accept_a_public_https_url(
    default_client: httpx.AsyncClient, org: Org, mode: str
) -> None:
    created = await create_endpoint(default_client, _key(org, mode), PUBLIC)
    assert created["url"] == PUBLIC and created["livemode"] is (mode == "live")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:3000/hooks",
        "http://127.0.0.1:8080/hooks",
        "http://10.0.0.1/hooks",
        "https://[::1]:8443/x",
        "https://169.254.169.254/latest/meta-data",
    ],
)
async def test_the_operator_setting_allows_local_destinations_and_http_in_test_mode(
    client: httpx.AsyncClient, org: Org, url: str
) -> None:
    created = await create_endpoint(client, org.sk_test, url)
    assert created["url"] == url


async def test_the_operator_setting_allows_private_destinations_in_live_mode_over_https_only(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_endpoint(client, org.sk_live, "https://10.0.0.1/hooks")
    assert created["livemode"] is True
    for url in ("http://10.0.0.1/hooks", "http://93.184.215.14/hooks"):
        plain = await client.post(
            "/webhooks", json={"url": url, "events": ["*"]}, headers=bearer(org.sk_live)
        )
        error = assert_error(plain, 400, "WEBHOOK_URL_NOT_ALLOWED", param="url")
        assert "https://" in error["message"]


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

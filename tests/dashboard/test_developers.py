"""The Developers pages through ASGI: API keys (a new key shown once and working over the API,
roll with an overlap, revoke), webhook endpoints (the API's validation and destination
messages, a real loopback receiver getting the test event, a failed delivery retried),
deliveries and events with their filters, per mode; a viewer sees no form and is refused;
another organization's ids are the 404 page; bad input is never a 500."""

import json
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape

from kohort.config import Settings
from kohort.db import Database
from kohort.main import create_app
from kohort.webhook import destinations
from tests.conftest import api_client
from tests.dashboard.conftest import ORIGIN, csrf_of, make_user, sign_in
from tests.factories import Org, bearer, make_customer
from tests.webhook.api import work
from tests.webhook.receiver import Receiver, closed_port_url, running_receiver

KEY = re.compile(
    r'<textarea id="new-key" class="secret" readonly rows="2" spellcheck="false">([^<]+)<'
)
SECRET = re.compile(
    r'<textarea id="signing-secret" class="secret" readonly rows="2" spellcheck="false">([^<]+)<'
)


@pytest.fixture(scope="module")
def private_settings(settings: Settings) -> Settings:
    """As `make run`: webhooks may go to local receivers (the tests' one is on loopback)."""
    return settings.model_copy(update={"webhook_allow_private_destinations": True})


@pytest.fixture(scope="module")
def private_app(private_settings: Settings, db: Database) -> FastAPI:
    return create_app(private_settings, database=db)


def _browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(
        app=app, client=(f"10.1.{secrets.randbelow(250)}.{secrets.randbelow(250)}", 1234)
    )
    return httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN})


@pytest.fixture
async def hooks(private_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in browser on the app that allows local receivers."""
    async with _browser(private_app) as client:
        yield client


@pytest.fixture
async def hooks_api(private_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(private_app) as client:
        yield client


@pytest.fixture
def receiver() -> Any:
    with running_receiver() as started:
        yield started


async def _owner(db: Database, client: httpx.AsyncClient, org: Org, role: str = "owner") -> str:
    email = await make_user(db, org, role)
    assert (await sign_in(client, email)).status_code == 303
    return email


def _base(org: Org) -> str:
    return f"/dashboard/o/{org.id}/developers"


async def _post(
    client: httpx.AsyncClient,
    page: str,
    action: str,
    data: dict[str, Any] | None = None,
    *,
    offered: bool = True,
) -> httpx.Response:
    """Post a form of `page` (its CSRF token) to `action`, a form the page offers unless
    `offered` is False (a refusal being tested)."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    if offered:
        assert f'action="{action}"' in shown.text, (action, shown.text)
    return await client.post(action, data={"csrf": csrf_of(shown.text), **(data or {})})


async def _create_key(client: httpx.AsyncClient, org: Org, name: str, kind: str = "SECRET") -> str:
    answer = await _post(client, _base(org), f"{_base(org)}/keys", {"name": name, "type": kind})
    assert answer.status_code == 200, answer.text
    found = KEY.search(answer.text)
    assert found, answer.text
    assert "it will not be shown again" in answer.text
    return found.group(1)


def _key_id(page: str, preview: str) -> str:
    found = re.search(
        r'<tr data-key="(key_[0-9a-z]+)">\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>[^<]*'
        r'</td>\s*<td[^>]*><code class="preview">' + re.escape(preview),
        page,
    )
    assert found, page
    return found.group(1)


def _preview(key: str) -> str:
    return f"{key[:8]}…{key[-4:]}"


async def _audit(client: httpx.AsyncClient, key: str, action: str) -> list[dict[str, Any]]:
    found = await client.get(
        "/audit-log", params={"search": f"action:{action}"}, headers=bearer(key)
    )
    assert found.status_code == 200, found.text
    entries: list[dict[str, Any]] = found.json()["data"]
    return entries


# API keys


async def test_a_new_key_is_shown_once_works_over_the_api_then_only_its_preview_shows(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await _owner(db, browser, org)
    key = await _create_key(browser, org, "Checkout server")
    assert key.startswith("sk_test_")
    assert (await client.get("/events", headers=bearer(key))).status_code == 200

    later = await browser.get(_base(org))
    assert key not in later.text
    assert _preview(key) in later.text
    assert "Checkout server" in later.text
    listed = await client.get("/api-keys", headers=bearer(org.sk_test))
    (mine,) = [k for k in listed.json()["data"] if k["name"] == "Checkout server"]
    assert mine["type"] == "SECRET" and mine["livemode"] is False
    assert mine["lastUsedAt"] is not None
    (entry,) = await _audit(client, org.sk_test, "api_key.created")
    assert entry["actorType"] == "user" and entry["actorLabel"] == email
    assert entry["targetId"] == mine["id"]

    publishable = await _create_key(browser, org, "", "PUBLISHABLE")
    assert publishable.startswith("pk_test_")
    refused = await client.get("/events", headers=bearer(publishable))
    assert refused.status_code == 403


async def test_a_rolled_key_keeps_working_for_the_overlap_and_a_revoked_one_stops(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await _owner(db, browser, org)
    old = await _create_key(browser, org, "Rolling")
    page = (await browser.get(_base(org))).text
    old_id = _key_id(page, _preview(old))

    rolled = await _post(browser, _base(org), f"{_base(org)}/keys/{old_id}/roll", {"hours": "2"})
    assert rolled.status_code == 200, rolled.text
    found = KEY.search(rolled.text)
    assert found
    new = found.group(1)
    assert new != old and new.startswith("sk_test_")
    assert "Rolled: works until" in rolled.text
    assert (await client.get("/events", headers=bearer(new))).status_code == 200
    assert (await client.get("/events", headers=bearer(old))).status_code == 200
    listed = {
        k["id"]: k for k in (await client.get("/api-keys", headers=bearer(new))).json()["data"]
    }
    assert listed[old_id]["expiresAt"] is not None
    (entry,) = await _audit(client, new, "api_key.rolled")
    assert entry["targetId"] == old_id and entry["actorType"] == "user"

    again = await _post(
        browser, _base(org), f"{_base(org)}/keys/{old_id}/roll", {"hours": "1"}, offered=False
    )
    assert again.status_code == 400
    assert "This key was rolled already: roll its successor instead." in again.text
    assert KEY.search(again.text) is None

    revoked = await _post(browser, _base(org), f"{_base(org)}/keys/{old_id}/revoke")
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"{_base(org)}?done=revoked"
    answer = await client.get("/events", headers=bearer(old))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "API_KEY_REVOKED"
    assert (await client.get("/events", headers=bearer(new))).status_code == 200
    assert _preview(old) not in (await browser.get(_base(org))).text

    new_id = _key_id((await browser.get(_base(org))).text, _preview(new))
    at_once = await _post(browser, _base(org), f"{_base(org)}/keys/{new_id}/roll", {"hours": "0"})
    assert at_once.status_code == 200
    expired = await client.get("/events", headers=bearer(new))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "API_KEY_EXPIRED"


async def test_the_last_secret_key_of_a_mode_cannot_be_revoked(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await _owner(db, browser, org)
    page = (await browser.get(_base(org))).text
    only = _key_id(page, _preview(org.sk_test))
    answer = await _post(browser, _base(org), f"{_base(org)}/keys/{only}/revoke")
    assert answer.status_code == 400
    assert "The last secret key of a mode cannot be revoked" in answer.text
    assert (await client.get("/events", headers=bearer(org.sk_test))).status_code == 200


@pytest.mark.parametrize("hours", ["-1", "169", "abc", "1e9", "99999999999999999999"])
async def test_an_overlap_outside_zero_to_seven_days_is_refused(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org, hours: str
) -> None:
    await _owner(db, browser, org)
    page = (await browser.get(_base(org))).text
    key_id = _key_id(page, _preview(org.sk_test))
    answer = await _post(browser, _base(org), f"{_base(org)}/keys/{key_id}/roll", {"hours": hours})
    assert answer.status_code == 400
    assert "The old key keeps working 0 to 168 hours." in answer.text
    listed = (await client.get("/api-keys", headers=bearer(org.sk_test))).json()["data"]
    assert [k["expiresAt"] for k in listed if k["id"] == key_id] == [None]


async def test_keys_are_per_mode_and_a_name_too_long_gets_the_api_message(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await _owner(db, browser, org)
    test_page = (await browser.get(_base(org))).text
    assert _preview(org.sk_test) in test_page and _preview(org.sk_live) not in test_page
    switched = await _post(
        browser, _base(org), f"/dashboard/o/{org.id}/mode", {"mode": "live", "next": _base(org)}
    )
    assert switched.status_code == 303
    live_page = (await browser.get(_base(org))).text
    assert _preview(org.sk_live) in live_page and _preview(org.sk_test) not in live_page
    live = await _create_key(browser, org, "Live server")
    assert live.startswith("sk_live_")
    assert (await client.get("/events", headers=bearer(live))).status_code == 200
    test_id = _key_id(test_page, _preview(org.sk_test))
    other_mode = await _post(
        browser, _base(org), f"{_base(org)}/keys/{test_id}/revoke", offered=False
    )
    assert other_mode.status_code == 404

    long = await _post(browser, _base(org), f"{_base(org)}/keys", {"name": "n" * 256})
    assert long.status_code == 400
    api = await client.post("/api-keys", json={"name": "n" * 256}, headers=bearer(org.sk_live))
    assert api.status_code == 400
    assert api.json()["error"]["message"] in long.text
    wrong_type = await _post(browser, _base(org), f"{_base(org)}/keys", {"type": "ROOT"})
    assert wrong_type.status_code == 400
    assert "Invalid request: type: Input should be" in wrong_type.text
    assert KEY.search(wrong_type.text) is None


# Webhooks


async def test_an_endpoint_with_a_bad_url_shows_the_services_message(
    browser: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    await _owner(db, browser, org)
    page = f"{_base(org)}/webhooks"
    malformed = await _post(browser, page, page, {"url": "ftp://shop.example/x", "events": "*"})
    assert malformed.status_code == 400
    assert "Invalid request: url: must be an http:// or https:// URL." in malformed.text
    assert 'value="ftp://shop.example/x"' in malformed.text

    assert not settings.webhook_allow_private_destinations
    for url in ("https://127.0.0.1:8443/hook", "http://shop.example/hook"):
        refused = await _post(browser, page, page, {"url": url, "events": "order.created"})
        assert refused.status_code == 400
        reason = await destinations.refusal(url, livemode=False, allow_private=False)
        assert reason
        assert str(escape(reason)) in refused.text

    both = await _post(
        browser, page, page, {"url": "https://93.184.215.14/x", "events": ["*", "order.created"]}
    )
    assert both.status_code == 400
    assert str(escape("'*' subscribes to every type; give it alone")) in both.text
    none = await _post(browser, page, page, {"url": "https://93.184.215.14/x"})
    assert none.status_code == 400
    assert "Invalid request: events:" in none.text
    bogus = await _post(browser, page, page, {"url": "https://93.184.215.14/x", "events": "nope"})
    assert bogus.status_code == 400
    assert "Invalid request: events[0]:" in bogus.text
    listed = (await browser.get(page)).text
    assert 'data-endpoint="' not in listed


async def test_a_test_event_reaches_the_receiver_and_a_failed_delivery_is_retried(
    hooks: httpx.AsyncClient,
    hooks_api: httpx.AsyncClient,
    db: Database,
    private_settings: Settings,
    org: Org,
    receiver: Receiver,
) -> None:
    email = await _owner(db, hooks, org)
    hooks_page = f"{_base(org)}/webhooks"
    created = await _post(
        hooks, hooks_page, hooks_page, {"url": receiver.url(), "events": "customer.created"}
    )
    assert created.status_code == 303
    endpoint_page = created.headers["location"].split("?")[0]
    endpoint_id = endpoint_page.rsplit("/", 1)[1]
    (entry,) = await _audit(hooks_api, org.sk_test, "webhook_endpoint.created")
    assert entry["actorLabel"] == email and entry["targetId"] == endpoint_id
    listed = (await hooks.get(hooks_page)).text
    assert f'data-endpoint="{endpoint_id}"' in listed and receiver.url() in listed

    sent = await _post(hooks, endpoint_page, f"{endpoint_page}/test")
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{endpoint_page}?done=test_sent"
    await work(db, private_settings)
    (request,) = receiver.received()
    shown = await _post(hooks, endpoint_page, f"{endpoint_page}/secret")
    secret = SECRET.search(shown.text)
    assert secret
    event = request.verify(secret.group(1))
    assert event["type"] == "webhook.test" and event["data"]["id"] == endpoint_id
    page = (await hooks.get(endpoint_page)).text
    row = _row(page, request.webhook_id)
    assert "succeeded" in row and ">200<" in row and "answer 200" in row

    receiver.answers = [500]
    await _post(hooks, endpoint_page, f"{endpoint_page}/test")
    await work(db, private_settings)
    failed = receiver.received()[-1]
    deliveries = await hooks_api.get(
        f"/webhooks/{endpoint_id}/deliveries", headers=bearer(org.sk_test)
    )
    api_row = next(d for d in deliveries.json()["data"] if d["id"] == failed.webhook_id)
    assert api_row["status"] == "pending" and api_row["lastResponseStatus"] == 500
    page = (await hooks.get(endpoint_page)).text
    row = _row(page, failed.webhook_id)
    assert ">500<" in row and "answer 500" in row and "Answered 500." in row
    assert api_row["nextAttemptAt"][:10] in row

    retried = await _post(
        hooks, endpoint_page, f"{_base(org)}/deliveries/{failed.webhook_id}/retry", {"back": ""}
    )
    assert retried.status_code == 303
    assert retried.headers["location"] == f"{endpoint_page}?done=retried"
    await work(db, private_settings)
    again = receiver.received()[-1]
    assert again.webhook_id == failed.webhook_id and len(receiver.received()) == 3
    row = _row((await hooks.get(endpoint_page)).text, failed.webhook_id)
    assert "succeeded" in row and ">200<" in row
    assert re.search(r"Attempts\">2<", row)

    ok = await hooks.get(endpoint_page, params={"status": "succeeded"})
    assert ok.text.count("<tr data-delivery=") == 2
    failed_only = await hooks.get(endpoint_page, params={"status": "failed"})
    assert failed_only.text.count("<tr data-delivery=") == 0 and "No delivery." in failed_only.text
    by_type = await hooks.get(endpoint_page, params={"event_type": "customer.created"})
    assert by_type.text.count("<tr data-delivery=") == 0
    tests = await hooks.get(endpoint_page, params={"event_type": "webhook.test"})
    assert tests.text.count("<tr data-delivery=") == 2
    bad = await hooks.get(endpoint_page, params={"status": "lost", "page": "x", "sort": "zz"})
    assert bad.status_code == 400
    assert "search: status must be one of pending, succeeded, failed." in bad.text

    customer = await make_customer(hooks_api, org.sk_test)
    await work(db, private_settings)
    by_type = await hooks.get(endpoint_page, params={"event_type": "customer.created"})
    assert by_type.text.count("<tr data-delivery=") == 1
    assert customer["emailAddress"] in json.loads(receiver.received()[-1].body)["data"].values()


def _row(page: str, delivery_id: str) -> str:
    found = re.search(rf'<tr data-delivery="{delivery_id}">(.*?)</tr>', page, re.DOTALL)
    assert found, page
    return found.group(1)


async def test_an_endpoint_is_changed_disabled_its_secret_rolled_and_deleted(
    hooks: httpx.AsyncClient,
    hooks_api: httpx.AsyncClient,
    db: Database,
    org: Org,
    receiver: Receiver,
) -> None:
    await _owner(db, hooks, org)
    hooks_page = f"{_base(org)}/webhooks"
    created = await _post(hooks, hooks_page, hooks_page, {"url": receiver.url(), "events": "*"})
    endpoint_page = created.headers["location"].split("?")[0]
    endpoint_id = endpoint_page.rsplit("/", 1)[1]
    before = await hooks_api.get(f"/webhooks/{endpoint_id}/secret", headers=bearer(org.sk_test))
    rolled = await _post(hooks, endpoint_page, f"{endpoint_page}/roll-secret")
    assert rolled.status_code == 200
    secret = SECRET.search(rolled.text)
    assert secret
    after = await hooks_api.get(f"/webhooks/{endpoint_id}/secret", headers=bearer(org.sk_test))
    assert after.json()["secret"] == secret.group(1) != before.json()["secret"]
    assert "The previous secret also signs until" in rolled.text
    assert SECRET.search((await hooks.get(endpoint_page)).text) is None

    changed = await _post(
        hooks,
        endpoint_page,
        endpoint_page,
        {
            "url": receiver.url("other"),
            "events": ["order.created", "order.canceled"],
            "description": "Orders <b>only</b>",
        },
    )
    assert changed.status_code == 303
    api = (await hooks_api.get(f"/webhooks/{endpoint_id}", headers=bearer(org.sk_test))).json()
    assert api["url"] == receiver.url("other") and api["isActive"] is False
    assert api["events"] == ["order.created", "order.canceled"]
    assert api["description"] == "Orders <b>only</b>"
    page = (await hooks.get(endpoint_page)).text
    assert "Orders &lt;b&gt;only&lt;/b&gt;" in page and "Disabled" in page
    refused = await _post(hooks, endpoint_page, f"{endpoint_page}/test")
    assert refused.status_code == 400
    assert "This endpoint is disabled: enable it first." in refused.text

    mistaken = await _post(
        hooks, endpoint_page, endpoint_page, {"url": "nope", "events": "*", "is_active": "on"}
    )
    assert mistaken.status_code == 400
    assert "Invalid request: url:" in mistaken.text
    assert (await hooks_api.get(f"/webhooks/{endpoint_id}", headers=bearer(org.sk_test))).json()[
        "url"
    ] == receiver.url("other")

    deleted = await _post(hooks, endpoint_page, f"{endpoint_page}/delete")
    assert deleted.headers["location"] == f"{hooks_page}?done=deleted"
    gone = await hooks_api.get(f"/webhooks/{endpoint_id}", headers=bearer(org.sk_test))
    assert gone.status_code == 404
    assert (await hooks.get(endpoint_page)).status_code == 404
    actions = [
        e["action"]
        for e in (
            await hooks_api.get(
                "/audit-log",
                params={"search": f"targetId:{endpoint_id}"},
                headers=bearer(org.sk_test),
            )
        ).json()["data"]
    ]
    assert sorted(actions) == sorted(
        [
            "webhook_endpoint.created",
            "webhook_endpoint.secret_rolled",
            "webhook_endpoint.updated",
            "webhook_endpoint.deleted",
        ]
    )


# Events


async def test_the_events_browser_filters_and_an_event_shows_its_payload_and_deliveries(
    hooks: httpx.AsyncClient,
    hooks_api: httpx.AsyncClient,
    db: Database,
    private_settings: Settings,
    org: Org,
    receiver: Receiver,
) -> None:
    await _owner(db, hooks, org)
    hooks_page = f"{_base(org)}/webhooks"
    await _post(hooks, hooks_page, hooks_page, {"url": receiver.url(), "events": "*"})
    customer = await make_customer(hooks_api, org.sk_test, firstName="<script>x</script>")
    await make_customer(hooks_api, org.sk_live)
    await work(db, private_settings)
    events_page = f"{_base(org)}/events"
    listed = await hooks.get(events_page)
    api_events = (await hooks_api.get("/events", headers=bearer(org.sk_test))).json()["data"]
    assert listed.text.count("<tr data-event=") == len(api_events) >= 1
    created = next(e for e in api_events if e["type"] == "customer.created")
    by_type = await hooks.get(events_page, params={"type": "customer.created"})
    assert by_type.text.count("<tr data-event=") == 1 and created["id"] in by_type.text
    none = await hooks.get(events_page, params={"type": "order.created"})
    assert none.text.count("<tr data-event=") == 0
    oldest = await hooks.get(
        events_page, params={"sort": "createdAt", "dir": "asc", "page": "99999"}
    )
    assert oldest.status_code == 200

    event_page = f"{events_page}/{created['id']}"
    shown = await hooks.get(event_page)
    assert shown.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in shown.text and "<script>x" not in shown.text
    pretty = json.dumps(created["data"], indent=2, ensure_ascii=False)
    assert str(escape(pretty)) in shown.text
    assert customer["id"] in shown.text
    assert shown.text.count("<tr data-delivery=") == 1 and receiver.url() in shown.text

    again = await _post(hooks, event_page, f"{event_page}/redeliver")
    assert again.headers["location"] == f"{event_page}?done=redelivered&count=1"
    page = await hooks.get(again.headers["location"])
    assert "New deliveries queued: 1." in page.text
    assert page.text.count("<tr data-delivery=") == 2 and "redelivery" in page.text
    await work(db, private_settings)
    assert len(receiver.received()) == 2
    assert receiver.received()[0].webhook_id != receiver.received()[1].webhook_id
    pending = await hooks.get(event_page, params={"status": "pending"})
    assert pending.text.count("<tr data-delivery=") == 0
    first = receiver.received()[0].webhook_id
    retry = f"{_base(org)}/deliveries/{first}/retry"
    retried = await _post(hooks, event_page, retry, {"back": "event"})
    assert retried.headers["location"] == f"{event_page}?done=retried"
    assert "pending" in _row((await hooks.get(event_page)).text, first)
    await work(db, private_settings)
    assert [r.webhook_id for r in receiver.received()][2:] == [first]


# Roles, other organizations, bad input


async def _endpoint_and_event(
    client: httpx.AsyncClient, org: Org
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An endpoint on a closed loopback port (nothing leaves the machine) and an event."""
    made = await client.post(
        "/webhooks", json={"url": closed_port_url(), "events": ["*"]}, headers=bearer(org.sk_test)
    )
    assert made.status_code == 201, made.text
    await make_customer(client, org.sk_test)
    event = (await client.get("/events", headers=bearer(org.sk_test))).json()["data"][0]
    return made.json(), event


async def test_a_viewer_sees_no_form_and_every_change_is_refused(
    browser: httpx.AsyncClient, hooks_api: httpx.AsyncClient, db: Database, org: Org
) -> None:
    client = hooks_api
    await _owner(db, browser, org, role="viewer")
    endpoint, event = await _endpoint_and_event(client, org)
    pages = [
        _base(org),
        f"{_base(org)}/webhooks",
        f"{_base(org)}/webhooks/{endpoint['id']}",
        f"{_base(org)}/events",
        f"{_base(org)}/events/{event['id']}",
    ]
    for page in pages:
        shown = await browser.get(page)
        assert shown.status_code == 200, page
        assert 'method="post" action="/dashboard/o/' + org.id + "/developers" not in shown.text
    key_id = _key_id((await browser.get(_base(org))).text, _preview(org.sk_test))
    for action in [
        f"{_base(org)}/keys",
        f"{_base(org)}/keys/{key_id}/roll",
        f"{_base(org)}/keys/{key_id}/revoke",
        f"{_base(org)}/webhooks",
        f"{_base(org)}/webhooks/{endpoint['id']}",
        f"{_base(org)}/webhooks/{endpoint['id']}/secret",
        f"{_base(org)}/webhooks/{endpoint['id']}/roll-secret",
        f"{_base(org)}/webhooks/{endpoint['id']}/test",
        f"{_base(org)}/webhooks/{endpoint['id']}/delete",
        f"{_base(org)}/deliveries/whd_00000000000000/retry",
        f"{_base(org)}/events/{event['id']}/redeliver",
    ]:
        refused = await _post(
            browser, _base(org), action, {"name": "x", "url": "https://a.b"}, offered=False
        )
        assert refused.status_code == 403, action
        assert "Your role in this organization does not allow this." in refused.text
    still = await client.get(f"/webhooks/{endpoint['id']}", headers=bearer(org.sk_test))
    assert still.status_code == 200
    assert secrets_shown(await browser.get(pages[2])) is None


def secrets_shown(page: httpx.Response) -> str | None:
    found = SECRET.search(page.text)
    return found.group(1) if found else None


async def test_another_organizations_ids_are_the_404_page(
    browser: httpx.AsyncClient, hooks_api: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    client = hooks_api
    await _owner(db, browser, org)
    theirs, _ = await _endpoint_and_event(client, other_org)
    sent = await client.post(f"/webhooks/{theirs['id']}/test", headers=bearer(other_org.sk_test))
    delivery = sent.json()
    their_key = (await client.get("/api-keys", headers=bearer(other_org.sk_test))).json()["data"][0]
    base = _base(org)
    for page in [
        f"{base}/webhooks/{theirs['id']}",
        f"{base}/events/{delivery['eventId']}",
        f"{base}/webhooks/we_unknown",
        f"{base}/events/evt_unknown",
        f"/dashboard/o/{other_org.id}/developers",
    ]:
        answer = await browser.get(page)
        assert answer.status_code == 404, page
        assert "There is no such page, or it is not yours to see." in answer.text
    for action in [
        f"{base}/keys/{their_key['id']}/roll",
        f"{base}/keys/{their_key['id']}/revoke",
        f"{base}/webhooks/{theirs['id']}",
        f"{base}/webhooks/{theirs['id']}/secret",
        f"{base}/webhooks/{theirs['id']}/roll-secret",
        f"{base}/webhooks/{theirs['id']}/test",
        f"{base}/webhooks/{theirs['id']}/delete",
        f"{base}/deliveries/{delivery['id']}/retry",
        f"{base}/events/{delivery['eventId']}/redeliver",
    ]:
        data = {"hours": "1", "url": "https://a.b", "events": "*"}
        answer = await _post(browser, base, action, data, offered=False)
        assert answer.status_code == 404, action
    still = await client.get(f"/webhooks/{theirs['id']}", headers=bearer(other_org.sk_test))
    assert still.status_code == 200
    keys = (await client.get("/api-keys", headers=bearer(other_org.sk_test))).json()["data"]
    assert [k["expiresAt"] for k in keys if k["id"] == their_key["id"]] == [None]


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=99999999999",
        "page=-3",
        "sort=secret&dir=sideways",
        "type=%01%FF",
        "type=%00",
        "type=" + "x" * 5000,
        "url=%2C%2C&active=maybe",
        "status=,&event_type=%3A",
    ],
)
async def test_garbage_in_the_query_is_never_a_500(
    browser: httpx.AsyncClient, hooks_api: httpx.AsyncClient, db: Database, org: Org, query: str
) -> None:
    await _owner(db, browser, org)
    endpoint, event = await _endpoint_and_event(hooks_api, org)
    for page in [
        _base(org),
        f"{_base(org)}/webhooks",
        f"{_base(org)}/webhooks/{endpoint['id']}",
        f"{_base(org)}/events",
        f"{_base(org)}/events/{event['id']}",
    ]:
        answer = await browser.get(f"{page}?{query}")
        expected = (404,) if "%00" in query else (200, 400)
        assert answer.status_code in expected, (page, answer.text)
        assert "<h1>" in answer.text


async def test_the_pages_speak_french(
    browser: httpx.AsyncClient, hooks_api: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await _owner(db, browser, org)
    endpoint, event = await _endpoint_and_event(hooks_api, org)
    chosen = await _post(
        browser, _base(org), "/dashboard/language", {"locale": "fr_FR", "next": _base(org)}
    )
    assert chosen.status_code == 303
    for page, text in [
        (_base(org), "Créer une clé"),
        (f"{_base(org)}/webhooks", "Ajouter un point de terminaison"),
        (f"{_base(org)}/webhooks/{endpoint['id']}", "Envoyer un événement de test"),
        (f"{_base(org)}/events", "Événements du mode test"),
        (f"{_base(org)}/events/{event['id']}", "Renvoyer aux points de terminaison abonnés"),
    ]:
        shown = await browser.get(page)
        assert shown.status_code == 200, page
        assert text in shown.text, page
        assert 'lang="fr-FR"' in shown.text

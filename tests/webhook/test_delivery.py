"""Deliveries: fan-out to the subscribed endpoints, signed requests to a real receiver,
retries on the schedule, failure after the last attempt, and the endpoint disabled after
5 days of failures."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kohort.config import Settings
from kohort.db import Database
from kohort.event.jobs import fan_out
from kohort.models import WebhookDelivery
from kohort.webhook.jobs import RETRY_DELAYS
from tests.factories import Org, bearer
from tests.order.api import frozen_at
from tests.webhook.api import (
    create_endpoint,
    deliver,
    deliveries_of,
    event_of,
    fan_out_all,
    new_event,
    secret_of,
    work,
)
from tests.webhook.receiver import Receiver, closed_port_url

START = datetime(2032, 5, 6, 7, 8, 9, tzinfo=UTC)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_an_event_reaches_its_subscribers_signed_as_get_event_returns_it(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    everything = await create_endpoint(client, org.sk_test, receiver.url("all"))
    customers = await create_endpoint(
        client, org.sk_test, receiver.url("customers"), events=["customer.created"]
    )
    await create_endpoint(client, org.sk_test, receiver.url("orders"), events=["order.created"])
    await create_endpoint(client, org.sk_test, receiver.url("off"), isActive=False)
    await create_endpoint(client, org.sk_live, "https://93.184.215.14/live")
    event = await new_event(client, org.sk_test)

    await work(db, settings)

    assert {r.path.rsplit("/", 1)[1] for r in receiver.received()} == {"all", "customers"}
    assert len(receiver.received()) == 2
    expected = await event_of(client, org.sk_test, event["id"])
    for endpoint, name in ((everything, "all"), (customers, "customers")):
        (request,) = receiver.received(name)
        secret = await secret_of(client, org.sk_test, endpoint["id"])
        assert request.verify(secret) == expected
        assert json.loads(request.body) == expected
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "Kohort-Webhooks/1"
        for name_ in ("id", "timestamp", "signature"):
            assert request.headers[f"svix-{name_}"] == request.headers[f"webhook-{name_}"]
        assert request.headers["webhook-signature"].startswith("v1,")
        (delivery,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert request.webhook_id == delivery["id"]
        assert delivery["object"] == "webhook_delivery"
        assert delivery["eventId"] == event["id"]
        assert delivery["eventType"] == "customer.created"
        assert delivery["status"] == "succeeded"
        assert delivery["attempts"] == 1
        assert delivery["lastResponseStatus"] == 200
        assert delivery["lastResponseBody"] == "answer 200"
        assert delivery["lastError"] is None
        assert delivery["nextAttemptAt"] is None
        assert isinstance(delivery["durationMs"], int)

    await work(db, settings)
    assert len(receiver.received()) == 2


async def test_other_organizations_and_modes_get_nothing(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    other_org: Org,
    receiver: Receiver,
) -> None:
    await create_endpoint(client, other_org.sk_test, receiver.url("other"))
    await new_event(client, org.sk_test)
    await work(db, settings)
    assert receiver.received() == []


async def test_concurrent_fan_outs_plan_one_delivery_per_event_and_endpoint(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    endpoints = [
        await create_endpoint(client, org.sk_test, f"http://127.0.0.1:9/{n}") for n in range(3)
    ]
    events = [await new_event(client, org.sk_test) for _ in range(20)]
    await asyncio.gather(*(fan_out(db, now=datetime.now(UTC), limit=7) for _ in range(8)))
    await fan_out_all(db)
    async with db.read() as session:
        rows = (
            await session.execute(
                select(WebhookDelivery.event_id, WebhookDelivery.endpoint_id).where(
                    WebhookDelivery.endpoint_id.in_([e["id"] for e in endpoints])
                )
            )
        ).all()
    pairs = [(event_id, endpoint_id) for event_id, endpoint_id in rows]
    assert sorted(pairs) == sorted((v["id"], e["id"]) for v in events for e in endpoints)


async def test_a_receiver_answering_500_then_200_gets_the_delivery_on_retry_with_the_same_id(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    receiver.answers = [500]
    with frozen_at(START) as clock:
        endpoint = await create_endpoint(client, org.sk_test, receiver.url())
        await new_event(client, org.sk_test)
        await work(db, settings)
        (delivery,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert delivery["status"] == "pending"
        assert delivery["attempts"] == 1
        assert delivery["lastResponseStatus"] == 500
        assert delivery["lastResponseBody"] == "answer 500"
        assert delivery["lastError"] == "Answered 500."
        wait = moment(delivery["nextAttemptAt"]) - START
        assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)

        clock.shift(wait - timedelta(milliseconds=1))
        await deliver(db, settings)
        assert len(receiver.received()) == 1
        clock.shift(timedelta(milliseconds=1))
        await deliver(db, settings)
        first, second = receiver.received()
        assert first.webhook_id == second.webhook_id == delivery["id"]
        assert first.body == second.body
        (done,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert done["status"] == "succeeded"
        assert done["attempts"] == 2
        assert done["lastResponseStatus"] == 200
        assert done["lastError"] is None


async def test_a_receiver_that_is_down_gets_the_attempts_on_the_schedule_then_it_fails(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    with frozen_at(START) as clock:
        endpoint = await create_endpoint(client, org.sk_test, closed_port_url())
        await new_event(client, org.sk_test)
        await work(db, settings)
        for attempt, delay in enumerate(RETRY_DELAYS, start=1):
            (delivery,) = await deliveries_of(client, org.sk_test, endpoint["id"])
            assert delivery["status"] == "pending"
            assert delivery["attempts"] == attempt
            assert delivery["lastResponseStatus"] is None
            assert "Connect" in delivery["lastError"]
            now = datetime.now(UTC)
            wait = moment(delivery["nextAttemptAt"]) - now
            assert delay * 0.9 - timedelta(milliseconds=1) <= wait <= delay * 1.1, (attempt, wait)
            clock.shift(wait)
            await deliver(db, settings)
        (delivery,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert delivery["status"] == "failed"
        assert delivery["attempts"] == len(RETRY_DELAYS) + 1
        assert delivery["nextAttemptAt"] is None
        clock.shift(timedelta(days=2))
        await deliver(db, settings)
        (after,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert after == delivery


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    receiver.answers = [302]
    endpoint = await create_endpoint(client, org.sk_test, receiver.url())
    await new_event(client, org.sk_test)
    await work(db, settings)
    assert [r.path for r in receiver.received()] == [f"/{receiver.token}/hook"]
    (delivery,) = await deliveries_of(client, org.sk_test, endpoint["id"])
    assert delivery["status"] == "pending"
    assert delivery["lastResponseStatus"] == 302
    assert "redirects are not followed" in delivery["lastError"]


async def _stored_body(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> str | None:
    """What the delivery log kept of the receiver's answer to one event."""
    endpoint = await create_endpoint(client, org.sk_test, receiver.url())
    await new_event(client, org.sk_test)
    await work(db, settings)
    (delivery,) = await deliveries_of(client, org.sk_test, endpoint["id"])
    assert delivery["status"] == "succeeded", delivery
    body: str | None = delivery["lastResponseBody"]
    return body


async def test_only_the_first_256_characters_of_a_text_answer_are_kept(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    receiver.answer_body = "é€𝄞".encode() * 3000
    assert await _stored_body(client, db, settings, org, receiver) == ("é€𝄞" * 86)[:256]


async def test_control_and_format_characters_are_removed_from_a_kept_answer(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    receiver.answer_type = "application/problem+json"
    receiver.answer_body = (
        '\ufeff{"a":\x00"\x1b[31mred\x1b[0m",\r\n\t"b":"\u202egnp.exe\x7f\x85"}'.encode()
    )
    kept = await _stored_body(client, db, settings, org, receiver)
    assert kept == '{"a":"[31mred[0m",\n\t"b":"gnp.exe"}'


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=utf-8", "application/json", "application/xml", "application/atom+xml"],
)
async def test_text_json_and_xml_answers_are_kept(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    receiver: Receiver,
    content_type: str,
) -> None:
    receiver.answer_type = content_type
    receiver.answer_body = b"<ok/>"
    assert await _stored_body(client, db, settings, org, receiver) == "<ok/>"


@pytest.mark.parametrize(
    ("content_type", "body", "kept"),
    [
        (
            "application/octet-stream",
            bytes(range(37)),
            "(not stored: 37 bytes of application/octet-stream)",
        ),
        ("IMAGE/PNG; x=y", b"\x89PNG" * 2000, "(not stored: over 1024 bytes of image/png)"),
        (
            "application/x-www-form-urlencoded",
            b"secret=1",
            "(not stored: 8 bytes of application/x-www-form-urlencoded)",
        ),
        ("<script>/x", b"hidden", "(not stored: 6 bytes of an invalid content type)"),
        (None, b"no type given", "(not stored: 13 bytes without a content type)"),
        (None, b"", ""),
        ("text/plain", b"", ""),
    ],
)
async def test_other_answers_are_noted_never_kept(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    receiver: Receiver,
    content_type: str | None,
    body: bytes,
    kept: str,
) -> None:
    receiver.answer_type = content_type
    receiver.answer_body = body
    assert await _stored_body(client, db, settings, org, receiver) == kept


async def _disabled_events(client: httpx.AsyncClient, org: Org) -> list[dict[str, Any]]:
    response = await client.get(
        "/events", params={"search": "type:webhook_endpoint.disabled"}, headers=bearer(org.sk_test)
    )
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_an_endpoint_failing_for_5_days_is_disabled_with_an_event(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    with frozen_at(START) as clock:
        endpoint = await create_endpoint(client, org.sk_test, closed_port_url())
        watcher = await create_endpoint(
            client, org.sk_test, receiver.url(), events=["webhook_endpoint.disabled"]
        )
        await new_event(client, org.sk_test)
        await work(db, settings)

        clock.shift(timedelta(days=5) - timedelta(milliseconds=1))
        await new_event(client, org.sk_test)
        await work(db, settings)
        got = await client.get(f"/webhooks/{endpoint['id']}", headers=bearer(org.sk_test))
        assert got.json()["isActive"] is True
        assert await _disabled_events(client, org) == []

        clock.shift(timedelta(milliseconds=1))
        await new_event(client, org.sk_test)
        await work(db, settings)
        got = await client.get(f"/webhooks/{endpoint['id']}", headers=bearer(org.sk_test))
        assert got.json()["isActive"] is False
        (disabled,) = await _disabled_events(client, org)
        assert disabled["data"] == got.json()
        assert "secret" not in json.dumps(disabled["data"])

        await work(db, settings)
        (request,) = receiver.received()
        secret = await secret_of(client, org.sk_test, watcher["id"])
        assert request.verify(secret)["id"] == disabled["id"]

        before = len(await deliveries_of(client, org.sk_test, endpoint["id"]))
        await new_event(client, org.sk_test)
        await work(db, settings)
        assert len(await deliveries_of(client, org.sk_test, endpoint["id"])) == before


async def test_a_success_ends_the_failure_streak(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    receiver.answers = [500]
    with frozen_at(START) as clock:
        endpoint = await create_endpoint(
            client, org.sk_test, receiver.url(), events=["customer.created"]
        )
        await new_event(client, org.sk_test)
        await work(db, settings)
        clock.shift(timedelta(days=1))
        await new_event(client, org.sk_test)
        await work(db, settings)
        receiver.answers = [500]
        clock.shift(timedelta(days=4, hours=1))
        await new_event(client, org.sk_test)
        await work(db, settings)
        got = await client.get(f"/webhooks/{endpoint['id']}", headers=bearer(org.sk_test))
        assert got.json()["isActive"] is True
        assert await _disabled_events(client, org) == []


async def test_deliveries_name_the_endpoint_version_and_send_kohortpays_camel_case(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    kohortpay = await create_endpoint(
        client, org.sk_test, receiver.url("kp"), events=["customer.created"], apiVersion="kohortpay"
    )
    assert kohortpay["apiVersion"] == "kohortpay"
    by_request = await client.post(
        "/webhooks",
        json={"url": receiver.url("header"), "events": ["customer.created"]},
        headers={**bearer(org.sk_test), "Kohort-Version": "kohortpay"},
    )
    assert by_request.json()["api_version"] == "kohortpay", "the creating request's version"
    current = await create_endpoint(
        client, org.sk_test, receiver.url("now"), events=["customer.created"]
    )
    assert current["apiVersion"] == "2026-12-01"
    event = await new_event(client, org.sk_test)

    await work(db, settings)

    expected = await event_of(client, org.sk_test, event["id"])
    for name, version in (("kp", "kohortpay"), ("header", "kohortpay"), ("now", "2026-12-01")):
        (request,) = receiver.received(name)
        assert request.headers["kohort-version"] == version
        assert json.loads(request.body) == expected
        assert "emailAddress" in json.loads(request.body)["data"]
    changed = await client.patch(
        f"/webhooks/{current['id']}", json={"apiVersion": "kohortpay"}, headers=bearer(org.sk_test)
    )
    assert changed.json()["apiVersion"] == "kohortpay"
    refused = await client.patch(
        f"/webhooks/{current['id']}", json={"apiVersion": "v1"}, headers=bearer(org.sk_test)
    )
    assert refused.status_code == 400

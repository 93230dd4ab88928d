"""A worker killed mid-delivery, rolled secrets, the test event, retry and redelivery, the
destination re-checked before each attempt in both modes, and the metrics."""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from kohort.config import Settings
from kohort.db import Database
from kohort.webhook.jobs import LEASE, deliver_due
from tests.factories import Org, bearer
from tests.order.api import frozen_at
from tests.shapes import assert_error
from tests.webhook.api import (
    EVERYTHING,
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

START = datetime(2033, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_a_worker_killed_mid_delivery_loses_nothing(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    receiver.hang_next = 1
    with frozen_at(START) as clock:
        endpoint = await create_endpoint(client, org.sk_test, receiver.url())
        await new_event(client, org.sk_test)
        await fan_out_all(db)
        worker = asyncio.create_task(
            deliver_due(db, settings, now=datetime.now(UTC), limit=EVERYTHING)
        )
        assert await asyncio.to_thread(receiver.arrived.wait, 10)
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        (leased,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert leased["status"] == "pending"
        assert leased["attempts"] == 1
        assert leased["lastError"] is None

        clock.shift(LEASE - timedelta(milliseconds=1))
        await deliver(db, settings)
        assert len(receiver.received()) == 1
        clock.shift(timedelta(milliseconds=1))
        await deliver(db, settings)
        first, second = receiver.received()
        assert first.webhook_id == second.webhook_id == leased["id"]
        secret = await secret_of(client, org.sk_test, endpoint["id"])
        assert second.verify(secret) == first.verify(secret)
        (done,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert done["status"] == "succeeded"
        assert done["attempts"] == 2

        clock.shift(LEASE * 2)
        await deliver(db, settings)
        assert len(receiver.received()) == 2


async def test_a_rolled_secret_signs_alongside_the_new_one_for_24_hours(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    with frozen_at(START) as clock:
        endpoint = await create_endpoint(client, org.sk_test, receiver.url())
        old = await secret_of(client, org.sk_test, endpoint["id"])
        rolled = await client.post(
            f"/webhooks/{endpoint['id']}/roll-secret", headers=bearer(org.sk_test)
        )
        assert rolled.status_code == 200, rolled.text
        new = await secret_of(client, org.sk_test, endpoint["id"])

        clock.shift(timedelta(hours=24) - timedelta(milliseconds=1))
        await new_event(client, org.sk_test)
        await work(db, settings)
        (during,) = receiver.received()
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert during.verifies_with(old)
        assert during.verifies_with(new)

        clock.shift(timedelta(milliseconds=1))
        await new_event(client, org.sk_test)
        await work(db, settings)
        after = receiver.received()[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert after.verifies_with(new)
        assert not after.verifies_with(old)


async def test_the_test_event_goes_to_that_endpoint_only(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    tested = await create_endpoint(client, org.sk_test, receiver.url("tested"))
    await create_endpoint(client, org.sk_test, receiver.url("other"))
    response = await client.post(f"/webhooks/{tested['id']}/test", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    delivery = response.json()
    assert delivery["status"] == "pending"
    assert delivery["eventType"] == "webhook.test"
    assert delivery["attempts"] == 0
    assert receiver.received() == []

    await work(db, settings)
    (request,) = receiver.received()
    assert request.path.endswith("/tested")
    event = request.verify(await secret_of(client, org.sk_test, tested["id"]))
    assert event == await event_of(client, org.sk_test, delivery["eventId"])
    assert event["type"] == "webhook.test"
    assert event["data"] == tested
    assert request.webhook_id == delivery["id"]
    await work(db, settings)
    assert len(receiver.received()) == 1


async def test_a_disabled_endpoint_cannot_be_tested(client: httpx.AsyncClient, org: Org) -> None:
    endpoint = await create_endpoint(client, org.sk_test, "http://localhost:9/x", isActive=False)
    response = await client.post(f"/webhooks/{endpoint['id']}/test", headers=bearer(org.sk_test))
    assert_error(response, 400, "WEBHOOK_ENDPOINT_DISABLED", param="id")
    assert await deliveries_of(client, org.sk_test, endpoint["id"]) == []


async def test_a_failed_delivery_retried_is_sent_again_with_the_same_id(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    with frozen_at(START) as clock:
        endpoint = await create_endpoint(client, org.sk_test, closed_port_url())
        await new_event(client, org.sk_test)
        await work(db, settings)
        for _ in range(9):
            clock.shift(timedelta(hours=12))
            await deliver(db, settings)
        (failed,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert failed["status"] == "failed"

        moved = await client.patch(
            f"/webhooks/{endpoint['id']}", json={"url": receiver.url()}, headers=bearer(org.sk_test)
        )
        assert moved.status_code == 200
        retried = await client.post(
            f"/webhook-deliveries/{failed['id']}/retry", headers=bearer(org.sk_test)
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending"
        assert retried.json()["nextAttemptAt"] == retried.json()["updatedAt"]
        await deliver(db, settings)
        (request,) = receiver.received()
        assert request.webhook_id == failed["id"]
        (done,) = await deliveries_of(client, org.sk_test, endpoint["id"])
        assert done["status"] == "succeeded"
        assert done["attempts"] == failed["attempts"] + 1

        off = await client.patch(
            f"/webhooks/{endpoint['id']}", json={"isActive": False}, headers=bearer(org.sk_test)
        )
        assert off.status_code == 200
        refused = await client.post(
            f"/webhook-deliveries/{failed['id']}/retry", headers=bearer(org.sk_test)
        )
        assert_error(refused, 400, "WEBHOOK_ENDPOINT_DISABLED")
        unknown = await client.post(
            "/webhook-deliveries/whd_00000000000000/retry", headers=bearer(org.sk_test)
        )
        assert_error(unknown, 404, "NOT_FOUND", param="id")


async def test_redelivering_an_event_sends_it_again_to_its_current_subscribers(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    first = await create_endpoint(client, org.sk_test, receiver.url("first"))
    event = await new_event(client, org.sk_test)
    await work(db, settings)
    (original,) = receiver.received()

    await create_endpoint(client, org.sk_test, receiver.url("later"), events=["customer.created"])
    await create_endpoint(client, org.sk_test, receiver.url("orders"), events=["order.created"])
    await create_endpoint(client, org.sk_test, receiver.url("off"), isActive=False)
    response = await client.post(f"/events/{event['id']}/redeliver", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["count"] == 2
    assert all(d["status"] == "pending" and d["eventId"] == event["id"] for d in page["data"])

    await work(db, settings)
    again = receiver.received()[1:]
    assert sorted(r.path.rsplit("/", 1)[1] for r in again) == ["first", "later"]
    resent = next(r for r in again if r.path.endswith("/first"))
    assert resent.webhook_id != original.webhook_id
    assert resent.body == original.body
    secret = await secret_of(client, org.sk_test, first["id"])
    assert resent.verify(secret) == original.verify(secret)
    assert len(await deliveries_of(client, org.sk_test, first["id"])) == 2

    unknown = await client.post("/events/evt_00000000000000/redeliver", headers=bearer(org.sk_test))
    assert_error(unknown, 404, "NOT_FOUND", param="id")


@pytest.mark.parametrize(
    ("mode", "scheme", "refusal"),
    [
        ("test", "http", "Not sent: Webhook endpoints need an https:// URL"),
        ("test", "https", "Not sent: '127.0.0.1' resolves to 127.0.0.1, a loopback address"),
        ("live", "https", "Not sent: '127.0.0.1' resolves to 127.0.0.1, a loopback address"),
    ],
)
async def test_the_destination_is_checked_again_before_each_attempt_in_both_modes(
    client: httpx.AsyncClient,
    db: Database,
    default_settings: Settings,
    org: Org,
    receiver: Receiver,
    mode: str,
    scheme: str,
    refusal: str,
) -> None:
    """Created while private destinations were allowed; the worker's settings refuse them."""
    key = org.sk_live if mode == "live" else org.sk_test
    url = receiver.url().replace("http:", f"{scheme}:", 1)
    endpoint = await create_endpoint(client, key, url)
    tested = await client.post(f"/webhooks/{endpoint['id']}/test", headers=bearer(key))
    assert tested.status_code == 200, tested.text
    await work(db, default_settings)
    (delivery,) = await deliveries_of(client, key, endpoint["id"])
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 1
    assert delivery["lastResponseStatus"] is None
    assert delivery["lastResponseBody"] is None
    assert delivery["durationMs"] is None
    assert delivery["lastError"].startswith(refusal), delivery["lastError"]
    assert receiver.received() == []


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_attempts_successes_and_failures_are_counted(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, receiver: Receiver
) -> None:
    names = ("kohort_webhook_attempts_total", "kohort_webhook_succeeded_total")
    failed_name = "kohort_webhook_failed_total"
    before = {name: _metric(name) for name in (*names, failed_name)}
    receiver.answers = [500]
    await create_endpoint(client, org.sk_test, receiver.url("a"))
    await create_endpoint(client, org.sk_test, receiver.url("b"))
    await new_event(client, org.sk_test)
    await work(db, settings)
    assert _metric("kohort_webhook_attempts_total") - before[names[0]] >= 2
    assert _metric("kohort_webhook_succeeded_total") - before[names[1]] >= 1
    assert _metric(failed_name) - before[failed_name] >= 1

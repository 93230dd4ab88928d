"""Test clocks: a merchant rehearses the whole life of a 90-day test group in seconds."""

from typing import Any

import httpx
import pytest

from kohort.db import Database
from kohort.worker import Worker
from tests.factories import Org, bearer
from tests.group_settings.api import patched
from tests.order.api import fetch, group_events, join, new_group
from tests.shapes import GROUP_FIELDS, assert_error


async def advance(client: httpx.AsyncClient, key: str, group: str, body: Any) -> httpx.Response:
    return await client.post(
        f"/test-helpers/groups/{group}/advance", json=body, headers=bearer(key)
    )


async def advanced(client: httpx.AsyncClient, key: str, group: str, body: Any) -> dict[str, Any]:
    response = await advance(client, key, group, body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_90_day_group_goes_through_its_reminders_and_completes(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await patched(client, org, {"minutesDuration": 129_600})
    group = await new_group(client, org.sk_test)
    worker = Worker(db=db)
    assert group["jPlus3StartAt"] is not None and group["jMinus2ExpireAt"] is not None

    moved = await advanced(client, org.sk_test, group["id"], {"to": group["jPlus3StartAt"]})
    assert set(moved) == GROUP_FIELDS
    assert moved["createdAt"] == group["createdAt"]
    assert moved["expiresAt"] < group["expiresAt"]
    await worker.sweep()
    assert (await fetch(client, org.sk_test, group["id"]))["reminderEmailSent"] == "DAY3_SENT"

    await advanced(client, org.sk_test, group["id"], {"to": moved["jMinus2ExpireAt"]})
    await worker.sweep()
    assert (await fetch(client, org.sk_test, group["id"]))["reminderEmailSent"] == (
        "DAY2_BEFORE_END_SENT"
    )
    reminders = await group_events(client, org.sk_test, "payment_group.reminder_due", group["id"])
    assert [e["data"]["reminderEmailSent"] for e in reversed(reminders)] == [
        "DAY3_SENT",
        "DAY2_BEFORE_END_SENT",
    ]

    await join(client, org.sk_test, group["shareId"])
    await advanced(client, org.sk_test, group["shareId"].lower(), {"seconds": 3 * 24 * 3600})
    await worker.sweep()
    ended = await fetch(client, org.sk_test, group["id"])
    assert ended["status"] == "COMPLETED"
    assert len(await group_events(client, org.sk_test, "payment_group.succeeded", group["id"])) == 1


async def test_a_live_key_cannot_move_time(client: httpx.AsyncClient, org: Org) -> None:
    group = await new_group(client, org.sk_live)
    response = await advance(client, org.sk_live, group["id"], {"seconds": 60})
    assert_error(response, 403, "LIVE_MODE_NOT_ALLOWED")
    assert (await fetch(client, org.sk_live, group["id"]))["expiresAt"] == group["expiresAt"]


async def test_a_publishable_key_cannot_move_time(client: httpx.AsyncClient, org: Org) -> None:
    group = await new_group(client, org.sk_test)
    response = await advance(client, org.pk_test, group["id"], {"seconds": 60})
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"seconds": 60, "to": "2030-01-01T00:00:00Z"},
        {"seconds": 0},
        {"seconds": "60"},
        {"to": "2000-01-01T00:00:00Z"},
        {"to": "not a time"},
    ],
)
async def test_bad_advances_change_nothing(
    client: httpx.AsyncClient, org: Org, body: dict[str, Any]
) -> None:
    group = await new_group(client, org.sk_test)
    response = await advance(client, org.sk_test, group["id"], body)
    assert_error(response, 400, "VALIDATION_ERROR")
    assert (await fetch(client, org.sk_test, group["id"]))["expiresAt"] == group["expiresAt"]


async def test_an_ended_group_cannot_be_moved(client: httpx.AsyncClient, org: Org) -> None:
    group = await new_group(client, org.sk_test)
    expired = await client.post(f"/groups/{group['id']}/expire", headers=bearer(org.sk_test))
    assert expired.status_code == 200
    response = await advance(client, org.sk_test, group["id"], {"seconds": 60})
    assert_error(response, 400, "COMPLETED_EXPIRED_CANCELED")


async def test_another_organizations_group_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    group = await new_group(client, other_org.sk_test)
    response = await advance(client, org.sk_test, group["id"], {"seconds": 60})
    assert_error(response, 404, "NOT_FOUND")

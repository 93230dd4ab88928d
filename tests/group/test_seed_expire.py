"""The seed endpoint, POST /groups/{id}/expire (seed/groups-expire.txt, API.md §2.1).

An OPEN group with its creator alone → EXPIRED now, `expiresAt` kept, `updatedAt` moved,
`payment_group.expired` recorded; every other case is refused and changes nothing."""

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import (
    PREFIXES,
    fetch,
    group_events,
    join,
    new_group,
    place_order,
    wire,
)
from tests.shapes import GROUP_FIELDS, TIMESTAMP, assert_error

TIMESTAMP_FIELDS = ("expiresAt", "midExpireAt", "createdAt", "updatedAt")
NULL_FIELDS = ("jMinus2ExpireAt", "jPlus3StartAt", "canceledAt", "completedAt")


async def expire(client: httpx.AsyncClient, key: str, id_or_code: str, prefix: str = "/groups"):
    return await client.post(f"{prefix}/{id_or_code}/expire", headers=bearer(key))


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("by", ["id", "code", "lowercase code"])
async def test_expire_a_lonely_open_group(
    client: httpx.AsyncClient, org: Org, frozen: Any, start: datetime, prefix: str, by: str
) -> None:
    group = await new_group(client, org.sk_test)
    patch = await client.patch(
        f"/groups/{group['id']}",
        json={"metadata": {"basket_id": "b-1"}},
        headers=bearer(org.sk_test),
    )
    assert patch.status_code == 200, patch.text
    frozen.shift(90)
    target = {"id": group["id"], "code": group["shareId"], "lowercase code": ""}[by]
    target = target or group["shareId"].lower()

    response = await expire(client, org.sk_test, target, prefix)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == GROUP_FIELDS
    assert body["id"] == group["id"]
    assert body["shareId"] == group["shareId"]
    assert body["status"] == "EXPIRED"
    assert body["reminderEmailSent"] == "NOT_SENT"
    assert body["livemode"] is False
    assert body["organizationId"] == org.id
    assert body["customerId"] == group["customerId"]
    assert body["customerId"].startswith("cus_")
    assert body["creatorEmail"] == group["creatorEmail"]
    assert body["metadata"] == {"basket_id": "b-1"}
    assert body["participantsCount"] == 1
    for name in TIMESTAMP_FIELDS:
        assert isinstance(body[name], str) and TIMESTAMP.match(body[name]), (name, body[name])
    for name in NULL_FIELDS:
        assert body[name] is None, name
    for name in ("createdBy", "updatedBy"):
        assert isinstance(body[name], str) and body[name].startswith("key_"), body[name]
    # The end is recorded by the status and updatedAt; expiresAt keeps the planned end.
    assert body["expiresAt"] == group["expiresAt"] == wire(start + timedelta(minutes=10))
    assert body["midExpireAt"] == group["midExpireAt"] == wire(start + timedelta(minutes=5))
    assert body["createdAt"] == group["createdAt"] == wire(start)
    assert group["updatedAt"] == wire(start)
    assert body["updatedAt"] == wire(start + timedelta(seconds=90))

    assert await fetch(client, org.sk_test, group["id"]) == body
    expired = await group_events(client, org.sk_test, "payment_group.expired", group["id"])
    assert len(expired) == 1
    assert expired[0]["data"] == body
    assert expired[0]["createdAt"] == wire(start + timedelta(seconds=90))


async def test_expiring_twice_is_an_error(client: httpx.AsyncClient, org: Org) -> None:
    group = await new_group(client, org.sk_test)
    assert (await expire(client, org.sk_test, group["id"])).status_code == 200
    before = await fetch(client, org.sk_test, group["id"])

    assert_error(await expire(client, org.sk_test, group["id"]), 400, "COMPLETED_EXPIRED_CANCELED")
    assert_error(
        await expire(client, org.sk_test, group["shareId"], "/payment-groups"),
        400,
        "COMPLETED_EXPIRED_CANCELED",
    )
    assert await fetch(client, org.sk_test, group["id"]) == before
    expired = await group_events(client, org.sk_test, "payment_group.expired", group["id"])
    assert len(expired) == 1


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_a_canceled_group_cannot_expire(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    canceled = await client.post(f"/groups/{group['id']}/cancel", headers=bearer(org.sk_test))
    assert canceled.status_code == 200, canceled.text

    assert_error(
        await expire(client, org.sk_test, group["id"], prefix), 400, "COMPLETED_EXPIRED_CANCELED"
    )
    after = await fetch(client, org.sk_test, group["id"])
    assert after == canceled.json()
    assert after["status"] == "CANCELED"
    assert await group_events(client, org.sk_test, "payment_group.expired", group["id"]) == []


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_a_completed_group_cannot_expire(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    await patched(client, org, {"maxParticipants": 2, "discountLevels": levels((2, 5))})
    group = await new_group(client, org.sk_test)
    await join(client, org.sk_test, group["shareId"])
    completed = await fetch(client, org.sk_test, group["id"])
    assert completed["status"] == "COMPLETED"

    assert_error(
        await expire(client, org.sk_test, group["id"], prefix), 400, "COMPLETED_EXPIRED_CANCELED"
    )
    assert await fetch(client, org.sk_test, group["id"]) == completed


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_a_group_with_participants_cannot_expire(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    group = await new_group(client, org.sk_test)
    await join(client, org.sk_test, group["shareId"])
    before = await fetch(client, org.sk_test, group["id"])
    assert before["participantsCount"] == 2

    error = assert_error(
        await expire(client, org.sk_test, group["id"], prefix), 400, "GROUP_HAS_PARTICIPANTS"
    )
    assert group["shareId"] in error["message"]
    assert await fetch(client, org.sk_test, group["id"]) == before
    assert await group_events(client, org.sk_test, "payment_group.expired", group["id"]) == []
    # The group stays joinable.
    await join(client, org.sk_test, group["shareId"])


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_an_unknown_group_is_not_found(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    for unknown in ("pg_0123456789abcd", "KHT-test-00000000", "nothing"):
        assert_error(await expire(client, org.sk_test, unknown, prefix), 404, "NOT_FOUND")


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_another_organizations_group_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, prefix: str
) -> None:
    group = await new_group(client, other_org.sk_test)
    for target in (group["id"], group["shareId"]):
        assert_error(await expire(client, org.sk_test, target, prefix), 404, "NOT_FOUND")
    assert await fetch(client, other_org.sk_test, group["id"]) == group


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_the_other_modes_group_is_not_found(
    client: httpx.AsyncClient, org: Org, prefix: str
) -> None:
    group = await new_group(client, org.sk_live)
    assert group["livemode"] is True
    for target in (group["id"], group["shareId"], group["shareId"].lower()):
        assert_error(await expire(client, org.sk_test, target, prefix), 404, "NOT_FOUND")
    assert await fetch(client, org.sk_live, group["id"]) == group
    # …and the live key expires it.
    response = await expire(client, org.sk_live, group["id"], prefix)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "EXPIRED"


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("mode", ["test", "live"])
async def test_a_publishable_key_may_not_expire(
    client: httpx.AsyncClient, org: Org, prefix: str, mode: str
) -> None:
    secret, publishable = org.keys[f"sk_{mode}"], org.keys[f"pk_{mode}"]
    group = await new_group(client, secret)
    for target in (group["id"], group["shareId"]):
        assert_error(
            await expire(client, publishable, target, prefix), 403, "PUBLISHABLE_KEY_NOT_ALLOWED"
        )
    assert await fetch(client, secret, group["id"]) == group


async def test_a_retry_with_the_same_idempotency_key_replays_the_answer(
    client: httpx.AsyncClient, org: Org
) -> None:
    group = await new_group(client, org.sk_test)
    headers = {**bearer(org.sk_test), "Idempotency-Key": f"expire-{group['id']}"}

    first = await client.post(f"/groups/{group['id']}/expire", headers=headers)
    second = await client.post(f"/groups/{group['id']}/expire", headers=headers)

    assert first.status_code == second.status_code == 200, second.text
    assert second.json() == first.json()
    assert first.json()["status"] == "EXPIRED"
    expired = await group_events(client, org.sk_test, "payment_group.expired", group["id"])
    assert len(expired) == 1
    # Without the key, the second attempt is the error it is.
    assert_error(await expire(client, org.sk_test, group["id"]), 400, "COMPLETED_EXPIRED_CANCELED")


async def test_an_expired_group_cannot_be_joined(client: httpx.AsyncClient, org: Org) -> None:
    group = await new_group(client, org.sk_test)
    assert (await expire(client, org.sk_test, group["id"])).status_code == 200

    order = await place_order(client, org.sk_test, code=group["shareId"])

    assert order["joinError"]["code"] == "COMPLETED_EXPIRED_CANCELED"
    assert order["paymentGroupId"] != group["id"]
    assert (await fetch(client, org.sk_test, group["id"]))["participantsCount"] == 1

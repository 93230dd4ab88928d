"""Every customer change appends an `events` row whose `data` is the customer as returned."""

import re
from typing import Any

import httpx

from kohort.db import Database
from tests.customer.rows import create, stored_events
from tests.factories import Org, bearer


async def test_each_change_records_the_customer_as_returned(
    client: httpx.AsyncClient, db: Database, org: Org, other_org: Org, frozen: Any
) -> None:
    headers = bearer(org.sk_test)
    steps: list[tuple[str, httpx.Response]] = []
    created = await create(client, org.sk_test, {"emailAddress": "ev@example.com"})
    customer_path = f"/customers/{created.json()['id']}"
    steps.append(("customer.created", created))
    frozen.shift(1)
    steps.append(
        (
            "customer.updated",
            await client.patch(customer_path, json={"firstName": "Eve"}, headers=headers),
        )
    )
    frozen.shift(1)
    steps.append(
        ("customer.updated", await client.patch(f"{customer_path}/block", headers=headers))
    )
    frozen.shift(1)
    steps.append(("customer.updated", await client.delete(customer_path, headers=headers)))
    frozen.shift(1)
    steps.append(
        ("customer.updated", await client.post(f"{customer_path}/restore", headers=headers))
    )
    await create(client, other_org.sk_test, {"emailAddress": "ev@example.com"})

    events = await stored_events(db, org.id)

    assert [response.status_code for _, response in steps] == [201, 200, 200, 200, 200]
    assert [(e.type, e.data) for e in events] == [
        (event_type, response.json()) for event_type, response in steps
    ]
    assert [e.data["updatedAt"] for e in events] == [
        f"2030-01-02T03:04:0{5 + n}.678Z" for n in range(5)
    ]
    assert [
        (e.data["firstName"], e.data["isBlocked"], e.data["deletedAt"] is None) for e in events
    ] == [
        (None, False, True),
        ("Eve", False, True),
        ("Eve", True, True),
        ("Eve", True, False),
        ("Eve", True, True),
    ]
    for event in events:
        assert re.fullmatch(r"evt_[0-9a-f]{14}", event.id)
        assert (event.organization_id, event.livemode) == (org.id, False)
        assert (
            event.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            == (event.data["updatedAt"])
        )


async def test_live_changes_record_live_events(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    created = await create(client, org.sk_live, {"emailAddress": "live@example.com"})

    [event] = await stored_events(db, org.id)

    assert created.status_code == 201, created.text
    assert (event.type, event.livemode, event.data) == ("customer.created", True, created.json())


async def test_expanded_response_records_the_plain_customer(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    response = await client.post(
        "/customers",
        params={"expand[]": "organization"},
        json={"emailAddress": "x@example.com"},
        headers=bearer(org.sk_test),
    )

    [event] = await stored_events(db, org.id)

    assert response.status_code == 201, response.text
    assert response.json()["organization"]["id"] == org.id
    assert "organization" not in event.data
    assert event.data == {k: v for k, v in response.json().items() if k != "organization"}


async def test_a_refused_request_records_nothing(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    created = await create(client, org.sk_test, {"emailAddress": "x@example.com"})
    path = f"/customers/{created.json()['id']}"
    headers = bearer(org.sk_test)

    refused = [
        await create(client, org.sk_test, {"emailAddress": "X@example.com"}),
        await create(client, org.sk_test, {"emailAddress": "y@example.com", "locale": "xx"}),
        await client.patch(path, json={"emailAddress": None}, headers=headers),
        await client.patch(path, json={"phoneNumber": "1"}, headers=headers),
        await client.patch(path, json={"firstName": "X"}, headers=bearer(org.pk_test)),
        await client.delete("/customers/cus_00000000000000", headers=headers),
    ]

    assert [r.status_code for r in refused] == [409, 400, 400, 400, 403, 404]
    assert [e.type for e in await stored_events(db, org.id)] == ["customer.created"]


async def test_a_patch_that_changes_nothing_records_nothing(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await create(
        client, org.sk_test, {"emailAddress": "same@example.com", "firstName": "Sam"}
    )
    path = f"/customers/{created.json()['id']}"
    frozen.shift(5)

    unchanged = await client.patch(
        path,
        json={"firstName": "Sam", "emailAddress": "same@example.com", "locale": "fr_FR"},
        headers=bearer(org.sk_test),
    )

    assert unchanged.status_code == 200
    assert unchanged.json() == created.json()
    assert [e.type for e in await stored_events(db, org.id)] == ["customer.created"]

"""Block, unblock, soft delete and restore (by route, and by re-creating with the e-mail)."""

from typing import Any

import httpx
import pytest

from kohort.db import Database
from tests.customer.conftest import START_TEXT
from tests.customer.rows import (
    create,
    fetch,
    issue_secret_key,
    key_record_id,
    stored_customers,
    stored_events,
)
from tests.factories import Org, bearer, make_customer
from tests.shapes import assert_error

LATER = "2030-01-02T03:04:15.678Z"
"""`START` + 10 s."""


async def act(client: httpx.AsyncClient, key: str, customer_id: str, action: str) -> httpx.Response:
    """`block`, `unblock`, `delete` or `restore` through its route."""
    headers = bearer(key)
    if action == "delete":
        return await client.delete(f"/customers/{customer_id}", headers=headers)
    if action == "restore":
        return await client.post(f"/customers/{customer_id}/restore", headers=headers)
    return await client.patch(f"/customers/{customer_id}/{action}", headers=headers)


async def listed_ids(client: httpx.AsyncClient, key: str) -> list[str]:
    response = await client.get("/customers", headers=bearer(key))
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["data"]]


async def event_types(db: Database, org: Org) -> list[str]:
    """The types recorded, sorted (the frozen clock gives several events the same time)."""
    return sorted(e.type for e in await stored_events(db, org.id))


async def test_block_sets_who_and_when(
    client: httpx.AsyncClient, db: Database, org: Org, sk_test_id: str, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="b@example.com")
    frozen.shift(10)

    response = await act(client, org.sk_test, created["id"], "block")

    assert response.status_code == 200, response.text
    assert response.json() == {
        **created,
        "isBlocked": True,
        "blockedAt": LATER,
        "blockedBy": sk_test_id,
        "updatedAt": LATER,
        "updatedBy": sk_test_id,
    }
    assert await fetch(client, org.sk_test, created["id"]) == response.json()
    assert await event_types(db, org) == ["customer.created", "customer.updated"]


async def test_blocking_twice_changes_nothing_the_second_time(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="b@example.com")
    first = await act(client, org.sk_test, created["id"], "block")
    other_key = await issue_secret_key(db, org.id)
    frozen.shift(10)

    second = await act(client, other_key, created["id"], "block")

    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert second.json()["blockedAt"] == START_TEXT
    assert await event_types(db, org) == ["customer.created", "customer.updated"]


async def test_unblock_clears_the_block(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="b@example.com")
    await act(client, org.sk_test, created["id"], "block")
    other_key = await issue_secret_key(db, org.id)
    frozen.shift(10)

    response = await act(client, other_key, created["id"], "unblock")

    assert response.status_code == 200, response.text
    assert response.json() == {
        **created,
        "updatedAt": LATER,
        "updatedBy": await key_record_id(db, other_key),
    }
    assert await event_types(db, org) == ["customer.created"] + ["customer.updated"] * 2


async def test_unblocking_an_unblocked_customer_changes_nothing(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="b@example.com")
    frozen.shift(10)

    once = await act(client, org.sk_test, created["id"], "unblock")
    await act(client, org.sk_test, created["id"], "block")
    await act(client, org.sk_test, created["id"], "unblock")
    twice = await act(client, org.sk_test, created["id"], "unblock")

    assert once.status_code == twice.status_code == 200
    assert once.json() == created
    assert twice.json() == {**created, "updatedAt": LATER}
    assert await event_types(db, org) == ["customer.created"] + ["customer.updated"] * 2


async def test_delete_is_soft(
    client: httpx.AsyncClient, db: Database, org: Org, sk_test_id: str, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="d@example.com")
    kept = await make_customer(client, org.sk_test, emailAddress="k@example.com")
    frozen.shift(10)

    response = await act(client, org.sk_test, created["id"], "delete")

    assert response.status_code == 200, response.text
    assert response.json() == {
        **created,
        "deletedAt": LATER,
        "updatedAt": LATER,
        "updatedBy": sk_test_id,
    }
    assert await listed_ids(client, org.sk_test) == [kept["id"]]
    assert await fetch(client, org.sk_test, created["id"]) == response.json()
    rows = {c.id: c for c in await stored_customers(db, org.id)}
    assert rows[created["id"]].deleted_at is not None
    assert await event_types(db, org) == ["customer.created"] * 2 + ["customer.updated"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/customers/{id}", {"firstName": "Ghost"}),
        ("PATCH", "/customers/{id}/block", None),
        ("PATCH", "/customers/{id}/unblock", None),
        ("DELETE", "/customers/{id}", None),
    ],
)
async def test_a_deleted_customer_cannot_be_changed(
    client: httpx.AsyncClient, db: Database, org: Org, method: str, path: str, body: Any
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="d@example.com")
    deleted = await act(client, org.sk_test, created["id"], "delete")
    assert deleted.status_code == 200, deleted.text

    response = await client.request(
        method, path.format(id=created["id"]), json=body, headers=bearer(org.sk_test)
    )

    assert_error(response, 404, "NOT_FOUND", param="id")
    assert await fetch(client, org.sk_test, created["id"]) == deleted.json()
    assert await event_types(db, org) == ["customer.created", "customer.updated"]


@pytest.mark.parametrize("action", ["block", "unblock", "delete", "restore"])
async def test_action_on_an_unknown_or_foreign_customer_is_not_found(
    client: httpx.AsyncClient, db: Database, org: Org, other_org: Org, action: str
) -> None:
    theirs = await make_customer(client, other_org.sk_test, emailAddress="x@example.com")
    live = await make_customer(client, org.sk_live, emailAddress="x@example.com")
    if action == "restore":
        for key, customer in ((other_org.sk_test, theirs), (org.sk_live, live)):
            assert (await act(client, key, customer["id"], "delete")).status_code == 200
            customer.update(await fetch(client, key, customer["id"]))

    responses = [
        await act(client, org.sk_test, "cus_00000000000000", action),
        await act(client, org.sk_test, theirs["id"], action),
        await act(client, org.sk_test, live["id"], action),
    ]

    for response in responses:
        assert_error(response, 404, "NOT_FOUND", param="id")
    assert await fetch(client, other_org.sk_test, theirs["id"]) == theirs
    assert await fetch(client, org.sk_live, live["id"]) == live


async def test_restore_undoes_a_soft_delete(
    client: httpx.AsyncClient, db: Database, org: Org, sk_test_id: str, frozen: Any
) -> None:
    created = await make_customer(
        client, org.sk_test, emailAddress="r@example.com", firstName="Rita", metadata={"a": "1"}
    )
    await act(client, org.sk_test, created["id"], "delete")
    frozen.shift(10)

    response = await act(client, org.sk_test, created["id"], "restore")

    assert response.status_code == 200, response.text
    assert response.json() == {**created, "updatedAt": LATER, "updatedBy": sk_test_id}
    assert await listed_ids(client, org.sk_test) == [created["id"]]
    changed = await client.patch(
        f"/customers/{created['id']}", json={"lastName": "Back"}, headers=bearer(org.sk_test)
    )
    assert changed.status_code == 200, changed.text
    assert await event_types(db, org) == ["customer.created"] + ["customer.updated"] * 3


async def test_restoring_a_customer_that_is_not_deleted_changes_nothing(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="r@example.com")
    frozen.shift(10)

    response = await act(client, org.sk_test, created["id"], "restore")

    assert response.status_code == 200, response.text
    assert response.json() == created
    assert await event_types(db, org) == ["customer.created"]


async def test_creating_with_a_deleted_customers_email_restores_it(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(
        client,
        org.sk_test,
        emailAddress="rose@example.com",
        firstName="Rose",
        lastName="Tyler",
        phoneNumber="+33612345678",
        metadata={"old": "1"},
    )
    await act(client, org.sk_test, created["id"], "block")
    await act(client, org.sk_test, created["id"], "delete")
    other_key = await issue_secret_key(db, org.id)
    frozen.shift(10)

    response = await create(
        client,
        other_key,
        {"emailAddress": "ROSE@example.com", "firstName": "Rosie", "metadata": {"new": "2"}},
    )

    assert response.status_code == 201, response.text
    other_key_id = await key_record_id(db, other_key)
    assert response.json() == {
        **created,
        "emailAddress": "ROSE@example.com",
        "firstName": "Rosie",
        "metadata": {"new": "2"},
        "isBlocked": True,
        "blockedAt": START_TEXT,
        "blockedBy": created["createdBy"],
        "updatedAt": LATER,
        "updatedBy": other_key_id,
    }
    [row] = await stored_customers(db, org.id)
    assert (row.id, row.deleted_at, row.email_key) == (created["id"], None, "rose@example.com")
    assert await listed_ids(client, org.sk_test) == [created["id"]]
    assert await event_types(db, org) == ["customer.created"] + ["customer.updated"] * 3


async def test_restoring_by_creation_reads_a_national_phone_in_the_kept_locale(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await make_customer(
        client, org.sk_test, emailAddress="us@example.com", locale="en_US"
    )
    await act(client, org.sk_test, created["id"], "delete")

    response = await create(
        client, org.sk_test, {"emailAddress": "us@example.com", "phoneNumber": "(202) 555-0143"}
    )

    assert response.status_code == 201, response.text
    assert (response.json()["locale"], response.json()["phoneNumber"]) == ("en_US", "+12025550143")


async def test_creating_with_a_deleted_customers_email_validates_like_a_create(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="v@example.com")
    deleted = await act(client, org.sk_test, created["id"], "delete")

    response = await create(
        client, org.sk_test, {"emailAddress": "v@example.com", "phoneNumber": "12"}
    )

    assert_error(response, 400, "VALIDATION_ERROR", param="phoneNumber")
    assert await fetch(client, org.sk_test, created["id"]) == deleted.json()
    assert await event_types(db, org) == ["customer.created", "customer.updated"]


async def test_restoring_by_creation_with_a_null_locale_keeps_the_locale(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="n@example.com", locale="en_GB")
    await act(client, org.sk_test, created["id"], "delete")

    response = await create(
        client, org.sk_test, {"emailAddress": "n@example.com", "locale": None, "lastName": None}
    )

    assert response.status_code == 201, response.text
    assert (response.json()["id"], response.json()["locale"]) == (created["id"], "en_GB")
    assert response.json()["deletedAt"] is None

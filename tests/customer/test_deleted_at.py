"""PATCH /customers/{id} with `deletedAt` (the SDKs' update): a time soft-deletes the
customer as DELETE does, `null` restores it as POST …/restore does."""

from typing import Any

import httpx
import pytest

from kohort.db import Database
from tests.customer.conftest import START_TEXT
from tests.customer.rows import fetch, stored_customers, stored_events
from tests.factories import Org, bearer, make_customer
from tests.shapes import assert_error

LATER = "2030-01-02T03:04:15.678Z"
"""`START` + 10 s."""


async def patch(client: httpx.AsyncClient, key: str, customer_id: str, body: Any) -> httpx.Response:
    return await client.patch(f"/customers/{customer_id}", json=body, headers=bearer(key))


async def listed_ids(client: httpx.AsyncClient, key: str) -> list[str]:
    response = await client.get("/customers", headers=bearer(key))
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["data"]]


async def event_types(db: Database, org: Org) -> list[str]:
    return [e.type for e in await stored_events(db, org.id)]


@pytest.mark.parametrize(
    "body",
    [
        {"deletedAt": "2020-05-06T07:08:09.000Z"},
        {"deleted_at": "2030-01-02T03:04:15.678000+00:00"},
        {"deletedAt": "2099-01-01T00:00:00"},
    ],
)
async def test_a_deleted_at_time_soft_deletes_now(
    client: httpx.AsyncClient, db: Database, org: Org, sk_test_id: str, frozen: Any, body: Any
) -> None:
    created = await make_customer(client, org.sk_test)
    frozen.shift(10)

    response = await patch(client, org.sk_test, created["id"], body)

    assert response.status_code == 200, response.text
    assert response.json() == {
        **created,
        "deletedAt": LATER,
        "updatedAt": LATER,
        "updatedBy": sk_test_id,
    }
    assert await listed_ids(client, org.sk_test) == []
    assert await fetch(client, org.sk_test, created["id"]) == response.json()
    assert await event_types(db, org) == ["customer.created", "customer.updated"]


async def test_null_restores_a_deleted_customer(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test)
    deleted = await patch(client, org.sk_test, created["id"], {"deletedAt": START_TEXT})
    assert deleted.json()["deletedAt"] == START_TEXT
    frozen.shift(10)

    response = await patch(client, org.sk_test, created["id"], {"deletedAt": None})

    assert response.status_code == 200, response.text
    assert response.json() == {**created, "updatedAt": LATER}
    assert await listed_ids(client, org.sk_test) == [created["id"]]
    assert await event_types(db, org) == ["customer.created"] + ["customer.updated"] * 2


async def test_null_on_a_live_customer_changes_nothing(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test)
    frozen.shift(10)
    response = await patch(client, org.sk_test, created["id"], {"deletedAt": None})
    assert response.status_code == 200, response.text
    assert response.json() == created
    assert await event_types(db, org) == ["customer.created"]


async def test_restore_and_change_in_one_patch(
    client: httpx.AsyncClient, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, firstName="Ada")
    await client.delete(f"/customers/{created['id']}", headers=bearer(org.sk_test))

    response = await patch(
        client, org.sk_test, created["id"], {"deletedAt": None, "firstName": "Augusta"}
    )

    assert response.status_code == 200, response.text
    assert (response.json()["deletedAt"], response.json()["firstName"]) == (None, "Augusta")


async def test_change_and_delete_in_one_patch(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, firstName="Ada")
    frozen.shift(10)

    response = await patch(
        client, org.sk_test, created["id"], {"firstName": "Augusta", "deletedAt": LATER}
    )

    assert response.status_code == 200, response.text
    assert (response.json()["deletedAt"], response.json()["firstName"]) == (LATER, "Augusta")
    rows = await stored_customers(db, org.id)
    assert [(r.first_name, r.deleted_at is not None) for r in rows] == [("Augusta", True)]


async def test_a_deleted_customer_is_not_deleted_again_nor_changed(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test)
    deleted = await patch(client, org.sk_test, created["id"], {"deletedAt": START_TEXT})
    frozen.shift(10)

    again = await patch(client, org.sk_test, created["id"], {"deletedAt": LATER})
    renamed = await patch(client, org.sk_test, created["id"], {"firstName": "Ghost"})

    assert_error(again, 404, "NOT_FOUND", param="id")
    assert_error(renamed, 404, "NOT_FOUND", param="id")
    assert await fetch(client, org.sk_test, created["id"]) == deleted.json()
    assert await event_types(db, org) == ["customer.created", "customer.updated"]


@pytest.mark.parametrize("value", ["yesterday", "2030-13-01T00:00:00Z", True, {"at": "x"}])
async def test_a_deleted_at_that_is_not_a_time_is_refused(
    client: httpx.AsyncClient, db: Database, org: Org, value: Any
) -> None:
    created = await make_customer(client, org.sk_test)
    response = await patch(client, org.sk_test, created["id"], {"deletedAt": value})
    assert_error(response, 400, "VALIDATION_ERROR", param="deletedAt")
    assert await fetch(client, org.sk_test, created["id"]) == created
    assert await event_types(db, org) == ["customer.created"]


async def test_an_unknown_customer_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    created = await make_customer(client, org.sk_test)
    for key, customer_id in (
        (org.sk_test, "cus_00000000000000"),
        (org.sk_live, created["id"]),
        (other_org.sk_test, created["id"]),
    ):
        for value in (None, START_TEXT):
            response = await patch(client, key, customer_id, {"deletedAt": value})
            assert_error(response, 404, "NOT_FOUND", param="id")
    assert await fetch(client, org.sk_test, created["id"]) == created

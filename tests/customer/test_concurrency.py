"""Concurrent clients racing for one e-mail: the database lets exactly one of them win."""

import asyncio
from typing import Any

import httpx
import pytest

from kohort.db import Database
from tests.customer.rows import create, stored_customers, stored_events
from tests.factories import Org, bearer, make_customer
from tests.order.api import create_order
from tests.shapes import assert_error

pytestmark = pytest.mark.concurrency

RACERS = 10


def spellings(email: str) -> list[str]:
    """`RACERS` spellings of `email` that differ only by case."""
    local, domain = email.split("@")
    return [
        "".join(c.upper() if (n >> i) & 1 else c for i, c in enumerate(local)) + "@" + domain
        for n in range(RACERS)
    ]


def assert_one_winner(responses: list[httpx.Response], winner_status: int) -> httpx.Response:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [winner_status] + [409] * (RACERS - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "CUSTOMER_EXISTS", param="emailAddress")
    [winner] = [r for r in responses if r.status_code == winner_status]
    return winner


async def test_concurrent_creates_with_one_email_make_one_customer(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    emails = spellings("racer@example.com")
    assert len(set(emails)) == RACERS

    responses = await asyncio.gather(
        *(create(client, org.sk_test, {"emailAddress": email}) for email in emails)
    )

    winner = assert_one_winner(list(responses), 201)
    [row] = await stored_customers(db, org.id)
    assert (row.id, row.email_key) == (winner.json()["id"], "racer@example.com")
    [event] = await stored_events(db, org.id)
    assert (event.type, event.data) == ("customer.created", winner.json())


async def test_concurrent_creates_restore_a_deleted_customer_once(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="phoenix@example.com")
    deleted = await client.delete(f"/customers/{created['id']}", headers=bearer(org.sk_test))
    assert deleted.status_code == 200, deleted.text

    responses = await asyncio.gather(
        *(
            create(client, org.sk_test, {"emailAddress": email, "firstName": f"n{n}"})
            for n, email in enumerate(spellings("phoenix@example.com"))
        )
    )

    winner = assert_one_winner(list(responses), 201)
    assert winner.json()["id"] == created["id"]
    [row] = await stored_customers(db, org.id)
    assert (row.deleted_at, row.first_name) == (None, winner.json()["firstName"])
    assert sorted(e.type for e in await stored_events(db, org.id)) == [
        "customer.created",
        "customer.updated",
        "customer.updated",
    ]


async def test_concurrent_patches_to_one_email_change_one_customer(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    customers: list[dict[str, Any]] = [
        await make_customer(client, org.sk_test, emailAddress=f"c{n}@example.com")
        for n in range(RACERS)
    ]

    responses = await asyncio.gather(
        *(
            client.patch(
                f"/customers/{customer['id']}",
                json={"emailAddress": email},
                headers=bearer(org.sk_test),
            )
            for customer, email in zip(customers, spellings("wanted@example.com"), strict=True)
        )
    )

    winner = assert_one_winner(list(responses), 200)
    keys = sorted(c.email_key for c in await stored_customers(db, org.id))
    assert keys.count("wanted@example.com") == 1
    assert len(keys) == RACERS
    assert {
        c.id for c in await stored_customers(db, org.id) if c.email_key == "wanted@example.com"
    } == {winner.json()["id"]}
    assert len(await stored_events(db, org.id)) == RACERS + 1


async def test_concurrent_orders_from_one_new_email_make_one_customer(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    """Orders racing for a new buyer: each one's single `INSERT ... ON CONFLICT DO NOTHING`
    lets one insert the customer, the others find it; every order is registered, all for it."""
    emails = spellings("newbuyer@example.com")

    orders = await asyncio.gather(
        *(create_order(client, org.sk_test, customerEmail=email) for email in emails)
    )

    [row] = await stored_customers(db, org.id)
    assert row.email_key == "newbuyer@example.com"
    assert {order["customerId"] for order in orders} == {row.id}
    assert [e.type for e in await stored_events(db, org.id)].count("customer.created") == 1

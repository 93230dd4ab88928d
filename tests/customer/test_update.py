"""PATCH /customers/{id}: every field, clearing, e-mail conflicts, who and when."""

from typing import Any

import httpx
import pytest

from kohort.db import Database
from tests.customer.conftest import START_TEXT
from tests.customer.rows import (
    fetch,
    issue_secret_key,
    key_record_id,
    stored_customers,
    stored_events,
)
from tests.factories import Org, bearer, make_customer
from tests.shapes import assert_error

FULL = {
    "emailAddress": "ada@example.com",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "phoneNumber": "+33612345678",
    "locale": "fr_FR",
    "clientReferenceId": "ref-1",
    "metadata": {"tier": "gold"},
}


async def patch(client: httpx.AsyncClient, key: str, customer_id: str, body: Any) -> httpx.Response:
    return await client.patch(f"/customers/{customer_id}", json=body, headers=bearer(key))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"emailAddress": "countess@example.org"}, {"emailAddress": "countess@example.org"}),
        ({"firstName": "Augusta"}, {"firstName": "Augusta"}),
        ({"lastName": "King"}, {"lastName": "King"}),
        ({"phoneNumber": "07 98 76 54 32"}, {"phoneNumber": "+33798765432"}),
        ({"phoneNumber": "+1 (202) 555-0143"}, {"phoneNumber": "+12025550143"}),
        ({"locale": "en_GB"}, {"locale": "en_GB"}),
        ({"clientReferenceId": "ref-2"}, {"clientReferenceId": "ref-2"}),
        (
            {"metadata": {"tier": "silver", "new": "1"}},
            {"metadata": {"tier": "silver", "new": "1"}},
        ),
        ({"metadata": {}}, {"metadata": {}}),
        (
            {"first_name": "Snake", "client_reference_id": "s"},
            {"firstName": "Snake", "clientReferenceId": "s"},
        ),
        (
            {"locale": "en_US", "phoneNumber": "(202) 555-0143"},
            {"locale": "en_US", "phoneNumber": "+12025550143"},
        ),
    ],
)
async def test_patch_changes_only_the_given_fields(
    client: httpx.AsyncClient,
    db: Database,
    org: Org,
    body: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    created = await make_customer(client, org.sk_test, **FULL)

    response = await patch(client, org.sk_test, created["id"], body)

    assert response.status_code == 200, response.text
    unchanged = {k: v for k, v in created.items() if k not in ("updatedAt", "updatedBy")}
    assert {k: v for k, v in response.json().items() if k not in ("updatedAt", "updatedBy")} == {
        **unchanged,
        **expected,
    }
    assert await fetch(client, org.sk_test, created["id"]) == response.json()
    assert [e.type for e in await stored_events(db, org.id)] == [
        "customer.created",
        "customer.updated",
    ]


async def test_national_phone_is_read_in_the_customers_locale(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await make_customer(
        client, org.sk_test, emailAddress="us@example.com", locale="en_US"
    )

    response = await patch(client, org.sk_test, created["id"], {"phoneNumber": "(202) 555-0143"})

    assert response.status_code == 200, response.text
    assert response.json()["phoneNumber"] == "+12025550143"


async def test_changing_the_locale_keeps_the_stored_phone(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await make_customer(client, org.sk_test, **FULL)

    response = await patch(client, org.sk_test, created["id"], {"locale": "en_US"})

    assert response.status_code == 200, response.text
    assert response.json()["phoneNumber"] == "+33612345678"


@pytest.mark.parametrize(
    ("field", "cleared"),
    [
        ("firstName", None),
        ("lastName", None),
        ("phoneNumber", None),
        ("clientReferenceId", None),
        ("metadata", {}),
    ],
)
async def test_null_clears_an_optional_field(
    client: httpx.AsyncClient, db: Database, org: Org, field: str, cleared: Any
) -> None:
    created = await make_customer(client, org.sk_test, **FULL)

    response = await patch(client, org.sk_test, created["id"], {field: None})

    assert response.status_code == 200, response.text
    assert response.json()[field] == cleared
    assert (await fetch(client, org.sk_test, created["id"]))[field] == cleared
    [row] = await stored_customers(db, org.id)
    assert row.email_address == FULL["emailAddress"]


@pytest.mark.parametrize("field", ["emailAddress", "locale"])
async def test_null_for_a_required_field_is_rejected(
    client: httpx.AsyncClient, db: Database, org: Org, field: str
) -> None:
    created = await make_customer(client, org.sk_test, **FULL)

    response = await patch(client, org.sk_test, created["id"], {field: None, "firstName": "X"})

    assert_error(response, 400, "VALIDATION_ERROR", param=field)
    assert await fetch(client, org.sk_test, created["id"]) == created
    assert len(await stored_events(db, org.id)) == 1


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"emailAddress": "not-an-email"}, "emailAddress"),
        ({"phoneNumber": "12"}, "phoneNumber"),
        ({"phoneNumber": "(202) 555-0143"}, "phoneNumber"),
        ({"locale": "pt_PT"}, "locale"),
        ({"firstName": "x" * 256}, "firstName"),
        ({"metadata": {"k": 1}}, "metadata.k"),
    ],
)
async def test_invalid_change_is_rejected_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, org: Org, body: dict[str, Any], param: str
) -> None:
    created = await make_customer(client, org.sk_test, **FULL)

    response = await patch(client, org.sk_test, created["id"], {"lastName": "Changed", **body})

    assert_error(response, 400, "VALIDATION_ERROR", param=param)
    assert await fetch(client, org.sk_test, created["id"]) == created
    assert len(await stored_events(db, org.id)) == 1


async def test_email_of_another_customer_is_a_conflict(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    ada = await make_customer(client, org.sk_test, **FULL)
    bob = await make_customer(client, org.sk_test, emailAddress="bob@example.com")

    response = await patch(
        client, org.sk_test, bob["id"], {"emailAddress": "ADA@example.com", "firstName": "Bob"}
    )

    assert_error(response, 409, "CUSTOMER_EXISTS", param="emailAddress")
    assert await fetch(client, org.sk_test, bob["id"]) == bob
    assert await fetch(client, org.sk_test, ada["id"]) == ada
    assert len(await stored_events(db, org.id)) == 2


async def test_email_of_a_deleted_customer_is_a_conflict(
    client: httpx.AsyncClient, org: Org
) -> None:
    gone = await make_customer(client, org.sk_test, emailAddress="gone@example.com")
    bob = await make_customer(client, org.sk_test, emailAddress="bob@example.com")
    deleted = await client.delete(f"/customers/{gone['id']}", headers=bearer(org.sk_test))
    assert deleted.status_code == 200, deleted.text

    response = await patch(client, org.sk_test, bob["id"], {"emailAddress": "Gone@example.com"})

    assert_error(response, 409, "CUSTOMER_EXISTS", param="emailAddress")
    assert await fetch(client, org.sk_test, bob["id"]) == bob


async def test_email_used_in_another_organization_or_mode_is_free(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    await make_customer(client, org.sk_live, emailAddress="taken@example.com")
    await make_customer(client, other_org.sk_test, emailAddress="taken2@example.com")
    bob = await make_customer(client, org.sk_test, emailAddress="bob@example.com")

    first = await patch(client, org.sk_test, bob["id"], {"emailAddress": "taken@example.com"})
    second = await patch(client, org.sk_test, bob["id"], {"emailAddress": "taken2@example.com"})

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.json()["emailAddress"] == "taken2@example.com"


async def test_changing_only_the_case_of_ones_own_email_works(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="ada.lovelace@example.com")

    response = await patch(
        client, org.sk_test, created["id"], {"emailAddress": "Ada.Lovelace@example.com"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["emailAddress"] == "Ada.Lovelace@example.com"
    [row] = await stored_customers(db, org.id)
    assert (row.email_address, row.email_key) == (
        "Ada.Lovelace@example.com",
        "ada.lovelace@example.com",
    )


async def test_a_new_email_can_be_taken_by_a_new_customer_and_the_old_one_is_freed(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    created = await make_customer(client, org.sk_test, emailAddress="old@example.com")
    moved = await patch(client, org.sk_test, created["id"], {"emailAddress": "new@example.com"})
    assert moved.status_code == 200, moved.text

    again = await client.post(
        "/customers", json={"emailAddress": "OLD@example.com"}, headers=bearer(org.sk_test)
    )
    clash = await client.post(
        "/customers", json={"emailAddress": "New@example.com"}, headers=bearer(org.sk_test)
    )

    assert again.status_code == 201, again.text
    assert_error(clash, 409, "CUSTOMER_EXISTS", param="emailAddress")
    assert sorted(c.email_key for c in await stored_customers(db, org.id)) == [
        "new@example.com",
        "old@example.com",
    ]


async def test_update_moves_updated_at_and_updated_by(
    client: httpx.AsyncClient, db: Database, org: Org, sk_test_id: str, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, **FULL)
    other_key = await issue_secret_key(db, org.id)
    other_key_id = await key_record_id(db, other_key)
    frozen.shift(90.5)

    response = await patch(client, other_key, created["id"], {"firstName": "Augusta"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["createdAt"], body["createdBy"]) == (START_TEXT, sk_test_id)
    assert (body["updatedAt"], body["updatedBy"]) == ("2030-01-02T03:05:36.178Z", other_key_id)
    assert other_key_id != sk_test_id


async def test_empty_patch_changes_nothing(
    client: httpx.AsyncClient, db: Database, org: Org, frozen: Any
) -> None:
    created = await make_customer(client, org.sk_test, **FULL)
    frozen.shift(5)

    response = await patch(client, org.sk_test, created["id"], {"unknownField": "x"})

    assert response.status_code == 200, response.text
    assert response.json() == created
    assert len(await stored_events(db, org.id)) == 1


async def test_patch_of_an_unknown_customer_is_not_found(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await patch(client, org.sk_test, "cus_00000000000000", {"firstName": "X"})

    assert_error(response, 404, "NOT_FOUND", param="id")


async def test_patch_of_another_organizations_or_modes_customer_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    theirs = await make_customer(client, other_org.sk_test, emailAddress="x@example.com")
    live = await make_customer(client, org.sk_live, emailAddress="y@example.com")

    cross_org = await patch(client, org.sk_test, theirs["id"], {"firstName": "X"})
    cross_mode = await patch(client, org.sk_test, live["id"], {"firstName": "X"})

    assert_error(cross_org, 404, "NOT_FOUND", param="id")
    assert_error(cross_mode, 404, "NOT_FOUND", param="id")
    assert await fetch(client, other_org.sk_test, theirs["id"]) == theirs
    assert await fetch(client, org.sk_live, live["id"]) == live

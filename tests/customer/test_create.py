"""POST /customers: the created object, defaults, validation, e-mail uniqueness, phones."""

import re
from typing import Any

import httpx
import pytest

from kohort.db import Database
from tests.customer.conftest import START_TEXT
from tests.customer.rows import (
    create,
    fetch,
    key_record_id,
    stored_customers,
    stored_events,
)
from tests.factories import Org, bearer
from tests.shapes import CUSTOMER_FIELDS, assert_error


async def assert_nothing_written(db: Database, org: Org) -> None:
    assert await stored_customers(db, org.id) == []
    assert await stored_events(db, org.id) == []


async def test_create_returns_every_field_with_defaults(
    client: httpx.AsyncClient, org: Org, sk_test_id: str, frozen: Any
) -> None:
    response = await create(client, org.sk_test, {"emailAddress": "ada@example.com"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == CUSTOMER_FIELDS
    assert re.fullmatch(r"cus_[0-9a-f]{14}", body["id"])
    assert sk_test_id.startswith("key_")
    assert body == {
        "id": body["id"],
        "livemode": False,
        "organizationId": org.id,
        "emailAddress": "ada@example.com",
        "firstName": None,
        "lastName": None,
        "phoneNumber": None,
        "locale": "fr_FR",
        "isBlocked": False,
        "blockedAt": None,
        "blockedBy": None,
        "clientReferenceId": None,
        "metadata": {},
        "deletedAt": None,
        "createdAt": START_TEXT,
        "createdBy": sk_test_id,
        "updatedAt": START_TEXT,
        "updatedBy": sk_test_id,
    }
    assert response.headers["request-id"].startswith("req_")


async def test_create_stores_every_given_field(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    given = {
        "emailAddress": "grace@example.com",
        "firstName": "Grace",
        "lastName": "Hopper",
        "phoneNumber": "+44 20 7946 0958",
        "locale": "en_GB",
        "clientReferenceId": "shop-user-42",
        "metadata": {"tier": "gold"},
    }
    response = await create(client, org.sk_test, given)

    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in given} == {**given, "phoneNumber": "+442079460958"}
    assert await fetch(client, org.sk_test, body["id"]) == body
    [row] = await stored_customers(db, org.id)
    assert (row.id, row.email_address, row.email_key) == (
        body["id"],
        "grace@example.com",
        "grace@example.com",
    )


async def test_create_accepts_snake_case_and_ignores_unknown_keys(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await create(
        client,
        org.sk_test,
        {
            "email_address": "linus@example.com",
            "first_name": "Linus",
            "client_reference_id": "ref-1",
            "favouriteColour": "blue",
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["emailAddress"], body["firstName"], body["clientReferenceId"]) == (
        "linus@example.com",
        "Linus",
        "ref-1",
    )
    assert "favouriteColour" not in body


async def test_live_key_creates_a_live_customer(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    response = await create(client, org.sk_live, {"emailAddress": "live@example.com"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["livemode"] is True
    assert body["createdBy"] == await key_record_id(db, org.sk_live)
    [row] = await stored_customers(db, org.id)
    assert row.livemode is True


async def test_email_keeps_the_case_of_its_local_part(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    response = await create(client, org.sk_test, {"emailAddress": "  Ada.Lovelace@Example.COM "})

    assert response.status_code == 201, response.text
    email = response.json()["emailAddress"]
    assert email.split("@")[0] == "Ada.Lovelace"
    assert email.lower() == "ada.lovelace@example.com"
    [row] = await stored_customers(db, org.id)
    assert row.email_key == "ada.lovelace@example.com"


async def test_missing_email_is_rejected(client: httpx.AsyncClient, db: Database, org: Org) -> None:
    response = await create(client, org.sk_test, {"firstName": "Nobody"})

    error = assert_error(response, 400, "VALIDATION_ERROR", param="emailAddress")
    assert error["type"] == "invalid_request_error"
    assert "emailAddress" in error["message"]
    await assert_nothing_written(db, org)


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "", "ada@", "@example.com", "ada lovelace@example.com", "a@b@c.com", 42, None],
)
async def test_invalid_email_is_rejected(
    client: httpx.AsyncClient, db: Database, org: Org, email: object
) -> None:
    response = await create(client, org.sk_test, {"emailAddress": email})

    assert_error(response, 400, "VALIDATION_ERROR", param="emailAddress")
    await assert_nothing_written(db, org)


async def test_malformed_json_is_rejected(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    response = await client.post(
        "/customers", content=b'{"emailAddress": "x@example.com"', headers=bearer(org.sk_test)
    )

    assert_error(response, 400, "INVALID_JSON")
    await assert_nothing_written(db, org)


async def test_missing_body_is_rejected(client: httpx.AsyncClient, db: Database, org: Org) -> None:
    response = await client.post("/customers", headers=bearer(org.sk_test))

    assert_error(response, 400, "VALIDATION_ERROR", param="body")
    await assert_nothing_written(db, org)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstName", "x" * 256),
        ("lastName", "x" * 256),
        ("clientReferenceId", "x" * 256),
        ("firstName", 12),
        ("firstName", "Ada\x07"),
        ("metadata", {f"k{i}": "v" for i in range(51)}),
        ("metadata", {"k" * 41: "v"}),
        ("metadata", {"k": "v" * 501}),
        ("metadata", {"k": 1}),
        ("metadata", ["not", "an", "object"]),
    ],
)
async def test_invalid_field_is_rejected(
    client: httpx.AsyncClient, db: Database, org: Org, field: str, value: object
) -> None:
    response = await create(client, org.sk_test, {"emailAddress": "ok@example.com", field: value})

    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] is not None
    assert error["param"].split(".")[0] == field
    await assert_nothing_written(db, org)


async def test_metadata_at_the_limits_is_accepted(client: httpx.AsyncClient, org: Org) -> None:
    metadata = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(50)}

    response = await create(
        client, org.sk_test, {"emailAddress": "m@example.com", "metadata": metadata}
    )

    assert response.status_code == 201, response.text
    assert response.json()["metadata"] == metadata


async def test_metadata_keys_and_values_round_trip_verbatim(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    metadata = {"order_ref": "A-1", "someKey": "x", "UPPER": "", "ünï côdé": "✓ 🎉"}

    created = await create(
        client, org.sk_test, {"emailAddress": "m@example.com", "metadata": metadata}
    )

    assert created.status_code == 201, created.text
    assert created.json()["metadata"] == metadata
    assert (await fetch(client, org.sk_test, created.json()["id"]))["metadata"] == metadata
    [row] = await stored_customers(db, org.id)
    assert row.metadata_ == metadata


async def test_duplicate_email_in_another_case_is_a_conflict(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    first = await create(
        client, org.sk_test, {"emailAddress": "ada@example.com", "firstName": "Ada"}
    )
    assert first.status_code == 201, first.text

    second = await create(
        client, org.sk_test, {"emailAddress": "ADA@Example.com", "firstName": "Impostor"}
    )

    error = assert_error(second, 409, "CUSTOMER_EXISTS", param="emailAddress")
    assert error["type"] == "invalid_request_error"
    assert [c.id for c in await stored_customers(db, org.id)] == [first.json()["id"]]
    assert len(await stored_events(db, org.id)) == 1
    assert await fetch(client, org.sk_test, first.json()["id"]) == first.json()


async def test_same_email_in_another_organization_or_mode_is_a_new_customer(
    client: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    test_mode = await create(client, org.sk_test, {"emailAddress": "ada@example.com"})
    live_mode = await create(client, org.sk_live, {"emailAddress": "Ada@example.com"})
    elsewhere = await create(client, other_org.sk_test, {"emailAddress": "ada@example.com"})

    assert [r.status_code for r in (test_mode, live_mode, elsewhere)] == [201, 201, 201]
    assert len({r.json()["id"] for r in (test_mode, live_mode, elsewhere)}) == 3
    assert sorted(c.livemode for c in await stored_customers(db, org.id)) == [False, True]
    assert len(await stored_customers(db, other_org.id)) == 1


@pytest.mark.parametrize(
    ("raw", "locale", "expected"),
    [
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("06 12 34 56 78", None, "+33612345678"),
        ("06 12 34 56 78", "fr_FR", "+33612345678"),
        ("06.12.34.56.78", "fr_FR", "+33612345678"),
        ("0033 6 12 34 56 78", "fr_FR", "+33612345678"),
        ("(202) 555-0143", "en_US", "+12025550143"),
        ("202-555-0143", "en_US", "+12025550143"),
        ("+1 202 555 0143", "fr_FR", "+12025550143"),
        ("020 7946 0018", "en_GB", "+442079460018"),
        ("07400 123456", "en_GB", "+447400123456"),
        ("+44 20 7946 0958", "en_US", "+442079460958"),
    ],
)
async def test_phone_number_is_normalised_to_e164(
    client: httpx.AsyncClient, org: Org, raw: str, locale: str | None, expected: str
) -> None:
    body: dict[str, Any] = {"emailAddress": "phone@example.com", "phoneNumber": raw}
    if locale is not None:
        body["locale"] = locale

    response = await create(client, org.sk_test, body)

    assert response.status_code == 201, response.text
    assert response.json()["phoneNumber"] == expected
    assert response.json()["locale"] == (locale or "fr_FR")


@pytest.mark.parametrize(
    ("raw", "locale"),
    [
        ("12", "fr_FR"),
        ("abc", "fr_FR"),
        ("06 12 34", "fr_FR"),
        ("+33 6 12 34 56 78 99", "fr_FR"),
        ("(202) 555-0143", "fr_FR"),
        ("(202) 555-0143", None),
        ("06 12 34 56 78", "en_US"),
        ("020 7946 0018", "fr_FR"),
        ("+1 555 555 5555", "en_US"),
        ("", "fr_FR"),
        ("+" + "1" * 40, "fr_FR"),
    ],
)
async def test_invalid_phone_number_is_rejected(
    client: httpx.AsyncClient, db: Database, org: Org, raw: str, locale: str | None
) -> None:
    body: dict[str, Any] = {"emailAddress": "phone@example.com", "phoneNumber": raw}
    if locale is not None:
        body["locale"] = locale

    response = await create(client, org.sk_test, body)

    assert_error(response, 400, "VALIDATION_ERROR", param="phoneNumber")
    await assert_nothing_written(db, org)


@pytest.mark.parametrize("locale", ["pt_PT", "de_de", "fr-FR", "fr_fr", "FR", "", 1])
async def test_unknown_locale_is_rejected(
    client: httpx.AsyncClient, db: Database, org: Org, locale: object
) -> None:
    response = await create(
        client, org.sk_test, {"emailAddress": "l@example.com", "locale": locale}
    )

    assert_error(response, 400, "VALIDATION_ERROR", param="locale")
    await assert_nothing_written(db, org)


async def test_null_locale_means_the_default(client: httpx.AsyncClient, org: Org) -> None:
    response = await create(client, org.sk_test, {"emailAddress": "l@example.com", "locale": None})

    assert response.status_code == 201, response.text
    assert response.json()["locale"] == "fr_FR"


@pytest.mark.parametrize("locale", ["fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL"])
async def test_each_supported_locale_is_kept(
    client: httpx.AsyncClient, org: Org, locale: str
) -> None:
    response = await create(
        client, org.sk_test, {"emailAddress": "l@example.com", "locale": locale}
    )

    assert response.status_code == 201, response.text
    assert response.json()["locale"] == locale


async def test_publishable_key_cannot_create(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    response = await create(client, org.pk_test, {"emailAddress": "pk@example.com"})

    error = assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert error["type"] == "permission_error"
    await assert_nothing_written(db, org)


async def test_create_without_a_key_is_unauthorised(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    response = await client.post("/customers", json={"emailAddress": "anon@example.com"})

    assert response.status_code == 401, response.text
    assert response.json()["error"]["type"] == "authentication_error"
    await assert_nothing_written(db, org)


async def test_idempotent_retry_replays_the_first_answer(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    body = {"emailAddress": "retry@example.com"}
    first = await create(client, org.sk_test, body, **{"Idempotency-Key": "create-retry-1"})
    again = await create(client, org.sk_test, body, **{"Idempotency-Key": "create-retry-1"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(await stored_customers(db, org.id)) == 1
    assert len(await stored_events(db, org.id)) == 1

"""Wire conventions (API.md §1.1, §1.3): request ids, the error envelope, JSON in and out."""

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kohort.db import Database
from kohort.models import Customer, Event
from tests.factories import Org, bearer, make_customer
from tests.shapes import API_KEY_FIELDS, CUSTOMER_FIELDS, REQUEST_ID, TIMESTAMP, assert_error


async def _post(
    client: httpx.AsyncClient, key: str, content: bytes, content_type: str | None = None
) -> httpx.Response:
    headers = bearer(key)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return await client.post("/customers", content=content, headers=headers)


async def _rows(db: Database, org: Org) -> tuple[int, int]:
    async with db.read() as session:
        customers = await session.execute(
            select(func.count()).select_from(Customer).where(Customer.organization_id == org.id)
        )
        events = await session.execute(
            select(func.count()).select_from(Event).where(Event.organization_id == org.id)
        )
        return int(customers.scalar_one()), int(events.scalar_one())


async def test_every_response_has_a_request_id(client, org: Org) -> None:
    responses = [
        await client.get("/health"),
        await client.get("/health/ready"),
        await client.get("/customers", headers=bearer(org.sk_test)),
        await client.post(
            "/customers", json={"emailAddress": "rid@example.com"}, headers=bearer(org.sk_test)
        ),
        await client.get("/customers"),
        await client.get("/nowhere"),
        await client.put("/customers", headers=bearer(org.sk_test)),
        await client.get("/openapi.json"),
    ]
    ids = [r.headers.get("Request-Id") for r in responses]
    assert all(i is not None and REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    for response in responses:
        assert response.headers.get_list("Request-Id") == [response.headers["Request-Id"]]


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "error_type"),
    [
        ("GET", "/customers", 401, "API_KEY_MISSING", "authentication_error"),
        ("GET", "/nowhere", 404, "NOT_FOUND", "invalid_request_error"),
        ("GET", "/customers/cus_00000000000000", 404, "NOT_FOUND", "invalid_request_error"),
        ("PUT", "/customers", 405, "METHOD_NOT_ALLOWED", "invalid_request_error"),
        ("DELETE", "/health", 405, "METHOD_NOT_ALLOWED", "invalid_request_error"),
    ],
)
async def test_error_envelope(client, org: Org, method, path, status, code, error_type) -> None:
    headers = bearer(org.sk_test) if status != 401 else {}
    response = await client.request(method, path, headers=headers)
    error = assert_error(response, status, code)
    assert error["type"] == error_type


async def test_unknown_route_names_the_url(client) -> None:
    error = assert_error(await client.post("/nowhere/at/all", json={}), 404, "NOT_FOUND")
    assert "/nowhere/at/all" in error["message"]
    assert error["param"] is None


async def test_malformed_json_is_invalid_json(client, org: Org) -> None:
    for content in (b'{"emailAddress": ', b"{'emailAddress': 'a@b.com'}", b"nope"):
        error = assert_error(await _post(client, org.sk_test, content), 400, "INVALID_JSON")
        assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("content", [b"[]", b'[{"emailAddress": "a@example.com"}]', b'"x"', b"3"])
async def test_a_body_that_is_not_an_object_is_a_validation_error(
    client, org: Org, content
) -> None:
    error = assert_error(await _post(client, org.sk_test, content), 400, "VALIDATION_ERROR")
    assert error["param"] == "body"


async def test_a_missing_body_is_a_validation_error(client, org: Org) -> None:
    error = assert_error(await _post(client, org.sk_test, b""), 400, "VALIDATION_ERROR")
    assert error["param"] == "body"


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/json"]
)
async def test_any_body_is_read_as_json(client, org: Org, content_type) -> None:
    email = f"ct-{(content_type or 'none').replace('/', '-')}@example.com"
    content = json.dumps({"emailAddress": email, "firstName": "Ct"}).encode()
    response = await _post(client, org.sk_test, content, content_type)
    assert response.status_code == 201, response.text
    assert response.json()["emailAddress"] == email
    assert response.json()["firstName"] == "Ct"


@pytest.mark.parametrize(
    "body",
    [
        {"emailAddress": "case@example.com", "firstName": "Ann", "clientReferenceId": "r1"},
        {"email_address": "case@example.com", "first_name": "Ann", "client_reference_id": "r1"},
        {"email_address": "case@example.com", "firstName": "Ann", "client_reference_id": "r1"},
    ],
)
async def test_camel_and_snake_case_request_keys(client, org: Org, body) -> None:
    response = await client.post("/customers", json=body, headers=bearer(org.sk_test))
    assert response.status_code == 201, response.text
    customer = response.json()
    assert customer["emailAddress"] == "case@example.com"
    assert customer["firstName"] == "Ann"
    assert customer["clientReferenceId"] == "r1"
    assert "email_address" not in customer
    changed = await client.patch(
        f"/customers/{customer['id']}", json={"last_name": "Lee"}, headers=bearer(org.sk_test)
    )
    assert changed.json()["lastName"] == "Lee"


async def test_unknown_keys_are_ignored(client, org: Org) -> None:
    body = {"emailAddress": "extra@example.com", "favouriteColour": "teal", "id": "cus_mine"}
    response = await client.post("/customers", json=body, headers=bearer(org.sk_test))
    assert response.status_code == 201, response.text
    customer = response.json()
    assert "favouriteColour" not in customer
    assert customer["id"] != "cus_mine"


async def test_responses_are_camel_case_with_every_field(client, org: Org) -> None:
    customer = await make_customer(client, org.sk_test, emailAddress="bare@example.com")
    assert set(customer) == CUSTOMER_FIELDS
    for name in ("firstName", "lastName", "phoneNumber", "blockedAt", "blockedBy"):
        assert customer[name] is None, name
    for name in ("clientReferenceId", "deletedAt"):
        assert customer[name] is None, name
    assert customer["metadata"] == {}
    assert customer["isBlocked"] is False
    assert customer["livemode"] is False
    assert customer["organizationId"] == org.id
    fetched = await client.get(f"/customers/{customer['id']}", headers=bearer(org.sk_test))
    assert fetched.json() == customer
    listed = await client.get("/customers", headers=bearer(org.sk_test))
    assert listed.json() == {"data": [customer], "count": 1}


async def test_api_key_responses_have_every_field(client, org: Org) -> None:
    response = await client.post("/api-keys", json={}, headers=bearer(org.sk_test))
    assert response.status_code == 201, response.text
    issued = response.json()
    assert set(issued) == API_KEY_FIELDS | {"key"}
    assert issued["name"] is None
    assert issued["lastUsedAt"] is None
    assert TIMESTAMP.match(issued["createdAt"])


async def test_metadata_keys_are_returned_verbatim(client, org: Org) -> None:
    metadata = {"snake_key": "a", "camelKey": "b", "UPPER": "c", "with space": "d"}
    customer = await make_customer(
        client, org.sk_test, emailAddress="meta@example.com", metadata=metadata
    )
    assert customer["metadata"] == metadata


async def test_timestamps_are_utc_with_milliseconds(client, org: Org) -> None:
    customer = await make_customer(client, org.sk_test, emailAddress="time@example.com")
    assert TIMESTAMP.match(customer["createdAt"]), customer["createdAt"]
    assert TIMESTAMP.match(customer["updatedAt"]), customer["updatedAt"]
    blocked = await client.patch(f"/customers/{customer['id']}/block", headers=bearer(org.sk_test))
    assert TIMESTAMP.match(blocked.json()["blockedAt"])
    deleted = await client.delete(f"/customers/{customer['id']}", headers=bearer(org.sk_test))
    assert TIMESTAMP.match(deleted.json()["deletedAt"])
    assert TIMESTAMP.match(deleted.json()["updatedAt"])


def _metadata(keys: int = 1, key_length: int = 4, value_length: int = 1) -> dict[str, str]:
    metadata = {f"{n:0{key_length}d}": "v" * value_length for n in range(keys)}
    assert len(metadata) == keys
    assert {len(k) for k in metadata} == {key_length}
    return metadata


@pytest.mark.parametrize(
    "metadata",
    [
        _metadata(keys=51),
        _metadata(key_length=41),
        _metadata(value_length=501),
        {"count": 1},
        {"flag": True},
        {"nested": {"a": "b"}},
        {"none": None},
        ["a", "b"],
        "text",
        {"": "empty key"},
    ],
)
async def test_metadata_limits(client, db: Database, org: Org, metadata) -> None:
    body = {"emailAddress": "limits@example.com", "metadata": metadata}
    response = await client.post("/customers", json=body, headers=bearer(org.sk_test))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "metadata" in error["message"]
    assert error["param"] is not None
    assert error["param"].startswith("metadata")
    assert await _rows(db, org) == (0, 0)


async def test_a_metadata_key_too_long_names_metadata_and_the_key(client, org: Org) -> None:
    body = {"emailAddress": "longkey@example.com", "metadata": {"k" * 41: "v"}}
    response = await client.post("/customers", json=body, headers=bearer(org.sk_test))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "metadata"
    assert "k" * 41 in error["message"]
    assert "[key]" not in error["message"]


async def test_metadata_at_the_limits_is_accepted(client, org: Org) -> None:
    for n, metadata in enumerate(
        (_metadata(keys=50), _metadata(key_length=40), _metadata(value_length=500))
    ):
        customer = await make_customer(
            client, org.sk_test, emailAddress=f"edge{n}@example.com", metadata=metadata
        )
        assert customer["metadata"] == metadata


@pytest.mark.parametrize(
    "content",
    [
        b'{"emailAddress": "nul@example.com", "firstName": "a\\u0000b"}',
        b'{"emailAddress": "nul@example.com", "firstName": "a\x00b"}',
        b'{"emailAddress": "nul@example.com", "metadata": {"k\\u0000": "v"}}',
    ],
)
async def test_a_nul_character_is_refused(client, db: Database, org: Org, content) -> None:
    response = await _post(client, org.sk_test, content)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("VALIDATION_ERROR", "INVALID_JSON")
    assert await _rows(db, org) == (0, 0)


async def test_a_nul_in_the_query_is_refused(client, org: Org) -> None:
    response = await client.get(
        "/customers", params={"search": "firstName:a\x00"}, headers=bearer(org.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_control_characters_in_text_are_refused(client, db: Database, org: Org) -> None:
    body = {"emailAddress": "ctl@example.com", "firstName": "a\x07b"}
    response = await client.post("/customers", json=body, headers=bearer(org.sk_test))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "firstName"
    assert await _rows(db, org) == (0, 0)


async def test_validation_errors_name_every_bad_field(client, org: Org) -> None:
    body = {"emailAddress": "not-an-email", "locale": "xx_XX"}
    error = assert_error(
        await client.post("/customers", json=body, headers=bearer(org.sk_test)),
        400,
        "VALIDATION_ERROR",
    )
    assert "emailAddress" in error["message"]
    assert "locale" in error["message"]
    assert error["param"] == "emailAddress"


async def test_nothing_is_written_by_a_4xx(client, db: Database, org: Org) -> None:
    customer = await make_customer(client, org.sk_test, emailAddress="kept@example.com")
    before = await _rows(db, org)
    assert before == (1, 1)
    path = f"/customers/{customer['id']}"
    sk, pk = org.sk_test, org.pk_test
    failing: list[tuple[str, str, dict[str, Any], str | None]] = [
        ("POST", "/customers", {"emailAddress": "kept@example.com"}, sk),
        ("POST", "/customers", {"emailAddress": "KEPT@example.com"}, sk),
        ("POST", "/customers", {"emailAddress": "x@example.com", "phoneNumber": "12"}, sk),
        ("POST", "/customers", {"emailAddress": "x@example.com"}, pk),
        ("POST", "/customers", {"emailAddress": "x@example.com"}, None),
        ("PATCH", path, {"emailAddress": "bad", "firstName": "Z"}, sk),
        ("PATCH", path, {"firstName": "Z", "phoneNumber": "12"}, sk),
        ("PATCH", path, {"firstName": "Z", "locale": None}, sk),
        ("PATCH", path, {"firstName": "Z", "metadata": {"n": 1}}, sk),
    ]
    statuses = []
    for method, url, body, key in failing:
        headers = bearer(key) if key else {}
        response = await client.request(method, url, json=body, headers=headers)
        statuses.append(response.status_code)
    assert statuses == [409, 409, 400, 403, 401, 400, 400, 400, 400]
    assert await _rows(db, org) == before
    fetched = await client.get(f"/customers/{customer['id']}", headers=bearer(org.sk_test))
    assert fetched.json() == customer

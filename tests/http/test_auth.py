"""Authentication (API.md §1.2): the Authorization header, key states, modes, organizations."""

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select

from kohort.db import Database
from kohort.models import ApiKey
from tests.factories import Org, bearer, make_customer
from tests.shapes import assert_error

WELL_FORMED_UNKNOWN_KEY = "sk_test_" + "A1b2C3d4" * 5


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def a_day_from_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


async def key_record(db: Database, key: str) -> ApiKey:
    digest = hashlib.sha256(key.encode()).hexdigest()
    async with db.read() as session:
        record = (await session.execute(select(ApiKey).where(ApiKey.key_hash == digest))).scalar()
    assert record is not None
    return record


async def listed_key(client: httpx.AsyncClient, caller: str, key_id: str) -> dict[str, Any]:
    response = await client.get("/api-keys", headers=bearer(caller))
    assert response.status_code == 200, response.text
    [item] = [k for k in response.json()["data"] if k["id"] == key_id]
    result: dict[str, Any] = item
    return result


async def new_secret_key(client: httpx.AsyncClient, caller: str) -> dict[str, Any]:
    response = await client.post("/api-keys", json={"name": "extra"}, headers=bearer(caller))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


# --- the Authorization header ------------------------------------------------------------


async def test_no_header_is_api_key_missing(client: httpx.AsyncClient, org: Org) -> None:
    error = assert_error(await client.get("/customers"), 401, "API_KEY_MISSING")
    assert error["param"] is None


@pytest.mark.parametrize("header", ["", "   "])
async def test_blank_header_is_api_key_missing(
    client: httpx.AsyncClient, org: Org, header: str
) -> None:
    response = await client.get("/customers", headers={"Authorization": header})
    assert_error(response, 401, "API_KEY_MISSING")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Token x", id="wrong-scheme"),
        pytest.param("Bearer", id="bearer-without-credential"),
        pytest.param("Bearer   ", id="bearer-blank-credential"),
        pytest.param("Basic", id="basic-without-credential"),
        pytest.param("Basic !!!not-base64!!!", id="basic-bad-base64"),
        pytest.param("Basic " + base64.b64encode(b"\xff\xfe:").decode(), id="basic-not-utf8"),
        pytest.param(basic(":")["Authorization"], id="basic-empty-user"),
    ],
)
async def test_malformed_header_is_invalid_authorization_header(
    client: httpx.AsyncClient, org: Org, header: str
) -> None:
    response = await client.get("/customers", headers={"Authorization": header})
    assert_error(response, 401, "INVALID_AUTHORIZATION_HEADER")


async def test_wrong_scheme_with_a_valid_key_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get("/customers", headers={"Authorization": f"Token {org.sk_test}"})
    assert_error(response, 401, "INVALID_AUTHORIZATION_HEADER")


async def test_basic_without_colon_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/customers", headers=basic(org.sk_test))
    assert_error(response, 401, "INVALID_AUTHORIZATION_HEADER")


async def test_basic_with_key_as_user_and_empty_password_works(
    client: httpx.AsyncClient, org: Org
) -> None:
    """What `curl -u sk_test_…:` sends."""
    made = await make_customer(client, org.sk_test)
    response = await client.get("/customers", auth=(org.sk_test, ""))
    assert response.status_code == 200, response.text
    assert [c["id"] for c in response.json()["data"]] == [made["id"]]
    assert response.request.headers["Authorization"] == basic(org.sk_test + ":")["Authorization"]


@pytest.mark.parametrize("password", ["secret", " ", "sk_test_x"])
async def test_basic_with_a_password_is_refused(
    client: httpx.AsyncClient, org: Org, password: str
) -> None:
    """The key goes in the user name; a password is most likely a mistake, so it is refused
    rather than ignored."""
    response = await client.get("/customers", auth=(org.sk_test, password))
    error = assert_error(response, 401, "INVALID_AUTHORIZATION_HEADER")
    assert "empty password" in error["message"]
    assert org.sk_test not in error["message"]


@pytest.mark.parametrize(
    "second",
    [
        pytest.param("same", id="the-same-key-twice"),
        pytest.param("unknown", id="then-an-unknown-key"),
        pytest.param("basic", id="then-basic"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_two_authorization_headers_are_refused(
    client: httpx.AsyncClient, org: Org, second: str, method: str
) -> None:
    other = {
        "same": f"Bearer {org.sk_test}",
        "unknown": f"Bearer {WELL_FORMED_UNKNOWN_KEY}",
        "basic": basic(org.sk_test + ":")["Authorization"],
    }[second]
    headers = [("Authorization", f"Bearer {org.sk_test}"), ("Authorization", other)]
    body = {"emailAddress": "twice@example.com"} if method == "POST" else None
    response = await client.request(method, "/customers", headers=headers, json=body)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "Authorization"
    listed = await client.get("/customers", headers=bearer(org.sk_test))
    assert listed.json()["count"] == 0


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_bearer_scheme_is_case_insensitive(
    client: httpx.AsyncClient, org: Org, scheme: str
) -> None:
    made = await make_customer(client, org.sk_test)
    response = await client.get("/customers", headers={"Authorization": f"{scheme} {org.sk_test}"})
    assert response.status_code == 200, response.text
    assert [c["id"] for c in response.json()["data"]] == [made["id"]]


# --- the key itself ----------------------------------------------------------------------


async def test_unknown_well_formed_key_is_invalid(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/customers", headers=bearer(WELL_FORMED_UNKNOWN_KEY))
    error = assert_error(response, 401, "INVALID_API_KEY")
    assert WELL_FORMED_UNKNOWN_KEY not in error["message"]


@pytest.mark.parametrize(
    "key",
    [
        "nonsense",
        "sk_test_short",
        "xk_test_" + "a" * 40,
        "sk_prod_" + "a" * 40,
        "sk_test_" + "a" * 39 + "!",
    ],
)
async def test_malformed_key_is_invalid(client: httpx.AsyncClient, org: Org, key: str) -> None:
    assert_error(await client.get("/customers", headers=bearer(key)), 401, "INVALID_API_KEY")


async def test_malformed_key_in_basic_is_invalid(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/customers", headers=basic("nonsense:"))
    assert_error(response, 401, "INVALID_API_KEY")


async def test_revoked_key_is_refused(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    extra = await new_secret_key(client, org.sk_test)
    response = await client.delete(f"/api-keys/{extra['id']}", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    for headers in (bearer(extra["key"]), basic(extra["key"] + ":")):
        error = assert_error(
            await client.get("/customers", headers=headers), 401, "API_KEY_REVOKED"
        )
        assert extra["key"] not in error["message"]
    assert (await key_record(db, extra["key"])).revoked_at is not None


async def test_rolled_key_works_until_its_overlap_ends(client: httpx.AsyncClient, org: Org) -> None:
    extra = await new_secret_key(client, org.sk_test)
    start = a_day_from_now()
    with time_machine.travel(start, tick=False) as traveller:
        response = await client.post(
            f"/api-keys/{extra['id']}/roll",
            json={"expiresInSeconds": 3600},
            headers=bearer(org.sk_test),
        )
        assert response.status_code == 200, response.text
        successor = response.json()["key"]
        assert response.json()["id"] != extra["id"]

        traveller.move_to(start + timedelta(seconds=3599, milliseconds=999))
        for key in (extra["key"], successor):
            response = await client.get("/customers", headers=bearer(key))
            assert response.status_code == 200, response.text

        traveller.move_to(start + timedelta(seconds=3600))
        error = assert_error(
            await client.get("/customers", headers=bearer(extra["key"])), 401, "API_KEY_EXPIRED"
        )
        assert extra["key"] not in error["message"]
        response = await client.get("/customers", headers=bearer(successor))
        assert response.status_code == 200, response.text


async def test_every_401_has_its_own_request_id(client: httpx.AsyncClient, org: Org) -> None:
    first = await client.get("/customers")
    second = await client.get("/customers")
    ids = {assert_error(r, 401, "API_KEY_MISSING")["requestId"] for r in (first, second)}
    assert len(ids) == 2


async def test_401_on_a_write_changes_nothing(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        "/customers",
        json={"emailAddress": "nobody@example.com"},
        headers=bearer(WELL_FORMED_UNKNOWN_KEY),
    )
    assert_error(response, 401, "INVALID_API_KEY")
    listed = await client.get("/customers", headers=bearer(org.sk_test))
    assert listed.json() == {"data": [], "count": 0}


# --- publishable keys, organizations, modes ------------------------------------------------


@pytest.mark.parametrize("pick", ["pk_test", "pk_live"])
async def test_publishable_key_on_a_secret_route_is_forbidden(
    client: httpx.AsyncClient, org: Org, pick: str
) -> None:
    response = await client.get("/customers", headers=bearer(org.keys[pick]))
    error = assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert "WWW-Authenticate" not in response.headers
    assert error["param"] is None


async def test_publishable_key_cannot_write(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        "/customers", json={"emailAddress": "pk@example.com"}, headers=bearer(org.pk_test)
    )
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    listed = await client.get("/customers", headers=bearer(org.sk_test))
    assert listed.json() == {"data": [], "count": 0}


@pytest.mark.parametrize(
    ("content", "invalid"),
    [
        (b'{"emailAddress": "not an address", "locale": 12}', "VALIDATION_ERROR"),
        (b'{"emailAddress": ', "INVALID_JSON"),
        (b"[1, 2]", "VALIDATION_ERROR"),
    ],
    ids=["invalid fields", "malformed JSON", "not an object"],
)
async def test_a_publishable_key_is_refused_before_its_body_is_read(
    client: httpx.AsyncClient, org: Org, content: bytes, invalid: str
) -> None:
    """The key's kind is checked first, as its validity is: what the body holds is no business
    of a key that may not call the route (a secret key gets the validation error)."""
    headers = {**bearer(org.pk_test), "Content-Type": "application/json"}
    refused = await client.post("/customers", content=content, headers=headers)
    assert_error(refused, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    headers = {**bearer(org.sk_test), "Content-Type": "application/json"}
    answer = await client.post("/customers", content=content, headers=headers)
    assert_error(answer, 400, invalid)
    for pick, status, code in (
        (org.pk_test, 403, "PUBLISHABLE_KEY_NOT_ALLOWED"),
        (org.sk_test, 400, "VALIDATION_ERROR"),
    ):
        listed = await client.get("/customers?take=0", headers=bearer(pick))
        assert_error(listed, status, code)


async def test_another_organizations_object_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    theirs = await make_customer(client, other_org.sk_test, firstName="Theirs")
    url = f"/customers/{theirs['id']}"
    assert_error(await client.get(url, headers=bearer(org.sk_test)), 404, "NOT_FOUND")
    response = await client.patch(url, json={"firstName": "Mine"}, headers=bearer(org.sk_test))
    assert_error(response, 404, "NOT_FOUND")
    assert_error(await client.delete(url, headers=bearer(org.sk_test)), 404, "NOT_FOUND")
    still = await client.get(url, headers=bearer(other_org.sk_test))
    assert still.status_code == 200
    assert still.json()["firstName"] == "Theirs"
    assert still.json()["deletedAt"] is None
    listed = await client.get("/customers", headers=bearer(org.sk_test))
    assert listed.json()["count"] == 0


async def test_the_other_modes_object_is_not_found(client: httpx.AsyncClient, org: Org) -> None:
    test_customer = await make_customer(client, org.sk_test, firstName="Test")
    url = f"/customers/{test_customer['id']}"
    assert test_customer["livemode"] is False
    assert_error(await client.get(url, headers=bearer(org.sk_live)), 404, "NOT_FOUND")
    response = await client.patch(url, json={"firstName": "Live"}, headers=bearer(org.sk_live))
    assert_error(response, 404, "NOT_FOUND")
    live_list = await client.get("/customers", headers=bearer(org.sk_live))
    assert live_list.json() == {"data": [], "count": 0}

    live_customer = await make_customer(client, org.sk_live)
    assert live_customer["livemode"] is True
    response = await client.get(f"/customers/{live_customer['id']}", headers=bearer(org.sk_test))
    assert_error(response, 404, "NOT_FOUND")
    still = await client.get(url, headers=bearer(org.sk_test))
    assert still.json()["firstName"] == "Test"


# --- lastUsedAt ----------------------------------------------------------------------------


async def test_last_used_at_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    extra = await new_secret_key(client, org.sk_test)
    assert extra["lastUsedAt"] is None
    assert (await key_record(db, extra["key"])).last_used_at is None
    start = a_day_from_now()
    with time_machine.travel(start, tick=False) as traveller:
        assert (await client.get("/customers", headers=bearer(extra["key"]))).status_code == 200
        assert (await key_record(db, extra["key"])).last_used_at == start
        assert (await listed_key(client, org.sk_test, extra["id"]))["lastUsedAt"] == timestamp(
            start
        )

        traveller.move_to(start + timedelta(seconds=59))
        assert (await client.get("/customers", headers=bearer(extra["key"]))).status_code == 200
        assert (await key_record(db, extra["key"])).last_used_at == start

        later = start + timedelta(seconds=61)
        traveller.move_to(later)
        assert (await client.get("/customers", headers=bearer(extra["key"]))).status_code == 200
        assert (await key_record(db, extra["key"])).last_used_at == later
        assert (await listed_key(client, org.sk_test, extra["id"]))["lastUsedAt"] == timestamp(
            later
        )


async def test_failed_authentication_does_not_touch_last_used_at(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    extra = await new_secret_key(client, org.sk_test)
    response = await client.delete(f"/api-keys/{extra['id']}", headers=bearer(org.sk_test))
    assert response.status_code == 200
    assert_error(
        await client.get("/customers", headers=bearer(extra["key"])), 401, "API_KEY_REVOKED"
    )
    assert (await key_record(db, extra["key"])).last_used_at is None

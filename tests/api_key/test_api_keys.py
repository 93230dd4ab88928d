"""API keys (API.md §2.6): list, create, roll with an overlap, revoke."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select, text

from kohort.db import Database
from kohort.models import IdempotencyKey
from tests.factories import Org, bearer
from tests.shapes import API_KEY_FIELDS, TIMESTAMP, assert_error

SEVEN_DAYS = 7 * 24 * 3600


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def a_day_from_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


def preview(key: str) -> str:
    prefix = key[:8]
    return f"{prefix}…{key[-4:]}"


async def listed(client: httpx.AsyncClient, caller: str) -> list[dict[str, Any]]:
    response = await client.get("/api-keys", headers=bearer(caller))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    data: list[dict[str, Any]] = body["data"]
    return data


async def key_id(db: Database, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    async with db.read() as session:
        found = await session.scalar(
            text("SELECT id FROM api_keys WHERE key_hash = :digest"), {"digest": digest}
        )
    assert isinstance(found, str)
    return found


async def create_key(client: httpx.AsyncClient, caller: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/api-keys", json=body, headers=bearer(caller))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def works(client: httpx.AsyncClient, key: str) -> bool:
    response = await client.get("/customers", headers=bearer(key))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def roll(
    client: httpx.AsyncClient, caller: str, target_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/api-keys/{target_id}/roll", json=body, headers=bearer(caller))


# --- GET /api-keys -------------------------------------------------------------------------


async def test_list_shows_the_modes_keys_with_their_exact_fields(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    response = await client.get("/api-keys", headers=bearer(org.sk_test))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "count"}
    assert body["count"] == 2
    by_type = {item["type"]: item for item in body["data"]}
    assert set(by_type) == {"SECRET", "PUBLISHABLE"}
    for item in body["data"]:
        assert set(item) == API_KEY_FIELDS
        assert item["livemode"] is False
        assert TIMESTAMP.match(item["createdAt"])
        assert item["expiresAt"] is None
        assert item["revokedAt"] is None
    secret, publishable = by_type["SECRET"], by_type["PUBLISHABLE"]
    assert secret["id"] == await key_id(db, org.sk_test)
    assert publishable["id"] == await key_id(db, org.pk_test)
    assert secret["id"].startswith("key_")
    assert secret["preview"] == preview(org.sk_test)
    assert secret["preview"].startswith("sk_test_…")
    assert publishable["preview"] == preview(org.pk_test)
    assert secret["name"] == "Default secret key"
    assert publishable["name"] == "Default publishable key"
    assert TIMESTAMP.match(secret["lastUsedAt"]), "the calling key was just used"
    assert publishable["lastUsedAt"] is None


async def test_list_never_shows_a_key(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api-keys", headers=bearer(org.sk_test))
    for key in org.keys.values():
        assert key not in response.text
        assert key[8:] not in response.text


async def test_list_is_separated_by_mode(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    live = await listed(client, org.sk_live)
    test = await listed(client, org.sk_test)
    assert {k["id"] for k in live} == {await key_id(db, org.sk_live), await key_id(db, org.pk_live)}
    assert all(k["livemode"] is True for k in live)
    assert {k["preview"] for k in live} == {preview(org.sk_live), preview(org.pk_live)}
    assert not {k["id"] for k in live} & {k["id"] for k in test}


async def test_list_is_separated_by_organization(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    mine = {k["id"] for k in await listed(client, org.sk_test)}
    theirs = {k["id"] for k in await listed(client, other_org.sk_test)}
    assert len(mine) == len(theirs) == 2
    assert not mine & theirs


async def test_list_needs_a_secret_key(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get("/api-keys", headers=bearer(org.pk_test))
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")


# --- POST /api-keys ------------------------------------------------------------------------


async def test_create_returns_the_key_once(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        "/api-keys", json={"name": "Deploy bot"}, headers=bearer(org.sk_test)
    )
    assert response.status_code == 201, response.text
    issued = response.json()
    assert set(issued) == API_KEY_FIELDS | {"key"}
    assert re.fullmatch(r"sk_test_[A-Za-z0-9]{32,}", issued["key"])
    assert issued["name"] == "Deploy bot"
    assert issued["type"] == "SECRET"
    assert issued["livemode"] is False
    assert issued["preview"] == preview(issued["key"])
    assert TIMESTAMP.match(issued["createdAt"])
    assert issued["lastUsedAt"] is None
    assert issued["expiresAt"] is None
    assert issued["revokedAt"] is None

    keys = await listed(client, issued["key"])
    assert issued["id"] in {k["id"] for k in keys}
    assert len(keys) == 3
    response = await client.get("/api-keys", headers=bearer(org.sk_test))
    assert issued["key"] not in response.text


async def test_created_keys_differ(client: httpx.AsyncClient, org: Org) -> None:
    first = await create_key(client, org.sk_test)
    second = await create_key(client, org.sk_test)
    assert first["key"] != second["key"]
    assert first["id"] != second["id"]


@pytest.mark.parametrize("body", [None, {}])
async def test_create_defaults_to_an_unnamed_secret_key(
    client: httpx.AsyncClient, org: Org, body: dict[str, Any] | None
) -> None:
    response = await client.post("/api-keys", json=body, headers=bearer(org.sk_test))
    assert response.status_code == 201, response.text
    assert response.json()["type"] == "SECRET"
    assert response.json()["name"] is None
    assert response.json()["key"].startswith("sk_test_")


async def test_create_in_live_mode(client: httpx.AsyncClient, org: Org) -> None:
    issued = await create_key(client, org.sk_live)
    assert re.fullmatch(r"sk_live_[A-Za-z0-9]{32,}", issued["key"])
    assert issued["livemode"] is True
    assert issued["id"] in {k["id"] for k in await listed(client, org.sk_live)}
    assert issued["id"] not in {k["id"] for k in await listed(client, org.sk_test)}


async def test_create_publishable_key(client: httpx.AsyncClient, org: Org) -> None:
    issued = await create_key(client, org.sk_test, type="PUBLISHABLE", name="Storefront")
    assert re.fullmatch(r"pk_test_[A-Za-z0-9]{32,}", issued["key"])
    assert issued["type"] == "PUBLISHABLE"
    assert issued["preview"] == preview(issued["key"])
    response = await client.get("/customers", headers=bearer(issued["key"]))
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")


@pytest.mark.parametrize("bad_type", ["ADMIN", "secret", 1, None])
async def test_create_with_a_bad_type_is_refused(
    client: httpx.AsyncClient, org: Org, bad_type: Any
) -> None:
    response = await client.post("/api-keys", json={"type": bad_type}, headers=bearer(org.sk_test))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "type"
    assert "type" in error["message"]
    assert len(await listed(client, org.sk_test)) == 2


async def test_create_needs_a_secret_key(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post("/api-keys", json={}, headers=bearer(org.pk_test))
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert len(await listed(client, org.sk_test)) == 2


async def test_database_stores_only_the_sha256(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    issued = await create_key(client, org.sk_test, name="stored")
    keys = [*org.keys.values(), issued["key"]]
    async with db.read() as session:
        result = await session.execute(
            text("SELECT * FROM api_keys WHERE organization_id = :org"), {"org": org.id}
        )
        rows = [dict(row) for row in result.mappings()]
    assert len(rows) == 5
    hashes = {row["key_hash"] for row in rows}
    assert hashes == {hashlib.sha256(key.encode()).hexdigest() for key in keys}
    for row in rows:
        for value in row.values():
            for key in keys:
                assert key[8:] not in str(value)
                assert key[8:36] not in str(value)


# --- POST /api-keys/{id}/roll --------------------------------------------------------------


async def test_roll_with_an_overlap(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    old_id = await key_id(db, org.sk_test)
    start = a_day_from_now()
    with time_machine.travel(start, tick=False) as traveller:
        response = await roll(client, org.sk_test, old_id, expiresInSeconds=3600)
        assert response.status_code == 200, response.text
        new = response.json()
        assert set(new) == API_KEY_FIELDS | {"key"}
        assert re.fullmatch(r"sk_test_[A-Za-z0-9]{32,}", new["key"])
        assert new["key"] != org.sk_test
        assert new["id"] != old_id
        assert new["name"] == "Default secret key"
        assert new["type"] == "SECRET"
        assert new["livemode"] is False
        assert new["expiresAt"] is None
        assert new["createdAt"] == timestamp(start)

        assert await works(client, new["key"])
        assert await works(client, org.sk_test)
        keys = {k["id"]: k for k in await listed(client, new["key"])}
        assert set(keys) == {old_id, new["id"], await key_id(db, org.pk_test)}
        assert keys[old_id]["expiresAt"] == timestamp(start + timedelta(hours=1))
        assert keys[new["id"]]["expiresAt"] is None

        traveller.move_to(start + timedelta(hours=1))
        assert not await works(client, org.sk_test)
        assert await works(client, new["key"])
        keys = {k["id"]: k for k in await listed(client, new["key"])}
        assert set(keys) == {new["id"], await key_id(db, org.pk_test)}


@pytest.mark.parametrize("body", [None, {}, {"expiresInSeconds": 0}])
async def test_roll_without_overlap_stops_the_old_key_at_once(
    client: httpx.AsyncClient, org: Org, db: Database, body: dict[str, Any] | None
) -> None:
    old_id = await key_id(db, org.sk_test)
    response = await client.post(f"/api-keys/{old_id}/roll", json=body, headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    new = response.json()
    old = await client.get("/customers", headers=bearer(org.sk_test))
    assert_error(old, 401, "API_KEY_EXPIRED")
    assert await works(client, new["key"])
    assert {k["id"] for k in await listed(client, new["key"])} == {
        new["id"],
        await key_id(db, org.pk_test),
    }


async def test_roll_accepts_seven_days_and_snake_case(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    start = a_day_from_now()
    with time_machine.travel(start, tick=False):
        response = await roll(
            client, org.sk_test, await key_id(db, org.sk_test), expires_in_seconds=SEVEN_DAYS
        )
        assert response.status_code == 200, response.text
        keys = {k["id"]: k for k in await listed(client, org.sk_test)}
    old = keys[await key_id(db, org.sk_test)]
    assert old["expiresAt"] == timestamp(start + timedelta(days=7))


@pytest.mark.parametrize("seconds", [-1, SEVEN_DAYS + 1, "soon", 1.5])
async def test_roll_with_an_out_of_range_overlap_is_refused(
    client: httpx.AsyncClient, org: Org, db: Database, seconds: Any
) -> None:
    old_id = await key_id(db, org.sk_test)
    response = await roll(client, org.sk_test, old_id, expiresInSeconds=seconds)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "expiresInSeconds"
    assert "expiresInSeconds" in error["message"]
    keys = await listed(client, org.sk_test)
    assert len(keys) == 2
    assert all(k["expiresAt"] is None for k in keys)


async def test_roll_a_rolled_key_is_refused(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    old_id = await key_id(db, org.sk_test)
    first = await roll(client, org.sk_test, old_id, expiresInSeconds=600)
    assert first.status_code == 200, first.text
    second = await roll(client, org.sk_test, old_id, expiresInSeconds=600)
    error = assert_error(second, 400, "API_KEY_ALREADY_ROLLED")
    assert error["param"] == "id"
    keys = await listed(client, org.sk_test)
    assert len(keys) == 3
    assert {k["id"] for k in keys if k["expiresAt"] is None} == {
        first.json()["id"],
        await key_id(db, org.pk_test),
    }


async def test_roll_a_key_rolled_without_overlap_is_refused(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    """A retry of a roll that answered but whose answer was lost says what happened."""
    old_id = await key_id(db, org.sk_test)
    first = await roll(client, org.sk_test, old_id)
    assert first.status_code == 200, first.text
    second = await roll(client, first.json()["key"], old_id)
    assert_error(second, 400, "API_KEY_ALREADY_ROLLED")
    assert len(await listed(client, first.json()["key"])) == 2


async def test_roll_a_revoked_key_is_not_found(client: httpx.AsyncClient, org: Org) -> None:
    extra = await create_key(client, org.sk_test)
    url = f"/api-keys/{extra['id']}"
    assert (await client.delete(url, headers=bearer(org.sk_test))).status_code == 200
    assert_error(await roll(client, org.sk_test, extra["id"]), 404, "NOT_FOUND")
    assert len(await listed(client, org.sk_test)) == 2


async def test_roll_a_publishable_key(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    response = await roll(client, org.sk_test, await key_id(db, org.pk_test))
    assert response.status_code == 200, response.text
    new = response.json()
    assert re.fullmatch(r"pk_test_[A-Za-z0-9]{32,}", new["key"])
    assert new["type"] == "PUBLISHABLE"
    assert new["name"] == "Default publishable key"
    assert_error(
        await client.get("/customers", headers=bearer(org.pk_test)), 401, "API_KEY_EXPIRED"
    )
    assert_error(
        await client.get("/customers", headers=bearer(new["key"])),
        403,
        "PUBLISHABLE_KEY_NOT_ALLOWED",
    )


async def test_roll_an_unknown_key_is_not_found(client: httpx.AsyncClient, org: Org) -> None:
    response = await roll(client, org.sk_test, "key_00000000000000")
    assert_error(response, 404, "NOT_FOUND")
    assert len(await listed(client, org.sk_test)) == 2


async def test_roll_another_organizations_key_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, db: Database
) -> None:
    theirs = await key_id(db, other_org.sk_test)
    assert_error(await roll(client, org.sk_test, theirs), 404, "NOT_FOUND")
    assert await works(client, other_org.sk_test)
    assert [k["expiresAt"] for k in await listed(client, other_org.sk_test)] == [None, None]
    assert len(await listed(client, org.sk_test)) == 2


async def test_roll_the_other_modes_key_is_not_found(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    live_id = await key_id(db, org.sk_live)
    assert_error(await roll(client, org.sk_test, live_id), 404, "NOT_FOUND")
    assert await works(client, org.sk_live)
    assert len(await listed(client, org.sk_live)) == 2


async def test_roll_needs_a_secret_key(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    response = await roll(client, org.pk_test, await key_id(db, org.pk_test))
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert len(await listed(client, org.sk_test)) == 2


# --- DELETE /api-keys/{id} -----------------------------------------------------------------


async def test_revoke_a_key(client: httpx.AsyncClient, org: Org) -> None:
    extra = await create_key(client, org.sk_test, name="to revoke")
    start = a_day_from_now()
    with time_machine.travel(start, tick=False):
        response = await client.delete(f"/api-keys/{extra['id']}", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert set(revoked) == API_KEY_FIELDS
    assert revoked["id"] == extra["id"]
    assert revoked["revokedAt"] == timestamp(start)
    error = assert_error(
        await client.get("/customers", headers=bearer(extra["key"])), 401, "API_KEY_REVOKED"
    )
    assert error["code"] == "API_KEY_REVOKED"
    assert extra["id"] not in {k["id"] for k in await listed(client, org.sk_test)}


async def test_revoke_twice_is_not_found(client: httpx.AsyncClient, org: Org) -> None:
    extra = await create_key(client, org.sk_test)
    url = f"/api-keys/{extra['id']}"
    assert (await client.delete(url, headers=bearer(org.sk_test))).status_code == 200
    assert_error(await client.delete(url, headers=bearer(org.sk_test)), 404, "NOT_FOUND")


async def test_revoke_the_calling_key_when_another_remains(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    extra = await create_key(client, org.sk_test)
    own_id = await key_id(db, org.sk_test)
    response = await client.delete(f"/api-keys/{own_id}", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    assert_error(
        await client.get("/customers", headers=bearer(org.sk_test)), 401, "API_KEY_REVOKED"
    )
    assert await works(client, extra["key"])


async def test_last_secret_key_cannot_be_revoked(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    own_id = await key_id(db, org.sk_test)
    response = await client.delete(f"/api-keys/{own_id}", headers=bearer(org.sk_test))
    error = assert_error(response, 400, "LAST_SECRET_KEY")
    assert error["param"] == "id"
    assert await works(client, org.sk_test)
    keys = {k["id"]: k for k in await listed(client, org.sk_test)}
    assert keys[own_id]["revokedAt"] is None


async def test_last_secret_key_is_counted_per_mode(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await create_key(client, org.sk_test)
    live_id = await key_id(db, org.sk_live)
    response = await client.delete(f"/api-keys/{live_id}", headers=bearer(org.sk_live))
    assert_error(response, 400, "LAST_SECRET_KEY")
    assert await works(client, org.sk_live)


async def test_a_key_in_its_overlap_does_not_count_as_lasting(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    """Only keys with no expiry keep a mode reachable; the rolled one is about to stop."""
    old_id = await key_id(db, org.sk_test)
    rolled = await roll(client, org.sk_test, old_id, expiresInSeconds=3600)
    new = rolled.json()
    response = await client.delete(f"/api-keys/{new['id']}", headers=bearer(new["key"]))
    assert_error(response, 400, "LAST_SECRET_KEY")
    assert await works(client, new["key"])
    response = await client.delete(f"/api-keys/{old_id}", headers=bearer(new["key"]))
    assert response.status_code == 200, response.text
    assert_error(
        await client.get("/customers", headers=bearer(org.sk_test)), 401, "API_KEY_REVOKED"
    )


async def test_last_publishable_key_can_be_revoked(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    pk_id = await key_id(db, org.pk_test)
    response = await client.delete(f"/api-keys/{pk_id}", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "PUBLISHABLE"
    assert response.json()["revokedAt"] is not None
    assert_error(
        await client.get("/customers", headers=bearer(org.pk_test)), 401, "API_KEY_REVOKED"
    )
    assert [k["type"] for k in await listed(client, org.sk_test)] == ["SECRET"]


async def test_revoke_needs_a_secret_key(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    pk_id = await key_id(db, org.pk_test)
    response = await client.delete(f"/api-keys/{pk_id}", headers=bearer(org.pk_test))
    assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert all(k["revokedAt"] is None for k in await listed(client, org.sk_test))
    assert len(await listed(client, org.sk_test)) == 2


async def test_revoke_unknown_other_org_or_other_mode_key_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, db: Database
) -> None:
    await create_key(client, other_org.sk_test)
    await create_key(client, org.sk_live)
    targets = [
        "key_00000000000000",
        await key_id(db, other_org.pk_test),
        await key_id(db, other_org.sk_test),
        await key_id(db, org.pk_live),
    ]
    for target in targets:
        response = await client.delete(f"/api-keys/{target}", headers=bearer(org.sk_test))
        assert_error(response, 404, "NOT_FOUND")
    assert await works(client, other_org.sk_test)
    assert len(await listed(client, other_org.sk_test)) == 3
    assert len(await listed(client, org.sk_live)) == 3


async def test_an_idempotent_replay_never_shows_or_stores_the_key(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    headers = {**bearer(org.sk_test), "Idempotency-Key": "new-key-once"}
    first = await client.post("/api-keys", json={"name": "deploy"}, headers=headers)
    replay = await client.post("/api-keys", json={"name": "deploy"}, headers=headers)

    assert first.status_code == replay.status_code == 201
    key = first.json()["key"]
    assert key.startswith("sk_test_")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == {**first.json(), "key": None}
    async with db.read() as session:
        stored = (
            (
                await session.execute(
                    select(IdempotencyKey.response_body).where(
                        IdempotencyKey.organization_id == org.id
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(stored) == 1
    assert key.encode() not in stored[0]
    listed = await client.get("/api-keys", headers=bearer(org.sk_test))
    assert [k["name"] for k in listed.json()["data"]].count("deploy") == 1

"""Idempotency keys (API.md §1.6) through POST /customers and POST /api-keys."""

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import func, select

from kohort import clock
from kohort.db import Database
from kohort.http import idempotency
from kohort.models import ApiKey, Customer, Event, IdempotencyKey
from tests.factories import Org, bearer
from tests.shapes import assert_error


def _headers(api_key: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = bearer(api_key)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


async def _post(
    client: httpx.AsyncClient,
    api_key: str,
    key: str | None,
    body: Any,
    path: str = "/customers",
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(path, content=content, headers=_headers(api_key, key))


async def _count(db: Database, model: Any, org: Org) -> int:
    async with db.read() as session:
        stmt = select(func.count()).select_from(model).where(model.organization_id == org.id)
        return int((await session.execute(stmt)).scalar_one())


async def _key_rows(db: Database, org: Org, key: str) -> list[IdempotencyKey]:
    async with db.read() as session:
        stmt = select(IdempotencyKey).where(
            IdempotencyKey.organization_id == org.id, IdempotencyKey.key == key
        )
        return list((await session.execute(stmt)).scalars().all())


async def test_replay_returns_the_first_answer_and_does_nothing(
    client, db: Database, org: Org
) -> None:
    body = {"emailAddress": "replay@example.com", "firstName": "Re"}
    first = await _post(client, org.sk_test, "create-1", body)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await _post(client, org.sk_test, "create-1", body)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert again.headers["request-id"].startswith("req_")
    assert again.headers["request-id"] != first.headers["request-id"]
    assert await _count(db, Customer, org) == 1
    assert await _count(db, Event, org) == 1
    third = await _post(client, org.sk_test, "create-1", body)
    assert third.content == first.content
    assert await _count(db, Customer, org) == 1


async def test_without_a_key_every_post_does_the_work(client, db: Database, org: Org) -> None:
    first = await _post(client, org.sk_test, None, {"emailAddress": "nokey@example.com"})
    assert first.status_code == 201
    second = await _post(client, org.sk_test, None, {"emailAddress": "nokey@example.com"})
    assert_error(second, 409, "CUSTOMER_EXISTS")
    assert "idempotent-replayed" not in second.headers


async def test_same_key_with_another_body_is_a_409(client, db: Database, org: Org) -> None:
    first = await _post(client, org.sk_test, "k-reused", {"emailAddress": "one@example.com"})
    assert first.status_code == 201
    other = await _post(client, org.sk_test, "k-reused", {"emailAddress": "two@example.com"})
    error = assert_error(other, 409, "IDEMPOTENCY_KEY_REUSED")
    assert error["type"] == "idempotency_error"
    assert "idempotent-replayed" not in other.headers
    elsewhere = await _post(
        client, org.sk_test, "k-reused", {"name": "x"}, path="/api-keys"
    )  # same key, another route: another request
    assert_error(elsewhere, 409, "IDEMPOTENCY_KEY_REUSED")
    assert await _count(db, Customer, org) == 1
    assert await _count(db, ApiKey, org) == 4


async def test_key_order_and_spacing_do_not_change_the_body(client, db: Database, org: Org) -> None:
    compact = b'{"emailAddress":"order@example.com","firstName":"Ord"}'
    spaced = b'{\n  "firstName" : "Ord",\n  "emailAddress" : "order@example.com"\n}\n'
    first = await _post(client, org.sk_test, "k-order", compact)
    assert first.status_code == 201, first.text
    again = await _post(client, org.sk_test, "k-order", spaced)
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert await _count(db, Customer, org) == 1


async def test_keys_are_scoped_to_organization_and_mode(
    client, db: Database, org: Org, other_org: Org
) -> None:
    body = {"emailAddress": "scoped@example.com"}
    mine = await _post(client, org.sk_test, "shared-key", body)
    theirs = await _post(client, other_org.sk_test, "shared-key", body)
    live = await _post(client, org.sk_live, "shared-key", body)
    for response in (mine, theirs, live):
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers
    assert len({mine.json()["id"], theirs.json()["id"], live.json()["id"]}) == 3
    assert theirs.json()["organizationId"] == other_org.id
    assert live.json()["livemode"] is True
    assert mine.json()["livemode"] is False
    assert await _count(db, Customer, org) == 2
    assert await _count(db, Customer, other_org) == 1


async def test_an_error_answer_is_replayed(client, db: Database, org: Org) -> None:
    body = {"emailAddress": "taken@example.com"}
    created = await _post(client, org.sk_test, None, body)
    assert created.status_code == 201
    conflict = await _post(client, org.sk_test, "k-conflict", body)
    assert_error(conflict, 409, "CUSTOMER_EXISTS")
    deleted = await client.delete(f"/customers/{created.json()['id']}", headers=bearer(org.sk_test))
    assert deleted.status_code == 200
    # a new request would now restore the customer; the replay must not
    again = await _post(client, org.sk_test, "k-conflict", body)
    assert again.status_code == 409
    assert again.content == conflict.content
    assert again.headers["Idempotent-Replayed"] == "true"
    customer = await client.get(f"/customers/{created.json()['id']}", headers=bearer(org.sk_test))
    assert customer.json()["deletedAt"] is not None
    assert await _count(db, Event, org) == 2


async def test_a_body_validation_error_is_not_stored(client, db: Database, org: Org) -> None:
    bad = await _post(client, org.sk_test, "k-fix", {"firstName": "No e-mail"})
    assert_error(bad, 400, "VALIDATION_ERROR")
    assert await _key_rows(db, org, "k-fix") == []
    fixed = await _post(client, org.sk_test, "k-fix", {"emailAddress": "fixed@example.com"})
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert await _count(db, Customer, org) == 1


async def test_malformed_json_is_not_stored(client, db: Database, org: Org) -> None:
    bad = await _post(client, org.sk_test, "k-json", b'{"emailAddress": ')
    assert_error(bad, 400, "INVALID_JSON")
    fixed = await _post(client, org.sk_test, "k-json", {"emailAddress": "json@example.com"})
    assert fixed.status_code == 201, fixed.text


async def test_a_field_rejected_by_the_service_is_not_stored(
    client, db: Database, org: Org
) -> None:
    bad = await _post(
        client, org.sk_test, "k-phone", {"emailAddress": "ph@example.com", "phoneNumber": "12"}
    )
    error = assert_error(bad, 400, "VALIDATION_ERROR")
    assert error["param"] == "phoneNumber"
    assert await _key_rows(db, org, "k-phone") == []
    fixed = await _post(
        client,
        org.sk_test,
        "k-phone",
        {"emailAddress": "ph@example.com", "phoneNumber": "+33612345678"},
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["phoneNumber"] == "+33612345678"


async def test_key_length_is_at_most_255(client, db: Database, org: Org) -> None:
    too_long = await _post(client, org.sk_test, "k" * 256, {"emailAddress": "long@example.com"})
    error = assert_error(too_long, 400, "VALIDATION_ERROR")
    assert error["param"] == "Idempotency-Key"
    assert await _count(db, Customer, org) == 0
    longest = await _post(client, org.sk_test, "k" * 255, {"emailAddress": "long@example.com"})
    assert longest.status_code == 201, longest.text
    again = await _post(client, org.sk_test, "k" * 255, {"emailAddress": "long@example.com"})
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_patch_that_declares_the_key_checks_its_length(client, org: Org) -> None:
    """The PATCH of a checkout session's expiry declares Idempotency-Key (KohortPay's clients
    send it) without replaying: the key is still checked, before the route runs."""
    path = "/checkout-sessions/cs_0123456789abcd/expire"
    headers = bearer(org.sk_test)
    too_long = await client.patch(path, headers={**headers, "Idempotency-Key": "k" * 256})
    assert assert_error(too_long, 400, "VALIDATION_ERROR")["param"] == "Idempotency-Key"
    longest = await client.patch(path, headers={**headers, "Idempotency-Key": "k" * 255})
    assert_error(longest, 404, "NOT_FOUND")
    anonymous = await client.patch(path, headers={"Idempotency-Key": "k" * 256})
    assert_error(anonymous, 401, "API_KEY_MISSING")


async def test_api_key_creation_is_replayed(client, db: Database, org: Org) -> None:
    first = await _post(client, org.sk_test, "new-key", {"name": "Deploy"}, path="/api-keys")
    assert first.status_code == 201, first.text
    again = await _post(client, org.sk_test, "new-key", {"name": "Deploy"}, path="/api-keys")
    assert again.status_code == 201
    assert again.json() == {**first.json(), "key": None}, "the secret is shown once only"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _count(db, ApiKey, org) == 5
    works = await client.get("/customers", headers=bearer(first.json()["key"]))
    assert works.status_code == 200


async def _race(client: httpx.AsyncClient, db: Database, org: Org, round_: int) -> int:
    """Ten concurrent POSTs with one key: one does the work; returns how many saw it running."""
    key, body = f"k-race-{round_}", {"emailAddress": f"race{round_}@example.com"}
    responses = await asyncio.gather(*(_post(client, org.sk_test, key, body) for _ in range(10)))
    created = [r for r in responses if r.status_code == 201]
    busy = [r for r in responses if r.status_code != 201]
    assert created, [r.text for r in responses]
    assert len({r.content for r in created}) == 1
    for response in busy:
        error = assert_error(response, 409, "IDEMPOTENCY_REQUEST_IN_PROGRESS")
        assert error["type"] == "idempotency_error"
    assert await _count(db, Customer, org) == round_ + 1
    assert await _count(db, Event, org) == round_ + 1
    later = await _post(client, org.sk_test, key, body)
    assert later.status_code == 201
    assert later.content == created[0].content
    return len(busy)


@pytest.mark.concurrency
async def test_concurrent_retries_do_the_work_once(client, db: Database, org: Org) -> None:
    """On SQLite a retry often waits for the first request's write lock and then replays its
    answer, so rounds repeat (each checked) until one retry has seen the first in progress."""
    for round_ in range(20):
        if await _race(client, db, org, round_):
            return
    pytest.fail("no concurrent retry ever saw the first request in progress")


async def _insert_claim(
    db: Database, org: Org, key: str, body: bytes, locked_ago: timedelta
) -> None:
    now = clock.now()
    async with db.write() as session:
        session.add(
            IdempotencyKey(
                organization_id=org.id,
                livemode=False,
                key=key,
                request_hash=idempotency.request_fingerprint("POST", "/customers", body),
                locked_at=now - locked_ago,
                created_at=now - locked_ago,
                expires_at=now - locked_ago + idempotency.TTL,
            )
        )


async def test_a_running_request_answers_in_progress(client, db: Database, org: Org) -> None:
    body = json.dumps({"emailAddress": "busy@example.com"}).encode()
    await _insert_claim(db, org, "k-busy", body, timedelta(seconds=5))
    response = await _post(client, org.sk_test, "k-busy", body)
    assert_error(response, 409, "IDEMPOTENCY_REQUEST_IN_PROGRESS")
    assert await _count(db, Customer, org) == 0


async def test_an_abandoned_claim_is_taken_over(client, db: Database, org: Org) -> None:
    body = json.dumps({"emailAddress": "dead@example.com"}).encode()
    await _insert_claim(db, org, "k-dead", body, timedelta(minutes=5))
    response = await _post(client, org.sk_test, "k-dead", body)
    assert response.status_code == 201, response.text
    again = await _post(client, org.sk_test, "k-dead", body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == response.content


async def test_a_key_is_forgotten_after_24_hours(client, db: Database, org: Org) -> None:
    start = clock.now()
    with time_machine.travel(start, tick=False):
        first = await _post(client, org.sk_test, "k-ttl", {"emailAddress": "a@example.com"})
    assert first.status_code == 201
    with time_machine.travel(start + timedelta(hours=23, minutes=59), tick=False):
        replay = await _post(client, org.sk_test, "k-ttl", {"emailAddress": "a@example.com"})
        reused = await _post(client, org.sk_test, "k-ttl", {"emailAddress": "b@example.com"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert_error(reused, 409, "IDEMPOTENCY_KEY_REUSED")
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        fresh = await _post(client, org.sk_test, "k-ttl", {"emailAddress": "b@example.com"})
        assert fresh.status_code == 201, fresh.text
        assert "idempotent-replayed" not in fresh.headers
        assert fresh.json()["id"] != first.json()["id"]
        again = await _post(client, org.sk_test, "k-ttl", {"emailAddress": "b@example.com"})
        assert again.content == fresh.content
    assert await _count(db, Customer, org) == 2
    assert len(await _key_rows(db, org, "k-ttl")) == 1


async def test_purge_expired_removes_expired_keys_only(client, db: Database, org: Org) -> None:
    start = clock.now()
    with time_machine.travel(start, tick=False):
        old = await _post(client, org.sk_test, "k-old", {"emailAddress": "old@example.com"})
    assert old.status_code == 201
    later = start + timedelta(hours=24, seconds=1)
    with time_machine.travel(later, tick=False):
        new = await _post(client, org.sk_test, "k-new", {"emailAddress": "new@example.com"})
        assert new.status_code == 201
        async with db.write() as session:
            purged = await idempotency.purge_expired(session)
    assert purged >= 1
    assert await _key_rows(db, org, "k-old") == []
    rows = await _key_rows(db, org, "k-new")
    assert len(rows) == 1
    assert rows[0].response_status == 201
    assert rows[0].response_body == new.content


async def test_a_refused_api_key_does_not_burn_the_idempotency_key(
    client, db: Database, org: Org
) -> None:
    body = {"emailAddress": "pk@example.com"}
    refused = await _post(client, org.pk_test, "k-pk", body)
    assert_error(refused, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert await _key_rows(db, org, "k-pk") == []
    created = await _post(client, org.sk_test, "k-pk", body)
    assert created.status_code == 201, created.text
    assert "idempotent-replayed" not in created.headers
    assert await _count(db, Customer, org) == 1


async def test_the_query_string_is_part_of_the_request(client, db: Database, org: Org) -> None:
    body = json.dumps({"emailAddress": "query@example.com"}).encode()
    expanded = await client.post(
        "/customers?expand[]=organization", content=body, headers=_headers(org.sk_test, "k-q")
    )
    assert expanded.status_code == 201, expanded.text
    assert expanded.json()["organization"]["id"] == org.id
    replay = await client.post(
        "/customers?expand[]=organization", content=body, headers=_headers(org.sk_test, "k-q")
    )
    assert replay.content == expanded.content
    plain = await _post(client, org.sk_test, "k-q", body)
    assert_error(plain, 409, "IDEMPOTENCY_KEY_REUSED")
    assert await _count(db, Customer, org) == 1


async def test_an_empty_key_is_refused(client, db: Database, org: Org) -> None:
    response = await _post(client, org.sk_test, "", {"emailAddress": "empty@example.com"})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "Idempotency-Key"
    assert await _count(db, Customer, org) == 0


async def test_a_replay_names_the_original_request(client: httpx.AsyncClient, org: Org) -> None:
    headers = {**bearer(org.sk_test), "Idempotency-Key": "original-request"}
    body = {"emailAddress": "original@example.com"}
    first = await client.post("/customers", json=body, headers=headers)
    replay = await client.post("/customers", json=body, headers=headers)

    assert replay.headers["Original-Request"] == first.headers["Request-Id"]
    assert replay.headers["Request-Id"] != first.headers["Request-Id"]
    assert "Original-Request" not in first.headers

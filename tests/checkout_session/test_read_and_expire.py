"""GET /checkout-sessions, GET /checkout-sessions/{id}, PATCH /checkout-sessions/{id}/expire."""

import httpx
from sqlalchemy import update

from kohort.db import Database
from kohort.models import CheckoutSession
from tests.checkout_session.api import CHECKOUT_SESSION_FIELDS, counts, create_session
from tests.factories import Org, bearer
from tests.order.api import START, create_order, frozen_at, get_json, wire
from tests.shapes import assert_error


async def test_a_session_reads_as_it_was_answered(client: httpx.AsyncClient, org: Org) -> None:
    created = await create_session(client, org.sk_test, metadata={"quote_id": "12"})
    assert await get_json(client, org.sk_test, f"/checkout-sessions/{created['id']}") == created


async def test_a_session_shows_the_group_its_order_is_in_now(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_session(client, org.sk_test)
    friend = await create_order(
        client, org.sk_test, paymentGroupShareId=created["paymentGroupShareId"]
    )
    assert friend["paymentGroupId"] == created["paymentGroupId"]
    read = await get_json(client, org.sk_test, f"/checkout-sessions/{created['id']}")
    assert read["paymentGroupShareId"] == created["paymentGroupShareId"]


async def test_an_unknown_or_foreign_session_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    created = await create_session(client, org.sk_test)
    for key, session_id in (
        (org.sk_test, "cs_00000000000000"),
        (org.sk_test, "pi_00000000000000"),
        (org.sk_live, created["id"]),
        (other_org.sk_test, created["id"]),
    ):
        response = await client.get(f"/checkout-sessions/{session_id}", headers=bearer(key))
        assert_error(response, 404, "NOT_FOUND", param="id")


async def test_the_list_pages_newest_first_and_filters(client: httpx.AsyncClient, org: Org) -> None:
    with frozen_at(START) as clock:
        made = []
        for n in range(3):
            made.append(await create_session(client, org.sk_test, clientReferenceId=f"c-{n}"))
            clock.shift(1)
    await create_session(client, org.sk_live)
    ids = [s["id"] for s in reversed(made)]

    first = await get_json(client, org.sk_test, "/checkout-sessions", take=2)
    second = await get_json(client, org.sk_test, "/checkout-sessions", take=2, skip=2)

    assert first["count"] == second["count"] == 3
    assert [s["id"] for s in first["data"]] == ids[:2]
    assert [s["id"] for s in second["data"]] == ids[2:]
    assert first["data"][0] == made[2]
    assert all(set(s) == CHECKOUT_SESSION_FIELDS for s in first["data"])
    oldest = await get_json(client, org.sk_test, "/checkout-sessions", orderBy="createdAt:asc")
    assert [s["id"] for s in oldest["data"]] == ids[::-1]
    by_reference = await get_json(
        client, org.sk_test, "/checkout-sessions", search="clientReferenceId:c-1"
    )
    assert [s["id"] for s in by_reference["data"]] == [made[1]["id"]]
    by_customer = await get_json(
        client,
        org.sk_test,
        "/checkout-sessions",
        search=f"customerEmail:{made[0]['customerEmail']},status:COMPLETED",
    )
    assert [s["id"] for s in by_customer["data"]] == [made[0]["id"]]
    by_group = await get_json(
        client,
        org.sk_test,
        "/checkout-sessions",
        search=f"paymentGroupId:{made[2]['paymentGroupId']}",
    )
    assert by_group["count"] == 1
    big = await get_json(client, org.sk_test, "/checkout-sessions", search="amountTotal>=10000")
    assert big["count"] == 3


async def test_the_list_refuses_unknown_fields(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(
        "/checkout-sessions", params={"search": "colour:red"}, headers=bearer(org.sk_test)
    )
    assert_error(response, 400, "VALIDATION_ERROR", param="search")
    order_by = await client.get(
        "/checkout-sessions", params={"orderBy": "colour:asc"}, headers=bearer(org.sk_test)
    )
    assert_error(order_by, 400, "VALIDATION_ERROR", param="orderBy")
    expand = await client.get(
        "/checkout-sessions", params={"expand[]": "order"}, headers=bearer(org.sk_test)
    )
    assert_error(expand, 400, "VALIDATION_ERROR", param="expand[]")


async def test_a_completed_session_cannot_be_expired(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    created = await create_session(client, org.sk_test)
    before = await counts(db, org.id)

    response = await client.patch(
        f"/checkout-sessions/{created['id']}/expire", headers=bearer(org.sk_test)
    )

    error = assert_error(response, 400, "CHECKOUT_SESSION_NOT_OPEN", param="id")
    assert error["message"] == f"Checkout session {created['id']} is not open."
    assert await get_json(client, org.sk_test, f"/checkout-sessions/{created['id']}") == created
    assert await counts(db, org.id) == before


async def test_expiring_an_unknown_session_is_not_found(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_session(client, org.sk_test)
    for key, session_id in ((org.sk_test, "cs_00000000000000"), (org.sk_live, created["id"])):
        response = await client.patch(
            f"/checkout-sessions/{session_id}/expire", headers=bearer(key)
        )
        assert_error(response, 404, "NOT_FOUND", param="id")


async def test_reads_need_a_secret_key(client: httpx.AsyncClient, org: Org) -> None:
    created = await create_session(client, org.sk_test)
    for path in ("/checkout-sessions", f"/checkout-sessions/{created['id']}"):
        response = await client.get(path, headers=bearer(org.pk_test))
        assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")


async def test_an_open_session_expires_once(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    """No route makes an OPEN session; one written directly shows the transition works."""
    created = await create_session(client, org.sk_test)
    async with db.write() as session:
        await session.execute(
            update(CheckoutSession).where(CheckoutSession.id == created["id"]).values(status="OPEN")
        )
    url = f"/checkout-sessions/{created['id']}/expire"

    with frozen_at(START):
        expired = await client.patch(url, headers=bearer(org.sk_test))
        again = await client.patch(url, headers=bearer(org.sk_test))

    assert expired.status_code == 200, expired.text
    assert expired.json()["status"] == "EXPIRED"
    assert expired.json()["updatedAt"] == wire(START)
    assert_error(again, 400, "CHECKOUT_SESSION_NOT_OPEN")
    listed = await get_json(client, org.sk_test, "/checkout-sessions", search="status:EXPIRED")
    assert [s["id"] for s in listed["data"]] == [created["id"]]

"""`expand[]` on a page costs a fixed number of queries, not one per row."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from kohort.db import Database
from tests.factories import Org, bearer
from tests.order.api import create_order, join, new_group


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _statements(client: httpx.AsyncClient, db: Database, key: str, url: str) -> int:
    """The statements of a second read of `url`: the first one may also look the key up (its
    cache entry expires when the seeding outlasts its TTL, as on a slow CI machine)."""
    warm = await client.get(url, headers=bearer(key))
    assert warm.status_code == 200, warm.text
    with counted(db) as statements:
        response = await client.get(url, headers=bearer(key))
    assert response.status_code == 200, response.text
    return len(statements)


async def test_expanded_order_pages_cost_the_same_for_2_or_12_rows(
    client: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    url = "/orders?take=100&expand[]=customer&expand[]=paymentGroup&expand[]=organization"
    for _ in range(2):
        await create_order(client, org.sk_test)
        await create_order(client, other_org.sk_test)
    small = await _statements(client, db, org.sk_test, url)
    for _ in range(10):
        await create_order(client, other_org.sk_test)
    large = await _statements(client, db, other_org.sk_test, url)
    assert large == small


async def test_expanded_group_pages_cost_the_same_for_2_or_12_rows(
    client: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    url = "/groups?take=100&expand[]=orders&expand[]=customer&expand[]=organization"
    for owner, count in ((org, 2), (other_org, 12)):
        for _ in range(count):
            group = await new_group(client, owner.sk_test)
            await join(client, owner.sk_test, group["shareId"])
    small = await _statements(client, db, org.sk_test, url)
    large = await _statements(client, db, other_org.sk_test, url)
    assert large == small
    page = (await client.get(url, headers=bearer(org.sk_test))).json()["data"]
    for group in page:
        assert group["orders"][0]["customerId"] == group["customerId"]
        assert len(group["orders"]) == 2

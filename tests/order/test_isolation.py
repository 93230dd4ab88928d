"""Orders, groups and events never cross organizations or modes (API.md §1.2, DOMAIN.md §2)."""

from typing import Any

import httpx

from tests.factories import Org, bearer
from tests.order.api import create_order, events, get_json, validate
from tests.shapes import assert_error


async def test_nothing_crosses_organizations_or_modes(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    keys = {
        "org-test": org.sk_test,
        "org-live": org.sk_live,
        "other-test": other_org.sk_test,
        "other-live": other_org.sk_live,
    }
    mine: dict[str, dict[str, Any]] = {}
    for name, key in keys.items():
        mine[name] = await create_order(client, key, clientReferenceId="same-ref")
    for name, key in keys.items():
        order = mine[name]
        orders = await get_json(client, key, "/orders")
        assert [o["id"] for o in orders["data"]] == [order["id"]]
        groups = await get_json(client, key, "/groups")
        assert [g["id"] for g in groups["data"]] == [order["paymentGroupId"]]
        listed = await events(client, key)
        assert listed["count"] == 3
        assert {e["data"]["id"] for e in listed["data"]} == {
            order["id"],
            order["paymentGroupId"],
            order["customerId"],
        }
        customers = await get_json(client, key, "/customers")
        assert [c["id"] for c in customers["data"]] == [order["customerId"]]
        for other_name, other in mine.items():
            if other_name == name:
                continue
            for url in (
                f"/orders/{other['id']}",
                f"/groups/{other['paymentGroupId']}",
                f"/groups/{other['paymentGroupShareId']}",
                f"/customers/{other['customerId']}",
            ):
                assert_error(await client.get(url, headers=bearer(key)), 404, "NOT_FOUND")
            assert_error(
                await validate(client, key, other["paymentGroupShareId"], {}), 404, "NOT_FOUND"
            )
            # a code of elsewhere is unknown here: the order opens a group of its own
            joiner = await create_order(
                client,
                key,
                customerEmail=other["customerEmail"],
                paymentGroupShareId=other["paymentGroupShareId"],
            )
            assert joiner["joinError"]["code"] == "NOT_FOUND"
            assert joiner["customerId"] != other["customerId"]
            assert joiner["organizationId"] == (org.id if name.startswith("org") else other_org.id)
            assert joiner["livemode"] is name.endswith("live")
    for name, key in keys.items():
        group = await get_json(client, key, f"/groups/{mine[name]['paymentGroupId']}")
        assert group["participantsCount"] == 1, name
        assert all(
            e["livemode"] is name.endswith("live")
            and e["organizationId"] == (org.id if name.startswith("org") else other_org.id)
            for e in (await events(client, key, take=100))["data"]
        )

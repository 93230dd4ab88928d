"""PATCH /organizations/{id}/payment-group-settings: only the given fields change."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from tests.factories import Org
from tests.group_settings.api import get, levels, pairs, patch, patched


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("discountType", "AMOUNT"),
        ("maxParticipants", 1000),
        ("maxParticipants", 10),
        ("minutesDuration", 1),
        ("minutesDuration", 129_600),
        ("minPurchaseValue", 2500),
        ("minPurchaseValue", 2**53 - 1),
    ],
)
async def test_patch_changes_only_the_given_field(
    client: httpx.AsyncClient, org: Org, field: str, value: Any
) -> None:
    before = await get(client, org)
    body = await patched(client, org, {field: value})
    assert body[field] == value
    unchanged = {k for k in before if k not in {field, "updatedAt"}}
    assert {k: body[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert await get(client, org) == body


async def test_patch_accepts_snake_case(client: httpx.AsyncClient, org: Org) -> None:
    body = await patched(
        client,
        org,
        {
            "discount_type": "AMOUNT",
            "max_participants": 30,
            "minutes_duration": 60,
            "min_purchase_value": 100,
            "discount_levels": [{"participants_to_unlock": 2, "value": 3}],
        },
    )
    assert body["discountType"] == "AMOUNT"
    assert (body["maxParticipants"], body["minutesDuration"], body["minPurchaseValue"]) == (
        30,
        60,
        100,
    )
    assert pairs(body) == [(1, 2, 3)]


async def test_discount_levels_replace_the_whole_list(client: httpx.AsyncClient, org: Org) -> None:
    before = await get(client, org)
    body = await patched(
        client, org, {"discountLevels": levels((2, 2.5), (3, "7.25"), (4, 10), (6, 12), (15, 100))}
    )
    assert pairs(body) == [(1, 2, 2.5), (2, 3, 7.25), (3, 4, 10), (4, 6, 12), (5, 15, 100)]
    old_ids = {x["id"] for x in before["discountLevels"]}
    new_ids = [x["id"] for x in body["discountLevels"]]
    assert not old_ids & set(new_ids) and len(set(new_ids)) == 5
    assert body["id"] == before["id"]
    assert await get(client, org) == body
    shorter = await patched(client, org, {"discountLevels": levels((2, 1))})
    assert pairs(shorter) == [(1, 2, 1)]


async def test_levels_may_carry_their_number(client: httpx.AsyncClient, org: Org) -> None:
    given = [
        {"level": 1, "participantsToUnlock": 2, "value": 5, "id": "dlev_ignored"},
        {"level": 2, "participantsToUnlock": 4, "value": 8},
    ]
    body = await patched(client, org, {"discountLevels": given})
    assert pairs(body) == [(1, 2, 5), (2, 4, 8)]
    assert "dlev_ignored" not in {x["id"] for x in body["discountLevels"]}


async def test_values_are_kept_exactly(client: httpx.AsyncClient, org: Org) -> None:
    body = await patched(client, org, {"discountLevels": levels((2, "0.01"), (3, "99.99"))})
    assert [x["value"] for x in body["discountLevels"]] == [0.01, 99.99]
    amount = await patched(
        client, org, {"discountType": "AMOUNT", "discountLevels": levels((2, "5.00"), (3, 500))}
    )
    assert [x["value"] for x in amount["discountLevels"]] == [5, 500]


async def test_fields_that_depend_on_each_other_change_together(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = await patched(
        client,
        org,
        {"maxParticipants": 40, "discountLevels": levels((2, 5), (20, 10), (40, 20))},
    )
    assert body["maxParticipants"] == 40
    body = await patched(
        client, org, {"maxParticipants": 3, "discountLevels": levels((2, 5), (3, 6))}
    )
    assert body["maxParticipants"] == 3
    body = await patched(
        client, org, {"discountType": "AMOUNT", "discountLevels": levels((2, 150), (3, 200))}
    )
    assert pairs(body) == [(1, 2, 150), (2, 3, 200)]


async def test_the_other_mode_is_untouched(client: httpx.AsyncClient, org: Org) -> None:
    live = await get(client, org, org.sk_live)
    await patched(
        client,
        org,
        {
            "discountType": "AMOUNT",
            "discountLevels": levels((2, 1)),
            "maxParticipants": 2,
            "minutesDuration": 5,
            "minPurchaseValue": 1,
        },
    )
    assert await get(client, org, org.sk_live) == live
    changed = await patched(client, org, {"minutesDuration": 60}, org.sk_live)
    assert changed["livemode"] is True and changed["minutesDuration"] == 60
    assert (await get(client, org))["minutesDuration"] == 5


async def test_patch_moves_updated_at_only(client: httpx.AsyncClient, org: Org) -> None:
    before = await get(client, org)
    moment = datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        body = await patched(client, org, {"minPurchaseValue": 1})
    assert body["updatedAt"] == "2031-05-06T07:08:09.123Z"
    assert body["createdAt"] == before["createdAt"]


@pytest.mark.parametrize("payload", [{}, {"unknownField": 1, "id": "pgset_00000000000000"}])
async def test_an_empty_patch_changes_nothing(
    client: httpx.AsyncClient, org: Org, payload: dict[str, Any]
) -> None:
    before = await get(client, org)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1), tick=False):
        for _ in range(2):
            assert await patched(client, org, payload) == before
    assert await get(client, org) == before


async def test_concurrent_patches_are_checked_against_each_other(
    client: httpx.AsyncClient, org: Org
) -> None:
    """Each PATCH is valid alone against the defaults (max 15, last level 10); together
    they are not. The later one must see the earlier one's result and be refused."""
    for _ in range(5):
        await patched(
            client, org, {"maxParticipants": 15, "discountLevels": levels((2, 5), (10, 9))}
        )
        responses = await asyncio.gather(
            patch(client, org, {"maxParticipants": 10}),
            patch(client, org, {"discountLevels": levels((2, 5), (12, 9))}),
        )
        assert sorted(r.status_code for r in responses) == [200, 400], [r.text for r in responses]
        final = await get(client, org)
        assert final["maxParticipants"] >= final["discountLevels"][-1]["participantsToUnlock"]

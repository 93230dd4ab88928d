"""Reading group settings (API.md §2.5): defaults per mode, shape, who may read them."""

import re

import httpx
import pytest
from fastapi import FastAPI

from kohort.db import Database
from kohort.group_settings import service
from kohort.group_settings.schemas import PaymentGroupSettingsRead
from tests.factories import Org, bearer
from tests.group_settings.api import LEVEL_FIELDS, SETTINGS_FIELDS, get, pairs, patch, url
from tests.shapes import TIMESTAMP, assert_error

ID = re.compile(r"^pgset_[0-9a-f]{14}$")
LEVEL_ID = re.compile(r"^dlev_[0-9a-f]{14}$")
DEFAULT_LEVELS = [(1, 2, 5), (2, 5, 10), (3, 10, 15)]


@pytest.mark.parametrize(("mode", "minutes"), [("test", 10), ("live", 129_600)])
async def test_defaults_exist_from_the_organizations_creation(
    client: httpx.AsyncClient, org: Org, mode: str, minutes: int
) -> None:
    body = await get(client, org, org.keys[f"sk_{mode}"])
    assert body["livemode"] is (mode == "live")
    assert body["discountType"] == "PERCENTAGE"
    assert pairs(body) == DEFAULT_LEVELS
    assert body["maxParticipants"] == 15
    assert body["minutesDuration"] == minutes
    assert body["minPurchaseValue"] == 0


async def test_the_answer_has_the_exact_shape(client: httpx.AsyncClient, org: Org) -> None:
    body = await get(client, org)
    assert set(body) == SETTINGS_FIELDS
    assert ID.match(body["id"])
    assert TIMESTAMP.match(body["createdAt"])
    assert body["updatedAt"] == body["createdAt"]
    for item in body["discountLevels"]:
        assert set(item) == LEVEL_FIELDS
        assert LEVEL_ID.match(item["id"])
        assert isinstance(item["value"], float)
        assert isinstance(item["level"], int)
        assert isinstance(item["participantsToUnlock"], int)
    for name in ("maxParticipants", "minutesDuration", "minPurchaseValue"):
        assert type(body[name]) is int


async def test_each_mode_has_its_own_row_and_level_ids(client: httpx.AsyncClient, org: Org) -> None:
    test, live = await get(client, org, org.sk_test), await get(client, org, org.sk_live)
    assert test["id"] != live["id"]
    ids = [x["id"] for x in test["discountLevels"] + live["discountLevels"]]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("which", ["other", "unknown"])
async def test_another_organizations_settings_are_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, which: str
) -> None:
    target = other_org.id if which == "other" else "org_00000000000000"
    path = f"/organizations/{target}/payment-group-settings"
    before = await get(client, other_org)
    for response in (
        await client.get(path, headers=bearer(org.sk_test)),
        await client.patch(path, json={"maxParticipants": 20}, headers=bearer(org.sk_test)),
    ):
        assert_error(response, 404, "NOT_FOUND", param="id")
        assert "pgset_" not in response.text
    assert await get(client, other_org) == before


async def test_settings_need_a_secret_key(client: httpx.AsyncClient, org: Org) -> None:
    before = await get(client, org)
    for response in (
        await client.get(url(org), headers=bearer(org.pk_test)),
        await client.get(url(org), headers=bearer(org.pk_live)),
        await patch(client, org, {"maxParticipants": 20}, org.pk_test),
    ):
        assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert await get(client, org) == before


async def test_settings_need_a_key(client: httpx.AsyncClient, org: Org) -> None:
    assert_error(await client.get(url(org)), 401, "API_KEY_MISSING")


async def test_the_snapshot_is_the_api_shape_and_reads_back(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    await patch(client, org, {"discountLevels": [{"participantsToUnlock": 2, "value": 12.34}]})
    async with db.read() as session:
        settings = await service.get_settings(session, organization_id=org.id, livemode=False)
        snapshot = service.snapshot(settings)
    assert snapshot == await get(client, org)
    read = PaymentGroupSettingsRead.model_validate(snapshot)
    assert str(read.discount_levels[0].value) == "12.34"
    assert read.model_dump(mode="json", by_alias=True) == snapshot


def test_the_routes_are_declared(app: FastAPI) -> None:
    document = app.openapi()
    item = document["paths"]["/organizations/{id}/payment-group-settings"]
    assert set(item) == {"get", "patch"}
    for operation in item.values():
        assert {"400", "401", "403", "404", "500"} <= set(operation["responses"])

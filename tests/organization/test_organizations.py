"""Organizations (API.md §2.5) and `kohort org create`."""

import asyncio
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from kohort.config import Settings
from kohort.db import Database
from tests.factories import Org, bearer, make_organization
from tests.organization.test_modes import TEST_MODE_PAYOUTS
from tests.shapes import ORGANIZATION_FIELDS, TIMESTAMP, assert_error

KOHORT = str(Path(sys.executable).with_name("kohort"))
"""The `kohort` command installed in the virtualenv running the tests (as `make run` runs it)."""

REPO = Path(__file__).resolve().parents[2]


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


async def me(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    response = await client.get("/organizations/me", headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch(client: httpx.AsyncClient, org: Org, **changes: Any) -> httpx.Response:
    return await client.patch(f"/organizations/{org.id}", json=changes, headers=bearer(org.sk_live))


# --- GET ---------------------------------------------------------------------------------


async def test_me_has_the_exact_shape_and_defaults(client: httpx.AsyncClient, org: Org) -> None:
    body = await me(client, org.sk_live)
    assert set(body) == ORGANIZATION_FIELDS
    assert body["id"] == org.id
    assert body["name"] == "Test Shop"
    assert re.fullmatch(r"test-shop(-[0-9a-f]{6})?", body["slug"])
    assert body["websiteUrl"] is None
    assert body["timezone"] == "Europe/Paris"
    assert body["acquisitionFeePercent"] == 10.0
    assert isinstance(body["acquisitionFeePercent"], float)
    assert body["fromEmailName"] is None
    assert TIMESTAMP.match(body["createdAt"])
    assert body["updatedAt"] == body["createdAt"]


async def test_me_is_the_same_organization_in_both_modes_but_for_the_payout_settings(
    client: httpx.AsyncClient, org: Org
) -> None:
    live, test = await me(client, org.sk_live), await me(client, org.sk_test)
    assert {field: test.pop(field) for field in TEST_MODE_PAYOUTS} == TEST_MODE_PAYOUTS
    assert live.pop("payoutMethod") == "sepa_transfer"
    assert live.pop("payoutDebtorName") is None
    assert live.pop("payoutDebtorIbanMasked") is None
    assert {field: live.pop(field) for field in TEST_MODE_PAYOUTS if field in live} == {
        "stripeSecretKeySet": False,
        "stripeSecretKeyHint": None,
        "payoutDebtorBic": None,
    }
    assert live == test


async def test_slugs_are_unique(client: httpx.AsyncClient, org: Org, db: Database) -> None:
    twin = await make_organization(db, name="Test Shop")
    assert (await me(client, twin.sk_test))["slug"] != (await me(client, org.sk_live))["slug"]


async def test_get_own_organization_by_id(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.get(f"/organizations/{org.id}", headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    assert response.json() == await me(client, org.sk_test)


@pytest.mark.parametrize("which", ["other", "unknown"])
async def test_get_another_organization_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org, which: str
) -> None:
    target = other_org.id if which == "other" else "org_00000000000000"
    response = await client.get(f"/organizations/{target}", headers=bearer(org.sk_test))
    error = assert_error(response, 404, "NOT_FOUND")
    assert "Other Shop" not in response.text
    assert error["param"] == "id"


async def test_organization_routes_need_a_secret_key(client: httpx.AsyncClient, org: Org) -> None:
    for response in (
        await client.get("/organizations/me", headers=bearer(org.pk_test)),
        await client.get(f"/organizations/{org.id}", headers=bearer(org.pk_live)),
        await client.patch(
            f"/organizations/{org.id}", json={"name": "Hacked"}, headers=bearer(org.pk_test)
        ),
    ):
        assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")
    assert (await me(client, org.sk_live))["name"] == "Test Shop"


# --- PATCH -------------------------------------------------------------------------------


async def test_patch_updates_the_given_fields(client: httpx.AsyncClient, org: Org) -> None:
    before = await me(client, org.sk_live)
    response = await patch(
        client,
        org,
        name="  Chez Léa  ",
        websiteUrl="https://chez-lea.example.com/shop",
        timezone="America/New_York",
        fromEmailName="Léa from Chez Léa",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ORGANIZATION_FIELDS
    assert body["name"] == "Chez Léa"
    assert body["websiteUrl"] == "https://chez-lea.example.com/shop"
    assert body["timezone"] == "America/New_York"
    assert body["fromEmailName"] == "Léa from Chez Léa"
    assert body["slug"] == before["slug"]
    assert body["acquisitionFeePercent"] == 10.0
    assert body["createdAt"] == before["createdAt"]
    assert await me(client, org.sk_live) == body


async def test_patch_keeps_the_website_url_as_given(client: httpx.AsyncClient, org: Org) -> None:
    response = await patch(client, org, websiteUrl="https://chez-lea.example.com")
    assert response.status_code == 200, response.text
    assert response.json()["websiteUrl"] == "https://chez-lea.example.com"


async def test_patch_accepts_snake_case(client: httpx.AsyncClient, org: Org) -> None:
    response = await patch(
        client, org, website_url="https://snake.example.com/", from_email_name="Snake"
    )
    assert response.status_code == 200, response.text
    assert response.json()["websiteUrl"] == "https://snake.example.com/"
    assert response.json()["fromEmailName"] == "Snake"


async def test_patch_only_touches_the_fields_given(client: httpx.AsyncClient, org: Org) -> None:
    first = await patch(client, org, websiteUrl="https://a.example.com/", fromEmailName="A")
    assert first.status_code == 200
    response = await patch(client, org, name="Renamed")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["websiteUrl"] == "https://a.example.com/"
    assert body["fromEmailName"] == "A"
    assert body["timezone"] == "Europe/Paris"


async def test_patch_null_clears_optional_fields(client: httpx.AsyncClient, org: Org) -> None:
    first = await patch(client, org, websiteUrl="https://a.example.com/", fromEmailName="A")
    assert first.status_code == 200
    response = await patch(client, org, websiteUrl=None, fromEmailName=None)
    assert response.status_code == 200, response.text
    assert response.json()["websiteUrl"] is None
    assert response.json()["fromEmailName"] is None
    assert (await me(client, org.sk_live))["websiteUrl"] is None


async def test_acquisition_fee_is_read_only(client: httpx.AsyncClient, org: Org) -> None:
    for field in ("acquisitionFeePercent", "acquisition_fee_percent"):
        response = await patch(client, org, **{field: 0, "name": "Free ride"})
        assert response.status_code == 200, response.text
        assert response.json()["acquisitionFeePercent"] == 10.0
    assert (await me(client, org.sk_live))["acquisitionFeePercent"] == 10.0


async def test_patch_moves_updated_at_only(client: httpx.AsyncClient, org: Org) -> None:
    before = await me(client, org.sk_live)
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1, milliseconds=250)
    with time_machine.travel(moment, tick=False):
        response = await patch(client, org, fromEmailName="Later")
    assert response.status_code == 200, response.text
    assert response.json()["updatedAt"] == timestamp(moment)
    assert response.json()["createdAt"] == before["createdAt"]
    assert (await me(client, org.sk_live))["updatedAt"] == timestamp(moment)


async def test_empty_patch_changes_nothing(client: httpx.AsyncClient, org: Org) -> None:
    before = await me(client, org.sk_live)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1), tick=False):
        response = await patch(client, org)
    assert response.status_code == 200, response.text
    assert response.json() == before


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/paris", "", "CET+1"])
async def test_unknown_timezone_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, org: Org, zone: str
) -> None:
    before = await me(client, org.sk_live)
    response = await patch(client, org, name="Should not stick", timezone=zone)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "timezone"
    assert "timezone" in error["message"]
    assert await me(client, org.sk_live) == before


@pytest.mark.parametrize(
    "url", ["not a url", "shop.example.com", "ftp://shop.example.com", "javascript:alert(1)"]
)
async def test_invalid_website_url_is_refused(
    client: httpx.AsyncClient, org: Org, url: str
) -> None:
    before = await me(client, org.sk_live)
    response = await patch(client, org, websiteUrl=url, name="Should not stick")
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == "websiteUrl"
    assert "websiteUrl" in error["message"]
    assert await me(client, org.sk_live) == before


async def test_too_long_website_url_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await patch(client, org, websiteUrl="https://example.com/" + "a" * 2100)
    assert_error(response, 400, "VALIDATION_ERROR")
    assert (await me(client, org.sk_live))["websiteUrl"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", None), ("name", ""), ("name", "   "), ("name", "x" * 256), ("timezone", None)],
)
async def test_required_fields_cannot_be_cleared(
    client: httpx.AsyncClient, org: Org, field: str, value: Any
) -> None:
    before = await me(client, org.sk_live)
    response = await patch(client, org, **{field: value, "fromEmailName": "Should not stick"})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["param"] == field
    assert field in error["message"]
    assert await me(client, org.sk_live) == before


async def test_patch_without_a_body_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.patch(f"/organizations/{org.id}", headers=bearer(org.sk_test))
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_patch_another_organization_is_not_found(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    before = await me(client, other_org.sk_live)
    response = await client.patch(
        f"/organizations/{other_org.id}", json={"name": "Taken over"}, headers=bearer(org.sk_live)
    )
    assert_error(response, 404, "NOT_FOUND")
    assert await me(client, other_org.sk_live) == before
    assert (await me(client, org.sk_live))["name"] == "Test Shop"


# --- kohort org create --------------------------------------------------------------------


async def run_cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "KOHORT_DATABASE_URL": settings.database_url}
    env["KOHORT_DATA_DIR"] = str(settings.data_dir)
    process = await asyncio.create_subprocess_exec(
        KOHORT,
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_org_create_prints_one_json_object_with_working_keys(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    code, stdout, stderr = await run_cli(settings, "org", "create", "--name", "Shop", "--json")
    assert code == 0, stderr
    assert stdout.endswith("\n")
    assert len(stdout.strip().splitlines()) == 1, stdout
    created = json.loads(stdout)
    assert set(created) == {"organizationId", "keys"}
    keys = created["keys"]
    assert set(keys) == {"sk_test", "pk_test", "sk_live", "pk_live"}
    for label, key in keys.items():
        assert re.fullmatch(rf"{label}_[A-Za-z0-9]{{32,}}", key), key

    organization = await me(client, keys["sk_live"])
    assert organization["id"] == created["organizationId"]
    assert organization["name"] == "Shop"
    assert await me(client, keys["sk_test"]) == {**organization, **TEST_MODE_PAYOUTS}
    for mode, livemode in (("test", False), ("live", True)):
        response = await client.get("/api-keys", headers=bearer(keys[f"sk_{mode}"]))
        assert response.status_code == 200, response.text
        listed = response.json()["data"]
        assert {k["livemode"] for k in listed} == {livemode}
        assert {k["preview"] for k in listed} == {
            f"{kind}_{mode}_…{keys[f'{kind}_{mode}'][-4:]}" for kind in ("sk", "pk")
        }
        response = await client.get("/customers", headers=bearer(keys[f"pk_{mode}"]))
        assert_error(response, 403, "PUBLISHABLE_KEY_NOT_ALLOWED")


async def test_cli_org_create_refuses_a_blank_name(settings: Settings) -> None:
    code, stdout, _stderr = await run_cli(settings, "org", "create", "--name", "   ", "--json")
    assert code != 0
    assert stdout == ""


# --- API version and share-code prefix -------------------------------------------------------


async def test_the_code_prefix_applies_to_new_groups_and_old_codes_keep_working(
    client: httpx.AsyncClient, org: Org
) -> None:
    buyer = {"customerFirstName": "Ana", "customerLastName": "Lima"}
    before = await client.post(
        "/orders",
        json={"amount": 5000, "customerEmail": "old-code@example.com", **buyer},
        headers=bearer(org.sk_test),
    )
    old_code = before.json()["paymentGroupShareId"]
    assert old_code.startswith("KHT-test-")
    changed = await patch(client, org, codePrefix="Shop42")
    assert changed.status_code == 200, changed.text
    assert changed.json()["codePrefix"] == "Shop42"
    after = await client.post(
        "/orders",
        json={"amount": 5000, "customerEmail": "new-code@example.com", **buyer},
        headers=bearer(org.sk_test),
    )
    new_code = after.json()["paymentGroupShareId"]
    assert re.fullmatch(r"Shop42-test-[0-9A-F]{8}", new_code), new_code
    for code in (old_code, new_code.lower()):
        validated = await client.post(
            f"/payment-groups/{code}/validate", json={}, headers=bearer(org.sk_test)
        )
        assert validated.status_code == 200, validated.text
    live = await client.post(
        "/orders",
        json={"amount": 5000, "customerEmail": "live-code@example.com", **buyer},
        headers=bearer(org.sk_live),
    )
    assert re.fullmatch(r"Shop42-[0-9A-F]{8}", live.json()["paymentGroupShareId"])


@pytest.mark.parametrize("prefix", ["K", "ABCDEFGHIJK", "KHT-", "KH T", "ÉCO", None, 12])
async def test_a_bad_code_prefix_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, org: Org, prefix: object
) -> None:
    refused = await patch(client, org, codePrefix=prefix)
    assert_error(refused, 400, "VALIDATION_ERROR", param="codePrefix")
    assert (await me(client, org.sk_live))["codePrefix"] == "KHT"


async def test_a_test_key_cannot_change_the_prefix(client: httpx.AsyncClient, org: Org) -> None:
    refused = await client.patch(
        f"/organizations/{org.id}", json={"codePrefix": "KHTPAY"}, headers=bearer(org.sk_test)
    )
    assert_error(refused, 403, "LIVE_KEY_REQUIRED", param="codePrefix")


async def test_org_create_takes_an_api_version(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    code, out, err = await run_cli(
        settings, "org", "create", "--name", "Switched Shop", "--api-version", "kohortpay", "--json"
    )
    assert code == 0, err
    created = json.loads(out)
    response = await client.get("/organizations/me", headers=bearer(created["keys"]["sk_test"]))
    assert response.headers["Kohort-Version"] == "kohortpay"
    assert response.json()["api_version"] == "kohortpay"
    bad, _, bad_err = await run_cli(
        settings, "org", "create", "--name", "Typo Shop", "--api-version", "kohortpai"
    )
    assert bad == 2
    assert "kohortpai" in bad_err and "kohortpay" in bad_err

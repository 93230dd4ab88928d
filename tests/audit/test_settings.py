"""Changes to the organization and to the group settings are recorded with who made them,
field by field (camelCase), secrets masked; a request that changes nothing, or is refused,
records nothing."""

import httpx

from kohort.audit.service import SECRET
from tests.audit.api import assert_by, entries, send
from tests.factories import Org
from tests.group_settings.api import levels, patch, url
from tests.shapes import assert_error

STRIPE_KEY = "sk_live_" + "a1B2c3D4" * 3
OTHER_STRIPE_KEY = "sk_live_" + "z9Y8x7W6" * 3
IBAN = "FR7630006000011234567890189"


async def test_a_settings_patch_records_each_changed_field_from_and_to(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = {"maxParticipants": 20, "minPurchaseValue": 0, "discountLevels": levels((2, 5), (5, 12))}
    response = await patch(client, org, body)
    assert response.status_code == 200, response.text

    [entry] = await entries(client, org.sk_test)
    await assert_by(client, entry, org.sk_test, response)
    assert entry["action"] == "payment_group_settings.updated"
    assert entry["targetType"] == "payment_group_settings"
    assert entry["targetId"] == response.json()["id"]
    assert entry["livemode"] is False and entry["organizationId"] == org.id
    assert entry["changes"] == {
        "maxParticipants": {"from": 15, "to": 20},
        "discountLevels": {
            "from": [
                {"level": 1, "value": 5.0, "participantsToUnlock": 2},
                {"level": 2, "value": 10.0, "participantsToUnlock": 5},
                {"level": 3, "value": 15.0, "participantsToUnlock": 10},
            ],
            "to": [
                {"level": 1, "value": 5.0, "participantsToUnlock": 2},
                {"level": 2, "value": 12.0, "participantsToUnlock": 5},
            ],
        },
    }
    assert await entries(client, org.sk_live) == []


async def test_a_settings_patch_that_changes_nothing_or_is_refused_records_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    same = {"maxParticipants": 15, "discountLevels": levels((2, 5), (5, 10), (10, 15))}
    assert (await patch(client, org, same)).status_code == 200
    assert (await patch(client, org, {})).status_code == 200
    invalid = await patch(client, org, {"maxParticipants": 20, "discountLevels": levels((3, 5))})
    assert_error(invalid, 400, "VALIDATION_ERROR")
    publishable = await send(client, "PATCH", url(org), org.pk_test, json={"maxParticipants": 9})
    assert publishable.status_code == 403
    assert await entries(client, org.sk_test) == []


async def test_an_organization_patch_is_recorded_in_live_mode_with_its_secrets_masked(
    client: httpx.AsyncClient, org: Org
) -> None:
    body = {
        "name": "Chez Ada",
        "timezone": "Europe/Paris",
        "stripeSecretKey": STRIPE_KEY,
        "payoutDebtorName": "Ada SARL",
        "payoutDebtorIban": IBAN,
    }
    response = await send(client, "PATCH", f"/organizations/{org.id}", org.sk_live, json=body)
    assert response.status_code == 200, response.text

    [entry] = await entries(client, org.sk_live)
    await assert_by(client, entry, org.sk_live, response)
    assert (entry["action"], entry["targetType"], entry["targetId"]) == (
        "organization.updated",
        "organization",
        org.id,
    )
    assert entry["livemode"] is True
    assert entry["changes"] == {
        "name": {"from": "Test Shop", "to": "Chez Ada"},
        "payoutDebtorName": {"from": None, "to": "Ada SARL"},
        "stripeSecretKey": {"from": None, "to": SECRET},
        "payoutDebtorIban": {"from": None, "to": SECRET},
    }
    listed = await send(client, "GET", "/audit-log", org.sk_live)
    assert STRIPE_KEY not in listed.text and IBAN not in listed.text and "0189" not in listed.text
    assert await entries(client, org.sk_test) == []


async def test_an_organization_patch_records_a_secret_only_when_it_changes(
    client: httpx.AsyncClient, org: Org
) -> None:
    path = f"/organizations/{org.id}"
    first = {"stripeSecretKey": STRIPE_KEY, "payoutDebtorIban": IBAN}
    assert (await send(client, "PATCH", path, org.sk_live, json=first)).status_code == 200
    again = {**first, "name": "Test Shop"}
    assert (await send(client, "PATCH", path, org.sk_live, json=again)).status_code == 200
    assert len(await entries(client, org.sk_live)) == 1

    rolled = {"stripeSecretKey": OTHER_STRIPE_KEY, "payoutDebtorIban": None}
    assert (await send(client, "PATCH", path, org.sk_live, json=rolled)).status_code == 200
    last = (await entries(client, org.sk_live))[-1]
    assert last["changes"] == {
        "stripeSecretKey": {"from": SECRET, "to": SECRET},
        "payoutDebtorIban": {"from": SECRET, "to": None},
    }


async def test_a_refused_organization_patch_records_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    path = f"/organizations/{org.id}"
    by_test_key = await send(client, "PATCH", path, org.sk_test, json={"name": "Nope"})
    assert_error(by_test_key, 403, "LIVE_KEY_REQUIRED", param="name")
    no_stripe_key = await send(
        client, "PATCH", path, org.sk_live, json={"name": "Nope", "payoutMethod": "stripe_refund"}
    )
    assert_error(no_stripe_key, 400, "VALIDATION_ERROR", param="payoutMethod")
    assert await entries(client, org.sk_live) == []
    assert await entries(client, org.sk_test) == []

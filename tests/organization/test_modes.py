"""Nothing crosses modes (API.md §1.2): every organization field is live mode's, so only a
live secret key changes it; a test key sees test mode's own payout settings (SEPA from a
simulated debtor account), never live's."""

from typing import Any

import httpx
import pytest

from kohort.db import Database
from kohort.models import Organization
from tests.factories import Org, bearer
from tests.shapes import assert_error

TEST_MODE_PAYOUTS: dict[str, Any] = {
    "payoutMethod": "sepa_transfer",
    "stripeSecretKeySet": False,
    "stripeSecretKeyHint": None,
    "payoutDebtorName": "Kohort test mode",
    "payoutDebtorIbanMasked": "BE68 **** **** *034",
    "payoutDebtorBic": None,
}
"""What a test key reads of the payout settings, whatever live mode's are."""

LIVE_SETTINGS: dict[str, Any] = {
    "name": "Live Shop",
    "websiteUrl": "https://live.example.com",
    "timezone": "Europe/Berlin",
    "fromEmailName": "Live sender",
    "payoutMethod": "stripe_refund",
    "stripeSecretKey": "sk_live_51HkohortModeKey0123456789abcdWXYZ",
    "payoutDebtorName": "Live SARL",
    "payoutDebtorIban": "FR76 3000 6000 0112 3456 7890 189",
    "payoutDebtorBic": "AGRIFRPP",
}


async def _stored(db: Database, org: Org) -> dict[str, Any]:
    async with db.read() as session:
        organization = await session.get(Organization, org.id)
        assert organization is not None
        return {
            column.key: getattr(organization, column.key)
            for column in Organization.__table__.columns
        }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *LIVE_SETTINGS.items(),
        ("payoutMethod", "sepa_transfer"),
        ("payout_debtor_iban", "DE89 3704 0044 0532 0130 00"),
        ("stripeSecretKey", None),
        ("websiteUrl", None),
    ],
)
async def test_a_test_key_cannot_change_a_live_setting(
    client: httpx.AsyncClient, db: Database, org: Org, field: str, value: Any
) -> None:
    before = await _stored(db, org)
    response = await client.patch(
        f"/organizations/{org.id}", json={field: value}, headers=bearer(org.sk_test)
    )
    error = assert_error(response, 403, "LIVE_KEY_REQUIRED")
    camel = "payoutDebtorIban" if field == "payout_debtor_iban" else field
    assert error["param"] == camel
    assert camel in error["message"] and "live secret key" in error["message"]
    assert await _stored(db, org) == before


async def test_a_test_key_is_refused_even_when_other_fields_are_valid(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    before = await _stored(db, org)
    response = await client.patch(
        f"/organizations/{org.id}", json=LIVE_SETTINGS, headers=bearer(org.sk_test)
    )
    assert_error(response, 403, "LIVE_KEY_REQUIRED", param="name")
    assert await _stored(db, org) == before


async def test_a_test_key_with_nothing_to_change_changes_nothing(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    before = await _stored(db, org)
    response = await client.patch(f"/organizations/{org.id}", json={}, headers=bearer(org.sk_test))
    assert response.status_code == 200, response.text
    assert await _stored(db, org) == before


async def test_live_payout_settings_are_never_shown_to_a_test_key(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.patch(
        f"/organizations/{org.id}", json=LIVE_SETTINGS, headers=bearer(org.sk_live)
    )
    assert response.status_code == 200, response.text
    live = (await client.get("/organizations/me", headers=bearer(org.sk_live))).json()
    assert live["payoutMethod"] == "stripe_refund"
    assert live["stripeSecretKeySet"] is True
    assert live["stripeSecretKeyHint"] == "sk_live_…WXYZ"
    assert live["payoutDebtorName"] == "Live SARL"
    assert live["payoutDebtorIbanMasked"] == "FR76 **** **** **** **** **** 189"
    assert live["payoutDebtorBic"] == "AGRIFRPP"

    for path in ("/organizations/me", f"/organizations/{org.id}"):
        test = (await client.get(path, headers=bearer(org.sk_test))).json()
        assert {field: test[field] for field in TEST_MODE_PAYOUTS} == TEST_MODE_PAYOUTS
        assert "Live SARL" not in str(test) and "WXYZ" not in str(test)
        assert "**** 189" not in str(test)  # the live IBAN's tail (a random slug may hold 189)
        # What both modes share (the shop as shoppers see it) reads the same.
        for shared in ("name", "websiteUrl", "timezone", "fromEmailName"):
            assert test[shared] == live[shared]


async def test_a_test_key_reads_test_modes_own_payout_settings_before_any_live_one(
    client: httpx.AsyncClient, org: Org
) -> None:
    live = (await client.get("/organizations/me", headers=bearer(org.sk_live))).json()
    test = (await client.get("/organizations/me", headers=bearer(org.sk_test))).json()
    assert live["payoutMethod"] == "sepa_transfer" and live["payoutDebtorName"] is None
    assert {field: test[field] for field in TEST_MODE_PAYOUTS} == TEST_MODE_PAYOUTS
    refused = await client.patch(
        f"/organizations/{org.id}",
        json={"payoutDebtorName": "Kohort test mode"},
        headers=bearer(org.sk_test),
    )
    assert_error(refused, 403, "LIVE_KEY_REQUIRED", param="payoutDebtorName")

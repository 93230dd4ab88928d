"""The organization's payout settings: write-only Stripe key, encrypted and masked IBAN."""

import httpx
import pytest

from kohort import crypto
from kohort.config import Settings
from kohort.db import Database
from kohort.models import Organization
from tests.factories import Org, bearer
from tests.payout.api import patch_org
from tests.shapes import assert_error

KEY = "sk_live_51HkohortTestKey0123456789abcdWXYZ"
IBAN = "FR76 3000 6000 0112 3456 7890 189"


async def _stored(db: Database, org: Org) -> Organization:
    async with db.read() as session:
        organization = await session.get(Organization, org.id)
        assert organization is not None
        return organization


async def test_payout_settings_default_to_sepa_transfer_with_nothing_set(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get("/organizations/me", headers=bearer(org.sk_live))
    body = response.json()
    assert body["payoutMethod"] == "sepa_transfer"
    assert body["stripeSecretKeySet"] is False
    assert body["stripeSecretKeyHint"] is None
    assert body["payoutDebtorName"] is None
    assert body["payoutDebtorIbanMasked"] is None
    assert body["payoutDebtorBic"] is None


async def test_the_stripe_key_is_stored_encrypted_and_never_returned(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    response = await patch_org(
        client, org, org.sk_live, payoutMethod="stripe_refund", stripeSecretKey=KEY
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payoutMethod"] == "stripe_refund"
    assert body["stripeSecretKeySet"] is True
    assert body["stripeSecretKeyHint"] == "sk_live_…WXYZ"
    assert KEY not in response.text
    again = await client.get(f"/organizations/{org.id}", headers=bearer(org.sk_live))
    assert KEY not in again.text and again.json()["stripeSecretKeySet"] is True
    in_test_mode = await client.get(f"/organizations/{org.id}", headers=bearer(org.sk_test))
    assert KEY not in in_test_mode.text and in_test_mode.json()["stripeSecretKeySet"] is False

    stored = await _stored(db, org)
    assert stored.stripe_secret_key_encrypted is not None
    assert KEY not in stored.stripe_secret_key_encrypted
    assert crypto.decrypt(settings, stored.stripe_secret_key_encrypted) == KEY


async def test_the_debtor_iban_is_checked_stored_encrypted_and_shown_masked(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    response = await patch_org(
        client,
        org,
        org.sk_live,
        payoutDebtorName="Chez Léa SARL",
        payoutDebtorIban=IBAN,
        payoutDebtorBic="AGRIFRPP",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payoutDebtorName"] == "Chez Léa SARL"
    assert body["payoutDebtorIbanMasked"] == "FR76 **** **** **** **** **** 189"
    assert body["payoutDebtorBic"] == "AGRIFRPP"
    assert "3000 6000" not in response.text and "30006000" not in response.text
    stored = await _stored(db, org)
    assert stored.payout_debtor_iban_encrypted is not None
    assert crypto.decrypt(settings, stored.payout_debtor_iban_encrypted) == IBAN.replace(" ", "")

    cleared = await patch_org(client, org, org.sk_live, payoutDebtorIban=None)
    assert cleared.json()["payoutDebtorIbanMasked"] is None
    assert (await _stored(db, org)).payout_debtor_iban_encrypted is None


async def test_stripe_refund_needs_a_stripe_key(client: httpx.AsyncClient, org: Org) -> None:
    response = await patch_org(client, org, org.sk_live, payoutMethod="stripe_refund")
    assert_error(response, 400, "VALIDATION_ERROR", param="payoutMethod")
    assert "stripeSecretKey" in response.json()["error"]["message"]

    await patch_org(client, org, org.sk_live, payoutMethod="stripe_refund", stripeSecretKey=KEY)
    removing = await patch_org(client, org, org.sk_live, stripeSecretKey=None)
    assert_error(removing, 400, "VALIDATION_ERROR", param="stripeSecretKey")
    switched = await patch_org(
        client, org, org.sk_live, payoutMethod="sepa_transfer", stripeSecretKey=None
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["stripeSecretKeySet"] is False


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"stripeSecretKey": "pk_live_abcdefghijkl"}, "stripeSecretKey"),
        ({"stripeSecretKey": "sk_live_short"}, "stripeSecretKey"),
        ({"stripeSecretKey": "whsec_abcdefghijkl"}, "stripeSecretKey"),
        ({"payoutMethod": "test"}, "payoutMethod"),
        ({"payoutMethod": "paypal"}, "payoutMethod"),
        ({"payoutMethod": None}, "payoutMethod"),
        ({"payoutDebtorIban": "FR76 3000 6000 0112 3456 7890 188"}, "payoutDebtorIban"),
        ({"payoutDebtorIban": "not an iban"}, "payoutDebtorIban"),
        ({"payoutDebtorBic": "NOTABIC!"}, "payoutDebtorBic"),
        ({"payoutDebtorName": ""}, "payoutDebtorName"),
    ],
)
async def test_bad_payout_settings_are_refused_naming_the_field(
    client: httpx.AsyncClient, org: Org, body: dict[str, object], param: str
) -> None:
    response = await patch_org(client, org, org.sk_live, **body)
    assert_error(response, 400, "VALIDATION_ERROR", param=param)
    if "stripeSecretKey" in body:
        assert str(body["stripeSecretKey"]) not in response.text

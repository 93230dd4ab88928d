"""The Payouts pages do what the API's payout, payout batch and organization endpoints do,
through the same services, in the session's mode: the payouts listed, filtered, sorted and
paged; a failed one retried; a SEPA batch built, its file downloaded (the API's bytes) and
marked paid; the payout settings changed by an owner in live mode only."""

import html as html_lib
import re
from itertools import cycle
from typing import Any

import httpx

from kohort import clock
from kohort.config import Settings
from kohort.crypto import mask_iban
from kohort.db import Database
from kohort.payout import service as payout_service
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org, bearer
from tests.order.api import get_json
from tests.payout.api import completed_group, payout_of
from tests.withdrawal.flow import DEBTOR_IBAN, TEST_IBANS, withdrawn

BANK_REFUSED = "The bank refused the transfer"
DASH = "\N{EN DASH}"


async def approved(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, amounts: list[int]
) -> list[dict[str, Any]]:
    """Test-mode SEPA payouts whose shoppers gave their account (pending), one per order of
    `amounts` (10 % cashback), oldest first: the API's answers."""
    orders = await completed_group(client, org, org.sk_test, amounts)
    for order, iban in zip(orders, cycle(TEST_IBANS)):
        await withdrawn(client, db, settings, order["id"], iban=iban)
    return [await payout_of(client, org.sk_test, order["id"]) for order in orders]


async def fail(db: Database, payout_id: str) -> None:
    async with db.write() as session:
        assert await payout_service.mark_failed(
            session, payout_id=payout_id, now=clock.now(), error=BANK_REFUSED
        )


async def signed_in_as(browser: httpx.AsyncClient, db: Database, org: Org, role: str) -> str:
    """A new member of `role`, signed in instead of whoever was (in test mode)."""
    email = await make_user(db, org, role=role)
    browser.cookies.clear()
    assert (await sign_in(browser, email)).status_code == 303
    return email


async def switch(browser: httpx.AsyncClient, org: Org, mode: str) -> None:
    page = await browser.get(f"/dashboard/o/{org.id}/payouts")
    response = await browser.post(
        f"/dashboard/o/{org.id}/mode",
        data={"csrf": csrf_of(page.text), "mode": mode, "next": "/dashboard"},
    )
    assert response.status_code == 303


async def post(browser: httpx.AsyncClient, url: str, **data: str) -> httpx.Response:
    """A form of the dashboard posted with this session's CSRF token."""
    page = await browser.get("/dashboard/account")
    return await browser.post(url, data={"csrf": csrf_of(page.text), **data})


def payout_ids(page: str) -> list[str]:
    return re.findall(r'<td data-label="Payout"><a href="[^"]+/payouts/(po_\w+)">', page)


def amounts(page: str) -> list[str]:
    return re.findall(r'class="amount">([^<]*)<', page)


def retry_forms(page: str) -> list[str]:
    return re.findall(r'action="[^"]+/payouts/(po_\w+)/retry"', page)


async def test_payouts_are_listed_filtered_sorted_and_paged(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
) -> None:
    payouts = await approved(client, db, settings, org, [1000 + 100 * i for i in range(26)])
    await fail(db, payouts[3]["id"])
    await signed_in_as(browser, db, org, "viewer")
    url = f"/dashboard/o/{org.id}/payouts"
    newest_first = [p["id"] for p in reversed(payouts)]

    first = await browser.get(url)
    assert first.status_code == 200, first.text
    assert payout_ids(first.text) == newest_first[:25]
    assert f"1{DASH}25 of 26" in first.text and "Page 1 of 2" in first.text
    assert f'href="/dashboard/o/{org.id}/orders/{payouts[25]["orderId"]}"' in first.text
    assert retry_forms(first.text) == []
    second = await browser.get(url, params={"page": "2"})
    assert payout_ids(second.text) == newest_first[25:]
    assert f"26{DASH}26 of 26" in second.text
    assert payout_ids((await browser.get(url, params={"page": "99999999"})).text) == [
        payouts[0]["id"]
    ]

    by_amount = await browser.get(url, params={"sort": "amount", "dir": "asc"})
    assert amounts(by_amount.text)[:3] == ["€1.00", "€1.10", "€1.20"]
    assert 'aria-sort="ascending"' in by_amount.text

    failed = await browser.get(url, params={"status": "failed"})
    assert payout_ids(failed.text) == [payouts[3]["id"]]
    assert BANK_REFUSED in failed.text and f"1{DASH}1 of 1" in failed.text
    assert payout_ids((await browser.get(url, params={"method": "stripe_refund"})).text) == []
    one = await browser.get(url, params={"order": payouts[7]["orderId"]})
    assert payout_ids(one.text) == [payouts[7]["id"]]
    pending_sepa = await browser.get(
        url, params={"status": "pending", "method": "sepa_transfer", "sort": "amount"}
    )
    assert len(payout_ids(pending_sepa.text)) == 25
    assert "status=pending" in pending_sepa.text and "method=sepa_transfer" in pending_sepa.text

    for garbage in (
        {"status": "lost", "sort": "iban", "dir": "sideways", "page": "-3"},
        {"order": "x:y>z,status:paid", "page": "abc"},
        {"method": "' OR 1=1 --"},
    ):
        response = await browser.get(url, params=garbage)
        assert response.status_code == 200, (garbage, response.text)
    assert payout_ids((await browser.get(url, params={"order": "x:y>z"})).text) == []

    await switch(browser, org, "live")
    live = await browser.get(url)
    assert payout_ids(live.text) == [] and f"1{DASH}" not in live.text


async def test_a_failed_payout_is_retried_by_an_admin_not_a_viewer(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    other_org: Org,
) -> None:
    payouts = await approved(client, db, settings, org, [1000, 2000])
    target = payouts[1]
    await fail(db, target["id"])
    page_url = f"/dashboard/o/{org.id}/payouts/{target['id']}"
    retry_url = f"{page_url}/retry"

    await signed_in_as(browser, db, org, "viewer")
    seen = await browser.get(page_url)
    assert seen.status_code == 200 and BANK_REFUSED in seen.text
    assert "/retry" not in seen.text
    assert (await post(browser, retry_url)).status_code == 403
    assert (await get_json(client, org.sk_test, f"/payouts/{target['id']}"))["status"] == "failed"

    admin = await signed_in_as(browser, db, org, "admin")
    listed = await browser.get(f"/dashboard/o/{org.id}/payouts")
    assert retry_forms(listed.text) == [target["id"]]
    done = await post(browser, retry_url)
    assert done.status_code == 303 and done.headers["location"] == f"{page_url}?done=retried"
    after = await get_json(client, org.sk_test, f"/payouts/{target['id']}")
    assert (after["status"], after["attempts"], after["batchId"]) == ("pending", 0, None)
    assert "The payout will be tried again." in (await browser.get(done.headers["location"])).text
    log = await get_json(client, org.sk_test, "/audit-log", search="action:payout.retried")
    assert [(e["actorType"], e["actorLabel"], e["targetId"]) for e in log["data"]] == [
        ("user", admin, target["id"])
    ]
    assert log["data"][0]["changes"]["status"] == {"from": "failed", "to": "pending"}

    browser.cookies.set("kohort_locale", "fr_FR")
    french = await browser.get(page_url)
    assert "Versement " in french.text and "Compte du client" in french.text
    browser.cookies.delete("kohort_locale")
    again = await post(browser, retry_url)
    assert again.headers["location"] == f"{page_url}?error=PAYOUT_NOT_RETRYABLE"
    refused = await browser.get(again.headers["location"])
    assert "Only a failed payout can be retried." in refused.text

    other = await approved(client, db, settings, other_org, [1000, 3000])
    for stranger in (other[0]["id"], "po_unknown", "x" * 500, "%00", "po_%00"):
        assert (await browser.get(f"/dashboard/o/{org.id}/payouts/{stranger}")).status_code == 404
        assert (
            await post(browser, f"/dashboard/o/{org.id}/payouts/{stranger}/retry")
        ).status_code == 404
    assert (await browser.get(f"/dashboard/o/{other_org.id}/payouts")).status_code == 404
    await switch(browser, org, "live")
    assert (await browser.get(page_url)).status_code == 404
    assert (await post(browser, retry_url)).status_code == 404


async def test_a_batch_is_built_downloaded_and_marked_paid(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    other_org: Org,
) -> None:
    payouts = await approved(client, db, settings, org, [12_340, 4_999])
    batches_url = f"/dashboard/o/{org.id}/payouts/batches"
    await signed_in_as(browser, db, org, "viewer")
    seen = await browser.get(batches_url)
    assert seen.status_code == 200 and "No batch yet." in seen.text
    assert f'method="post" action="{batches_url}"' not in seen.text
    assert (await post(browser, batches_url)).status_code == 403

    builder = await signed_in_as(browser, db, org, "admin")
    assert f'method="post" action="{batches_url}"' in (await browser.get(batches_url)).text
    built = await post(browser, batches_url)
    assert built.status_code == 303, built.text
    api = await get_json(client, org.sk_test, "/payout-batches")
    assert api["count"] == 1
    batch = api["data"][0]
    batch_url = f"{batches_url}/{batch['id']}"
    assert built.headers["location"] == f"{batch_url}?done=built"
    total = sum(p["amount"] for p in payouts)
    assert (batch["status"], batch["payoutsCount"], batch["totalAmount"]) == ("ready", 2, total)
    shown_total = f"€{total / 100:,.2f}"

    page = await browser.get(built.headers["location"])
    assert page.status_code == 200
    assert sorted(payout_ids(page.text)) == sorted(p["id"] for p in payouts)
    assert shown_total in page.text and batch["messageId"] in page.text
    assert 'data-confirm="' in page.text and f'action="{batch_url}/confirm"' in page.text
    listed = await browser.get(batches_url, params={"status": "ready"})
    assert f'href="{batch_url}"' in listed.text and shown_total in listed.text
    empty = await browser.get(batches_url, params={"status": "confirmed"})
    assert f'href="{batch_url}"' not in empty.text

    mine = await browser.get(f"{batch_url}/file")
    theirs = await client.get(f"/payout-batches/{batch['id']}/file", headers=bearer(org.sk_test))
    assert mine.status_code == theirs.status_code == 200
    assert mine.content == theirs.content and mine.content.startswith(b"<?xml")
    for header in ("content-type", "content-disposition", "content-length"):
        assert mine.headers[header] == theirs.headers[header], header
    assert mine.headers["content-disposition"] == (
        f'attachment; filename="{batch["messageId"]}.xml"'
    )

    nothing = await post(browser, batches_url)
    assert nothing.headers["location"] == f"{batches_url}?error=NOTHING_TO_BATCH"
    assert (
        "No approved SEPA payout is waiting"
        in (await browser.get(nothing.headers["location"])).text
    )

    await signed_in_as(browser, db, org, "viewer")
    assert "/confirm" not in (await browser.get(batch_url)).text
    assert (await post(browser, f"{batch_url}/confirm")).status_code == 403
    admin = await signed_in_as(browser, db, org, "admin")
    paid = await post(browser, f"{batch_url}/confirm")
    assert paid.headers["location"] == f"{batch_url}?done=confirmed"
    confirmed = await get_json(client, org.sk_test, f"/payout-batches/{batch['id']}")
    assert confirmed["status"] == "confirmed" and confirmed["confirmedAt"] is not None
    for payout in payouts:
        after = await get_json(client, org.sk_test, f"/payouts/{payout['id']}")
        assert (after["status"], after["providerReference"]) == ("paid", batch["messageId"])
    shown = await browser.get(paid.headers["location"])
    assert "Batch marked paid" in shown.text and "/confirm" not in shown.text
    browser.cookies.set("kohort_locale", "fr_FR")
    french = await browser.get(batch_url)
    assert "Ses versements" in french.text and "Confirmé payé" in french.text
    assert "Créer un lot maintenant" in (await browser.get(batches_url)).text
    browser.cookies.delete("kohort_locale")
    again = await post(browser, f"{batch_url}/confirm")
    assert again.headers["location"] == f"{batch_url}?error=PAYOUT_BATCH_ALREADY_CONFIRMED"
    log = await get_json(client, org.sk_test, "/audit-log", search="targetType:payout_batch")
    assert sorted((e["action"], e["actorLabel"]) for e in log["data"]) == [
        ("payout_batch.confirmed", admin),
        ("payout_batch.created", builder),
    ]

    await approved(client, db, settings, other_org, [1000, 2000])
    stranger = (await client.post("/payout-batches", headers=bearer(other_org.sk_test))).json()
    for wrong in (stranger["id"], "pb_unknown", "%00", "pb_%00x", "é"):
        assert (await browser.get(f"{batches_url}/{wrong}")).status_code == 404
        assert (await browser.get(f"{batches_url}/{wrong}/file")).status_code == 404
        assert (await post(browser, f"{batches_url}/{wrong}/confirm")).status_code == 404
    await switch(browser, org, "live")
    assert (await browser.get(batch_url)).status_code == 404
    assert (await browser.get(f"{batch_url}/file")).status_code == 404
    missing = await post(browser, batches_url)
    assert missing.headers["location"] == f"{batches_url}?error=PAYOUT_DEBTOR_ACCOUNT_MISSING"
    assert "Live mode has no SEPA account" in (await browser.get(missing.headers["location"])).text


def settings_form(**values: str) -> dict[str, str]:
    return {
        "payoutMethod": "sepa_transfer",
        "payoutDebtorName": "Chez Ada SARL",
        "payoutDebtorIban": "",
        "payoutDebtorBic": "",
        **values,
    }


async def test_an_owner_changes_the_payout_settings_in_live_mode(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    url = f"/dashboard/o/{org.id}/payouts/settings"
    owner = await signed_in_as(browser, db, org, "owner")
    await switch(browser, org, "live")
    page = await browser.get(url)
    assert page.status_code == 200 and 'name="payoutDebtorIban"' in page.text

    saved = await post(
        browser, url, **settings_form(payoutDebtorIban=DEBTOR_IBAN, payoutDebtorBic="abnanl2a")
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"{url}?done=saved"
    me = await get_json(client, org.sk_live, "/organizations/me")
    assert (me["payoutMethod"], me["payoutDebtorName"], me["payoutDebtorBic"]) == (
        "sepa_transfer",
        "Chez Ada SARL",
        "ABNANL2A",
    )
    assert me["payoutDebtorIbanMasked"] == mask_iban(DEBTOR_IBAN)
    shown = await browser.get(saved.headers["location"])
    assert "Payout settings saved." in shown.text
    assert mask_iban(DEBTOR_IBAN) in shown.text and DEBTOR_IBAN not in shown.text
    log = await get_json(client, org.sk_live, "/audit-log", search="action:organization.updated")
    assert [(e["actorType"], e["actorLabel"]) for e in log["data"]] == [("user", owner)]
    assert log["data"][0]["changes"] == {
        "payoutDebtorName": {"from": None, "to": "Chez Ada SARL"},
        "payoutDebtorBic": {"from": None, "to": "ABNANL2A"},
        "payoutDebtorIban": {"from": None, "to": "[secret]"},
    }

    bad_iban = "FR76 3000 6000 0112 3456 7890 188"
    api = await client.patch(
        f"/organizations/{org.id}",
        json={"payoutDebtorIban": bad_iban},
        headers=bearer(org.sk_live),
    )
    assert api.status_code == 400
    refused = await post(
        browser, url, **settings_form(payoutDebtorName="Ada SAS", payoutDebtorIban=bad_iban)
    )
    assert refused.status_code == 400, refused.text
    text = html_lib.unescape(refused.text)
    message = api.json()["error"]["message"]
    assert message.startswith("Invalid request: payoutDebtorIban: is not a valid IBAN")
    shown = message.removeprefix("Invalid request: payoutDebtorIban: ").removesuffix(".")
    assert f'<small class="field-error" id="payoutDebtorIban-error">{shown}</small>' in text
    assert 'value="Ada SAS"' in text and f'value="{bad_iban}"' in text
    assert 'aria-invalid="true"' in text
    no_key = await post(browser, url, **settings_form(payoutMethod="stripe_refund"))
    assert no_key.status_code == 400
    assert "payoutMethod stripe_refund needs a Stripe secret key" in html_lib.unescape(no_key.text)
    for garbage in (
        settings_form(payoutMethod="cash", payoutDebtorBic="NOT A BIC"),
        settings_form(payoutDebtorName="x" * 5000, stripeSecretKey="sk_nope"),
        settings_form(payoutDebtorName="line\nbreak"),
    ):
        response = await post(browser, url, **garbage)
        assert response.status_code == 400, response.text
    assert await get_json(client, org.sk_live, "/organizations/me") == me
    log = await get_json(client, org.sk_live, "/audit-log", search="action:organization.updated")
    assert log["count"] == 1

    stripe_key = "sk_live_" + "a1B2c3D4" * 3
    by_stripe = await post(
        browser, url, **settings_form(payoutMethod="stripe_refund", stripeSecretKey=stripe_key)
    )
    assert by_stripe.status_code == 303
    me = await get_json(client, org.sk_live, "/organizations/me")
    assert (me["payoutMethod"], me["stripeSecretKeySet"], me["stripeSecretKeyHint"]) == (
        "stripe_refund",
        True,
        "sk_live_…c3D4",
    )
    shown = await browser.get(url)
    assert "sk_live_…c3D4" in shown.text and stripe_key not in shown.text
    assert 'name="stripeSecretKeyClear"' in shown.text
    last_key = await post(
        browser, url, **settings_form(payoutMethod="stripe_refund", stripeSecretKeyClear="1")
    )
    assert last_key.status_code == 400
    assert "needs a Stripe secret key" in html_lib.unescape(last_key.text)
    assert (await get_json(client, org.sk_live, "/organizations/me")) == me

    cleared = await post(
        browser,
        url,
        **settings_form(payoutDebtorName="", payoutDebtorIbanClear="1", stripeSecretKeyClear="1"),
    )
    assert cleared.status_code == 303
    me = await get_json(client, org.sk_live, "/organizations/me")
    assert (me["payoutDebtorName"], me["payoutDebtorIbanMasked"], me["payoutDebtorBic"]) == (
        None,
        None,
        None,
    )
    assert (me["payoutMethod"], me["stripeSecretKeySet"]) == ("sepa_transfer", False)


async def test_only_an_owner_in_live_mode_edits_the_payout_settings(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    url = f"/dashboard/o/{org.id}/payouts/settings"
    before = await get_json(client, org.sk_live, "/organizations/me")
    for role in ("viewer", "admin"):
        await signed_in_as(browser, db, org, role)
        await switch(browser, org, "live")
        page = await browser.get(url)
        assert page.status_code == 200 and 'name="payoutDebtorIban"' not in page.text
        assert "Only owners change the payout settings." in page.text
        response = await post(browser, url, **settings_form(payoutDebtorIban=DEBTOR_IBAN))
        assert response.status_code == 403

    await signed_in_as(browser, db, org, "owner")
    test_mode = await browser.get(url)
    assert test_mode.status_code == 200 and 'name="payoutDebtorIban"' not in test_mode.text
    assert "Kohort test mode" in test_mode.text and "BE68 **** **** *034" in test_mode.text
    for form in (settings_form(payoutDebtorIban=DEBTOR_IBAN), settings_form(payoutMethod="x")):
        refused = await post(browser, url, **form)
        assert refused.status_code == 403
        assert "Test mode's payout settings are fixed" in html_lib.unescape(refused.text)
    assert await get_json(client, org.sk_live, "/organizations/me") == before
    assert (await get_json(client, org.sk_live, "/audit-log"))["count"] == 0
    browser.cookies.set("kohort_locale", "fr_FR")
    french = await browser.get(url)
    assert "<h1>Réglages des versements" in french.text
    assert "Le mode test répète le fonctionnement par défaut du mode réel" in french.text
    assert (await browser.get(f"/dashboard/o/{other_org.id}/payouts/settings")).status_code == 404
    assert (await post(browser, f"/dashboard/o/{other_org.id}/payouts/settings")).status_code == 404

"""The Payouts pages in a real browser (Debian's chromium through Playwright) against
`kohort serve`, on a phone: two test-mode shoppers claim their cashback on the withdrawal page;
the owner sees their payouts, builds the SEPA batch, downloads its file (the API's bytes) and
marks it paid; then, in live mode, edits the payout settings (a bad IBAN is refused next to
its field, then they are saved). No console error, nothing wider than the screen."""

import asyncio
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from kohort.crypto import mask_iban
from tests.dashboard.browsing import (
    PHONE,
    create_user,
    fits_phone,
    needs_chromium,
    none_on_the_page,
    sign_in,
    watch,
)
from tests.factories import bearer
from tests.serve import Server
from tests.withdrawal.flow import DEBTOR_IBAN, TEST_IBANS, complete_pair, opened_form, submit
from tests.withdrawal.served import emailed_link, org_of

pytestmark = needs_chromium
SHOTS = Path("/tmp/shots")


async def claimed(server: Server) -> list[str]:
    """Two test-mode orders whose shoppers gave their account: their approved payouts' ids."""
    key = server.keys["sk_test"]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        orders = await complete_pair(client, org_of(server), key=key)
        for order, iban in zip(orders, TEST_IBANS, strict=False):
            url = await emailed_link(server, str(order["customerEmail"]))
            response = await submit(
                client, url, await opened_form(client, url), holder="Ada Lovelace", iban=iban
            )
            assert response.status_code == 200, response.text
        listed = await client.get("/payouts", headers=bearer(key))
        return [payout["id"] for payout in listed.json()["data"]]


async def fits(page: Page, name: str) -> None:
    await fits_phone(page, name)
    await page.screenshot(path=str(SHOTS / f"payouts-{name}.png"), full_page=True)


async def test_an_owner_pays_a_sepa_batch_and_sets_the_live_payout_account_on_a_phone(
    server: Server, chromium: Browser
) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    payout_ids = await claimed(server)
    assert len(payout_ids) == 2
    create_user(server)
    context = await chromium.new_context(
        viewport=PHONE, locale="en-US", is_mobile=True, accept_downloads=True
    )
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    problems = watch(page)
    base = f"{server.base_url}/dashboard/o/{server.organization_id}"

    await page.goto(f"{base}/payouts")
    await sign_in(page)
    assert page.url == f"{base}/payouts"
    await page.wait_for_load_state()
    assert sorted(await page.locator("td[data-label=Payout] code").all_inner_texts()) == sorted(
        payout_ids
    )
    await fits(page, "list")
    await page.get_by_role("link", name=payout_ids[0]).click()
    assert (await page.locator("h1").inner_text()) == f"Payout {payout_ids[0]}"
    await none_on_the_page(page.get_by_role("button", name="Retry the payout"))
    await fits(page, "payout")

    await page.get_by_role("link", name="SEPA batches").click()
    await page.get_by_role("button", name="Build a batch now").click()
    assert "?done=built" in page.url
    assert await page.get_by_role("status").last.inner_text() == (
        "Batch built: download its file and upload it to your bank."
    )
    await fits(page, "batch")
    batch_id = page.url.split("/batches/")[1].split("?")[0]
    async with page.expect_download() as download_info:
        await page.locator("a[download]").click()
    download = await download_info.value
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        api = await client.get(
            f"/payout-batches/{batch_id}/file", headers=bearer(server.keys["sk_test"])
        )
    assert download.suggested_filename == api.headers["content-disposition"].split('"')[1]
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == api.content

    await page.get_by_role("button", name="Mark paid").click()
    assert "?done=confirmed" in page.url
    await none_on_the_page(page.get_by_role("button", name="Mark paid"))
    await expect(page.locator("td[data-label=Status]")).to_have_text(["Paid", "Paid"])
    await page.get_by_role("link", name="Back to the batches").click()
    await expect(page.locator("td[data-label=Status]")).to_have_text(["Confirmed paid"])
    await fits(page, "batches")

    await page.get_by_role("link", name="Payout settings").click()
    await none_on_the_page(page.get_by_label("Debtor IBAN"))
    assert "Kohort test mode" in await page.locator("main").inner_text()
    await fits(page, "settings-test-mode")
    await page.get_by_role("button", name="Switch to live mode").click()
    assert page.url == f"{base}/payouts/settings"
    await page.get_by_label("Debtor name").fill("Chez Ada SARL")
    await page.get_by_label("Debtor IBAN").fill("FR76 3000 6000 0112 3456 7890 188")
    await page.get_by_role("button", name="Save the payout settings").click()
    iban = page.get_by_label("Debtor IBAN")
    assert await iban.get_attribute("aria-invalid") == "true"
    assert "is not a valid IBAN" in await page.locator("#payoutDebtorIban-error").inner_text()
    assert await page.get_by_label("Debtor name").input_value() == "Chez Ada SARL"
    await fits(page, "settings-error")
    await iban.fill(DEBTOR_IBAN)
    await page.get_by_label("Debtor BIC (optional)").fill("ABNANL2A")
    await page.get_by_role("button", name="Save the payout settings").click()
    assert page.url.endswith("/payouts/settings?done=saved")
    assert await page.get_by_role("status").last.inner_text() == "Payout settings saved."
    shown = await page.locator("dd[data-setting=payoutDebtorIban]").inner_text()
    assert shown == mask_iban(DEBTOR_IBAN)
    await fits(page, "settings-saved")
    assert problems == []
    await context.close()

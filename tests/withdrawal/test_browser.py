"""The withdrawal page in a real browser (Debian's chromium driven by Playwright) against
`kohort serve`: the e-mailed link, an invalid IBAN (error next to the field, which has the
focus), a valid one (processing page), then the used link; and test mode's same form, with a
test IBAN, paid by a test batch."""

import html
import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.dashboard.browsing import fits_phone
from tests.factories import bearer
from tests.serve import Server
from tests.withdrawal.flow import order_of, payouts_of
from tests.withdrawal.served import live_order_with_link, order_with_link

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}

# Skipped, saying so, where chromium is missing (`make test` installs it when it can); never
# on CI, where a missing browser is a failure.
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


async def test_the_emailed_link_takes_an_iban_in_a_real_browser(
    server: Server, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        order, url = await live_order_with_link(client, server, locale="fr_FR")
        context = await browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
        page = await context.new_page()

        opened = await page.goto(url)
        assert opened is not None and opened.status == 200
        assert await page.locator("html").get_attribute("lang") == "fr-FR"
        assert await page.locator("h1").inner_text() == "Retirer votre cashback"
        assert "12,34" in await page.locator(".amount").inner_text()
        await fits_phone(page, width=PHONE["width"])

        await page.get_by_label("Nom du titulaire du compte").fill("Ada Lovelace")
        await page.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 188")
        async with page.expect_navigation():
            await page.get_by_role("button").click()
        error = page.locator("#iban-error")
        await expect(error).to_be_visible()
        assert "Cet IBAN n'est pas valide" in await error.inner_text()
        iban = page.locator("#iban")
        assert await iban.get_attribute("aria-invalid") == "true"
        assert "iban-error" in (await iban.get_attribute("aria-describedby") or "")
        # autofocus is applied at the next rendering frame: waited for, not read at once
        await expect(iban).to_be_focused()
        assert await iban.input_value() == "FR76 3000 6000 0112 3456 7890 188"
        assert await page.get_by_label("Nom du titulaire du compte").input_value() == "Ada Lovelace"

        await iban.fill("FR76 3000 6000 0112 3456 7890 189")
        async with page.expect_navigation():
            await page.get_by_role("button").click()
        assert await page.locator("h1").inner_text() == "Votre cashback est en route"
        assert "FR76 **** **** **** **** **** 189" in await page.content()

        again = await page.goto(url)
        assert again is not None and again.status == 410
        assert await page.locator("h1").inner_text() == "Ce lien a déjà été utilisé"
        await context.close()

        [payout] = await payouts_of(client, server.keys["sk_live"], str(order["id"]))
        assert payout["method"] == "sepa_transfer"
        assert payout["accountHolderName"] == "Ada Lovelace"


async def test_two_tabs_opened_from_the_email_both_keep_a_working_form(
    server: Server, browser: Browser
) -> None:
    """The e-mail is another site: a shopper who opens the link twice (two tabs) and submits
    the first one must not be refused. The CSRF cookie is SameSite=Lax, so the second visit,
    a top-level navigation from another site, sends it and the page keeps its nonce (with
    Strict it would not, and the second tab's new nonce would void the first tab's form)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        order, url = await live_order_with_link(client, server, locale="en_GB")
        assert url.startswith("http://127.0.0.1:")
        with _mail_page(url) as mail_url:
            context = await browser.new_context()
            mail = await context.new_page()
            await mail.goto(mail_url)
            tabs = []
            for _ in range(2):
                async with context.expect_page() as opened:
                    await mail.get_by_role("link").click()
                tab = await opened.value
                await tab.wait_for_load_state()
                assert await tab.locator("h1").inner_text() == "Withdraw your cashback"
                tabs.append(tab)
            first = tabs[0]
            await first.get_by_label("Account holder name").fill("Ada Lovelace")
            await first.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 189")
            async with first.expect_navigation():
                await first.get_by_role("button").click()
            assert await first.locator("h1").inner_text() == "Your cashback is on its way"
            await context.close()
        [payout] = await payouts_of(client, server.keys["sk_live"], str(order["id"]))
        assert payout["accountHolderName"] == "Ada Lovelace"


async def test_a_test_mode_link_opens_the_same_form_and_a_test_batch_pays_it(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    """Test mode rehearses the live flow: the worker inside `kohort serve` pays nothing by
    itself, the e-mailed link opens the form (saying it is test mode), a test IBAN is taken,
    and the test batch, built now and confirmed, pays the order."""
    key = server.keys["sk_test"]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        order, url = await order_with_link(client, server, key=key, locale="en_GB")
        context = await browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True)
        page = await context.new_page()

        opened = await page.goto(url)
        assert opened is not None and opened.status == 200
        assert await page.locator("h1").inner_text() == "Withdraw your cashback"
        banner = page.locator(".test-mode")
        await expect(banner).to_be_visible()
        assert await banner.inner_text() == "Test mode: no money is moved."
        await fits_phone(page, width=PHONE["width"])
        await page.get_by_label("Account holder name").fill("Ada Lovelace")
        await page.get_by_label("IBAN").fill("GB82 WEST 1234 5698 7654 32")
        screenshot = tmp_path / "test-mode-form.png"
        await page.screenshot(path=screenshot, full_page=True)
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        async with page.expect_navigation():
            await page.get_by_role("button").click()
        assert await page.locator("h1").inner_text() == "Your cashback is on its way"
        assert "GB82 **** **** **** ***4 32" in await page.content()
        await expect(page.locator(".test-mode")).to_be_visible()
        await context.close()

        [payout] = await payouts_of(client, key, str(order["id"]))
        assert (payout["method"], payout["status"]) == ("sepa_transfer", "pending")
        built = await client.post("/payout-batches", headers=bearer(key))
        assert built.status_code == 201, built.text
        batch = built.json()
        confirmed = await client.post(f"/payout-batches/{batch['id']}/confirm", headers=bearer(key))
        assert confirmed.status_code == 200, confirmed.text
        assert (await order_of(client, key, str(order["id"])))["status"] == "CASHBACK_SENT"


@contextmanager
def _mail_page(link: str) -> Iterator[str]:
    """A page on another site (`localhost`, not `127.0.0.1`) holding the e-mail's link."""
    body = f'<!doctype html><a href="{html.escape(link)}" target="_blank">Withdraw</a>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    mail_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=mail_server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{mail_server.server_address[1]}/mail"
    finally:
        mail_server.shutdown()
        mail_server.server_close()

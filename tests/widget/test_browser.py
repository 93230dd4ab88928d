"""The thank-you widget in a real browser (Debian's chromium through Playwright), on a phone,
embedded in a static test shop page served on loopback, against `kohort serve`. The shop's
server registers the order two seconds after the page loads: the widget waits for it, then
shows the code (copied by its button), share links carrying the message and invite link, and
the ladder in money the API gives; the shop's hostile CSS changes nothing of it; dismissed,
it stays dismissed; with a wrong token it never shows (404s only)."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.async_api import Browser, Page

from tests.dashboard.browsing import PHONE, fits_phone, needs_chromium, none_on_the_page, watch
from tests.factories import bearer
from tests.group_settings.api import levels
from tests.order.api import buyer
from tests.serve import Server
from tests.widget.api import token

pytestmark = needs_chromium

HOSTILE = """
* { font-family: "Comic Sans MS", cursive !important; color: #f0f !important;
    letter-spacing: 4px !important; line-height: 3 !important; }
div, section, button, a, input, li, ul, h2, p, strong, label, img {
    background: #ff0 !important; border: 6px dashed red !important; font-size: 31px !important;
    display: inline !important; margin: 40px !important; padding: 0 !important; }
button { opacity: .2 !important; }
"""
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Thank you</title>
<style>{css}</style></head><body><h1>Thank you for your order</h1>
<p>Order {reference} is confirmed.</p>
<script src="{kohort}/widget.js" data-key="{key}" data-order="{reference}" data-token="{token}"
 async></script>
<footer>The shop's footer</footer></body></html>"""


@contextmanager
def shop_site(pages: dict[str, str]) -> Iterator[str]:
    """The shop's pages, served on a loopback port (`/name` → its HTML)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.lstrip("/"))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "").encode())

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


STYLES = """([selector, properties]) => {
  const root = document.querySelector('[data-kohort-widget]');
  const host = getComputedStyle(root);
  const found = {host: [host.display, host.borderTopStyle, host.fontSize, host.color]};
  for (const element of root.shadowRoot.querySelectorAll(selector)) {
    const style = getComputedStyle(element);
    found[element.tagName + (found[element.tagName] ? Object.keys(found).length : '')] =
      properties.map((name) => style.getPropertyValue(name));
  }
  return found;
}"""
PROPERTIES = [
    "display",
    "color",
    "background-color",
    "font-family",
    "font-size",
    "letter-spacing",
    "border-top-style",
    "margin-top",
    "opacity",
    "width",
]


def problems_besides_polling(problems: list[str]) -> list[str]:
    """The widget's reads before the order exists answer 404: by design, not a problem."""
    return [p for p in problems if not ("/widget/order?" in p and p.startswith("404 "))]


async def register(server: Server, reference: str, delay: float) -> dict[str, Any]:
    await asyncio.sleep(delay)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        response = await client.post(
            "/orders",
            json=buyer(clientReferenceId=reference, amount=5000, locale="en_US"),
            headers=bearer(server.key),
        )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def widget_texts(page: Page) -> list[str]:
    await page.locator("[data-kohort-widget] li").first.wait_for(timeout=20_000)
    return await page.locator("[data-kohort-widget] li").all_inner_texts()


async def test_the_widget_appears_once_the_order_is_registered_and_resists_the_shops_css(
    server: Server, chromium: Browser
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        org = server.organization_id
        settings = {"maxParticipants": 10, "discountLevels": levels((2, 5), (4, 15))}
        patched = await client.patch(
            f"/organizations/{org}/payment-group-settings",
            json=settings,
            headers=bearer(server.key),
        )
        assert patched.status_code == 200, patched.text
        secret = (
            await client.get(f"/organizations/{org}/widget-secret", headers=bearer(server.key))
        ).json()["secret"]
    key = server.keys["pk_test"]

    def page_for(reference: str, css: str = "", signed: str | None = None) -> str:
        return PAGE.format(
            css=css,
            kohort=server.base_url,
            key=key,
            reference=reference,
            token=signed or token(secret, reference),
        )

    pages = {
        "hostile": page_for("WC-1001", HOSTILE),
        "clean": page_for("WC-1001"),
        "wrong": page_for("WC-1001", signed=token(secret, "WC-1002")),
    }
    with shop_site(pages) as shop:
        context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=shop)
        page = await context.new_page()
        problems = watch(page)
        reads: list[int] = []
        page.on("response", lambda r: reads.append(r.status) if "/widget/order?" in r.url else None)

        await page.goto(f"{shop}/hostile")
        order = await register(server, "WC-1001", delay=2)
        ladder = await widget_texts(page)
        assert 404 in reads and reads[-1] == 200  # it polled before the order existed
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            api = (
                await client.get(
                    "/widget/order",
                    params={"key": key, "order": "WC-1001", "token": token(secret, "WC-1001")},
                )
            ).json()
        assert ladder == [rung["text"] for rung in api["ladder"]]
        assert ladder == ["2 members: you get €2.50", "4 members: you get €7.50"]
        code = order["paymentGroupShareId"]
        widget = page.locator("[data-kohort-widget]")
        assert await widget.locator("input").input_value() == code
        await widget.get_by_role("button", name="Copy", exact=True).click()
        assert await page.evaluate("navigator.clipboard.readText()") == code
        assert await widget.get_by_role("status").inner_text() == "Copied."
        whatsapp = await widget.get_by_role("link", name="WhatsApp").get_attribute("href")
        text = parse_qs(urlsplit(whatsapp or "").query)["text"][0]
        assert code in text and f"{server.base_url}/r/{code}?invite=1" in text
        mail = await widget.get_by_role("link", name="E-mail").get_attribute("href")
        assert parse_qs(urlsplit(mail or "").query)["body"] == [text]
        await fits_phone(page)
        await page.screenshot(path="/tmp/shots/widget-hostile.png", full_page=True)
        hostile = await page.evaluate(STYLES, ["*", PROPERTIES])

        clean = await context.new_page()
        await clean.goto(f"{shop}/clean")
        await widget_texts(clean)
        await clean.screenshot(path="/tmp/shots/widget.png", full_page=True)
        assert await clean.evaluate(STYLES, ["*", PROPERTIES]) == hostile

        await widget.get_by_role("button", name="Close").click()
        await none_on_the_page(page.locator("[data-kohort-widget]"))
        await page.reload()
        await page.wait_for_timeout(2500)
        await none_on_the_page(page.locator("[data-kohort-widget]"))
        assert problems_besides_polling(problems) == []

        stranger = await chromium.new_context(viewport=PHONE, is_mobile=True)
        wrong = await stranger.new_page()
        wrong_reads: list[int] = []
        wrong.on(
            "response",
            lambda r: wrong_reads.append(r.status) if "/widget/order?" in r.url else None,
        )
        await wrong.goto(f"{shop}/wrong")
        await wrong.wait_for_timeout(4500)
        await none_on_the_page(wrong.locator("[data-kohort-widget]"))
        assert wrong_reads and set(wrong_reads) == {404}
        await context.close()
        await stranger.close()

"""Orders and customers in a real browser (Debian's chromium driven by Playwright) against
`kohort serve`, on a phone: orders registered through the API are listed; the owner filters
them, opens one, refunds part of it and reads the new amounts, is refused a refund over what
is left, opens its customer and blocks them (the confirmation accepted), which the API then
says; no console error, nothing wider than the screen."""

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from tests.dashboard.browsing import PHONE, create_user, fits_phone, needs_chromium, sign_in, watch
from tests.factories import bearer
from tests.serve import Server

pytestmark = needs_chromium
SHOTS = Path("/tmp/shots")
SHOTS.mkdir(exist_ok=True)


def api(server: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers=bearer(server.keys["sk_test"]))


async def seed(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    """A group of two through the API: its creator's order and a friend's."""
    async with api(server) as client:
        body = {"customerFirstName": "Ada", "customerLastName": "Lovelace", "amount": 10000}
        first = await client.post("/orders", json={**body, "customerEmail": "ada@example.com"})
        assert first.status_code == 201, first.text
        friend = await client.post(
            "/orders",
            json={
                **body,
                "amount": 4000,
                "customerEmail": "grace@example.com",
                "paymentGroupShareId": first.json()["paymentGroupShareId"],
                "clientReferenceId": "SHOP-2002",
            },
        )
        assert friend.status_code == 201, friend.text
    return first.json(), friend.json()


async def fits(page: Page, name: str) -> None:
    """Nothing wider than the phone's screen; a screenshot to look at."""
    await fits_phone(page, name)
    await page.screenshot(path=str(SHOTS / f"orders-{name}.png"), full_page=True)


async def test_an_owner_refunds_an_order_and_blocks_its_customer_on_a_phone(
    server: Server, chromium: Browser
) -> None:
    create_user(server)
    first, friend = await seed(server)
    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems = watch(page)
    page.on("dialog", lambda dialog: dialog.accept())

    await page.goto(f"{server.base_url}/dashboard")
    await sign_in(page)
    await page.get_by_role("link", name="Orders", exact=True).click()
    assert (await page.locator("h1").inner_text()).startswith("Orders")
    await expect(page.locator("tbody tr")).to_have_count(2)
    await fits(page, "list")

    await page.get_by_label("E-mail, order id or reference").fill("ada@")
    await page.get_by_role("button", name="Filter").click()
    assert "q=ada%40" in page.url
    await expect(page.locator("tbody tr")).to_have_count(1)
    await page.get_by_role("link", name=first["id"]).click()
    assert page.url.endswith(f"/orders/{first['id']}")
    assert await page.locator('[data-figure="amount"] .value').inner_text() == "€100.00"
    await fits(page, "order")

    await page.get_by_label("Amount in euros").fill("12.50")
    await page.get_by_role("button", name="Refund", exact=True).click()
    assert page.url.endswith("?done=refunded")
    assert await page.locator(".notice").inner_text() == "The refund is recorded."
    assert await page.locator('[data-figure="amountRefunded"] .value').inner_text() == "€12.50"
    assert await page.locator('[data-figure="left"] .value').inner_text() == "€87.50"
    await fits(page, "refunded")

    await page.get_by_label("Amount in euros").fill("90")
    await page.get_by_role("button", name="Refund", exact=True).click()
    error = page.locator("#refund-error")
    assert (await error.inner_text()).startswith("This is more than what is left to refund.")
    assert await page.get_by_label("Amount in euros").get_attribute("aria-invalid") == "true"
    assert await page.locator('[data-figure="left"] .value').inner_text() == "€87.50"
    await fits(page, "refund-refused")

    await page.get_by_role("link", name="ada@example.com").click()
    assert (await page.locator("h1").inner_text()).startswith("ada@example.com")
    await page.get_by_role("button", name="Block the customer").click()
    assert page.url.endswith("?done=blocked")
    await expect(page.get_by_role("button", name="Unblock the customer")).to_be_visible()
    await fits(page, "customer-blocked")
    async with api(server) as client:
        customer = (await client.get(f"/customers/{first['customerId']}")).json()
        assert customer["isBlocked"] is True
        order = (await client.get(f"/orders/{first['id']}")).json()
        assert order["amountRefunded"] == 1250

    await page.get_by_role("link", name="Customers", exact=True).click()
    await page.get_by_label("Blocked").select_option("yes")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await fits(page, "customers")
    assert friend["customerEmail"] not in await page.locator("main").inner_text()
    assert problems == []
    await context.close()

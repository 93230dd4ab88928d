"""Reviews and the Trust settings in a real browser (Debian's chromium through Playwright)
against `kohort serve`, on a phone: with the default policy an order with its creator's name
is held; the owner follows the navigation's Reviews link (its count), approves the order from
the queue, which then says so and is empty, as the API does; then the Trust form refuses 0 days
with the API's message next to the field (focused, marked invalid), and saves 7 days and a
budget once corrected; no console error, nothing wider than the screen."""

from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

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

pytestmark = needs_chromium
SHOTS = Path("/tmp/shots")
SHOTS.mkdir(exist_ok=True)
ANA = {"customerFirstName": "Ana", "customerLastName": "Silva", "amount": 6000}


async def fits(page: Page, name: str) -> None:
    """Nothing wider than the phone (once the stylesheet is in); a screenshot to look at."""
    await fits_phone(page, name)
    await page.screenshot(path=str(SHOTS / f"trust-{name}.png"), full_page=True)


def held_order(server: Server) -> str:
    """The default policy in test mode, and an order held for review (SAME_NAME)."""
    with httpx.Client(
        base_url=server.base_url, headers=bearer(server.keys["sk_test"]), timeout=10
    ) as api:
        policy = api.patch(
            f"/organizations/{server.organization_id}/risk-policy",
            json={"actions": {"HIGH": "review", "HIGHEST": "review"}},
        )
        assert policy.status_code == 200, policy.text
        creator = api.post("/orders", json={**ANA, "customerEmail": "ana@example.com"})
        assert creator.status_code == 201, creator.text
        code = creator.json()["paymentGroupShareId"]
        body = {**ANA, "customerEmail": "ana.s@example.org", "paymentGroupShareId": code}
        joined = api.post("/orders", json=body)
        assert joined.status_code == 201, joined.text
        assert joined.json()["reviewStatus"] == "PENDING"
        order_id: str = joined.json()["id"]
        return order_id


async def test_an_owner_approves_a_held_order_then_saves_the_trust_settings_on_a_phone(
    server: Server, chromium: Browser
) -> None:
    order_id = held_order(server)
    create_user(server)
    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems = watch(page)
    await page.goto(f"{server.base_url}/dashboard")
    await sign_in(page)

    reviews = page.get_by_role("link", name="Reviews")
    await expect(reviews.locator(".badge.count")).to_have_text("1 pending")
    await reviews.click()
    await page.wait_for_url(f"**/dashboard/o/{server.organization_id}/reviews")
    row = page.locator(f'li[data-order="{order_id}"]')
    await expect(row).to_contain_text("Highest")
    await expect(row).to_contain_text("Same first and last name as a member SAME_NAME · Ana Silva")
    await expect(row).to_contain_text("€60.00")
    await fits(page, "reviews")

    await row.get_by_role("button", name="Approve").click()
    await page.wait_for_url("**/reviews?*done=approved*")
    await expect(page.locator(".notice")).to_have_text(
        f"Order {order_id} approved: it keeps its cashback."
    )
    await expect(page.locator("main")).to_contain_text("No order is waiting for a review.")
    await none_on_the_page(page.locator(".badge.count"))
    await fits(page, "reviews-approved")
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=bearer(server.keys["sk_test"])
    ) as api:
        order = (await api.get(f"/orders/{order_id}")).json()
    assert (order["reviewStatus"], order["reviewedBy"][:4]) == ("APPROVED", "usr_")

    await page.get_by_role("link", name="Trust", exact=True).click()
    await page.wait_for_url(f"**/dashboard/o/{server.organization_id}/trust")
    days = page.get_by_label("Days to decide")
    await days.fill("0")
    await page.get_by_role("button", name="Save the Trust settings").click()
    message = page.locator("#review_days-error")
    await expect(message).to_have_text("Input should be greater than or equal to 1")
    assert await days.get_attribute("aria-invalid") == "true"
    # autofocus is applied at the next rendering frame: waited for, not read at once
    await expect(days).to_be_focused()
    assert await days.input_value() == "0", "the value entered is kept"
    await fits(page, "trust-error")

    await days.fill("7")
    await page.get_by_label("Monthly budget, in euros").fill("50")
    await page.get_by_label("Highest").select_option("refuse")
    await page.get_by_role("button", name="Save the Trust settings").click()
    await page.wait_for_url("**/trust?done=saved")
    await expect(page.locator(".notice")).to_contain_text("Trust settings saved.")
    await none_on_the_page(page.locator('[aria-invalid="true"]'))
    await expect(page.locator('[data-figure="budgetRemaining"] .value')).to_have_text("€50.00")
    await fits(page, "trust-saved")
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=bearer(server.keys["sk_test"])
    ) as api:
        policy = (await api.get(f"/organizations/{server.organization_id}/risk-policy")).json()
        budget = (await api.get(f"/organizations/{server.organization_id}/cashback-budget")).json()
    assert (policy["reviewDays"], policy["actions"]["HIGHEST"]) == (7, "refuse")
    assert budget["monthlyAmount"] == 5000
    assert problems == []
    await context.close()

"""The dashboard in a real browser (Debian's chromium driven by Playwright) against
`kohort serve`, on a phone: an operator creates an owner with `kohort user create`; a wrong
password is refused with its message; signing in reaches the Overview, then the Team page in
test mode (the banner says so), the switch moves to live mode and back, signing out ends the
session; no console error, nothing wider than the screen."""

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.dashboard.browsing import (
    EMAIL,
    PASSWORD,
    PHONE,
    create_user,
    fits_phone,
    needs_chromium,
    none_on_the_page,
    sign_in,
    watch,
)
from tests.serve import Server

pytestmark = needs_chromium


async def test_an_owner_signs_in_switches_modes_and_signs_out_on_a_phone(
    server: Server, chromium: Browser, tmp_path: Path
) -> None:
    create_user(server)
    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems = watch(page)

    await page.goto(f"{server.base_url}/dashboard")
    assert "/dashboard/sign-in" in page.url
    await sign_in(page, "not the password")
    assert await page.get_by_role("alert").inner_text() == "Wrong e-mail or password."
    assert await page.get_by_label("E-mail").get_attribute("aria-invalid") == "true"

    await sign_in(page, PASSWORD)
    assert page.url.endswith(f"/dashboard/o/{server.organization_id}/overview")
    assert (await page.locator("h1").inner_text()).startswith("Overview")
    await page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    await page.get_by_role("link", name="Team").click()
    assert page.url.endswith(f"/dashboard/o/{server.organization_id}/team")
    assert (await page.locator("h1").inner_text()).startswith("Team")
    await expect(page.locator(".test-banner")).to_be_visible()
    assert EMAIL in await page.locator("main").inner_text()
    await fits_phone(page)
    await page.screenshot(path=str(tmp_path / "team-test-mode.png"), full_page=True)

    await page.get_by_role("button", name="Switch to live mode").click()
    await none_on_the_page(page.locator(".test-banner"))
    assert await page.locator(".badge.live").inner_text() == "Live mode"
    await page.get_by_role("button", name="Switch to test mode").click()
    await expect(page.locator(".test-banner")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    assert "/dashboard/sign-in" in page.url
    assert problems == []
    await page.goto(f"{server.base_url}/dashboard/o/{server.organization_id}/team")
    assert "/dashboard/sign-in" in page.url, "the session ended with the sign-out"
    await context.close()

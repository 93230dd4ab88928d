"""The Program page in a real browser (Debian's chromium through Playwright) against
`kohort serve`, on a phone: an owner enters a level worth less than the one before, gets the
API's message next to that field (focused, marked invalid, described by the message), fixes
it, saves, and sees the notice and the new preview; no console error, nothing wider than the
screen."""

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.dashboard.browsing import (
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
SHOTS = Path("/tmp/shots")


async def test_editing_levels_an_error_then_success_on_a_phone(
    server: Server, chromium: Browser
) -> None:
    create_user(server)
    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems = watch(page)
    await page.goto(f"{server.base_url}/dashboard")
    await sign_in(page)
    await page.get_by_role("link", name="Program").click()
    await page.wait_for_url(f"**/dashboard/o/{server.organization_id}/program")
    assert (await page.locator("h1").inner_text()).startswith("Program")
    assert "Changes apply to new groups only" in await page.locator(".note").inner_text()
    assert await page.locator(".preview li").nth(1).inner_text() == (
        "5 participants with €50.00 orders: each gets €5.00 back (10%), €25.00 for the group"
    )
    await fits_phone(page)
    await page.screenshot(path=str(SHOTS / "program.png"), full_page=True)

    level_2 = page.locator("fieldset.level").nth(1)
    await level_2.get_by_label("Cashback (percent or euros)").fill("4")
    await page.get_by_role("button", name="Save the settings").click()
    field = page.locator("#level-1-value")
    message = page.locator("#level-1-value-error")
    await expect(message).to_have_text("must be greater than the previous level's (5).")
    assert await field.get_attribute("aria-invalid") == "true"
    assert await field.get_attribute("aria-describedby") == "level-1-value-error"
    # autofocus is applied at the next rendering frame: waited for, not read at once
    await expect(field).to_be_focused()
    assert await field.input_value() == "4", "the value entered is kept"
    assert "Level 2, Cashback (percent or euros)" in await page.get_by_role("alert").inner_text()
    await fits_phone(page)
    await page.screenshot(path=str(SHOTS / "program-error.png"), full_page=True)
    await page.screenshot(path=str(SHOTS / "program-error-top.png"))
    await level_2.screenshot(path=str(SHOTS / "program-error-level.png"))

    await field.fill("12")
    await page.get_by_role("button", name="Save the settings").click()
    await page.wait_for_url("**/program?done=saved*")
    await expect(page.get_by_role("status").filter(has_text="Settings saved")).to_have_count(1)
    assert await page.locator("#level-1-value").input_value() == "12"
    await none_on_the_page(page.locator('[aria-invalid="true"]'))
    assert await page.locator(".preview li").nth(1).inner_text() == (
        "5 participants with €50.00 orders: each gets €6.00 back (12%), €30.00 for the group"
    )
    await page.get_by_label("Order amount, in euros").fill("80")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**/program?amount=80")
    await expect(page.locator(".preview li").nth(1)).to_have_text(
        "5 participants with €80.00 orders: each gets €9.60 back (12%), €48.00 for the group"
    )
    await page.screenshot(path=str(SHOTS / "program-saved.png"), full_page=True)
    await page.screenshot(path=str(SHOTS / "program-saved-top.png"))
    await page.locator("section").nth(1).screenshot(path=str(SHOTS / "program-preview.png"))
    assert problems == []
    await context.close()

"""The Brand page in a real browser (Debian's chromium through Playwright) against
`kohort serve`, on a phone: in live mode an owner gets the API's message next to a bad colour,
then saves a colour and an uploaded logo, and the preview wears them; no console error,
nothing wider than the screen."""

import asyncio
from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.brand.images import picture
from tests.dashboard.browsing import PHONE, create_user, fits_phone, needs_chromium, sign_in, watch
from tests.factories import bearer
from tests.serve import Server

pytestmark = needs_chromium
SHOTS = Path("/tmp/shots")


async def test_an_owner_brands_the_shop_in_live_mode_on_a_phone(
    server: Server, chromium: Browser, tmp_path: Path
) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    logo = tmp_path / "logo.png"
    await asyncio.to_thread(logo.write_bytes, picture(120, 40))
    create_user(server)
    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems = watch(page)
    await page.goto(f"{server.base_url}/dashboard")
    await sign_in(page)
    await page.get_by_role("link", name="Brand").click()
    await page.wait_for_url(f"**/dashboard/o/{server.organization_id}/brand")
    assert "switch to live mode to change it" in await page.locator("main").inner_text()
    await page.get_by_role("button", name="Switch to live mode").click()
    await page.wait_for_load_state()

    await page.get_by_label("Colour").fill("blue")
    await page.get_by_role("button", name="Save the brand").click()
    message = page.locator("#brandColor-error")
    await expect(message).to_have_text("must be a colour as #RRGGBB (or #RGB), e.g. #1F5F3A")
    assert await page.get_by_label("Colour").get_attribute("aria-invalid") == "true"
    await page.get_by_label("Colour").fill("#1E3A8A")
    await page.get_by_label("Display name").fill("Maison Léa")
    await page.locator("#logoFile").set_input_files(str(logo))
    await page.get_by_role("button", name="Save the brand").click()
    await page.wait_for_url("**/brand?done=saved")
    await expect(page.get_by_role("status").filter(has_text="Brand saved.")).to_have_count(1)
    preview = page.locator("svg.brand-preview")
    assert await preview.locator("rect").first.get_attribute("fill") == "#1E3A8A"
    assert await preview.locator("text").text_content() == "Maison Léa"
    await fits_phone(page)
    await page.screenshot(path=str(SHOTS / "brand.png"), full_page=True)
    assert problems == []
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        saved = await client.get(
            f"/organizations/{server.organization_id}/brand", headers=bearer(server.key)
        )
    assert saved.json()["logoUrl"].startswith(f"{server.base_url}/brand-assets/img_")
    await context.close()

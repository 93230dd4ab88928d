"""The share page in a real browser (Debian's chromium driven by Playwright) against
`kohort serve`, on a phone: the member copies the code and the invite link, taps a share
action (counted), the QR code decodes to the invite link; the invited friend's view in French;
no console error, nothing wider than the screen."""

import asyncio
import io
from pathlib import Path

import httpx
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, Page, Route

from kohort.config import Settings
from kohort.db import create_database
from kohort.share import repository
from tests.brand.images import picture
from tests.dashboard.browsing import PHONE, fits_phone, needs_chromium, watch
from tests.factories import bearer
from tests.group_settings.api import levels
from tests.order.api import join, new_group
from tests.serve import Server

pytestmark = needs_chromium
SHOTS = Path("/tmp/shots")


async def branded_group(server: Server) -> dict[str, str]:
    org = server.organization_id
    live = bearer(server.keys["sk_live"])
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        brand = {"displayName": "Maison Léa", "brandColor": "#1E3A8A"}
        brand["websiteUrl"] = "https://maison-lea.example"
        assert (
            await client.patch(f"/organizations/{org}/brand", json=brand, headers=live)
        ).is_success
        logo = await client.put(
            f"/organizations/{org}/brand/logo",
            content=picture(160, 48),
            headers={**live, "Content-Type": "image/png"},
        )
        assert logo.status_code == 200, logo.text
        settings = {"maxParticipants": 10, "discountLevels": levels((2, 5), (4, 15))}
        response = await client.patch(
            f"/organizations/{org}/payment-group-settings",
            json=settings,
            headers=bearer(server.key),
        )
        assert response.status_code == 200, response.text
        group = await new_group(client, server.key, customerFirstName="Ana")
        await join(client, server.key, group["shareId"])
    return group


async def fits(page: Page, name: str) -> None:
    await fits_phone(page, name)
    await page.screenshot(path=str(SHOTS / f"share-{name}.png"), full_page=True)


async def decoded_qr(page: Page) -> str:
    shot = await page.locator("svg.qr").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert len(found) == 1, found
    return str(found[0].text)


async def test_a_member_shares_and_a_friend_is_invited_on_a_phone(
    server: Server, chromium: Browser
) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    group = await branded_group(server)
    code = group["shareId"]
    invite = f"{server.base_url}/r/{code}?invite=1"
    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)

    async def messaging_app(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body="<p>WhatsApp</p>")

    await context.route("https://wa.me/**", messaging_app)
    page = await context.new_page()
    problems = watch(page)

    await page.goto(f"{server.base_url}/r/{code}")
    assert await page.locator("h1").inner_text() == "A group at Maison Léa"
    assert await page.locator(".brand img").evaluate("img => img.naturalWidth") == 160
    await page.get_by_role("button", name="Copy", exact=True).click()
    assert await page.evaluate("navigator.clipboard.readText()") == code
    assert await page.get_by_role("status").inner_text() == "Copied."
    await page.get_by_role("button", name="Copy the link").click()
    assert await page.evaluate("navigator.clipboard.readText()") == invite
    assert await decoded_qr(page) == invite
    await fits(page, "member")
    async with context.expect_page() as opened:
        await page.get_by_role("link", name="WhatsApp").click()
    whatsapp = await opened.value
    assert whatsapp.url.startswith("https://wa.me/?text=Join%20my%20group%20at%20Maison%20L")
    await whatsapp.close()

    friend = await chromium.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
    invited = await friend.new_page()
    friend_problems = watch(invited)
    await invited.goto(invite)
    assert await invited.locator("h1").inner_text() == "Ana vous invite chez Maison Léa"
    shop = invited.get_by_role("link", name="Aller sur maison-lea.example")
    assert await shop.get_attribute("href") == "https://maison-lea.example"
    await fits(invited, "invite")
    assert problems == [] and friend_problems == []

    database = create_database(Settings(database_url=server.env["KOHORT_DATABASE_URL"]))
    try:
        for _ in range(50):  # the beacons arrive on their own time
            async with database.read() as session:
                counts = await repository.group_counts(session, group["id"])
            if counts.get("whatsapp") == 1:
                break
            await asyncio.sleep(0.1)
    finally:
        await database.dispose()
    assert counts == {
        "shown:member": 1,
        "shown:invite": 1,
        "copy": 2,
        "whatsapp": 1,
    }
    await context.close()
    await friend.close()

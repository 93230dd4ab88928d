"""The E-mails pages and the audit log in a real browser (Debian's chromium, Playwright)
against `kohort serve`, on a phone: a preview in French shows its subject and the e-mail
itself in its sandboxed frame; the outbox lists the e-mail the worker sent for a new group,
and its page shows it; the audit log shows the API's change; no console error, nothing
wider than the screen."""

import asyncio
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.dashboard.browsing import PHONE, create_user, fits_phone, needs_chromium, sign_in, watch
from tests.factories import bearer
from tests.serve import Server

pytestmark = needs_chromium
SHOTS = Path("/tmp/shots")
SHOTS.mkdir(parents=True, exist_ok=True)


async def fits(page: Page) -> None:
    """Nothing wider than the phone, once the page and its stylesheet are loaded."""
    await fits_phone(page)


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"emails-{name}.png"), full_page=True)


async def test_previews_outbox_and_audit_log_on_a_phone(server: Server, chromium: Browser) -> None:
    create_user(server)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as api:
        key = bearer(server.keys["sk_test"])
        order = await api.post(
            "/orders",
            json={
                "amount": 5000,
                "customerEmail": "ana@example.com",
                "customerFirstName": "Ana",
                "customerLastName": "Lima",
            },
            headers=key,
        )
        assert order.status_code == 201, order.text
        settings = await api.patch(
            f"/organizations/{server.organization_id}/payment-group-settings",
            json={"maxParticipants": 12},
            headers=key,
        )
        assert settings.status_code == 200, settings.text
    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems = watch(page)
    await page.goto(f"{server.base_url}/dashboard")
    await sign_in(page)
    await page.get_by_role("link", name="E-mails", exact=True).click()
    await page.wait_for_url(f"**/dashboard/o/{server.organization_id}/emails")
    await fits(page)
    await shot(page, "index")

    await page.get_by_role("link", name="New group, French (France)").click()
    await page.wait_for_url("**/emails/preview/new_group/fr_FR")
    subject = page.locator(".email-subject")
    assert "KHT-test-1A2B3C4D" in await subject.inner_text()
    await expect(subject).to_be_visible()
    frame = page.frame_locator("iframe.email-frame")
    body = frame.locator("body")
    assert "Merci pour votre commande chez Concurrent Shop" in await body.inner_text()
    assert "80,00" in await body.inner_text()
    await fits(page)
    await shot(page, "preview-fr")
    await page.locator("iframe.email-frame").screenshot(path=str(SHOTS / "emails-frame.png"))

    await page.get_by_role("link", name="Outbox").click()
    await page.wait_for_url("**/emails/outbox")
    for _ in range(20):
        if "ana@example.com" in await page.locator("main").inner_text():
            break
        await asyncio.sleep(0.5)
        await page.reload()
    main = await page.locator("main").inner_text()
    assert "ana@example.com" in main and "New group" in main
    await fits(page)
    await shot(page, "outbox")
    await page.locator("main tbody a").first.click()
    await page.wait_for_url("**/emails/outbox/msg_*")
    main = await page.locator("main").inner_text()
    assert "Delivery" in main and "KHT-test-" in main and "ana@example.com" in main
    await fits(page)
    await shot(page, "message")

    await page.get_by_role("link", name="Audit log").click()
    await page.wait_for_url("**/audit-log")
    main = await page.locator("main").inner_text()
    assert "payment_group_settings.updated" in main and "sk_test_…" in main
    assert "maxParticipants" in main
    await fits(page)
    await shot(page, "audit-log")
    assert problems == []
    await context.close()

"""The Developers pages in a real browser (Debian's chromium through Playwright) against
`kohort serve`, whose embedded worker sends the webhooks, on a phone: an owner rolls the test
secret key, reads the new key on the page and calls the API with it (the old key still works
during the overlap); adds an endpoint pointing at a loopback receiver, sends a test event,
sees its failed delivery (the receiver answers 500), retries it and sees it succeed; no
console error, nothing wider than the screen."""

import asyncio
from pathlib import Path

import httpx
from playwright.async_api import Browser, Dialog, Locator, Page

from tests.dashboard.browsing import PHONE, create_user, fits_phone, needs_chromium, sign_in, watch
from tests.factories import bearer
from tests.serve import serving
from tests.webhook.receiver import running_receiver

pytestmark = needs_chromium
SHOTS = Path("/tmp/shots")
WAIT_S = 20.0


def _preview(key: str) -> str:
    return f"{key[:8]}…{key[-4:]}"


async def _shot(page: Page, tmp_path: Path, name: str) -> None:
    await page.screenshot(path=str(tmp_path / name), full_page=True)
    await page.screenshot(path=str(SHOTS / f"developers-{name}"), full_page=True)


async def _until(page: Page, row: Locator, text: str) -> str:
    """Reload the page until `row` shows `text` (the worker sends within a second or two)."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        if await row.count() and text in (shown := await row.inner_text()):
            return shown
        assert asyncio.get_running_loop().time() < deadline, await page.content()
        await asyncio.sleep(0.5)
        await page.reload()


async def test_rolling_a_key_using_it_and_retrying_a_webhook_delivery_on_a_phone(
    chromium: Browser, tmp_path: Path
) -> None:
    env = {"KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS": "true"}
    with running_receiver() as receiver, serving(tmp_path, env=env) as server:
        create_user(server)
        context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
        page = await context.new_page()
        problems = watch(page)

        async def confirm(dialog: Dialog) -> None:
            await dialog.accept()

        page.on("dialog", confirm)
        await page.goto(f"{server.base_url}/dashboard")
        await sign_in(page)
        await page.get_by_role("link", name="Developers").click()
        assert page.url.endswith(f"/dashboard/o/{server.organization_id}/developers")
        old = server.keys["sk_test"]
        row = page.locator("tr[data-key]", has_text=_preview(old))
        await row.get_by_label("Old key keeps working (hours)").fill("1")
        await row.get_by_role("button", name=f"Roll {_preview(old)}").click()
        new = await page.locator("#new-key").input_value()
        assert new.startswith("sk_test_") and new != old
        assert "it will not be shown again" in await page.locator(".issued").inner_text()
        await fits_phone(page)
        await _shot(page, tmp_path, "key-rolled.png")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as api:
            used = await api.get("/events", headers=bearer(new))
            assert used.status_code == 200, used.text
            assert (await api.get("/events", headers=bearer(old))).status_code == 200
            keys = (await api.get("/api-keys", headers=bearer(new))).json()["data"]
            rolled = [k for k in keys if k["preview"] == _preview(old)]
            assert rolled and rolled[0]["expiresAt"] is not None
        await page.reload()
        assert new not in await page.content()

        await page.get_by_role("link", name="Webhooks").click()
        await page.get_by_label("URL", exact=True).fill(receiver.url())
        await page.get_by_label("All events").check()
        await page.get_by_role("button", name="Add the endpoint").click()
        assert "/developers/webhooks/we_" in page.url
        receiver.answers = [500] * 20
        await page.get_by_role("button", name="Send a test event").click()
        delivery = page.locator("tr[data-delivery]")
        failed = await _until(page, delivery, "Answered 500.")
        assert "answer 500" in failed
        await _shot(page, tmp_path, "delivery-failed.png")
        receiver.answers = []
        await delivery.get_by_role("button", name="Retry now").click()
        assert "Delivery queued again" in await page.get_by_role("status").last.inner_text()
        succeeded = await _until(page, delivery, "succeeded")
        assert "200" in succeeded and "answer 200" in succeeded
        ids = {request.webhook_id for request in receiver.received()}
        assert len(ids) == 1 and len(receiver.received()) >= 2
        await fits_phone(page)
        await _shot(page, tmp_path, "delivery-retried.png")

        await page.get_by_role("link", name="Events", exact=True).click()
        await page.locator("tr[data-event] a").first.click()
        assert "webhook.test" in await page.locator("h1").inner_text()
        await fits_phone(page)
        await _shot(page, tmp_path, "event.png")
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.get_by_role("link", name="Webhooks").click()
        await page.locator("tr[data-endpoint] a").first.click()
        await _shot(page, tmp_path, "endpoint-desktop.png")
        await page.get_by_role("link", name="API keys").click()
        await _shot(page, tmp_path, "keys-desktop.png")
        assert problems == []
        await context.close()

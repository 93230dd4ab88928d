"""The dashboard in a real browser (Debian's chromium driven by Playwright) against
`kohort serve`, on a phone: an operator creates an owner with `kohort user create`; a wrong
password is refused with its message; signing in reaches the Team page in test mode (the
banner says so), the switch moves to live mode and back, signing out ends the session; no
console error, nothing wider than the screen."""

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.serve import Server

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 375, "height": 740}
EMAIL = "owner@shop.example"
PASSWORD = "correct horse battery staple"

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


def create_owner(server: Server) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kohort.cli",
            "user",
            "create",
            "--email",
            EMAIL,
            "--org",
            server.organization_id,
            "--role",
            "owner",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _script_error(message: ConsoleMessage) -> bool:
    """A console error other than the browser's note of a page answered 4xx (the wrong
    password's 401 is the sign-in page itself); a failed asset is caught by status below."""
    return message.type == "error" and not message.text.startswith("Failed to load resource")


async def sign_in(page: Page, password: str) -> None:
    await page.get_by_label("E-mail").fill(EMAIL)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_an_owner_signs_in_switches_modes_and_signs_out_on_a_phone(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    create_owner(server)
    context = await browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if _script_error(m) else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.request.resource_type != "document" and r.status >= 400
            else None
        ),
    )

    await page.goto(f"{server.base_url}/dashboard")
    assert "/dashboard/sign-in" in page.url
    await sign_in(page, "not the password")
    assert await page.get_by_role("alert").inner_text() == "Wrong e-mail or password."
    assert await page.get_by_label("E-mail").get_attribute("aria-invalid") == "true"

    await sign_in(page, PASSWORD)
    assert page.url.endswith(f"/dashboard/o/{server.organization_id}/team")
    assert (await page.locator("h1").inner_text()).startswith("Team")
    assert await page.locator(".test-banner").is_visible()
    assert EMAIL in await page.locator("main").inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(tmp_path / "team-test-mode.png"), full_page=True)

    await page.get_by_role("button", name="Switch to live mode").click()
    assert await page.locator(".test-banner").count() == 0
    assert await page.locator(".badge.live").inner_text() == "Live mode"
    await page.get_by_role("button", name="Switch to test mode").click()
    assert await page.locator(".test-banner").is_visible()

    await page.get_by_role("button", name="Sign out").click()
    assert "/dashboard/sign-in" in page.url
    assert problems == []
    await page.goto(f"{server.base_url}/dashboard/o/{server.organization_id}/team")
    assert "/dashboard/sign-in" in page.url, "the session ended with the sign-out"
    await context.close()

"""What the dashboard's browser tests share: Debian's chromium through Playwright (skipped when
it is missing, except on CI), an owner made with `kohort user create` against a running
`kohort serve`, signing in (the `chromium` fixture is in
conftest.py), and a watcher that collects script errors and failed assets."""

import os
import shutil
import subprocess
import sys

import pytest
from playwright.async_api import ConsoleMessage, Locator, Page, expect

from tests.serve import Server

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 375, "height": 740}
EMAIL = "owner@shop.example"
PASSWORD = "correct horse battery staple"

needs_chromium = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


def create_user(
    server: Server, email: str = EMAIL, role: str = "owner", password: str = PASSWORD
) -> None:
    """`kohort user create` for the server's organization, the password on stdin."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kohort.cli",
            "user",
            "create",
            "--email",
            email,
            "--org",
            server.organization_id,
            "--role",
            role,
            "--password-stdin",
        ],
        input=password + "\n",
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _script_error(message: ConsoleMessage) -> bool:
    """A console error other than the browser's note of a page answered 4xx (a refused form is
    the page itself); a failed asset is caught by its status instead."""
    return message.type == "error" and not message.text.startswith("Failed to load resource")


def watch(page: Page) -> list[str]:
    """The problems seen on `page` from now on: console errors, uncaught errors, and any
    non-document request answered 4xx or 5xx."""
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
    return problems


async def fits_phone(page: Page, name: str = "", width: int = PHONE["width"]) -> None:
    """Nothing on the page wider than the phone's screen. Measured once the page's load event
    has fired: a page laid out before its stylesheet arrives is wider, and under load that is
    the moment a measurement made right after a navigation can see."""
    await page.wait_for_load_state("load")
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name}: {scroll_width} px wide on a {width} px screen"


async def none_on_the_page(locator: Locator) -> None:
    """No element matches, on the page the last click led to: the count is taken once that
    page has loaded (a click returns when the navigation commits, before the page is parsed,
    and nothing at all matches a page not parsed yet), and again until it holds."""
    await locator.page.wait_for_load_state()
    await expect(locator).to_have_count(0)


async def sign_in(page: Page, password: str = PASSWORD, email: str = EMAIL) -> None:
    """On the sign-in page: fill the form, send it and wait for the page it leads to (a click
    returns once the navigation commits, before the new page is parsed)."""
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()

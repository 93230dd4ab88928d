"""`/docs` without internet: Swagger UI's files come from the server itself (the
`fastapi-offline` package), so in chromium with every other origin cut off the operations
of the OpenAPI document still render."""

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from playwright.async_api import Browser, Request, Route, async_playwright, expect

from tests.serve import Server, serving

CHROMIUM = "/usr/bin/chromium"
DEAD_PROXY = "http://127.0.0.1:9"
"""Every request chromium does not send to loopback goes through this closed port and fails:
the browser has no network but the server's."""

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`kohort serve` with one process on either database: the page needs no more."""
    with serving(tmp_path, workers=1) as started:
        yield started


@pytest.fixture
async def offline_browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                f"--proxy-server={DEAD_PROXY}",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        await launched.close()


async def test_the_docs_render_their_operations_with_no_network_but_the_server(
    server: Server, offline_browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        document = (await client.get("/openapi.json")).json()
    operations = [
        operation
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    create_order = document["paths"]["/orders"]["post"]

    context = await offline_browser.new_context(service_workers="block")
    page = await context.new_page()
    elsewhere: list[str] = []
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    async def only_the_server(route: Route, request: Request) -> None:
        if request.url.startswith(f"{server.base_url}/"):
            await route.continue_()
        else:
            elsewhere.append(request.url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_the_server)
    opened = await page.goto(f"{server.base_url}/docs", wait_until="load")
    assert opened is not None and opened.status == 200
    assert elsewhere == [], f"/docs asked other origins: {elsewhere}"

    block = page.locator(f"#operations-{create_order['tags'][0]}-{create_order['operationId']}")
    await block.wait_for(state="visible", timeout=15_000)
    summary = await block.locator(".opblock-summary").inner_text()
    assert "POST" in summary
    assert "/orders" in summary
    assert create_order["summary"] in summary
    await expect(page.locator(".opblock")).to_have_count(len(operations))
    assert document["info"]["title"] in await page.locator(".info .title").inner_text()
    assert errors == []

    icon = await page.locator("link[rel~='icon']").get_attribute("href")
    assert icon is not None
    icon_url = urljoin(page.url, icon)
    assert icon_url.startswith(f"{server.base_url}/")
    fetched = await page.request.get(icon_url)
    assert fetched.status == 200
    assert fetched.headers["content-type"].startswith("image/")

    await block.scroll_into_view_if_needed()
    await page.screenshot(path=tmp_path / "docs-offline.png")
    await context.close()
    assert elsewhere == [], f"/docs asked other origins: {elsewhere}"

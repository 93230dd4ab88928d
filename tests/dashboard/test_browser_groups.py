"""The Groups pages in a real browser (Debian's chromium driven by Playwright) against
`kohort serve`, on a phone: groups registered through the API are listed, filtered by status
and e-mail; a group's page shows its members and timeline; canceling a lonely group asks for
confirmation (refused once, then accepted) and the API then says CANCELED; no console error,
nothing wider than the screen."""

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Dialog, Page, expect

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


def order(client: httpx.Client, email: str, amount: int, code: str | None = None) -> Any:
    body: dict[str, Any] = {
        "amount": amount,
        "customerEmail": email,
        "customerFirstName": "Ada",
        "customerLastName": "Lovelace",
    }
    if code:
        body["paymentGroupShareId"] = code
    response = client.post("/orders", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["joinError"] is None
    return response.json()


async def fits(page: Page, name: str) -> None:
    """Nothing wider than the phone (once the stylesheet is in); a full-page screenshot to
    look at, and one per card."""
    await fits_phone(page, name)
    await page.screenshot(path=str(SHOTS / f"groups-{name}.png"), full_page=True)
    cards = page.locator("main .card")
    for index in range(await cards.count()):
        await cards.nth(index).screenshot(path=str(SHOTS / f"groups-{name}-{index}.png"))


async def test_an_owner_filters_groups_opens_one_and_cancels_another_on_a_phone(
    server: Server, chromium: Browser
) -> None:
    create_user(server)
    key = server.keys["sk_test"]
    with httpx.Client(base_url=server.base_url, headers=bearer(key), timeout=10) as api:
        first = order(api, "ada@example.com", 12000)
        code = first["paymentGroupShareId"]
        order(api, "grace@example.com", 8000, code)
        lonely = order(api, "alan@example.com", 3000)["paymentGroupShareId"]

    context = await chromium.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    page = await context.new_page()
    problems = watch(page)
    await page.goto(f"{server.base_url}/dashboard")
    await sign_in(page)
    await page.get_by_role("link", name="Groups", exact=True).click()
    assert page.url.endswith(f"/dashboard/o/{server.organization_id}/groups")
    await expect(page.locator("table.groups tbody tr")).to_have_count(2)
    await fits(page, "list")

    await page.get_by_label("Status").select_option("OPEN")
    await page.get_by_label("Code or e-mail").fill("GRACE@")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_load_state("load")
    assert "status=OPEN" in page.url and "q=GRACE%40" in page.url
    rows = page.locator("table.groups tbody tr")
    # The filtered page's table, once it has replaced the list's (the URL changes first).
    await expect(rows).to_have_count(1)
    assert code in await rows.first.inner_text()
    await fits(page, "filtered")

    await page.get_by_role("link", name=code).click()
    assert (await page.locator("h1").inner_text()).startswith(f"Group {code}")
    members = await page.locator("table.members").inner_text()
    assert "ada@example.com" in members and "grace@example.com" in members
    assert "€120.00" in members and "€80.00" in members
    timeline = await page.locator("ol.timeline").inner_text()
    assert "A member joined" in timeline and "Group opened" in timeline
    await expect(page.locator("tr.reached")).to_have_count(1)
    await fits(page, "group")

    await page.get_by_role("link", name="All groups").click()
    await page.get_by_role("link", name=lonely).click()
    dialogs: list[str] = []

    async def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", refuse)
    await page.get_by_role("button", name="Cancel the group").click()
    assert dialogs == ["Cancel this group? Its code will no longer work."]
    await expect(page.get_by_role("button", name="Cancel the group")).to_be_visible()

    async def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Cancel the group").click()
    await page.wait_for_url("**?done=canceled")
    assert len(dialogs) == 2
    await expect(page.get_by_role("status").filter(has_text="Group canceled.")).to_have_count(1)
    await none_on_the_page(page.get_by_role("button", name="Cancel the group"))
    await fits(page, "canceled")
    with httpx.Client(base_url=server.base_url, headers=bearer(key), timeout=10) as api:
        assert api.get(f"/groups/{lonely}").json()["status"] == "CANCELED"
        assert api.get(f"/groups/{code}").json()["status"] == "OPEN"
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(f"{server.base_url}/dashboard/o/{server.organization_id}/groups")
    await page.screenshot(path=str(SHOTS / "groups-list-wide.png"), full_page=True)
    await page.get_by_role("link", name=code).click()
    await page.screenshot(path=str(SHOTS / "groups-group-wide.png"), full_page=True)
    assert problems == []
    await context.close()

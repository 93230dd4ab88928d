"""The Brand page: an admin changes the brand in live mode (the API's messages next to the
fields when refused, nothing saved), uploads a logo; test mode shows it read-only; a viewer
cannot change it."""

import re
from typing import Any

import httpx

from kohort.db import Database
from tests.brand.images import picture
from tests.dashboard.conftest import csrf_of
from tests.dashboard.test_payouts import signed_in_as, switch
from tests.factories import Org, bearer


def url(org: Org) -> str:
    return f"/dashboard/o/{org.id}/brand"


async def brand(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    response = await client.get(f"/organizations/{org.id}/brand", headers=bearer(org.sk_test))
    body: dict[str, Any] = response.json()
    return body


async def save(
    browser: httpx.AsyncClient, org: Org, files: dict[str, Any] | None = None, **fields: str
) -> httpx.Response:
    page = await browser.get(url(org))
    current = dict(re.findall(r'<input id="(\w+)" name="\1"[^>]* value="([^"]*)"', page.text))
    data = {**current, "csrf": csrf_of(page.text), **fields}
    return await browser.post(url(org), data=data, files=files or {"logoFile": ("", b"")})


def error_of(page: str, field: str) -> str:
    found = re.search(
        rf'<small class="field-error" id="{re.escape(field)}-error">([^<]*)</small>', page
    )
    assert found, page
    return found.group(1)


async def test_an_admin_sets_the_brand_and_uploads_a_logo_in_live_mode(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org, "admin")
    await switch(browser, org, "live")
    page = await browser.get(url(org))
    assert page.status_code == 200 and "Change the brand" in page.text
    logo = picture(120, 40)
    response = await save(
        browser,
        org,
        files={"logoFile": ("logo.png", logo, "image/png")},
        displayName="Maison Léa",
        brandColor="#c2410c",
        websiteUrl="https://maison-lea.example",
        **{"shareMessages.fr": "Mon code {code} : {link}"},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{url(org)}?done=saved"
    saved = await brand(client, org)
    assert saved["displayName"] == "Maison Léa" and saved["brandColor"] == "#C2410C"
    assert saved["websiteUrl"] == "https://maison-lea.example"
    assert saved["shareMessages"] == {"fr": "Mon code {code} : {link}"}
    asset = saved["logoUrl"].removeprefix("http://127.0.0.1:8000")
    assert (await client.get(asset)).content == logo
    shown = (await browser.get(f"{url(org)}?done=saved")).text
    assert "Brand saved." in shown and 'fill="#C2410C"' in shown and ">Maison Léa</text>" in shown
    log = await client.get("/audit-log", headers=bearer(org.sk_live))
    entries = [e for e in log.json()["data"] if e["action"] == "brand.updated"]
    assert {e["actorType"] for e in entries} == {"user"} and len(entries) == 2


async def test_refused_values_are_explained_next_to_their_fields_and_nothing_is_saved(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org, "owner")
    await switch(browser, org, "live")
    before = await brand(client, org)
    response = await save(
        browser, org, displayName="Changed", brandColor="orange", logoUrl="http://x.example/a.png"
    )
    assert response.status_code == 400
    assert (
        error_of(response.text, "brandColor")
        == "must be a colour as #RRGGBB (or #RGB), e.g. #1F5F3A"
    )
    assert "https URL" in error_of(response.text, "logoUrl")
    assert 'value="orange"' in response.text
    big = picture(400, 400, noise=True)
    refused = await save(
        browser, org, files={"logoFile": ("big.png", big, "image/png")}, displayName="Changed"
    )
    assert refused.status_code == 400
    assert "at most 262144 bytes" in error_of(refused.text, "logoFile")
    assert await brand(client, org) == before


async def test_test_mode_shows_the_brand_read_only_and_a_viewer_cannot_change_it(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org, "admin")
    page = await browser.get(url(org))
    assert page.status_code == 200
    assert "Change the brand" not in page.text
    assert "switch to live mode to change it" in page.text
    forced = await browser.post(
        url(org), data={"csrf": csrf_of(page.text), "displayName": "Test mode"}
    )
    assert forced.status_code == 403
    await signed_in_as(browser, db, org, "viewer")
    await switch(browser, org, "live")
    viewer_page = await browser.get(url(org))
    assert "Change the brand" not in viewer_page.text
    refused = await browser.post(
        url(org), data={"csrf": csrf_of(viewer_page.text), "displayName": "Viewer"}
    )
    assert refused.status_code == 403
    assert (await brand(client, org))["displayName"] is None

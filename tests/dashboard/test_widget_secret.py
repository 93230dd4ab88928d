"""The Developers page's thank-you widget section: the snippet with the mode's publishable key,
the widget secret revealed on the answer to a post only, rolled with the API's overlap; a
viewer sees the snippet, not the buttons."""

import re

import httpx

from kohort.db import Database
from tests.dashboard.conftest import csrf_of
from tests.dashboard.test_payouts import signed_in_as
from tests.factories import Org, bearer


def url(org: Org) -> str:
    return f"/dashboard/o/{org.id}/developers"


def shown_secret(page: str) -> str | None:
    found = re.search(r'<textarea id="widget-secret"[^>]*>([^<]*)</textarea>', page)
    return found.group(1) if found else None


async def test_an_admin_reveals_and_rolls_the_widget_secret(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org, "admin")
    page = await browser.get(url(org))
    assert page.status_code == 200
    assert 'data-key="pk_test_…' in page.text and "/widget.js" in page.text
    assert shown_secret(page.text) is None
    api = await client.get(f"/organizations/{org.id}/widget-secret", headers=bearer(org.sk_test))
    secret = api.json()["secret"]
    revealed = await browser.post(f"{url(org)}/widget-secret", data={"csrf": csrf_of(page.text)})
    assert revealed.status_code == 200 and shown_secret(revealed.text) == secret
    rolled = await browser.post(f"{url(org)}/widget-secret/roll", data={"csrf": csrf_of(page.text)})
    new = shown_secret(rolled.text)
    assert new is not None and new != secret
    assert "Tokens of the previous secret work until" in rolled.text
    after = await client.get(f"/organizations/{org.id}/widget-secret", headers=bearer(org.sk_test))
    assert after.json()["secret"] == new
    assert shown_secret((await browser.get(url(org))).text) is None


async def test_a_viewer_sees_the_snippet_but_not_the_secret(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org, "viewer")
    page = await browser.get(url(org))
    assert "/widget.js" in page.text and "Reveal the widget secret" not in page.text
    refused = await browser.post(f"{url(org)}/widget-secret", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403 and shown_secret(refused.text) is None

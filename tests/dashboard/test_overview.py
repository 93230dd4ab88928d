"""The Overview shows what `GET /analytics` answers (the same service), in the page's
language and the session's mode; its tables download as CSV; a bad period is refused on the
page; another organization's Overview is not found."""

import csv
import io
import re
import secrets

import httpx

from kohort.db import Database
from tests.dashboard.conftest import make_user, sign_in
from tests.factories import Org, bearer, make_organization


def figure(html: str, key: str) -> str:
    found = re.search(
        rf'data-figure="{re.escape(key)}">.*?<span class="value">([^<]*)</span>', html, re.S
    )
    assert found, key
    return found.group(1)


async def order(client: httpx.AsyncClient, org: Org, amount: int, code: str | None = None) -> dict:
    body = {
        "amount": amount,
        "customerEmail": f"buyer-{secrets.token_hex(4)}@example.com",
        "customerFirstName": "Ana",
        "customerLastName": "Lima",
    }
    if code:
        body["paymentGroupShareId"] = code
    response = await client.post("/orders", json=body, headers=bearer(org.sk_test))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_overview_shows_the_analytics_of_the_period(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    first = await order(client, org, 5000)
    await order(client, org, 4000, first["paymentGroupShareId"])
    await order(client, org, 6000, first["paymentGroupShareId"])
    await order(client, org, 2500)
    api = await client.get("/analytics", params={"period": "7d"}, headers=bearer(org.sk_test))
    assert api.status_code == 200, api.text
    figures = api.json()
    assert figures["referredRevenue"]["value"] == 10000
    assert figures["groupsOpened"]["value"] == 2
    assert figures["kFactor"]["value"] == 1.0

    await sign_in(browser, await make_user(db, org, role="viewer"))
    page = await browser.get(f"/dashboard/o/{org.id}/overview", params={"period": "7d"})
    assert page.status_code == 200, page.text
    assert figure(page.text, "referredRevenue") == "€100.00"
    assert figure(page.text, "groupsOpened") == "2"
    assert figure(page.text, "kFactor") == "1"
    assert figure(page.text, "fees") == f"€{figures['fees']['value'] / 100:,.2f}"
    assert figure(page.text, "cashbackPending") == "€0.00"
    assert page.text.count("<svg") == 2 and 'role="img"' in page.text
    assert "Test mode" in page.text

    daily = await browser.get(f"/dashboard/o/{org.id}/overview/daily.csv", params={"period": "7d"})
    assert daily.status_code == 200
    assert daily.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(daily.text)))
    assert [row["date"] for row in rows] == [day["date"] for day in figures["daily"]]
    assert sum(int(row["referred_revenue_cents"]) for row in rows) == 10000
    assert sum(int(row["joins"]) for row in rows) == 2
    top = await browser.get(f"/dashboard/o/{org.id}/overview/top-groups.csv?period=7d")
    listed = list(csv.DictReader(io.StringIO(top.text)))
    assert [row["share_id"] for row in listed] == [g["shareId"] for g in figures["topGroups"]]
    assert listed[0]["members"] == "3" and listed[0]["referred_revenue_cents"] == "10000"

    french = await browser.get(
        f"/dashboard/o/{org.id}/overview?period=7d", headers={"Accept-Language": "fr-FR"}
    )
    assert "100,00" in figure(french.text, "referredRevenue")


async def test_a_bad_period_is_refused_on_the_page(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await sign_in(browser, await make_user(db, org))
    refused = await browser.get(f"/dashboard/o/{org.id}/overview?from=2026-12-10&to=2026-12-01")
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    unknown = await browser.get(f"/dashboard/o/{org.id}/overview/orders.csv")
    assert unknown.status_code == 404


async def test_another_organizations_overview_is_not_found(
    browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    other = await make_organization(db, name="Other Shop")
    await sign_in(browser, await make_user(db, org))
    assert (await browser.get(f"/dashboard/o/{other.id}/overview")).status_code == 404
    assert (await browser.get(f"/dashboard/o/{other.id}/overview/daily.csv")).status_code == 404

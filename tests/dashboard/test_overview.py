"""The Overview shows what `GET /analytics` answers (the same service), in the page's
language and the session's mode; its tables download as CSV; a bad period is refused on the
page; another organization's Overview is not found; this month's cashback budget use is
`GET …/cashback-budget`'s, with a notice from 80 % and once it is used up."""

import csv
import html as markup
import io
import re
import secrets
from datetime import UTC, datetime

import httpx

from kohort.db import Database
from tests.dashboard.conftest import make_user, sign_in
from tests.factories import Org, bearer, make_organization
from tests.group_settings.api import levels, patched
from tests.order.api import frozen_at


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


async def set_budget(client: httpx.AsyncClient, org: Org, cents: int | None) -> None:
    response = await client.patch(
        f"/organizations/{org.id}/cashback-budget",
        json={"monthlyAmount": cents},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 200, response.text


def notices(html: str) -> dict[str, str]:
    """The budget's notices by kind (`warning`, `exhausted`), as the reader sees them."""
    found = re.findall(r'data-budget="(\w+)">(.*?)</p>', html, re.S)
    return {kind: " ".join(markup.unescape(text).split()) for kind, text in found}


async def test_the_overview_shows_this_months_budget_use_and_its_notices(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    url = f"/dashboard/o/{org.id}/overview"
    with frozen_at(datetime(2031, 3, 14, 12, 0, tzinfo=UTC)):
        await sign_in(browser, await make_user(db, org, role="viewer"))
        assert 'data-figure="budgetUsed"' not in (await browser.get(url)).text
        settings = {"maxParticipants": 2, "discountLevels": levels((2, 10))}
        await patched(client, org, settings, org.sk_test)
        first = await order(client, org, 10000)
        await order(client, org, 10000, first["paymentGroupShareId"])

        await set_budget(client, org, 2400)
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        assert "Cashback budget of March 2031" in page.text
        assert figure(page.text, "budgetUsed") == "€20.00"
        assert "of €24.00" in page.text
        assert figure(page.text, "budgetRemaining") == "€4.00"
        assert '<meter class="budget-bar" min="0" max="100"' in page.text
        assert 'value="83.3"' in page.text
        assert notices(page.text) == {
            "warning": "83% of this month\u2019s cashback budget is used. Once it is used up, new "
            "orders open no group until April 1, 2031."
        }
        assert f'href="/dashboard/o/{org.id}/trust">Change the budget</a>' in page.text

        await set_budget(client, org, 2000)
        page = await browser.get(url)
        assert figure(page.text, "budgetRemaining") == "€0.00"
        assert 'value="100.0"' in page.text
        assert notices(page.text) == {
            "exhausted": "This month\u2019s cashback budget is used up: new orders open no group "
            "until April 1, 2031, unless the budget is raised. Groups already open still fill "
            "and pay their members."
        }
        french = await browser.get(url, headers={"Accept-Language": "fr-FR"})
        assert "jusqu\u2019au 1 avril 2031" in notices(french.text)["exhausted"]

        await set_budget(client, org, 10000)
        page = await browser.get(url)
        assert notices(page.text) == {}
        assert "20% of the March 2031 budget is used." in page.text
        await set_budget(client, org, None)
        assert 'data-figure="budgetUsed"' not in (await browser.get(url)).text

"""The Trust page: the risk policy and the monthly cashback budget of the session's mode as the
API answers them; saved through the API's schemas and services (then `GET …/risk-policy`,
`GET …/cashback-budget` and the audit log say so); a refused form answered with the API's
messages next to their fields and nothing written; the modes kept apart; viewers read only."""

import html as markup
import re
from typing import Any

import httpx

from kohort.db import Database
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org, bearer, make_organization
from tests.order.api import get_json

FORM = {
    "action-LOW": "allow",
    "action-MEDIUM": "allow",
    "action-HIGH": "review",
    "action-HIGHEST": "review",
    "review_days": "14",
    "review_default": "release",
    "budget": "",
}


def trust(org: Org) -> str:
    return f"/dashboard/o/{org.id}/trust"


def selected(page: str, key: str) -> str:
    found = re.search(rf'<select id="{key}".*?</select>', page, re.S)
    assert found, key
    option = re.search(r'<option value="([^"]*)" selected>', found.group(0))
    assert option, key
    return option.group(1)


def value_of(page: str, key: str) -> str:
    found = re.search(rf'<input id="{key}"[^>]*value="([^"]*)"', page)
    assert found, key
    return markup.unescape(found.group(1))


def error_of(page: str, key: str) -> str | None:
    found = re.search(rf'<span class="field-error" id="{key}-error">([^<]*)</span>', page)
    return markup.unescape(found.group(1)) if found else None


def text_of(page: httpx.Response) -> str:
    main = page.text.split('<main id="main" tabindex="-1">', 1)[-1]
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", main)).split())


async def signed_in_as(browser: httpx.AsyncClient, db: Database, org: Org, role: str) -> str:
    assert (await sign_in(browser, await make_user(db, org, role=role))).status_code == 303
    return csrf_of((await browser.get(trust(org))).text)


async def post(browser: httpx.AsyncClient, org: Org, csrf: str, **changes: str) -> httpx.Response:
    return await browser.post(trust(org), data={"csrf": csrf, **FORM, **changes})


async def policy(client: httpx.AsyncClient, org: Org, key: str) -> dict[str, Any]:
    found: dict[str, Any] = await get_json(client, key, f"/organizations/{org.id}/risk-policy")
    return found


async def budget(client: httpx.AsyncClient, org: Org, key: str) -> dict[str, Any]:
    found: dict[str, Any] = await get_json(client, key, f"/organizations/{org.id}/cashback-budget")
    return found


async def audited(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    response = await client.get("/audit-log", headers=bearer(key))
    assert response.status_code == 200, response.text
    return [e for e in response.json()["data"] if e["action"] != "user.signed_in"]


async def test_the_page_shows_the_modes_policy_and_budget(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database
) -> None:
    org = await make_organization(db, risk_policy=None)
    await signed_in_as(browser, db, org, "admin")
    page = await browser.get(trust(org))
    assert page.status_code == 200, page.text
    assert [selected(page.text, f"action-{level}") for level in ("LOW", "MEDIUM")] == ["allow"] * 2
    assert selected(page.text, "action-HIGH") == selected(page.text, "action-HIGHEST") == "review"
    assert value_of(page.text, "review_days") == "14"
    assert selected(page.text, "review_default") == "release"
    assert value_of(page.text, "budget") == ""
    assert "No monthly budget: the cashback is not capped." in text_of(page)
    assert '<span class="badge test">Test mode</span>' in page.text
    assert f'href="{trust(org)}" aria-current="page"' in page.text


async def test_saving_changes_the_policy_and_the_budget_through_the_api(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    csrf = await signed_in_as(browser, db, org, "owner")
    answer = await post(
        browser,
        org,
        csrf,
        **{"action-MEDIUM": "review", "action-HIGHEST": "refuse"},
        review_days="7",
        review_default="reject",
        budget="1 250,50",
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{trust(org)}?done=saved"
    read = await policy(client, org, org.sk_test)
    assert read["actions"] == {
        "LOW": "allow",
        "MEDIUM": "review",
        "HIGH": "review",
        "HIGHEST": "refuse",
    }
    assert (read["reviewDays"], read["reviewDefault"]) == (7, "reject")
    assert (await budget(client, org, org.sk_test))["monthlyAmount"] == 125050
    assert sorted(e["action"] for e in await audited(client, org.sk_test)) == [
        "cashback_budget.updated",
        "risk_policy.updated",
    ]
    assert {e["actorType"] for e in await audited(client, org.sk_test)} == {"user"}

    page = await browser.get(answer.headers["location"])
    assert "Trust settings saved." in text_of(page)
    assert selected(page.text, "action-HIGHEST") == "refuse"
    assert value_of(page.text, "budget") == "1250.50"
    assert "€0.00 of €1,250.50" in text_of(page)

    again = await post(
        browser,
        org,
        csrf,
        **{"action-MEDIUM": "review", "action-HIGHEST": "refuse"},
        review_days="7",
        review_default="reject",
        budget="1250.5",
    )
    assert again.headers["location"] == f"{trust(org)}?done=unchanged"
    cleared = await post(browser, org, csrf, budget="")
    assert cleared.headers["location"] == f"{trust(org)}?done=saved"
    assert (await budget(client, org, org.sk_test))["monthlyAmount"] is None
    assert (await policy(client, org, org.sk_test))["reviewDays"] == 14


async def test_a_refused_form_shows_the_apis_messages_and_saves_nothing(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    csrf = await signed_in_as(browser, db, org, "owner")
    before = await policy(client, org, org.sk_test)
    page = await post(
        browser,
        org,
        csrf,
        **{"action-LOW": "block"},
        review_days="0",
        review_default="release",
        budget="12.345",
    )
    assert page.status_code == 400
    assert error_of(page.text, "action-LOW") == "Input should be 'allow', 'review' or 'refuse'"
    assert error_of(page.text, "review_days") == "Input should be greater than or equal to 1"
    assert error_of(page.text, "budget") == (
        "Enter an amount in euros, with at most 2 decimals (e.g. 19.90)."
    )
    assert re.search(r'<select id="action-LOW"[^>]*aria-invalid="true" autofocus>', page.text)
    assert re.search(r'<input id="review_days"[^>]*aria-invalid="true">', page.text)
    assert value_of(page.text, "review_days") == "0", "what was typed is kept"
    assert value_of(page.text, "budget") == "12.345"
    summary = text_of(page)
    assert "The settings were not saved." in summary
    assert "Days to decide: Input should be greater than or equal to 1" in summary

    for changes, key, message in [
        ({"review_days": "91"}, "review_days", "Input should be less than or equal to 90"),
        (
            {"review_days": "two"},
            "review_days",
            "must be a JSON integer (not a string, a boolean or a decimal number)",
        ),
        ({"review_days": ""}, "review_days", "Enter a number of days."),
        ({"review_default": "keep"}, "review_default", "Input should be 'release' or 'reject'"),
        ({"budget": "-5"}, "budget", "Input should be greater than or equal to 0"),
    ]:
        refused = await post(browser, org, csrf, **{"budget": "100", **changes})
        assert refused.status_code == 400, changes
        assert error_of(refused.text, key) == message, changes
    assert await policy(client, org, org.sk_test) == before
    assert (await budget(client, org, org.sk_test))["monthlyAmount"] is None
    assert await audited(client, org.sk_test) == []


async def test_each_mode_has_its_own_settings(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    csrf = await signed_in_as(browser, db, org, "owner")
    await browser.post(f"/dashboard/o/{org.id}/mode", data={"csrf": csrf, "mode": "live"})
    page = await browser.get(trust(org))
    assert '<span class="badge live">Live mode</span>' in page.text
    saved = await post(browser, org, csrf, review_days="30", budget="500")
    assert saved.status_code == 303
    assert (await policy(client, org, org.sk_live))["reviewDays"] == 30
    assert (await budget(client, org, org.sk_live))["monthlyAmount"] == 50000
    assert (await policy(client, org, org.sk_test))["reviewDays"] == 14
    assert (await budget(client, org, org.sk_test))["monthlyAmount"] is None


async def test_viewers_read_the_settings_and_cannot_change_them(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, other_org: Org
) -> None:
    org = await make_organization(db, risk_policy=None)
    await client.patch(
        f"/organizations/{org.id}/cashback-budget",
        json={"monthlyAmount": 20000},
        headers=bearer(org.sk_test),
    )
    csrf = await signed_in_as(browser, db, org, "viewer")
    page = await browser.get(trust(org))
    assert page.status_code == 200
    assert '<form method="post" action="' + trust(org) not in page.text
    text = text_of(page)
    assert "High Review: hold the cashback" in text
    assert "Days to decide 14" in text and "Monthly budget €200.00" in text
    refused = await post(browser, org, csrf, review_days="3")
    assert refused.status_code == 403
    assert (await policy(client, org, org.sk_test))["reviewDays"] == 14
    assert (await browser.get(trust(other_org))).status_code == 404

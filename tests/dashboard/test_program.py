"""The Program page shows the group settings of the session's mode as the API answers them,
saves a change through the API's schema and service (then `GET /payment-group-settings` and
the audit log say so), answers a refused form with the API's own message next to each field
and nothing written, keeps the modes apart, refuses viewers and other organizations, and
previews each level's cashback exactly as a group completing at that level pays it."""

import html as markup
import re
from typing import Any

import httpx
import pytest

from kohort.db import Database
from kohort.worker import Worker
from tests.dashboard.conftest import csrf_of, make_user, sign_in
from tests.factories import Org, bearer
from tests.group_settings.api import get, levels, patched
from tests.order.api import fetch, join, new_group

DEFAULT_FORM = {
    "discount_type": "PERCENTAGE",
    "level-0-participants": "2",
    "level-0-value": "5",
    "level-1-participants": "5",
    "level-1-value": "10",
    "level-2-participants": "10",
    "level-2-value": "15",
    "max_participants": "15",
    "minutes_duration": "10",
    "min_purchase": "0",
}


def program(org: Org) -> str:
    return f"/dashboard/o/{org.id}/program"


def tag(page: str, key: str) -> str:
    """The `<input>` or `<select>` opening tag of the field `key`."""
    found = re.search(rf'<(?:input|select) id="{re.escape(key)}"[^>]*>', page)
    assert found, key
    return found.group(0)


def value_of(page: str, key: str) -> str:
    found = re.search(r'value="([^"]*)"', tag(page, key))
    assert found, key
    return markup.unescape(found.group(1))


def selected(page: str, key: str) -> str:
    found = re.search(rf'<select id="{key}".*?</select>', page, re.S)
    assert found, key
    option = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)<', found.group(0))
    assert option, key
    return option.group(1) or option.group(2)


def error_of(page: str, key: str) -> str | None:
    found = re.search(
        rf'<span class="field-error" id="{re.escape(key)}-error">([^<]*)</span>', page
    )
    return markup.unescape(found.group(1)) if found else None


def preview_lines(page: str) -> dict[int, str]:
    """Each preview line by its level number, as the reader sees it."""
    found = re.findall(r'<li data-level="(\d+)">(.*?)</li>', page, re.S)
    return {int(n): markup.unescape(re.sub(r"[ \t\n]+", " ", text)).strip() for n, text in found}


async def signed_in_as(
    browser: httpx.AsyncClient, db: Database, org: Org, role: str = "owner"
) -> str:
    email = await make_user(db, org, role=role)
    assert (await sign_in(browser, email)).status_code == 303
    return email


async def post(
    browser: httpx.AsyncClient,
    org: Org,
    changes: dict[str, str],
    base: dict[str, str] | None = None,
) -> httpx.Response:
    page = await browser.get(program(org))
    data = {**(DEFAULT_FORM if base is None else base), **changes, "csrf": csrf_of(page.text)}
    return await browser.post(program(org), data=data)


async def audit(client: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    response = await client.get("/audit-log", headers=bearer(key))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["data"]
    return entries


async def test_the_page_shows_the_saved_settings_of_the_mode(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await patched(
        client,
        org,
        {
            "discountType": "AMOUNT",
            "discountLevels": levels((2, 3), (4, 7)),
            "maxParticipants": 8,
            "minutesDuration": 1500,
            "minPurchaseValue": 1250,
        },
    )
    await signed_in_as(browser, db, org)
    page = await browser.get(program(org))
    assert page.status_code == 200, page.text
    text = page.text
    assert selected(text, "discount_type") == "AMOUNT"
    assert [value_of(text, f"level-{i}-participants") for i in range(5)] == ["2", "4", "", "", ""]
    assert [value_of(text, f"level-{i}-value") for i in range(5)] == ["3", "7", "", "", ""]
    assert 'id="level-5-value"' not in text
    assert value_of(text, "max_participants") == "8"
    assert value_of(text, "minutes_duration") == "1500"
    assert "Saved: 1 day, 1 hour." in text
    assert value_of(text, "min_purchase") == "12.50"
    assert 'id="timezone"' not in text, "the time zone is live mode's"
    assert "Europe/Paris" in text and "change it in live mode" in text
    assert "Changes apply to new groups only" in text
    assert 'aria-invalid="true"' not in text and 'role="alert"' not in text
    assert preview_lines(text) == {
        1: "2 participants with €50.00 orders: each gets €3.00 back (a fixed amount, at most "
        "the order), €6.00 for the group",
        2: "4 participants with €50.00 orders: each gets €7.00 back (a fixed amount, at most "
        "the order), €28.00 for the group",
    }
    assert "Below the minimum purchase" not in text
    small = await browser.get(program(org), params={"amount": "5"})
    assert preview_lines(small.text)[2].startswith(
        "4 participants with €5.00 orders: each gets €5.00"
    )
    assert "Below the minimum purchase (€12.50): such an order can neither open nor join" in (
        small.text
    )


async def test_a_valid_change_is_saved_and_recorded(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    email = await signed_in_as(browser, db, org)
    live_before = await get(client, org, org.sk_live)
    saved = await post(
        browser,
        org,
        {
            "level-1-participants": "4",
            "level-1-value": "12,5",
            "level-2-participants": "",
            "level-2-value": "",
            "level-3-participants": "6",
            "level-3-value": "20",
            "max_participants": "12",
            "minutes_duration": "45",
            "min_purchase": "19,90",
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{program(org)}?done=saved"
    settings = await get(client, org)
    assert [
        (x["level"], x["participantsToUnlock"], x["value"]) for x in settings["discountLevels"]
    ] == [
        (1, 2, 5.0),
        (2, 4, 12.5),
        (3, 6, 20.0),
    ]
    assert (settings["maxParticipants"], settings["minutesDuration"]) == (12, 45)
    assert settings["minPurchaseValue"] == 1990
    assert await get(client, org, org.sk_live) == live_before

    [entry] = [e for e in await audit(client, org.sk_test) if e["action"] != "user.signed_in"]
    assert entry["action"] == "payment_group_settings.updated"
    assert (entry["actorType"], entry["actorLabel"]) == ("user", email)
    assert entry["targetId"] == settings["id"]
    assert set(entry["changes"]) == {
        "discountLevels",
        "maxParticipants",
        "minutesDuration",
        "minPurchaseValue",
    }
    assert entry["changes"]["minPurchaseValue"] == {"from": 0, "to": 1990}

    shown = await browser.get(saved.headers["location"])
    assert "Settings saved. They apply to the groups opened from now on." in shown.text
    assert value_of(shown.text, "level-1-value") == "12.5"
    assert value_of(shown.text, "min_purchase") == "19.90"
    assert preview_lines(shown.text)[2] == (
        "4 participants with €50.00 orders: each gets €6.25 back (12.5%), €25.00 for the group"
    )

    again = await post(
        browser,
        org,
        {},
        base={
            **DEFAULT_FORM,
            "level-1-participants": "4",
            "level-1-value": "12.50",
            "level-2-participants": "6",
            "level-2-value": "20",
            "max_participants": "12",
            "minutes_duration": "45",
            "min_purchase": "19.9",
        },
    )
    assert again.headers["location"] == f"{program(org)}?done=unchanged"
    assert (await get(client, org))["discountLevels"] == settings["discountLevels"], "same ids"
    assert (
        len([e for e in await audit(client, org.sk_test) if e["action"] != "user.signed_in"]) == 1
    )


async def api_message(client: httpx.AsyncClient, org: Org, body: dict[str, Any]) -> str:
    response = await client.patch(
        f"/organizations/{org.id}/payment-group-settings", json=body, headers=bearer(org.sk_test)
    )
    assert response.status_code == 400, response.text
    message: str = response.json()["error"]["message"]
    return message


INVALID = [
    pytest.param(
        {"level-1-value": "4"},
        "level-1-value",
        "must be greater than the previous level's (5).",
        {"discountLevels": levels((2, 5), (5, 4), (10, 15))},
        id="values-not-increasing",
    ),
    pytest.param(
        {"level-1-participants": "2"},
        "level-1-participants",
        "must be greater than the previous level's (2).",
        {"discountLevels": levels((2, 5), (2, 10), (10, 15))},
        id="participants-not-increasing",
    ),
    pytest.param(
        {"level-0-participants": "3"},
        "level-0-participants",
        "must be 2: level 1 unlocks at 2 participants.",
        {"discountLevels": levels((3, 5), (5, 10), (10, 15))},
        id="first-level-not-at-2",
    ),
    pytest.param(
        {"level-2-value": "150"},
        "level-2-value",
        "must be at most 100 with discountType PERCENTAGE.",
        {"discountLevels": levels((2, 5), (5, 10), (10, 150))},
        id="percentage-over-100",
    ),
    pytest.param(
        {"level-0-value": "2.555"},
        "level-0-value",
        "must have at most 2 decimal places.",
        {"discountLevels": levels((2, "2.555"), (5, 10), (10, 15))},
        id="three-decimals",
    ),
    pytest.param(
        {"discount_type": "AMOUNT", "level-0-value": "5.5", "level-1-value": "10"},
        "level-0-value",
        "must be a whole number of currency units with discountType AMOUNT.",
        {"discountType": "AMOUNT", "discountLevels": levels((2, "5.5"), (5, 10), (10, 15))},
        id="amount-with-cents",
    ),
    pytest.param(
        {
            **{f"level-{i}-participants": str(2 + i) for i in range(6)},
            **{f"level-{i}-value": str(5 + i) for i in range(6)},
        },
        "levels",
        "List should have at most 5 items after validation, not 6",
        {"discountLevels": levels(*[(2 + i, 5 + i) for i in range(6)])},
        id="six-levels",
    ),
    pytest.param(
        {f"level-{i}-{part}": "" for i in range(3) for part in ("participants", "value")},
        "levels",
        "List should have at least 1 item after validation, not 0",
        {"discountLevels": []},
        id="no-level",
    ),
    pytest.param(
        {"level-2-value": ""},
        "level-2-value",
        "Field required",
        {"discountLevels": [*levels((2, 5), (5, 10)), {"participantsToUnlock": 10}]},
        id="half-a-row",
    ),
    pytest.param(
        {"level-1-value": "ten"},
        "level-1-value",
        "Input should be a valid decimal",
        {"discountLevels": levels((2, 5), (5, "ten"), (10, 15))},
        id="value-not-a-number",
    ),
    pytest.param(
        {"level-1-value": "sNaN"},
        "level-1-value",
        "Input should be a finite number",
        {"discountLevels": levels((2, 5), (5, "sNaN"), (10, 15))},
        id="value-signalling-nan",
    ),
    pytest.param(
        {"max_participants": "5"},
        "max_participants",
        "must be at least the last level's participantsToUnlock (10).",
        {"maxParticipants": 5},
        id="capacity-below-last-level",
    ),
    pytest.param(
        {"max_participants": "1001"},
        "max_participants",
        "Input should be less than or equal to 1000",
        {"maxParticipants": 1001},
        id="capacity-too-large",
    ),
    pytest.param(
        {"minutes_duration": "0"},
        "minutes_duration",
        "Input should be greater than or equal to 1",
        {"minutesDuration": 0},
        id="duration-zero",
    ),
    pytest.param(
        {"min_purchase": "-1"},
        "min_purchase",
        "Input should be greater than or equal to 0",
        {"minPurchaseValue": -100},
        id="negative-minimum",
    ),
    pytest.param(
        {"discount_type": "HALF"},
        "discount_type",
        "Input should be 'PERCENTAGE' or 'AMOUNT'",
        {"discountType": "HALF"},
        id="unknown-type",
    ),
]


@pytest.mark.parametrize(("changes", "key", "message", "api_body"), INVALID)
async def test_an_invalid_form_shows_the_apis_message_next_to_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    db: Database,
    org: Org,
    changes: dict[str, str],
    key: str,
    message: str,
    api_body: dict[str, Any],
) -> None:
    assert message.rstrip(".") in await api_message(client, org, api_body)
    await signed_in_as(browser, db, org, role="admin")
    before = await get(client, org)
    refused = await post(browser, org, changes)
    assert refused.status_code == 400, refused.text
    page = refused.text
    assert error_of(page, key) == message
    if key == "levels":
        fieldset = '<fieldset class="levels invalid" aria-describedby="levels-help levels-error">'
        assert fieldset in page
        assert "autofocus" in tag(page, "level-0-participants")
    else:
        field = tag(page, key)
        assert 'aria-invalid="true"' in field and "autofocus" in field
        assert f"{key}-error" in re.search(r'aria-describedby="([^"]*)"', field).group(1)  # type: ignore[union-attr]
    assert page.count('aria-invalid="true"') == (0 if key == "levels" else 1)
    assert 'role="alert"' in page and f": {message}</a>" in markup.unescape(page)
    for name, text in changes.items():
        if name.startswith(("level", "max", "min")):
            assert value_of(page, name) == text, "the value entered is kept"
    assert await get(client, org) == before
    assert [e for e in await audit(client, org.sk_test) if e["action"] != "user.signed_in"] == []


async def test_text_instead_of_numbers_is_refused_by_the_schema(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org)
    before = await get(client, org)
    refused = await post(
        browser,
        org,
        {"level-1-participants": "five", "max_participants": "12a", "min_purchase": "12.345"},
    )
    assert refused.status_code == 400
    assert error_of(refused.text, "level-1-participants") == "Input should be a valid integer"
    assert error_of(refused.text, "max_participants") == "Input should be a valid integer"
    assert error_of(refused.text, "min_purchase") == (
        "Enter an amount in euros, with at most 2 decimals (e.g. 19.90)."
    )
    assert "autofocus" in tag(refused.text, "level-1-participants")
    assert "autofocus" not in tag(refused.text, "max_participants")
    assert value_of(refused.text, "max_participants") == "12a"
    assert await get(client, org) == before


ODD = ["NaN", "inf", "1e999999999", "-0", "0x10", "١٢", " ", "9" * 5000, "1_000", "½"]


async def test_odd_input_is_answered_with_a_page_never_an_error(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org)
    fields = ["level-1-value", "level-1-participants", "max_participants", "min_purchase"]
    for name in [*fields, "minutes_duration", "discount_type", "level-7-value"]:
        for text in ODD:
            answer = await post(browser, org, {name: text})
            assert answer.status_code in (303, 400), (name, text, answer.text)
    for text in ODD:
        answer = await browser.get(program(org), params={"amount": text})
        assert answer.status_code in (200, 400), (text, answer.text)
    assert (await post(browser, org, {}, base={})).status_code == 400


async def test_test_and_live_settings_are_apart_and_the_time_zone_is_live_modes(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org)
    test_before = await get(client, org)
    team = await browser.get(program(org))
    switched = await browser.post(
        f"/dashboard/o/{org.id}/mode",
        data={"csrf": csrf_of(team.text), "mode": "live", "next": program(org)},
    )
    assert switched.status_code == 303
    live = await browser.get(program(org))
    assert value_of(live.text, "minutes_duration") == "129600"
    assert selected(live.text, "timezone") == "Europe/Paris"
    saved = await post(
        browser,
        org,
        {"minutes_duration": "60", "timezone": "America/Montreal"},
        base={**DEFAULT_FORM, "minutes_duration": "129600", "timezone": "Europe/Paris"},
    )
    assert saved.status_code == 303, saved.text
    assert (await get(client, org, org.sk_live))["minutesDuration"] == 60
    assert await get(client, org) == test_before
    me = await client.get("/organizations/me", headers=bearer(org.sk_live))
    assert me.json()["timezone"] == "America/Montreal"
    actions = sorted(e["action"] for e in await audit(client, org.sk_live))
    assert "organization.updated" in actions and "payment_group_settings.updated" in actions
    assert [e for e in await audit(client, org.sk_test) if e["action"] != "user.signed_in"] == []

    refused = await post(
        browser,
        org,
        {"timezone": "Mars/Olympus", "minutes_duration": "30"},
        base={**DEFAULT_FORM, "minutes_duration": "60", "timezone": "America/Montreal"},
    )
    assert refused.status_code == 400
    assert error_of(refused.text, "timezone") == (
        "'Mars/Olympus' is not an IANA timezone name (e.g. Europe/Paris)"
    )
    assert (await get(client, org, org.sk_live))["minutesDuration"] == 60

    await browser.post(
        f"/dashboard/o/{org.id}/mode",
        data={"csrf": csrf_of(live.text), "mode": "test", "next": program(org)},
    )
    ignored = await post(browser, org, {"timezone": "Asia/Tokyo"})
    assert ignored.headers["location"] == f"{program(org)}?done=unchanged"
    assert (await client.get("/organizations/me", headers=bearer(org.sk_live))).json()[
        "timezone"
    ] == "America/Montreal"


async def test_a_viewer_sees_the_settings_without_a_form_and_cannot_post(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await signed_in_as(browser, db, org, role="viewer")
    before = await get(client, org)
    page = await browser.get(program(org))
    assert page.status_code == 200
    assert f'<form method="post" action="{program(org)}"' not in page.text
    assert "<input" not in page.text.split('id="settings-title"')[1].split("</section>")[0]
    assert "2 participants: 5%" in page.text and "10 participants: 15%" in page.text
    assert "Viewers see the settings" in page.text
    assert set(preview_lines(page.text)) == {1, 2, 3}
    refused = await browser.post(
        program(org), data={**DEFAULT_FORM, "max_participants": "20", "csrf": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    assert await get(client, org) == before


async def test_another_organizations_program_is_not_found(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org, other_org: Org
) -> None:
    await signed_in_as(browser, db, org)
    mine = await browser.get(program(org))
    assert (await browser.get(program(other_org))).status_code == 404
    before = await get(client, other_org)
    posted = await browser.post(
        program(other_org),
        data={**DEFAULT_FORM, "max_participants": "20", "csrf": csrf_of(mine.text)},
    )
    assert posted.status_code == 404
    assert await get(client, other_org) == before


async def test_the_preview_is_what_completed_groups_pay(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await patched(client, org, {"discountLevels": levels((2, "7.5"), (3, "12.35"))})
    paid = {}
    for size in (2, 3):
        group = await new_group(client, org.sk_test, amount=3333)
        for _ in range(size - 1):
            await join(client, org.sk_test, group["shareId"], amount=3333)
        advanced = await client.post(
            f"/test-helpers/groups/{group['id']}/advance",
            json={"seconds": 11 * 60},
            headers=bearer(org.sk_test),
        )
        assert advanced.status_code == 200, advanced.text
        await Worker(db=db).sweep()
        assert (await fetch(client, org.sk_test, group["id"]))["status"] == "COMPLETED"
        orders = await client.get(
            "/orders",
            params={"search": f"paymentGroupId:{group['id']}"},
            headers=bearer(org.sk_test),
        )
        amounts = {order["amountCashback"] for order in orders.json()["data"]}
        assert len(orders.json()["data"]) == size
        [paid[size]] = amounts
    assert paid == {2: 250, 3: 412}, "7.5 % and 12.35 % of 33.33 €, rounded half up"

    await signed_in_as(browser, db, org, role="viewer")
    page = await browser.get(program(org), params={"amount": "33,33"})
    assert page.status_code == 200
    assert preview_lines(page.text) == {
        1: "2 participants with €33.33 orders: each gets €2.50 back (7.5%), €5.00 for the group",
        2: "3 participants with €33.33 orders: each gets €4.12 back (12.35%), €12.36 for the group",
    }
    bad = await browser.get(program(org), params={"amount": "lots"})
    assert bad.status_code == 400
    assert error_of(bad.text, "amount") == (
        "Enter an amount in euros greater than 0, with at most 2 decimals."
    )
    assert preview_lines(bad.text)[1].startswith("2 participants with €50.00 orders")


async def test_the_page_speaks_french(browser: httpx.AsyncClient, db: Database, org: Org) -> None:
    await signed_in_as(browser, db, org, role="admin")
    browser.headers["Accept-Language"] = "fr-FR"
    page = await browser.get(program(org))
    assert page.status_code == 200
    assert "Niveaux de cashback et règles" in page.text
    assert "<legend>Niveaux (5 au plus)</legend>" in page.text
    assert preview_lines(page.text)[1] == (
        "2 participants avec des commandes de 50,00\xa0€ : chacun reçoit 2,50\xa0€ (5\xa0%), "
        "5,00\xa0€ pour le groupe"
    )
    refused = await post(browser, org, {"min_purchase": "abc"})
    assert error_of(refused.text, "min_purchase") == (
        "Saisissez un montant en euros, avec 2 décimales au plus (par ex. 19,90)."
    )

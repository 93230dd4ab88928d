"""The withdrawal page through the real app: what a link shows, a submit that starts the one
SEPA payout, inline errors, CSRF, and a clear page (never a 500) for every link that cannot
be used."""

from datetime import timedelta

import httpx
import pytest
import time_machine

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.payout.service import mark_paid, start_payout
from tests.factories import Org, bearer
from tests.withdrawal.flow import (
    OTHER_IBAN,
    TEST_IBANS,
    VALID_IBAN,
    complete_pair,
    csrf_of,
    events_of,
    link,
    opened_form,
    order_of,
    payouts_of,
    submit,
)

AMOUNTS = {"fr_FR": "1,23\xa0€", "en_US": "€1.23", "de_DE": "1,23\xa0€", "nl_NL": "€\xa01,23"}
TITLES = {
    "fr_FR": "Retirer votre cashback",
    "en_US": "Withdraw your cashback",
    "de_DE": "Cashback auszahlen lassen",
    "nl_NL": "Je cashback opnemen",
}


@pytest.mark.parametrize("locale", sorted(AMOUNTS))
async def test_the_link_shows_the_shop_the_amount_and_the_form_in_the_shoppers_language(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, locale: str
) -> None:
    creator, _ = await complete_pair(client, org, amounts=(1_234, 1_000), locale=locale)
    response = await client.get(await link(db, settings, creator["id"]))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert f'<html lang="{locale.replace("_", "-")}">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "Test Shop" in html
    assert AMOUNTS[locale] in html
    assert TITLES[locale] in html
    assert '<label for="holder">' in html and '<label for="iban">' in html
    assert 'aria-invalid="true"' not in html
    assert 'class="test-mode"' not in html
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/w/" in cookie
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_a_valid_account_starts_the_orders_sepa_payout_once(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    creator, joiner = await complete_pair(client, org)
    url = await link(db, settings, creator["id"])
    csrf = await opened_form(client, url)

    response = await submit(client, url, csrf, holder="  Ada   Lovelace ", iban=VALID_IBAN)

    assert response.status_code == 200, response.text
    assert "Votre cashback est en route" in response.text
    assert "FR76 **** **** **** **** **** 189" in response.text
    [payout] = await payouts_of(client, org.sk_live, creator["id"])
    assert payout["method"] == "sepa_transfer"
    assert payout["status"] == "pending"
    assert payout["amount"] == creator["amountCashback"] == 1_234
    assert payout["accountHolderName"] == "Ada Lovelace"
    assert payout["ibanMasked"] == "FR76 **** **** **** **** **** 189"
    assert (await order_of(client, org.sk_live, creator["id"]))["status"] == "CASHBACK_PROCESSING"
    assert (await order_of(client, org.sk_live, joiner["id"]))["status"] == "CASHBACK_AVAILABLE"
    events = await events_of(client, org.sk_live, "order.cashback_processing", creator["id"])
    assert len(events) == 1

    again = await submit(client, url, csrf, holder="Mallory", iban=OTHER_IBAN)
    assert again.status_code == 410
    assert "Ce lien a déjà été utilisé" in again.text
    reopened = await client.get(url)
    assert reopened.status_code == 410
    assert "Ce lien a déjà été utilisé" in reopened.text
    assert len(await payouts_of(client, org.sk_live, creator["id"])) == 1


@pytest.mark.parametrize(
    ("holder", "iban", "field", "message"),
    [
        ("Ada Lovelace", "FR76 3000 6000 0112 3456 7890 188", "iban", "This IBAN is not valid"),
        ("Ada Lovelace", "not an iban", "iban", "This IBAN is not valid"),
        ("Ada Lovelace", "", "iban", "Enter your IBAN."),
        ("Ada Lovelace", "BR1800360305000010009795493C1", "iban", "outside the SEPA area"),
        ("", VALID_IBAN, "holder", "Enter the name of the account holder."),
        ("A" * 71, VALID_IBAN, "holder", "70 characters or fewer"),
    ],
)
async def test_a_bad_field_shows_the_form_again_with_its_error_next_to_it(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    org: Org,
    holder: str,
    iban: str,
    field: str,
    message: str,
) -> None:
    creator, _ = await complete_pair(client, org, locale="en_US")
    url = await link(db, settings, creator["id"])
    csrf = await opened_form(client, url)

    response = await submit(client, url, csrf, holder=holder, iban=iban)

    assert response.status_code == 400
    html = response.text
    assert f'<p class="error" id="{field}-error">' in html and message in html
    tag = html[html.index(f'id="{field}" ') : html.index(">", html.index(f'id="{field}" '))]
    assert 'aria-invalid="true"' in tag and f"{field}-error" in tag and "autofocus" in tag
    assert html.count("autofocus") == 1
    assert f'value="{holder}"' in html and f'value="{iban}"' in html
    assert await payouts_of(client, org.sk_live, creator["id"]) == []
    retry = await submit(client, url, csrf_of(html), holder="Ada Lovelace", iban=VALID_IBAN)
    assert retry.status_code == 200, retry.text


async def test_the_first_invalid_field_takes_the_focus(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    creator, _ = await complete_pair(client, org, locale="en_US")
    url = await link(db, settings, creator["id"])
    response = await submit(client, url, await opened_form(client, url), holder="", iban="x")
    html = response.text
    assert response.status_code == 400
    assert 'aria-invalid="true"' in html.split('id="iban"')[1].split(">")[0]
    holder_tag = html.split('id="holder"')[1].split(">")[0]
    assert "autofocus" in holder_tag and "autofocus" not in html.split('id="iban"')[1].split(">")[0]


@pytest.mark.parametrize("forgery", ["no cookie", "no field", "wrong field", "other order"])
async def test_a_submit_without_the_pages_csrf_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, forgery: str
) -> None:
    creator, joiner = await complete_pair(client, org, locale="en_US")
    url = await link(db, settings, creator["id"])
    csrf = await opened_form(client, url)
    other = await opened_form(client, await link(db, settings, joiner["id"]))
    fields = {"csrf": csrf, "holder": "Ada Lovelace", "iban": VALID_IBAN}
    if forgery == "no cookie":
        client.cookies.clear()
    elif forgery == "no field":
        del fields["csrf"]
    elif forgery == "wrong field":
        fields["csrf"] = csrf[:-2] + "xx"
    else:
        fields["csrf"] = other

    response = await client.post(url, data=fields)

    assert response.status_code == 403
    assert "Please send the form again" in response.text
    assert await payouts_of(client, org.sk_live, creator["id"]) == []
    assert (await order_of(client, org.sk_live, creator["id"]))["status"] == "CASHBACK_AVAILABLE"
    assert (await client.get(url)).status_code == 200


async def test_a_body_that_is_not_the_form_gets_a_page_not_an_error(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    creator, _ = await complete_pair(client, org)
    url = await link(db, settings, creator["id"])
    await opened_form(client, url)
    as_json = await client.post(url, json={"iban": VALID_IBAN})
    huge = await client.post(url, data={"holder": "A" * 10_000})
    for response in (as_json, huge):
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")
        assert "Merci de renvoyer le formulaire" in response.text
        assert "Ouvrir de nouveau la page" in response.text


async def test_unknown_order_and_wrong_token_show_an_invalid_link_page(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    creator, _ = await complete_pair(client, org)
    url = await link(db, settings, creator["id"])
    headers = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}

    unknown = await client.get("/w/ord_00000000000000?token=abc", headers=headers)
    wrong = await client.get(url[:-3] + "xyz")
    missing = await client.get(f"/w/{creator['id']}")
    posted = await client.post("/w/ord_00000000000000?token=abc", data={"iban": VALID_IBAN})

    assert unknown.status_code == 404
    assert "Dieser Link ist ungültig" in unknown.text and 'lang="de-DE"' in unknown.text
    for response in (wrong, missing):
        assert response.status_code == 400
        assert "Ce lien n'est pas valide" in response.text
        assert "Test Shop" not in response.text
    assert posted.status_code == 403


async def test_an_expired_link_shows_an_expired_page(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    creator, _ = await complete_pair(client, org)
    url = await link(db, settings, creator["id"])
    csrf = await opened_form(client, url)
    later = clock.now() + timedelta(days=settings.withdrawal_token_days, seconds=1)

    with time_machine.travel(later, tick=False):
        opened = await client.get(url)
        submitted = await submit(client, url, csrf, holder="Ada Lovelace", iban=VALID_IBAN)

    for response in (opened, submitted):
        assert response.status_code == 410
        assert "Ce lien a expiré" in response.text
    assert await payouts_of(client, org.sk_live, creator["id"]) == []


async def test_an_order_already_paying_or_paid_shows_so(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    creator, _ = await complete_pair(client, org, locale="en_US")
    url = await link(db, settings, creator["id"])
    csrf = await opened_form(client, url)
    async with db.write() as session:
        payout = await start_payout(
            session,
            order_id=creator["id"],
            method="sepa_transfer",
            now=clock.now(),
            iban=VALID_IBAN,
            account_holder_name="Ada",
            settings=settings,
        )
    assert payout is not None

    paying = await client.get(url)
    submitted = await submit(client, url, csrf, holder="Ada Lovelace", iban=OTHER_IBAN)
    async with db.write() as session:
        assert await mark_paid(session, payout_id=payout.id, now=clock.now())
    paid = await client.get(url)

    for response in (paying, submitted):
        assert response.status_code == 409
        assert "Your cashback is on its way" in response.text
    assert paid.status_code == 409
    assert "Your cashback has been sent" in paid.text
    assert len(await payouts_of(client, org.sk_live, creator["id"])) == 1


@pytest.mark.parametrize("iban", TEST_IBANS)
async def test_a_test_mode_link_opens_the_form_and_takes_a_test_iban(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org, iban: str
) -> None:
    """Test mode rehearses live mode's SEPA flow: the same form, any valid SEPA-zone IBAN (the
    test IBANs of docs/api.md), a `sepa_transfer` payout waiting for its batch."""
    creator, _ = await complete_pair(client, org, key=org.sk_test, locale="en_US")
    url = await link(db, settings, creator["id"])
    opened = await client.get(url)
    assert opened.status_code == 200, opened.text
    assert "Withdraw your cashback" in opened.text and "<form" in opened.text
    assert '<p class="test-mode">Test mode: no money is moved.</p>' in opened.text
    assert "has been sent" not in opened.text

    response = await submit(client, url, csrf_of(opened.text), holder="Ada Lovelace", iban=iban)

    assert response.status_code == 200, response.text
    assert "Your cashback is on its way" in response.text
    assert '<p class="test-mode">Test mode: no money is moved.</p>' in response.text
    [payout] = await payouts_of(client, org.sk_test, creator["id"])
    assert payout["livemode"] is False and payout["method"] == "sepa_transfer"
    assert payout["status"] == "pending" and payout["batchId"] is None
    assert payout["ibanMasked"][:4] == iban[:4] and payout["ibanMasked"][-2:] == iban[-2:]
    assert (await order_of(client, org.sk_test, creator["id"]))["status"] == "CASHBACK_PROCESSING"
    assert await payouts_of(client, org.sk_live, creator["id"]) == []


async def test_a_canceled_order_shows_that_no_cashback_is_due(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    creator, _ = await complete_pair(client, org, locale="en_US")
    url = await link(db, settings, creator["id"])
    csrf = await opened_form(client, url)
    canceled = await client.post(f"/orders/{creator['id']}/cancel", headers=bearer(org.sk_live))
    assert canceled.status_code == 200, canceled.text

    opened = await client.get(url)
    submitted = await submit(client, url, csrf, holder="Ada Lovelace", iban=VALID_IBAN)

    for response in (opened, submitted):
        assert response.status_code == 410
        assert "This cashback was canceled" in response.text
    assert await payouts_of(client, org.sk_live, creator["id"]) == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/w/a/b", 404),
        ("POST", "/w/a/b", 404),
        ("GET", "/w/", 404),
        ("PUT", "/w/ord_0123456789abcd", 405),
        ("DELETE", "/w/ord_0123456789abcd", 405),
        ("POST", "/r/KHT-test-00000000", 405),
        ("PUT", "/r/a/b", 405),
    ],
)
async def test_every_answer_under_the_shoppers_paths_is_a_page(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, headers={"Accept-Language": "en-US"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.text.lstrip().lower().startswith("<!doctype html>")
    assert '"error"' not in response.text
    if status == 405:
        assert "GET" in response.headers["allow"]

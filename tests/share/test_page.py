"""The share page `GET /r/{code}`: the group of a share code, public, in the browser's
language, without any member's personal data; unknown or odd codes get a 404 page."""

import re
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po

from kohort.db import Database
from kohort.email.rendering import LOCALES
from kohort.share.rendering import LOCALE_DIR, choose
from kohort.worker import Worker
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import join, new_group
from tests.withdrawal.test_rendering import PLACEHOLDER


async def page(client: httpx.AsyncClient, code: str, language: str = "en-US") -> httpx.Response:
    return await client.get(f"/r/{code}", headers={"Accept-Language": language})


async def advance(client: httpx.AsyncClient, org: Org, group: dict[str, Any]) -> None:
    response = await client.post(
        f"/test-helpers/groups/{group['id']}/advance",
        json={"to": group["expiresAt"]},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 200, response.text


async def test_the_page_shows_the_group_without_a_key_and_without_personal_data(
    client: httpx.AsyncClient, org: Org
) -> None:
    await client.patch(
        f"/organizations/{org.id}",
        json={"name": "Chez Léa", "websiteUrl": "https://chez-lea.example.com/shop"},
        headers=bearer(org.sk_live),
    )
    await patched(client, org, {"maxParticipants": 10, "discountLevels": levels((2, 5), (4, 10))})
    creator_email = "creator-share@example.com"
    group = await new_group(
        client, org.sk_test, customerEmail=creator_email, customerFirstName="Zebulon"
    )
    joiner = await join(client, org.sk_test, group["shareId"], customerLastName="Quintavalle")

    response = await page(client, group["shareId"].lower())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert '<html lang="en-US">' in html
    assert f'value="{group["shareId"]}" readonly' in html
    assert "Chez Léa" in html
    assert 'href="https://chez-lea.example.com/shop"' in html
    assert "Open" in html and "2 participants (up to 10)" in html
    assert "2 participants: 5% back" in html and "4 participants: 10% back" in html
    assert html.count('class="reached"') == 1
    assert "2 more friends unlock 10% back." in html
    assert "Time left" in html
    for secret in (creator_email, joiner["customerEmail"], "Quintavalle", "Ada"):
        assert secret not in html
    assert group["id"] not in html
    # The creator's first name is not on the member's page, only in what invites a friend on
    # their behalf (the link preview, the share sheet's title, the e-mail's subject).
    assert "Zebulon" not in re.sub(r"<[^>]*>", " ", html.split("</head>", 1)[1])
    assert '<meta property="og:title" content="Zebulon invited you to Chez Léa">' in html


async def test_the_sender_name_is_the_shops_name(client: httpx.AsyncClient, org: Org) -> None:
    await client.patch(
        f"/organizations/{org.id}",
        json={"fromEmailName": "Léa from the shop"},
        headers=bearer(org.sk_live),
    )
    group = await new_group(client, org.sk_test)
    html = (await page(client, group["shareId"])).text
    assert "Léa from the shop" in html


@pytest.mark.parametrize(
    ("language", "lang", "words", "money"),
    [
        ("fr-FR,fr;q=0.9", "fr-FR", "Paliers de cashback", "1\u202f500,00\u00a0€"),
        ("en-US", "en-US", "Cashback levels", "€1,500.00"),
        ("de", "de-DE", "Cashback-Stufen", "1.500,00\u00a0€"),
    ],
)
async def test_the_language_follows_accept_language(
    client: httpx.AsyncClient, org: Org, language: str, lang: str, words: str, money: str
) -> None:
    await patched(client, org, {"discountType": "AMOUNT", "discountLevels": levels((2, 1500))})
    group = await new_group(client, org.sk_test, locale="it_IT")
    html = (await page(client, group["shareId"], language)).text
    assert f'<html lang="{lang}">' in html
    assert words in html and money in html


async def test_without_a_known_language_the_page_speaks_the_creators(
    client: httpx.AsyncClient, org: Org
) -> None:
    group = await new_group(client, org.sk_test, locale="nl_NL")
    html = (await page(client, group["shareId"], "ja")).text
    assert '<html lang="nl-NL">' in html and "Deelcode" in html


async def test_a_completed_group_shows_its_state(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    await patched(client, org, {"maxParticipants": 5, "discountLevels": levels((2, 10))})
    group = await new_group(client, org.sk_test)
    await join(client, org.sk_test, group["shareId"])
    await advance(client, org, group)
    await Worker(db=db, batch_size=10_000).sweep()
    html = (await page(client, group["shareId"])).text
    assert "Completed" in html and "Closed on" in html
    assert "This group is closed" in html and "Time left" not in html
    assert 'class="reached"' in html


async def test_an_expired_group_shows_its_state_in_french(
    client: httpx.AsyncClient, db: Database, org: Org
) -> None:
    group = await new_group(client, org.sk_test)
    await advance(client, org, group)
    await Worker(db=db, batch_size=10_000).sweep()
    html = (await page(client, group["shareId"], "fr")).text
    assert "Expiré" in html and "Terminé le" in html
    assert "1 participant (" in html


@pytest.mark.parametrize(
    "code",
    ["KHT-00000000", "kht-test-ffffffff", "%00", "x" * 5000, "a%2Fb", "%C3%A9", "a/b/c", "%20", ""],
)
async def test_an_unknown_or_odd_code_is_a_404_page(client: httpx.AsyncClient, code: str) -> None:
    response = await page(client, code, "fr")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Code introuvable" in response.text and '<html lang="fr-FR">' in response.text


async def test_the_page_is_not_in_the_api_document(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert not any(path.startswith("/r/") for path in spec["paths"])


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_translates_every_message(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    with (LOCALE_DIR / "messages.pot").open("rb") as pot:
        wanted = {message.id for message in read_po(pot) if message.id}
    assert {message.id for message in catalog if message.id} == wanted
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{locale}: untranslated {message.id!r}"
        assert not message.fuzzy
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for string in strings:
            assert set(PLACEHOLDER.findall(str(string))) == set(PLACEHOLDER.findall(ids[-1]))


@pytest.mark.parametrize(
    ("header", "fallback", "locale"),
    [
        ("de-DE,de;q=0.9", "fr_FR", "de_DE"),
        ("en-GB", None, "en_GB"),
        ("ja", "es_ES", "es_ES"),
        ("", "xx_XX", "fr_FR"),
        (None, None, "fr_FR"),
    ],
)
def test_the_language_is_the_browsers_else_the_creators(
    header: str | None, fallback: str | None, locale: str
) -> None:
    assert choose(header, fallback) == locale


@pytest.mark.parametrize(
    ("timezone", "language", "zone_written"),
    [
        ("America/New_York", "en-US", r"[AP]M (EST|EDT)"),
        ("Europe/Berlin", "de-DE", r"\d{2}:\d{2} (MEZ|MESZ)"),
        ("Asia/Tokyo", "fr-FR", r"\d{2}:\d{2} UTC\+09:00"),
    ],
)
async def test_the_closing_time_carries_the_shops_time_zone(
    client: httpx.AsyncClient, org: Org, timezone: str, language: str, zone_written: str
) -> None:
    response = await client.patch(
        f"/organizations/{org.id}", json={"timezone": timezone}, headers=bearer(org.sk_live)
    )
    assert response.status_code == 200, response.text
    group = await new_group(client, org.sk_test)
    html = (await page(client, group["shareId"], language)).text
    assert re.search(zone_written, html.replace("\u202f", " ").replace("\xa0", " ")), html

"""What the share page gives to share: the invited friend's view (`?invite=1`), the share
actions with their message and link, Open Graph tags, the brand's look, in several languages;
and the counts of views and share actions (`POST /share-events`)."""

import re
import secrets
from collections.abc import AsyncIterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from kohort.db import Database
from kohort.share import repository
from kohort.worker import Worker
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import join, new_group
from tests.shapes import assert_error

BASE = "http://127.0.0.1:8000"


@pytest.fixture
async def visitor(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client from its own address (the share counts are capped per address)."""
    address = f"10.9.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://kohort.test") as client:
        yield client


async def shop(client: httpx.AsyncClient, org: Org, **brand: Any) -> dict[str, Any]:
    """A branded shop with levels 2 → 5 %, 4 → 15 %, and an open group of two members whose
    creator is Ana Maria Lopez."""
    body = {"displayName": "Maison Léa", "websiteUrl": "https://maison-lea.example/shop", **brand}
    response = await client.patch(
        f"/organizations/{org.id}/brand", json=body, headers=bearer(org.sk_live)
    )
    assert response.status_code == 200, response.text
    await patched(client, org, {"maxParticipants": 10, "discountLevels": levels((2, 5), (4, 15))})
    group = await new_group(
        client, org.sk_test, customerFirstName="Ana Maria", customerLastName="Lopez"
    )
    await join(client, org.sk_test, group["shareId"])
    return group


def metas(html: str) -> dict[str, str]:
    found = re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', html)
    return {name: unescape(content) for name, content in found}


def hrefs(html: str) -> dict[str, str]:
    found = re.findall(r'data-channel="(\w+)" href="([^"]+)"', html)
    return {channel: unescape(href) for channel, href in found}


async def test_the_invited_friend_sees_who_invited_them_and_how_to_buy(
    client: httpx.AsyncClient, org: Org
) -> None:
    group = await shop(client, org)
    code = group["shareId"]
    response = await client.get(f"/r/{code}?invite=1", headers={"Accept-Language": "en-US"})
    assert response.status_code == 200, response.text
    html = response.text
    assert "<h1>Ana invited you to Maison Léa</h1>" in html
    assert f"Order with the code {code} at maison-lea.example and get up to 15% back." in html
    assert 'class="button" href="https://maison-lea.example/shop"' in html
    assert "Go to maison-lea.example" in html
    assert f'value="{code}" readonly' in html
    for private in ("Lopez", "Maria", "@example.com", group["id"]):
        assert private not in html
    # The member's share actions are not the friend's.
    assert 'data-channel="whatsapp"' not in html


async def test_the_share_actions_carry_the_message_with_the_code_and_invite_link(
    client: httpx.AsyncClient, org: Org
) -> None:
    group = await shop(client, org)
    code = group["shareId"]
    html = (await client.get(f"/r/{code}", headers={"Accept-Language": "en-US"})).text
    invite = f"{BASE}/r/{code}?invite=1"
    message = (
        f"Join my group at Maison Léa: order with the code {code} and get up to 15% back. {invite}"
    )
    links = hrefs(html)
    assert set(links) == {"whatsapp", "sms", "email", "telegram"}
    assert parse_qs(urlsplit(links["whatsapp"]).query)["text"] == [message]
    assert links["whatsapp"].startswith("https://wa.me/?text=")
    assert unquote(links["sms"].removeprefix("sms:?&body=")) == message
    mail = parse_qs(urlsplit(links["email"]).query)
    assert mail == {"subject": ["Ana invited you to Maison Léa"], "body": [message]}
    telegram = parse_qs(urlsplit(links["telegram"]).query)
    assert telegram["url"] == [invite]
    assert invite not in telegram["text"][0] and code in telegram["text"][0]
    assert f'data-copy="{invite}"' in html and f'value="{invite}" readonly' in html
    assert '<svg role="img" class="qr"' in html
    assert "<title>QR code of the invite link</title>" in html
    assert '<script src="/share.js" defer></script>' in html


async def test_the_shops_own_message_is_used_in_its_language_only(
    client: httpx.AsyncClient, org: Org
) -> None:
    own = "Mon code {code} chez {shop}, jusqu'à {best} : {link}"
    group = await shop(client, org, shareMessages={"fr": own})
    code = group["shareId"]
    french = await client.get(f"/r/{code}", headers={"Accept-Language": "fr-FR"})
    invite = f"{BASE}/r/{code}?invite=1"
    expected = f"Mon code {code} chez Maison Léa, jusqu'à 15\xa0% : {invite}"
    assert parse_qs(urlsplit(hrefs(french.text)["whatsapp"]).query)["text"] == [expected]
    german = await client.get(f"/r/{code}", headers={"Accept-Language": "de-DE"})
    text = parse_qs(urlsplit(hrefs(german.text)["whatsapp"]).query)["text"][0]
    assert text == (
        f"Mach mit in meiner Gruppe bei Maison Léa: Bestell mit dem Code {code} und bekomm bis "
        f"zu 15\xa0% zurück. {invite}"
    )


@pytest.mark.parametrize(
    ("language", "member", "invite"),
    [
        ("fr-FR", "Partagez votre code", "Ana vous invite chez Maison Léa"),
        ("de-DE", "Teile deinen Code", "Ana lädt dich zu Maison Léa ein"),
        ("es-ES", "Comparte tu código", "Ana te invita a Maison Léa"),
    ],
)
async def test_both_views_speak_the_browsers_language(
    client: httpx.AsyncClient, org: Org, language: str, member: str, invite: str
) -> None:
    code = (await shop(client, org))["shareId"]
    headers = {"Accept-Language": language}
    assert member in (await client.get(f"/r/{code}", headers=headers)).text
    friend = (await client.get(f"/r/{code}?invite=1", headers=headers)).text
    assert f"<h1>{invite}</h1>" in friend
    assert metas(friend)["og:title"] == invite


async def test_the_link_previews_well_with_the_brands_picture(
    client: httpx.AsyncClient, org: Org
) -> None:
    group = await shop(
        client,
        org,
        logoUrl="https://cdn.maison-lea.example/logo.png",
        socialImageUrl="https://cdn.maison-lea.example/share.jpg",
    )
    code = group["shareId"]
    for path in (f"/r/{code}", f"/r/{code}?invite=1"):
        tags = metas((await client.get(path, headers={"Accept-Language": "en-US"})).text)
        assert tags == {
            "robots": "noindex, nofollow",
            "viewport": "width=device-width, initial-scale=1",
            "og:type": "website",
            "og:site_name": "Maison Léa",
            "og:title": "Ana invited you to Maison Léa",
            "og:description": f"Order with the code {code} and get up to 15% back.",
            "og:url": f"{BASE}/r/{code}?invite=1",
            "og:image": "https://cdn.maison-lea.example/share.jpg",
            "twitter:card": "summary_large_image",
            "description": f"Order with the code {code} and get up to 15% back.",
        }
    await client.patch(
        f"/organizations/{org.id}/brand",
        json={"socialImageUrl": None},
        headers=bearer(org.sk_live),
    )
    tags = metas((await client.get(f"/r/{code}")).text)
    assert tags["og:image"] == "https://cdn.maison-lea.example/logo.png"
    assert tags["twitter:card"] == "summary"


async def test_the_page_wears_the_brands_colours(client: httpx.AsyncClient, org: Org) -> None:
    group = await shop(client, org, brandColor="#FFD700")
    html = (await client.get(f"/r/{group['shareId']}")).text
    brand = (await client.get(f"/organizations/{org.id}/brand", headers=bearer(org.sk_test))).json()
    assert f":root{{--brand:#FFD700;--on-brand:#000000;--accent:{brand['accentColor']}}}" in html
    assert "<span>Maison Léa</span>" in html


async def test_a_closed_groups_invite_promises_nothing(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group = await shop(client, org)
    response = await client.post(
        f"/test-helpers/groups/{group['id']}/advance",
        json={"to": group["expiresAt"]},
        headers=bearer(org.sk_test),
    )
    assert response.status_code == 200, response.text
    await Worker(db=db, batch_size=10_000).sweep()
    headers = {"Accept-Language": "en-US"}
    html = (await client.get(f"/r/{group['shareId']}?invite=1", headers=headers)).text
    assert "This group has ended: its code no longer gives cashback." in html
    assert "get up to" not in html.split("</head>")[1]


async def test_views_and_share_actions_are_counted_per_group(
    visitor: httpx.AsyncClient, client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group = await shop(client, org)
    code = group["shareId"]
    await visitor.get(f"/r/{code}")
    await visitor.get(f"/r/{code}?invite=1")
    await visitor.get(f"/r/{code}?invite=1")
    # A messaging app fetching the link for its preview is not a view.
    await visitor.get(f"/r/{code}?invite=1", headers={"User-Agent": "WhatsApp/2.23.20.0 A"})
    for channel in ("whatsapp", "whatsapp", "copy"):
        answer = await visitor.post(
            "/share-events", json={"code": code.lower(), "channel": channel, "view": "member"}
        )
        assert answer.status_code == 204, answer.text
    async with db.read() as session:
        counts = await repository.group_counts(session, group["id"])
    assert counts == {"shown:member": 1, "shown:invite": 2, "whatsapp": 2, "copy": 1}
    analytics = await client.get("/analytics?period=7d", headers=bearer(org.sk_test))
    assert analytics.json()["shares"] == {
        "shown": {"value": 3, "previous": 0, "change": None},
        "shared": {"value": 3, "previous": 0, "change": None},
        "byChannel": {
            "whatsapp": 2,
            "sms": 0,
            "email": 0,
            "telegram": 0,
            "copy": 1,
            "native": 0,
        },
    }
    live = await client.get("/analytics?period=7d", headers=bearer(org.sk_live))
    assert live.json()["shares"]["shown"]["value"] == 0


async def test_bad_share_events_are_refused_and_count_nothing(
    visitor: httpx.AsyncClient, client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group = await shop(client, org)
    code = group["shareId"]
    bad = [
        (b"not json", "VALIDATION_ERROR", None),
        (b"[1, 2]", "VALIDATION_ERROR", None),
        (b'{"code": "KHT-<x>", "channel": "copy", "view": "member"}', "VALIDATION_ERROR", "code"),
        (
            f'{{"code": "{code}", "channel": "fax", "view": "member"}}'.encode(),
            "VALIDATION_ERROR",
            "channel",
        ),
        (
            f'{{"code": "{code}", "channel": "sms", "view": "x"}}'.encode(),
            "VALIDATION_ERROR",
            "view",
        ),
        (b'{"code": "' + b"A" * 2000 + b'"}', "VALIDATION_ERROR", None),
    ]
    for body, code_name, param in bad:
        response = await visitor.post("/share-events", content=body)
        if param is None:
            assert_error(response, 400, code_name)
        else:
            assert_error(response, 400, code_name, param=param)
    unknown = await visitor.post(
        "/share-events", json={"code": "KHT-00000000", "channel": "sms", "view": "member"}
    )
    assert_error(unknown, 404, "NOT_FOUND", param="code")
    async with db.read() as session:
        assert await repository.group_counts(session, group["id"]) == {}


async def test_an_address_over_its_limit_counts_no_more(
    visitor: httpx.AsyncClient, client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group = await shop(client, org)
    event = {"code": group["shareId"], "channel": "sms", "view": "invite"}
    for _ in range(70):
        assert (await visitor.post("/share-events", json=event)).status_code == 204
    async with db.read() as session:
        assert await repository.group_counts(session, group["id"]) == {"sms": 60}

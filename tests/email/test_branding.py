"""Shoppers' e-mails wear the shop's brand (its logo and colour, the text colour derived) and
carry the share actions as buttons, with the share page's message and invite link."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.email import jobs
from kohort.email.rendering import render
from kohort.organization import repository as organizations
from tests.email.mail import outbox, plan
from tests.factories import Org, bearer
from tests.group_settings.api import levels, patched
from tests.order.api import new_group


async def new_group_html(db: Database, settings: Settings, org: Org) -> str:
    """The NEW_GROUP message of the organization's latest group, rendered as the sender does."""
    await plan(db)
    message = [m for m in await outbox(db, org.id) if m.kind == "NEW_GROUP"][-1]
    async with db.read() as session:
        shop = await organizations.get_by_id(session, org.id)
    assert shop is not None
    context = jobs.shopper_context(
        settings,
        data=message.data,
        shop=shop,
        locale=message.locale,
        livemode=False,
        now=clock.now(),
    )
    return render(message.kind, message.locale, context).html


async def test_a_branded_shops_new_group_email_has_its_look_and_share_buttons(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    brand = {
        "displayName": "Maison Léa",
        "brandColor": "#FFD700",
        "logoUrl": "https://cdn.maison-lea.example/logo.png",
        "shareMessages": {"en": "Use {code} at {shop} for up to {best} back: {link}"},
    }
    response = await client.patch(
        f"/organizations/{org.id}/brand", json=brand, headers=bearer(org.sk_live)
    )
    assert response.status_code == 200, response.text
    await patched(client, org, {"discountLevels": levels((2, 5), (3, 12.5))})
    group = await new_group(client, org.sk_test, locale="en_US")
    html = await new_group_html(db, settings, org)
    code = group["shareId"]
    assert "background:#FFD700;color:#000000" in html
    assert '<img src="https://cdn.maison-lea.example/logo.png"' in html
    assert ">Maison Léa</span>" in html
    hrefs = dict(re.findall(r'<a href="([^"]+)"[^>]*>(WhatsApp|SMS|E-mail|Telegram)</a>', html))
    by_label = {label: unescape(href) for href, label in hrefs.items()}
    assert set(by_label) == {"WhatsApp", "SMS", "E-mail", "Telegram"}
    invite = f"{settings.base_url}/r/{code}?invite=1"
    message = f"Use {code} at Maison Léa for up to 12.5% back: {invite}"
    assert parse_qs(urlsplit(by_label["WhatsApp"]).query)["text"] == [message]
    assert parse_qs(urlsplit(by_label["E-mail"]).query)["subject"] == [
        "You are invited to Maison Léa"
    ]


async def test_without_a_brand_the_email_keeps_kohorts_look(
    client: httpx.AsyncClient, db: Database, settings: Settings, org: Org
) -> None:
    group = await new_group(client, org.sk_test, locale="fr_FR")
    html = await new_group_html(db, settings, org)
    assert "background:#1F5F3A;color:#FFFFFF" in html
    assert "<img" not in html
    assert "Partagez-le en un geste :" in html
    assert group["shareId"] in html

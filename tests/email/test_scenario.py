"""The whole life of three groups, in two languages: a real SMTP server receives exactly the
expected messages, each with a text and an HTML part and links that work."""

import re
from collections import Counter
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from kohort import clock
from kohort.config import Settings
from kohort.db import Database
from kohort.email.service import verify_withdrawal_token
from kohort.worker import Worker
from tests.email.conftest import PUBLIC_URL, SMTPServer
from tests.email.mail import deliver, flat, parts
from tests.factories import Org
from tests.group_settings.api import levels, patched
from tests.order.api import fetch, join, new_group, place_order
from tests.test_helpers.test_advance import advanced

SUBJECTS = {
    "fr_FR": {
        "NEW_GROUP": "Votre groupe {code} est ouvert : partagez-le et gagnez du cashback",
        "JOIN_GROUP": "Vous avez rejoint le groupe {code}",
        "NEW_LEVEL_UNLOCKED": "Nouveau palier de cashback débloqué dans votre groupe {code}",
        "MIDWAY_SENT": "Votre groupe {code} est à mi-parcours",
        "DAY3_SENT": "Avez-vous partagé votre code {code} ?",
        "DAY2_BEFORE_END_SENT": "Derniers jours pour votre groupe {code}",
        "CASHBACK_AVAILABLE": "Votre cashback de {money} est disponible",
        "GROUP_EXPIRED": "Votre groupe {code} est terminé",
    },
    "en_US": {
        "NEW_GROUP": "Your group {code} is open: share it and earn cashback",
        "JOIN_GROUP": "You joined the group {code}",
        "NEW_LEVEL_UNLOCKED": "A new cashback level is unlocked in your group {code}",
        "MIDWAY_SENT": "Half the time is up for your group {code}",
        "DAY3_SENT": "Have you shared your code {code}?",
        "DAY2_BEFORE_END_SENT": "Last days for your group {code}",
        "CASHBACK_AVAILABLE": "Your cashback of {money} is available",
        "GROUP_EXPIRED": "Your group {code} has ended",
    },
}
MONEY = {"fr_FR": "{units},{cents:02d} €", "en_US": "€{units}.{cents:02d}"}
WORDS = {
    "fr_FR": {"levels": "2 participants : {money}", "days": "jours", "not": "days"},
    "en_US": {"levels": "2 participants: {money}", "days": "days", "not": "jours"},
}
WITHDRAW = re.compile(re.escape(PUBLIC_URL) + r"/w/(ord_[0-9a-f]+)\?token=([A-Za-z0-9_-]+)")


def money(locale: str, cents: int) -> str:
    return MONEY[locale].format(units=cents // 100, cents=cents % 100)


async def _life_of_three_groups(
    client: httpx.AsyncClient, db: Database, settings: Settings, shop: Org, locale: str
) -> dict[str, Any]:
    """A 7-day group that completes with 3 members, a 7-day lonely group reminded midway then
    expired, a 90-day lonely group reminded on day 3 and 2 days before its end."""
    key = shop.sk_test
    short = {"minutesDuration": 10_080, "maxParticipants": 4}
    await patched(client, shop, {**short, "discountLevels": levels((2, 5), (3, 10))})
    creator = await place_order(client, key, amount=12_340, locale=locale)
    code = creator["paymentGroup"]["shareId"]
    first = await join(client, key, code, amount=5000, locale=locale)
    second = await join(client, key, code, amount=2000, locale=locale)
    lonely = await new_group(client, key, amount=3000, locale=locale)
    await patched(client, shop, {"minutesDuration": 129_600})
    long = await new_group(client, key, amount=4000, locale=locale)

    worker = Worker(db=db, settings=settings)
    # Mail goes out after each step, as the worker's mail lane does within seconds (a
    # reminder still waiting when its group has ended is stale and skipped).
    await advanced(client, key, lonely["id"], {"to": lonely["midExpireAt"]})
    await worker.sweep()
    await deliver(db, settings)
    await advanced(client, key, long["id"], {"to": long["jPlus3StartAt"]})
    await worker.sweep()
    await deliver(db, settings)
    moved = await fetch(client, key, long["id"])
    await advanced(client, key, long["id"], {"to": moved["jMinus2ExpireAt"]})
    await worker.sweep()
    for group_id in (creator["paymentGroupId"], lonely["id"]):
        group = await fetch(client, key, group_id)
        await advanced(client, key, group_id, {"to": group["expiresAt"]})
    await worker.sweep()
    assert (await fetch(client, key, code))["status"] == "COMPLETED"
    assert (await fetch(client, key, lonely["id"]))["status"] == "EXPIRED"

    await deliver(db, settings)
    return {
        "creator": creator,
        "first": first,
        "second": second,
        "lonely": lonely,
        "long": long,
        "code": code,
    }


@pytest.mark.parametrize("locale", ["fr_FR", "en_US"])
async def test_the_life_of_groups_sends_exactly_the_expected_emails(
    mail_client: httpx.AsyncClient,
    mail_db: Database,
    mail_settings: Settings,
    smtp: SMTPServer,
    shop: Org,
    locale: str,
) -> None:
    run = await _life_of_three_groups(mail_client, mail_db, mail_settings, shop, locale)
    creator, first, second = run["creator"], run["first"], run["second"]
    lonely, long, code = run["lonely"], run["long"], run["code"]
    subject = SUBJECTS[locale]
    email = {name: run[name]["customerEmail"] for name in ("creator", "first", "second")}
    email["lonely"] = lonely["creatorEmail"]
    email["long"] = long["creatorEmail"]

    expected = Counter(
        [
            (email["creator"], subject["NEW_GROUP"].format(code=code)),
            (email["creator"], subject["NEW_LEVEL_UNLOCKED"].format(code=code)),
            (email["creator"], subject["NEW_LEVEL_UNLOCKED"].format(code=code)),
            (email["creator"], subject["CASHBACK_AVAILABLE"].format(money=money(locale, 1234))),
            (email["first"], subject["JOIN_GROUP"].format(code=code)),
            (email["first"], subject["NEW_LEVEL_UNLOCKED"].format(code=code)),
            (email["first"], subject["CASHBACK_AVAILABLE"].format(money=money(locale, 500))),
            (email["second"], subject["JOIN_GROUP"].format(code=code)),
            (email["second"], subject["CASHBACK_AVAILABLE"].format(money=money(locale, 200))),
            (email["lonely"], subject["NEW_GROUP"].format(code=lonely["shareId"])),
            (email["lonely"], subject["MIDWAY_SENT"].format(code=lonely["shareId"])),
            (email["lonely"], subject["GROUP_EXPIRED"].format(code=lonely["shareId"])),
            (email["long"], subject["NEW_GROUP"].format(code=long["shareId"])),
            (email["long"], subject["DAY3_SENT"].format(code=long["shareId"])),
            (email["long"], subject["DAY2_BEFORE_END_SENT"].format(code=long["shareId"])),
        ]
    )
    received = smtp.inbox.to(*email.values())
    assert Counter((str(m["To"]), flat(str(m["Subject"]))) for m in received) == expected
    assert len({m["Message-ID"] for m in received}) == len(received)

    for message in received:
        _check_envelope(message)
    text_of = {(str(m["To"]), flat(str(m["Subject"]))): flat(parts(m)[0]) for m in received}
    words = WORDS[locale]
    new_group_text = text_of[(email["creator"], subject["NEW_GROUP"].format(code=code))]
    assert words["levels"].format(money=money(locale, 617)) in new_group_text
    joined = text_of[(email["first"], subject["JOIN_GROUP"].format(code=code))]
    assert money(locale, 250) in joined and money(locale, 5000) in joined
    mine = {m: flat(parts(m)[0]) for m in received}
    reminders = [t for m, t in mine.items() if str(m["To"]) in (email["lonely"], email["long"])]
    left = [t for t in reminders if words["days"] in t]
    assert len(left) >= 2, reminders
    assert not any(f" {words['not']} " in t for t in reminders)

    tokens = {}
    for order in (creator, first, second):
        [message] = [m for m in smtp.inbox.to(order["customerEmail"]) if "/w/" in parts(m)[0]]
        text, html = parts(message)
        found = WITHDRAW.search(text)
        assert found is not None, text
        assert found.group(1) == order["id"]
        assert f'href="{found.group(0)}"' in html
        tokens[order["id"]] = found.group(2)
    now = clock.now()
    async with mail_db.read() as session:
        for order_id, token in tokens.items():
            assert await verify_withdrawal_token(session, order_id, token, now)
            assert not await verify_withdrawal_token(session, order_id, token[:-1], now)
            other = next(o for o in tokens if o != order_id)
            assert not await verify_withdrawal_token(session, other, token, now)


def _check_envelope(message: EmailMessage) -> None:
    """Both parts, the shop as sender, and every share link pointing at the group's code."""
    text, html = parts(message)
    assert message["From"].addresses[0].display_name == "Chez Ada"
    assert message["From"].addresses[0].addr_spec == "no-reply@cashback.example"
    assert "Chez Ada" in text and "Chez Ada" in html
    for link in re.findall(re.escape(PUBLIC_URL) + r"/r/(\S+)", text):
        assert link.startswith("KHT-test-"), link
        assert link in str(message["Subject"]), (link, message["Subject"])
        assert f'href="{PUBLIC_URL}/r/{link}"' in html

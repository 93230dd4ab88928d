"""Every message renders in every locale, from complete catalogs, with the locale's money,
dates and durations."""

import random
import re
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

import pytest
from babel.messages.pofile import read_po

from kohort.email import rendering
from kohort.email.rendering import LOCALE_DIR, LOCALES, Formatter, compose, render, zone
from kohort.email.service import KINDS

NOW = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _context(locale: str, **overrides: Any) -> dict[str, Any]:
    level = {"level": 1, "participants": 2, "cashback": 617}
    context: dict[str, Any] = {
        "code": "KHT-test-0A1B2C3D",
        "livemode": False,
        "expiresAt": (NOW + timedelta(days=2)).isoformat(),
        "endedAt": NOW.isoformat(),
        "participants": 2,
        "amount": 12_340,
        "cashback": 1234,
        "levels": [level, {"level": 2, "participants": 5, "cashback": 1234}],
        "level": level,
        "nextLevel": {"level": 2, "participants": 5, "cashback": 1234},
        "moment": "DAY2_BEFORE_END_SENT",
        "shop_name": "Chez <Ada> & Co",
        "share_url": "https://x.example/r/KHT-test-0A1B2C3D",
        "withdraw_url": "https://x.example/w/ord_1?token=abc",
        "link_expires_at": NOW + timedelta(days=90),
        "fmt": Formatter(locale=locale, timezone=zone("Europe/Paris"), currency="EUR", now=NOW),
    }
    context.update(overrides)
    return context


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_translates_every_message_with_the_same_placeholders(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    with (LOCALE_DIR / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    assert {m.id for m in catalog if m.id} == {m.id for m in template if m.id}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), message.id
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= wanted | {"count"}, (string, wanted)
            assert set(PLACEHOLDER.findall(string)) >= wanted - {"count"}, (string, wanted)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_message_renders_in_every_locale(kind: str, locale: str) -> None:
    rendered = render(kind, locale, _context(locale))
    assert rendered.subject and "\n" not in rendered.subject
    assert "Chez <Ada> & Co" in rendered.text
    assert "Chez &lt;Ada&gt; &amp; Co" in rendered.html and "<Ada>" not in rendered.html
    assert f'<html lang="{locale[:2]}">' in rendered.html


@pytest.mark.parametrize(
    ("locale", "money", "left"),
    [
        ("fr_FR", "12,34 €", "2 jours"),
        ("en_US", "€12.34", "2 days"),
        ("en_GB", "€12.34", "2 days"),
        ("de_DE", "12,34 €", "2 Tage"),
        ("es_ES", "12,34 €", "2 días"),
        ("it_IT", "12,34 €", "2 giorni"),
        ("nl_NL", "€ 12,34", "2 dagen"),
    ],
)
def test_money_and_time_left_are_written_in_the_messages_language(
    locale: str, money: str, left: str
) -> None:
    reminder = render("GROUP_REMINDER", locale, _context(locale))
    text = " ".join(reminder.text.split())
    assert left in text
    assert money in text
    available = render("CASHBACK_AVAILABLE", locale, _context(locale))
    assert money in " ".join(available.subject.split())


def test_the_three_reminders_have_their_own_wording() -> None:
    subjects = {
        render("GROUP_REMINDER", "en_US", _context("en_US", moment=moment)).subject
        for moment in ("MIDWAY_SENT", "DAY3_SENT", "DAY2_BEFORE_END_SENT")
    }
    assert len(subjects) == 3


def test_dates_are_in_the_organizations_timezone() -> None:
    context = _context("en_US", endedAt="2031-07-01T22:30:00+00:00")
    context["fmt"] = Formatter(
        locale="en_US", timezone=zone("America/New_York"), currency="EUR", now=NOW
    )
    text = " ".join(render("GROUP_EXPIRED", "en_US", context).text.split())
    assert "July 1, 2031" in text and "6:30" in text
    context["fmt"] = Formatter(locale="en_US", timezone=zone("Asia/Tokyo"), currency="EUR", now=NOW)
    assert "July 2, 2031" in " ".join(render("GROUP_EXPIRED", "en_US", context).text.split())


@pytest.mark.parametrize("kind", KINDS)
def test_composed_bytes_are_those_of_the_default_policy(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The faster header policy writes exactly what `email.policy.default` writes."""
    rendered = render(kind, "de_DE", _context("de_DE"))

    def composed() -> bytes:
        random.seed(7)  # the same multipart boundary
        message = compose(
            rendered,
            message_id=f"msg_{kind}",
            sender_name="Größenwahn & Söhne <Shop>, sehr lang " * 3,
            mail_from="Kohort <no-reply@kohort.example>",
            to="jürgen@example.com",
            now=NOW,
        )
        return message.as_bytes() + message.as_bytes(policy=policy.SMTP)

    assert rendering.POLICY is not policy.default
    fast = [composed(), composed()]
    monkeypatch.setattr(rendering, "POLICY", policy.default)
    assert fast == [composed()] * 2


@pytest.mark.parametrize(
    ("timezone", "locale", "expected"),
    [
        ("Europe/Paris", "en_GB", "1 December 2026, 19:57 CET"),
        ("Europe/Paris", "de_DE", "1. Dezember 2026, 19:57 MEZ"),
        ("Europe/Paris", "fr_FR", "1 décembre 2026, 19:57 UTC+01:00"),
        ("Europe/Paris", "en_US", "December 1, 2026, 7:57\u202fPM GMT+01:00"),
        ("America/New_York", "en_US", "December 1, 2026, 1:57\u202fPM EST"),
        ("Asia/Tokyo", "nl_NL", "2 december 2026, 03:57 GMT+09:00"),
        ("UTC", "it_IT", "1 dicembre 2026 18:57 UTC"),
    ],
)
def test_a_moment_shoppers_read_carries_its_time_zone(
    timezone: str, locale: str, expected: str
) -> None:
    fmt = Formatter(locale=locale, timezone=zone(timezone), currency="EUR", now=NOW)
    written = fmt.moment("2026-12-01T18:57:00.000+00:00")
    assert written.replace("\xa0", " ") == expected.replace("\xa0", " ")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_dates_its_end_with_the_zone(locale: str) -> None:
    fmt = Formatter(locale=locale, timezone=zone("Europe/Paris"), currency="EUR", now=NOW)
    text = render("NEW_GROUP", locale, {**_context(locale), "fmt": fmt}).text
    assert re.search(r"\d{1,2}:\d{2}(\s?[AP]M)? (CET|MEZ|UTC\+01:00|GMT\+01:00)", text), text

"""The CASHBACK_AVAILABLE message of a test-mode group says that no money is moved, in the
reader's language; a live one does not."""

from datetime import UTC, datetime, timedelta

import pytest

from kohort.email.rendering import LOCALES, Formatter, render, translations, zone

NOW = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
TEST_LINE = "Test mode: no money is moved."


def _context(locale: str, code: str) -> dict[str, object]:
    return {
        "code": code,
        "livemode": not code.startswith("KHT-test-"),
        "amount": 12_340,
        "cashback": 1234,
        "shop_name": "Chez Ada",
        "withdraw_url": "https://x.example/w/ord_1?token=abc",
        "link_expires_at": NOW + timedelta(days=90),
        "fmt": Formatter(locale=locale, timezone=zone("Europe/Paris"), currency="EUR", now=NOW),
    }


@pytest.mark.parametrize("locale", LOCALES)
def test_a_test_groups_cashback_message_says_no_money_is_moved(locale: str) -> None:
    line = translations(locale).gettext(TEST_LINE)
    assert locale.startswith("en") or line != TEST_LINE, f"{locale}: untranslated"

    test = render("CASHBACK_AVAILABLE", locale, _context(locale, "KHT-test-0A1B2C3D"))
    live = render("CASHBACK_AVAILABLE", locale, _context(locale, "KHT-0A1B2C3D"))

    assert f"\n\n{line}\n\n" in test.text
    assert f">{line}</p>" in test.html.replace("&#39;", "'")
    assert line not in live.text and line not in live.html
    assert test.text.replace(f"{line}\n\n", "").replace("-test", "") == live.text

"""The withdrawal page's catalogs and templates: every message translated in every locale,
every page renders in every locale, and a page about no known order follows the browser."""

import re

import pytest
from babel.messages.pofile import read_po
from markupsafe import escape

from kohort.email.rendering import LOCALES
from kohort.withdrawal.rendering import LOCALE_DIR, negotiate, render, translations

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
REASONS = [
    "unknown_order",
    "wrong_token",
    "token_used",
    "token_expired",
    "in_progress",
    "sent",
    "canceled",
    "not_available",
    "csrf",
    "bad_request",
    "error",
]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_translates_every_message_with_the_same_placeholders(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    with (LOCALE_DIR / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    wanted = {message.id for message in template if message.id}
    assert {message.id for message in catalog if message.id} == wanted
    for message in catalog:
        if not message.id:
            continue
        assert message.string, f"{locale}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{locale}: fuzzy {message.id!r}"
        assert set(PLACEHOLDER.findall(str(message.id))) == set(
            PLACEHOLDER.findall(str(message.string))
        ), f"{locale}: placeholders differ in {message.id!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_renders_in_every_locale(locale: str) -> None:
    base = {
        "shop": "Chez Ada",
        "amount": "12,34 €",
        "livemode": True,
        "retry_url": "/w/ord_1?token=t",
    }
    form = {
        **base,
        "errors": {"holder": "holder_required", "iban": "iban_not_sepa"},
        "first_error": "holder",
        "holder": "",
        "iban": "BR18",
        "action": "/w/ord_1?token=t",
        "csrf_field": "csrf",
        "csrf": "x",
    }
    processing = {**base, "iban_masked": "FR76 ****"}
    pages = [render("form.html", locale, form)]
    pages.append(render("processing.html", locale, processing))
    pages.append(render("automatic.html", locale, base))
    pages += [render("notice.html", locale, {**base, "reason": r}) for r in REASONS]
    in_test_mode = [
        render("form.html", locale, {**form, "livemode": False}),
        render("processing.html", locale, {**processing, "livemode": False}),
    ]
    for html in pages + in_test_mode:
        assert f'lang="{locale.replace("_", "-")}"' in html
        assert "<h1>" in html and "%(" not in html
    test_line = translations(locale).gettext("Test mode: no money is moved.")
    assert test_line and (locale.startswith("en") or test_line != "Test mode: no money is moved.")
    for html in pages:
        assert 'class="test-mode"' not in html
    for html in in_test_mode:
        assert f'<p class="test-mode">{escape(test_line)}</p>' in html


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de_DE"),
        ("en-GB", "en_GB"),
        ("en", "en_US"),
        ("nl", "nl_NL"),
        ("ja,it;q=0.8", "it_IT"),
        ("ja", "fr_FR"),
        ("", "fr_FR"),
        ("q=;;,", "fr_FR"),
    ],
)
def test_a_page_about_no_known_order_follows_accept_language(header: str, locale: str) -> None:
    assert negotiate(header) == locale

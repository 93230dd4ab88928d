"""The withdrawal pages: Jinja2 templates (autoescaped HTML) with their own gettext catalogs,
compiled from the `.po` files on first use, in the seven locales of the e-mails."""

from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from babel.support import Translations
from jinja2 import Environment

from kohort import i18n
from kohort.email.rendering import LOCALES

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"
DEFAULT_LOCALE = "fr_FR"


def translations(locale: str) -> Translations:
    return i18n.catalog(LOCALE_DIR, locale)


def environment(locale: str) -> Environment:
    return i18n.environment(TEMPLATE_DIR, LOCALE_DIR, locale)


def supported(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def negotiate(accept_language: str | None) -> str:
    """The best of the supported locales for an `Accept-Language` header (no order known)."""
    return match(accept_language) or DEFAULT_LOCALE


def match(accept_language: str | None) -> str | None:
    """The best of the supported locales for an `Accept-Language` header; None if none fits."""
    wanted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            wanted.append((quality, tag.strip().replace("-", "_")))
    preferred = [tag for _, tag in sorted(wanted, key=lambda item: -item[0])]
    try:
        found = Locale.negotiate(preferred, LOCALES, sep="_")
    except (UnknownLocaleError, ValueError):
        found = None
    return str(found) if found is not None else None


def money(cents: int, currency: str, locale: str) -> str:
    return format_currency(Decimal(cents).scaleb(-2), currency, locale=locale)


def render(template: str, locale: str, context: dict[str, Any]) -> str:
    locale = supported(locale)
    variables = {**context, "lang": locale.replace("_", "-")}
    return environment(locale).get_template(template).render(variables)

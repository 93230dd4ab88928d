"""The share pages: Jinja2 templates (autoescaped HTML) with their own gettext catalogs,
compiled from the `.po` files on first use, in the seven locales of the e-mails. The layout
and the language choice follow the withdrawal page's."""

from pathlib import Path
from typing import Any

from babel.support import Translations
from jinja2 import Environment

from kohort import i18n
from kohort.withdrawal.rendering import DEFAULT_LOCALE, match, supported

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"


def translations(locale: str) -> Translations:
    return i18n.catalog(LOCALE_DIR, locale)


def environment(locale: str) -> Environment:
    return i18n.environment(TEMPLATE_DIR, LOCALE_DIR, locale)


def choose(accept_language: str | None, fallback: str | None) -> str:
    """The browser's best supported locale, else `fallback` (the group creator's order's
    locale) when supported, else the default."""
    found = match(accept_language)
    if found is not None:
        return found
    return supported(fallback) if fallback else DEFAULT_LOCALE


def render(template: str, locale: str, context: dict[str, Any]) -> str:
    locale = supported(locale)
    variables = {**context, "lang": locale.replace("_", "-")}
    return environment(locale).get_template(template).render(variables)

"""The withdrawal pages: Jinja2 templates (autoescaped HTML) with their own gettext catalogs,
compiled from the `.po` files on first use, in the seven locales of the e-mails."""

import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kohort.email.rendering import LOCALES

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"
DEFAULT_LOCALE = "fr_FR"


@lru_cache
def translations(locale: str) -> Translations:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


@lru_cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


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

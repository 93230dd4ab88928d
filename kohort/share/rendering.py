"""The share pages: Jinja2 templates (autoescaped HTML) with their own gettext catalogs,
compiled from the `.po` files on first use, in the seven locales of the e-mails. The layout
and the language choice follow the withdrawal page's."""

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kohort.withdrawal.rendering import DEFAULT_LOCALE, match, supported

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"


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

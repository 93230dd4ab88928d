"""Gettext catalogs and Jinja2 environments for everything a shopper reads (e-mails, the
withdrawal and share pages): each package keeps its own `.po` files and templates, compiled
in memory on first use (no build step)."""

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape


@lru_cache
def catalog(locale_dir: Path, locale: str) -> Translations:
    """`locale_dir/<locale>/LC_MESSAGES/messages.po`, compiled."""
    with (locale_dir / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        messages = read_po(po, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(fp=compiled)


SHARED_TEMPLATES = Path(__file__).parent / "templates"
"""Templates every package may extend (`page.html`: the layout of the shoppers' pages)."""


@lru_cache
def environment(template_dir: Path, locale_dir: Path, locale: str) -> Environment:
    """The templates of `template_dir`, then the shared ones (HTML autoescaped, undefined
    names an error), with the `locale` catalog of `locale_dir` for `{% trans %}` and `_()`."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(template_dir), FileSystemLoader(SHARED_TEMPLATES)]),
        autoescape=select_autoescape(["html"], default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.install_gettext_translations(catalog(locale_dir, locale), newstyle=True)  # type: ignore[attr-defined]
    return env

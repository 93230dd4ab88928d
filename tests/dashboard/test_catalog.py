"""The dashboard's catalogs: every message of its templates and of its Python code (`_()`,
`translate(locale, …)`) is in each catalog, translated in French."""

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from kohort.dashboard import rendering

PACKAGE = Path(rendering.__file__).parent
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {
    "templates/**.html": {
        "extensions": "jinja2.ext.i18n",
        "trim_blocks": "True",
        "lstrip_blocks": "True",
    }
}


def extracted() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "translate": (2,)}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), METHODS, OPTIONS, keywords=keywords
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_the_extraction_finds_the_messages() -> None:
    messages = extracted()
    assert {"Sign in", "Team", "Referred revenue per day"} <= messages


@pytest.mark.parametrize("locale", rendering.LOCALES)
def test_every_message_is_in_the_catalog(locale: str) -> None:
    with (rendering.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    missing = sorted(extracted() - ids)
    assert not missing, f"{locale}: not in the catalog: {missing}"
    if locale != rendering.DEFAULT_LOCALE:
        untranslated = sorted(
            m.id if isinstance(m.id, str) else m.id[0]
            for m in catalog
            if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
        )
        assert not untranslated, f"{locale}: untranslated: {untranslated}"

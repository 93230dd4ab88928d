"""The dashboard's templates and catalogs (English, French), and the reader's language: the
user's choice, else the `kohort_locale` cookie (chosen before signing in), else the
browser's, else English."""

from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from starlette.requests import Request

from kohort import i18n

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"
LOCALES = ("en_US", "fr_FR")
LANGUAGE_NAMES = {"en_US": "English", "fr_FR": "Français"}
DEFAULT_LOCALE = "en_US"
LOCALE_COOKIE = "kohort_locale"


def match(accept_language: str | None) -> str | None:
    """The best of LOCALES for an `Accept-Language` header; None if none fits."""
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            wanted.append((-quality, index, tag.replace("-", "_")))
    preferred = [tag for _, _, tag in sorted(wanted)]
    for tag in preferred:
        try:
            negotiated = Locale.negotiate([tag], LOCALES, sep="_")
        except (UnknownLocaleError, ValueError):
            negotiated = None
        if negotiated is not None:
            return str(negotiated)
        prefix = tag.split("_")[0].lower() + "_"
        found = next((loc for loc in LOCALES if loc.startswith(prefix)), None)
        if found is not None:
            return found
    return None


def choose(request: Request, user_locale: str | None = None) -> str:
    for candidate in (user_locale, request.cookies.get(LOCALE_COOKIE)):
        if candidate in LOCALES:
            return str(candidate)
    return match(request.headers.get("accept-language")) or DEFAULT_LOCALE


def render(template: str, locale: str, context: dict[str, Any]) -> str:
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    env = i18n.environment(TEMPLATE_DIR, LOCALE_DIR, locale)
    variables = {
        **context,
        "lang": locale.replace("_", "-"),
        "locale": locale,
        "languages": LANGUAGE_NAMES,
    }
    return env.get_template(template).render(variables)


def translate(locale: str, text: str) -> str:
    """`text` in `locale` (English when the catalog has no translation), for what is drawn
    outside a template (a chart's title)."""
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    return str(i18n.catalog(LOCALE_DIR, locale).gettext(text))

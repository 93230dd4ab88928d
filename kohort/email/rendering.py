"""Rendering a planned message in its language: gettext catalogs compiled from the `.po`
files on first use, Jinja2 templates (a text and an HTML part), money, dates and durations
formatted by Babel in the message's locale and the organization's timezone."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import (
    format_date,
    format_datetime,
    format_time,
    format_timedelta,
    get_datetime_format,
    get_timezone_gmt,
)
from babel.numbers import format_currency
from babel.support import Translations
from jinja2 import Environment

from kohort import i18n

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"
LOCALES = ("fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL")
DASHBOARD_DIR = HERE / "dashboard"
"""The dashboard users' e-mails: templates and catalogs of their own (English, French)."""
DASHBOARD_LOCALES = ("en_US", "fr_FR")


def translations(locale: str) -> Translations:
    return i18n.catalog(LOCALE_DIR, locale)


def environment(locale: str) -> Environment:
    return i18n.environment(TEMPLATE_DIR, LOCALE_DIR, locale)


@dataclass(frozen=True)
class Formatter:
    """Money, moments and durations as the message's reader writes them."""

    locale: str
    timezone: ZoneInfo
    currency: str
    now: datetime

    def money(self, cents: int) -> str:
        return format_currency(Decimal(cents).scaleb(-2), self.currency, locale=self.locale)

    def moment(self, value: str | datetime) -> str:
        """A date and time in the organization's timezone, the locale's long date, the time
        followed by its zone ("1 December 2026, 19:57 CET"), so a reader elsewhere is not
        misled."""
        local = _aware(value).astimezone(self.timezone)
        date = format_date(local, "long", locale=self.locale)
        time = f"{format_time(local, 'short', locale=self.locale)} {zone_label(local, self.locale)}"
        pattern = get_datetime_format("long", locale=self.locale)
        return str(pattern).replace("'", "").replace("{0}", time).replace("{1}", date)

    def time_left(self, until: str | datetime) -> str:
        left = max(_aware(until) - self.now, timedelta(0))
        return format_timedelta(left, threshold=2, locale=self.locale)


def zone_label(moment: datetime, locale: str) -> str:
    """The zone of an aware `moment` as the locale abbreviates it (CET, MESZ, EST, UTC), else
    as the locale writes an offset from UTC (UTC+02:00, GMT-04:00)."""
    short = str(format_datetime(moment, "z", locale=locale))
    if short.isalpha() and short.isupper() and len(short) <= 5:
        return short
    return str(get_timezone_gmt(moment, "long", locale=locale))


def _aware(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: str, locale: str, context: dict[str, Any]) -> Rendered:
    """The subject (block `subject` of the text template), the text and the HTML body."""
    return _render(environment(locale if locale in LOCALES else LOCALES[0]), kind, locale, context)


def render_dashboard(kind: str, locale: str, context: dict[str, Any]) -> Rendered:
    """A dashboard user's e-mail (an invitation, a password reset), in English or French."""
    locale = locale if locale in DASHBOARD_LOCALES else DASHBOARD_LOCALES[0]
    env = i18n.environment(DASHBOARD_DIR / "templates", DASHBOARD_DIR / "locale", locale)
    return _render(env, kind, locale, context)


def _render(env: Environment, kind: str, locale: str, context: dict[str, Any]) -> Rendered:
    name = kind.lower()
    text_template = env.get_template(f"{name}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    subject = " ".join(subject.split())
    variables = {**context, "subject": subject, "lang": locale[:2]}
    return Rendered(
        subject=subject,
        text=re.sub(r"\n{3,}", "\n\n", text_template.render(variables)).strip() + "\n",
        html=env.get_template(f"{name}.html").render(variables),
    )


class _Headers(HeaderRegistry):
    """The default policy's header factory without its two costs per header: it makes a new
    header class on every call, and parses again values every message repeats
    (`MIME-Version`, `Content-Type: text/plain; charset="utf-8"`, …). Header objects are
    immutable, so each class is made once and a recent (name, value) reuses its header."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is str:
            return self._parsed(name, value)
        return self[name](name, value)

    @lru_cache(maxsize=256)  # noqa: B019 (one instance, for the life of the process)
    def _parsed(self, name: str, value: str) -> BaseHeader:
        return self[name](name, value)


POLICY = policy.default.clone(header_factory=_Headers())
"""`email.policy.default`, with headers made faster (same headers, same output)."""


def compose(
    rendered: Rendered,
    *,
    message_id: str,
    sender_name: str | None,
    mail_from: str,
    to: str,
    now: datetime,
) -> EmailMessage:
    """A multipart/alternative message; its Message-ID is the outbox row's id, the same on
    every attempt, so a receiver can recognise a message sent twice. From is the shop's name
    at KOHORT_MAIL_FROM's address, or KOHORT_MAIL_FROM alone when `sender_name` is None."""
    _, address = parseaddr(mail_from)
    address = address or "no-reply@localhost"
    message = EmailMessage(policy=POLICY)
    message["Subject"] = rendered.subject
    message["From"] = (
        mail_from if sender_name is None else Address(display_name=sender_name, addr_spec=address)
    )
    message["To"] = to
    message["Date"] = rfc2822_date(now)
    message["Message-ID"] = f"<{message_id}@{address.rpartition('@')[2] or 'localhost'}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message

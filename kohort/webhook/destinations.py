"""Where webhooks may go (SSRF rules), the same in both modes.

A URL needs `https://` and a host whose every address is public: no private, loopback,
link-local, multicast, reserved or unspecified address, nor an IPv6 form that embeds such an
IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64). The operator setting
`webhook_allow_private_destinations` lifts the address rule in both modes and allows
`http://` in test mode only (local receivers rarely have TLS); live mode always needs https.
The rule is checked when a URL is set and again before every attempt (DNS can change), and an
attempt connects to the very address that was checked (the request goes to that IP, with the
URL's host name in `Host` and in TLS's SNI and certificate check): a name that resolves to a
public address for the check and to a private one a moment later (DNS rebinding) cannot reach
the private one.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_SECONDS = 5.0
SETTING = "KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS"
PUBLIC_ONLY = "webhooks go to public addresses only"


def _last_32_bits(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return (ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF),)


def _sixtofour(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return (address.sixtofour,) if address.sixtofour is not None else ()


def _teredo(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return address.teredo or ()


@dataclass(frozen=True)
class _Form:
    """An IPv6 form that embeds IPv4 addresses."""

    name: str
    network: ipaddress.IPv6Network
    embedded: Callable[[ipaddress.IPv6Address], tuple[ipaddress.IPv4Address, ...]]
    reaches_ipv4: bool
    """True: the address reaches its embedded IPv4 host, whose rule decides. False: the form
    is not globally reachable, and is refused whatever it embeds."""


FORMS = (
    _Form("IPv4-mapped", ipaddress.IPv6Network("::ffff:0:0/96"), _last_32_bits, True),
    _Form("NAT64", ipaddress.IPv6Network("64:ff9b::/96"), _last_32_bits, True),
    _Form("6to4", ipaddress.IPv6Network("2002::/16"), _sixtofour, True),
    _Form("local-use NAT64", ipaddress.IPv6Network("64:ff9b:1::/48"), _last_32_bits, False),
    _Form("Teredo", ipaddress.IPv6Network("2001::/32"), _teredo, False),
    _Form("IPv4-compatible", ipaddress.IPv6Network("::/96"), _last_32_bits, False),
)
"""RFC 4291 (mapped; compatible, deprecated), RFC 6052 and 8215 (NAT64), RFC 3056 (6to4),
RFC 4380 (Teredo: server and client)."""


def _form(address: ipaddress.IPv6Address) -> _Form | None:
    """The IPv4-embedding form of `address`, if any (`::` and `::1` are not IPv4-compatible
    forms: they are the unspecified and loopback addresses)."""
    if int(address) <= 1:
        return None
    return next((form for form in FORMS if address in form.network), None)


def _kind(address: IPAddress) -> str | None:
    """What makes `address` not public ("loopback", "6to4 address embedding 127.0.0.1, a
    loopback"), or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and (form := _form(address)) is not None:
        for embedded in form.embedded(address):
            kind = _kind(embedded)
            if kind is not None:
                return f"{form.name} address embedding {embedded}, {_article(kind)} {kind}"
        if not form.reaches_ipv4:
            return form.name
        (address,) = form.embedded(address)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((name for name, matches in checks if matches), None)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _literal(host: str) -> IPAddress | None:
    """`host` as an address when it is an IP literal, else None (a name)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def _addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` stands for: itself if it is an IP literal, else its DNS answer."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
        answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(answer[4][0]).partition("%")[0]) for answer in answers]


@dataclass(frozen=True)
class Verdict:
    refusal: str | None
    """Why webhooks may not be sent to the URL in this mode, or None when they may."""
    address: IPAddress | None = None
    """The checked address the request must go to, when the host is a name that was resolved
    for the check (None: connect as the URL says)."""


async def refusal(url: str, *, livemode: bool, allow_private: bool) -> str | None:
    """Why webhooks may not be sent to `url` in this mode, or None when they may."""
    return (await check(url, livemode=livemode, allow_private=allow_private)).refusal


def _refused(reason: str, *, livemode: bool) -> Verdict:
    """A refusal; in test mode with the operator's way to allow local receivers."""
    if livemode:
        return Verdict(f"{reason}.")
    return Verdict(f"{reason} (the operator can allow local receivers with {SETTING}=true).")


async def check(url: str, *, livemode: bool, allow_private: bool) -> Verdict:
    """Whether webhooks may be sent to `url` in this mode, and where to connect."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        if livemode:
            return Verdict("Live-mode webhook endpoints need an https:// URL.")
        if not allow_private:
            return _refused("Webhook endpoints need an https:// URL", livemode=False)
    if allow_private:
        return Verdict(None)
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return _refused(f"'{host}' is a loopback destination; {PUBLIC_ONLY}", livemode=livemode)
    try:
        addresses = await _addresses(host, parts.port or 443)
    except (OSError, UnicodeError, TimeoutError, ValueError):
        return Verdict(f"The host '{host}' could not be resolved.")
    if not addresses:
        return Verdict(f"The host '{host}' could not be resolved.")
    for address in addresses:
        kind = _kind(address)
        if kind is not None:
            reason = f"'{host}' resolves to {address}, {_article(kind)} {kind} address"
            return _refused(f"{reason}; {PUBLIC_ONLY}", livemode=livemode)
    return Verdict(None, None if _literal(host) else addresses[0])

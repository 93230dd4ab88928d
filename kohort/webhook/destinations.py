"""Where webhooks may go (SSRF rules).

Test mode sends anywhere over http or https (a developer receives on `http://localhost`).
Live mode needs `https://` and a host whose every address is public: no private, loopback,
link-local, multicast, reserved or unspecified address. The operator setting
`webhook_allow_private_destinations` lifts the address rule (self-hosting); https stays.
The rule is checked when a URL is set and again before every live attempt (DNS can change),
and a live attempt connects to the very address that was checked (the request goes to that
IP, with the URL's host name in `Host` and in TLS's SNI and certificate check): a name that
resolves to a public address for the check and to a private one a moment later (DNS
rebinding) cannot reach the private one.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_SECONDS = 5.0


def _kind(address: IPAddress) -> str | None:
    """What makes `address` not public, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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


async def check(url: str, *, livemode: bool, allow_private: bool) -> Verdict:
    """Whether webhooks may be sent to `url` in this mode, and where to connect."""
    if not livemode:
        return Verdict(None)
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return Verdict("Live-mode webhook endpoints need an https:// URL.")
    if allow_private:
        return Verdict(None)
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return Verdict(
            f"'{host}' is a loopback destination; live mode sends to public addresses only."
        )
    try:
        addresses = await _addresses(host, parts.port or 443)
    except (OSError, UnicodeError, TimeoutError, ValueError):
        return Verdict(f"The host '{host}' could not be resolved.")
    if not addresses:
        return Verdict(f"The host '{host}' could not be resolved.")
    for address in addresses:
        kind = _kind(address)
        if kind is not None:
            return Verdict(
                f"'{host}' resolves to {address}, a {kind} address; "
                "live mode sends to public addresses only."
            )
    return Verdict(None, None if _literal(host) else addresses[0])

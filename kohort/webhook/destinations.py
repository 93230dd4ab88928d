"""Where webhooks may go (SSRF rules).

Test mode sends anywhere over http or https (a developer receives on `http://localhost`).
Live mode needs `https://` and a host whose every address is public: no private, loopback,
link-local, multicast, reserved or unspecified address. The operator setting
`webhook_allow_private_destinations` lifts the address rule (self-hosting); https stays.
The rule is checked when a URL is set and again before every live attempt (DNS can change).
"""

import asyncio
import ipaddress
import socket
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


async def _addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` stands for: itself if it is an IP literal, else its DNS answer."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
        answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(answer[4][0]).partition("%")[0]) for answer in answers]


async def refusal(url: str, *, livemode: bool, allow_private: bool) -> str | None:
    """Why webhooks may not be sent to `url` in this mode, or None when they may."""
    if not livemode:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return "Live-mode webhook endpoints need an https:// URL."
    if allow_private:
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"'{host}' is a loopback destination; live mode sends to public addresses only."
    try:
        addresses = await _addresses(host, parts.port or 443)
    except (OSError, UnicodeError, TimeoutError, ValueError):
        return f"The host '{host}' could not be resolved."
    if not addresses:
        return f"The host '{host}' could not be resolved."
    for address in addresses:
        kind = _kind(address)
        if kind is not None:
            return (
                f"'{host}' resolves to {address}, a {kind} address; "
                "live mode sends to public addresses only."
            )
    return None

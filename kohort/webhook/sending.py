"""One webhook attempt over HTTP: the signed request (Standard Webhooks, with the same values
under the `svix-*` names) and what came of it. 2xx is a success; anything else, redirects
included (never followed), is a failure with the reason kept."""

import asyncio
import codecs
import contextlib
import functools
import json
import re
import ssl
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from kohort import clock
from kohort.http import versions
from kohort.webhook import destinations

USER_AGENT = "Kohort-Webhooks/1"
BODY_KEPT = 256
"""Characters of a text answer the delivery log keeps."""
BODY_READ = 4 * BODY_KEPT
"""Bytes of an answer read at most: BODY_KEPT characters of UTF-8 fit in them."""
ERROR_KEPT = 500
TEXT_SUFFIXES = ("json", "xml")
"""application/json, application/problem+json, application/xml, application/atom+xml, …"""
MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,64}")
PER_ENDPOINT = 8
"""Requests in flight to one endpoint at most."""


@dataclass(frozen=True)
class Attempt:
    """A claimed delivery, with all it takes to send it outside any transaction."""

    delivery_id: str
    attempts: int
    endpoint_id: str
    url: str
    livemode: bool
    active: bool
    secrets: tuple[str, ...]
    body: str
    api_version: str = versions.CURRENT


@dataclass(frozen=True)
class Outcome:
    attempt: Attempt
    succeeded: bool
    sent: bool
    """False when no request went out (a refused destination, a disabled endpoint)."""
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None
    duration_ms: int | None = None


def event_body(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def headers(attempt: Attempt, timestamp: datetime) -> dict[str, str]:
    """The Standard Webhooks headers, also under the names the original service used."""
    signature = " ".join(
        Webhook(secret).sign(attempt.delivery_id, timestamp, attempt.body)
        for secret in attempt.secrets
    )
    values = {
        "id": attempt.delivery_id,
        "timestamp": str(int(timestamp.timestamp())),
        "signature": signature,
    }
    result = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        versions.HEADER.lower(): attempt.api_version,
    }
    for name, value in values.items():
        result[f"webhook-{name}"] = value
        result[f"svix-{name}"] = value
    return result


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CAs), loaded once per process: each load
    takes milliseconds, and a batch opens a client per endpoint."""
    return httpx.create_ssl_context()


def _clean(text: str, limit: int) -> str:
    """Text fit for any database column: no NUL, at most `limit` characters."""
    return text.replace("\x00", "\ufffd")[:limit]


async def _read_start(response: httpx.Response) -> tuple[bytes, bool]:
    """The first BODY_READ bytes of the answer, and whether more followed."""
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) > BODY_READ:
            break
    return kept[:BODY_READ], len(kept) > BODY_READ


def _is_text(media_type: str) -> bool:
    kind, _, subtype = media_type.partition("/")
    return kind == "text" or (kind == "application" and subtype.rpartition("+")[2] in TEXT_SUFFIXES)


def _printable(text: str) -> str:
    """`text` without control and format characters (Unicode Cc and Cf: NUL, escapes, CR,
    bidi overrides, …) except tab and line feed."""
    return "".join(c for c in text if c in "\t\n" or unicodedata.category(c) not in ("Cc", "Cf"))


async def stored_body(response: httpx.Response) -> str:
    """What the delivery log keeps of an answer (the tenant reads it). A text one (text/*,
    JSON, XML): its first BODY_KEPT characters, as UTF-8, `_printable`. Another, or one with
    no content type: a note of its size and type, never its bytes. An empty one: ""."""
    start, more = await _read_start(response)
    if not start:
        return ""
    header = response.headers.get("content-type", "")
    media_type = header.partition(";")[0].strip().lower()
    if _is_text(media_type):
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(start, final=not more)
        return _printable(text)[:BODY_KEPT]
    size = f"over {BODY_READ}" if more else str(len(start))
    if not header:
        return f"(not stored: {size} bytes without a content type)"
    shown = media_type if MEDIA_TYPE.fullmatch(media_type) else "an invalid content type"
    return f"(not stored: {size} bytes of {shown})"


def pinned(url: str, address: destinations.IPAddress | None) -> tuple[str, dict[str, str], Any]:
    """Where to send a request for `url`: the URL, extra headers and httpx extensions. With an
    `address`, the request goes to that IP while `Host`, TLS's SNI and the certificate check
    keep the URL's host name."""
    if address is None:
        return url, {}, None
    parts = httpx.URL(url)
    target = parts.copy_with(host=str(address))
    name = parts.raw_host.decode("ascii")
    return str(target), {"host": parts.netloc.decode("ascii")}, {"sni_hostname": name}


async def _post(
    client: httpx.AsyncClient,
    attempt: Attempt,
    time_limit: float,
    address: destinations.IPAddress | None = None,
) -> Outcome:
    started = time.perf_counter()
    status: int | None = None
    body: str | None = None
    try:
        async with asyncio.timeout(time_limit):
            target, extra, extensions = pinned(attempt.url, address)
            request_headers = {**headers(attempt, clock.now()), **extra}
            async with client.stream(
                "POST",
                target,
                content=attempt.body.encode(),
                headers=request_headers,
                extensions=extensions,
            ) as response:
                status = response.status_code
                body = await stored_body(response)
    except TimeoutError:
        error: str | None = f"Timed out after {time_limit:g} s."
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception as exc:  # any failure of one attempt is that attempt's outcome
        error = f"{type(exc).__name__}: {exc}"
    else:
        error = None
    duration = round((time.perf_counter() - started) * 1000)
    if status is not None and 300 <= status < 400:
        error = f"Answered {status}: redirects are not followed."
    elif status is not None and not 200 <= status < 300:
        error = f"Answered {status}."
    succeeded = status is not None and 200 <= status < 300 and error is None
    return Outcome(
        attempt=attempt,
        succeeded=succeeded,
        sent=True,
        status_code=status,
        response_body=body,
        error=None if error is None else _clean(error, ERROR_KEPT),
        duration_ms=duration,
    )


async def send_all(
    attempts: Sequence[Attempt], *, time_limit: float, concurrency: int, allow_private: bool
) -> list[Outcome]:
    """Send every attempt, `concurrency` at a time in all and at most PER_ENDPOINT at a time
    to one endpoint, each endpoint over a pooled client of its own (httpx's pool costs grow
    with its connections squared). The URL is checked again first, in either mode (its DNS
    may have changed, and so may the operator's setting): a refused one is a failed attempt,
    and no request goes out; an allowed one goes to the address that was checked."""
    verdicts: dict[tuple[str, bool], asyncio.Task[destinations.Verdict]] = {}
    gate = asyncio.Semaphore(concurrency)
    per_endpoint = min(concurrency, PER_ENDPOINT)
    limits = httpx.Limits(max_connections=per_endpoint, max_keepalive_connections=per_endpoint)

    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, tuple[httpx.AsyncClient, asyncio.Semaphore]] = {}

        def client_for(endpoint_id: str) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
            if endpoint_id not in clients:
                client = httpx.AsyncClient(
                    timeout=time_limit,
                    follow_redirects=False,
                    trust_env=False,
                    limits=limits,
                    verify=_tls_context(),
                )
                stack.push_async_callback(client.aclose)
                clients[endpoint_id] = (client, asyncio.Semaphore(per_endpoint))
            return clients[endpoint_id]

        async def one(attempt: Attempt) -> Outcome:
            if not attempt.active:
                return Outcome(attempt, False, sent=False, error="The endpoint is disabled.")
            key = (attempt.url, attempt.livemode)
            if key not in verdicts:
                verdicts[key] = asyncio.ensure_future(
                    destinations.check(
                        attempt.url, livemode=attempt.livemode, allow_private=allow_private
                    )
                )
            verdict = await verdicts[key]
            if verdict.refusal is not None:
                error = _clean(f"Not sent: {verdict.refusal}", ERROR_KEPT)
                return Outcome(attempt, False, sent=False, error=error)
            client, endpoint_gate = client_for(attempt.endpoint_id)
            async with endpoint_gate, gate:
                return await _post(client, attempt, time_limit, verdict.address)

        return list(await asyncio.gather(*(one(a) for a in attempts)))

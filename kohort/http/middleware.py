"""Request ids, the per-request log line, the last-resort 500 envelope, and the limits on
request bodies (pure ASGI)."""

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kohort.errors import (
    AppError,
    InternalError,
    RequestTimeoutError,
    RequestTooLargeError,
    render_error,
)
from kohort.ids import new_request_id

log = logging.getLogger("kohort.request")

PAGE_PREFIXES = ("/w/", "/r/", "/dashboard/")
UPLOAD_PAGES = re.compile(r"/dashboard/o/[^/]+/brand")
"""Pages whose form carries a file (the brand's images): the API's body limit, not a page's."""
PageFor = Callable[[Scope, int], Response | None]
LINGER_S = 1.0
CLIENT_CLOSED = 499


class RequestContextMiddleware:
    """Gives every request a `req_…` id (state and `Request-Id` header) and logs one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"request-id"
                ]
                headers.append((b"request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            if not response_started:
                status = CLIENT_CLOSED
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            if not response_started:
                response = render_error(InternalError("An internal error occurred."), request_id)
                await response(scope, receive, send_with_id)
        finally:
            auth = state.get("auth")
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "organization_id": getattr(auth, "organization_id", None),
                },
            )


def declared_body(headers: Iterable[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    """The Content-Length of a request's ASGI headers (None if absent or unreadable), and
    whether its body is chunked."""
    length: int | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


def has_body(scope: Scope) -> bool:
    length, chunked = declared_body(scope["headers"])
    return chunked or bool(length)


class BodyLimitMiddleware:
    """A request body over `max_bytes` (`max_page_bytes` under /w/, /r/ and /dashboard/, the
    Brand page aside: its form carries images) is refused with
    413, at once when its Content-Length says so, else as soon as it passes the limit; one
    not complete `timeout` seconds after the headers, with 408. The refusal is the envelope
    (a page under /w/ and /r/), sent at once whatever the app does next; it closes the
    connection, as does any answer given before the body was read. `page` gives the page of
    a status under /w/ and /r/ (the pages' own, in the shopper's language)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_page_bytes: int,
        timeout: float,
        page: PageFor,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_page_bytes = max_page_bytes
        self.timeout = timeout
        self.page_for = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = declared_body(scope["headers"])
        if not length and not chunked:
            await self.app(scope, receive, send)
            return
        page = scope["path"].startswith(PAGE_PREFIXES)
        deadline = asyncio.get_running_loop().time() + self.timeout
        guard = _BodyGuard(
            scope,
            receive,
            send,
            limit=self.max_bytes
            if not page or UPLOAD_PAGES.fullmatch(scope["path"])
            else self.max_page_bytes,
            page_for=self.page_for if page else None,
            deadline=deadline,
            timeout=self.timeout,
        )
        if length is not None and length > guard.limit:
            await guard.refuse(guard.too_large())
            return
        try:
            await self.app(scope, guard.receive, guard.send)
        except (RequestTooLargeError, RequestTimeoutError):
            if not guard.refused:
                raise


class _BodyGuard:
    """One request's body as the app reads it, and the answer sent for it."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        limit: int,
        page_for: "PageFor | None",
        deadline: float,
        timeout: float,
    ) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.limit = limit
        self.page_for = page_for
        self.deadline = deadline
        self.timeout = timeout
        self.received = 0
        self.complete = False
        self.started = False
        self.refused = False

    def too_large(self) -> RequestTooLargeError:
        return RequestTooLargeError(f"The request body is larger than {self.limit} bytes.")

    async def receive(self) -> Message:
        if self.complete or self.refused:
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            late = RequestTimeoutError(
                f"The request body did not arrive within {self.timeout:g} s."
            )
            raise await self.refuse(late) from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise await self.refuse(self.too_large())
            self.complete = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if not self.refused:
            await self._deliver(message)

    async def refuse(self, error: AppError) -> AppError:
        """Answer `error` now, unless the app's answer has begun; the app's is dropped."""
        self.refused = True
        if not self.started:
            request_id = self.scope.get("state", {}).get("request_id") or new_request_id()
            page = self.page_for(self.scope, error.status) if self.page_for else None
            response = page or render_error(error, request_id)
            response.headers.setdefault("request-id", request_id)
            await response(self.scope, self._receive, self._deliver)
        return error

    async def _deliver(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if not self.complete:
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
        elif not message.get("more_body", False) and not self.complete:
            await self._send({**message, "more_body": True})
            await self._drain()
            message = {"type": "http.response.body", "body": b""}
        await self._send(message)

    async def _drain(self) -> None:
        """Read and drop the rest of the body for a moment before the connection closes, so
        that a client still sending it reads the answer (closing on unread data resets it)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LINGER_S):
                while not self.complete:
                    message = await self._receive()
                    more = message["type"] == "http.request" and message.get("more_body", False)
                    self.complete = not more

"""uvicorn's httptools protocol plus the connection limits uvicorn lacks (uvicorn keeps its
own keep-alive timeout, flow control and everything else):

* a request's headers must be complete within KOHORT_HEADER_TIMEOUT_SECONDS of the
  connection or of the previous response (else 408, or a silent close if nothing came) and
  within KOHORT_MAX_HEADER_BYTES (uvicorn's `h11_max_incomplete_event_size`; else 431);
* a process holds at most `connection_limit()` connections: one more closes the oldest
  connection that is waiting for a request, or itself when every one is in a request.

uvicorn takes it as `http=KohortHttpProtocol`, its extension point for protocols. Request
bodies are limited by `BodyLimitMiddleware`, where the answer can be the API's envelope."""

import asyncio
import contextlib
import functools
import json
import logging
import resource
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from kohort.config import Settings, get_settings
from kohort.errors import AppError, HeadersTooLargeError, RequestTimeoutError, error_body
from kohort.ids import new_request_id

log = logging.getLogger("kohort.http.server")

DEFAULT_MAX_HEADER_BYTES = 16_384
FULL_WARNING_INTERVAL_S = 60.0


def raise_open_files_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (inherited by the worker
    processes); the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_limit(settings: Settings) -> int:
    """KOHORT_MAX_CONNECTIONS, kept below the open-files limit less what the process needs
    besides (the database pool, the worker's webhook clients, files and sockets)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    reserve = 2 * settings.db_pool_size + settings.webhook_concurrency + 64
    return max(1, min(settings.max_connections, soft - reserve))


@functools.cache
def _limit() -> int:
    return connection_limit(get_settings())


class KohortHttpProtocol(HttpToolsProtocol):
    _last_full_warning = float("-inf")

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = get_settings().header_timeout_seconds
        self.max_header_bytes = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES
        self.header_bytes = 0
        """The current request's URL and headers, as parsed."""
        self.pending_bytes = 0
        """Bytes received while waiting for headers that are still incomplete."""
        self.waiting_since = 0.0
        self.header_deadline: asyncio.TimerHandle | None = None
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_headers()
        if len(self.connections) > _limit():
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        waiting = self.header_deadline is not None
        super().data_received(data)
        if waiting and self.header_deadline is not None and not self.refused:
            self.pending_bytes += len(data)
            if self.pending_bytes > self.max_header_bytes:
                self._refuse(HeadersTooLargeError("The request headers are too large."))

    def send_400_response(self, msg: str) -> None:
        if not self.refused:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        self.header_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_waiting()
        if not self.refused:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle.response_complete:
            self._wait_for_headers()

    def _count(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > self.max_header_bytes and not self.refused:
            self._refuse(HeadersTooLargeError("The request headers are too large."))

    def _wait_for_headers(self) -> None:
        self._stop_waiting()
        self.header_bytes = self.pending_bytes = 0
        self.waiting_since = self.loop.time()
        self.header_deadline = self.loop.call_later(self.header_timeout, self._headers_late)

    def _stop_waiting(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_late(self) -> None:
        self.header_deadline = None
        if self.pending_bytes or self.header_bytes:
            self._refuse(RequestTimeoutError("The request headers did not arrive in time."))
        else:
            self.transport.close()

    def _make_room(self) -> None:
        waiting = [
            c
            for c in self.connections
            if isinstance(c, KohortHttpProtocol) and c is not self and c.header_deadline is not None
        ]
        now = self.loop.time()
        if now - KohortHttpProtocol._last_full_warning > FULL_WARNING_INTERVAL_S:
            KohortHttpProtocol._last_full_warning = now
            log.warning("connection limit (%d) reached: closing idle connections", _limit())
        if not waiting:
            self.transport.close()
            return
        oldest = min(waiting, key=lambda c: c.waiting_since)
        oldest._stop_waiting()
        oldest.transport.close()

    def _refuse(self, error: AppError) -> None:
        """Answer `error` in the envelope before any request reached the app, and close."""
        self.refused = True
        self._stop_waiting()
        request_id = new_request_id()
        body = error_body(
            type_=error.type,
            code=error.code,
            message=error.message,
            param=None,
            request_id=request_id,
        )
        content = json.dumps(body, separators=(",", ":")).encode()
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            (b"request-id", request_id.encode()),
            (b"connection", b"close"),
        ]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[error.status] + head + b"\r\n" + content)
        self.transport.close()
        log.info(
            "refused before the request: %s %s",
            error.status,
            error.code,
            extra={"request_id": request_id, "status": error.status},
        )

"""A real HTTP receiver on loopback for the webhook tests: it records every request under
its own random path (another test's late delivery to a reused port is not counted), and
answers what the test scripts: a status per request, a body and its type, a redirect, or a
hang."""

import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> Any:
        """The event, verified with `secret` under the `webhook-*` headers and again under the
        `svix-*` ones (mapped to the names the library reads); raises if either fails."""
        standard = {k: v for k, v in self.headers.items() if k.startswith("webhook-")}
        svix = {
            k.replace("svix-", "webhook-"): v
            for k, v in self.headers.items()
            if k.startswith("svix-")
        }
        assert (
            set(svix) == set(standard) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        )
        event = Webhook(secret).verify(self.body, standard)
        assert Webhook(secret).verify(self.body, svix) == event
        return event

    def verifies_with(self, secret: str) -> bool:
        try:
            self.verify(secret)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    port: int
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """Statuses for the next requests, in order; 200 once empty."""
    answer_body: bytes | None = None
    """The body of every answer; None: `answer <status>`."""
    answer_type: str | None = "text/plain; charset=utf-8"
    """The answers' Content-Type; None: no such header."""
    hang_next: int = 0
    """How many of the next requests get no answer until `release` is set."""
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str = "hook") -> str:
        return f"http://127.0.0.1:{self.port}/{self.token}/{name}"

    def received(self, name: str | None = None) -> list[Received]:
        with self.lock:
            found = list(self.requests)
        if name is None:
            return found
        return [r for r in found if r.path == f"/{self.token}/{name}"]

    def _next(self) -> tuple[int, bool]:
        with self.lock:
            hang = self.hang_next > 0
            if hang:
                self.hang_next -= 1
            status = self.answers.pop(0) if self.answers else 200
        return status, hang


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if not self.path.startswith(f"/{receiver.token}/"):
                self._answer(404, b"not mine")
                return
            with receiver.lock:
                receiver.requests.append(
                    Received(
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
            receiver.arrived.set()
            status, hang = receiver._next()
            if hang:
                receiver.release.wait(timeout=30)
                return
            answer = receiver.answer_body
            self._answer(status, f"answer {status}".encode() if answer is None else answer)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", receiver.url("redirected"))
            if receiver.answer_type is not None:
                self.send_header("Content-Type", receiver.answer_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (over TLS with `tls`, a server-side context)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(port=server.server_address[1])
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (a receiver that is down)."""
    with running_receiver() as receiver:
        url = receiver.url()
    return url

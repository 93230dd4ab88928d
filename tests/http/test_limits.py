"""Limits on what a client may hold or send (docs/api.md, "Limits and timeouts"), on a real
`kohort serve` over real sockets: slow or idle connections are closed, oversized bodies are
refused before they are read, a stranger's body is never read, and a process full of idle
connections still answers /health."""

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve import Server, serving
from tests.shapes import REQUEST_ID

pytestmark = pytest.mark.slow

MAX_BODY = 65_536
MAX_PAGE_BODY = 16_384
READ_TIMEOUT_S = 6.0
"""Far above the 1 s timeouts the server runs with here: a bound on waiting, not a speed."""


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "KOHORT_HEADER_TIMEOUT_SECONDS": "1",
        "KOHORT_BODY_TIMEOUT_SECONDS": "1",
        "KOHORT_MAX_BODY_BYTES": str(MAX_BODY),
        "KOHORT_MAX_PAGE_BODY_BYTES": str(MAX_PAGE_BODY),
        "KOHORT_WORKER": "off",
    }
    with serving(tmp_path_factory.mktemp("limits"), workers=1, env=env) as server:
        yield server


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/json", self.headers
        envelope: dict[str, Any] = json.loads(self.body)["error"]
        assert REQUEST_ID.match(envelope["requestId"])
        assert envelope["requestId"] == self.headers["request-id"]
        return envelope


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT_S)


def head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: kohort.test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> Answer:
    """The next response on `sock`; a TimeoutError if none comes within the read timeout."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65_536)
        assert chunk, f"closed without an answer after {data!r}"
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body[:length])


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection before the read timeout."""
    try:
        while sock.recv(65_536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def trickle(sock: socket.socket, piece: bytes) -> None:
    """Send `piece` every 0.2 s until the server answers or closes (within the read timeout)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            sock.sendall(piece)
            with contextlib.suppress(TimeoutError):
                sock.recv(1, socket.MSG_PEEK)
                return
    except OSError:
        return
    finally:
        sock.settimeout(READ_TIMEOUT_S)


def test_an_idle_connection_is_closed_after_the_header_timeout(limited: Server) -> None:
    with connect(limited) as sock:
        assert sock.recv(1) == b""


def test_headers_trickled_past_the_header_timeout_get_408(limited: Server) -> None:
    with connect(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: kohort.test\r\n")
        trickle(sock, b"X-Slow: 1\r\n")
        answer = read_answer(sock)
        assert answer.status == 408
        assert answer.error()["code"] == "REQUEST_TIMEOUT"
        assert closed_by_server(sock)


def test_a_body_trickled_past_the_body_timeout_gets_408(limited: Server) -> None:
    with connect(limited) as sock:
        sock.sendall(
            head(
                "POST",
                "/customers",
                f"Authorization: Bearer {limited.key}",
                "Content-Type: application/json",
                "Content-Length: 100",
            )
        )
        trickle(sock, b" ")
        answer = read_answer(sock)
        assert answer.status == 408
        error = answer.error()
        assert (error["type"], error["code"]) == ("invalid_request_error", "REQUEST_TIMEOUT")
        assert answer.headers["connection"] == "close"
        assert closed_by_server(sock)


def test_a_content_length_over_the_limit_is_refused_before_the_body(limited: Server) -> None:
    with connect(limited) as sock:
        sock.sendall(
            head(
                "POST",
                "/customers",
                f"Authorization: Bearer {limited.key}",
                "Content-Length: 100000000",
            )
        )
        answer = read_answer(sock)
    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    error = answer.error()
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "REQUEST_TOO_LARGE",
        None,
    )
    assert str(MAX_BODY) in error["message"]


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(limited: Server) -> None:
    chunk = b"x" * 8192
    with connect(limited) as sock:
        sock.sendall(
            head(
                "POST",
                "/customers",
                f"Authorization: Bearer {limited.key}",
                "Transfer-Encoding: chunked",
            )
        )
        for _ in range(2 * MAX_BODY // len(chunk)):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = read_answer(sock)
    assert answer.status == 413
    assert answer.error()["code"] == "REQUEST_TOO_LARGE"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "API_KEY_MISSING", id="no-key"),
        pytest.param("Bearer sk_test_" + "A1b2C3d4" * 5, "INVALID_API_KEY", id="unknown-key"),
        pytest.param("Token abc", "INVALID_AUTHORIZATION_HEADER", id="malformed"),
    ],
)
@pytest.mark.parametrize("framing", ["Content-Length: 60000", "Transfer-Encoding: chunked"])
def test_a_body_without_a_valid_key_is_not_read(
    limited: Server, authorization: str | None, code: str, framing: str
) -> None:
    headers = [framing] + ([f"Authorization: {authorization}"] if authorization else [])
    with connect(limited) as sock:
        sock.sendall(head("POST", "/customers", *headers))
        sock.sendall(b'a\r\n{"firstNam\r\n' if "chunked" in framing else b'{"firstNam')
        answer = read_answer(sock)
    assert answer.status == 401
    assert answer.error()["code"] == code
    assert answer.headers["connection"] == "close"


def test_a_page_body_over_its_limit_gets_a_page(limited: Server) -> None:
    with connect(limited) as sock:
        sock.sendall(
            head(
                "POST",
                "/w/ord_unknown?token=t",
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {MAX_PAGE_BODY + 1}",
            )
        )
        answer = read_answer(sock)
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    assert b"<!doctype html>" in answer.body.lower()
    assert REQUEST_ID.match(answer.headers["request-id"])


def test_a_page_body_within_its_limit_is_read(limited: Server) -> None:
    """The limit is the page's, not the connection's: a form under it reaches the page."""
    form = b"holder=A&iban=B"
    response = httpx.post(
        f"{limited.base_url}/w/ord_unknown?token=t",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=READ_TIMEOUT_S,
    )
    assert response.status_code in (400, 403, 404), response.text
    assert response.headers["content-type"].startswith("text/html")


def test_headers_over_the_size_limit_get_431(limited: Server) -> None:
    with connect(limited) as sock:
        sock.sendall(head("GET", "/health", "X-Big: " + "a" * 40_000))
        answer = read_answer(sock)
        assert answer.status == 431
        assert answer.error()["code"] == "REQUEST_HEADERS_TOO_LARGE"
        assert closed_by_server(sock)


def test_a_body_within_the_limit_still_works(limited: Server) -> None:
    response = httpx.post(
        f"{limited.base_url}/customers",
        json={"emailAddress": "limits@example.com", "firstName": "L" * 40_000},
        headers={"Authorization": f"Bearer {limited.key}"},
        timeout=READ_TIMEOUT_S,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


OPEN_FILES = 256
IDLE = 300


def test_health_answers_with_idle_connections_past_the_limit(tmp_path: Path) -> None:
    """`ulimit -n 256` and 300 idle sockets: the oldest idle ones are closed to let a new
    connection in (the header timeout, 10 s, has not closed any yet)."""
    with serving(tmp_path, workers=1, env={"KOHORT_WORKER": "off"}, open_files=OPEN_FILES) as s:
        sockets = [connect(s) for _ in range(IDLE)]
        try:
            response = httpx.get(f"{s.base_url}/health", timeout=READ_TIMEOUT_S)
            assert response.status_code == 200
            closed = 0
            for sock in sockets:
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    closed += sock.recv(1) == b""
            assert 0 < closed < IDLE
        finally:
            for sock in sockets:
                sock.close()

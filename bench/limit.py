"""The hand-written limit: what Kohort's three sale-day routes could cost at best on the same
server, database and rows (issue 17).

A raw ASGI app (`async def app(scope, receive, send)`: no Starlette, no FastAPI, no ORM), served
by the same uvicorn as `kohort serve` (uvloop, httptools, keep-alive 5 s, no access log; one
process, or `--workers N`), on the database of KOHORT_DATABASE_URL. It answers:

* `GET /groups/{id}` (id or share code) and `POST /groups/{code}/validate`: the same statement
  as Kohort and byte-identical JSON (same keys in the same order, same formatting, same
  `content-type`, `kohort-version` and `request-id` headers);
* `POST /orders` joining the group of `paymentGroupShareId`: Kohort's reads and the rows a
  LOW-risk join writes, in one transaction, answering the Order object (bench/limit_join.py).

Each checks the API key as Kohort does (`Authorization: Bearer sk_…`, the SHA-256 looked up
in `api_keys` with its organization's API version, remembered KOHORT_KEY_CACHE_SECONDS as
Kohort's KeyCache does, `last_used_at` written once a minute); 401 otherwise. Database calls:
bench/limit_db.py (SQLite on the loop, or one thread hop per request with `--sqlite-thread`;
psycopg 3 async with prepared statements on PostgreSQL). Off the happy path, where Kohort
answers something the limit does not copy (a publishable key's public view, the `kohortpay`
version, an Idempotency-Key, a join turned into the order's own group), it answers 501
LIMIT_UNSUPPORTED.

    KOHORT_DATABASE_URL=sqlite+aiosqlite:///./data/kohort.db \\
        .venv/bin/python bench/limit.py serve [--port 8001] [--workers 1] [--sqlite-thread]
    .venv/bin/python bench/limit.py check --kohort http://127.0.0.1:8000 \\
        --limit http://127.0.0.1:8001 --key sk_test_… [--sample 50] [--joins 5]

`check` (also what bench/api.py runs before measuring) compares the two servers on groups of
the key's organization (bench/limit_check.py): the bytes of GET and validate, and for joins the
answer's keys, order and types and the rows each join wrote; it exits 1 on a difference.
"""

import argparse
import hashlib
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.limit_db import Database, open_database, stored_time
from bench.limit_groups import Caller, Refusal, get_group, unsupported, validate
from bench.limit_join import join, purchase_of

ROOT = Path(__file__).resolve().parent.parent
CURRENT_VERSION = b"2026-12-01"
KEY_PATTERN = re.compile(r"^(sk|pk)_(live|test)_[A-Za-z0-9]{32,128}$")
LAST_USED_RESOLUTION_S = 60.0
KEY_CACHE_SIZE = 10_000
KEY = (
    "SELECT k.id, k.type, k.organization_id, k.livemode, k.preview, k.expires_at, "
    "k.revoked_at, k.last_used_at, k.api_version, o.api_version FROM api_keys AS k "
    "JOIN organizations AS o ON o.id = k.organization_id WHERE k.key_hash = ?"
)
MARK_USED = (
    "UPDATE api_keys SET last_used_at = ? WHERE id = ? "
    "AND (last_used_at IS NULL OR last_used_at < ?)"
)
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _epoch(value: datetime | str | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Known:
    caller: Caller
    secret: bool
    version: str
    preview: str
    expires: float | None
    used: float
    seen: float


class Keys:
    """Kohort's KeyCache and key lookup: a key is remembered `ttl` seconds by its SHA-256 and
    spares the lookup while its `last_used_at` is under a minute old."""

    def __init__(self, db: Database, ttl: float) -> None:
        self.db, self.ttl = db, ttl
        self.known: dict[str, Known] = {}

    async def caller(self, header: bytes | None) -> Known:
        key = _key_of(header)
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        now = time.time()
        known = self.known.get(key_hash)
        if known is not None and now - known.seen <= self.ttl:
            if known.expires is not None and known.expires <= now:
                raise _auth("API_KEY_EXPIRED", f"This API key expired: {known.preview}")
            if known.used >= now - LAST_USED_RESOLUTION_S:
                return known
        return await self._look_up(key, key_hash, now)

    async def _look_up(self, key: str, key_hash: str, now: float) -> Known:
        if not KEY_PATTERN.match(key):
            raise _auth("INVALID_API_KEY", "Invalid API key provided.")
        row = await self.db.read(lambda tx: tx.one(KEY, (key_hash,)))
        if row is None:
            preview = f"{key[: key.index('_', 3) + 1]}…{key[-4:]}"
            raise _auth("INVALID_API_KEY", f"Invalid API key provided: {preview}")
        key_id, kind, organization_id, livemode, preview, expires_at, revoked_at = row[:7]
        if revoked_at is not None:
            raise _auth("API_KEY_REVOKED", f"This API key was revoked: {preview}")
        expires = _epoch(expires_at)
        if expires is not None and expires <= now:
            raise _auth("API_KEY_EXPIRED", f"This API key expired: {preview}")
        used = _epoch(row[7])
        if used is None or used < now - LAST_USED_RESOLUTION_S:
            moment = datetime.fromtimestamp(now, UTC)
            stale = stored_time(datetime.fromtimestamp(now - LAST_USED_RESOLUTION_S, UTC))
            await self.db.write(lambda tx: tx.run(MARK_USED, (stored_time(moment), key_id, stale)))
            used = now
        known = Known(
            caller=Caller(key_id, organization_id, bool(livemode)),
            secret=kind == "SECRET",
            version=row[8] or row[9],
            preview=preview,
            expires=expires,
            used=used,
            seen=now,
        )
        if self.ttl > 0:
            if len(self.known) >= KEY_CACHE_SIZE:
                self.known.clear()
            self.known[key_hash] = known
        return known


def _auth(code: str, message: str) -> Refusal:
    return Refusal(401, code, message)


def _key_of(header: bytes | None) -> str:
    if header is None or not header.strip():
        raise _auth(
            "API_KEY_MISSING",
            "No API key provided. Send 'Authorization: Bearer <key>' "
            "or HTTP Basic auth with the key as user name.",
        )
    scheme, _, credentials = header.decode("latin-1").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    raise unsupported("an Authorization header other than Bearer")


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
}


def _error_body(refusal: Refusal, request_id: str) -> bytes:
    error = {
        "type": ERROR_TYPES.get(refusal.status, "api_error"),
        "code": refusal.code,
        "message": refusal.message,
        "param": refusal.param,
        "requestId": request_id,
    }
    return json.dumps({"error": error}, separators=(",", ":")).encode()


async def _body(receive: Receive) -> dict[str, Any]:
    """The request's JSON object (whatever its content type, as Kohort reads it)."""
    message = await receive()
    chunks = [message.get("body", b"")]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    raw = b"".join(chunks)
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except ValueError:
        raise Refusal(400, "INVALID_JSON", "The request body is not valid JSON (UTF-8).") from None
    if not isinstance(document, dict):
        raise unsupported("a body that is not a JSON object")
    return document


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI app (uvicorn's factory): its database opens at the lifespan's start."""
    state: dict[str, Any] = {}

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                db = open_database(
                    os.environ.get("KOHORT_DATABASE_URL", "sqlite+aiosqlite:///./data/kohort.db"),
                    sqlite_thread=os.environ.get("KOHORT_LIMIT_SQLITE_THREAD") == "1",
                    pool_size=int(os.environ.get("KOHORT_DB_POOL_SIZE", "10")),
                )
                state["keys"] = Keys(db, float(os.environ.get("KOHORT_KEY_CACHE_SECONDS", "2")))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await state["keys"].db.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def route(scope: Scope, receive: Receive, headers: dict[bytes, bytes]) -> Any:
        method, path = scope["method"], scope["path"]
        orders = method == "POST" and path == "/orders"
        groups = path.startswith("/groups/") and path.count("/") <= 3
        if not orders and not groups:
            raise unsupported(f"{method} {path} is not served")
        keys: Keys = state["keys"]
        known = await keys.caller(headers.get(b"authorization"))
        version = headers.get(b"kohort-version", known.version.encode()).strip()
        if not known.secret or version != CURRENT_VERSION or b"idempotency-key" in headers:
            raise unsupported(
                "publishable keys, API versions other than the current one, Idempotency-Key"
            )
        if orders:
            return 201, await join(keys.db, known.caller, purchase_of(await _body(receive)))
        rest = path[len("/groups/") :]
        if method == "GET" and "/" not in rest:
            return 200, await get_group(keys.db, known.caller, rest)
        code, _, action = rest.partition("/")
        if method == "POST" and action == "validate":
            return 200, await validate(keys.db, known.caller, code, await _body(receive))
        raise unsupported(f"{method} {path} is not served")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        request_id = f"req_{secrets.token_hex(12)}"
        headers = dict(scope["headers"])
        extra: list[tuple[bytes, bytes]] = []
        try:
            status, document = await route(scope, receive, headers)
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        except Refusal as refusal:
            status, body = refusal.status, _error_body(refusal, request_id)
            if status == 401:
                extra.append((b"www-authenticate", b'Bearer realm="kohort"'))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *extra,
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                    (b"kohort-version", CURRENT_VERSION),
                    (b"request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def serve(args: argparse.Namespace) -> None:
    """uvicorn as `kohort serve` runs it (kohort/cli.py), the limit's app instead of Kohort's."""
    import uvicorn

    if args.sqlite_thread:
        os.environ["KOHORT_LIMIT_SQLITE_THREAD"] = "1"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    uvicorn.run(
        "bench.limit:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http="httptools",
        access_log=False,
        proxy_headers=True,
        timeout_keep_alive=5,
        log_level="warning",
        timeout_worker_healthcheck=30,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    served = commands.add_parser("serve", help="serve the limit")
    served.add_argument("--host", default="127.0.0.1")
    served.add_argument("--port", type=int, default=8001)
    served.add_argument("--workers", type=int, default=1)
    served.add_argument("--sqlite-thread", action="store_true")
    checked = commands.add_parser("check", help="compare Kohort's answers and the limit's")
    checked.add_argument("--kohort", required=True, help="Kohort's base URL")
    checked.add_argument("--limit", required=True, help="the limit's base URL")
    checked.add_argument("--key", required=True, help="a secret key of both servers' database")
    checked.add_argument("--sample", type=int, default=50)
    checked.add_argument("--joins", type=int, default=5)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return
    from bench.limit_check import check

    url = os.environ.get("KOHORT_DATABASE_URL", "sqlite+aiosqlite:///./data/kohort.db")
    problems = check(args.kohort, args.limit, args.key, url, sample=args.sample, joins=args.joins)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

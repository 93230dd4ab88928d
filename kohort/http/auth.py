"""Who is calling: the API key from `Authorization` (Bearer or Basic), its organization and mode."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.api_key import service as api_keys
from kohort.api_key.errors import (
    ExpiredApiKeyError,
    MalformedAuthorizationError,
    MissingApiKeyError,
    PublishableKeyNotAllowedError,
)
from kohort.api_key.repository import SECRET
from kohort.db import Database
from kohort.errors import ValidationError
from kohort.http.commit import after_commit
from kohort.models import ApiKey


@dataclass(frozen=True)
class AuthContext:
    key_id: str
    key_type: str
    organization_id: str
    livemode: bool
    api_version: str
    """The key's pinned API version, else its organization's (a header may override it)."""

    @property
    def is_secret(self) -> bool:
        return self.key_type == SECRET


def key_from_header(header: str | None) -> str:
    """The API key carried by an `Authorization` header, or the 401 that says what is wrong."""
    if header is None or not header.strip():
        raise MissingApiKeyError(
            "No API key provided. Send 'Authorization: Bearer <key>' "
            "or HTTP Basic auth with the key as user name."
        )
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise MalformedAuthorizationError(
                "The Basic credentials are not valid base64."
            ) from None
        user, colon, password = decoded.partition(":")
        if user and colon and password:
            raise MalformedAuthorizationError(
                "Basic credentials carry the key as user name and an empty password "
                "('<key>:', as curl -u <key>: sends)."
            )
        if user and colon:
            return user
    raise MalformedAuthorizationError(
        "Malformed Authorization header: use 'Bearer <key>' or Basic with the key as user name."
    )


def key_of(request: Request) -> str:
    """The request's API key; several `Authorization` headers are refused (400), not chosen
    from."""
    headers = request.headers.getlist("authorization")
    if len(headers) > 1:
        raise ValidationError("Send one Authorization header.", param="Authorization")
    return key_from_header(headers[0] if headers else None)


def _context_of(record: ApiKey, organization_version: str) -> AuthContext:
    return AuthContext(
        key_id=record.id,
        key_type=record.type,
        organization_id=record.organization_id,
        livemode=record.livemode,
        api_version=record.api_version or organization_version,
    )


@dataclass(frozen=True)
class _Known:
    """What authentication needs of a key record, remembered for a moment."""

    context: AuthContext
    preview: str
    expires_at: datetime | None
    last_used_at: datetime | None
    seen_at: float


class KeyCache:
    """Recently authenticated keys (by SHA-256), so most requests skip the key lookup.

    An entry lives `ttl` seconds; revoking or rolling a key forgets it at once in this process,
    and other processes notice within `ttl`. Expiry is checked on every use."""

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._known: dict[str, _Known] = {}

    def get(self, key_hash: str) -> _Known | None:
        known = self._known.get(key_hash)
        if known is None or clock.now().timestamp() - known.seen_at > self.ttl:
            return None
        return known

    def recall(self, key_hash: str, now: datetime) -> AuthContext | None:
        """The remembered key's context when it spares the lookup: known, its `lastUsedAt`
        recent; an expiry passed since is refused all the same."""
        known = self.get(key_hash)
        if known is None:
            return None
        if known.expires_at is not None and known.expires_at <= now:
            raise ExpiredApiKeyError(f"This API key expired: {known.preview}")
        if known.last_used_at is not None and not api_keys.is_stale(known.last_used_at, now):
            return known.context
        return None

    def put(self, key_hash: str, record: ApiKey, organization_version: str) -> None:
        if self.ttl <= 0:
            return
        if len(self._known) >= self.size:
            self._known.clear()
        self._known[key_hash] = _Known(
            context=_context_of(record, organization_version),
            preview=record.preview,
            expires_at=record.expires_at,
            last_used_at=record.last_used_at,
            seen_at=clock.now().timestamp(),
        )

    def forget(self, key_id: str) -> None:
        for key_hash, known in list(self._known.items()):
            if known.context.key_id == key_id:
                del self._known[key_hash]

    def forget_organization(self, organization_id: str) -> None:
        """Its default API version changed: every key of it is looked up again."""
        for key_hash, known in list(self._known.items()):
            if known.context.organization_id == organization_id:
                del self._known[key_hash]


async def authenticate_request(request: Request, db: Database) -> AuthContext:
    """Authenticate before the request's transaction (before its body is read): from the key
    cache, else in a short read of its own and `lastUsedAt` in a write, once a minute."""
    key = key_of(request)
    cache: KeyCache = request.app.state.key_cache
    key_hash = api_keys.hash_key(key)
    remembered = cache.recall(key_hash, clock.now())
    if remembered is not None:
        return remembered
    async with db.read() as session:
        record, organization_version = await api_keys.authenticate(session, key)
    if api_keys.last_use_is_stale(record, clock.now()):
        async with db.write() as session:
            await api_keys.record_use(session, record)
    cache.put(key_hash, record, organization_version)
    return _context_of(record, organization_version)


async def authenticate_in(
    session: AsyncSession, request: Request, db: Database, *, writes: bool
) -> AuthContext:
    """Authenticate inside the request's own transaction (one transaction per request), or
    from the key cache.

    A write transaction records `lastUsedAt` itself; a read one shows it at once and leaves
    the write to `record_pending_use`, after the transaction (once a minute per key)."""
    key = key_of(request)
    cache: KeyCache = request.app.state.key_cache
    key_hash = api_keys.hash_key(key)
    now = clock.now()
    remembered = cache.recall(key_hash, now)
    if remembered is not None:
        return remembered
    record, organization_version = await api_keys.authenticate(session, key)
    # Held for the request: the session's identity map then keeps the lastUsedAt just written.
    request.state.api_key = record
    if api_keys.last_use_is_stale(record, now):
        if writes:
            await api_keys.record_use(session, record)
        else:
            api_keys.note_use(record, now)
            request.state.unrecorded_use = record.id
    cache.put(key_hash, record, organization_version)
    return _context_of(record, organization_version)


async def record_pending_use(request: Request, db: Database) -> None:
    """A read request's `lastUsedAt`, written once its own transaction is over: holding one
    connection while waiting for another could exhaust the pool under load."""
    key_id = getattr(request.state, "unrecorded_use", None)
    if key_id is not None:
        async with db.write() as writer:
            await api_keys.record_use_of(writer, key_id)


def forget_key(request: Request, key_id: str) -> None:
    """On a revoke or a roll: this process stops trusting its memory of the key, now and
    again once the change is committed (a request in between may have remembered it)."""
    cache: KeyCache = request.app.state.key_cache
    cache.forget(key_id)
    after_commit(request, lambda: cache.forget(key_id))


SCHEMES = (
    HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`"),
    HTTPBasic(auto_error=False, description="The key as user name, empty password."),
)
"""How a key is sent, as the OpenAPI document declares it on every route that takes one
(`kohort.http.openapi`). They are not the routes' dependencies: `KohortRoute` reads the header
once (`authenticate_request`), and as dependencies they would parse it again on every request."""


def _context(request: Request) -> AuthContext:
    context: AuthContext = request.state.auth
    return context


async def any_key(request: Request) -> AuthContext:
    """Any valid key, publishable included (the routes of API.md §1.2 that allow them)."""
    return _context(request)


def require_secret(auth: AuthContext) -> AuthContext:
    if not auth.is_secret:
        raise PublishableKeyNotAllowedError(
            "Publishable keys cannot call this route; use a secret key from your server."
        )
    return auth


async def secret_key(auth: Annotated[AuthContext, Depends(any_key)]) -> AuthContext:
    """A secret key only. On a `KohortRoute`'s own parameters `require_secret` runs before
    the handler instead (`kohort.http.routing`), the parameter taken from the request."""
    return require_secret(auth)


AnyKey = Annotated[AuthContext, Depends(any_key)]
SecretKey = Annotated[AuthContext, Depends(secret_key)]

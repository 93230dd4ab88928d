"""Who is calling: the API key from `Authorization` (Bearer or Basic), its organization and mode."""

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBasic, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.api_key import service as api_keys
from kohort.api_key.errors import (
    MalformedAuthorizationError,
    MissingApiKeyError,
    PublishableKeyNotAllowedError,
)
from kohort.api_key.repository import SECRET
from kohort.db import Database
from kohort.models import ApiKey


@dataclass(frozen=True)
class AuthContext:
    key_id: str
    key_type: str
    organization_id: str
    livemode: bool

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
        user, colon, _password = decoded.partition(":")
        if user and colon:
            return user
    raise MalformedAuthorizationError(
        "Malformed Authorization header: use 'Bearer <key>' or Basic with the key as user name."
    )


def _context_of(record: ApiKey) -> AuthContext:
    return AuthContext(
        key_id=record.id,
        key_type=record.type,
        organization_id=record.organization_id,
        livemode=record.livemode,
    )


async def authenticate_request(request: Request, db: Database) -> AuthContext:
    """Authenticate in a short read of its own; `lastUsedAt` in a write, once a minute."""
    key = key_from_header(request.headers.get("authorization"))
    async with db.read() as session:
        record = await api_keys.authenticate(session, key)
    if api_keys.last_use_is_stale(record, clock.now()):
        async with db.write() as session:
            await api_keys.record_use(session, record)
    return _context_of(record)


async def authenticate_in(
    session: AsyncSession, request: Request, db: Database, *, writes: bool
) -> AuthContext:
    """Authenticate inside the request's own transaction (one transaction per request).

    A write transaction records `lastUsedAt` itself; a read one leaves it to a short write of
    its own (once a minute per key), since it cannot write."""
    key = key_from_header(request.headers.get("authorization"))
    record = await api_keys.authenticate(session, key)
    # Held for the request: the session's identity map then keeps the lastUsedAt just written.
    request.state.api_key = record
    if api_keys.last_use_is_stale(record, clock.now()):
        if writes:
            await api_keys.record_use(session, record)
        else:
            async with db.write() as writer:
                await api_keys.record_use(writer, record)
    return _context_of(record)


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_basic = HTTPBasic(auto_error=False, description="The key as user name, empty password.")


def _context(request: Request) -> AuthContext:
    context: AuthContext = request.state.auth
    return context


async def any_key(
    request: Request,
    _bearer_credentials: Annotated[object, Security(_bearer)] = None,
    _basic_credentials: Annotated[object, Security(_basic)] = None,
) -> AuthContext:
    """Any valid key, publishable included (the routes of API.md §1.2 that allow them)."""
    return _context(request)


async def secret_key(auth: Annotated[AuthContext, Depends(any_key)]) -> AuthContext:
    if not auth.is_secret:
        raise PublishableKeyNotAllowedError(
            "Publishable keys cannot call this route; use a secret key from your server."
        )
    return auth


AnyKey = Annotated[AuthContext, Depends(any_key)]
SecretKey = Annotated[AuthContext, Depends(secret_key)]

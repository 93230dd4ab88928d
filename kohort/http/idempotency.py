"""Idempotency keys (API.md §1.6), stored in the database and scoped to organization and mode.

A POST with `Idempotency-Key` first *claims* the key in its own committed transaction, so a
concurrent retry sees it in progress. The response is then stored in the same transaction as
the work itself, so a replay can never disagree with what was written. A claim whose request
died (no response after `ABANDONED_AFTER`) may be taken over by the next retry.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.db import Database
from kohort.errors import AppError, ValidationError
from kohort.models import IdempotencyKey

TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
PURGE_BATCH = 1000


class IdempotencyKeyReusedError(AppError):
    status = 409
    code = "IDEMPOTENCY_KEY_REUSED"
    error_type = "idempotency_error"


class IdempotencyInProgressError(AppError):
    status = 409
    code = "IDEMPOTENCY_REQUEST_IN_PROGRESS"
    error_type = "idempotency_error"


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes
    request_id: str | None


@dataclass(frozen=True)
class Claim:
    id: int


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Same method, path and JSON body (whatever its key order or spacing) → same fingerprint."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body  # not JSON (or nested past what it can read): the handler says 400
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            param="Idempotency-Key",
        )
    return key


async def claim(
    db: Database, *, organization_id: str, livemode: bool, key: str, fingerprint: str
) -> Claim | Replay:
    now = clock.now()
    try:
        async with db.write() as session:
            return await _claim(session, organization_id, livemode, key, fingerprint, now)
    except IntegrityError:
        raise IdempotencyInProgressError(
            "A request with this Idempotency-Key is still being processed; retry later."
        ) from None


async def _claim(
    session: AsyncSession,
    organization_id: str,
    livemode: bool,
    key: str,
    fingerprint: str,
    now: datetime,
) -> Claim | Replay:
    stmt = select(IdempotencyKey).where(
        IdempotencyKey.organization_id == organization_id,
        IdempotencyKey.livemode == livemode,
        IdempotencyKey.key == key,
    )
    row = (await session.execute(stmt.with_for_update())).scalar_one_or_none()
    if row is not None and row.expires_at <= now:
        await session.delete(row)
        await session.flush()
        row = None
    if row is None:
        row = IdempotencyKey(
            organization_id=organization_id,
            livemode=livemode,
            key=key,
            request_hash=fingerprint,
            locked_at=now,
            created_at=now,
            expires_at=now + TTL,
        )
        session.add(row)
        await session.flush()
        return Claim(id=row.id)
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with another request; use a new key.",
        )
    if row.response_status is None or row.response_body is None:
        if row.locked_at is not None and row.locked_at > now - ABANDONED_AFTER:
            raise IdempotencyInProgressError(
                "A request with this Idempotency-Key is still being processed; retry later."
            )
        row.locked_at = now
        return Claim(id=row.id)
    return Replay(status=row.response_status, body=row.response_body, request_id=row.request_id)


async def complete(
    session: AsyncSession, claim_: Claim, *, status: int, body: bytes, request_id: str
) -> None:
    """Store the response; call inside the transaction that did the work."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_.id)
        .values(response_status=status, response_body=body, request_id=request_id, locked_at=None)
    )


async def release(db: Database, claim_: Claim) -> None:
    """Forget a claim whose request did not run (bad input or a server error)."""
    async with db.write() as session:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim_.id))


async def purge_expired(session: AsyncSession, *, limit: int = PURGE_BATCH) -> int:
    now = clock.now()
    ids = select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= now).limit(limit)
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

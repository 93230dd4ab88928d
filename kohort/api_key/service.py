"""API keys: creation, authentication, roll with an overlap window, revocation.

A key is `{sk|pk}_{live|test}_` + 40 random characters; only its SHA-256 and a preview are
stored, so authentication is one lookup on a unique index.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from kohort import clock
from kohort.api_key import repository
from kohort.api_key.errors import (
    ApiKeyAlreadyRolledError,
    ApiKeyNotFoundError,
    ExpiredApiKeyError,
    InvalidApiKeyError,
    LastSecretKeyError,
    RevokedApiKeyError,
)
from kohort.api_key.schemas import ApiKeyRead
from kohort.audit import service as audit
from kohort.ids import new_id, new_key_secret
from kohort.models import ApiKey

KEY_PATTERN = re.compile(r"^(sk|pk)_(live|test)_[A-Za-z0-9]{32,128}$")
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ROLL_OVERLAP = timedelta(days=7)
_PREFIX = {repository.SECRET: "sk", repository.PUBLISHABLE: "pk"}


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    key: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def preview_of(key: str) -> str:
    prefix = key[: key.index("_", 3) + 1]
    return f"{prefix}…{key[-4:]}"


async def issue_key(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    key_type: str,
    name: str | None,
    created_by: str | None,
    api_version: str | None = None,
    actor: audit.Actor | None = None,
) -> IssuedKey:
    """A new key; `actor` records its creation (none: an organization's first keys, a
    roll's successor, which `api_key.rolled` records)."""
    mode = "live" if livemode else "test"
    key = f"{_PREFIX[key_type]}_{mode}_{new_key_secret()}"
    record = ApiKey(
        id=new_id("key"),
        organization_id=organization_id,
        livemode=livemode,
        type=key_type,
        name=name,
        key_hash=hash_key(key),
        preview=preview_of(key),
        created_at=clock.now(),
        created_by=created_by,
        api_version=api_version,
    )
    session.add(record)
    await session.flush()
    if actor is not None:
        await _record(session, actor, record, "api_key.created", audit.created(_fields(record)))
    return IssuedKey(record=record, key=key)


def _fields(record: ApiKey) -> dict[str, Any]:
    """What the audit log keeps of a key: never the key, only its preview."""
    read = ApiKeyRead.model_validate(record).model_dump(mode="json", by_alias=True)
    return {name: read[name] for name in ("name", "type", "preview", "apiVersion")}


async def _record(
    session: AsyncSession, actor: audit.Actor, record: ApiKey, action: str, changes: dict[str, Any]
) -> None:
    await audit.record(
        session,
        actor=actor,
        organization_id=record.organization_id,
        livemode=record.livemode,
        action=action,
        target_type="api_key",
        target_id=record.id,
        changes=changes,
    )


def _timestamp(record: ApiKey, field: str) -> Any:
    return ApiKeyRead.model_validate(record).model_dump(mode="json", by_alias=True)[field]


async def authenticate(session: AsyncSession, key: str) -> tuple[ApiKey, str]:
    """The usable key record for `key` and its organization's default API version, or the
    401 error that says why not."""
    if not KEY_PATTERN.match(key):
        raise InvalidApiKeyError("Invalid API key provided.")
    found = await repository.get_by_hash(session, hash_key(key))
    if found is None:
        raise InvalidApiKeyError(f"Invalid API key provided: {preview_of(key)}")
    record, organization_version = found
    if record.revoked_at is not None:
        raise RevokedApiKeyError(f"This API key was revoked: {record.preview}")
    if record.expires_at is not None and record.expires_at <= clock.now():
        raise ExpiredApiKeyError(f"This API key expired: {record.preview}")
    return record, organization_version


def is_stale(last_used_at: datetime, now: datetime) -> bool:
    return last_used_at < now - LAST_USED_RESOLUTION


def last_use_is_stale(record: ApiKey, now: datetime) -> bool:
    return record.last_used_at is None or is_stale(record.last_used_at, now)


async def record_use(session: AsyncSession, record: ApiKey) -> None:
    await record_use_of(session, record.id)
    note_use(record, clock.now())


async def record_use_of(session: AsyncSession, key_id: str) -> None:
    now = clock.now()
    await repository.mark_used(
        session, key_id=key_id, now=now, stale_before=now - LAST_USED_RESOLUTION
    )


def note_use(record: ApiKey, now: datetime) -> None:
    """Show the use on the loaded record without writing it (or before it is written)."""
    set_committed_value(record, "last_used_at", now)


async def get_key(
    session: AsyncSession, *, key_id: str, organization_id: str, livemode: bool
) -> ApiKey:
    record = await repository.get_usable_key(
        session, key_id=key_id, organization_id=organization_id, livemode=livemode, now=clock.now()
    )
    if record is None:
        raise ApiKeyNotFoundError(f"No such API key: '{key_id}'", param="id")
    return record


async def roll_key(
    session: AsyncSession,
    *,
    key_id: str,
    organization_id: str,
    livemode: bool,
    expires_in: timedelta,
    actor: audit.Actor,
) -> IssuedKey:
    """A new key of the same type and name; the old one works for `expires_in` more.
    A key rolled before (even one whose overlap ended) answers 400, not 404."""
    old = await repository.get_unrevoked_key(
        session, key_id=key_id, organization_id=organization_id, livemode=livemode
    )
    if old is None:
        raise ApiKeyNotFoundError(f"No such API key: '{key_id}'", param="id")
    if old.expires_at is not None:
        raise ApiKeyAlreadyRolledError(
            f"API key {key_id} was already rolled; roll its successor instead.", param="id"
        )
    issued = await issue_key(
        session,
        organization_id=organization_id,
        livemode=livemode,
        key_type=old.type,
        name=old.name,
        created_by=actor.id,
        api_version=old.api_version,
    )
    old.expires_at = clock.now() + expires_in
    old.rolled_to_id = issued.record.id
    await session.flush()
    changes = {
        "expiresAt": {"from": None, "to": _timestamp(old, "expiresAt")},
        "rolledToId": {"from": None, "to": issued.record.id},
    }
    await _record(session, actor, old, "api_key.rolled", changes)
    return issued


async def revoke_key(
    session: AsyncSession,
    *,
    key_id: str,
    organization_id: str,
    livemode: bool,
    actor: audit.Actor,
) -> ApiKey:
    """Revoke now; the mode's last lasting secret key cannot go (the caller locks the org)."""
    record = await get_key(
        session, key_id=key_id, organization_id=organization_id, livemode=livemode
    )
    if record.type == repository.SECRET:
        others = await repository.count_other_lasting_secret_keys(
            session, key_id=record.id, organization_id=organization_id, livemode=livemode
        )
        if others == 0:
            raise LastSecretKeyError(
                "The last secret key of a mode cannot be revoked; create or roll one first.",
                param="id",
            )
    record.revoked_at = clock.now()
    await session.flush()
    changes = {"revokedAt": {"from": None, "to": _timestamp(record, "revokedAt")}}
    await _record(session, actor, record, "api_key.revoked", changes)
    return record

"""Every query on API keys."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import ApiKey, Organization

SECRET = "SECRET"
PUBLISHABLE = "PUBLISHABLE"


async def get_by_hash(session: AsyncSession, key_hash: str) -> tuple[ApiKey, str] | None:
    """The key with its organization's default API version."""
    result = await session.execute(
        select(ApiKey, Organization.api_version)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(ApiKey.key_hash == key_hash)
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])


def _usable(now: datetime) -> object:
    return and_(
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
    )


def select_usable_keys(organization_id: str, livemode: bool, now: datetime) -> Select[ApiKey]:
    return select(ApiKey).where(
        ApiKey.organization_id == organization_id,
        ApiKey.livemode == livemode,
        _usable(now),  # type: ignore[arg-type]
    )


async def get_usable_key(
    session: AsyncSession, *, key_id: str, organization_id: str, livemode: bool, now: datetime
) -> ApiKey | None:
    stmt = select_usable_keys(organization_id, livemode, now).where(ApiKey.id == key_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_unrevoked_key(
    session: AsyncSession, *, key_id: str, organization_id: str, livemode: bool
) -> ApiKey | None:
    """The key of the organization and mode unless revoked, expired or not (to roll it)."""
    stmt = select(ApiKey).where(
        ApiKey.id == key_id,
        ApiKey.organization_id == organization_id,
        ApiKey.livemode == livemode,
        ApiKey.revoked_at.is_(None),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_other_lasting_secret_keys(
    session: AsyncSession, *, key_id: str, organization_id: str, livemode: bool
) -> int:
    """Secret keys of the mode, other than `key_id`, that are neither revoked nor expiring."""
    stmt = select(func.count()).where(
        ApiKey.organization_id == organization_id,
        ApiKey.livemode == livemode,
        ApiKey.type == SECRET,
        ApiKey.id != key_id,
        ApiKey.revoked_at.is_(None),
        ApiKey.expires_at.is_(None),
    )
    return int((await session.execute(stmt)).scalar_one())


async def mark_used(
    session: AsyncSession, *, key_id: str, now: datetime, stale_before: datetime
) -> None:
    """Set `last_used_at` unless it was written after `stale_before` (one write a minute)."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )


async def list_all(session: AsyncSession, organization_id: str) -> Sequence[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.organization_id == organization_id)
    return (await session.execute(stmt)).scalars().all()


async def get_preview(session: AsyncSession, key_id: str) -> str | None:
    """The key's preview (`sk_live_…a1b2`); no query when the session holds the key already."""
    record = await session.get(ApiKey, key_id)
    return None if record is None else record.preview

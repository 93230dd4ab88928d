"""Every query on organizations."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import Organization


async def get_by_id(session: AsyncSession, organization_id: str) -> Organization | None:
    return await session.get(Organization, organization_id)


async def lock(session: AsyncSession, organization_id: str) -> Organization | None:
    """The organization, locked until commit (serialises key changes on PostgreSQL)."""
    stmt = select(Organization).where(Organization.id == organization_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def slug_exists(session: AsyncSession, slug: str) -> bool:
    stmt = select(Organization.id).where(Organization.slug == slug)
    return (await session.execute(stmt)).first() is not None

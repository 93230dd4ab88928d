"""Every query of the brand's images."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import BrandAsset

KEPT = 10
"""Uploads kept per organization and kind: e-mails already sent show the older ones."""


async def get_asset(session: AsyncSession, asset_id: str) -> BrandAsset | None:
    return await session.get(BrandAsset, asset_id)


async def add_asset(session: AsyncSession, asset: BrandAsset) -> None:
    """Store `asset`, then forget the uploads of its kind beyond the KEPT latest."""
    session.add(asset)
    await session.flush()
    older = (
        select(BrandAsset.id)
        .where(BrandAsset.organization_id == asset.organization_id, BrandAsset.kind == asset.kind)
        .order_by(BrandAsset.created_at.desc(), BrandAsset.id.desc())
        .offset(KEPT)
    )
    stale = list((await session.execute(older)).scalars())
    if stale:
        await session.execute(delete(BrandAsset).where(BrandAsset.id.in_(stale)))

"""Every query of the share counts."""

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import PaymentGroup, ShareCount


async def add_count(
    session: AsyncSession, *, group: PaymentGroup, day: date, channel: str, by: int = 1
) -> None:
    """One more (`by`) of `channel` on `day` for the group: an upsert that adds, so that
    concurrent counts of the same row all land."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ShareCount).values(
        payment_group_id=group.id,
        day=day,
        channel=channel,
        organization_id=group.organization_id,
        livemode=group.livemode,
        count=by,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["payment_group_id", "day", "channel"],
        set_={"count": ShareCount.count + stmt.excluded.count},
    )
    await session.execute(stmt)


async def group_counts(session: AsyncSession, group_id: str) -> dict[str, int]:
    """Per channel, the group's counts over all days."""
    stmt = (
        select(ShareCount.channel, func.sum(ShareCount.count))
        .where(ShareCount.payment_group_id == group_id)
        .group_by(ShareCount.channel)
    )
    return {channel: int(total) for channel, total in (await session.execute(stmt)).all()}

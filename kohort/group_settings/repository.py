"""Every query on payment group settings; one row per organization and mode."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import PaymentGroupSettings


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> PaymentGroupSettings | None:
    stmt = select(PaymentGroupSettings).where(
        PaymentGroupSettings.organization_id == organization_id,
        PaymentGroupSettings.livemode == livemode,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock(session: AsyncSession, settings: PaymentGroupSettings) -> None:
    """Reload the row and hold it until commit (a row lock on PostgreSQL; SQLite writers are
    serialised already), so concurrent changes are validated against each other's result."""
    await session.refresh(settings, with_for_update=True)

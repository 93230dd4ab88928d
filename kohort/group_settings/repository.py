"""Every query on payment group settings; one row per organization and mode."""

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import PaymentGroupSettings

_IN_MODE = select(PaymentGroupSettings).where(
    PaymentGroupSettings.organization_id == bindparam("organization_id"),
    PaymentGroupSettings.livemode == bindparam("livemode"),
)
"""Built once: every order reads it."""


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> PaymentGroupSettings | None:
    params = {"organization_id": organization_id, "livemode": livemode}
    return (await session.execute(_IN_MODE, params)).scalar_one_or_none()


async def lock(session: AsyncSession, settings: PaymentGroupSettings) -> None:
    """Reload the row and hold it until commit (a row lock on PostgreSQL; SQLite writers are
    serialised already), so concurrent changes are validated against each other's result."""
    await session.refresh(settings, with_for_update=True)

"""Every query on payment group settings; one row per organization and mode."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.db import in_mode
from kohort.models import PaymentGroupSettings

_SETTINGS = select(PaymentGroupSettings).where(*in_mode(PaymentGroupSettings))
"""Built once: every order reads it."""


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> PaymentGroupSettings | None:
    params = {"organization_id": organization_id, "livemode": livemode}
    return (await session.execute(_SETTINGS, params)).scalar_one_or_none()


async def lock(session: AsyncSession, settings: PaymentGroupSettings) -> None:
    """Reload the row and hold it until commit (a row lock on PostgreSQL; SQLite writers are
    serialised already), so concurrent changes are validated against each other's result."""
    await session.refresh(settings, with_for_update=True)

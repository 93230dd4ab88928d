"""Every query on payment group settings; one row per organization and mode."""

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.db import in_mode
from kohort.models import Organization, PaymentGroupSettings

_SETTINGS = select(PaymentGroupSettings).where(*in_mode(PaymentGroupSettings))
"""Built once: every order reads it."""


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> PaymentGroupSettings | None:
    params = {"organization_id": organization_id, "livemode": livemode}
    return (await session.execute(_SETTINGS, params)).scalar_one_or_none()


_WITH_ORGANIZATION = (
    select(Organization, PaymentGroupSettings)
    .join(PaymentGroupSettings, PaymentGroupSettings.organization_id == Organization.id)
    .where(
        Organization.id == bindparam("organization_id"),
        PaymentGroupSettings.livemode == bindparam("livemode"),
    )
)
"""Built once: every order reads its organization and these settings, in one statement."""


async def get_with_organization(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> tuple[Organization, PaymentGroupSettings] | None:
    params = {"organization_id": organization_id, "livemode": livemode}
    row = (await session.execute(_WITH_ORGANIZATION, params)).one_or_none()
    return None if row is None else (row[0], row[1])


async def lock(session: AsyncSession, settings: PaymentGroupSettings) -> None:
    """Reload the row and hold it until commit (a row lock on PostgreSQL; SQLite writers are
    serialised already), so concurrent changes are validated against each other's result."""
    await session.refresh(settings, with_for_update=True)

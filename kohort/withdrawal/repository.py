"""Every query of the withdrawal page: the order with its shop, and the single use of the
order's withdrawal token."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import Order, Organization, WithdrawalToken


async def order_and_organization(
    session: AsyncSession, order_id: str
) -> tuple[Order, Organization] | None:
    """The order of a link, with its organization; None for an unknown id (one with a NUL,
    which no id has and PostgreSQL refuses in a query, included)."""
    if "\x00" in order_id:
        return None
    stmt = (
        select(Order, Organization)
        .join(Organization, Organization.id == Order.organization_id)
        .where(Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def use_token(
    session: AsyncSession, *, order_id: str, token_hash: str, now: datetime
) -> bool:
    """Mark the order's token used, if it still is this token, unused and unexpired. False
    when another request used it first (a double submit, a second tab)."""
    result = await session.execute(
        update(WithdrawalToken)
        .where(
            WithdrawalToken.order_id == order_id,
            WithdrawalToken.token_hash == token_hash,
            WithdrawalToken.used_at.is_(None),
            WithdrawalToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(WithdrawalToken.order_id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None

"""Every query of the widget: its secrets, and an order by the shop's reference."""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import Order, WidgetSecret


async def get_secret(
    session: AsyncSession, *, organization_id: str, livemode: bool
) -> WidgetSecret | None:
    return await session.get(WidgetSecret, (organization_id, livemode))


async def add_secret(session: AsyncSession, secret: WidgetSecret) -> None:
    session.add(secret)
    await session.flush()


async def roll_secret(
    session: AsyncSession, secret: WidgetSecret, values: dict[str, object]
) -> None:
    """One statement: the previous secret is the one stored when it runs."""
    stmt = (
        update(WidgetSecret)
        .where(
            WidgetSecret.organization_id == secret.organization_id,
            WidgetSecret.livemode == secret.livemode,
        )
        .values(previous_secret=WidgetSecret.secret, **values)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)
    await session.refresh(secret)


async def order_by_reference(
    session: AsyncSession, *, organization_id: str, livemode: bool, reference: str
) -> Order | None:
    stmt = select(Order).where(
        Order.organization_id == organization_id,
        Order.livemode == livemode,
        Order.client_reference_id == reference,
    )
    return (await session.execute(stmt)).scalar_one_or_none()

"""What the risk signals read: a group's members and an address's recent orders."""

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.db import in_mode
from kohort.models import Order
from kohort.risk.signals import Person

CANCELED = "CANCELED"


class Joined(Protocol):
    """The group an order joins, as the signals need it: an ORM group or its Core row."""

    @property
    def id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...


_MEMBERS = select(
    Order.customer_email,
    Order.customer_first_name,
    Order.customer_last_name,
    Order.customer_phone_number,
    Order.customer_ip,
    Order.device_fingerprint,
    Order.payment_fingerprint,
    Order.customer_id,
).where(Order.payment_group_id == bindparam("group_id"), Order.status != CANCELED)
_ORDERS_FROM_IP = (
    select(func.count())
    .select_from(Order)
    .where(
        *in_mode(Order),
        Order.customer_ip == bindparam("ip"),
        Order.created_at >= bindparam("since"),
    )
)
"""Both built once (a join reads them both)."""


_MEMBERS_AND_FROM_IP = _MEMBERS.add_columns(
    _ORDERS_FROM_IP.scalar_subquery().correlate(None).label("from_ip")
)
"""A join's two reads in one statement: the address's count rides on every member row."""


async def members(session: AsyncSession, group: Joined) -> list[Person]:
    """The group's members as the signals see them; a canceled order is no member."""
    rows = await session.execute(_MEMBERS, {"group_id": group.id})
    return [_person(row, group) for row in rows]


async def members_and_orders_from_ip(
    session: AsyncSession,
    group: Joined,
    *,
    organization_id: str,
    livemode: bool,
    ip: str,
    since: datetime,
) -> tuple[list[Person], int]:
    """`members(group)` and `orders_from_ip(...)`, in one statement when the group has a
    member (an OPEN group always has one; else the count is read alone)."""
    params = {
        "group_id": group.id,
        "organization_id": organization_id,
        "livemode": livemode,
        "ip": ip,
        "since": since,
    }
    rows = (await session.execute(_MEMBERS_AND_FROM_IP, params)).all()
    if not rows:
        count = await orders_from_ip(
            session, organization_id=organization_id, livemode=livemode, ip=ip, since=since
        )
        return [], count
    return [_person(row, group) for row in rows], int(rows[0].from_ip)


def _person(row: Any, group: Joined) -> Person:
    email, first, last, phone, ip, device, payment, customer_id = row[:8]
    return Person(
        email=email,
        first_name=first,
        last_name=last,
        phone=phone,
        ip=ip,
        device=device,
        payment=payment,
        creator=customer_id == group.customer_id,
    )


async def orders_from_ip(
    session: AsyncSession, *, organization_id: str, livemode: bool, ip: str, since: datetime
) -> int:
    """Orders the mode registered from `ip` since `since` (an index range)."""
    params = {"organization_id": organization_id, "livemode": livemode, "ip": ip, "since": since}
    count = await session.scalar(_ORDERS_FROM_IP, params)
    return int(count or 0)

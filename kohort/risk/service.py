"""The risk of an order that joins or opens a group, computed in the order's transaction
from the group's members and the order's own traits (kohort/risk/signals.py)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.risk import repository
from kohort.risk.signals import (
    BURST_MINUTES,
    Level,
    Person,
    Reason,
    compare,
    level_of,
    own_signals,
    ranked,
    reason_data,
)


@dataclass(frozen=True)
class Assessment:
    level: Level
    reasons: list[Reason]

    def values(self) -> dict[str, Any]:
        """The order's risk columns."""
        return {
            "risk_level": self.level,
            "risk_reasons": [reason_data(reason) for reason in self.reasons],
        }


def candidate(values: dict[str, Any]) -> Person:
    """The order about to be registered (its column values) as the signals see it."""
    return Person(
        email=values["customer_email"],
        first_name=values["customer_first_name"],
        last_name=values["customer_last_name"],
        phone=values["customer_phone_number"],
        ip=values["customer_ip"],
        device=values["device_fingerprint"],
        payment=values["payment_fingerprint"],
    )


async def assess(
    session: AsyncSession,
    values: dict[str, Any],
    *,
    group: repository.Joined | None,
    now: datetime,
) -> Assessment:
    """The risk of the order of `values` joining `group`, or opening one (`group` None):
    its likeness to each member, then its own traits (a throw-away domain, a burst)."""
    person = candidate(values)
    scope = {"organization_id": values["organization_id"], "livemode": values["livemode"]}
    since = now - timedelta(minutes=BURST_MINUTES)
    members: list[Person] = []
    recent = 0
    if group is not None and person.ip is not None:
        members, recent = await repository.members_and_orders_from_ip(
            session, group, **scope, ip=person.ip, since=since
        )
    elif group is not None:
        members = await repository.members(session, group)
    elif person.ip is not None:
        recent = await repository.orders_from_ip(session, **scope, ip=person.ip, since=since)
    reasons = compare(person, members) if group is not None else []
    reasons = ranked([*reasons, *own_signals(person, recent_orders_from_ip=recent)])
    return Assessment(level=level_of(reasons), reasons=reasons)

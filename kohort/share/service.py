"""What the share page shows of a group: its code, state, members count and levels, the shop,
nothing about its members (no e-mail, no name)."""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel.numbers import format_percent
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.email.rendering import Formatter, zone
from kohort.group import repository as groups
from kohort.group.cashback import next_level, round_half_up
from kohort.group.ending import levels_of
from kohort.ids import share_key
from kohort.models import Order, Organization, PaymentGroup

MAX_CODE_LENGTH = 32
"""The longest share key stored (`payment_groups.share_key`)."""
_CODE = re.compile(rf"[A-Za-z0-9-]{{1,{MAX_CODE_LENGTH}}}")
_STATUS = {
    groups.OPEN: "open",
    groups.COMPLETED: "completed",
    groups.EXPIRED: "expired",
    groups.CANCELED: "canceled",
}


@dataclass(frozen=True)
class Level:
    participants: int
    value: str
    """`10 %` (PERCENTAGE) or `5,00 €` (AMOUNT), in the page's locale."""
    reached: bool
    missing: int
    """How many more members unlock it (0 once reached)."""


@dataclass(frozen=True)
class Shared:
    """A group as its share page shows it, texts formatted in `locale`."""

    code: str
    livemode: bool
    status: str
    participants: int
    max_participants: int
    levels: list[Level]
    next_level: Level | None
    time_left: str
    ends: str
    shop: str
    website_url: str | None


@dataclass(frozen=True)
class Found:
    group: PaymentGroup
    organization: Organization
    creator_locale: str | None
    currency: str


def usable_code(code: str) -> str | None:
    """The code's lookup key, or None when it cannot be any share code (too long, odd
    characters): such input never reaches the database."""
    code = code.strip()
    return share_key(code) if _CODE.fullmatch(code) else None


async def find(session: AsyncSession, code: str) -> Found | None:
    key = usable_code(code)
    if key is None:
        return None
    stmt = select(PaymentGroup).where(PaymentGroup.share_key == key)
    group = (await session.execute(stmt)).scalar_one_or_none()
    if group is None:
        return None
    organization = await session.get(Organization, group.organization_id)
    if organization is None:
        return None
    creator_order = (
        await session.execute(
            select(Order.locale, Order.currency)
            .where(Order.payment_group_id == group.id, Order.customer_id == group.customer_id)
            .order_by(Order.created_at, Order.id)
            .limit(1)
        )
    ).first()
    return Found(
        group=group,
        organization=organization,
        creator_locale=creator_order.locale if creator_order else None,
        currency=creator_order.currency if creator_order else "EUR",
    )


def _safe_url(url: str | None) -> str | None:
    """The shop's website when it is a web address (never `javascript:` or the like)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def shared(found: Found, *, locale: str, now: datetime) -> Shared:
    group, organization = found.group, found.organization
    fmt = Formatter(
        locale=locale, timezone=zone(organization.timezone), currency=found.currency, now=now
    )
    discount_type = str(group.settings.get("discountType"))
    participants = group.participants_count

    def value(amount: Decimal) -> str:
        if discount_type == "PERCENTAGE":
            return format_percent(amount / 100, locale=locale, decimal_quantization=False)
        return fmt.money(round_half_up(amount * 100))

    ordered = sorted(levels_of(group), key=lambda lv: (lv.participants_to_unlock, lv.level))
    ahead = next_level(ordered, participants)
    levels = [
        Level(
            participants=lv.participants_to_unlock,
            value=value(lv.value),
            reached=lv.participants_to_unlock <= participants,
            missing=max(lv.participants_to_unlock - participants, 0),
        )
        for lv in ordered
    ]
    upcoming = next((lv for lv, raw in zip(levels, ordered, strict=True) if raw == ahead), None)
    ended = group.completed_at or group.canceled_at or group.expires_at
    status = _STATUS.get(group.status, "canceled")
    return Shared(
        code=group.share_id,
        livemode=group.livemode,
        status=status,
        participants=participants,
        max_participants=group.max_participants,
        levels=levels,
        next_level=upcoming if ahead is not None else None,
        time_left=fmt.time_left(group.expires_at),
        ends=fmt.moment(group.expires_at if status == "open" else ended),
        shop=organization.from_email_name or organization.name,
        website_url=_safe_url(organization.website_url),
    )

"""What the share page shows of a group: its code, state, members count and levels, the shop's
brand, the share actions with their message and the invite link's QR code; of its members only
the creator's first name, and only to the invited friend."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote, urlsplit

import segno
from babel.numbers import format_percent
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.brand import service as brands
from kohort.email.rendering import Formatter, zone
from kohort.errors import ValidationError
from kohort.group import repository as groups
from kohort.group.cashback import next_level, round_half_up
from kohort.group.ending import levels_of
from kohort.ids import share_key
from kohort.models import Order, Organization, PaymentGroup
from kohort.share.rendering import translations

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


CHANNELS = ("whatsapp", "sms", "email", "telegram", "copy", "native")
"""The share actions, as counted (kohort/share/counting.py)."""
VIEWS = ("member", "invite", "widget")
_PLACEHOLDER = re.compile(r"\{(code|shop|best|link)\}")
MAX_FIRST_NAME = 40


@dataclass(frozen=True)
class Brand:
    shop: str
    logo_url: str | None
    social_image_url: str | None
    color: str
    text_color: str
    accent_color: str


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
    best: str | None
    """The best cashback of the levels (`15 %`), or None without levels."""
    time_left: str
    ends: str
    shop: str
    website_url: str | None
    website_host: str | None
    first_name: str | None
    """The creator's first name (the invited friend's view only)."""
    brand: Brand
    invite_url: str
    message: str
    """The share message: the shop's own for the language, else Kohort's, filled in."""
    links: dict[str, str]
    """Per channel of a plain link (whatsapp, sms, email, telegram), its href."""
    qr: Markup
    """The invite link as an inline SVG QR code."""
    og: dict[str, str]


@dataclass(frozen=True)
class Found:
    group: PaymentGroup
    organization: Organization
    creator_locale: str | None
    currency: str
    creator_first_name: str | None = None


@dataclass(frozen=True)
class ShareEvent:
    code: str
    channel: str
    view: str


MAX_EVENT_BYTES = 1024


def share_event(body: bytes) -> ShareEvent:
    """A share action's beacon, checked: its JSON object of `code`, `channel`, `view`."""
    if len(body) > MAX_EVENT_BYTES:
        raise ValidationError(f"A share event is at most {MAX_EVENT_BYTES} bytes.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    code, channel, view = data.get("code"), data.get("channel"), data.get("view")
    if not isinstance(code, str) or usable_code(code) is None:
        raise ValidationError("code must be a share code.", param="code")
    if channel not in CHANNELS and channel != "shown":
        choices = ", ".join((*CHANNELS, "shown"))
        raise ValidationError(f"channel must be one of {choices}.", param="channel")
    if view not in VIEWS:
        raise ValidationError(f"view must be one of {', '.join(VIEWS)}.", param="view")
    if channel == "shown" and view != "widget":
        raise ValidationError("channel shown is the widget's: the pages count their own views.")
    return ShareEvent(
        code=code, channel="shown:widget" if channel == "shown" else str(channel), view=str(view)
    )


async def group_by_id(session: AsyncSession, group_id: str) -> PaymentGroup | None:
    return await session.get(PaymentGroup, group_id)


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
    return await about(session, group)


async def about(session: AsyncSession, group: PaymentGroup) -> Found | None:
    """What the share surfaces need beside the group: its shop, its creator's order's locale,
    currency and first name."""
    organization = await session.get(Organization, group.organization_id)
    if organization is None:
        return None
    creator_order = (
        await session.execute(
            select(Order.locale, Order.currency, Order.customer_first_name)
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
        creator_first_name=creator_order.customer_first_name if creator_order else None,
    )


def widget_texts(locale: str, *, time_left: str) -> dict[str, str]:
    """The thank-you widget's words in `locale`."""
    _ = translations(locale).gettext
    return {
        "title": _("Share your code: the more friends order with it, the more you get back"),
        "codeLabel": _("Your code"),
        "copy": _("Copy"),
        "copyLink": _("Copy the link"),
        "share": _("Share…"),
        "copied": _("Copied."),
        "copyFailed": _("Could not copy: select the text and copy it."),
        "close": _("Close"),
        "timeLeft": _("The offer ends in %(time)s.") % {"time": time_left},
        "email": _("E-mail"),
        "sms": _("SMS"),
        "reached": _("Reached"),
    }


def rung_text(locale: str, members: int, amount: str) -> str:
    return translations(locale).ngettext(
        "%(count)s member: you get %(amount)s", "%(count)s members: you get %(amount)s", members
    ) % {"count": members, "amount": amount}


def _safe_url(url: str | None) -> str | None:
    """The shop's website when it is a web address (never `javascript:` or the like)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def first_name(name: str | None) -> str | None:
    """The first word of a first name, at most MAX_FIRST_NAME characters: no more of it."""
    words = (name or "").split()
    return words[0][:MAX_FIRST_NAME] if words else None


def fill(template: str, values: dict[str, str]) -> str:
    """A share message with its placeholders replaced (never str.format: the text is the
    shop's)."""
    return _PLACEHOLDER.sub(lambda found: values[found.group(1)], template)


def invite_url(base_url: str, code: str) -> str:
    return f"{base_url}/r/{quote(code)}?invite=1"


def invitation(shop: str, locale: str) -> str:
    """The invitation's title without a name (an e-mail's subject for a friend)."""
    return translations(locale).gettext("You are invited to %(shop)s") % {"shop": shop}


def share_message(organization: Organization, locale: str, values: dict[str, str]) -> str:
    own = (organization.share_messages or {}).get(locale.split("_")[0])
    default = translations(locale).gettext(
        "Join my group at {shop}: order with the code {code} and get up to {best} back. {link}"
    )
    return fill(own or default, values).strip()


def share_links(message: str, subject: str, invite_url: str) -> dict[str, str]:
    """Per channel of a plain link (whatsapp, sms, email, telegram), its href."""
    without_link = " ".join(message.replace(invite_url, "").split())
    return {
        "whatsapp": f"https://wa.me/?text={quote(message)}",
        "sms": f"sms:?&body={quote(message)}",
        "email": f"mailto:?subject={quote(subject)}&body={quote(message)}",
        "telegram": f"https://t.me/share/url?url={quote(invite_url)}&text={quote(without_link)}",
    }


def _qr(invite_url: str, title: str) -> Markup:
    """The invite link's QR code, black on white whatever the brand (scanners need the
    contrast)."""
    code = segno.make(invite_url, error="m")
    svg = code.svg_inline(scale=5, title=title, dark="#000", light="#fff", omitsize=True)
    return Markup(svg.replace("<svg ", '<svg role="img" class="qr" ', 1))


def shared(found: Found, *, locale: str, now: datetime, base_url: str, invite: bool) -> Shared:
    group, organization = found.group, found.organization
    fmt = Formatter(
        locale=locale, timezone=zone(organization.timezone), currency=found.currency, now=now
    )
    discount_type = str(group.settings.get("discountType"))
    participants = group.participants_count
    _ = translations(locale).gettext

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
    best = value(max(lv.value for lv in ordered)) if ordered else None
    ended = group.completed_at or group.canceled_at or group.expires_at
    status = _STATUS.get(group.status, "canceled")
    shop = brands.shop_name(organization)
    website = _safe_url(organization.website_url)
    link = invite_url(base_url, group.share_id)
    values = {"code": group.share_id, "shop": shop, "best": best or "", "link": link}
    message = share_message(organization, locale, values)
    name = first_name(found.creator_first_name)
    if name:
        title = _("%(name)s invited you to %(shop)s") % {"name": name, "shop": shop}
    else:
        title = invitation(shop, locale)
    if best:
        offer = {"code": group.share_id, "best": best}
        description = _("Order with the code %(code)s and get up to %(best)s back.") % offer
    else:
        description = _("Order with the code %(code)s.") % {"code": group.share_id}
    color = organization.brand_color or brands.DEFAULT_COLOR
    brand = Brand(
        shop=shop,
        logo_url=brands.logo_url(organization, base_url),
        social_image_url=brands.social_image_url(organization, base_url),
        color=color,
        text_color=brands.text_color(color),
        accent_color=brands.accent_color(color),
    )
    image = brand.social_image_url or brand.logo_url
    og = {"og:type": "website", "og:site_name": shop, "og:title": title}
    og |= {"og:description": description, "og:url": link}
    if image:
        og["og:image"] = image
    og["twitter:card"] = "summary_large_image" if brand.social_image_url else "summary"
    return Shared(
        code=group.share_id,
        livemode=group.livemode,
        status=status,
        participants=participants,
        max_participants=group.max_participants,
        levels=levels,
        next_level=upcoming if ahead is not None else None,
        best=best,
        time_left=fmt.time_left(group.expires_at),
        ends=fmt.moment(group.expires_at if status == "open" else ended),
        shop=shop,
        website_url=website,
        website_host=urlsplit(website).hostname if website else None,
        first_name=name if invite else None,
        brand=brand,
        invite_url=link,
        message=message,
        links=share_links(message, title, link),
        qr=_qr(link, _("QR code of the invite link")),
        og=og,
    )

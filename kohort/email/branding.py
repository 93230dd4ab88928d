"""The shop's brand in its shoppers' e-mails: its logo and colour (the band and the buttons,
with the derived text colour), and for a message about a group the share actions as buttons,
with the same message and links as the share page."""

from decimal import Decimal
from typing import Any

from babel.numbers import format_percent

from kohort.brand import service as brands
from kohort.email.rendering import Formatter
from kohort.group.cashback import round_half_up
from kohort.models import Organization
from kohort.share import service as share


def best_offer(data: dict[str, Any], locale: str, fmt: Formatter) -> str:
    """The best cashback of the group's levels as the share page writes it (`15 %`); for a
    message stored before its facts kept it, the best cashback on the recipient's order."""
    value, kind = data.get("bestValue"), data.get("discountType")
    if value is not None and kind == "PERCENTAGE":
        return str(
            format_percent(Decimal(str(value)) / 100, locale=locale, decimal_quantization=False)
        )
    if value is not None:
        return fmt.money(round_half_up(Decimal(str(value)) * 100))
    amounts = [int(level["cashback"]) for level in data.get("levels") or [] if level]
    return fmt.money(max(amounts)) if amounts else ""


def branding(
    base_url: str, shop: Organization, data: dict[str, Any], locale: str, fmt: Formatter
) -> dict[str, Any]:
    color = shop.brand_color or brands.DEFAULT_COLOR
    found: dict[str, Any] = {
        "name": brands.shop_name(shop),
        "logo_url": brands.logo_url(shop, base_url),
        "color": color,
        "text_color": brands.text_color(color),
        "accent_color": brands.accent_color(color),
        "share": None,
    }
    code = data.get("code")
    if code:
        link = share.invite_url(base_url, str(code))
        values = {"code": str(code), "shop": found["name"], "best": best_offer(data, locale, fmt)}
        message = share.share_message(shop, locale, {**values, "link": link})
        subject = share.invitation(found["name"], locale)
        found["share"] = {"invite_url": link, "links": share.share_links(message, subject, link)}
    return found

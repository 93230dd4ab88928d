"""The brand: reading it as the API shows it, changing it (a live secret key or a dashboard
admin; recorded in the audit log), uploading its images, and the colours derived from it so
that every text on the brand's colour, and the colour on white, reads at WCAG AA (4.5:1)."""

import hashlib
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit import service as audit
from kohort.brand import images, repository
from kohort.brand.schemas import BrandRead, BrandUpdate
from kohort.errors import ValidationError
from kohort.ids import new_id
from kohort.models import BrandAsset, Organization
from kohort.organization.errors import LiveKeyRequiredError

DEFAULT_COLOR = "#1F5F3A"
WHITE = "#FFFFFF"
BLACK = "#000000"
AA = 4.5
ASSET_PATH = "/brand-assets/"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """WCAG 2 relative luminance of `#RRGGBB`."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color(color: str) -> str:
    """White or black on `color`, whichever contrasts more: at least 4.58:1 for any colour."""
    return WHITE if contrast(color, WHITE) >= contrast(color, BLACK) else BLACK


def accent_color(color: str) -> str:
    """`color`, darkened toward black in 5 % steps until it reads at 4.5:1 on white."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(21):
        kept = 1 - step / 20
        shade = f"#{round(r * kept):02X}{round(g * kept):02X}{round(b * kept):02X}"
        if contrast(shade, WHITE) >= AA:
            return shade
    return BLACK


def shop_name(organization: Organization) -> str:
    return organization.brand_display_name or organization.from_email_name or organization.name


def asset_url(base_url: str, asset_id: str | None) -> str | None:
    return f"{base_url}{ASSET_PATH}{asset_id}" if asset_id else None


def logo_url(organization: Organization, base_url: str) -> str | None:
    return organization.brand_logo_url or asset_url(base_url, organization.brand_logo_asset_id)


def social_image_url(organization: Organization, base_url: str) -> str | None:
    return organization.brand_social_image_url or asset_url(
        base_url, organization.brand_social_image_asset_id
    )


def read(organization: Organization, *, base_url: str) -> BrandRead:
    color = organization.brand_color or DEFAULT_COLOR
    return BrandRead(
        display_name=organization.brand_display_name,
        shop_name=shop_name(organization),
        logo_url=logo_url(organization, base_url),
        social_image_url=social_image_url(organization, base_url),
        brand_color=organization.brand_color,
        color=color,
        text_color=text_color(color),
        accent_color=accent_color(color),
        website_url=organization.website_url,
        share_messages=dict(organization.share_messages or {}),
    )


def _audited(brand: BrandRead) -> dict[str, Any]:
    return brand.model_dump(
        mode="json",
        by_alias=True,
        include={
            "display_name",
            "logo_url",
            "social_image_url",
            "brand_color",
            "website_url",
            "share_messages",
        },
    )


def _require_live(livemode: bool, field: str) -> None:
    if not livemode:
        raise LiveKeyRequiredError(
            f"{field} applies to every shopper page, live mode's included, so only a live "
            "secret key (sk_live_…) can change it; test keys may read the brand.",
            param=field,
        )


async def _record(
    session: AsyncSession,
    organization: Organization,
    before: dict[str, Any],
    *,
    base_url: str,
    actor: audit.Actor,
) -> None:
    changes = audit.diff(before, _audited(read(organization, base_url=base_url)))
    if changes:
        organization.updated_at = clock.now()
        await audit.record(
            session,
            actor=actor,
            organization_id=organization.id,
            livemode=True,
            action="brand.updated",
            target_type="organization",
            target_id=organization.id,
            changes=changes,
        )
    await session.flush()


async def update_brand(
    session: AsyncSession,
    organization: Organization,
    changes: BrandUpdate,
    *,
    livemode: bool,
    base_url: str,
    actor: audit.Actor,
) -> BrandRead:
    """A PATCH: the fields given replace the stored ones (null clears; a URL replaces an
    uploaded image), `shareMessages` is merged per language."""
    provided = changes.model_fields_set
    if provided:
        field = next(name for name in BrandUpdate.model_fields if name in provided)
        _require_live(livemode, to_camel(field))
    before = _audited(read(organization, base_url=base_url))
    if "display_name" in provided:
        organization.brand_display_name = changes.display_name
    if "logo_url" in provided:
        organization.brand_logo_url = changes.logo_url
        organization.brand_logo_asset_id = None
    if "social_image_url" in provided:
        organization.brand_social_image_url = changes.social_image_url
        organization.brand_social_image_asset_id = None
    if "brand_color" in provided:
        organization.brand_color = changes.brand_color
    if "website_url" in provided:
        organization.website_url = changes.website_url
    if "share_messages" in provided:
        merged: dict[str, str] = {}
        if changes.share_messages is not None:
            merged = dict(organization.share_messages or {})
            for language, message in changes.share_messages.items():
                if message is None:
                    merged.pop(language, None)
                else:
                    merged[language] = message
        organization.share_messages = dict(sorted(merged.items())) or None
    await _record(session, organization, before, base_url=base_url, actor=actor)
    return read(organization, base_url=base_url)


async def upload_image(
    session: AsyncSession,
    organization: Organization,
    *,
    kind: str,
    content_type: str | None,
    data: bytes,
    livemode: bool,
    base_url: str,
    actor: audit.Actor,
) -> BrandRead:
    """Store an uploaded logo or social image (checked by `images`) and use it."""
    field = to_camel(f"{kind}_url")
    _require_live(livemode, field)
    if not data:
        raise ValidationError("Send the image's bytes as the request body.", param=field)
    checked = images.check(kind, content_type, data)
    before = _audited(read(organization, base_url=base_url))
    asset = BrandAsset(
        id=new_id("img"),
        organization_id=organization.id,
        kind=kind,
        content_type=checked.content_type,
        data=data,
        width=checked.width,
        height=checked.height,
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=clock.now(),
    )
    await repository.add_asset(session, asset)
    if kind == "logo":
        organization.brand_logo_url, organization.brand_logo_asset_id = None, asset.id
    else:
        organization.brand_social_image_url = None
        organization.brand_social_image_asset_id = asset.id
    await _record(session, organization, before, base_url=base_url, actor=actor)
    return read(organization, base_url=base_url)


async def get_asset(session: AsyncSession, asset_id: str) -> BrandAsset | None:
    if not asset_id.startswith("img_") or len(asset_id) > 32:
        return None
    return await repository.get_asset(session, asset_id)

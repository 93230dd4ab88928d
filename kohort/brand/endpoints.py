"""`/organizations/{id}/brand` (read with any secret key, change with a live one) and its
image uploads; `/brand-assets/{id}`, the uploaded images, public (shoppers' pages and e-mails
load them), outside the OpenAPI document like the share page."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort.audit.endpoints import ApiActor
from kohort.audit.service import Actor
from kohort.brand import images, service
from kohort.brand.schemas import BrandRead, BrandUpdate
from kohort.config import Settings
from kohort.db import Database
from kohort.http.auth import AuthContext, SecretKey
from kohort.http.openapi import errors
from kohort.http.routing import KohortRoute, Session, UploadRoute
from kohort.organization import service as organizations

router = APIRouter(prefix="/organizations", tags=["Brand"], route_class=KohortRoute)
uploads = APIRouter(prefix="/organizations", tags=["Brand"], route_class=UploadRoute)
assets = APIRouter(include_in_schema=False)

_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


def _base_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.base_url


BaseUrl = Annotated[str, Depends(_base_url)]


def _upload_body(kind: str) -> dict[str, Any]:
    limit = images.LIMITS[kind]
    return {
        "requestBody": {
            "required": True,
            "description": f"The image's bytes: PNG, JPEG or WebP, at most {limit.max_bytes} "
            f"bytes, each side {limit.min_side} to {limit.max_side} pixels.",
            "content": {
                content_type: {"schema": {"type": "string", "format": "binary"}}
                for content_type in images.TYPES
            },
        }
    }


@router.get("/{id}/brand", response_model=BrandRead, responses=errors(404))
async def get_brand(id: str, request: Request, session: Session, auth: SecretKey) -> BrandRead:
    """The brand shoppers see on the share page, the widget and the e-mails, in both modes."""
    organization = await organizations.get_own_organization(
        session, organization_id=id, caller_organization_id=auth.organization_id
    )
    return service.read(organization, base_url=_base_url(request))


@router.patch("/{id}/brand", response_model=BrandRead, responses=errors(404))
async def update_brand(
    id: str,
    changes: BrandUpdate,
    session: Session,
    auth: SecretKey,
    base_url: BaseUrl,
    actor: ApiActor,
) -> BrandRead:
    """Live secret keys only (a test key → 403 LIVE_KEY_REQUIRED: the brand is live mode's
    too). `displayName`, `logoUrl` and `socialImageUrl` (https), `brandColor` (#RRGGBB; the
    text colour and the accent are derived for contrast), `websiteUrl`, `shareMessages`
    (merged per language, placeholders {code} {shop} {best} {link})."""
    organization = await organizations.get_own_organization(
        session, organization_id=id, caller_organization_id=auth.organization_id
    )
    return await service.update_brand(
        session, organization, changes, livemode=auth.livemode, base_url=base_url, actor=actor
    )


async def _upload(
    request: Request, id: str, kind: str, session: AsyncSession, auth: AuthContext, actor: Actor
) -> BrandRead:
    organization = await organizations.get_own_organization(
        session, organization_id=id, caller_organization_id=auth.organization_id
    )
    return await service.upload_image(
        session,
        organization,
        kind=kind,
        content_type=request.headers.get("content-type"),
        data=await request.body(),
        livemode=auth.livemode,
        base_url=_base_url(request),
        actor=actor,
    )


@uploads.put(
    "/{id}/brand/logo",
    response_model=BrandRead,
    responses=errors(404, 415),
    openapi_extra=_upload_body("logo"),
)
async def upload_logo(
    id: str, request: Request, session: Session, auth: SecretKey, actor: ApiActor
) -> BrandRead:
    """Upload the logo (live secret keys only): Kohort stores and serves it, and `logoUrl`
    becomes its address. 400 INVALID_IMAGE or IMAGE_TOO_LARGE, 415 for another type."""
    return await _upload(request, id, "logo", session, auth, actor)


@uploads.put(
    "/{id}/brand/social-image",
    response_model=BrandRead,
    responses=errors(404, 415),
    openapi_extra=_upload_body("social_image"),
)
async def upload_social_image(
    id: str, request: Request, session: Session, auth: SecretKey, actor: ApiActor
) -> BrandRead:
    """Upload the picture of link previews (1200 x 630 shows best), as for the logo."""
    return await _upload(request, id, "social_image", session, auth, actor)


@assets.get("/brand-assets/{asset_id}")
async def brand_asset(asset_id: str, request: Request) -> Response:
    db: Database = request.app.state.db
    async with db.read() as session:
        asset = await service.get_asset(session, asset_id)
    if asset is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return Response(asset.data, media_type=asset.content_type, headers=_ASSET_HEADERS)

"""The Brand page: what shoppers see of the shop (share page, widget, e-mails), changed by an
admin or owner in live mode (the brand is live mode's too) through `PATCH
/organizations/{id}/brand`'s schema and service, and its image uploads; refusals next to
their fields, changes in the audit log."""

from typing import Any

from babel import Locale
from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from kohort.brand import images
from kohort.brand import service as brands
from kohort.brand.schemas import LANGUAGES, BrandUpdate
from kohort.dashboard.endpoints import actor, db_of, html, redirect, settings_of
from kohort.dashboard.guard import signed_in
from kohort.dashboard.payout_settings import validated
from kohort.dashboard_user import service as permissions
from kohort.errors import AppError
from kohort.models import Organization
from kohort.organization import service as organizations
from kohort.organization.errors import LiveKeyRequiredError

router = APIRouter(include_in_schema=False)
PATH = "/dashboard/o/{organization_id}/brand"
TEXTS = ("displayName", "websiteUrl", "brandColor", "logoUrl", "socialImageUrl")
UPLOADS = {"logoFile": "logo", "socialImageFile": "social_image"}
LONGEST = 2100


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:LONGEST] if isinstance(value, str) else ""


def _stored(organization: Organization) -> dict[str, str]:
    """The form's fields as saved (an uploaded image's field is empty: its URL is Kohort's)."""
    messages = organization.share_messages or {}
    return {
        "displayName": organization.brand_display_name or "",
        "websiteUrl": organization.website_url or "",
        "brandColor": organization.brand_color or "",
        "logoUrl": organization.brand_logo_url or "",
        "socialImageUrl": organization.brand_social_image_url or "",
        **{f"shareMessages.{language}": messages.get(language, "") for language in LANGUAGES},
    }


def changes_of(form: FormData, organization: Organization) -> dict[str, Any]:
    """The form as a `PATCH …/brand` body: only what differs from the saved brand (an empty
    field clears it; a `…Remove` box stops using an uploaded image)."""
    stored = _stored(organization)
    body: dict[str, Any] = {}
    for name in TEXTS:
        given = _text(form, name)
        if given != stored[name]:
            body[name] = given or None
    for name in ("logoUrl", "socialImageUrl"):
        if form.get(name.replace("Url", "Remove")) and name not in body:
            body[name] = None
    messages = {}
    for language in LANGUAGES:
        value = form.get(f"shareMessages.{language}")
        given = value.strip()[:LONGEST] if isinstance(value, str) else ""
        if given != stored[f"shareMessages.{language}"]:
            messages[language] = given or None
    if messages:
        body["shareMessages"] = messages
    return body


def _uploads(form: FormData) -> dict[str, UploadFile]:
    return {
        name: file
        for name in UPLOADS
        if isinstance(file := form.get(name), UploadFile) and file.filename
    }


async def _render(
    request: Request,
    organization_id: str,
    *,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id, form=form)
        organization = await organizations.get_own_organization(
            session, organization_id=organization_id, caller_organization_id=organization_id
        )
    read = brands.read(organization, base_url=settings_of(request).base_url)
    values = _stored(organization)
    if form is not None:
        values = {name: _text(form, name) for name in values}
    context = {
        **page.layout(request.url.path),
        "read": read,
        "values": values,
        "share_languages": {
            language: (Locale(language).get_display_name(page.locale) or language).capitalize()
            for language in LANGUAGES
        },
        "uploaded_logo": organization.brand_logo_asset_id is not None,
        "uploaded_social": organization.brand_social_image_asset_id is not None,
        "limits": images.LIMITS,
        "errors": errors or {},
        "can_edit": page.can(permissions.WRITE) and page.livemode,
        "can_write": page.can(permissions.WRITE),
        "done": request.query_params.get("done") == "saved",
        "test_mode_refused": status == 403,
    }
    return html("brand.html", page.locale, context, status)


@router.get(PATH)
async def brand_page(organization_id: str, request: Request) -> Response:
    return await _render(request, organization_id)


def _field(error: AppError, kind: str | None = None) -> str:
    if kind is not None:
        return next(name for name, value in UPLOADS.items() if value == kind)
    return error.param or ""


@router.post(PATH)
async def save_brand(organization_id: str, request: Request) -> Response:
    """Admins and owners, in live mode (403 with the page in test mode)."""
    form = await request.form(max_part_size=64 * 1024)
    errors: dict[str, str] = {}
    status = 400
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session,
                request,
                organization_id=organization_id,
                permission=permissions.WRITE,
                form=form,
            )
            if not page.livemode:
                raise LiveKeyRequiredError("The brand is live mode's too.")
            organization = await organizations.get_own_organization(
                session, organization_id=organization_id, caller_organization_id=organization_id
            )
            changes, errors = validated(changes_of(form, organization), BrandUpdate)
            if changes is not None:
                base_url = settings_of(request).base_url
                who = actor(request, page)
                await brands.update_brand(
                    session, organization, changes, livemode=True, base_url=base_url, actor=who
                )
                for name, file in _uploads(form).items():
                    kind = UPLOADS[name]
                    data = await file.read(images.LIMITS[kind].max_bytes + 1)
                    try:
                        await brands.upload_image(
                            session,
                            organization,
                            kind=kind,
                            content_type=file.content_type,
                            data=data,
                            livemode=True,
                            base_url=base_url,
                            actor=who,
                        )
                    except AppError as error:
                        errors[name] = error.message
            if errors:
                raise _Refused
    except _Refused:
        pass
    except LiveKeyRequiredError:
        errors, status = {"": "test mode"}, 403
    except AppError as error:
        errors = {_field(error): error.message}
    if not errors:
        return redirect(f"{PATH.format(organization_id=organization_id)}?done=saved")
    return await _render(request, organization_id, form=form, errors=errors, status=status)


class _Refused(Exception):
    """Raised inside the transaction so that nothing of a refused form is written."""

"""The payout settings page: what `GET /organizations/me` shows of them in the session's mode
(test mode: its fixed, simulated account), changed by an owner in live mode through
`PATCH /organizations/{id}`'s schema and service (refusals and audit record included)."""

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from kohort.dashboard.endpoints import actor, db_of, html, redirect, settings_of
from kohort.dashboard.guard import signed_in
from kohort.dashboard_user import service as permissions
from kohort.errors import AppError
from kohort.http.schemas import RequestModel
from kohort.http.validation import from_validation_error
from kohort.organization import service as organizations
from kohort.organization.errors import LiveKeyRequiredError
from kohort.organization.schemas import OrganizationRead, OrganizationUpdate, PayoutMethod

router = APIRouter(include_in_schema=False)
Schema = TypeVar("Schema", bound=RequestModel)
METHODS: tuple[PayoutMethod, ...] = ("sepa_transfer", "stripe_refund")
FIELDS = (
    "payoutMethod",
    "stripeSecretKey",
    "payoutDebtorName",
    "payoutDebtorIban",
    "payoutDebtorBic",
)
SECRETS = ("stripeSecretKey", "payoutDebtorIban")
LONGEST = 2000
"""Longer than any field takes: what is cut is refused anyway, with the field's message."""


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()[:LONGEST]


def changes_of(form: FormData) -> dict[str, Any]:
    """The form as a `PATCH /organizations/{id}` body. An empty name or BIC clears it; the
    secrets (Stripe key, debtor IBAN) are never shown, so an empty one keeps the stored value
    and its `…Clear` box clears it."""
    body: dict[str, Any] = {
        "payoutDebtorName": _text(form, "payoutDebtorName") or None,
        "payoutDebtorBic": _text(form, "payoutDebtorBic") or None,
    }
    if method := _text(form, "payoutMethod"):
        body["payoutMethod"] = method
    for secret in SECRETS:
        if form.get(f"{secret}Clear"):
            body[secret] = None
        elif value := _text(form, secret):
            body[secret] = value
    return body


def validated(
    body: dict[str, Any],
    schema: type[Schema] = OrganizationUpdate,  # type: ignore[assignment]
) -> tuple[Schema | None, dict[str, str]]:
    """The body checked by the API's `schema`; else, for each field, the API's message
    without its `Invalid request: {field}: ` lead (the page shows it next to the field)."""
    try:
        return schema.model_validate(body), {}
    except PydanticValidationError as exc:
        messages: dict[str, str] = {}
        for error in exc.errors():
            as_request = {**error, "loc": ("body", *error["loc"])}
            api = from_validation_error(RequestValidationError([as_request]))
            lead = f"Invalid request: {api.param}: "
            message = api.message.removeprefix(lead).removesuffix(".")
            messages.setdefault(api.param or "", message)
        return None, messages


async def _page(
    request: Request,
    organization_id: str,
    *,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The page; after a refused post, the values given and why (403: test mode's)."""
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id, form=form)
        organization = await organizations.get_own_organization(
            session, organization_id=organization_id, caller_organization_id=organization_id
        )
    read = OrganizationRead.for_mode(organization, livemode=page.livemode)
    values = {
        "payoutMethod": read.payout_method,
        "payoutDebtorName": read.payout_debtor_name or "",
        "payoutDebtorBic": read.payout_debtor_bic or "",
        "payoutDebtorIban": "",
    }
    cleared: set[str] = set()
    if form is not None:
        values = {name: _text(form, name) for name in values}
        cleared = {name for name in SECRETS if form.get(f"{name}Clear")}
    errors = errors or {}
    context = {
        **page.layout(request.url.path),
        "read": read,
        "values": values,
        "cleared": cleared,
        "methods": METHODS,
        "errors": {name: errors[name] for name in FIELDS if name in errors},
        "other_error": next((m for name, m in errors.items() if name not in FIELDS), None),
        "can_edit": page.can(permissions.PAYOUT_SETTINGS) and page.livemode,
        "is_owner": page.can(permissions.PAYOUT_SETTINGS),
        "done": request.query_params.get("done") == "saved",
        "test_mode_refused": status == 403,
    }
    return html("payout_settings.html", page.locale, context, status)


@router.get("/dashboard/o/{organization_id}/payouts/settings")
async def settings_page(organization_id: str, request: Request) -> Response:
    return await _page(request, organization_id)


@router.post("/dashboard/o/{organization_id}/payouts/settings")
async def save_settings(organization_id: str, request: Request) -> Response:
    """Owners only (403 page otherwise); test mode's settings are fixed: 403 with the page."""
    form = await request.form()
    changes, errors = validated(changes_of(form))
    status = 400
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session,
                request,
                organization_id=organization_id,
                permission=permissions.PAYOUT_SETTINGS,
                form=form,
            )
            if not page.livemode and changes is None:
                raise LiveKeyRequiredError("Test mode's payout settings are fixed.")
            if changes is not None:
                organization = await organizations.get_own_organization(
                    session, organization_id=organization_id, caller_organization_id=organization_id
                )
                await organizations.update_organization(
                    session,
                    organization,
                    changes,
                    livemode=page.livemode,
                    settings=settings_of(request),
                    actor=actor(request, page),
                )
    except LiveKeyRequiredError as error:
        errors, status = {"": error.message}, 403
    except AppError as error:
        errors = {error.param or "": error.message}
    if not errors:
        return redirect(f"/dashboard/o/{organization_id}/payouts/settings?done=saved")
    return await _page(request, organization_id, form=form, errors=errors, status=status)

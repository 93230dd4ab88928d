"""The E-mails pages: the seven shopper e-mails previewed in each of their languages from the
real templates (with sample facts of this organization: its name, its sender, its levels in
the mode looked at), and the outbox of the organization and mode, where a failed message can be
sent again (as `kohort email retry-failed` does)."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from kohort import clock
from kohort.config import Settings
from kohort.dashboard import listing
from kohort.dashboard.endpoints import actor, db_of, html, redirect, settings_of
from kohort.dashboard.errors import PageNotFound
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard_user.service import WRITE
from kohort.email import repository as outbox
from kohort.email import service as emails
from kohort.email.jobs import shopper_context
from kohort.email.rendering import LOCALES, Rendered, render, zone, zone_label
from kohort.group.cashback import DiscountLevel, cashback_amount, level_reached, next_level
from kohort.group.ending import snapshot_levels
from kohort.group_settings import service as group_settings
from kohort.models import EmailMessage, Organization, PaymentGroupSettings
from kohort.organization import repository as organizations

router = APIRouter(include_in_schema=False)
SAMPLE_AMOUNT = 8000
"""The sample order of a preview, in cents (at least the settings' minimum purchase)."""
ALONE = (emails.NEW_GROUP, emails.GROUP_REMINDER, emails.GROUP_EXPIRED)
"""The kinds that speak of a group whose creator is still alone."""
MOMENTS = ("MIDWAY_SENT", "DAY3_SENT", "DAY2_BEFORE_END_SENT")
"""The three reminders (`moment` of a GROUP_REMINDER)."""
ALL_KINDS = (*emails.KINDS, *emails.DASHBOARD_KINDS)
SORTABLE = ("createdAt", "sentAt", "attempts", "status", "kind", "recipient")


def _base(organization_id: str) -> str:
    return f"/dashboard/o/{organization_id}/emails"


def _language(code: str, locale: str) -> str:
    """A language's name in the reader's; a code Babel does not know, as it is."""
    try:
        return str(Locale.parse(code).get_display_name(locale) or code)
    except (ValueError, TypeError, UnknownLocaleError):
        return code


def when_of(organization: Organization, locale: str) -> Callable[[datetime | None], str]:
    """Moments as the page shows them: in the organization's timezone, with its zone."""
    tz = zone(organization.timezone)

    def when(value: datetime | None) -> str:
        if value is None:
            return "—"
        local = value.astimezone(tz)
        return f"{format_datetime(local, 'medium', tz, locale=locale)} {zone_label(local, locale)}"

    return when


@router.get("/dashboard/o/{organization_id}/emails")
async def emails_page(organization_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
    context = {
        **page.layout(request.url.path),
        "kinds": [kind.lower() for kind in emails.KINDS],
        "email_languages": [(code, _language(code, page.locale)) for code in LOCALES],
        "emails_base": _base(organization_id),
    }
    return html("emails.html", page.locale, context)


# Previews


def _level(discount_type: str, level: DiscountLevel | None, amount: int) -> dict[str, Any] | None:
    if level is None:
        return None
    return {
        "level": level.level,
        "participants": level.participants_to_unlock,
        "cashback": cashback_amount(discount_type, level, amount),
    }


def sample_facts(
    kind: str, found: PaymentGroupSettings, *, code: str, now: datetime
) -> dict[str, Any]:
    """What a planned message of `kind` states (JSON, as the outbox keeps it), for a sample
    order in a sample group under the organization's current settings (`service._group_facts`
    states a real one)."""
    snapshot = group_settings.snapshot(found)
    levels = sorted(snapshot_levels(snapshot), key=lambda level: level.participants_to_unlock)
    discount_type = str(snapshot["discountType"])
    amount = max(SAMPLE_AMOUNT, int(snapshot["minPurchaseValue"]))
    first = levels[0].participants_to_unlock if levels else 2
    participants = 1 if kind in ALONE else max(first, 2)
    level = level_reached(levels, participants)
    return {
        "groupId": "pg_preview",
        "orderId": "ord_preview",
        "code": code,
        "expiresAt": (now + timedelta(minutes=int(snapshot["minutesDuration"]))).isoformat(),
        "endedAt": now.isoformat(),
        "participants": participants,
        "amount": amount,
        "cashback": cashback_amount(discount_type, level, amount),
        "currency": "EUR",
        "levels": [_level(discount_type, item, amount) for item in levels],
        "level": _level(discount_type, level, amount),
        "nextLevel": _level(discount_type, next_level(levels, participants), amount),
        "moment": MOMENTS[0],
    }


def sample_links(settings: Settings, now: datetime) -> dict[str, Any]:
    """The withdrawal link the sender adds to a CASHBACK_AVAILABLE (no real token)."""
    return {
        "withdraw_url": f"{settings.base_url}/w/ord_preview?token=preview",
        "link_expires_at": now + timedelta(days=settings.withdrawal_token_days),
    }


async def _preview(
    request: Request, organization_id: str, slug: str, locale: str
) -> tuple[Page, str, Rendered]:
    """The e-mail `slug` in `locale`, rendered as it would be sent now (nothing is stored)."""
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        kind = slug.upper()
        if locale not in LOCALES or kind not in emails.KINDS or slug != kind.lower():
            raise PageNotFound(page.locale)
        organization = await organizations.get_by_id(session, organization_id)
        found = await group_settings.get_settings(
            session, organization_id=organization_id, livemode=page.livemode
        )
    assert organization is not None
    settings = settings_of(request)
    now = clock.now()
    code = f"{organization.code_prefix}-{'' if page.livemode else 'test-'}1A2B3C4D"
    facts = {**sample_facts(kind, found, code=code, now=now), **sample_links(settings, now)}
    moment = request.query_params.get("moment")
    if kind == emails.GROUP_REMINDER and moment in MOMENTS:
        facts["moment"] = moment
    context = shopper_context(
        settings, data=facts, shop=organization, locale=locale, livemode=page.livemode, now=now
    )
    return page, kind, render(kind, locale, context)


@router.get("/dashboard/o/{organization_id}/emails/preview/{slug}/{locale}")
async def preview_page(organization_id: str, slug: str, locale: str, request: Request) -> Response:
    page, kind, rendered = await _preview(request, organization_id, slug, locale)
    moment = request.query_params.get("moment")
    query = f"?moment={moment}" if kind == emails.GROUP_REMINDER and moment in MOMENTS else ""
    context = {
        **page.layout(request.url.path),
        "emails_base": _base(organization_id),
        "kind": kind.lower(),
        "email_locale": locale,
        "language": _language(locale, page.locale),
        "email_languages": [(code, _language(code, page.locale)) for code in LOCALES],
        "moments": MOMENTS if kind == emails.GROUP_REMINDER else (),
        "moment": moment if moment in MOMENTS else MOMENTS[0],
        "rendered": rendered,
        "frame_url": f"{request.url.path}/html{query}",
    }
    return html("email_preview.html", page.locale, context)


@router.get("/dashboard/o/{organization_id}/emails/preview/{slug}/{locale}/html")
async def preview_html(organization_id: str, slug: str, locale: str, request: Request) -> Response:
    """The HTML body alone, for the preview's sandboxed frame (`security.FRAMED`)."""
    _, _, rendered = await _preview(request, organization_id, slug, locale)
    return HTMLResponse(rendered.html)


# The outbox


def _choice(value: str | None, choices: tuple[str, ...]) -> tuple[str, bool]:
    """A filter from a list: the value, and whether it was refused (unknown)."""
    if not value:
        return "", False
    return (value, False) if value in choices else ("", True)


@router.get("/dashboard/o/{organization_id}/emails/outbox")
async def outbox_page(organization_id: str, request: Request) -> Response:
    query = request.query_params
    status, bad_status = _choice(query.get("status"), outbox.STATUSES)
    kind, bad_kind = _choice(query.get("kind"), ALL_KINDS)
    recipient = listing.clean(query.get("recipient"), 320)
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        organization = await organizations.get_by_id(session, organization_id)
        found = await listing.fetch(
            session,
            request,
            outbox.select_outbox(organization_id, page.livemode),
            fields=outbox.OUTBOX_FIELDS,
            id_column=EmailMessage.id,
            sortable=SORTABLE,
            conditions=(
                f"status:{status}" if status else "",
                f"kind:{kind}" if kind else "",
                f"recipient~{recipient}" if recipient else "",
            ),
            params={"status": status, "kind": kind, "recipient": recipient},
        )
    assert organization is not None
    context = {
        **page.layout(request.url.path),
        "emails_base": _base(organization_id),
        "listing": found,
        "statuses": outbox.STATUSES,
        "kinds": ALL_KINDS,
        "filters": {"status": status, "kind": kind, "recipient": recipient},
        "bad_filter": bad_status or bad_kind,
        "can_resend": page.can(WRITE),
        "failed": outbox.FAILED,
        "when": when_of(organization, page.locale),
        "done": query.get("done") == "resent",
        "refused": query.get("error") == "not_failed",
        "back": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    }
    return html("outbox.html", page.locale, context)


def _hidden_links(message: EmailMessage) -> bool:
    """Whether the message's body holds a personal link (a dashboard user's invitation or
    reset, a shopper's withdrawal link): its body is then never shown."""
    return message.kind in (*emails.DASHBOARD_KINDS, emails.CASHBACK_AVAILABLE)


@router.get("/dashboard/o/{organization_id}/emails/outbox/{message_id}")
async def message_page(organization_id: str, message_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        message = await outbox.get_message(
            session, organization_id=organization_id, livemode=page.livemode, message_id=message_id
        )
        if message is None:
            raise PageNotFound(page.locale)
        organization = await organizations.get_by_id(session, organization_id)
    assert organization is not None
    rendered: Rendered | None = None
    if message.kind in emails.KINDS and not _hidden_links(message):
        try:
            context = shopper_context(
                settings_of(request),
                data=message.data,
                shop=organization,
                locale=message.locale,
                livemode=message.livemode,
                now=clock.now(),
            )
            rendered = render(message.kind, message.locale, context)
        except Exception:  # stored facts the templates cannot use: shown as such
            rendered = None
    context = {
        **page.layout(request.url.path),
        "emails_base": _base(organization_id),
        "message": message,
        "language": _language(message.locale, page.locale) if message.locale else "",
        "rendered": rendered,
        "hidden": _hidden_links(message),
        "can_resend": page.can(WRITE) and message.status == outbox.FAILED,
        "when": when_of(organization, page.locale),
        "done": request.query_params.get("done") == "resent",
        "refused": request.query_params.get("error") == "not_failed",
        "back": request.url.path,
    }
    return html("email_message.html", page.locale, context)


def _back(value: object, organization_id: str) -> str:
    """Where a resend goes back to: a page of this organization's outbox, else the outbox."""
    outbox_path = f"{_base(organization_id)}/outbox"
    if isinstance(value, str) and value.startswith(outbox_path) and "//" not in value:
        return value
    return outbox_path


def _with(path: str, parameter: str) -> str:
    kept = "&".join(
        part
        for part in path.partition("?")[2].split("&")
        if part and not part.startswith(("done=", "error="))
    )
    return f"{path.partition('?')[0]}?{kept + '&' if kept else ''}{parameter}"


@router.post("/dashboard/o/{organization_id}/emails/outbox/{message_id}/resend")
async def resend(organization_id: str, message_id: str, request: Request) -> Response:
    form = await request.form()
    async with db_of(request).write() as session:
        page = await signed_in(
            session, request, organization_id=organization_id, permission=WRITE, form=form
        )
        message = await outbox.get_message(
            session, organization_id=organization_id, livemode=page.livemode, message_id=message_id
        )
        if message is None:
            raise PageNotFound(page.locale)
        resent = await emails.resend_failed(
            session, message, actor=actor(request, page), now=clock.now()
        )
    back = _back(form.get("next"), organization_id)
    return redirect(_with(back, "done=resent" if resent else "error=not_failed"))

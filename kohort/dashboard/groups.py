"""The Groups pages: the list of the mode's groups (filters by status and by code or e-mail,
sortable, paginated, through the API's own list fields), and a group's page (members, level
reached, levels snapshot, time left, metadata, its events as a timeline) with its actions:
cancel, expire, and in test mode the test clock, each through the API's own service."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from babel.dates import format_datetime
from babel.numbers import format_currency, format_percent
from babel.units import format_unit
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort import clock
from kohort.dashboard import rendering
from kohort.dashboard.endpoints import db_of, html, redirect
from kohort.dashboard.errors import Forbidden, PageNotFound
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.listing import clean, fetch
from kohort.dashboard.order_views import risk_formats
from kohort.dashboard.rendering import translate
from kohort.dashboard_user.service import WRITE
from kohort.errors import AppError, ValidationError
from kohort.event import repository as events
from kohort.group import repository, service
from kohort.group.cashback import DiscountLevel, level_reached, next_level
from kohort.group.ending import levels_of
from kohort.group.errors import GroupNotFoundError
from kohort.metrics import GROUPS_CANCELED, GROUPS_EXPIRED
from kohort.models import Event, Order, PaymentGroup
from kohort.organization import repository as organizations
from kohort.test_helpers import service as test_clock
from kohort.test_helpers.schemas import GroupAdvance
from kohort.test_helpers.service import LiveModeNotAllowedError

router = APIRouter(include_in_schema=False)
STATUSES = repository.LIST_FIELDS["status"].choices
SORTABLE = ("createdAt", "expiresAt", "participantsCount")
TIMELINE_LIMIT = 100
UNITS = {"hours": 3600, "days": 86400}
ERRORS = {"COMPLETED_EXPIRED_CANCELED", "GROUP_HAS_PARTICIPANTS", "VALIDATION_ERROR"}
DONE = {"canceled", "expired", "advanced"}


@dataclass(frozen=True)
class Formats:
    """How the pages write money, moments and levels, in the reader's language and the
    organization's time zone."""

    locale: str
    zone: ZoneInfo

    def money(self, cents: int | None, currency: str = "EUR") -> str:
        if cents is None:
            return "—"
        return format_currency(Decimal(cents).scaleb(-2), currency, locale=self.locale)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return format_datetime(moment, "medium", tzinfo=self.zone, locale=self.locale)

    def level_value(self, discount_type: str, value: object) -> str:
        amount = Decimal(str(value))
        if discount_type == "PERCENTAGE":
            return format_percent(amount / 100, locale=self.locale, decimal_quantization=False)
        return format_currency(amount, "EUR", locale=self.locale)

    def level(self, level: DiscountLevel | None, group: PaymentGroup) -> str:
        """ "Level 2 · 10 %", or "—" when no level is reached."""
        if level is None:
            return "—"
        value = self.level_value(group.settings.get("discountType", "PERCENTAGE"), level.value)
        return translate(self.locale, "Level %(level)s · %(value)s") % {
            "level": level.level,
            "value": value,
        }

    def duration(self, delta: timedelta) -> str:
        """Days, hours and minutes ("2 days, 3 hours, 5 minutes"); under a minute, seconds."""
        seconds = int(delta.total_seconds())
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        parts = [
            format_unit(number, unit, length="long", locale=self.locale)
            for number, unit in (
                (days, "duration-day"),
                (hours, "duration-hour"),
                (minutes, "duration-minute"),
            )
            if number
        ]
        if not parts:
            parts = [format_unit(max(seconds, 0), "duration-second", locale=self.locale)]
        return ", ".join(parts)


def group_statuses(locale: str) -> dict[str, str]:
    return {
        repository.OPEN: translate(locale, "Open"),
        repository.COMPLETED: translate(locale, "Complete"),
        repository.EXPIRED: translate(locale, "Expired"),
        repository.CANCELED: translate(locale, "Canceled"),
    }


def order_statuses(locale: str) -> dict[str, str]:
    return {
        repository.ORDER_CREATED: translate(locale, "Registered"),
        repository.CASHBACK_ON_HOLD: translate(locale, "Cashback held for review"),
        repository.CASHBACK_AVAILABLE: translate(locale, "Cashback available"),
        repository.CASHBACK_PROCESSING: translate(locale, "Cashback being paid"),
        repository.CASHBACK_SENT: translate(locale, "Cashback sent"),
        repository.CASHBACK_REJECTED: translate(locale, "Cashback rejected"),
        repository.ORDER_CANCELED: translate(locale, "Order canceled"),
    }


async def _formats(session: AsyncSession, organization_id: str, locale: str) -> Formats:
    organization = await organizations.get_by_id(session, organization_id)
    try:
        zone = ZoneInfo(organization.timezone if organization else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return Formats(locale, zone)


def event_labels(locale: str) -> dict[str, str]:
    """What each event of a group's timeline says (its API type is shown beside)."""
    return {
        "payment_group.created": translate(locale, "Group opened"),
        "payment_group.joined": translate(locale, "A member joined"),
        "payment_group.level_unlocked": translate(locale, "A level was unlocked"),
        "payment_group.reminder_due": translate(locale, "Reminder due"),
        "payment_group.succeeded": translate(locale, "Group completed"),
        "payment_group.expired": translate(locale, "Group expired"),
        "payment_group.canceled": translate(locale, "Group canceled"),
        "order.created": translate(locale, "Order registered"),
        "order.canceled": translate(locale, "Order canceled"),
        "order.refunded": translate(locale, "Order refunded"),
        "order.review_required": translate(locale, "Held for review"),
        "order.review_resolved": translate(locale, "Review decided"),
        "order.cashback_available": translate(locale, "Cashback available"),
        "order.cashback_processing": translate(locale, "Cashback being paid"),
        "order.cashback_sent": translate(locale, "Cashback sent"),
    }


def _reached(group: PaymentGroup) -> DiscountLevel | None:
    return level_reached(levels_of(group), group.participants_count)


@router.get("/dashboard/o/{organization_id}/groups")
async def groups_page(organization_id: str, request: Request) -> Response:
    query = request.query_params
    status = query.get("status", "")
    unknown_status = bool(status) and status not in STATUSES
    if unknown_status:
        status = ""
    text = clean(query.get("q"), 100).replace("\x00", "")
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        stmt = repository.select_listed(organization_id, page.livemode)
        if text:
            stmt = stmt.where(
                repository.matching(text, organization_id=organization_id, livemode=page.livemode)
            )
        listing = await fetch(
            session,
            request,
            stmt,
            fields=repository.LIST_FIELDS,
            id_column=PaymentGroup.id,
            sortable=SORTABLE,
            conditions=[f"status:{status}" if status else ""],
            params={"status": status, "q": text},
        )
        formats = await _formats(session, organization_id, page.locale)
    context = {
        **page.layout(request.url.path),
        "listing": listing,
        "rows": [(group, _reached(group)) for group in listing.rows],
        "statuses": STATUSES,
        "labels": group_statuses(page.locale),
        "status": status,
        "q": text,
        "unknown_status": unknown_status,
        "f": formats,
        "zone": str(formats.zone),
    }
    return html("groups.html", page.locale, context, status=400 if unknown_status else 200)


async def _group(
    session: AsyncSession, page: Page, organization_id: str, id_or_code: str
) -> PaymentGroup:
    """The group of this organization and mode, by `pg_…` id or share code; else the 404 page
    (an id with a NUL character, which no text column can hold, included)."""
    if "\x00" in id_or_code:
        raise PageNotFound(page.locale)
    try:
        return await service.get_group(
            session, organization_id=organization_id, livemode=page.livemode, id_or_code=id_or_code
        )
    except GroupNotFoundError:
        raise PageNotFound(page.locale) from None


async def _timeline(
    session: AsyncSession, group: PaymentGroup, members: list[Order]
) -> list[Event]:
    """The latest events whose object is the group or one of its orders, newest first."""
    since = min([group.created_at, *(order.created_at for order in members)])
    return await events.about(
        session,
        organization_id=group.organization_id,
        livemode=group.livemode,
        object_ids=[group.id, *(order.id for order in members)],
        since=since,
        limit=TIMELINE_LIMIT,
    )


@router.get("/dashboard/o/{organization_id}/groups/{group_id}")
async def group_page(organization_id: str, group_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        group = await _group(session, page, organization_id, group_id)
        members = list(await repository.members(session, group.id))
        timeline = await _timeline(session, group, members)
        formats = await _formats(session, organization_id, page.locale)
    now = clock.now()
    levels = sorted(levels_of(group), key=lambda level: level.participants_to_unlock)
    reached = _reached(group)
    following = next_level(levels, group.participants_count)
    query = request.query_params
    error, done = query.get("error"), query.get("done")
    context = {
        **page.layout(request.url.path),
        "group": group,
        "labels": group_statuses(page.locale),
        "order_labels": order_statuses(page.locale),
        **risk_formats(page.locale),
        "event_labels": event_labels(page.locale),
        "members": members,
        "orders": {order.id: order for order in members},
        "levels": levels,
        "reached": reached,
        "following": following,
        "discount_type": group.settings.get("discountType", "PERCENTAGE"),
        "time_left": group.expires_at - now if group.status == repository.OPEN else None,
        "timeline": timeline,
        "timeline_limit": TIMELINE_LIMIT,
        "can_write": page.can(WRITE),
        "test_clock": not page.livemode,
        "error": error if error in ERRORS else None,
        "done": done if done in DONE else None,
        "f": formats,
        "zone": str(formats.zone),
    }
    return html("group.html", page.locale, context)


Action = Callable[[AsyncSession, Page, PaymentGroup, Mapping[str, Any]], Awaitable[None]]


async def _act(
    request: Request,
    organization_id: str,
    group_id: str,
    done: str,
    action: Action,
    counter: Callable[[], None] | None = None,
) -> Response:
    """Post-redirect-get around one action on a group: a role without WRITE is the 403 page
    (the guard), a refusal of the service comes back on the group's page as a message."""
    form = await request.form()
    back = f"/dashboard/o/{quote(organization_id)}/groups/{quote(group_id, safe='')}"
    try:
        async with db_of(request).write() as session:
            page = await signed_in(
                session, request, organization_id=organization_id, permission=WRITE, form=form
            )
            group = await _group(session, page, organization_id, group_id)
            back = f"/dashboard/o/{organization_id}/groups/{group.id}"
            await action(session, page, group, form)
    except LiveModeNotAllowedError:
        raise Forbidden(rendering.choose(request)) from None
    except AppError as error:
        return redirect(f"{back}?error={quote(error.code)}")
    if counter is not None:
        counter()
    return redirect(f"{back}?done={done}")


@router.post("/dashboard/o/{organization_id}/groups/{group_id}/cancel")
async def cancel(organization_id: str, group_id: str, request: Request) -> Response:
    async def action(
        session: AsyncSession, page: Page, group: PaymentGroup, form: Mapping[str, Any]
    ) -> None:
        await service.cancel_group(session, group, actor=page.user.id)

    return await _act(request, organization_id, group_id, "canceled", action, GROUPS_CANCELED.inc)


@router.post("/dashboard/o/{organization_id}/groups/{group_id}/expire")
async def expire(organization_id: str, group_id: str, request: Request) -> Response:
    async def action(
        session: AsyncSession, page: Page, group: PaymentGroup, form: Mapping[str, Any]
    ) -> None:
        await service.expire_group(session, group, actor=page.user.id)

    return await _act(request, organization_id, group_id, "expired", action, GROUPS_EXPIRED.inc)


def _advance_of(form: Mapping[str, Any], group: PaymentGroup) -> GroupAdvance:
    """The test clock's form as the API's request: `to` the group's end, or `amount` `unit`s;
    the API's own bounds (`GroupAdvance`) apply."""
    try:
        if form.get("to") == "end":
            return GroupAdvance(to=group.expires_at)
        amount = int(str(form.get("amount", "")).strip())
        return GroupAdvance(seconds=amount * UNITS[str(form.get("unit", ""))])
    except (ValueError, KeyError, OverflowError, pydantic.ValidationError):
        raise ValidationError("Not a valid advance.", param="seconds") from None


@router.post("/dashboard/o/{organization_id}/groups/{group_id}/advance")
async def advance(organization_id: str, group_id: str, request: Request) -> Response:
    async def action(
        session: AsyncSession, page: Page, group: PaymentGroup, form: Mapping[str, Any]
    ) -> None:
        test_clock.check_test_mode(page.livemode)
        await test_clock.advance_group(
            session,
            organization_id=organization_id,
            livemode=page.livemode,
            id_or_code=group.id,
            advance=_advance_of(form, group),
            actor=page.user.id,
        )

    return await _act(request, organization_id, group_id, "advanced", action)

"""The Program page: the payment-group settings of the mode looked at (discount type, up to
five levels, capacity, duration, minimum purchase) and the organization's time zone (live
mode), changed through the API's own request schemas and services, so the rules and their
messages are the API's; and a preview of what each level gives on a basket, computed by the
cashback code the groups use."""

import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlencode

from babel.lists import format_list
from babel.numbers import format_currency, format_percent
from babel.units import format_unit
from fastapi import APIRouter, Request
from pydantic import ValidationError as SchemaError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort.dashboard.endpoints import actor, db_of, html, redirect, settings_of
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.rendering import translate
from kohort.dashboard_user import service as users
from kohort.errors import AppError
from kohort.group.cashback import DiscountLevel, cashback_amount, level_reached
from kohort.group.ending import snapshot_levels
from kohort.group_settings import service
from kohort.group_settings.schemas import (
    MAX_LEVELS,
    MAX_MINUTES_DURATION,
    MAX_PARTICIPANTS,
    MIN_PARTICIPANTS,
    PaymentGroupSettingsUpdate,
)
from kohort.http.schemas import RequestModel
from kohort.order.schemas import MAX_AMOUNT
from kohort.organization import service as organizations
from kohort.organization.schemas import OrganizationUpdate

router = APIRouter(include_in_schema=False)
Schema = TypeVar("Schema", bound=RequestModel)
PATH = "/dashboard/o/{organization_id}/program"
DEFAULT_BASKET = 5000
MAX_ROWS = 10
"""Level rows read from a post: more than MAX_LEVELS filled is the schema's error to give."""
_FIELDS = {
    "discountType": "discount_type",
    "maxParticipants": "max_participants",
    "minutesDuration": "minutes_duration",
    "minPurchaseValue": "min_purchase",
    "timezone": "timezone",
}
_INTEGER = re.compile(r"[+-]?\d{1,30}")
_EUROS = re.compile(r"[+-]?\d{1,16}(\.\d{1,2})?")


@dataclass
class Form:
    """What the form shows (the text of each field, level rows by position) and the
    message next to each field (`levels` for the list, `form` for the rest)."""

    values: dict[str, str]
    rows: list[tuple[str, str]]
    errors: dict[str, str] = field(default_factory=dict)
    levels_checked: bool = False
    """The service checked the levels entered and found no fault in them."""

    def fail(self, key: str, message: str) -> None:
        self.errors.setdefault(key, message)


@dataclass
class Body:
    """The PATCH bodies the form amounts to: only what differs from the saved settings."""

    settings: dict[str, Any]
    organization: dict[str, Any]
    rows: list[int]
    """The form row of each item of `discountLevels` (empty rows are left out)."""


def euros(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2):f}".removesuffix(".00")


def parse_euros(text: str) -> int | None:
    """A basket or minimum purchase typed in euros (a comma or a point) → cents."""
    text = text.strip().replace(",", ".")
    if not _EUROS.fullmatch(text):
        return None
    return int(Decimal(text).scaleb(2))


def integer(text: str) -> int | str | None:
    """A whole number as the JSON integer the API takes; other text goes on to the schema,
    which refuses it with its own message."""
    text = text.strip()
    if not text:
        return None
    return int(text) if _INTEGER.fullmatch(text) else text


def _saved_form(snapshot: dict[str, Any], timezone: str) -> Form:
    return Form(
        values={
            "discount_type": snapshot["discountType"],
            "max_participants": str(snapshot["maxParticipants"]),
            "minutes_duration": str(snapshot["minutesDuration"]),
            "min_purchase": euros(snapshot["minPurchaseValue"]),
            "timezone": timezone,
        },
        rows=[
            (str(level.participants_to_unlock), f"{level.value.normalize():f}")
            for level in snapshot_levels(snapshot)
        ],
    )


def _posted_form(posted: Any) -> Form:
    text = {name: str(value)[:200] for name, value in posted.items() if isinstance(value, str)}
    rows = [
        (text.get(f"level-{i}-participants", ""), text.get(f"level-{i}-value", ""))
        for i in range(MAX_ROWS)
    ]
    while len(rows) > MAX_LEVELS and rows[-1] == ("", ""):
        rows.pop()
    keys = ("discount_type", "max_participants", "minutes_duration", "min_purchase", "timezone")
    return Form(values={key: text.get(key, "") for key in keys}, rows=rows)


def _levels(form: Form) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    rows: list[int] = []
    for row, (participants, value) in enumerate(form.rows):
        if not participants.strip() and not value.strip():
            continue
        item: dict[str, Any] = {}
        if participants.strip():
            item["participantsToUnlock"] = integer(participants)
        if value.strip():
            item["value"] = value.strip().replace(",", ".")
        items.append(item)
        rows.append(row)
    return items, rows


def _same_levels(items: list[dict[str, Any]], saved: list[DiscountLevel]) -> bool:
    """Whether the rows entered are the saved levels (then they are not sent: they keep their
    ids). Anything the schema would refuse is not the same."""
    try:
        given = [(item["participantsToUnlock"], Decimal(item["value"])) for item in items]
        return given == [(level.participants_to_unlock, level.value) for level in saved]
    except (KeyError, TypeError, InvalidOperation):
        return False


def _body(form: Form, saved: "Saved") -> Body:
    values, snapshot = form.values, saved.snapshot
    changes: dict[str, Any] = {}
    if values["discount_type"] != snapshot["discountType"]:
        changes["discountType"] = values["discount_type"] or None
    items, rows = _levels(form)
    if not _same_levels(items, snapshot_levels(snapshot)):
        changes["discountLevels"] = items
    for key, name in (
        ("max_participants", "maxParticipants"),
        ("minutes_duration", "minutesDuration"),
    ):
        given = integer(values[key])
        if given != snapshot[name]:
            changes[name] = given
    cents = parse_euros(values["min_purchase"]) if values["min_purchase"].strip() else None
    if values["min_purchase"].strip() and cents is None:
        form.fail(
            "min_purchase",
            translate(
                saved.page.locale, "Enter an amount in euros, with at most 2 decimals (e.g. 19.90)."
            ),
        )
    elif cents != snapshot["minPurchaseValue"]:
        changes["minPurchaseValue"] = cents
    organization = {}
    if saved.page.livemode and values["timezone"] and values["timezone"] != saved.timezone:
        organization["timezone"] = values["timezone"]
    return Body(changes, organization, rows)


def _key(param: Sequence[str | int], rows: list[int]) -> str:
    """The form field of an error's location (`("discountLevels", 1, "value")`) or of an
    AppError's `param` split the same way."""
    head = param[0] if param else ""
    if head == "discountLevels":
        if len(param) > 1 and isinstance(param[1], int) and param[1] < len(rows):
            part = "value" if len(param) > 2 and param[2] == "value" else "participants"
            return f"level-{rows[param[1]]}-{part}"
        return "levels"
    return _FIELDS.get(str(head), "form")


def _split(param: str | None) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"[A-Za-z]+|\d+", param or "")]


def _message(error: AppError) -> str:
    """The API's message without its envelope prefix and the field's own name (shown by the
    field's label)."""
    text = error.message.removeprefix("Invalid request: ")
    if error.param and text.startswith(error.param + " "):
        text = text[len(error.param) + 1 :]
    return text


def _checked(form: Form, body: Body, schema: type[Schema], data: dict[str, Any]) -> Schema:
    """`data` through the API's request schema; each refusal noted on its field (and then
    nothing is changed)."""
    try:
        return schema.model_validate(data)
    except SchemaError as refused:
        for error in refused.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            form.fail(_key(list(error["loc"]), body.rows), message)
    return schema()


@dataclass
class Saved:
    """What the page reads from the database."""

    page: Page
    snapshot: dict[str, Any]
    timezone: str


class Refused(Exception):
    """Raised inside the transaction so that nothing of a refused form is written."""


async def _read(
    session: AsyncSession, request: Request, organization_id: str, **guard: Any
) -> tuple[Saved, Any, Any]:
    page = await signed_in(session, request, organization_id=organization_id, **guard)
    settings = await service.get_settings(
        session, organization_id=organization_id, livemode=page.livemode
    )
    organization = await organizations.get_own_organization(
        session, organization_id=organization_id, caller_organization_id=organization_id
    )
    return Saved(page, service.snapshot(settings), organization.timezone), settings, organization


@router.get(PATH)
async def program_page(organization_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        saved, _, _ = await _read(session, request, organization_id)
    form = _saved_form(saved.snapshot, saved.timezone)
    done = request.query_params.get("done")
    amount = request.query_params.get("amount", "")
    done = done if done in ("saved", "unchanged") else None
    return _render(request, saved, form, amount=amount, done=done)


@router.post(PATH)
async def save_program(organization_id: str, request: Request) -> Response:
    posted = await request.form()
    form = _posted_form(posted)
    amount = str(posted.get("amount", ""))[:40]
    try:
        async with db_of(request).write() as session:
            saved, settings, organization = await _read(
                session, request, organization_id, permission=users.WRITE, form=posted
            )
            page = saved.page
            body = _body(form, saved)
            changes = _checked(form, body, PaymentGroupSettingsUpdate, body.settings)
            org_changes = _checked(form, body, OrganizationUpdate, body.organization)
            if form.errors:
                raise Refused
            try:
                await service.update_settings(
                    session, settings, changes, actor=actor(request, page)
                )
                await organizations.update_organization(
                    session,
                    organization,
                    org_changes,
                    livemode=page.livemode,
                    settings=settings_of(request),
                    actor=actor(request, page),
                )
            except AppError as error:
                key = _key(_split(error.param), body.rows)
                form.levels_checked = not key.startswith("level") and key != "discount_type"
                form.fail(key, _message(error))
                raise Refused from None
    except Refused:
        async with db_of(request).write() as session:
            saved, _, _ = await _read(
                session, request, organization_id, permission=users.WRITE, form=posted
            )
        return _render(request, saved, form, amount=amount, status=400)
    done = "saved" if body.settings or body.organization else "unchanged"
    query = {"done": done, **({"amount": amount} if parse_euros(amount) else {})}
    return redirect(f"{PATH.format(organization_id=organization_id)}?{urlencode(query)}")


def _entered(form: Form) -> tuple[str, list[DiscountLevel]] | None:
    """The discount type and levels of a refused form, when the service found them right."""
    if not form.levels_checked:
        return None
    items, _ = _levels(form)
    levels = [
        DiscountLevel(
            id="",
            level=number,
            value=Decimal(item["value"]),
            participants_to_unlock=int(item["participantsToUnlock"]),
        )
        for number, item in enumerate(items, start=1)
    ]
    return form.values["discount_type"], levels


def _basket(text: str, locale: str) -> tuple[int, str | None]:
    """The basket of the preview (cents), or the default one and why the text was refused."""
    if not text.strip():
        return DEFAULT_BASKET, None
    cents = parse_euros(text)
    if cents is None or not 0 < cents <= MAX_AMOUNT:
        return DEFAULT_BASKET, translate(
            locale, "Enter an amount in euros greater than 0, with at most 2 decimals."
        )
    return cents, None


def preview(discount_type: str, levels: list[DiscountLevel], basket: int) -> list[dict[str, Any]]:
    """Per level: the members it needs and each member's cashback on an order of `basket`
    cents, as a group reaching it computes it (level reached, then the amount)."""
    found = []
    for level in sorted(levels, key=lambda item: item.participants_to_unlock):
        people = level.participants_to_unlock
        each = cashback_amount(discount_type, level_reached(levels, people), basket)
        found.append({"level": level, "people": people, "each": each, "total": each * people})
    return found


def _duration(minutes: int, locale: str) -> str:
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        format_unit(amount, unit, locale=locale)
        for amount, unit in (
            (days, "duration-day"),
            (hours, "duration-hour"),
            (minutes, "duration-minute"),
        )
        if amount
    ]
    return format_list(parts, style="unit", locale=locale)


def _first_error(form: Form) -> str | None:
    """The field to focus when the form comes back refused (the list's error: its first row)."""
    rows = [f"level-{i}-{part}" for i in range(MAX_ROWS) for part in ("participants", "value")]
    order = ["discount_type", "levels", *rows, *list(_FIELDS.values())[1:]]
    first = next((key for key in order if key in form.errors), None)
    return "level-0-participants" if first == "levels" else first


@lru_cache(maxsize=1)
def _timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _render(
    request: Request,
    saved: Saved,
    form: Form,
    *,
    amount: str,
    done: str | None = None,
    status: int = 200,
) -> Response:
    page, snapshot = saved.page, saved.snapshot
    locale = page.locale
    basket, basket_error = _basket(amount, locale)
    entered = _entered(form)
    discount_type, levels = entered or (snapshot["discountType"], snapshot_levels(snapshot))
    context = {
        **page.layout(request.url.path),
        "form": form,
        "first_error": _first_error(form),
        "rows": form.rows + [("", "")] * (MAX_LEVELS - len(form.rows)),
        "saved": snapshot,
        "saved_levels": snapshot_levels(snapshot),
        "timezone": saved.timezone,
        "timezones": _timezones() if page.livemode else [],
        "can_write": page.can(users.WRITE),
        "done": done,
        "limits": {
            "min": MIN_PARTICIPANTS,
            "max": MAX_PARTICIPANTS,
            "minutes": MAX_MINUTES_DURATION,
            "levels": MAX_LEVELS,
        },
        "basket": basket,
        "basket_text": amount if basket_error else euros(basket),
        "basket_error": basket_error,
        "preview_type": discount_type,
        "preview": preview(discount_type, levels, basket),
        "preview_entered": entered is not None,
        "money": lambda cents: format_currency(Decimal(cents).scaleb(-2), "EUR", locale=locale),
        "percent": lambda value: format_percent(
            Decimal(value) / 100, locale=locale, decimal_quantization=False
        ),
        "duration": lambda minutes: _duration(minutes, locale),
    }
    return html("program.html", locale, context, status=400 if basket_error else status)

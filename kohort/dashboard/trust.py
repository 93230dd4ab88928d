"""The Trust page: the risk policy of the mode looked at (per level: allow, review or refuse;
the days to decide; what an undecided review becomes) and its monthly cashback budget, changed
through the API's own request schemas (`RiskPolicyUpdate`, `BudgetUpdate`) and services, so
the rules, their messages and the audit records are the API's; and this month's budget use,
which the Overview shows too (`budget_view`)."""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_percent
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort import clock
from kohort.dashboard.endpoints import actor, db_of, html, redirect
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.order_views import risk_formats
from kohort.dashboard.payout_settings import validated
from kohort.dashboard.program import euros, integer, parse_euros
from kohort.dashboard.rendering import translate
from kohort.dashboard_user.service import WRITE
from kohort.errors import AppError
from kohort.group_settings.service import get_settings
from kohort.models import Organization, PaymentGroupSettings
from kohort.organization import service as organizations
from kohort.risk import budget
from kohort.risk import settings as risk
from kohort.risk.policy import ACTIONS, MAX_REVIEW_DAYS, OUTCOMES
from kohort.risk.schemas import BudgetUpdate, RiskPolicyRead, RiskPolicyUpdate
from kohort.risk.signals import LEVELS

router = APIRouter(include_in_schema=False)
PATH = "/dashboard/o/{organization_id}/trust"
FIELDS = (*(f"action-{level}" for level in LEVELS), "review_days", "review_default", "budget")
_PARAMS = {
    "reviewDays": "review_days",
    "review_days": "review_days",
    "reviewDefault": "review_default",
    "review_default": "review_default",
    "monthlyAmount": "budget",
    "monthly_amount": "budget",
    **{f"actions.{level}": f"action-{level}" for level in LEVELS},
}


@dataclass
class Saved:
    """What the page reads: the mode's settings row, its policy and this month's budget."""

    page: Page
    organization: Organization
    settings: PaymentGroupSettings
    policy: RiskPolicyRead
    budget: dict[str, Any]


class Refused(Exception):
    """Raised inside the transaction so that nothing of a refused form is written."""


async def _read(
    session: AsyncSession, request: Request, organization_id: str, **guard: Any
) -> Saved:
    page = await signed_in(session, request, organization_id=organization_id, **guard)
    organization = await organizations.get_own_organization(
        session, organization_id=organization_id, caller_organization_id=organization_id
    )
    settings = await get_settings(session, organization_id=organization_id, livemode=page.livemode)
    used = await budget.read(session, organization, settings, clock.now())
    return Saved(page, organization, settings, risk.policy_read(settings), used)


def _saved_values(saved: Saved) -> dict[str, str]:
    actions = saved.policy.actions
    limit = saved.settings.monthly_cashback_budget
    return {
        **{f"action-{level}": actions[level] for level in LEVELS},
        "review_days": str(saved.policy.review_days),
        "review_default": saved.policy.review_default,
        "budget": "" if limit is None else euros(limit),
    }


def _posted_values(posted: Any) -> dict[str, str]:
    return {name: str(posted.get(name) or "").strip()[:200] for name in FIELDS}


def _policy_of(values: dict[str, str]) -> dict[str, Any]:
    """The form as a `PATCH …/risk-policy` body (all of it: the service keeps what is equal)."""
    return {
        "actions": {level: values[f"action-{level}"] for level in LEVELS},
        "reviewDays": integer(values["review_days"]),
        "reviewDefault": values["review_default"] or None,
    }


def _budget_of(values: dict[str, str], locale: str) -> tuple[int | None, dict[str, str]]:
    """The budget typed in euros (`1 250,50` too) as `monthlyAmount` cents (empty: no budget),
    checked by the API's schema."""
    text = values["budget"]
    if not text:
        return None, {}
    cents = parse_euros(re.sub(r"[ \u00a0\u202f]", "", text))
    if cents is None:
        message = "Enter an amount in euros, with at most 2 decimals (e.g. 19.90)."
        return None, {"monthlyAmount": translate(locale, message)}
    _, errors = validated({"monthlyAmount": cents}, BudgetUpdate)
    return cents, errors


def _checked(saved: Saved, values: dict[str, str]) -> tuple[RiskPolicyUpdate, int | None]:
    """The form through the API's schemas; each refusal noted on its field (`Refused`)."""
    locale = saved.page.locale
    changes, refused = validated(_policy_of(values), RiskPolicyUpdate)
    cents, budget_refused = _budget_of(values, locale)
    errors: dict[str, str] = {}
    if not values["review_days"]:
        errors["review_days"] = translate(locale, "Enter a number of days.")
    for param, message in {**refused, **budget_refused}.items():
        errors.setdefault(_PARAMS.get(param, "form"), message)
    if errors or changes is None:
        raise Refused(errors)
    return changes, cents


async def _save(
    session: AsyncSession, request: Request, saved: Saved, values: dict[str, str]
) -> bool:
    """The policy, then the budget if it differs; whether anything changed."""
    changes, cents = _checked(saved, values)
    who = actor(request, saved.page)
    try:
        settings = await risk.update_policy(session, saved.settings, changes, actor=who)
        if cents != settings.monthly_cashback_budget:
            update = BudgetUpdate(monthly_amount=cents)
            await risk.update_budget(session, saved.organization, settings, update, actor=who)
            return True
    except AppError as error:
        raise Refused({_PARAMS.get(error.param or "", "form"): _message(error)}) from None
    after = risk.policy_read(settings).model_dump(exclude={"updated_at"})
    return after != saved.policy.model_dump(exclude={"updated_at"})


def _message(error: AppError) -> str:
    """A service's refusal without its envelope's lead nor the field's name (its label's)."""
    text = error.message.removeprefix("Invalid request: ")
    field = _PARAMS.get(error.param or "")
    for name in (name for name, key in _PARAMS.items() if key == field):
        if text.startswith(name + " "):
            return text[len(name) + 1 :]
    return text


@router.get(PATH)
async def trust_page(organization_id: str, request: Request) -> Response:
    async with db_of(request).write() as session:
        saved = await _read(session, request, organization_id)
    done = request.query_params.get("done")
    done = done if done in ("saved", "unchanged") else None
    return _render(saved, _saved_values(saved), {}, done)


@router.post(PATH)
async def save_trust(organization_id: str, request: Request) -> Response:
    """Owners and admins (who edit the Program page), in the mode looked at; a refused form
    changes nothing and comes back with each message next to its field."""
    posted = await request.form()
    values = _posted_values(posted)
    try:
        async with db_of(request).write() as session:
            saved = await _read(session, request, organization_id, permission=WRITE, form=posted)
            changed = await _save(session, request, saved, values)
    except Refused as refused:
        async with db_of(request).write() as session:
            saved = await _read(session, request, organization_id, permission=WRITE, form=posted)
        return _render(saved, values, refused.args[0], None, status=400)
    done = "saved" if changed else "unchanged"
    return redirect(f"{PATH.format(organization_id=organization_id)}?done={done}")


def _render(
    saved: Saved,
    values: dict[str, str],
    errors: dict[str, str],
    done: str | None,
    status: int = 200,
) -> Response:
    page = saved.page
    order = [*FIELDS, "form"]
    context = {
        **page.layout(PATH.format(organization_id=saved.organization.id)),
        **risk_formats(page.locale),
        "values": values,
        "errors": errors,
        "first_error": next((key for key in order if key in errors), None),
        "levels": LEVELS,
        "actions": ACTIONS,
        "outcomes": OUTCOMES,
        "max_days": MAX_REVIEW_DAYS,
        "policy": saved.policy.model_dump(by_alias=True),
        "can_write": page.can(WRITE),
        "done": done,
        "budget": budget_view(saved.budget, page.locale),
        "money": lambda cents: _money(cents, page.locale),
    }
    return html("trust.html", page.locale, context, status)


def _money(cents: int, locale: str) -> str:
    return format_currency(Decimal(cents).scaleb(-2), "EUR", locale=locale)


def budget_view(read: dict[str, Any], locale: str) -> dict[str, Any] | None:
    """This month's budget use as the pages write it (`budget.read`'s figures): None without a
    budget. `until`: the first day of the next month, when new orders open groups again."""
    limit, used = read["monthlyAmount"], read["used"]
    if limit is None:
        return None
    year, month = (int(part) for part in read["month"].split("-"))
    share = Decimal(1) if limit == 0 else Decimal(used) / Decimal(limit)
    return {
        "used": _money(used, locale),
        "limit": _money(limit, locale),
        "remaining": _money(read["remaining"], locale),
        "meter": f"{min(share, Decimal(1)) * 100:.1f}",
        "share": format_percent(share, locale=locale),
        "month": format_date(date(year, month, 1), "LLLL y", locale=locale),
        "until": format_date(date(year + month // 12, month % 12 + 1, 1), "long", locale=locale),
        "exhausted": read["exhausted"],
        "warning": bool(read["thresholdsReached"]) and not read["exhausted"],
    }

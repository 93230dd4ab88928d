"""The Overview: this month's cashback budget use (`GET …/cashback-budget`'s figures), what
referral brought in the period against the previous one, the same figures as `GET /analytics`
(the same service computes both), with server-rendered SVG charts, the top groups, and every
table as CSV. The Trust page (kohort.dashboard.trust) is served by this router too."""

import csv
import io
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import APIRouter, Request
from starlette.responses import Response

from kohort import clock
from kohort.analytics import service as analytics
from kohort.analytics.charts import Point, bar_chart, line_chart
from kohort.analytics.schemas import AnalyticsRead
from kohort.dashboard import trust
from kohort.dashboard.endpoints import db_of, html
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.rendering import translate
from kohort.errors import AppError
from kohort.group_settings.service import get_settings
from kohort.organization import service as organizations
from kohort.risk import budget

router = APIRouter(include_in_schema=False)
router.include_router(trust.router)
PERIODS = ("7d", "30d", "90d")


async def _figures(
    request: Request, organization_id: str, *, with_budget: bool = False
) -> tuple[Page, AnalyticsRead | None, str | None, dict[str, Any] | None]:
    """The page, the analytics of the period asked for (or the error that refuses it), and
    when asked this month's budget (`budget.read`)."""
    query = request.query_params
    db = db_of(request)
    async with db.write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
    custom = bool(query.get("from") or query.get("to"))
    now = clock.now()
    async with db.read(offload=True) as session:  # aggregates over the organization's history
        used = None
        if with_budget:
            organization = await organizations.get_own_organization(
                session, organization_id=organization_id, caller_organization_id=organization_id
            )
            settings = await get_settings(
                session, organization_id=organization_id, livemode=page.livemode
            )
            used = await budget.read(session, organization, settings, now)
        try:
            figures = await analytics.analytics(
                session,
                db,
                organization_id=organization_id,
                livemode=page.livemode,
                period=None if custom else (query.get("period") or "30d"),
                start=query.get("from") or None,
                end=query.get("to") or None,
                now=now,
            )
        except AppError as error:
            return page, None, error.message, used
    return page, figures, None, used


@router.get("/dashboard/o/{organization_id}/overview")
async def overview(organization_id: str, request: Request) -> Response:
    page, figures, error, used = await _figures(request, organization_id, with_budget=True)
    locale = page.locale
    context: dict[str, Any] = {
        **page.layout(request.url.path),
        "budget": None if used is None else trust.budget_view(used, locale),
        "periods": PERIODS,
        "period": request.query_params.get("period") or "30d",
        "start": request.query_params.get("from", ""),
        "end": request.query_params.get("to", ""),
        "error": error,
        "a": figures,
        "money": lambda cents: format_currency(Decimal(cents).scaleb(-2), "EUR", locale=locale),
        "number": lambda value: "—" if value is None else format_decimal(value, locale=locale),
        "change": lambda value: (
            "—" if value is None else format_percent(value, "+#,##0.#%;-#,##0.#%", locale=locale)
        ),
        "day": lambda value: format_date(value, "medium", locale=locale),
        "query": request.url.query,
        "channel_names": {
            "whatsapp": "WhatsApp",
            "sms": translate(locale, "SMS"),
            "email": translate(locale, "E-mail"),
            "telegram": "Telegram",
            "copy": translate(locale, "copied"),
            "native": translate(locale, "share sheet"),
        },
    }
    if figures is not None:
        days = figures.daily
        context["revenue_chart"] = line_chart(
            [Point(day.date, day.referred_revenue) for day in days],
            title=translate(locale, "Referred revenue per day"),
            y_label="",
            chart_id="revenue-chart",
            label=lambda cents: format_currency(
                Decimal(cents).scaleb(-2),
                "EUR",
                format="¤#,##0",
                currency_digits=False,
                locale=locale,
            ),
        )
        context["joins_chart"] = bar_chart(
            [Point(day.date, day.joins) for day in days],
            title=translate(locale, "Joins per day"),
            y_label=translate(locale, "Joins"),
            chart_id="joins-chart",
        )
    return html("overview.html", locale, context, status=400 if error else 200)


@router.get("/dashboard/o/{organization_id}/overview/{table}.csv")
async def overview_csv(organization_id: str, table: str, request: Request) -> Response:
    """`daily.csv` or `top-groups.csv` of the period shown (amounts in cents)."""
    page, figures, error, _ = await _figures(request, organization_id)
    if table not in ("daily", "top-groups") or figures is None:
        return Response(
            error or "No such table.",
            status_code=400 if error else 404,
            media_type="text/plain; charset=utf-8",
        )
    out = io.StringIO()
    writer = csv.writer(out)
    if table == "daily":
        writer.writerow(
            [
                "date",
                "referred_revenue_cents",
                "groups_opened",
                "joins",
                "groups_completed",
                "cashback_earned_cents",
            ]
        )
        for day in figures.daily:
            writer.writerow(
                [
                    day.date.isoformat(),
                    day.referred_revenue,
                    day.groups_opened,
                    day.joins,
                    day.groups_completed,
                    day.cashback_earned,
                ]
            )
    else:
        writer.writerow(["id", "share_id", "status", "members", "referred_revenue_cents"])
        for group in figures.top_groups:
            writer.writerow(
                [group.id, group.share_id, group.status, group.members, group.referred_revenue]
            )
    mode = "live" if page.livemode else "test"
    name = f"kohort-{table}-{mode}-{figures.period.from_}-{figures.period.to}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

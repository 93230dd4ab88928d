"""The Reviews page: the mode's orders under review that a decision can still change (the
Trust settings held them), the nearest deadline first, paged like the other lists, each with
its risk level, reasons and the Approve and Reject buttons; and what the order pages show of an
order's review. The decision itself is `kohort.order.review`'s, posted to the order
(kohort.dashboard.orders)."""

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pydantic
from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from kohort.dashboard import listing
from kohort.dashboard.endpoints import db_of, html
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.order_views import formats, refusal
from kohort.dashboard.rendering import translate
from kohort.dashboard_user import repository as users
from kohort.dashboard_user.service import WRITE
from kohort.errors import AppError, ValidationError
from kohort.group import repository as groups
from kohort.group.ending import SYSTEM
from kohort.group_settings.service import get_settings
from kohort.models import Order
from kohort.order import repository as orders
from kohort.risk.policy import PENDING
from kohort.risk.schemas import ReviewCreate

router = APIRouter(include_in_schema=False)
PATH = "/dashboard/o/{organization_id}/reviews"
SORTABLE = ("reviewDueAt", "amount", "createdAt")
DONE = ("approved", "rejected")


def decision_of(form: Any) -> bool:
    """The decision posted (`approve` or `reject`) through the API's schema: True to approve."""
    try:
        chosen = ReviewCreate.model_validate({"decision": str(form.get("decision", ""))[:20]})
    except pydantic.ValidationError as invalid:
        raise ValidationError(
            f"decision: {invalid.errors()[0]['msg']}.", param="decision"
        ) from None
    return chosen.decision == "approve"


def back_of(organization_id: str, form: Any) -> str | None:
    """The page of the queue a decision was posted from, to go back to; None from elsewhere."""
    back = str(form.get("back", ""))[:500]
    path = PATH.format(organization_id=organization_id)
    if (back == path or back.startswith(path + "?")) and "//" not in back:
        return back
    return None


def after(back: str, **query: str) -> str:
    return f"{back}{'&' if '?' in back else '?'}{urlencode(query)}"


async def queue_page(
    request: Request,
    organization_id: str,
    *,
    form: Any = None,
    error: AppError | None = None,
) -> Response:
    """The queue; after a refused decision, with the refusal on top (and 400)."""
    path = PATH.format(organization_id=organization_id)
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id, form=form)
        found = await listing.fetch(
            session,
            request,
            orders.select_pending_reviews(organization_id, page.livemode),
            fields=orders.LIST_FIELDS,
            id_column=Order.id,
            sortable=SORTABLE,
            default_sort="reviewDueAt",
            default_descending=False,
        )
        found = replace(found, path=path)
        in_groups = await groups.get_many(
            session, {order.payment_group_id for order in found.rows if order.payment_group_id}
        )
        settings = await get_settings(
            session, organization_id=organization_id, livemode=page.livemode
        )
    query = request.query_params
    done = query.get("done") if error is None else None
    context = {
        **page.layout(path),
        **formats(page.locale),
        "reviews": found,
        "groups": in_groups,
        "back": found.url(),
        "can_write": page.can(WRITE),
        "review_default": settings.review_default,
        "problem": None if error is None else refusal(page.locale, error),
        "done": done if done in DONE else None,
        "done_order": str(query.get("order", ""))[:64],
    }
    return html("reviews.html", page.locale, context, 200 if error is None else 400)


@router.get(PATH)
async def reviews_page(organization_id: str, request: Request) -> Response:
    return await queue_page(request, organization_id)


async def review_facts(session: AsyncSession, page: Page, order: Order) -> dict[str, Any]:
    """What the order's page shows of its review: whether it can still be decided, who
    decided it, and what its deadline does when nobody does."""
    reviewable = order.review_status == PENDING and order.status in orders.REVIEWABLE
    default = None
    if reviewable:
        settings = await get_settings(
            session, organization_id=order.organization_id, livemode=order.livemode
        )
        default = settings.review_default
    return {
        "reviewable": reviewable,
        "review_default": default,
        "reviewer": await _reviewer(session, page.locale, order.reviewed_by),
    }


async def _reviewer(session: AsyncSession, locale: str, reviewed_by: str | None) -> str:
    """A dashboard user by e-mail, the deadline's automatic decision, or the API key's id."""
    if reviewed_by is None:
        return ""
    if reviewed_by == SYSTEM:
        return translate(locale, "Kohort, at the deadline")
    if reviewed_by.startswith("usr_"):
        user = await users.get_user(session, reviewed_by)
        return user.email if user is not None else reviewed_by
    return reviewed_by

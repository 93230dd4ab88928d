"""What the Developers pages share: their paths, the refusals they translate, the API's
validation message for a form, filters made safe for `search`, the page context and a list
that shows the API's refusal of a filter instead of failing."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pydantic
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from kohort.api_key.schemas import MAX_OVERLAP_SECONDS
from kohort.dashboard import listing
from kohort.dashboard.guard import Page, signed_in
from kohort.dashboard.rendering import translate
from kohort.dashboard_user.service import WRITE
from kohort.errors import AppError
from kohort.http.validation import from_validation_error
from kohort.webhook import repository as webhooks
from kohort.webhook.schemas import EVENT_TYPES, TEST_EVENT

BASE = "/dashboard/o/{organization_id}/developers"
KEY_TYPES = ("SECRET", "PUBLISHABLE")
STATUSES = (webhooks.PENDING, webhooks.SUCCEEDED, webhooks.FAILED)
DELIVERY_TYPES = (*EVENT_TYPES, TEST_EVENT)
MAX_OVERLAP_HOURS = MAX_OVERLAP_SECONDS // 3600
DONE = {
    "revoked",
    "created",
    "updated",
    "deleted",
    "rolled",
    "test_sent",
    "retried",
    "redelivered",
}


def N_(message: str) -> str:
    """Marks a message for the catalog; translated where it is shown."""
    return message


ERRORS = {
    "LAST_SECRET_KEY": N_(
        "The last secret key of a mode cannot be revoked: create or roll one first."
    ),
    "API_KEY_ALREADY_ROLLED": N_("This key was rolled already: roll its successor instead."),
    "WEBHOOK_ENDPOINT_DISABLED": N_("This endpoint is disabled: enable it first."),
    "OVERLAP": N_("The old key keeps working 0 to 168 hours."),
}


def base_path(organization_id: str) -> str:
    return BASE.format(organization_id=organization_id)


def when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def invalid(exc: pydantic.ValidationError) -> str:
    """The API's message for the same body (`Invalid request: url: …`)."""
    errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
    return from_validation_error(RequestValidationError(errors)).message


def message_of(locale: str, error: AppError) -> str:
    """A refusal in the reader's language when the page knows it, else the API's message."""
    known = ERRORS.get(error.code)
    return translate(locale, known) if known else error.message


def clean(value: str) -> str:
    """A filter value as a `search` condition's, without control characters (PostgreSQL
    refuses NUL in text)."""
    return listing.clean("".join(c for c in value if c.isprintable()))


def text(form: Mapping[str, Any], name: str, limit: int = 4096) -> str:
    return str(form.get(name) or "").strip()[:limit]


def page_context(request: Request, page: Page, **values: Any) -> dict[str, Any]:
    done = request.query_params.get("done")
    return {
        **page.layout(request.url.path),
        "dev": base_path(page.current.organization_id if page.current else ""),
        "when": when,
        "can_write": page.can(WRITE),
        "done": done if done in DONE else None,
        "error": None,
        **values,
    }


async def fetch_list(
    session: AsyncSession, request: Request, stmt: Any, **options: Any
) -> tuple[listing.Listing[Any] | None, str | None]:
    """One page of a list, or the API's refusal of its filters (a value of the wrong type)."""
    try:
        return await listing.fetch(session, request, stmt, **options), None
    except AppError as error:
        return None, error.message


def integer(raw: str) -> int | None:
    """A whole number typed in a form (empty: 0), or None."""
    try:
        return int(raw or "0")
    except ValueError:
        return None


async def writer(request: Request, organization_id: str, form: Any, session: AsyncSession) -> Page:
    """The page of a form that changes something: a role that may write, else 403."""
    return await signed_in(
        session, request, organization_id=organization_id, permission=WRITE, form=form
    )

"""The Audit log page: who changed what and when, through the API (a key) or the dashboard (a
user), as `GET /audit-log` lists it (the same entries, fields and search), newest first. In
test mode it also shows the organization-wide entries (the organization, the team), which
are recorded once, in live mode, and concern both modes."""

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from kohort.audit import repository as audit
from kohort.dashboard import listing
from kohort.dashboard.emails import when_of
from kohort.dashboard.endpoints import db_of, html
from kohort.dashboard.guard import signed_in
from kohort.models import AuditEntry
from kohort.organization import repository as organizations

router = APIRouter(include_in_schema=False)
AREAS: dict[str, tuple[str, ...]] = {
    "organization": ("organization.",),
    "payment_group_settings": ("payment_group_settings.",),
    "api_key": ("api_key.",),
    "webhook_endpoint": ("webhook_endpoint.",),
    "payout": ("payout.",),
    "payout_batch": ("payout_batch.",),
    "email_message": ("email_message.",),
    "team": ("invitation.", "membership."),
}
"""The action filter: what was changed, as the prefixes of the actions that change it."""
SORTABLE = ("createdAt", "action", "actorType", "targetType")


def value_of(value: Any) -> str:
    """A value of `changes` as the page shows it (JSON for lists and objects)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def changes_of(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, from, to) of each recorded change, by field name (PostgreSQL's JSON keeps no
    order)."""
    found = []
    for name, change in sorted((entry.changes or {}).items()):
        if isinstance(change, dict) and set(change) <= {"from", "to"}:
            found.append((name, value_of(change.get("from")), value_of(change.get("to"))))
        else:
            found.append((name, "—", value_of(change)))
    return found


@router.get("/dashboard/o/{organization_id}/audit-log")
async def audit_log_page(organization_id: str, request: Request) -> Response:
    query = request.query_params
    area = query.get("area") or ""
    actor_type = query.get("actor") or ""
    target = listing.clean(query.get("target"), 64)
    bad = (area and area not in AREAS) or (actor_type and actor_type not in audit.ACTOR_TYPES)
    area = area if area in AREAS else ""
    actor_type = actor_type if actor_type in audit.ACTOR_TYPES else ""
    async with db_of(request).write() as session:
        page = await signed_in(session, request, organization_id=organization_id)
        organization = await organizations.get_by_id(session, organization_id)
        stmt = audit.select_for_dashboard(organization_id, page.livemode)
        if area:
            stmt = stmt.where(audit.starting_with(AREAS[area]))
        found = await listing.fetch(
            session,
            request,
            stmt,
            fields=audit.LIST_FIELDS,
            id_column=AuditEntry.id,
            sortable=SORTABLE,
            conditions=(
                f"actorType:{actor_type}" if actor_type else "",
                f"targetId:{target}" if target else "",
            ),
            params={"area": area, "actor": actor_type, "target": target},
        )
    assert organization is not None
    context = {
        **page.layout(request.url.path),
        "listing": found,
        "areas": list(AREAS),
        "actor_types": audit.ACTOR_TYPES,
        "filters": {"area": area, "actor": actor_type, "target": target},
        "bad_filter": bool(bad),
        "changes_of": changes_of,
        "when": when_of(organization, page.locale),
    }
    return html("audit_log.html", page.locale, context)

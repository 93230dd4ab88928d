"""Every query on the audit log."""

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.http.lists import Kind, ListField
from kohort.models import AuditEntry

ACTOR_TYPES = ("api_key", "user", "system")
"""`service.API_KEY`, `service.USER`, `service.SYSTEM` (a repository never imports a service)."""

LIST_FIELDS = {
    "action": ListField(AuditEntry.action, Kind.STRING),
    "actorType": ListField(AuditEntry.actor_type, Kind.STRING, choices=ACTOR_TYPES),
    "actorId": ListField(AuditEntry.actor_id, Kind.STRING, nullable=True),
    "targetType": ListField(AuditEntry.target_type, Kind.STRING, nullable=True),
    "targetId": ListField(AuditEntry.target_id, Kind.STRING, nullable=True),
    "createdAt": ListField(AuditEntry.created_at, Kind.TIMESTAMP),
}


def select_listed(organization_id: str, livemode: bool) -> Select[AuditEntry]:
    return select(AuditEntry).where(
        AuditEntry.organization_id == organization_id, AuditEntry.livemode == livemode
    )


ORGANIZATION_WIDE = ("organization.", "invitation.", "membership.")
"""Actions on what both modes share (the organization, its team): recorded with
`livemode=True`."""


def select_for_dashboard(organization_id: str, livemode: bool) -> Select[AuditEntry]:
    """The dashboard's log: `select_listed` of the mode, and in test mode also the
    organization-wide entries (`ORGANIZATION_WIDE`), which concern both modes."""
    if livemode:
        return select_listed(organization_id, livemode)
    shared = and_(AuditEntry.livemode.is_(True), starting_with(ORGANIZATION_WIDE))
    return select(AuditEntry).where(
        AuditEntry.organization_id == organization_id,
        or_(AuditEntry.livemode.is_(False), shared),
    )


def starting_with(prefixes: Sequence[str]) -> ColumnElement[bool]:
    """Entries whose action starts with one of `prefixes` (`api_key.`, `membership.`)."""
    return or_(*(AuditEntry.action.startswith(prefix, autoescape=True) for prefix in prefixes))


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, entry_id: str
) -> AuditEntry | None:
    stmt = select_listed(organization_id, livemode).where(AuditEntry.id == entry_id)
    return (await session.execute(stmt)).scalar_one_or_none()

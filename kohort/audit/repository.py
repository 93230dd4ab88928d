"""Every query on the audit log."""

from sqlalchemy import Select, select
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


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, entry_id: str
) -> AuditEntry | None:
    stmt = select_listed(organization_id, livemode).where(AuditEntry.id == entry_id)
    return (await session.execute(stmt)).scalar_one_or_none()

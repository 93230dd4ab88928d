"""The audit log: who changed what and when, for changes made through the API (an API key)
and through the dashboard (a user) alike. An entry is appended in the same transaction as the
change it records, so the log never disagrees with what was written."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit import repository
from kohort.audit.errors import AuditEntryNotFoundError
from kohort.ids import new_id
from kohort.models import AuditEntry

API_KEY = "api_key"
USER = "user"
SYSTEM = "system"

SECRET = "[secret]"
"""What `changes` holds for a secret that changed (a key, a password): never the value."""


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key (`id` `key_…`, `label` its preview), a dashboard user
    (`id` `usr_…`, `label` the e-mail) or the system; `request_id` and `ip_address` of the
    request, when there is one."""

    type: str
    id: str | None
    label: str | None
    request_id: str | None = None
    ip_address: str | None = None


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: str,
    livemode: bool,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry: `action` is `{object}.{verb}` (`api_key.rolled`,
    `payment_group_settings.updated`); `changes` maps each changed field to
    `{"from": …, "to": …}` (JSON values, `SECRET` for secrets)."""
    entry = AuditEntry(
        id=new_id("aud"),
        organization_id=organization_id,
        livemode=livemode,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=changes or {},
        request_id=actor.request_id,
        ip_address=actor.ip_address,
        created_at=clock.now(),
    )
    session.add(entry)
    await session.flush()
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"from": old, "to": new}}` for the fields whose value changed."""
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def created(after: dict[str, Any]) -> dict[str, Any]:
    """The changes of a creation: each field set, from null."""
    return diff({}, after)


def deleted(before: dict[str, Any]) -> dict[str, Any]:
    """The changes of a deletion: each field that was set, to null."""
    return {
        name: {"from": value, "to": None} for name, value in before.items() if value is not None
    }


def secret_change(*, was_set: bool, is_set: bool) -> dict[str, Any]:
    """A secret given anew: `SECRET` for each side that holds one, null for one that does not."""
    return {"from": SECRET if was_set else None, "to": SECRET if is_set else None}


async def get_entry(
    session: AsyncSession, *, organization_id: str, livemode: bool, entry_id: str
) -> AuditEntry:
    entry = await repository.get(
        session, organization_id=organization_id, livemode=livemode, entry_id=entry_id
    )
    if entry is None:
        raise AuditEntryNotFoundError(f"No such audit entry: '{entry_id}'", param="id")
    return entry

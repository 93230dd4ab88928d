"""The team of an organization: its members' roles, changed or removed by an owner. The last
owner can be neither demoted nor removed; changes lock the organization row first, so two
owners demoting each other at once cannot leave none (PostgreSQL; SQLite has one writer)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit.service import Actor, record
from kohort.dashboard_user import repository, service
from kohort.dashboard_user.errors import LastOwnerError, MemberNotFoundError
from kohort.dashboard_user.repository import OWNER
from kohort.models import Membership
from kohort.organization import repository as organizations


@dataclass(frozen=True)
class Member:
    membership_id: str
    user_id: str
    email: str
    role: str
    since: datetime


@dataclass(frozen=True)
class PendingInvitation:
    id: str
    email: str
    role: str
    expires_at: datetime


@dataclass(frozen=True)
class Team:
    members: list[Member]
    invitations: list[PendingInvitation]


async def team(session: AsyncSession, organization_id: str) -> Team:
    members = await repository.members_of_organization(session, organization_id)
    pending = await repository.pending_invitations(session, organization_id, clock.now())
    return Team(
        members=[Member(m.id, u.id, u.email, m.role, m.created_at) for m, u in members],
        invitations=[PendingInvitation(t.id, t.email, t.role or "", t.expires_at) for t in pending],
    )


async def _locked_member(
    session: AsyncSession, organization_id: str, membership_id: str
) -> Membership:
    await organizations.lock(session, organization_id)
    membership = await repository.get_membership(
        session, organization_id=organization_id, membership_id=membership_id
    )
    if membership is None:
        raise MemberNotFoundError(f"No such member: '{membership_id}'")
    return membership


async def change_role(
    session: AsyncSession,
    *,
    organization_id: str,
    membership_id: str,
    role: str,
    actor: Actor,
    actor_role: str,
) -> None:
    service.require(actor_role, service.TEAM)
    service.check_role(role)
    membership = await _locked_member(session, organization_id, membership_id)
    if membership.role == role:
        return
    if membership.role == OWNER and await repository.count_owners(session, organization_id) <= 1:
        raise LastOwnerError("The last owner cannot be demoted.")
    await repository.set_role(session, membership.id, role, clock.now())
    await record(
        session,
        actor=actor,
        organization_id=organization_id,
        livemode=True,
        action="membership.updated",
        target_type="membership",
        target_id=membership.id,
        changes={"role": {"from": membership.role, "to": role}},
    )


async def remove_member(
    session: AsyncSession,
    *,
    organization_id: str,
    membership_id: str,
    actor: Actor,
    actor_role: str,
) -> None:
    """The member loses access at once: the sessions looking at this organization are of no
    use to them (every page checks the membership)."""
    service.require(actor_role, service.TEAM)
    membership = await _locked_member(session, organization_id, membership_id)
    if membership.role == OWNER and await repository.count_owners(session, organization_id) <= 1:
        raise LastOwnerError("The last owner cannot be removed.")
    await repository.delete_membership(session, membership.id)
    await record(
        session,
        actor=actor,
        organization_id=organization_id,
        livemode=True,
        action="membership.deleted",
        target_type="membership",
        target_id=membership.id,
        changes={"role": {"from": membership.role, "to": None}},
    )

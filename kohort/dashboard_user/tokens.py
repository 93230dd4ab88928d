"""Single-use links sent by e-mail: invitations to an organization and password resets.

A link's token is derived from the instance's secret key and the `user_tokens` row id
(HMAC-SHA256), so neither the row (which keeps only the token's SHA-256) nor the outbox row
(which keeps only the row id) holds it: the worker derives it again when it sends the
e-mail. A link is used once (one conditional update), and expires."""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.audit.service import Actor, record
from kohort.config import Settings
from kohort.dashboard_user import repository, service
from kohort.dashboard_user.errors import (
    AlreadyMemberError,
    InvalidLinkError,
    InvitationNotFoundError,
)
from kohort.dashboard_user.repository import INVITATION, PASSWORD_RESET
from kohort.email import service as email_service
from kohort.ids import new_id
from kohort.models import DashboardUser, Organization, UserToken
from kohort.organization import repository as organizations
from kohort.secret_key import secret_key

PATHS = {INVITATION: "/dashboard/invitations/", PASSWORD_RESET: "/dashboard/reset/"}


def derive(settings: Settings, token_id: str) -> str:
    digest = hmac.new(
        secret_key(settings), f"user-token:{token_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link(settings: Settings, kind: str, token_id: str) -> str:
    """The URL an e-mail carries for the token row `token_id`."""
    return f"{settings.base_url}{PATHS[kind]}{derive(settings, token_id)}"


async def _issue(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: str,
    email: str,
    valid: timedelta,
    user_id: str | None = None,
    organization_id: str | None = None,
    role: str | None = None,
    by: str | None = None,
) -> UserToken:
    now = clock.now()
    await repository.revoke_pending_tokens(
        session, kind=kind, email=email, now=now, organization_id=organization_id
    )
    token_id = new_id("utk")
    row = UserToken(
        id=token_id,
        kind=kind,
        token_hash=hash_token(derive(settings, token_id)),
        email=email,
        user_id=user_id,
        organization_id=organization_id,
        role=role,
        created_at=now,
        created_by=by,
        expires_at=now + valid,
    )
    await repository.add(session, row)
    return row


@dataclass(frozen=True)
class Invitation:
    token: UserToken
    organization: Organization


async def invite(
    session: AsyncSession,
    settings: Settings,
    *,
    organization_id: str,
    email: str,
    role: str,
    actor: Actor,
    inviter_role: str,
    locale: str,
) -> UserToken:
    """Owner only. A new invitation (any earlier pending one to the same address is
    revoked), e-mailed through the outbox, recorded in the audit log."""
    service.require(inviter_role, service.TEAM)
    email = service.check_email(email)
    service.check_role(role)
    organization = await organizations.lock(session, organization_id)
    assert organization is not None
    existing = await repository.get_user_by_email(session, email)
    if existing is not None and await repository.get_membership_of_user(
        session, organization_id=organization_id, user_id=existing.id
    ):
        raise AlreadyMemberError(f"{email} is already a member.", param="email")
    row = await _issue(
        session,
        settings,
        kind=INVITATION,
        email=email,
        valid=timedelta(days=settings.dashboard_invitation_days),
        user_id=existing.id if existing else None,
        organization_id=organization_id,
        role=role,
        by=actor.id,
    )
    await email_service.plan_dashboard_message(
        session,
        kind=email_service.USER_INVITATION,
        token_id=row.id,
        recipient=email,
        locale=(existing.locale if existing and existing.locale else locale),
        organization_id=organization_id,
        data={
            "organization": organization.name,
            "role": role,
            "days": settings.dashboard_invitation_days,
        },
        now=row.created_at,
    )
    await record(
        session,
        actor=actor,
        organization_id=organization_id,
        livemode=True,
        action="invitation.created",
        target_type="invitation",
        target_id=row.id,
        changes={"email": {"from": None, "to": email}, "role": {"from": None, "to": role}},
    )
    return row


async def revoke_invitation(
    session: AsyncSession, *, organization_id: str, token_id: str, actor: Actor, actor_role: str
) -> None:
    service.require(actor_role, service.TEAM)
    row = await repository.revoke_invitation(
        session, organization_id=organization_id, token_id=token_id, now=clock.now()
    )
    if row is None:
        raise InvitationNotFoundError(f"No such invitation: '{token_id}'")
    await record(
        session,
        actor=actor,
        organization_id=organization_id,
        livemode=True,
        action="invitation.revoked",
        target_type="invitation",
        target_id=row.id,
        changes={"email": {"from": row.email, "to": None}},
    )


async def find_invitation(session: AsyncSession, token: str) -> Invitation | None:
    """The usable invitation of a link's token (to show before it is accepted)."""
    row = await repository.get_usable_token(
        session, token_hash=hash_token(token), kind=INVITATION, now=clock.now()
    )
    if row is None or row.organization_id is None:
        return None
    organization = await organizations.get_by_id(session, row.organization_id)
    return Invitation(row, organization) if organization is not None else None


@dataclass(frozen=True)
class Accepted:
    user: DashboardUser
    organization_id: str
    new_user: bool


async def accept_invitation(
    session: AsyncSession, token: str, *, password: str | None, locale: str | None
) -> Accepted:
    """Use the invitation once: the user is created (with `password`, required then) or
    found, and becomes a member with the invitation's role."""
    now = clock.now()
    found = await repository.get_usable_token(
        session, token_hash=hash_token(token), kind=INVITATION, now=now
    )
    if found is None:
        raise InvalidLinkError("This invitation link is no longer valid.")
    user = await repository.get_user_by_email(session, found.email)
    needs_password = user is None or user.password_hash is None
    if needs_password:
        service.check_password(password or "")
    row = await repository.use_token(session, token_hash=found.token_hash, kind=INVITATION, now=now)
    if row is None or row.organization_id is None or row.role is None:
        raise InvalidLinkError("This invitation link is no longer valid.")
    new_user = user is None
    if user is None:
        user = await service.create_user(session, email=row.email, password=password, locale=locale)
    elif user.password_hash is None:
        await service.set_password(session, user, password or "")
    await service.add_membership(
        session, user=user, organization_id=row.organization_id, role=row.role, by=row.created_by
    )
    await record(
        session,
        actor=Actor(type="user", id=user.id, label=user.email),
        organization_id=row.organization_id,
        livemode=True,
        action="membership.created",
        target_type="membership",
        target_id=user.id,
        changes={
            "role": {"from": None, "to": row.role},
            "invitation": {"from": None, "to": row.id},
        },
    )
    return Accepted(user=user, organization_id=row.organization_id, new_user=new_user)


async def request_password_reset(
    session: AsyncSession, settings: Settings, *, email: str, locale: str
) -> None:
    """E-mail a reset link if `email` has an enabled account; nothing otherwise (the caller
    answers the same either way)."""
    user = await repository.get_user_by_email(session, email)
    if user is None or user.disabled_at is not None:
        return
    row = await _issue(
        session,
        settings,
        kind=PASSWORD_RESET,
        email=user.email,
        valid=timedelta(minutes=settings.dashboard_password_reset_minutes),
        user_id=user.id,
    )
    await email_service.plan_dashboard_message(
        session,
        kind=email_service.PASSWORD_RESET,
        token_id=row.id,
        recipient=user.email,
        locale=user.locale or locale,
        organization_id="",
        data={"minutes": settings.dashboard_password_reset_minutes},
        now=row.created_at,
    )


async def reset_link_is_usable(session: AsyncSession, token: str) -> bool:
    row = await repository.get_usable_token(
        session, token_hash=hash_token(token), kind=PASSWORD_RESET, now=clock.now()
    )
    return row is not None


async def reset_password(session: AsyncSession, token: str, *, password: str) -> DashboardUser:
    """Use the reset link once: the new password, every session of the user revoked."""
    service.check_password(password)
    row = await repository.use_token(
        session, token_hash=hash_token(token), kind=PASSWORD_RESET, now=clock.now()
    )
    user = await repository.get_user(session, row.user_id) if row and row.user_id else None
    if user is None:
        raise InvalidLinkError("This reset link is no longer valid.")
    await service.set_password(session, user, password)
    return user


async def set_password_link(settings: Settings, session: AsyncSession, user: DashboardUser) -> str:
    """A one-time link for an operator to hand over (`kohort user create` without a
    password): a password reset valid `dashboard_invitation_days`."""
    row = await _issue(
        session,
        settings,
        kind=PASSWORD_RESET,
        email=user.email,
        valid=timedelta(days=settings.dashboard_invitation_days),
        user_id=user.id,
    )
    return link(settings, PASSWORD_RESET, row.id)

"""Every query of dashboard users, memberships, sessions, single-use tokens and throttles."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.models import (
    DashboardSession,
    DashboardUser,
    LoginThrottle,
    Membership,
    Organization,
    UserToken,
)

OWNER = "owner"
ADMIN = "admin"
VIEWER = "viewer"
ROLES = (OWNER, ADMIN, VIEWER)
INVITATION = "invitation"
PASSWORD_RESET = "password_reset"


def email_key(email: str) -> str:
    """What makes two e-mails the same account: case and surrounding spaces ignored."""
    return email.strip().lower()


async def get_user(session: AsyncSession, user_id: str) -> DashboardUser | None:
    return await session.get(DashboardUser, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> DashboardUser | None:
    stmt = select(DashboardUser).where(DashboardUser.email_key == email_key(email))
    return (await session.execute(stmt)).scalar_one_or_none()


async def add(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def update_user(session: AsyncSession, user_id: str, **values: Any) -> None:
    await session.execute(update(DashboardUser).where(DashboardUser.id == user_id).values(**values))


async def memberships_of_user(
    session: AsyncSession, user_id: str
) -> Sequence[tuple[Membership, Organization]]:
    """The user's memberships with their organizations, by organization name."""
    stmt = (
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name, Organization.id)
    )
    return [(m, o) for m, o in (await session.execute(stmt)).all()]


async def members_of_organization(
    session: AsyncSession, organization_id: str
) -> Sequence[tuple[Membership, DashboardUser]]:
    stmt = (
        select(Membership, DashboardUser)
        .join(DashboardUser, DashboardUser.id == Membership.user_id)
        .where(Membership.organization_id == organization_id)
        .order_by(DashboardUser.email_key)
    )
    return [(m, u) for m, u in (await session.execute(stmt)).all()]


async def get_membership(
    session: AsyncSession, *, organization_id: str, membership_id: str
) -> Membership | None:
    stmt = select(Membership).where(
        Membership.id == membership_id, Membership.organization_id == organization_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_membership_of_user(
    session: AsyncSession, *, organization_id: str, user_id: str
) -> Membership | None:
    stmt = select(Membership).where(
        Membership.user_id == user_id, Membership.organization_id == organization_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_owners(session: AsyncSession, organization_id: str) -> int:
    stmt = select(func.count()).where(
        Membership.organization_id == organization_id, Membership.role == OWNER
    )
    return int((await session.execute(stmt)).scalar_one())


async def set_role(session: AsyncSession, membership_id: str, role: str, now: datetime) -> None:
    await session.execute(
        update(Membership).where(Membership.id == membership_id).values(role=role, updated_at=now)
    )


async def delete_membership(session: AsyncSession, membership_id: str) -> None:
    await session.execute(delete(Membership).where(Membership.id == membership_id))


def _insert_ignoring_duplicates(session: AsyncSession, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model)


async def add_membership_once(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Insert a membership unless the user already has one in the organization; whether it
    was inserted."""
    stmt = _insert_ignoring_duplicates(session, Membership).values(**row)
    result = await session.execute(stmt.on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0))


# Sessions


async def get_live_session(
    session: AsyncSession, token_hash: str, *, now: datetime, idle_since: datetime
) -> DashboardSession | None:
    """The session of a cookie: not revoked, not past its absolute expiry, seen since
    `idle_since`."""
    stmt = select(DashboardSession).where(
        DashboardSession.token_hash == token_hash,
        DashboardSession.revoked_at.is_(None),
        DashboardSession.expires_at > now,
        DashboardSession.last_seen_at > idle_since,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_session(session: AsyncSession, session_id: str, **values: Any) -> None:
    await session.execute(
        update(DashboardSession).where(DashboardSession.id == session_id).values(**values)
    )


async def revoke_session(session: AsyncSession, session_id: str, now: datetime) -> None:
    await session.execute(
        update(DashboardSession)
        .where(DashboardSession.id == session_id, DashboardSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_sessions_of_user(
    session: AsyncSession, user_id: str, now: datetime, *, keep: str | None = None
) -> None:
    stmt = update(DashboardSession).where(
        DashboardSession.user_id == user_id, DashboardSession.revoked_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(DashboardSession.id != keep)
    await session.execute(stmt.values(revoked_at=now))


# Single-use tokens


async def use_token(
    session: AsyncSession, *, token_hash: str, kind: str, now: datetime
) -> UserToken | None:
    """Mark the token used, if it is still usable (one conditional update: a second use, or
    a concurrent one, finds nothing)."""
    stmt = (
        update(UserToken)
        .where(
            UserToken.token_hash == token_hash,
            UserToken.kind == kind,
            UserToken.used_at.is_(None),
            UserToken.revoked_at.is_(None),
            UserToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(UserToken.id)
    )
    token_id = (await session.execute(stmt)).scalar_one_or_none()
    if token_id is None:
        return None
    return await session.get(UserToken, token_id, populate_existing=True)


async def get_usable_token(
    session: AsyncSession, *, token_hash: str, kind: str, now: datetime
) -> UserToken | None:
    stmt = select(UserToken).where(
        UserToken.token_hash == token_hash,
        UserToken.kind == kind,
        UserToken.used_at.is_(None),
        UserToken.revoked_at.is_(None),
        UserToken.expires_at > now,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_token(session: AsyncSession, token_id: str) -> UserToken | None:
    return await session.get(UserToken, token_id)


async def pending_invitations(
    session: AsyncSession, organization_id: str, now: datetime
) -> Sequence[UserToken]:
    stmt = (
        select(UserToken)
        .where(
            UserToken.organization_id == organization_id,
            UserToken.kind == INVITATION,
            UserToken.used_at.is_(None),
            UserToken.revoked_at.is_(None),
            UserToken.expires_at > now,
        )
        .order_by(UserToken.created_at)
    )
    return list((await session.execute(stmt)).scalars())


async def revoke_invitation(
    session: AsyncSession, *, organization_id: str, token_id: str, now: datetime
) -> UserToken | None:
    """Revoke a pending invitation of the organization; None if there is none by that id."""
    stmt = (
        update(UserToken)
        .where(
            UserToken.id == token_id,
            UserToken.organization_id == organization_id,
            UserToken.kind == INVITATION,
            UserToken.used_at.is_(None),
            UserToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(UserToken.id)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        return None
    return await session.get(UserToken, token_id, populate_existing=True)


async def revoke_pending_tokens(
    session: AsyncSession,
    *,
    kind: str,
    email: str,
    now: datetime,
    organization_id: str | None = None,
) -> None:
    """Revoke the unused tokens of this kind for this e-mail (and organization): only the
    newest link works."""
    stmt = update(UserToken).where(
        UserToken.kind == kind,
        func.lower(UserToken.email) == email_key(email),
        UserToken.used_at.is_(None),
        UserToken.revoked_at.is_(None),
    )
    if organization_id is not None:
        stmt = stmt.where(UserToken.organization_id == organization_id)
    await session.execute(stmt.values(revoked_at=now))


# Throttling


async def get_throttles(session: AsyncSession, keys: Sequence[str]) -> Sequence[LoginThrottle]:
    stmt = select(LoginThrottle).where(LoginThrottle.key.in_(list(keys)))
    return list((await session.execute(stmt)).scalars())


async def count_failure(session: AsyncSession, key: str, now: datetime) -> int:
    """One more failure for `key` (upsert); the count, now."""
    insert = _insert_ignoring_duplicates(session, LoginThrottle)
    stmt = (
        insert.values(key=key, failures=1, last_failure_at=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.key],
            set_={"failures": LoginThrottle.failures + 1, "last_failure_at": now},
        )
        .returning(LoginThrottle.failures)
    )
    return int((await session.execute(stmt)).scalar_one())


async def block_until(session: AsyncSession, key: str, until: datetime) -> None:
    await session.execute(
        update(LoginThrottle).where(LoginThrottle.key == key).values(blocked_until=until)
    )


async def forget_throttle(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


async def forget_throttles_older_than(session: AsyncSession, moment: datetime) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < moment))

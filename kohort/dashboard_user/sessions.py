"""Server-side sessions: the cookie holds a random token, the database its SHA-256. A session
ends when revoked (sign-out, password change), after `dashboard_session_idle_minutes`
without a request, or `dashboard_session_absolute_hours` after sign-in, whichever first.

Signing in is here too: the password, then (when enabled) a TOTP code, with failures
throttled per account and per address."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.config import Settings
from kohort.dashboard_user import repository, service, throttling
from kohort.ids import new_id
from kohort.models import DashboardSession, DashboardUser

TOUCH_EVERY = timedelta(seconds=60)
"""`last_seen_at` is written at most this often (a page view is not always a write)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    token: str
    """For the cookie, this once."""
    row: DashboardSession


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: `opened` on success (pending its second factor when
    `opened.row.second_factor_pending`), else `blocked_until` when throttled, else wrong."""

    opened: Opened | None = None
    blocked_until: datetime | None = None


async def open_session(
    session: AsyncSession,
    settings: Settings,
    user: DashboardUser,
    *,
    pending: bool,
    ip_address: str | None,
    user_agent: str | None,
) -> Opened:
    now = clock.now()
    token = secrets.token_urlsafe(32)
    first = await service.memberships(session, user.id)
    row = DashboardSession(
        id=new_id("dss"),
        token_hash=hash_token(token),
        user_id=user.id,
        organization_id=first[0][1] if first else None,
        livemode=False,
        csrf_token=secrets.token_urlsafe(32),
        second_factor_pending=pending,
        ip_address=ip_address,
        user_agent=(user_agent or "")[:500] or None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.dashboard_session_absolute_hours),
    )
    await repository.add(session, row)
    if not pending:
        await repository.update_user(session, user.id, last_login_at=now)
    return Opened(token=token, row=row)


async def sign_in(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    ip_address: str | None,
    user_agent: str | None,
) -> SignIn:
    """Check the password unless throttled; a failure counts against the account and the
    address. A user with TOTP gets a session pending its code."""
    now = clock.now()
    keys = throttling.keys_for(email, ip_address)
    until = await throttling.blocked_until(session, keys, now=now)
    if until is not None:
        return SignIn(blocked_until=until)
    user = await repository.get_user_by_email(session, email)
    hashed = user.password_hash if user is not None and user.disabled_at is None else None
    if user is None or not await service.verify_password(hashed, password):
        await throttling.count_failure(session, keys, now=now)
        return SignIn()
    await throttling.count_success(session, keys)
    opened = await open_session(
        session,
        settings,
        user,
        pending=user.totp_enabled_at is not None,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return SignIn(opened=opened)


async def find(
    session: AsyncSession, settings: Settings, token: str | None
) -> DashboardSession | None:
    """The live session of a cookie's token, its `last_seen_at` moved to now (at most every
    `TOUCH_EVERY`); None when absent, revoked or expired."""
    if not token:
        return None
    now = clock.now()
    idle = timedelta(minutes=settings.dashboard_session_idle_minutes)
    row = await repository.get_live_session(
        session, hash_token(token), now=now, idle_since=now - idle
    )
    if row is not None and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        await repository.update_session(session, row.id, last_seen_at=now)
    return row


async def second_factor(
    session: AsyncSession,
    settings: Settings,
    row: DashboardSession,
    user: DashboardUser,
    *,
    code: str,
    ip_address: str | None,
) -> SignIn:
    """Complete a pending session with a TOTP code; wrong codes are throttled like wrong
    passwords."""
    now = clock.now()
    keys = throttling.keys_for(user.email, ip_address)
    until = await throttling.blocked_until(session, keys, now=now)
    if until is not None:
        return SignIn(blocked_until=until)
    if not service.code_matches(service.totp_secret(settings, user), code):
        await throttling.count_failure(session, keys, now=now)
        return SignIn()
    await throttling.count_success(session, keys)
    token = secrets.token_urlsafe(32)
    row.second_factor_pending = False
    row.token_hash = hash_token(token)
    await repository.update_session(
        session, row.id, second_factor_pending=False, token_hash=row.token_hash
    )
    await repository.update_user(session, user.id, last_login_at=now)
    return SignIn(opened=Opened(token=token, row=row))


async def sign_out(session: AsyncSession, row: DashboardSession) -> None:
    await repository.revoke_session(session, row.id, clock.now())


async def look_at(
    session: AsyncSession,
    row: DashboardSession,
    *,
    organization_id: str | None = None,
    livemode: bool | None = None,
) -> None:
    """Remember the organization and the mode the user is looking at."""
    values: dict[str, object] = {}
    if organization_id is not None and organization_id != row.organization_id:
        values["organization_id"] = row.organization_id = organization_id
    if livemode is not None and livemode != row.livemode:
        values["livemode"] = row.livemode = livemode
    if values:
        await repository.update_session(session, row.id, **values)

"""Dashboard accounts: creation, passwords (Argon2id), the TOTP second factor, the language
choice, and what each role may do (the one copy of that rule)."""

import asyncio
import re
from dataclasses import dataclass

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock, crypto
from kohort.config import Settings
from kohort.dashboard_user import repository
from kohort.dashboard_user.errors import (
    InvalidEmailError,
    InvalidRoleError,
    PermissionDeniedError,
    WeakPasswordError,
    WrongCodeError,
    WrongPasswordError,
)
from kohort.dashboard_user.repository import ADMIN, OWNER, ROLES, VIEWER, email_key
from kohort.ids import new_id
from kohort.models import DashboardUser, Membership

READ = "read"
WRITE = "write"
PAYOUT_SETTINGS = "payout_settings"
TEAM = "team"
PERMISSIONS = {
    OWNER: frozenset({READ, WRITE, PAYOUT_SETTINGS, TEAM}),
    ADMIN: frozenset({READ, WRITE}),
    VIEWER: frozenset({READ}),
}
"""owner: everything; admin: all but the live payout settings and the team; viewer: read."""

LOCALES = ("en_US", "fr_FR")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
TOTP_ISSUER = "Kohort"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("kohort: no such account")


def can(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def require(role: str, permission: str) -> None:
    if not can(role, permission):
        raise PermissionDeniedError(f"The role {role} does not allow {permission}.")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRoleError(f"role must be one of {', '.join(ROLES)}.", param="role")
    return role


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidEmailError("This is not an e-mail address.", param="email")
    return email


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise WeakPasswordError(
            f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.", param="password"
        )
    return password


async def hash_password(password: str) -> str:
    """Argon2id (argon2-cffi's defaults), off the event loop."""
    return await asyncio.to_thread(_hasher.hash, check_password(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; an absent hash costs the same time as a wrong password."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def create_user(
    session: AsyncSession, *, email: str, password: str | None, locale: str | None = None
) -> DashboardUser:
    now = clock.now()
    email = check_email(email)
    user = DashboardUser(
        id=new_id("usr"),
        email=email,
        email_key=email_key(email),
        name=None,
        password_hash=await hash_password(password) if password is not None else None,
        locale=locale if locale in LOCALES else None,
        totp_secret_encrypted=None,
        totp_enabled_at=None,
        last_login_at=None,
        disabled_at=None,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, user)
    return user


async def add_membership(
    session: AsyncSession, *, user: DashboardUser, organization_id: str, role: str, by: str | None
) -> bool:
    """Make the user a member with `role`, unless already one; whether it was added."""
    now = clock.now()
    return await repository.add_membership_once(
        session,
        {
            "id": new_id("mem"),
            "user_id": user.id,
            "organization_id": organization_id,
            "role": check_role(role),
            "created_at": now,
            "created_by": by,
            "updated_at": now,
        },
    )


async def find_user_by_email(session: AsyncSession, email: str) -> DashboardUser | None:
    return await repository.get_user_by_email(session, email)


async def set_password(session: AsyncSession, user: DashboardUser, password: str) -> None:
    """A new password; every session of the user is revoked."""
    now = clock.now()
    user.password_hash = await hash_password(password)
    await repository.update_user(session, user.id, password_hash=user.password_hash, updated_at=now)
    await repository.revoke_sessions_of_user(session, user.id, now)


async def change_password(
    session: AsyncSession, user: DashboardUser, *, current: str, new: str, keep_session: str
) -> None:
    """Needs the current password; every other session of the user is revoked."""
    if not await verify_password(user.password_hash, current):
        raise WrongPasswordError("The current password is wrong.", param="current")
    now = clock.now()
    user.password_hash = await hash_password(new)
    await repository.update_user(session, user.id, password_hash=user.password_hash, updated_at=now)
    await repository.revoke_sessions_of_user(session, user.id, now, keep=keep_session)


async def set_locale(session: AsyncSession, user: DashboardUser, locale: str | None) -> None:
    user.locale = locale if locale in LOCALES else None
    await repository.update_user(session, user.id, locale=user.locale, updated_at=clock.now())


async def memberships(session: AsyncSession, user_id: str) -> list[tuple[Membership, str, str]]:
    """(membership, organization id, organization name) of each of the user's memberships."""
    rows = await repository.memberships_of_user(session, user_id)
    return [(m, org.id, org.name) for m, org in rows]


# TOTP


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg_data_uri: str


def totp_secret(settings: Settings, user: DashboardUser) -> str | None:
    if user.totp_secret_encrypted is None:
        return None
    return crypto.decrypt(settings, user.totp_secret_encrypted)


async def start_totp(session: AsyncSession, settings: Settings, user: DashboardUser) -> Enrolment:
    """A new secret, kept (encrypted) but not enabled until a code confirms it."""
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = crypto.encrypt(settings, secret)
    user.totp_enabled_at = None
    await repository.update_user(
        session,
        user.id,
        totp_secret_encrypted=user.totp_secret_encrypted,
        totp_enabled_at=None,
        updated_at=clock.now(),
    )
    return enrolment(secret, user.email)


def enrolment(secret: str, email: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)
    qr = segno.make(uri, error="m")
    return Enrolment(secret=secret, uri=uri, qr_svg_data_uri=qr.svg_data_uri(scale=5, border=2))


def code_matches(secret: str | None, code: str) -> bool:
    """A 6-digit code of this 30-second step or the one before or after (clock drift)."""
    code = "".join(code.split())
    if secret is None or not code.isdigit() or len(code) != 6:
        return False
    return pyotp.TOTP(secret).verify(code, for_time=clock.now(), valid_window=1)


async def confirm_totp(
    session: AsyncSession, settings: Settings, user: DashboardUser, code: str
) -> None:
    if user.totp_secret_encrypted is None or not code_matches(totp_secret(settings, user), code):
        raise WrongCodeError("This code is not the one the app shows.", param="code")
    now = clock.now()
    user.totp_enabled_at = now
    await repository.update_user(session, user.id, totp_enabled_at=now, updated_at=now)


async def disable_totp(
    session: AsyncSession, settings: Settings, user: DashboardUser, code: str
) -> None:
    """Needs a current code."""
    if user.totp_enabled_at is None or not code_matches(totp_secret(settings, user), code):
        raise WrongCodeError("This code is not the one the app shows.", param="code")
    user.totp_secret_encrypted, user.totp_enabled_at = None, None
    await repository.update_user(
        session,
        user.id,
        totp_secret_encrypted=None,
        totp_enabled_at=None,
        updated_at=clock.now(),
    )

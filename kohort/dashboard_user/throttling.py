"""Failed sign-ins slowed down per account and per address, counted in `login_throttles` so
the count holds across processes and restarts.

An account may fail `ACCOUNT_FREE_FAILURES` times, an address `ADDRESS_FREE_FAILURES` times
(an office behind one address has several people); each failure past that blocks the key for
`BASE_DELAY` doubled per extra failure, at most `MAX_DELAY`. A count is forgotten
`FORGET_AFTER` its last failure, and an account's on a successful sign-in."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kohort.dashboard_user import repository
from kohort.dashboard_user.repository import email_key

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
FORGET_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Keys:
    account: str
    address: str | None


def keys_for(email: str, ip_address: str | None) -> Keys:
    return Keys(
        account=f"account:{email_key(email)}"[:400],
        address=f"address:{ip_address}" if ip_address else None,
    )


def _all(keys: Keys) -> list[str]:
    return [key for key in (keys.account, keys.address) if key is not None]


async def blocked_until(session: AsyncSession, keys: Keys, *, now: datetime) -> datetime | None:
    """When attempts for these keys may resume, if they are blocked now."""
    until = [
        throttle.blocked_until
        for throttle in await repository.get_throttles(session, _all(keys))
        if throttle.blocked_until is not None
        and throttle.blocked_until > now
        and throttle.last_failure_at > now - FORGET_AFTER
    ]
    return max(until) if until else None


def delay_after(failures: int, free: int) -> timedelta | None:
    """How long a key is blocked after its `failures`-th failure (None: not blocked)."""
    extra = failures - free
    if extra <= 0:
        return None
    delay: timedelta = min(BASE_DELAY * 2 ** min(extra - 1, 20), MAX_DELAY)
    return delay


async def count_failure(session: AsyncSession, keys: Keys, *, now: datetime) -> None:
    for key, free in ((keys.account, ACCOUNT_FREE_FAILURES), (keys.address, ADDRESS_FREE_FAILURES)):
        if key is None:
            continue
        for throttle in await repository.get_throttles(session, [key]):
            if throttle.last_failure_at <= now - FORGET_AFTER:
                await repository.forget_throttle(session, key)
        failures = await repository.count_failure(session, key, now)
        delay = delay_after(failures, free)
        if delay is not None:
            await repository.block_until(session, key, now + delay)


async def count_success(session: AsyncSession, keys: Keys) -> None:
    """A successful sign-in forgets the account's failures (not the address's)."""
    await repository.forget_throttle(session, keys.account)

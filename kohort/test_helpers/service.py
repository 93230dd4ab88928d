"""Test clocks (test mode only): a group's schedule moved forward, so that the worker sends
its reminders and ends it now. The API's test helper and the dashboard's group page both
call `advance_group`."""

from datetime import timedelta

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.errors import AppError, ValidationError
from kohort.group import repository, service
from kohort.group.errors import GroupEndedError
from kohort.models import PaymentGroup
from kohort.test_helpers.schemas import MAX_ADVANCE_SECONDS, GroupAdvance

SCHEDULE = ("expires_at", "mid_expire_at", "j_plus3_start_at", "j_minus2_expire_at")


class LiveModeNotAllowedError(AppError):
    status = 403
    code = "LIVE_MODE_NOT_ALLOWED"


def check_test_mode(livemode: bool) -> None:
    """Test clocks move test-mode groups only."""
    if livemode:
        raise LiveModeNotAllowedError("Test clocks move test-mode groups only; use a test key.")


async def advance_group(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    id_or_code: str,
    advance: GroupAdvance,
    actor: str,
) -> PaymentGroup:
    """Move a test group's `expiresAt` and reminder moments `advance.seconds` closer, or as
    close as `advance.to` is to now (`createdAt` kept). Live mode is refused before the group
    is looked up; a group that is no longer OPEN cannot be moved."""
    check_test_mode(livemode)
    group = await service.get_group(
        session, organization_id=organization_id, livemode=False, id_or_code=id_or_code
    )
    now = clock.now()
    if advance.to is not None:
        shift = advance.to - now
        if shift <= timedelta(0) or shift > timedelta(seconds=MAX_ADVANCE_SECONDS):
            raise ValidationError("to must be in the future, within 200 days.", param="to")
    else:
        shift = timedelta(seconds=advance.seconds or 0)
    values = {
        name: getattr(group, name) - shift for name in SCHEDULE if getattr(group, name) is not None
    }
    moved = await repository.transition(
        session,
        group_id=group.id,
        condition=true(),
        values={**values, "updated_at": now, "updated_by": actor},
    )
    if not moved:
        raise GroupEndedError(
            f"Group {group.share_id} is already {group.status.lower()}.", param="id"
        )
    fresh = await repository.get(session, group.id)
    assert fresh is not None
    return fresh

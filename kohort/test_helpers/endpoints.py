"""Test clocks (test mode only): move a group's schedule forward so the worker runs its
reminders and its end now, as Stripe's test clocks do."""

from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy import true

from kohort import clock
from kohort.errors import AppError, ValidationError
from kohort.group import repository, service
from kohort.group.errors import GroupEndedError
from kohort.group.schemas import GroupRead
from kohort.http.auth import SecretKey
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.test_helpers.schemas import MAX_ADVANCE_SECONDS, GroupAdvance

router = APIRouter(prefix="/test-helpers", tags=["Test helpers"], route_class=KohortRoute)


class LiveModeNotAllowedError(AppError):
    status = 403
    code = "LIVE_MODE_NOT_ALLOWED"


@router.post(
    "/groups/{id}/advance",
    response_model=GroupRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def advance_group(
    id: str, payload: GroupAdvance, session: Session, auth: SecretKey
) -> GroupRead:
    """Move a test group's clock forward by `seconds`, or `to` a moment: its `expiresAt` and
    reminder moments come that much closer, so the worker sends the reminders now due and
    ends the group if its time is up (within a second). `createdAt` is kept. Test keys only
    (a live key → 403 LIVE_MODE_NOT_ALLOWED)."""
    if auth.livemode:
        raise LiveModeNotAllowedError("Test clocks move test-mode groups only; use a test key.")
    group = await service.get_group(
        session, organization_id=auth.organization_id, livemode=False, id_or_code=id
    )
    now = clock.now()
    if payload.to is not None:
        shift = payload.to - now
        if shift <= timedelta(0) or shift > timedelta(seconds=MAX_ADVANCE_SECONDS):
            raise ValidationError("to must be in the future, within 200 days.", param="to")
    else:
        shift = timedelta(seconds=payload.seconds or 0)
    values = {
        name: getattr(group, name) - shift
        for name in ("expires_at", "mid_expire_at", "j_plus3_start_at", "j_minus2_expire_at")
        if getattr(group, name) is not None
    }
    moved = await repository.transition(
        session,
        group_id=group.id,
        condition=true(),
        values={**values, "updated_at": now, "updated_by": auth.key_id},
    )
    if not moved:
        raise GroupEndedError(
            f"Group {group.share_id} is already {group.status.lower()}.", param="id"
        )
    fresh = await repository.get(session, group.id)
    return GroupRead.model_validate(fresh)

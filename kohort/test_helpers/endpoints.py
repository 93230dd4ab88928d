"""Test clocks (test mode only): move a group's schedule forward so the worker runs its
reminders and its end now, as Stripe's test clocks do."""

from fastapi import APIRouter

from kohort.group.schemas import GroupRead
from kohort.http.auth import SecretKey
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.test_helpers import service
from kohort.test_helpers.schemas import GroupAdvance
from kohort.test_helpers.service import LiveModeNotAllowedError

__all__ = ["LiveModeNotAllowedError", "router"]

router = APIRouter(prefix="/test-helpers", tags=["Test helpers"], route_class=KohortRoute)


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
    group = await service.advance_group(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        id_or_code=id,
        advance=payload,
        actor=auth.key_id,
    )
    return GroupRead.model_validate(group)

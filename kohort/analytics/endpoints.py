from typing import Annotated

from fastapi import APIRouter, Query, Request

from kohort import clock
from kohort.analytics import service
from kohort.analytics.schemas import AnalyticsRead
from kohort.http.auth import SecretKey
from kohort.http.openapi import errors
from kohort.http.routing import KohortRoute, Session

router = APIRouter(prefix="/analytics", tags=["Analytics"], route_class=KohortRoute)


@router.get("", response_model=AnalyticsRead, responses=errors())
async def get_analytics(
    request: Request,
    session: Session,
    auth: SecretKey,
    period: Annotated[
        str | None, Query(description="`7d`, `30d` (default) or `90d`, ending today.")
    ] = None,
    from_: Annotated[
        str | None,
        Query(alias="from", description="First day (YYYY-MM-DD) of a custom period, with `to`."),
    ] = None,
    to: Annotated[
        str | None, Query(description="Last day (YYYY-MM-DD, inclusive) of a custom period.")
    ] = None,
) -> AnalyticsRead:
    """What referral brought the key's organization and mode in a period of local days (the
    organization's time zone) against the period before it: referred revenue and customers,
    groups, funnel, K-factor, cashback, fees, ROI, each day, and the top groups."""
    return await service.analytics(
        session,
        request.app.state.db,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        period=period,
        start=from_,
        end=to,
        now=clock.now(),
    )

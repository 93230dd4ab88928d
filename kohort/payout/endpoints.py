from typing import Annotated

from fastapi import APIRouter, Depends

from kohort import clock
from kohort.audit.endpoints import ApiActor
from kohort.http.auth import SecretKey
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.models import Payout
from kohort.payout import repository, service
from kohort.payout.schemas import PayoutRead

router = APIRouter(prefix="/payouts", tags=["Payouts"], route_class=KohortRoute)


@router.get("", response_model=Page[PayoutRead], responses=errors())
async def list_payouts(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[PayoutRead]:
    """Payouts of the caller's organization and mode; search on `status`, `method`,
    `orderId`, `createdAt`, …"""
    check_expand(query, frozenset())
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=Payout.id
    )
    return Page[PayoutRead](data=[PayoutRead.model_validate(row) for row in rows], count=count)


@router.get("/{id}", response_model=PayoutRead, responses=errors(404))
async def get_payout(id: str, session: Session, auth: SecretKey) -> PayoutRead:
    payout = await service.get_payout(
        session, organization_id=auth.organization_id, livemode=auth.livemode, payout_id=id
    )
    return PayoutRead.model_validate(payout)


@router.post(
    "/{id}/retry", response_model=PayoutRead, responses=errors(404, 409), dependencies=IDEMPOTENT
)
async def retry_payout(id: str, session: Session, auth: SecretKey, actor: ApiActor) -> PayoutRead:
    """Try a `failed` payout again: `pending`, due at once (SEPA: in the next day's batch).
    Any other status → 400 PAYOUT_NOT_RETRYABLE."""
    payout = await service.retry_payout(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        payout_id=id,
        now=clock.now(),
        actor=actor,
    )
    return PayoutRead.model_validate(payout)

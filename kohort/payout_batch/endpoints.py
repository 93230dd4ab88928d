from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kohort import clock
from kohort.audit.endpoints import ApiActor
from kohort.config import Settings
from kohort.http.auth import SecretKey
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.models import PayoutBatch
from kohort.payout_batch import repository, service
from kohort.payout_batch.schemas import PayoutBatchRead

router = APIRouter(prefix="/payout-batches", tags=["Payout batches"], route_class=KohortRoute)

_XML_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The pain.001.001.03 document, as an attachment `{messageId}.xml`.",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "",
    status_code=201,
    response_model=PayoutBatchRead,
    responses=errors(409),
    dependencies=IDEMPOTENT,
)
async def build_payout_batch(
    request: Request, session: Session, auth: SecretKey, actor: ApiActor
) -> PayoutBatchRead:
    """Build now, instead of after midnight UTC, the batch of every approved SEPA payout of
    the key's organization and mode that no batch holds (test mode: from its simulated
    account). Nothing to gather → 400 NOTHING_TO_BATCH; live mode without a debtor account →
    400 PAYOUT_DEBTOR_ACCOUNT_MISSING."""
    settings: Settings = request.app.state.settings
    batch = await service.build_now(
        session,
        settings,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        now=clock.now(),
        actor=actor,
    )
    return PayoutBatchRead.model_validate(batch)


@router.get("", response_model=Page[PayoutBatchRead], responses=errors())
async def list_payout_batches(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[PayoutBatchRead]:
    """The SEPA batches of the caller's organization and mode: one per day with approved
    SEPA payouts, and those built on request; search on `status`, `createdAt`, `messageId`,
    …"""
    check_expand(query, frozenset())
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=PayoutBatch.id
    )
    return Page[PayoutBatchRead](
        data=[PayoutBatchRead.model_validate(row) for row in rows], count=count
    )


@router.get("/{id}", response_model=PayoutBatchRead, responses=errors(404))
async def get_payout_batch(id: str, session: Session, auth: SecretKey) -> PayoutBatchRead:
    batch = await service.get_batch(
        session, organization_id=auth.organization_id, livemode=auth.livemode, batch_id=id
    )
    return PayoutBatchRead.model_validate(batch)


@router.get("/{id}/file", response_class=Response, responses={**errors(404), **_XML_FILE})
async def get_payout_batch_file(id: str, session: Session, auth: SecretKey) -> Response:
    """The SEPA Credit Transfer file (pain.001.001.03) to upload to the merchant's bank."""
    batch = await service.get_batch(
        session, organization_id=auth.organization_id, livemode=auth.livemode, batch_id=id
    )
    return file_response(batch)


def file_response(batch: PayoutBatch) -> Response:
    """The batch's pain.001 document as the attachment `{messageId}.xml`: the API's answer,
    and the dashboard's download."""
    return Response(
        content=batch.file,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{batch.message_id}.xml"'},
    )


@router.post(
    "/{id}/confirm",
    response_model=PayoutBatchRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def confirm_payout_batch(
    id: str, session: Session, auth: SecretKey, actor: ApiActor
) -> PayoutBatchRead:
    """Record that the bank executed the file: the batch is `confirmed` and each of its
    payouts `paid`, so every order becomes CASHBACK_SENT (`order.cashback_sent`). A batch
    confirmed already → 400 PAYOUT_BATCH_ALREADY_CONFIRMED."""
    batch = await service.confirm_batch(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        batch_id=id,
        now=clock.now(),
        actor=actor,
    )
    return PayoutBatchRead.model_validate(batch)

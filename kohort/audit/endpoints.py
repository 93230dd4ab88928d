"""The audit log's routes, and `ApiActor`: who makes an API request's changes."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from kohort.api_key import repository as api_keys
from kohort.audit import repository, service
from kohort.audit.schemas import AuditEntryRead
from kohort.audit.service import Actor
from kohort.http.auth import AuthContext, SecretKey
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import KohortRoute, Session
from kohort.models import AuditEntry

router = APIRouter(prefix="/audit-log", tags=["Audit log"], route_class=KohortRoute)


async def api_actor(request: Request, session: Session) -> Actor:
    """The calling API key as an actor, labelled with its preview (one lookup by id in the
    request's session, none when authentication loaded the key there), with the request's
    id and client address."""
    auth: AuthContext = request.state.auth
    return Actor(
        type=service.API_KEY,
        id=auth.key_id,
        label=await api_keys.get_preview(session, auth.key_id),
        request_id=request.state.request_id,
        ip_address=request.client.host if request.client else None,
    )


ApiActor = Annotated[Actor, Depends(api_actor)]


@router.get("", response_model=Page[AuditEntryRead], responses=errors())
async def list_audit_entries(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[AuditEntryRead]:
    """Who changed what and when in the key's organization and mode, newest first; search on
    `action`, `actorType`, `actorId`, `targetType`, `targetId`, `createdAt`."""
    check_expand(query, frozenset())
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=AuditEntry.id
    )
    return Page[AuditEntryRead](data=[AuditEntryRead.model_validate(r) for r in rows], count=count)


@router.get("/{id}", response_model=AuditEntryRead, responses=errors(404))
async def get_audit_entry(id: str, session: Session, auth: SecretKey) -> AuditEntryRead:
    entry = await service.get_entry(
        session, organization_id=auth.organization_id, livemode=auth.livemode, entry_id=id
    )
    return AuditEntryRead.model_validate(entry)

from typing import Annotated

from fastapi import APIRouter, Depends

from kohort.errors import NotFoundError
from kohort.event import repository
from kohort.event.schemas import EventRead
from kohort.http.auth import SecretKey
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import KohortRoute, Session
from kohort.models import Event

router = APIRouter(prefix="/events", tags=["Events"], route_class=KohortRoute)


@router.get("", response_model=Page[EventRead], responses=errors())
async def list_events(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[EventRead]:
    """Every state change of the caller's organization and mode, newest first (kept 30 days).
    Events appended in one transaction keep their order (ties broken by append order)."""
    check_expand(query, frozenset())
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=Event.seq
    )
    return Page[EventRead](data=[EventRead.model_validate(e) for e in rows], count=count)


@router.get("/{id}", response_model=EventRead, responses=errors(404))
async def get_event(id: str, session: Session, auth: SecretKey) -> EventRead:
    event = await repository.get(
        session, organization_id=auth.organization_id, livemode=auth.livemode, event_id=id
    )
    if event is None:
        raise NotFoundError(f"No such event: '{id}'", param="id")
    return EventRead.model_validate(event)

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from kohort import clock
from kohort.api_key import repository, service
from kohort.api_key.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyRead, ApiKeyRoll
from kohort.audit.endpoints import ApiActor
from kohort.http.auth import SecretKey, forget_key
from kohort.http.lists import (
    Kind,
    ListField,
    ListQuery,
    Page,
    check_expand,
    fetch_page,
    list_query,
)
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session, hide_on_replay
from kohort.models import ApiKey
from kohort.organization import repository as organizations

SECRET_SHOWN_ONCE = Depends(hide_on_replay("key"))

router = APIRouter(prefix="/api-keys", tags=["API keys"], route_class=KohortRoute)

LIST_FIELDS = {
    "name": ListField(ApiKey.name, Kind.STRING, nullable=True),
    "type": ListField(ApiKey.type, Kind.STRING, choices=("SECRET", "PUBLISHABLE")),
    "createdAt": ListField(ApiKey.created_at, Kind.TIMESTAMP),
    "lastUsedAt": ListField(ApiKey.last_used_at, Kind.TIMESTAMP, nullable=True),
    "expiresAt": ListField(ApiKey.expires_at, Kind.TIMESTAMP, nullable=True),
}


def _issued(issued: service.IssuedKey) -> ApiKeyIssued:
    return ApiKeyIssued.model_validate(
        {**ApiKeyRead.model_validate(issued.record).model_dump(), "key": issued.key}
    )


@router.get("", response_model=Page[ApiKeyRead], responses=errors())
async def list_api_keys(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[ApiKeyRead]:
    """The usable keys (not revoked, not expired) of the caller's organization and mode."""
    check_expand(query, frozenset())
    stmt = repository.select_usable_keys(auth.organization_id, auth.livemode, clock.now())
    rows, count = await fetch_page(
        session, stmt, query=query, fields=LIST_FIELDS, id_column=ApiKey.id
    )
    return Page[ApiKeyRead](data=[ApiKeyRead.model_validate(r) for r in rows], count=count)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyIssued,
    responses=errors(409),
    dependencies=[*IDEMPOTENT, SECRET_SHOWN_ONCE],
)
async def create_api_key(
    session: Session, auth: SecretKey, actor: ApiActor, payload: ApiKeyCreate | None = None
) -> ApiKeyIssued:
    """A new key in the caller's mode. The response holds `key`, the only time it is shown.
    `apiVersion` pins the API version of its requests (a `Kohort-Version` header still wins);
    a roll keeps it."""
    payload = payload or ApiKeyCreate()
    issued = await service.issue_key(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        key_type=payload.type,
        name=payload.name,
        created_by=auth.key_id,
        api_version=payload.api_version,
        actor=actor,
    )
    return _issued(issued)


@router.post(
    "/{id}/roll",
    response_model=ApiKeyIssued,
    responses=errors(404, 409),
    dependencies=[*IDEMPOTENT, SECRET_SHOWN_ONCE],
)
async def roll_api_key(
    id: str,
    request: Request,
    session: Session,
    auth: SecretKey,
    actor: ApiActor,
    payload: ApiKeyRoll | None = None,
) -> ApiKeyIssued:
    """Replace a key: the new one is returned; the old one works `expiresInSeconds` more."""
    payload = payload or ApiKeyRoll()
    await organizations.lock(session, auth.organization_id)
    forget_key(request, id)
    issued = await service.roll_key(
        session,
        key_id=id,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        expires_in=timedelta(seconds=payload.expires_in_seconds),
        actor=actor,
    )
    return _issued(issued)


@router.delete("/{id}", response_model=ApiKeyRead, responses=errors(404))
async def revoke_api_key(
    id: str, request: Request, session: Session, auth: SecretKey, actor: ApiActor
) -> ApiKeyRead:
    """Revoke a key now. The last secret key of a mode cannot be revoked (400 LAST_SECRET_KEY)."""
    await organizations.lock(session, auth.organization_id)
    forget_key(request, id)
    record = await service.revoke_key(
        session,
        key_id=id,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        actor=actor,
    )
    return ApiKeyRead.model_validate(record)

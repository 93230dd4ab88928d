from typing import Annotated

from fastapi import APIRouter, Depends, Request

from kohort.audit.endpoints import ApiActor
from kohort.errors import NotFoundError
from kohort.event import repository as events
from kohort.http import versions
from kohort.http.auth import AuthContext, SecretKey
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.models import WebhookDelivery, WebhookEndpoint
from kohort.webhook import repository, service
from kohort.webhook.schemas import (
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookSecretRead,
)

router = APIRouter(prefix="/webhooks", tags=["Webhooks"], route_class=KohortRoute)
deliveries_router = APIRouter(
    prefix="/webhook-deliveries", tags=["Webhooks"], route_class=KohortRoute
)
events_router = APIRouter(prefix="/events", tags=["Webhooks"], route_class=KohortRoute)

Query = Annotated[ListQuery, Depends(list_query)]


def _allow_private(request: Request) -> bool:
    return bool(request.app.state.settings.webhook_allow_private_destinations)


async def _endpoint(session: Session, auth: AuthContext, endpoint_id: str) -> WebhookEndpoint:
    return await service.get_endpoint(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        endpoint_id=endpoint_id,
    )


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointRead,
    responses=errors(409),
    dependencies=IDEMPOTENT,
)
async def create_webhook_endpoint(
    payload: WebhookEndpointCreate,
    request: Request,
    session: Session,
    auth: SecretKey,
    actor: ApiActor,
) -> WebhookEndpointRead:
    """An endpoint that receives the events it subscribes to (`events`, or `["*"]`): an
    https:// URL on a public address (unless the operator allows private destinations), else
    400 WEBHOOK_URL_NOT_ALLOWED."""
    endpoint = await service.create_endpoint(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        data=payload,
        allow_private=_allow_private(request),
        api_version=versions.of(request),
        actor=actor,
    )
    return WebhookEndpointRead.model_validate(endpoint)


@router.get("", response_model=Page[WebhookEndpointRead], responses=errors())
async def list_webhook_endpoints(
    session: Session, auth: SecretKey, query: Query
) -> Page[WebhookEndpointRead]:
    check_expand(query, frozenset())
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.ENDPOINT_FIELDS, id_column=WebhookEndpoint.id
    )
    return Page[WebhookEndpointRead](
        data=[WebhookEndpointRead.model_validate(e) for e in rows], count=count
    )


@router.get("/{id}", response_model=WebhookEndpointRead, responses=errors(404))
async def get_webhook_endpoint(id: str, session: Session, auth: SecretKey) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(await _endpoint(session, auth, id))


@router.patch("/{id}", response_model=WebhookEndpointRead, responses=errors(404))
async def update_webhook_endpoint(
    id: str,
    changes: WebhookEndpointUpdate,
    request: Request,
    session: Session,
    auth: SecretKey,
    actor: ApiActor,
) -> WebhookEndpointRead:
    """Change any field given; `isActive: true` re-enables a disabled endpoint."""
    endpoint = await _endpoint(session, auth, id)
    endpoint = await service.update_endpoint(
        session, endpoint, changes, allow_private=_allow_private(request), actor=actor
    )
    return WebhookEndpointRead.model_validate(endpoint)


@router.delete("/{id}", response_model=WebhookEndpointRead, responses=errors(404))
async def delete_webhook_endpoint(
    id: str, session: Session, auth: SecretKey, actor: ApiActor
) -> WebhookEndpointRead:
    """Delete the endpoint and its delivery log; answers the endpoint as it was."""
    endpoint = await _endpoint(session, auth, id)
    endpoint = await service.delete_endpoint(session, endpoint, actor=actor)
    return WebhookEndpointRead.model_validate(endpoint)


@router.get("/{id}/secret", response_model=WebhookSecretRead, responses=errors(404))
async def get_webhook_secret(id: str, session: Session, auth: SecretKey) -> WebhookSecretRead:
    """The secret that signs this endpoint's webhooks (`whsec_…`)."""
    return WebhookSecretRead(secret=(await _endpoint(session, auth, id)).secret)


@router.post(
    "/{id}/roll-secret",
    response_model=WebhookEndpointRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def roll_webhook_secret(
    id: str, session: Session, auth: SecretKey, actor: ApiActor
) -> WebhookEndpointRead:
    """A new secret (read it with GET …/secret); for 24 h the old one signs alongside it,
    so `webhook-signature` carries both signatures."""
    endpoint = await _endpoint(session, auth, id)
    endpoint = await service.roll_secret(session, endpoint, actor=actor)
    return WebhookEndpointRead.model_validate(endpoint)


@router.post(
    "/{id}/test",
    response_model=WebhookDeliveryRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def test_webhook_endpoint(id: str, session: Session, auth: SecretKey) -> WebhookDeliveryRead:
    """Append a `webhook.test` event for this endpoint alone; the worker sends it within a
    second. Answers its delivery. A disabled endpoint → 400 WEBHOOK_ENDPOINT_DISABLED."""
    delivery = await service.send_test(session, await _endpoint(session, auth, id))
    return WebhookDeliveryRead.model_validate(delivery)


@router.get("/{id}/deliveries", response_model=Page[WebhookDeliveryRead], responses=errors(404))
async def list_webhook_deliveries(
    id: str, session: Session, auth: SecretKey, query: Query
) -> Page[WebhookDeliveryRead]:
    """The endpoint's deliveries: status, attempts, the last answer and the next attempt."""
    check_expand(query, frozenset())
    endpoint = await _endpoint(session, auth, id)
    stmt = repository.select_deliveries(endpoint.id)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.DELIVERY_FIELDS, id_column=WebhookDelivery.id
    )
    return Page[WebhookDeliveryRead](
        data=[WebhookDeliveryRead.model_validate(d) for d in rows], count=count
    )


@deliveries_router.post(
    "/{id}/retry",
    response_model=WebhookDeliveryRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def retry_webhook_delivery(id: str, session: Session, auth: SecretKey) -> WebhookDeliveryRead:
    """Send this delivery again now, with the same webhook-id; a failed one is pending again."""
    delivery = await service.retry_delivery(
        session, organization_id=auth.organization_id, livemode=auth.livemode, delivery_id=id
    )
    return WebhookDeliveryRead.model_validate(delivery)


@events_router.post(
    "/{id}/redeliver",
    response_model=Page[WebhookDeliveryRead],
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def redeliver_event(id: str, session: Session, auth: SecretKey) -> Page[WebhookDeliveryRead]:
    """New deliveries of the event (new webhook-ids) to the active endpoints subscribed to
    its type now; answers them (none: an empty list)."""
    event = await events.get(
        session, organization_id=auth.organization_id, livemode=auth.livemode, event_id=id
    )
    if event is None:
        raise NotFoundError(f"No such event: '{id}'", param="id")
    created = await service.redeliver_event(session, event)
    return Page[WebhookDeliveryRead](
        data=[WebhookDeliveryRead.model_validate(d) for d in created], count=len(created)
    )

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from kohort.checkout_session import repository, service
from kohort.checkout_session.schemas import CheckoutSessionCreate, CheckoutSessionRead
from kohort.checkout_session.service import Paid
from kohort.config import Settings
from kohort.http.auth import SecretKey
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.ids import payment_intent_id
from kohort.models import CheckoutSession
from kohort.order.endpoints import count_groups
from kohort.organization import repository as organizations

router = APIRouter(prefix="/checkout-sessions", tags=["Checkout sessions"], route_class=KohortRoute)


def _present(request: Request, paid: Paid) -> CheckoutSessionRead:
    settings: Settings = request.app.state.settings
    cs, order = paid.checkout_session, paid.order
    return CheckoutSessionRead.model_validate(
        {
            "id": cs.id,
            "livemode": cs.livemode,
            "organization_id": cs.organization_id,
            "status": cs.status,
            "amount_total": cs.amount_total,
            "currency": cs.currency,
            "locale": cs.locale,
            "url": service.shopper_url(paid, public_url=settings.base_url),
            "line_items": cs.line_items,
            "customer_id": order.customer_id,
            "customer_email": order.customer_email,
            "customer_first_name": order.customer_first_name,
            "customer_last_name": order.customer_last_name,
            "customer_phone_number": order.customer_phone_number,
            "payment_intent_id": payment_intent_id(order.id),
            "payment_group_id": order.payment_group_id,
            "payment_group_share_id": order.payment_group_share_id,
            "join_error": order.join_error,
            "risk_level": order.risk_level,
            "review_status": order.review_status,
            "client_reference_id": cs.client_reference_id,
            "payment_client_reference_id": cs.payment_client_reference_id,
            "success_url": cs.success_url,
            "cancel_url": cs.cancel_url,
            "expires_at": cs.expires_at,
            "metadata": cs.metadata_,
            "created_at": cs.created_at,
            "created_by": cs.created_by,
            "updated_at": cs.updated_at,
            "updated_by": cs.updated_by,
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=CheckoutSessionRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def create_checkout_session(
    payload: CheckoutSessionCreate, request: Request, session: Session, auth: SecretKey
) -> CheckoutSessionRead:
    """Register a paid order with its cart, as `POST /orders` does (create or join the group
    of `paymentGroupShareId`; a code that cannot be joined sets `joinError`). Kohort takes no
    payment: the session is COMPLETED at once, its `url` is `successUrl` or the share page."""
    organization = await organizations.get_by_id(session, auth.organization_id)
    assert organization is not None
    paid = await service.create_checkout_session(
        session, organization=organization, livemode=auth.livemode, actor=auth.key_id, data=payload
    )
    count_groups(request, paid.order, code=payload.payment_group_share_id)
    return _present(request, paid)


@router.get("", response_model=Page[CheckoutSessionRead], responses=errors())
async def list_checkout_sessions(
    request: Request,
    session: Session,
    auth: SecretKey,
    query: Annotated[ListQuery, Depends(list_query)],
) -> Page[CheckoutSessionRead]:
    """Checkout sessions of the caller's organization and mode."""
    check_expand(query, frozenset())
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=CheckoutSession.id
    )
    paid = await service.with_orders(session, rows)
    return Page[CheckoutSessionRead](data=[_present(request, p) for p in paid], count=count)


@router.get("/{id}", response_model=CheckoutSessionRead, responses=errors(404))
async def get_checkout_session(
    id: str, request: Request, session: Session, auth: SecretKey
) -> CheckoutSessionRead:
    """One checkout session."""
    paid = await service.get_checkout_session(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        checkout_session_id=id,
    )
    return _present(request, paid)


@router.patch(
    "/{id}/expire",
    response_model=CheckoutSessionRead,
    responses=errors(404),
    dependencies=IDEMPOTENT,
)
async def expire_checkout_session(
    id: str, request: Request, session: Session, auth: SecretKey
) -> CheckoutSessionRead:
    """Expire an OPEN session. Kohort's sessions are COMPLETED when created, so this answers
    400 CHECKOUT_SESSION_NOT_OPEN for every existing one (404 for an unknown one)."""
    paid = await service.expire_checkout_session(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        checkout_session_id=id,
        actor=auth.key_id,
    )
    return _present(request, paid)

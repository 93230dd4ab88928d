from typing import Annotated

from fastapi import APIRouter, Depends, Request

from kohort.http.auth import SecretKey
from kohort.http.commit import after_commit
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.ids import payment_intent_id
from kohort.metrics import GROUPS_CANCELED
from kohort.models import Order
from kohort.order.endpoints import count_groups
from kohort.organization import repository as organizations
from kohort.payment_intent import repository, service
from kohort.payment_intent.schemas import PaymentIntentCreate, PaymentIntentRead

router = APIRouter(prefix="/payment-intents", tags=["Payment intents"], route_class=KohortRoute)

CANCELED = "CANCELED"


async def _present(session: Session, found: list[Order]) -> list[PaymentIntentRead]:
    sessions = await service.checkout_session_ids(session, found)
    return [
        PaymentIntentRead.model_validate(
            {
                "id": payment_intent_id(order.id),
                "livemode": order.livemode,
                "organization_id": order.organization_id,
                "status": CANCELED if order.status == CANCELED else "SUCCEEDED",
                "amount": order.amount,
                "amount_cashback": order.amount_cashback,
                "amount_refunded": getattr(order, "amount_refunded", 0) or 0,
                "currency": order.currency,
                "order_id": order.id,
                "checkout_session_id": sessions.get(order.id),
                "customer_id": order.customer_id,
                "payment_group_id": order.payment_group_id,
                "client_reference_id": order.client_reference_id,
                "metadata": order.metadata_,
                "canceled_at": order.canceled_at,
                "created_at": order.created_at,
                "updated_at": order.updated_at,
            }
        )
        for order in found
    ]


@router.post(
    "",
    status_code=201,
    response_model=PaymentIntentRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def create_payment_intent(
    payload: PaymentIntentCreate, request: Request, session: Session, auth: SecretKey
) -> PaymentIntentRead:
    """Register a paid order, as `POST /orders` does; `paymentGroupId` (id or share code) is
    the group to join. With `checkoutSessionId`, the answer is that session's payment intent,
    registered with the session (nothing is created); `amount` must be its `amountTotal`."""
    organization = await organizations.get_by_id(session, auth.organization_id)
    assert organization is not None
    registered = await service.create_payment_intent(
        session, organization=organization, livemode=auth.livemode, actor=auth.key_id, data=payload
    )
    if registered.created:
        count_groups(request, registered.order, code=registered.code)
    return (await _present(session, [registered.order]))[0]


@router.get("", response_model=Page[PaymentIntentRead], responses=errors())
async def list_payment_intents(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[PaymentIntentRead]:
    """Payment intents (the orders) of the caller's organization and mode."""
    check_expand(query, frozenset())
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=Order.id
    )
    return Page[PaymentIntentRead](data=await _present(session, rows), count=count)


@router.get("/{id}", response_model=PaymentIntentRead, responses=errors(404))
async def get_payment_intent(id: str, session: Session, auth: SecretKey) -> PaymentIntentRead:
    """One payment intent; `amountCashback` is the cashback its shopper got back."""
    order = await service.get_payment_intent(
        session, organization_id=auth.organization_id, livemode=auth.livemode, payment_intent_id=id
    )
    return (await _present(session, [order]))[0]


@router.post(
    "/{id}/cancel",
    response_model=PaymentIntentRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def cancel_payment_intent(
    id: str, request: Request, session: Session, auth: SecretKey
) -> PaymentIntentRead:
    """Cancel the payment intent's order, as `POST /orders/{id}/cancel` does (its group and
    cashback follow). 400 `ORDER_ALREADY_CANCELED`, 400 `CASHBACK_ALREADY_SENT`."""
    canceled = await service.cancel_payment_intent(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        payment_intent_id=id,
        actor=auth.key_id,
    )
    if canceled.group_canceled:
        after_commit(request, GROUPS_CANCELED.inc)
    return (await _present(session, [canceled.order]))[0]

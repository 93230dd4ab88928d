from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from kohort.customer import repository as customers
from kohort.customer.schemas import CustomerRead
from kohort.group import repository as groups
from kohort.group.schemas import GroupRead
from kohort.http.auth import SecretKey
from kohort.http.commit import after_commit
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.metrics import GROUPS_CANCELED, GROUPS_COMPLETED, GROUPS_OPENED
from kohort.models import Order, Refund
from kohort.order import refunding, repository, review, service
from kohort.order.schemas import (
    OrderCreate,
    OrderExpandable,
    PaymentIntentRefundCreate,
    RefundCreate,
    RefundRead,
)
from kohort.organization import repository as organizations
from kohort.organization.schemas import OrganizationRead
from kohort.risk.schemas import ReviewCreate

orders = APIRouter(prefix="/orders", tags=["Orders"], route_class=KohortRoute)
refunds = APIRouter(prefix="/refunds", tags=["Refunds"], route_class=KohortRoute)

EXPANDABLE = frozenset({"customer", "paymentGroup", "organization"})
Expand = Annotated[
    list[str] | None,
    Query(alias="expand[]", description="Embed: `customer`, `paymentGroup`, `organization`."),
]


async def _present(
    session: Session, orders: list[Order], expand: frozenset[str]
) -> list[OrderExpandable]:
    items = [OrderExpandable.model_validate(o) for o in orders]
    buyers = await customers.get_many(
        session, {o.customer_id for o in orders} if "customer" in expand else set()
    )
    found = await groups.get_many(
        session,
        {o.payment_group_id for o in orders if o.payment_group_id}
        if "paymentGroup" in expand
        else set(),
    )
    for order, item in zip(orders, items, strict=True):
        if "customer" in expand:
            customer = buyers.get(order.customer_id)
            item.customer = CustomerRead.model_validate(customer) if customer else None
        if "paymentGroup" in expand:
            group = found.get(order.payment_group_id or "")
            item.payment_group = GroupRead.model_validate(group) if group else None
        if "organization" in expand:
            organization = await organizations.get_by_id(session, order.organization_id)
            item.organization = OrganizationRead.model_validate(organization)
    return items


def count_groups(request: Request, order: Order, *, code: str | None) -> None:
    """The group metrics of a registered order (here, from a checkout session or a payment
    intent): a group opened unless the code was joined, a group completed by the join."""
    if order.payment_group_id is not None and (code is None or order.join_error is not None):
        after_commit(request, GROUPS_OPENED.inc)
    if order.status == "CASHBACK_AVAILABLE":
        after_commit(request, GROUPS_COMPLETED.inc)


@orders.post(
    "",
    status_code=201,
    response_model=OrderExpandable,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
    response_model_exclude_unset=True,
)
async def create_order(
    payload: OrderCreate,
    request: Request,
    session: Session,
    auth: SecretKey,
    expand: Expand = None,
) -> OrderExpandable:
    """Register a paid order: find or create the customer, then join the group of
    `paymentGroupShareId` or open a new group. A code that cannot be joined does not fail
    the order: it opens its own group and `joinError` says why."""
    wanted = check_expand(frozenset(expand or ()), EXPANDABLE)
    order = await service.create_order(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        actor=auth.key_id,
        data=payload,
    )
    count_groups(request, order, code=payload.payment_group_share_id)
    return (await _present(session, [order], wanted))[0]


@orders.get(
    "", response_model=Page[OrderExpandable], responses=errors(), response_model_exclude_unset=True
)
async def list_orders(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[OrderExpandable]:
    """Orders of the caller's organization and mode."""
    expand = check_expand(query, EXPANDABLE)
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=Order.id
    )
    return Page[OrderExpandable](data=await _present(session, rows, expand), count=count)


@orders.get(
    "/{id}",
    response_model=OrderExpandable,
    responses=errors(404),
    response_model_exclude_unset=True,
)
async def get_order(
    id: str, session: Session, auth: SecretKey, expand: Expand = None
) -> OrderExpandable:
    """One order; `expand[]=paymentGroup` gives its group and the `shareId` to share."""
    wanted = check_expand(frozenset(expand or ()), EXPANDABLE)
    order = await service.get_order(
        session, organization_id=auth.organization_id, livemode=auth.livemode, order_id=id
    )
    return (await _present(session, [order], wanted))[0]


@orders.post(
    "/{id}/cancel",
    response_model=OrderExpandable,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
    response_model_exclude_unset=True,
)
async def cancel_order(
    id: str, request: Request, session: Session, auth: SecretKey, expand: Expand = None
) -> OrderExpandable:
    """The shop refunded or canceled the purchase → `CANCELED`, with `order.canceled`. In an
    OPEN group the order leaves it (`participantsCount` goes down by one and the level with it;
    the last member leaving cancels the group); after the group completed, its cashback is
    voided, the other members keep theirs. 400 `CASHBACK_ALREADY_SENT` once a payout exists
    (processing or sent); 400 `ORDER_ALREADY_CANCELED`."""
    wanted = check_expand(frozenset(expand or ()), EXPANDABLE)
    canceled = await service.cancel_order(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        order_id=id,
        actor=auth.key_id,
    )
    if canceled.group_canceled:
        after_commit(request, GROUPS_CANCELED.inc)
    return (await _present(session, [canceled.order], wanted))[0]


@orders.post(
    "/{id}/review",
    response_model=OrderExpandable,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
    response_model_exclude_unset=True,
)
async def review_order(
    id: str, payload: ReviewCreate, session: Session, auth: SecretKey, expand: Expand = None
) -> OrderExpandable:
    """Decide an order held for review (`reviewStatus` PENDING): `approve` releases its
    cashback (CASHBACK_ON_HOLD → CASHBACK_AVAILABLE, or when its group completes); `reject`
    voids it (CASHBACK_REJECTED; in an OPEN group the order leaves it, as a cancellation
    does; the other members keep theirs). `order.review_resolved`. 400 `REVIEW_NOT_PENDING`
    when the order is not under review or was decided already."""
    wanted = check_expand(frozenset(expand or ()), EXPANDABLE)
    order = await review.review_order(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        order_id=id,
        approve=payload.decision == "approve",
        actor=auth.key_id,
    )
    return (await _present(session, [order], wanted))[0]


@orders.post(
    "/{id}/refunds",
    status_code=201,
    response_model=RefundRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def refund_order(
    id: str, payload: RefundCreate, request: Request, session: Session, auth: SecretKey
) -> RefundRead:
    """Record a refund of the order: `amount` cents (omitted: everything left). Everything
    left is the order's cancellation (`order.canceled`, its rules and errors); less lowers the
    amount its cashback is computed on (in an OPEN group at its end; after completion the
    cashback is recomputed). `order.refunded` either way. 400 `REFUND_EXCEEDS_AMOUNT` over
    what is left, `ORDER_ALREADY_CANCELED`, `CASHBACK_ALREADY_SENT` once a payout exists."""
    refunded = await refunding.refund_order(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        order_id=id,
        actor=auth.key_id,
        data=payload,
    )
    if refunded.group_canceled:
        after_commit(request, GROUPS_CANCELED.inc)
    return refunded.refund


@orders.get("/{id}/refunds", response_model=Page[RefundRead], responses=errors(404))
async def list_refunds(
    id: str, session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[RefundRead]:
    """The order's refunds, newest first; each embeds the order as it is now."""
    check_expand(query, frozenset())
    order = await service.get_order(
        session, organization_id=auth.organization_id, livemode=auth.livemode, order_id=id
    )
    stmt = repository.select_refunds(auth.organization_id, auth.livemode, order.id)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.REFUND_LIST_FIELDS, id_column=Refund.id
    )
    return Page[RefundRead](data=[refunding.refund_read(r, order) for r in rows], count=count)


@refunds.post(
    "",
    status_code=201,
    response_model=RefundRead,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
)
async def create_refund(
    payload: PaymentIntentRefundCreate, request: Request, session: Session, auth: SecretKey
) -> RefundRead:
    """KohortPay's refund (Magento's credit memo): as `POST /orders/{id}/refunds`, the order
    named by `paymentIntentId` (`pi_X` is the order `ord_X`; anything else → 404)."""
    refunded = await refunding.refund_payment_intent(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        actor=auth.key_id,
        data=payload,
    )
    if refunded.group_canceled:
        after_commit(request, GROUPS_CANCELED.inc)
    return refunded.refund


router = APIRouter()
"""The orders and KohortPay's `/refunds`, as one router for the app."""
router.include_router(orders)
router.include_router(refunds)

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kohort.customer import repository, service
from kohort.customer.schemas import CustomerCreate, CustomerExpandable, CustomerPatch
from kohort.http.auth import AuthContext, SecretKey
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, KohortRoute, Session
from kohort.models import Customer
from kohort.organization import repository as organizations
from kohort.organization.schemas import OrganizationRead

router = APIRouter(prefix="/customers", tags=["Customers"], route_class=KohortRoute)

EXPANDABLE = frozenset({"organization"})
Expand = Annotated[
    list[str] | None,
    Query(alias="expand[]", description="Embed related objects: `organization`."),
]


async def _present(
    session: Session, customers: list[Customer], expand: frozenset[str]
) -> list[CustomerExpandable]:
    items = [CustomerExpandable.model_validate(c) for c in customers]
    if "organization" in expand and customers:
        organization = await organizations.get_by_id(session, customers[0].organization_id)
        embedded = OrganizationRead.model_validate(organization)
        for item in items:
            item.organization = embedded
    return items


async def _one(
    session: Session, customer: Customer, expand: list[str] | None
) -> CustomerExpandable:
    wanted = check_expand(frozenset(expand or ()), EXPANDABLE)
    return (await _present(session, [customer], wanted))[0]


async def _live(session: Session, auth: AuthContext, customer_id: str) -> Customer:
    return await service.get_live_customer(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        customer_id=customer_id,
    )


@router.post(
    "",
    status_code=201,
    response_model=CustomerExpandable,
    responses=errors(409),
    dependencies=IDEMPOTENT,
    response_model_exclude_unset=True,
)
async def create_customer(
    payload: CustomerCreate, session: Session, auth: SecretKey, expand: Expand = None
) -> CustomerExpandable:
    """Create a customer. An e-mail already used (any case) → 409 CUSTOMER_EXISTS; the e-mail
    of a soft-deleted customer restores that customer with the fields given."""
    check_expand(frozenset(expand or ()), EXPANDABLE)
    customer = await service.create_customer(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        actor=auth.key_id,
        data=payload,
    )
    return await _one(session, customer, expand)


@router.get(
    "",
    response_model=Page[CustomerExpandable],
    responses=errors(),
    response_model_exclude_unset=True,
)
async def list_customers(
    session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
) -> Page[CustomerExpandable]:
    """Customers of the caller's organization and mode, without the soft-deleted ones."""
    expand = check_expand(query, EXPANDABLE)
    stmt = repository.select_listed(auth.organization_id, auth.livemode)
    rows, count = await fetch_page(
        session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=Customer.id
    )
    return Page[CustomerExpandable](data=await _present(session, rows, expand), count=count)


@router.get(
    "/{id}",
    response_model=CustomerExpandable,
    responses=errors(404),
    response_model_exclude_unset=True,
)
async def get_customer(
    id: str, session: Session, auth: SecretKey, expand: Expand = None
) -> CustomerExpandable:
    """One customer; a soft-deleted one is returned with its `deletedAt`."""
    customer = await service.get_customer(
        session, organization_id=auth.organization_id, livemode=auth.livemode, customer_id=id
    )
    return await _one(session, customer, expand)


@router.patch(
    "/{id}",
    response_model=CustomerExpandable,
    responses=errors(404, 409),
    response_model_exclude_unset=True,
)
async def update_customer(
    id: str, changes: CustomerPatch, session: Session, auth: SecretKey, expand: Expand = None
) -> CustomerExpandable:
    """Update any field given; `null` clears an optional one. A used e-mail → 409.
    `deletedAt`: a time soft-deletes the customer (as DELETE), `null` restores it (as
    `POST …/restore`); any other change to a deleted customer → 404."""
    check_expand(frozenset(expand or ()), EXPANDABLE)
    customer = await service.patch_customer(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        customer_id=id,
        changes=changes,
        actor=auth.key_id,
    )
    return await _one(session, customer, expand)


@router.patch(
    "/{id}/block",
    response_model=CustomerExpandable,
    responses=errors(404),
    response_model_exclude_unset=True,
)
async def block_customer(id: str, session: Session, auth: SecretKey) -> CustomerExpandable:
    """Block: the customer can no longer order or join a group (CUSTOMER_BLOCKED)."""
    customer = await _live(session, auth, id)
    customer = await service.set_blocked(session, customer, blocked=True, actor=auth.key_id)
    return CustomerExpandable.model_validate(customer)


@router.patch(
    "/{id}/unblock",
    response_model=CustomerExpandable,
    responses=errors(404),
    response_model_exclude_unset=True,
)
async def unblock_customer(id: str, session: Session, auth: SecretKey) -> CustomerExpandable:
    customer = await _live(session, auth, id)
    customer = await service.set_blocked(session, customer, blocked=False, actor=auth.key_id)
    return CustomerExpandable.model_validate(customer)


@router.delete(
    "/{id}",
    response_model=CustomerExpandable,
    responses=errors(404),
    response_model_exclude_unset=True,
)
async def delete_customer(id: str, session: Session, auth: SecretKey) -> CustomerExpandable:
    """Soft delete (`deletedAt` set). A later order or customer with the e-mail restores it."""
    customer = await _live(session, auth, id)
    customer = await service.delete_customer(session, customer, actor=auth.key_id)
    return CustomerExpandable.model_validate(customer)


@router.post(
    "/{id}/restore",
    response_model=CustomerExpandable,
    responses=errors(404, 409),
    dependencies=IDEMPOTENT,
    response_model_exclude_unset=True,
)
async def restore_customer(id: str, session: Session, auth: SecretKey) -> CustomerExpandable:
    """Undo a soft delete. Restoring a customer that is not deleted returns it unchanged."""
    customer = await service.get_customer(
        session, organization_id=auth.organization_id, livemode=auth.livemode, customer_id=id
    )
    customer = await service.restore_customer(session, customer, actor=auth.key_id)
    return CustomerExpandable.model_validate(customer)

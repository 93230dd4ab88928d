"""Group routes, served under `/groups` and under the older `/payment-groups` alias."""

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from kohort.customer import repository as customers
from kohort.customer.schemas import CustomerRead
from kohort.group import repository, service
from kohort.group.errors import GroupNotFoundError
from kohort.group.schemas import (
    GroupCreate,
    GroupExpandable,
    GroupPublicRead,
    GroupPublicValidation,
    GroupRead,
    GroupUpdate,
    GroupValidate,
    GroupValidation,
    OrderRead,
)
from kohort.group_settings.schemas import PaymentGroupSettingsRead
from kohort.http.auth import AnyKey, AuthContext, SecretKey
from kohort.http.commit import after_commit
from kohort.http.lists import ListQuery, Page, check_expand, fetch_page, list_query
from kohort.http.openapi import errors
from kohort.http.routing import IDEMPOTENT, READS_ONLY, KohortRoute, Session
from kohort.metrics import GROUPS_CANCELED, GROUPS_EXPIRED, GROUPS_OPENED
from kohort.models import PaymentGroup
from kohort.organization import repository as organizations
from kohort.organization.schemas import OrganizationRead

EXPANDABLE = frozenset({"orders", "customer", "paymentGroupSettings", "organization"})
Expand = Annotated[
    list[str] | None,
    Query(
        alias="expand[]",
        description="Embed: `orders`, `customer`, `paymentGroupSettings`, `organization`.",
    ),
]


async def present(
    session: Session, groups: Sequence[repository.GroupRecord], expand: frozenset[str]
) -> list[GroupExpandable]:
    items = [GroupExpandable.model_validate(repository.fields_of(g)) for g in groups]
    members = await repository.members_of(session, groups) if "orders" in expand else {}
    wanted = {g.customer_id for g in groups} if "customer" in expand else set()
    creators = await customers.get_many(session, wanted)
    for group, item in zip(groups, items, strict=True):
        if "orders" in expand:
            item.orders = [OrderRead.model_validate(o) for o in members[group.id]]
        if "customer" in expand:
            customer = creators.get(group.customer_id)
            item.customer = CustomerRead.model_validate(customer) if customer else None
        if "paymentGroupSettings" in expand:
            item.payment_group_settings = PaymentGroupSettingsRead.model_validate(group.settings)
        if "organization" in expand:
            organization = await organizations.get_by_id(session, group.organization_id)
            item.organization = OrganizationRead.model_validate(organization)
    return items


async def _one(
    session: Session, group: repository.GroupRecord, expand: list[str] | None
) -> GroupExpandable:
    wanted = check_expand(frozenset(expand or ()), EXPANDABLE)
    return (await present(session, [group], wanted))[0]


async def _get(session: Session, auth: AuthContext, id_or_code: str) -> PaymentGroup:
    return await service.get_group(
        session, organization_id=auth.organization_id, livemode=auth.livemode, id_or_code=id_or_code
    )


def build_router(prefix: str, *, alias: bool) -> APIRouter:
    router = APIRouter(
        prefix=prefix,
        tags=["Groups (/payment-groups alias)" if alias else "Groups"],
        route_class=KohortRoute,
    )

    @router.post(
        "",
        status_code=201,
        response_model=GroupRead,
        responses=errors(404, 409),
        dependencies=IDEMPOTENT,
        deprecated=alias,
    )
    async def create_group(
        payload: GroupCreate, request: Request, session: Session, auth: SecretKey
    ) -> GroupRead:
        """Open a new group for an existing order whose group ended without completing
        (`expiresAt` 1 minute … 90 days from now). The order is `orderId` or
        `paymentIntentId` (`pi_X` is `ord_X`); both given must name the same order.
        `POST /orders` opens groups by itself."""
        group = await service.create_group_for_order(
            session,
            organization_id=auth.organization_id,
            livemode=auth.livemode,
            actor=auth.key_id,
            data=payload,
        )
        after_commit(request, GROUPS_OPENED.inc)
        return GroupRead.model_validate(group)

    @router.get(
        "",
        response_model=Page[GroupExpandable],
        responses=errors(),
        response_model_exclude_unset=True,
        deprecated=alias,
    )
    async def list_groups(
        session: Session, auth: SecretKey, query: Annotated[ListQuery, Depends(list_query)]
    ) -> Page[GroupExpandable]:
        """Groups of the caller's organization and mode."""
        expand = check_expand(query, EXPANDABLE)
        stmt = repository.select_listed(auth.organization_id, auth.livemode)
        rows, count = await fetch_page(
            session, stmt, query=query, fields=repository.LIST_FIELDS, id_column=PaymentGroup.id
        )
        return Page[GroupExpandable](data=await present(session, rows, expand), count=count)

    @router.get(
        "/{id}",
        response_model=GroupExpandable | GroupPublicRead,
        responses=errors(404, secret=False),
        response_model_exclude_unset=True,
        deprecated=alias,
    )
    async def get_group(
        id: str, session: Session, auth: AnyKey, expand: Expand = None
    ) -> GroupExpandable | GroupPublicRead:
        """One group, by `pg_…` id or share code (any case). A publishable key sees the public
        fields only: the settings snapshot, status, dates and counts."""
        group = await service.read_group(
            session, organization_id=auth.organization_id, livemode=auth.livemode, id_or_code=id
        )
        if not auth.is_secret:
            check_expand(frozenset(expand or ()), frozenset())
            return GroupPublicRead.model_validate(repository.fields_of(group))
        return await _one(session, group, expand)

    @router.patch("/{id}", response_model=GroupRead, responses=errors(404), deprecated=alias)
    async def update_group(
        id: str, changes: GroupUpdate, session: Session, auth: SecretKey
    ) -> GroupRead:
        """Update `metadata` or `creatorEmail`."""
        group = await _get(session, auth, id)
        group = await service.update_group(session, group, changes, actor=auth.key_id)
        return GroupRead.model_validate(group)

    @router.get(
        "/{id}/participants",
        response_model=Page[OrderRead],
        responses=errors(404),
        deprecated=alias,
    )
    async def list_participants(id: str, session: Session, auth: SecretKey) -> Page[OrderRead]:
        """The group's orders, creator first."""
        group = await _get(session, auth, id)
        members = await repository.members(session, group.id)
        return Page[OrderRead](
            data=[OrderRead.model_validate(o) for o in members], count=len(members)
        )

    @router.post(
        "/{id}/cancel",
        response_model=GroupRead,
        responses=errors(404, 409),
        dependencies=IDEMPOTENT,
        deprecated=alias,
    )
    async def cancel_group(
        id: str, request: Request, session: Session, auth: SecretKey
    ) -> GroupRead:
        """OPEN with one participant → CANCELED. Else 400 COMPLETED_EXPIRED_CANCELED or
        GROUP_HAS_PARTICIPANTS."""
        group = await _get(session, auth, id)
        canceled = await service.cancel_group(session, group, actor=auth.key_id)
        after_commit(request, GROUPS_CANCELED.inc)
        return GroupRead.model_validate(canceled)

    @router.post(
        "/{id}/expire",
        response_model=GroupRead,
        responses=errors(404, 409),
        dependencies=IDEMPOTENT,
        deprecated=alias,
    )
    async def expire_group(
        id: str, request: Request, session: Session, auth: SecretKey
    ) -> GroupRead:
        """OPEN with one participant → EXPIRED now (`expiresAt` kept); emits
        `payment_group.expired`. Not OPEN → 400 COMPLETED_EXPIRED_CANCELED; two or more
        participants → 400 GROUP_HAS_PARTICIPANTS."""
        group = await _get(session, auth, id)
        expired = await service.expire_group(session, group, actor=auth.key_id)
        after_commit(request, GROUPS_EXPIRED.inc)
        return GroupRead.model_validate(expired)

    @router.post(
        "/{code}/validate",
        response_model=GroupValidation | GroupPublicValidation,
        responses=errors(404, 409, secret=False),
        dependencies=[*IDEMPOTENT, READS_ONLY],
        deprecated=alias,
    )
    async def validate_group(
        code: str, session: Session, auth: AnyKey, payload: GroupValidate | None = None
    ) -> GroupValidation | GroupPublicValidation:
        """Check a code before checkout (see `POST /codes/{code}/validate`)."""
        return await validate(session, auth, code, payload)

    return router


async def validate(
    session: Session, auth: AuthContext, code: str, payload: GroupValidate | None
) -> GroupValidation | GroupPublicValidation:
    payload = payload or GroupValidate()
    group = await service.validate_code(
        session,
        organization_id=auth.organization_id,
        livemode=auth.livemode,
        code=code,
        email=str(payload.customer_email) if payload.customer_email else None,
        amount=payload.amount,
    )
    fields = {**repository.fields_of(group), **service.validation_extras(group)}
    if auth.is_secret:
        return GroupValidation.model_validate(fields)
    return GroupPublicValidation.model_validate(fields)


router = build_router("/groups", alias=False)
alias_router = build_router("/payment-groups", alias=True)
codes_router = APIRouter(prefix="/codes", tags=["Codes"], route_class=KohortRoute)


@codes_router.post(
    "/{code}/validate",
    response_model=GroupValidation | GroupPublicValidation,
    responses=errors(404, 409, secret=False),
    dependencies=[*IDEMPOTENT, READS_ONLY],
)
async def validate_code(
    code: str, session: Session, auth: AnyKey, payload: GroupValidate | None = None
) -> GroupValidation | GroupPublicValidation:
    """Check a share code before checkout. 200 with the group, its rules,
    `currentDiscountLevel` (the level reached if the caller joins) and `nextDiscountLevel`;
    or the first failing check: 404 NOT_FOUND, 400 COMPLETED_EXPIRED_CANCELED,
    MAX_PARTICIPANTS_REACHED, EMAIL_ALREADY_USED, AMOUNT_TOO_LOW, CUSTOMER_BLOCKED.
    Only share codes are codes here: a `pg_…` id answers 404."""
    if code.startswith("pg_"):
        raise GroupNotFoundError(f"No such code: '{code}'", param="code")
    return await validate(session, auth, code, payload)

"""Every query on customers; every one is scoped to an organization and a mode (by the ids
the caller already holds, for `get_many`)."""

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.db import in_mode
from kohort.http.lists import Kind, ListField
from kohort.models import Customer

LIST_FIELDS = {
    "id": ListField(Customer.id, Kind.STRING),
    "emailAddress": ListField(Customer.email_address, Kind.STRING),
    "firstName": ListField(Customer.first_name, Kind.STRING, nullable=True),
    "lastName": ListField(Customer.last_name, Kind.STRING, nullable=True),
    "phoneNumber": ListField(Customer.phone_number, Kind.STRING, nullable=True),
    "locale": ListField(
        Customer.locale,
        Kind.STRING,
        choices=("fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL"),
    ),
    "isBlocked": ListField(Customer.is_blocked, Kind.BOOLEAN),
    "blockedAt": ListField(Customer.blocked_at, Kind.TIMESTAMP, nullable=True),
    "clientReferenceId": ListField(Customer.client_reference_id, Kind.STRING, nullable=True),
    "createdAt": ListField(Customer.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(Customer.updated_at, Kind.TIMESTAMP),
}


_INSERT_IF_ABSENT = {
    dialect: insert(Customer)
    .on_conflict_do_nothing(
        index_elements=[Customer.organization_id, Customer.livemode, Customer.email_key]
    )
    .returning(Customer)
    for dialect, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}
"""Built once, its values bound per call (as the hot path's other statements, `in_mode`)."""


async def insert_if_absent(session: AsyncSession, values: Mapping[str, Any]) -> Customer | None:
    """The new customer, or None when its e-mail is already one of the organization's in this
    mode (`INSERT ... ON CONFLICT DO NOTHING RETURNING`: no savepoint, nothing to undo)."""
    stmt = _INSERT_IF_ABSENT[session.get_bind().dialect.name]
    return (await session.scalars(stmt, [dict(values)])).one_or_none()


def email_key(email: str) -> str:
    return email.strip().lower()


_BY_ID = select(Customer).where(Customer.id == bindparam("customer_id"), *in_mode(Customer))
_BY_EMAIL = select(Customer).where(Customer.email_key == bindparam("email_key"), *in_mode(Customer))


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, customer_id: str
) -> Customer | None:
    params = {"customer_id": customer_id, "organization_id": organization_id, "livemode": livemode}
    return (await session.execute(_BY_ID, params)).scalar_one_or_none()


async def get_many(session: AsyncSession, customer_ids: Collection[str]) -> dict[str, Customer]:
    """Customers by id, in one query (for `expand[]` on a page of objects)."""
    if not customer_ids:
        return {}
    stmt = (
        select(Customer)
        .where(Customer.id.in_(set(customer_ids)))
        .execution_options(populate_existing=True)
    )
    return {c.id: c for c in (await session.execute(stmt)).scalars()}


async def get_by_email(
    session: AsyncSession, *, organization_id: str, livemode: bool, email: str
) -> Customer | None:
    """The customer with this e-mail, whatever its case, soft-deleted ones included."""
    params = {
        "email_key": email_key(email),
        "organization_id": organization_id,
        "livemode": livemode,
    }
    return (await session.execute(_BY_EMAIL, params)).scalar_one_or_none()


def select_listed(organization_id: str, livemode: bool) -> Select[Customer]:
    return select(Customer).where(
        Customer.organization_id == organization_id,
        Customer.livemode == livemode,
        Customer.deleted_at.is_(None),
    )


async def update_if(
    session: AsyncSession,
    customer: Customer,
    *,
    condition: Any,
    values: Mapping[str, Any],
) -> bool:
    """One conditional UPDATE of `customer`; False when `condition` no longer holds."""
    result = await session.execute(
        update(Customer)
        .where(Customer.id == customer.id, condition)
        .values(**values)
        .returning(Customer.id)
        .execution_options(synchronize_session=False)
    )
    changed = result.first() is not None
    if changed:
        await session.refresh(customer)
    return changed


def not_deleted() -> Any:
    return Customer.deleted_at.is_(None)


def deleted() -> Any:
    return Customer.deleted_at.is_not(None)


def blocked(value: bool) -> Any:
    return Customer.is_blocked.is_(value)

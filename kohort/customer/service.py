"""Customers: create, update, block, unblock, soft delete and restore.

The e-mail is unique per organization and mode whatever its case, soft-deleted customers
included: creating a customer with a deleted customer's e-mail restores that customer.
Each change appends `customer.created` or `customer.updated` in the same transaction.
"""

from dataclasses import dataclass
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kohort import clock
from kohort.customer import repository
from kohort.customer.errors import CustomerExistsError, CustomerNotFoundError
from kohort.customer.schemas import (
    DEFAULT_LOCALE,
    CustomerCreate,
    CustomerPatch,
    CustomerRead,
    CustomerUpdate,
    normalize_phone,
)
from kohort.errors import ValidationError
from kohort.event.service import append_events, new_event
from kohort.ids import new_id
from kohort.models import Customer

_FIELDS = ("first_name", "last_name", "locale", "client_reference_id")


def _phone(raw: str | None, locale: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return normalize_phone(raw, locale)
    except ValueError as error:
        raise ValidationError(f"phoneNumber {error}.", param="phoneNumber") from None


def _event(event_type: str, customer: Customer) -> dict[str, Any]:
    return new_event(
        type=event_type,
        organization_id=customer.organization_id,
        livemode=customer.livemode,
        data=CustomerRead.model_validate(customer).model_dump(mode="json", by_alias=True),
    )


async def _record(session: AsyncSession, event_type: str, customer: Customer) -> None:
    await append_events(session, [_event(event_type, customer)])


def _exists(email: str) -> CustomerExistsError:
    return CustomerExistsError(
        f"A customer with e-mail {email} already exists.", param="emailAddress"
    )


async def get_customer(
    session: AsyncSession, *, organization_id: str, livemode: bool, customer_id: str
) -> Customer:
    customer = await repository.get(
        session, organization_id=organization_id, livemode=livemode, customer_id=customer_id
    )
    if customer is None:
        raise CustomerNotFoundError(f"No such customer: '{customer_id}'", param="id")
    return customer


async def get_live_customer(
    session: AsyncSession, *, organization_id: str, livemode: bool, customer_id: str
) -> Customer:
    """A customer that is not soft-deleted (deleted ones can be read, not changed)."""
    customer = await get_customer(
        session, organization_id=organization_id, livemode=livemode, customer_id=customer_id
    )
    if customer.deleted_at is not None:
        raise CustomerNotFoundError(
            f"No such customer: '{customer_id}' (deleted; restore it first)", param="id"
        )
    return customer


async def create_customer(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    actor: str,
    data: CustomerCreate,
) -> Customer:
    email = str(data.email_address)
    existing = await repository.get_by_email(
        session, organization_id=organization_id, livemode=livemode, email=email
    )
    if existing is not None and existing.deleted_at is None:
        raise _exists(email)
    locale = data.locale or (existing.locale if existing is not None else DEFAULT_LOCALE)
    phone = _phone(data.phone_number, locale)
    if existing is not None:
        return await _restore_with(session, existing, data, phone=phone, actor=actor)
    values = _new_values(
        organization_id=organization_id,
        livemode=livemode,
        actor=actor,
        data=data,
        locale=locale,
        phone=phone,
    )
    return await _insert(session, values)


def _new_values(
    *,
    organization_id: str,
    livemode: bool,
    actor: str,
    data: CustomerCreate,
    locale: str,
    phone: str | None,
) -> dict[str, Any]:
    email = str(data.email_address)
    now = clock.now()
    return {
        "id": new_id("cus"),
        "organization_id": organization_id,
        "livemode": livemode,
        "email_address": email,
        "email_key": repository.email_key(email),
        "first_name": data.first_name,
        "last_name": data.last_name,
        "phone_number": phone,
        "locale": locale,
        "is_blocked": False,
        "client_reference_id": data.client_reference_id,
        "metadata_": data.metadata or {},
        "created_at": now,
        "created_by": actor,
        "updated_at": now,
        "updated_by": actor,
    }


async def _insert(session: AsyncSession, values: dict[str, Any]) -> Customer:
    """A new customer (`_new_values`), known not to exist; a concurrent twin makes it 409
    CUSTOMER_EXISTS."""
    customer = Customer(**values)
    session.add(customer)
    try:
        await session.flush()
    except IntegrityError:
        raise _exists(customer.email_address) from None
    await _record(session, "customer.created", customer)
    return customer


async def _restore_with(
    session: AsyncSession,
    customer: Customer,
    data: CustomerCreate,
    *,
    phone: str | None,
    actor: str,
) -> Customer:
    values: dict[str, Any] = {
        "deleted_at": None,
        "email_address": str(data.email_address),
        "updated_at": clock.now(),
        "updated_by": actor,
    }
    for name in data.model_fields_set & {*_FIELDS, "metadata", "phone_number"}:
        if name == "metadata":
            values["metadata_"] = data.metadata or {}
        elif name == "phone_number":
            values["phone_number"] = phone
        elif name != "locale" or data.locale is not None:
            values[name] = getattr(data, name)
    if not await repository.update_if(
        session, customer, condition=repository.deleted(), values=values
    ):
        raise _exists(str(data.email_address))
    await _record(session, "customer.updated", customer)
    return customer


async def update_customer(
    session: AsyncSession, customer: Customer, changes: CustomerUpdate, *, actor: str
) -> Customer:
    provided = changes.model_fields_set
    values: dict[str, Any] = {}
    for name in ("email_address", "locale"):
        if name in provided and getattr(changes, name) is None:
            raise ValidationError(f"{to_camel(name)} cannot be null.", param=to_camel(name))
    if "email_address" in provided and changes.email_address is not None:
        email = str(changes.email_address)
        if repository.email_key(email) != customer.email_key:
            other = await repository.get_by_email(
                session,
                organization_id=customer.organization_id,
                livemode=customer.livemode,
                email=email,
            )
            if other is not None:
                raise _exists(email)
        values["email_address"] = email
        values["email_key"] = repository.email_key(email)
    for name in provided & set(_FIELDS):
        values[name] = getattr(changes, name)
    if "metadata" in provided:
        values["metadata_"] = changes.metadata or {}
    if "phone_number" in provided:
        values["phone_number"] = _phone(changes.phone_number, values.get("locale", customer.locale))
    values = {k: v for k, v in values.items() if getattr(customer, k) != v}
    if not values:
        return customer
    values.update(updated_at=clock.now(), updated_by=actor)
    try:
        changed = await repository.update_if(
            session, customer, condition=repository.not_deleted(), values=values
        )
    except IntegrityError:
        raise _exists(str(changes.email_address)) from None
    if not changed:
        raise CustomerNotFoundError(f"No such customer: '{customer.id}'", param="id")
    await _record(session, "customer.updated", customer)
    return customer


async def patch_customer(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    customer_id: str,
    changes: CustomerPatch,
    actor: str,
) -> Customer:
    """`PATCH /customers/{id}`: `deletedAt: null` restores the customer, then the other fields
    apply; a `deletedAt` time applies them, then soft-deletes it. Without `deletedAt: null`
    a deleted customer cannot be changed (404), as for every other change."""
    restoring = "deleted_at" in changes.model_fields_set and changes.deleted_at is None
    if restoring:
        customer = await get_customer(
            session, organization_id=organization_id, livemode=livemode, customer_id=customer_id
        )
        customer = await restore_customer(session, customer, actor=actor)
    else:
        customer = await get_live_customer(
            session, organization_id=organization_id, livemode=livemode, customer_id=customer_id
        )
    customer = await update_customer(session, customer, changes, actor=actor)
    if changes.deleted_at is not None:
        customer = await delete_customer(session, customer, actor=actor)
    return customer


async def set_blocked(
    session: AsyncSession, customer: Customer, *, blocked: bool, actor: str
) -> Customer:
    """Block or unblock; doing it twice changes nothing and records nothing the second time."""
    now = clock.now()
    values: dict[str, Any] = {
        "is_blocked": blocked,
        "blocked_at": now if blocked else None,
        "blocked_by": actor if blocked else None,
        "updated_at": now,
        "updated_by": actor,
    }
    if await repository.update_if(
        session,
        customer,
        condition=repository.not_deleted() & repository.blocked(not blocked),
        values=values,
    ):
        await _record(session, "customer.updated", customer)
    return customer


async def delete_customer(session: AsyncSession, customer: Customer, *, actor: str) -> Customer:
    now = clock.now()
    values = {"deleted_at": now, "updated_at": now, "updated_by": actor}
    if not await repository.update_if(
        session, customer, condition=repository.not_deleted(), values=values
    ):
        raise CustomerNotFoundError(f"No such customer: '{customer.id}'", param="id")
    await _record(session, "customer.updated", customer)
    return customer


async def restore_customer(session: AsyncSession, customer: Customer, *, actor: str) -> Customer:
    """Undo a soft delete; restoring a customer that is not deleted changes nothing (and
    costs no statement: every order of a known customer passes here)."""
    if customer.deleted_at is None:
        return customer
    values = {"deleted_at": None, "updated_at": clock.now(), "updated_by": actor}
    if await repository.update_if(session, customer, condition=repository.deleted(), values=values):
        await _record(session, "customer.updated", customer)
    return customer


@dataclass(frozen=True)
class Buyer:
    customer: Customer
    events: list[dict[str, Any]]
    """`customer.created` when the order created its buyer: the caller writes it first among
    the order's own events (one statement for them all), in this transaction."""


async def customer_for_order(
    session: AsyncSession,
    *,
    organization_id: str,
    livemode: bool,
    actor: str,
    customer_id: str | None,
    email: str | None,
    first_name: str | None,
    last_name: str | None,
    phone_number: str | None,
    locale: str,
) -> Buyer:
    """The buyer of an order: by id, else by e-mail (a soft-deleted one is restored), else a
    new customer from the e-mail and names."""
    if customer_id is not None:
        customer = await get_customer(
            session, organization_id=organization_id, livemode=livemode, customer_id=customer_id
        )
        return Buyer(await restore_customer(session, customer, actor=actor), [])
    if email is None or not first_name or not last_name:
        missing = "customerEmail" if email is None else "customerFirstName"
        if email is not None and first_name:
            missing = "customerLastName"
        raise ValidationError(
            "Give customerId, or customerEmail with customerFirstName and customerLastName.",
            param=missing,
        )
    existing = await repository.get_by_email(
        session, organization_id=organization_id, livemode=livemode, email=email
    )
    if existing is not None:
        return Buyer(await restore_customer(session, existing, actor=actor), [])
    data = CustomerCreate(
        email_address=email,
        first_name=first_name,
        last_name=last_name,
        phone_number=phone_number,
        locale=locale,
    )
    values = _new_values(
        organization_id=organization_id,
        livemode=livemode,
        actor=actor,
        data=data,
        locale=locale,
        phone=_phone(phone_number, locale),
    )
    # One statement, no savepoint: a concurrent twin (PostgreSQL) makes it insert nothing.
    inserted = await repository.insert_if_absent(session, values)
    if inserted is not None:
        return Buyer(inserted, [_event("customer.created", inserted)])
    twin = await repository.get_by_email(
        session, organization_id=organization_id, livemode=livemode, email=email
    )
    assert twin is not None, "the unique constraint named a customer"
    return Buyer(await restore_customer(session, twin, actor=actor), [])

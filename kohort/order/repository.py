"""Every query on orders; every one is scoped to an organization and a mode."""

import json
from datetime import datetime

from sqlalchemy import Select, bindparam, exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.group.cashback import cashback_sql
from kohort.http.lists import Kind, ListField
from kohort.models import Order, PaymentGroup, Payout
from kohort.models.base import UTCDateTime

CREATED = "CREATED"
CASHBACK_AVAILABLE = "CASHBACK_AVAILABLE"
CASHBACK_PROCESSING = "CASHBACK_PROCESSING"
CASHBACK_SENT = "CASHBACK_SENT"
CANCELED = "CANCELED"
STATUSES = (CREATED, CASHBACK_AVAILABLE, CASHBACK_PROCESSING, CASHBACK_SENT, CANCELED)

LIST_FIELDS = {
    "id": ListField(Order.id, Kind.STRING),
    "amount": ListField(Order.amount, Kind.INTEGER),
    "amountCashback": ListField(Order.amount_cashback, Kind.INTEGER, nullable=True),
    "applicationFeeAmount": ListField(Order.application_fee_amount, Kind.INTEGER),
    "status": ListField(Order.status, Kind.STRING, choices=STATUSES),
    "paymentReference": ListField(Order.payment_reference, Kind.STRING, nullable=True),
    "canceledAt": ListField(Order.canceled_at, Kind.TIMESTAMP, nullable=True),
    "customerId": ListField(Order.customer_id, Kind.STRING),
    "customerEmail": ListField(Order.customer_email, Kind.STRING),
    "paymentGroupId": ListField(Order.payment_group_id, Kind.STRING),
    "paymentGroupShareId": ListField(Order.payment_group_share_id, Kind.STRING),
    "clientReferenceId": ListField(Order.client_reference_id, Kind.STRING, nullable=True),
    "locale": ListField(
        Order.locale,
        Kind.STRING,
        choices=("fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL"),
    ),
    "createdAt": ListField(Order.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(Order.updated_at, Kind.TIMESTAMP),
}


def select_listed(organization_id: str, livemode: bool) -> Select[Order]:
    return select(Order).where(Order.organization_id == organization_id, Order.livemode == livemode)


async def get(
    session: AsyncSession, *, organization_id: str, livemode: bool, order_id: str
) -> Order | None:
    stmt = select_listed(organization_id, livemode).where(Order.id == order_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def client_reference_used(
    session: AsyncSession, *, organization_id: str, livemode: bool, client_reference_id: str
) -> bool:
    stmt = select(
        exists().where(
            Order.organization_id == organization_id,
            Order.livemode == livemode,
            Order.client_reference_id == client_reference_id,
        )
    )
    return bool((await session.execute(stmt)).scalar_one())


async def make_cashback_available(
    session: AsyncSession, terms: dict[str, tuple[str, int]], *, now: datetime, actor: str
) -> list[tuple[str, str]]:
    """Move the CREATED orders of the groups in `terms` to CASHBACK_AVAILABLE with their
    cashback, in one UPDATE … FROM for every group: `terms` maps a group id to its cashback
    terms (`cashback.cashback_terms`), which the database applies to each order's amount.
    The orders moved, as (order id, group id)."""
    if not terms:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        source = (
            "jsonb_to_recordset(CAST(:terms AS jsonb)) AS t(group_id text, kind text, n bigint)"
        )
    else:
        source = (
            "(SELECT json_extract(value, '$.group_id') AS group_id, "
            "json_extract(value, '$.kind') AS kind, json_extract(value, '$.n') AS n "
            "FROM json_each(:terms)) AS t"
        )
    cashback = cashback_sql("o.amount", "t.kind", "t.n", postgres=postgres)
    statement = text(
        f"UPDATE orders AS o SET amount_cashback = {cashback}, status = '{CASHBACK_AVAILABLE}', "
        f"updated_at = :now, updated_by = :actor FROM {source} "
        f"WHERE o.payment_group_id = t.group_id AND o.status = '{CREATED}' "
        "RETURNING id, payment_group_id"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    rows = [{"group_id": group_id, "kind": kind, "n": n} for group_id, (kind, n) in terms.items()]
    parameters = {"terms": json.dumps(rows), "now": now, "actor": actor}
    return [(row[0], row[1]) for row in await session.execute(statement, parameters)]


async def move_to_group(
    session: AsyncSession,
    *,
    order_id: str,
    group: PaymentGroup,
    from_group_id: str,
    now: datetime,
    actor: str,
) -> None:
    await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.payment_group_id == from_group_id)
        .values(
            payment_group_id=group.id,
            payment_group_share_id=group.share_id,
            updated_at=now,
            updated_by=actor,
        )
        .execution_options(synchronize_session=False)
    )


async def get_for_update(session: AsyncSession, order_id: str) -> Order:
    """The order fresh from the database, locked for this transaction on PostgreSQL (SQLite's
    write lock already serialises writers)."""
    stmt = (
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def has_payout(session: AsyncSession, order_id: str) -> bool:
    stmt = select(exists().where(Payout.order_id == order_id))
    return bool((await session.execute(stmt)).scalar_one())


def canceled_email_key(order_id: str) -> str:
    """What a canceled order keeps instead of its e-mail key: unique, and never equal to an
    e-mail's key (no `@`), so the (group, e-mail) constraint no longer holds the e-mail."""
    return f"canceled:{order_id}"


async def cancel(
    session: AsyncSession, *, order_id: str, from_status: str, now: datetime, actor: str
) -> bool:
    """`from_status` → CANCELED, if the order is still in `from_status` and no payout exists
    for it; frees its (group, e-mail) key. False when another actor moved it first."""
    no_payout = ~exists().where(Payout.order_id == Order.id)
    result = await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == from_status, no_payout)
        .values(
            status=CANCELED,
            canceled_at=now,
            email_key=canceled_email_key(order_id),
            updated_at=now,
            updated_by=actor,
        )
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None

"""Every query on groups and on their member orders; API queries are scoped to an
organization and a mode, the worker's sweeps (due groups, reminders) run across all of them.

This is the one writer of the members' cashback (`make_cashback_available` at the group's
end, `refund_member` after a partial refund): kohort.order calls in, never the reverse."""

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy import (
    delete as sql_delete,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kohort.customer.repository import email_key as email_key_of
from kohort.db import core_first, in_mode
from kohort.event.sql_objects import event_id_sql, object_sql
from kohort.group.cashback import cashback_sql
from kohort.group.schemas import GroupRead, OrderRead
from kohort.http.lists import Kind, ListField
from kohort.ids import share_key
from kohort.models import Order, PaymentGroup, Payout
from kohort.models.base import UTCDateTime

OPEN = "OPEN"
COMPLETED = "COMPLETED"
EXPIRED = "EXPIRED"
CANCELED = "CANCELED"

ORDER_CREATED = "CREATED"
CASHBACK_ON_HOLD = "CASHBACK_ON_HOLD"
CASHBACK_AVAILABLE = "CASHBACK_AVAILABLE"
CASHBACK_PROCESSING = "CASHBACK_PROCESSING"
CASHBACK_SENT = "CASHBACK_SENT"
CASHBACK_REJECTED = "CASHBACK_REJECTED"
ORDER_CANCELED = "CANCELED"
ORDER_STATUSES = (
    ORDER_CREATED,
    CASHBACK_ON_HOLD,
    CASHBACK_AVAILABLE,
    CASHBACK_PROCESSING,
    CASHBACK_SENT,
    CASHBACK_REJECTED,
    ORDER_CANCELED,
)
REVIEW_PENDING = "PENDING"
REVIEWABLE = (ORDER_CREATED, CASHBACK_ON_HOLD)
"""The statuses in which a pending review can still be decided: in an open group, or held."""


def canceled_email_key(order_id: str) -> str:
    """What a canceled order keeps instead of its e-mail key: unique, and never equal to an
    e-mail's key (no `@`), so the (group, e-mail) constraint no longer holds the e-mail."""
    return f"canceled:{order_id}"


LIST_FIELDS = {
    "id": ListField(PaymentGroup.id, Kind.STRING),
    "shareId": ListField(PaymentGroup.share_id, Kind.STRING),
    "customerId": ListField(PaymentGroup.customer_id, Kind.STRING),
    "creatorEmail": ListField(PaymentGroup.creator_email, Kind.STRING),
    "status": ListField(
        PaymentGroup.status, Kind.STRING, choices=(OPEN, COMPLETED, CANCELED, EXPIRED)
    ),
    "reminderEmailSent": ListField(
        PaymentGroup.reminder_email_sent,
        Kind.STRING,
        choices=("NOT_SENT", "MIDWAY_SENT", "DAY3_SENT", "DAY2_BEFORE_END_SENT"),
    ),
    "participantsCount": ListField(PaymentGroup.participants_count, Kind.INTEGER),
    "expiresAt": ListField(PaymentGroup.expires_at, Kind.TIMESTAMP),
    "createdAt": ListField(PaymentGroup.created_at, Kind.TIMESTAMP),
    "updatedAt": ListField(PaymentGroup.updated_at, Kind.TIMESTAMP),
    "completedAt": ListField(PaymentGroup.completed_at, Kind.TIMESTAMP, nullable=True),
    "canceledAt": ListField(PaymentGroup.canceled_at, Kind.TIMESTAMP, nullable=True),
}


class GroupState(Protocol):
    """What the checks of a join and a code's validation read of a group: a `PaymentGroup`,
    or the Core row of the hot reads (`read_by_id_or_code`, `get_with_membership`)."""

    @property
    def id(self) -> str: ...
    @property
    def share_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def participants_count(self) -> int: ...
    @property
    def max_participants(self) -> int: ...
    @property
    def settings(self) -> dict[str, Any]: ...
    @property
    def expires_at(self) -> datetime: ...


GroupRecord = PaymentGroup | Row[Any]
"""A group as the API reads it: an ORM group, or a Core row of `PaymentGroup.__table__`."""


def fields_of(group: GroupRecord) -> Any:
    """What a response model reads a group from: a Core row as a dict of its columns (a
    model would try each field's camelCase alias as an attribute first, and a row raises on
    each miss), an ORM group as it is."""
    return group._asdict() if isinstance(group, Row) else group


def _scoped(organization_id: str, livemode: bool) -> Select[PaymentGroup]:
    return select(PaymentGroup).where(
        PaymentGroup.organization_id == organization_id, PaymentGroup.livemode == livemode
    )


def select_listed(organization_id: str, livemode: bool) -> Select[PaymentGroup]:
    return _scoped(organization_id, livemode)


_Selected = TypeVar("_Selected", bound=Select[*tuple[Any, ...]])


def _by_key(stmt: _Selected) -> tuple[_Selected, _Selected]:
    """`stmt` for one group of an organization and mode, by id and by share key: built once,
    with bound parameters, so that a request neither builds it nor computes its cache key."""
    scoped = stmt.where(*in_mode(PaymentGroup))
    return (
        scoped.where(PaymentGroup.id == bindparam("key")),
        scoped.where(PaymentGroup.share_key == bindparam("key")),
    )


def _key_of(id_or_code: str) -> tuple[int, str]:
    """Which of `_by_key`'s two statements, and its key: a `pg_…` id, or a code's share key."""
    if id_or_code.startswith("pg_"):
        return 0, id_or_code
    return 1, share_key(id_or_code)


_GROUP = _by_key(select(PaymentGroup))
_GROUP_ROW = _by_key(select(PaymentGroup.__table__))
_GROUP_ROW_AND_MEMBER = _by_key(
    select(
        PaymentGroup.__table__,
        exists()
        .where(Order.payment_group_id == PaymentGroup.id, Order.email_key == bindparam("email_key"))
        .label("member"),
    )
)


async def get_by_id_or_code(
    session: AsyncSession, *, organization_id: str, livemode: bool, id_or_code: str
) -> PaymentGroup | None:
    """By `pg_…` id, or by share code whatever its case."""
    which, key = _key_of(id_or_code)
    params = {"organization_id": organization_id, "livemode": livemode, "key": key}
    group: PaymentGroup | None = (await session.execute(_GROUP[which], params)).scalar_one_or_none()
    return group


async def read_by_id_or_code(
    session: AsyncSession, *, organization_id: str, livemode: bool, id_or_code: str
) -> Row[Any] | None:
    """`get_by_id_or_code` for a read that changes nothing: the group's row, its columns as
    attributes (`metadata` by its column's name)."""
    which, key = _key_of(id_or_code)
    params = {"organization_id": organization_id, "livemode": livemode, "key": key}
    return await core_first(session, _GROUP_ROW[which], params)


async def get(session: AsyncSession, group_id: str) -> PaymentGroup | None:
    """A group by id, fresh from the database (after a conditional update)."""
    stmt = select(PaymentGroup).where(PaymentGroup.id == group_id)
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def get_many(session: AsyncSession, group_ids: Collection[str]) -> dict[str, PaymentGroup]:
    """Groups by id, in one query (for `expand[]` on a page of orders)."""
    if not group_ids:
        return {}
    stmt = (
        select(PaymentGroup)
        .where(PaymentGroup.id.in_(set(group_ids)))
        .execution_options(populate_existing=True)
    )
    return {g.id: g for g in (await session.execute(stmt)).scalars()}


async def get_order(
    session: AsyncSession, *, organization_id: str, livemode: bool, order_id: str
) -> Order | None:
    """A member order by id, in the caller's organization and mode."""
    stmt = select(Order).where(
        Order.organization_id == organization_id,
        Order.livemode == livemode,
        Order.id == order_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def move_order_to_group(
    session: AsyncSession,
    *,
    order_id: str,
    group: PaymentGroup,
    from_group_id: str | None,
    now: datetime,
    actor: str,
) -> None:
    """The order becomes the creator's order of `group`, leaving the group it was in (none
    when the budget was used up as it was registered)."""
    await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.payment_group_id.is_not_distinct_from(from_group_id))
        .values(
            payment_group_id=group.id,
            payment_group_share_id=group.share_id,
            updated_at=now,
            updated_by=actor,
        )
        .execution_options(synchronize_session=False)
    )
    if from_group_id is None:
        return
    # The group it left has one member order fewer: a change (the analytics cache reads it).
    await session.execute(
        update(PaymentGroup)
        .where(PaymentGroup.id == from_group_id)
        .values(updated_at=now, updated_by=actor)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Moved:
    """A member order that just got its cashback; `held` when it went to CASHBACK_ON_HOLD."""

    order_id: str
    group_id: str
    held: bool
    cashback: int
    organization_id: str
    livemode: bool


async def make_cashback_available(
    session: AsyncSession, terms: dict[str, tuple[str, int]], *, now: datetime, actor: str
) -> list[Moved]:
    """Move the CREATED orders of the groups in `terms` to CASHBACK_AVAILABLE with their
    cashback (CASHBACK_ON_HOLD for an order under review), in one UPDATE … FROM for every
    group: `terms` maps a group id to its cashback terms (`cashback.cashback_terms`), which the
    database applies to what is left of each order (`amount - amount_refunded`)."""
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
    cashback = cashback_sql("(o.amount - o.amount_refunded)", "t.kind", "t.n", postgres=postgres)
    statement = text(
        f"UPDATE orders AS o SET amount_cashback = {cashback}, status = CASE o.review_status "
        f"WHEN '{REVIEW_PENDING}' THEN '{CASHBACK_ON_HOLD}' ELSE '{CASHBACK_AVAILABLE}' END, "
        f"updated_at = :now, updated_by = :actor FROM {source} "
        f"WHERE o.payment_group_id = t.group_id AND o.status = '{ORDER_CREATED}' "
        "RETURNING id, payment_group_id, status, amount_cashback, organization_id, livemode"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    rows = [{"group_id": group_id, "kind": kind, "n": n} for group_id, (kind, n) in terms.items()]
    parameters = {"terms": json.dumps(rows), "now": now, "actor": actor}
    return [
        Moved(
            order_id=row[0],
            group_id=row[1],
            held=row[2] == CASHBACK_ON_HOLD,
            cashback=row[3],
            organization_id=row[4],
            livemode=bool(row[5]),
        )
        for row in await session.execute(statement, parameters)
    ]


async def refund_member(
    session: AsyncSession,
    *,
    order: Order,
    refunded: int,
    values: dict[str, Any],
    now: datetime,
    actor: str,
) -> bool:
    """Add `refunded` cents to the order's `amount_refunded`, with `values` (its recomputed
    cashback, its fee), if the order is still as the caller read it (same status, same
    refunded sum) and no payout exists for it; False when another actor moved it first."""
    no_payout = ~exists().where(Payout.order_id == Order.id)
    result = await session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            Order.status == order.status,
            Order.amount_refunded == order.amount_refunded,
            no_payout,
        )
        .values(
            amount_refunded=Order.amount_refunded + refunded,
            updated_at=now,
            updated_by=actor,
            **values,
        )
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def members_of(
    session: AsyncSession, groups: Sequence[GroupRecord]
) -> dict[str, list[Order]]:
    """The orders of several groups in one query, each group's creator first."""
    result: dict[str, list[Order]] = {group.id: [] for group in groups}
    if not groups:
        return result
    creators = {group.id: group.customer_id for group in groups}
    stmt = (
        select(Order)
        .where(Order.payment_group_id.in_(list(result)))
        .order_by(Order.created_at, Order.id)
    )
    for order in (await session.execute(stmt)).scalars():
        result[str(order.payment_group_id)].append(order)
    for group_id, orders in result.items():
        orders.sort(key=lambda order: order.customer_id != creators[group_id])
    return result


async def share_key_taken(session: AsyncSession, key: str) -> bool:
    stmt = select(exists().where(PaymentGroup.share_key == key))
    return bool((await session.execute(stmt)).scalar_one())


async def email_is_member(session: AsyncSession, *, group_id: str, email_key: str) -> bool:
    stmt = select(exists().where(Order.payment_group_id == group_id, Order.email_key == email_key))
    return bool((await session.execute(stmt)).scalar_one())


_NOW = bindparam("now", type_=UTCDateTime())
_TAKE_SEAT = (
    update(PaymentGroup)
    .where(
        PaymentGroup.id == bindparam("group_id"),
        PaymentGroup.status == OPEN,
        PaymentGroup.expires_at > _NOW,
        PaymentGroup.participants_count < PaymentGroup.max_participants,
    )
    .values(participants_count=PaymentGroup.participants_count + 1, updated_at=_NOW)
    .returning(PaymentGroup)
    .execution_options(populate_existing=True, synchronize_session=False)
)
"""Built once: every join takes a seat."""


async def take_seat(session: AsyncSession, *, group_id: str, now: datetime) -> PaymentGroup | None:
    """Add one member if the group is OPEN, not expired and not full: one conditional UPDATE,
    so concurrent joins never overfill. The group as updated, or None when refused."""
    result = await session.execute(_TAKE_SEAT, {"group_id": group_id, "now": now})
    return result.scalar_one_or_none()


_INSERT_MEMBER = {
    dialect: insert(Order)
    .on_conflict_do_nothing(index_elements=[Order.payment_group_id, Order.email_key])
    .returning(Order)
    for dialect, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}
"""Built once: every join inserts its member order."""


async def insert_member(session: AsyncSession, values: dict[str, Any]) -> Order | None:
    """The new member order of `values`' group, or None when its e-mail is already one of the
    group's (`INSERT ... ON CONFLICT DO NOTHING RETURNING` on the unique (group, e-mail key):
    no savepoint, nothing written)."""
    stmt = _INSERT_MEMBER[session.get_bind().dialect.name]
    return (await session.scalars(stmt, [values])).one_or_none()


async def remove_member(session: AsyncSession, order: Order) -> None:
    """Take back the member order this transaction has just inserted (its seat was refused):
    the join leaves nothing behind."""
    await session.execute(
        sql_delete(Order).where(Order.id == order.id).execution_options(synchronize_session=False)
    )
    session.expunge(order)


async def get_with_membership(
    session: AsyncSession, *, organization_id: str, livemode: bool, id_or_code: str, email: str
) -> tuple[Row[Any], bool] | None:
    """The row of the group of `id_or_code` (as `read_by_id_or_code`), and whether `email` is
    already one of its members."""
    which, key = _key_of(id_or_code)
    params = {
        "organization_id": organization_id,
        "livemode": livemode,
        "key": key,
        "email_key": email_key_of(email),
    }
    row = await core_first(session, _GROUP_ROW_AND_MEMBER[which], params)
    return None if row is None else (row, bool(row.member))


async def transition(
    session: AsyncSession, *, group_id: str, condition: Any, values: dict[str, Any]
) -> bool:
    """Move an OPEN group on, if `condition` still holds; False when another actor won."""
    result = await session.execute(
        update(PaymentGroup)
        .where(PaymentGroup.id == group_id, PaymentGroup.status == OPEN, condition)
        .values(**values)
        .returning(PaymentGroup.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def members(session: AsyncSession, group_id: str) -> Sequence[Order]:
    """The group's orders, creator first (by customer, not by clock: orders created in the
    same millisecond would otherwise come in id order), then in order of joining."""
    creator = select(PaymentGroup.customer_id).where(PaymentGroup.id == group_id)
    is_creator = case((Order.customer_id == creator.scalar_subquery(), 0), else_=1)
    stmt = (
        select(Order)
        .where(Order.payment_group_id == group_id)
        .order_by(is_creator, Order.created_at, Order.id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().all()


async def update_group(session: AsyncSession, group_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(PaymentGroup)
        .where(PaymentGroup.id == group_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def lock(session: AsyncSession, group_id: str) -> PaymentGroup:
    """The group fresh from the database, locked for this transaction (`FOR UPDATE` on
    PostgreSQL, waiting for a worker that is ending it; SQLite's write lock serialises)."""
    stmt = (
        select(PaymentGroup)
        .where(PaymentGroup.id == group_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def claim(session: AsyncSession, *, group_id: str, due: Any) -> PaymentGroup | None:
    """Lock the group for this transaction if it is still due and no other worker holds it
    (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write lock serialises workers)."""
    stmt = (
        select(PaymentGroup)
        .where(PaymentGroup.id == group_id, PaymentGroup.status == OPEN, due)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, skip: Sequence[str] = ()
) -> list[str]:
    """Lock up to `limit` due OPEN groups, oldest first, that no other worker holds (`FOR
    UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write lock serialises workers), leaving out
    the ids in `skip`; their ids."""
    stmt = (
        select(PaymentGroup.id)
        .where(PaymentGroup.status == OPEN, PaymentGroup.expires_at <= now)
        .order_by(PaymentGroup.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if skip:
        stmt = stmt.where(PaymentGroup.id.not_in(list(skip)))
    return list((await session.execute(stmt)).scalars())


async def end_open(
    session: AsyncSession,
    *,
    group_ids: Sequence[str],
    now: datetime,
    actor: str,
    expire: bool,
) -> list[tuple[str, str, int, str]]:
    """End the OPEN groups among `group_ids` in one statement: ≥ 2 members → COMPLETED, alone
    → EXPIRED (only if `expire`). Rows (id, status, participants count, settings snapshot as
    JSON text) of the groups ended; those another actor moved first are left out."""
    if not group_ids:
        return []
    table = cast(Table, PaymentGroup.__table__)
    completes = table.c.participants_count >= 2
    condition = table.c.status == OPEN
    if not expire:
        condition = condition & completes
    stmt = (
        update(table)
        .where(table.c.id.in_(list(group_ids)), condition)
        .values(
            status=case((completes, COMPLETED), else_=EXPIRED),
            completed_at=case((completes, literal(now, UTCDateTime())), else_=None),
            expired_at=case(
                (completes, None),
                (table.c.expires_at < now, table.c.expires_at),
                else_=literal(now, UTCDateTime()),
            ),
            updated_at=now,
            updated_by=actor,
        )
        .returning(
            table.c.id,
            table.c.status,
            table.c.participants_count,
            sql_cast(table.c.settings, Text),
        )
    )
    return [(row[0], row[1], row[2], row[3]) for row in await session.execute(stmt)]


async def record_end_events(
    session: AsyncSession,
    *,
    groups: Sequence[str],
    members: Sequence[tuple[str, int]],
    now: datetime,
) -> None:
    """The events of groups this transaction just ended, composed by the database in one
    INSERT … SELECT: per group, in the order of `groups`, `payment_group.succeeded` or
    `payment_group.expired`, then one `order.cashback_available` per member that just got its
    cashback (`members`: order id, index of its group in `groups`), creator first then in
    order of joining; each with the API object as data.

    Rows are reached by primary key only, from the ids given: no plan depends on statistics
    about statuses (which a sweep changes faster than ANALYZE follows) or on joining two
    lists of ids."""
    if not groups:
        return
    dialect = session.get_bind().dialect.name
    postgres = dialect == "postgresql"
    group_json = object_sql(GroupRead, cast(Table, PaymentGroup.__table__), "g", dialect)
    order_json = object_sql(OrderRead, cast(Table, Order.__table__), "o", dialect)
    if postgres:
        ended = (
            "jsonb_array_elements_text(CAST(:groups AS jsonb)) WITH ORDINALITY "
            "AS b(group_id, position)"
        )
        moved = (
            "(SELECT value->>0 AS order_id, CAST(value->>1 AS integer) + 1 AS position "
            "FROM jsonb_array_elements(CAST(:members AS jsonb))) AS m"
        )
        no_time, no_text = "CAST(NULL AS timestamp)", "CAST(NULL AS text)"
    else:
        ended = "(SELECT key AS position, value AS group_id FROM json_each(:groups)) AS b"
        moved = (
            "(SELECT json_extract(value, '$[0]') AS order_id, "
            "json_extract(value, '$[1]') AS position FROM json_each(:members)) AS m"
        )
        no_time, no_text = "NULL", "NULL"
    statement = text(
        "INSERT INTO events (id, type, organization_id, livemode, data, created_at) "
        f"SELECT {event_id_sql(dialect)}, e.type, e.organization_id, e.livemode, e.data, :now "
        "FROM ("
        "SELECT b.position, 0 AS member, 0 AS joiner, "
        f"{no_time} AS joined_at, {no_text} AS order_id, "
        "CASE g.status WHEN 'COMPLETED' THEN 'payment_group.succeeded' "
        "ELSE 'payment_group.expired' END AS type, "
        f"g.organization_id, g.livemode, {group_json} AS data "
        f"FROM {ended} JOIN payment_groups AS g ON g.id = b.group_id "
        "UNION ALL "
        "SELECT m.position, 1, CASE WHEN o.customer_id = g.customer_id THEN 0 ELSE 1 END, "
        "o.created_at, o.id, 'order.cashback_available', "
        f"o.organization_id, o.livemode, {order_json} "
        f"FROM {moved} JOIN orders AS o ON o.id = m.order_id "
        "JOIN payment_groups AS g ON g.id = o.payment_group_id"
        ") AS e ORDER BY e.position, e.member, e.joiner, e.joined_at, e.order_id"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    parameters = {
        "groups": json.dumps(list(groups)),
        "members": json.dumps([list(member) for member in members]),
        "now": now,
    }
    await session.execute(statement, parameters)


def reminder_due(now: datetime) -> Any:
    """An OPEN lonely group, not yet over, with a reminder moment passed and not yet sent."""
    return and_(
        PaymentGroup.status == OPEN,
        PaymentGroup.participants_count == 1,
        PaymentGroup.expires_at > now,
        or_(
            and_(
                PaymentGroup.j_minus2_expire_at <= now,
                PaymentGroup.reminder_email_sent.in_(("NOT_SENT", "DAY3_SENT")),
            ),
            and_(
                PaymentGroup.j_plus3_start_at <= now, PaymentGroup.reminder_email_sent == "NOT_SENT"
            ),
            and_(PaymentGroup.mid_expire_at <= now, PaymentGroup.reminder_email_sent == "NOT_SENT"),
        ),
    )


async def reminder_group_ids(session: AsyncSession, *, now: datetime, limit: int) -> list[str]:
    stmt = (
        select(PaymentGroup.id)
        .where(reminder_due(now))
        .order_by(PaymentGroup.expires_at)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def oldest_due_at(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the oldest group still waiting to be ended fell due (the sweep's lag)."""
    stmt = select(func.min(PaymentGroup.expires_at)).where(
        PaymentGroup.status == OPEN, PaymentGroup.expires_at <= now
    )
    value = (await session.execute(stmt)).scalar_one_or_none()
    return None if value is None else value.replace(tzinfo=UTC) if value.tzinfo is None else value


def member_email_contains(text: str) -> ColumnElement[bool]:
    """An order whose shopper's e-mail contains `text`, in any case: its e-mail key (the
    e-mail lower-cased, compared with a plain LIKE, which needs no per-row case folding), or
    for a canceled order (its key is freed) the e-mail itself."""
    return or_(
        Order.email_key.contains(email_key_of(text), autoescape=True),
        and_(Order.status == ORDER_CANCELED, Order.customer_email.icontains(text, autoescape=True)),
    )


def matching(text: str, *, organization_id: str, livemode: bool) -> Any:
    """A group whose share code, creator's e-mail or one member's e-mail contains `text`, in
    any case (the dashboard's search box). The members are found in one pass over the mode's
    orders, not once per group."""
    members = select(Order.payment_group_id).where(
        Order.organization_id == organization_id,
        Order.livemode == livemode,
        member_email_contains(text),
    )
    return or_(
        PaymentGroup.share_key.contains(text.upper(), autoescape=True),
        PaymentGroup.creator_email.icontains(text, autoescape=True),
        PaymentGroup.id.in_(members),
    )


async def resolve_review(
    session: AsyncSession,
    *,
    order: Order,
    approve: bool,
    leaves: bool,
    now: datetime,
    actor: str,
) -> str | None:
    """Decide the pending review of `order` (read under `lock_order`'s locks): approved, a
    held cashback becomes available; rejected, the order's cashback is voided
    (CASHBACK_REJECTED) and, when it `leaves` its OPEN group, its (group, e-mail) key is freed
    as a cancellation frees it. The order's new status, or None when another actor decided
    first."""
    if approve:
        status: Any = case(
            (Order.status == CASHBACK_ON_HOLD, CASHBACK_AVAILABLE), else_=Order.status
        )
    else:
        status = CASHBACK_REJECTED
    values: dict[str, Any] = {
        "status": status,
        "review_status": "APPROVED" if approve else "REJECTED",
        "reviewed_at": now,
        "reviewed_by": actor,
        "updated_at": now,
        "updated_by": actor,
    }
    if leaves:
        values["email_key"] = canceled_email_key(order.id)
    result = await session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            Order.review_status == REVIEW_PENDING,
            Order.status.in_(REVIEWABLE),
        )
        .values(**values)
        .returning(Order.status)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def due_reviews(session: AsyncSession, *, now: datetime, limit: int) -> list[str]:
    """Orders whose review deadline has passed, oldest deadline first (the partial index)."""
    rows = await session.execute(
        select(Order.id)
        .where(
            Order.review_status == REVIEW_PENDING,
            Order.review_due_at <= now,
            Order.status.in_(REVIEWABLE),
        )
        .order_by(Order.review_due_at, Order.id)
        .limit(limit)
    )
    return list(rows.scalars())

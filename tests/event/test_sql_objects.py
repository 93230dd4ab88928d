"""The API objects the database composes for the worker's events (kohort/event/sql_objects.py)
equal the response models' own output, field for field, on the engine under test; and the
cashback the database applies (group.repository.make_cashback_available) equals
`cashback_amount`, the one rule of DOMAIN §9."""

import json
import random
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import Table, select, text, update

from kohort import clock
from kohort.db import Database
from kohort.event.sql_objects import object_sql
from kohort.group import repository as groups_repository
from kohort.group.cashback import DiscountLevel, cashback_amount, cashback_terms
from kohort.group.schemas import GroupRead
from kohort.models import Order, PaymentGroup
from kohort.order.schemas import OrderRead
from tests.factories import Org
from tests.order.api import START, create_order, frozen_at

GROUPS = cast(Table, PaymentGroup.__table__)
ORDERS = cast(Table, Order.__table__)


async def _composed(db: Database, model: type[BaseModel], table: Table, row_id: str) -> Any:
    """The object the database composes for one row, as stored in `events.data` and read
    back (SQLite: JSON text, parsed here keeping its key order; PostgreSQL: jsonb)."""
    async with db.read() as session:
        sql = object_sql(model, table, "t", session.get_bind().dialect.name)
        value = (
            await session.execute(
                text(f"SELECT {sql} FROM {table.name} AS t WHERE t.id = :id"), {"id": row_id}
            )
        ).scalar_one()
    return json.loads(value) if isinstance(value, str) else value


def _dumped(model: type[BaseModel], instance: Any) -> dict[str, Any]:
    return model.model_validate(instance).model_dump(mode="json", by_alias=True)


async def _varied_rows(client: httpx.AsyncClient, org: Org) -> tuple[list[str], list[str]]:
    """Groups and orders covering every kind of value: both modes, nulls and values of every
    optional field, unicode and escapes in metadata and names, a join error, a cashback, odd
    microseconds (truncated to milliseconds on the wire), a canceled order and group."""
    with frozen_at(START.replace(microsecond=999_999)) as moment:
        live = await create_order(
            client,
            org.sk_live,
            metadata={"note": 'a "quoted"\nline \\ é ü 字 🎉', "empty": ""},
            customerPhoneNumber="+33612345678",
            paymentReference="pi_3MtwBwLkdIwHu7ix28a3tqPa",
            clientReferenceId="cart-1",
            locale="de_DE",
        )
        moment.shift(0.000_501)
        creator = await create_order(client, org.sk_test, customerFirstName="Zoë")
        code = creator["paymentGroupShareId"]
        moment.shift(1)
        joiner = await create_order(client, org.sk_test, paymentGroupShareId=code)
        refused = await create_order(client, org.sk_test, paymentGroupShareId="KHT-test-NOPE0000")
        assert refused["joinError"] is not None
        lonely = await create_order(client, org.sk_test)
        response = await client.post(
            f"/orders/{lonely['id']}/cancel", headers={"Authorization": f"Bearer {org.sk_test}"}
        )
        assert response.status_code == 200, response.text
    order_ids = [live["id"], creator["id"], joiner["id"], refused["id"], lonely["id"]]
    group_ids = [o["paymentGroupId"] for o in (live, creator, refused, lonely)]
    return group_ids, order_ids


async def test_group_and_order_objects_equal_the_models(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    group_ids, order_ids = await _varied_rows(client, org)
    # A completed group with a cashback, as the end of a group leaves it.
    async with db.write() as session:
        await session.execute(
            update(Order).where(Order.id == order_ids[1]).values(amount_cashback=1234)
        )
        await session.execute(  # names are optional for a customer given by id
            update(Order)
            .where(Order.id == order_ids[4])
            .values(customer_first_name=None, customer_last_name=None, risk_level=None)
        )
        await session.execute(  # a held order, with its reasons (a JSON list)
            update(Order)
            .where(Order.id == order_ids[3])
            .values(
                risk_level="HIGH",
                risk_reasons=[{"code": "SAME_PHONE", "level": "HIGH", "detail": "+33612345678"}],
                review_status="PENDING",
                review_due_at=clock.now(),
                customer_ip="2001:db8::1",
            )
        )
        await session.execute(
            update(PaymentGroup)
            .where(PaymentGroup.id == group_ids[1])
            .values(status="COMPLETED", completed_at=clock.now(), updated_by=None)
        )
    async with db.read() as session:
        groups = (
            await session.execute(select(PaymentGroup).where(PaymentGroup.id.in_(group_ids)))
        ).scalars()
        expected_groups = {g.id: _dumped(GroupRead, g) for g in groups}
        rows = (await session.execute(select(Order).where(Order.id.in_(order_ids)))).scalars()
        expected_orders = {o.id: _dumped(OrderRead, o) for o in rows}
    assert len(expected_groups) == 4 and len(expected_orders) == 5
    seen: set[Any] = set()
    cases = [
        *((GroupRead, GROUPS, row_id, expected) for row_id, expected in expected_groups.items()),
        *((OrderRead, ORDERS, row_id, expected) for row_id, expected in expected_orders.items()),
    ]
    for model, table, row_id, expected in cases:
        composed = await _composed(db, model, table, row_id)
        assert composed == expected
        if db.is_sqlite:  # SQLite keeps the text as written: the model's key order.
            assert list(composed) == list(expected)
        seen.update((key, type(value)) for key, value in expected.items())
    # The rows did cover nulls and values of the optional fields, both modes, a join error.
    optional = ("amountCashback", "paymentReference", "canceledAt", "joinError", "completedAt")
    for key in (*optional, "customerFirstName", "riskLevel"):
        assert (key, type(None)) in seen, key
    assert ("joinError", dict) in seen and ("amountCashback", int) in seen
    assert ("reviewDueAt", str) in seen and ("reviewDueAt", type(None)) in seen
    assert any(o["riskReasons"] for o in expected_orders.values())
    assert ("completedAt", str) in seen and ("canceledAt", str) in seen
    assert {("livemode", bool)} <= seen
    modes = {e["livemode"] for e in expected_groups.values()}
    assert modes == {True, False}
    assert any(e["createdAt"].endswith(".999Z") for e in expected_orders.values())


def test_a_model_field_without_a_column_is_refused() -> None:
    class Extended(GroupRead):
        nickname: str

    with pytest.raises(ValueError, match="nickname"):
        object_sql(Extended, GROUPS, "g", "sqlite")


async def test_the_database_applies_cashback_amount(
    client: httpx.AsyncClient, org: Org, db: Database
) -> None:
    """Orders of random amounts (halves that round up, caps, the largest amount) under random
    terms of both discount types, and none: the stored cashback is `cashback_amount`'s."""
    rng = random.Random(20261127)
    cases: list[tuple[str, DiscountLevel | None]] = [("PERCENTAGE", None), ("AMOUNT", None)]
    for n in range(18):
        discount_type = ("PERCENTAGE", "AMOUNT")[n % 2]
        hundredths = rng.choice([1, 5, 50, 333, 1250, 9999, 10000, rng.randint(1, 10000)])
        value = Decimal(hundredths).scaleb(-2)
        cases.append((discount_type, DiscountLevel("dlev_x", 1, value, 2)))
    groups: dict[str, tuple[str, DiscountLevel | None]] = {}
    amounts: dict[str, int] = {}
    for discount_type, level in cases:
        creator = await create_order(client, org.sk_test, amount=rng.randint(1, 10**6))
        code = creator["paymentGroupShareId"]
        groups[creator["paymentGroupId"]] = (discount_type, level)
        amounts[creator["id"]] = creator["amount"]
        for amount in _amounts(rng, level):
            joined = await create_order(
                client, org.sk_test, amount=amount, paymentGroupShareId=code
            )
            if joined["joinError"] is None:
                amounts[joined["id"]] = amount
    assert len(amounts) > 80  # the joins were accepted, the edge amounts are in
    terms = {group_id: cashback_terms(*case) for group_id, case in groups.items()}
    async with db.write() as session:
        # The groups stay OPEN here: only the orders' rule is under test.
        moved = await groups_repository.make_cashback_available(
            session, terms, now=clock.now(), actor="test"
        )
    assert {member.order_id for member in moved} == set(amounts)
    async with db.read() as session:
        stored = {
            o.id: o
            for o in (await session.execute(select(Order).where(Order.id.in_(amounts)))).scalars()
        }
    for order_id, amount in amounts.items():
        order = stored[order_id]
        discount_type, level = groups[order.payment_group_id]
        assert order.amount_cashback == cashback_amount(discount_type, level, amount), (
            discount_type,
            level,
            amount,
        )
        assert order.status == "CASHBACK_AVAILABLE"


def _amounts(rng: random.Random, level: DiscountLevel | None) -> list[int]:
    """Amounts for a group's joiners: exact halves under a percentage (round half up), tiny
    and huge ones, one under a fixed amount (capped)."""
    picks = [1, 10**12, rng.randint(1, 50_000)]
    if level is not None:
        hundredths = int(level.value.scaleb(2))
        halves = [a for a in range(1, 20_001) if (a * hundredths) % 10_000 == 5_000]
        picks += halves[:2]
        picks.append(max(1, int(level.value * 100) - 1))
    return picks


def test_percentages_finer_than_hundredths_are_refused() -> None:
    with pytest.raises(ValueError):
        cashback_terms("PERCENTAGE", DiscountLevel("dlev_x", 1, Decimal("1.005"), 2))
    assert cashback_terms("AMOUNT", None) == ("AMOUNT", 0)
    assert cashback_terms("PERCENTAGE", DiscountLevel("dlev_x", 1, Decimal("12.5"), 2)) == (
        "PERCENTAGE",
        1250,
    )

"""Bulk seeding of groups for load tests: many OPEN groups already due, with their members."""

import random
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from kohort import clock
from kohort.db import Database
from kohort.group import repository as groups
from kohort.group_settings.service import get_settings, snapshot
from kohort.ids import new_id, new_share_code, share_key
from kohort.models import Customer, Order, PaymentGroup
from kohort.order import repository as orders

CHUNK = 2000
"""Rows per INSERT batch."""
GROUPS_PER_TRANSACTION = 5000
SEEDER = "seed"


def _customers(
    organization_id: str, livemode: bool, count: int, created: Any
) -> list[dict[str, Any]]:
    """`count` customers, one per member seat: member k of every group is customer k."""
    token = secrets.token_hex(4)
    rows = []
    for k in range(count):
        email = f"seed-{token}-{k}@example.com"
        rows.append(
            {
                "id": new_id("cus"),
                "organization_id": organization_id,
                "livemode": livemode,
                "email_address": email,
                "email_key": email,
                "first_name": None,
                "last_name": None,
                "phone_number": None,
                "locale": "fr_FR",
                "is_blocked": False,
                "blocked_at": None,
                "blocked_by": None,
                "client_reference_id": None,
                "metadata_": {},
                "deleted_at": None,
                "created_at": created,
                "created_by": SEEDER,
                "updated_at": created,
                "updated_by": SEEDER,
            }
        )
    return rows


async def _insert_chunked(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[start : start + CHUNK])


async def seed_due_groups(
    db: Database,
    *,
    organization_id: str,
    count: int,
    members: tuple[int, int] = (1, 10),
    livemode: bool = False,
    seed: int = 0,
) -> None:
    """Insert `count` OPEN groups whose time is already up (expires_at in the past), each with
    a member count drawn from `members` (inclusive, deterministic from `seed`), one CREATED
    order per member, `participants_count` equal to it, and the organization's settings
    snapshot, as `open_group` + joins would have left them."""
    low, high = members
    assert 1 <= low <= high
    rng = random.Random(seed)
    sizes = [rng.randint(low, high) for _ in range(count)]
    amounts = [[rng.randint(1_000, 50_000) for _ in range(size)] for size in sizes]
    now = clock.now()
    created = now - timedelta(minutes=11)
    expires = now - timedelta(minutes=1)

    async with db.write() as session:
        settings = await get_settings(session, organization_id=organization_id, livemode=livemode)
        kept = snapshot(settings)
        max_participants = max(settings.max_participants, high)
        customers = _customers(organization_id, livemode, high, created)
        await _insert_chunked(session, Customer, customers)

    used: set[str] = set()
    for first in range(0, count, GROUPS_PER_TRANSACTION):
        group_rows: list[dict[str, Any]] = []
        order_rows: list[dict[str, Any]] = []
        for index in range(first, min(first + GROUPS_PER_TRANSACTION, count)):
            code = new_share_code(livemode)
            while share_key(code) in used:  # 32-bit codes: thousands of them do collide
                code = new_share_code(livemode)
            used.add(share_key(code))
            group_id = new_id("pg")
            creator = customers[0]
            group_rows.append(
                {
                    "id": group_id,
                    "share_id": code,
                    "share_key": share_key(code),
                    "livemode": livemode,
                    "organization_id": organization_id,
                    "customer_id": creator["id"],
                    "creator_email": creator["email_address"],
                    "status": groups.OPEN,
                    "metadata_": {},
                    "participants_count": sizes[index],
                    "max_participants": max_participants,
                    "settings": kept,
                    "expires_at": expires,
                    "mid_expire_at": None,
                    "j_minus2_expire_at": None,
                    "j_plus3_start_at": None,
                    "reminder_email_sent": "NOT_SENT",
                    "created_at": created,
                    "created_by": SEEDER,
                    "updated_at": created,
                    "updated_by": SEEDER,
                    "canceled_at": None,
                    "completed_at": None,
                }
            )
            for seat, amount in enumerate(amounts[index]):
                customer = customers[seat]
                joined = created + timedelta(seconds=seat)
                order_rows.append(
                    {
                        "id": new_id("ord"),
                        "livemode": livemode,
                        "organization_id": organization_id,
                        "amount": amount,
                        "amount_cashback": None,
                        "application_fee_amount": 0,
                        "currency": "EUR",
                        "locale": "fr_FR",
                        "status": orders.CREATED,
                        "customer_id": customer["id"],
                        "customer_email": customer["email_address"],
                        "email_key": customer["email_key"],
                        "customer_first_name": None,
                        "customer_last_name": None,
                        "customer_phone_number": None,
                        "payment_group_id": group_id,
                        "payment_group_share_id": code,
                        "client_reference_id": None,
                        "risk_level": None,
                        "join_error": None,
                        "metadata_": {},
                        "created_at": joined,
                        "created_by": SEEDER,
                        "updated_at": joined,
                        "updated_by": SEEDER,
                    }
                )
        async with db.write() as session:
            await _insert_chunked(session, PaymentGroup, group_rows)
            await _insert_chunked(session, Order, order_rows)

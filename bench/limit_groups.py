"""The limit's group routes (bench/limit.py), GET /groups/{id} and POST /groups/{code}/validate:
the statement Kohort's code makes for each, and its answer's JSON built by hand, key for key
in the order of Kohort's response models (`GroupRead`, `GroupValidation`). What Kohort answers
off the happy path in a way the limit does not copy (a publishable key's public view, the
`kohortpay` API version, bodies Kohort's validation refuses) is 501 LIMIT_UNSUPPORTED."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.limit_db import Database, Row, Tx, api_time, json_of, stored_time

MAX_AMOUNT = 10**12


class Refusal(Exception):
    """An answer in Kohort's error envelope."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


def unsupported(what: str) -> Refusal:
    return Refusal(501, "LIMIT_UNSUPPORTED", f"The limit serves the happy path only: {what}.")


@dataclass(frozen=True)
class Caller:
    key_id: str
    organization_id: str
    livemode: bool


GROUP_COLUMNS = (
    "id, share_id, livemode, organization_id, customer_id, creator_email, status, metadata, "
    "expires_at, mid_expire_at, j_minus2_expire_at, j_plus3_start_at, reminder_email_sent, "
    "created_at, created_by, updated_at, updated_by, canceled_at, completed_at, "
    "participants_count"
)
_SCOPED = "FROM payment_groups WHERE organization_id = ? AND livemode = ?"
GROUP_BY_ID = f"SELECT {GROUP_COLUMNS} {_SCOPED} AND id = ?"
GROUP_BY_CODE = f"SELECT {GROUP_COLUMNS} {_SCOPED} AND share_key = ?"
_MEMBERSHIP = (
    f"SELECT {GROUP_COLUMNS}, max_participants, settings, expires_at > ?, EXISTS (SELECT 1 "
    "FROM orders WHERE orders.payment_group_id = payment_groups.id AND orders.email_key = ?) "
    f"{_SCOPED}"
)
MEMBERSHIP_BY_ID = f"{_MEMBERSHIP} AND id = ?"
MEMBERSHIP_BY_CODE = f"{_MEMBERSHIP} AND share_key = ?"
CUSTOMER = (
    "SELECT id, email_address, first_name, last_name, phone_number, is_blocked, deleted_at "
    "FROM customers WHERE organization_id = ? AND livemode = ? AND email_key = ?"
)


def group_read(row: Row) -> dict[str, Any]:
    """`GroupRead` from a row of GROUP_COLUMNS."""
    return {
        "id": row[0],
        "shareId": row[1],
        "livemode": bool(row[2]),
        "organizationId": row[3],
        "customerId": row[4],
        "creatorEmail": row[5],
        "status": row[6],
        "metadata": json_of(row[7]),
        "expiresAt": api_time(row[8]),
        "midExpireAt": api_time(row[9]),
        "jMinus2ExpireAt": api_time(row[10]),
        "jPlus3StartAt": api_time(row[11]),
        "reminderEmailSent": row[12],
        "createdAt": api_time(row[13]),
        "createdBy": row[14],
        "updatedAt": api_time(row[15]),
        "updatedBy": row[16],
        "canceledAt": api_time(row[17]),
        "completedAt": api_time(row[18]),
        "participantsCount": row[19],
    }


def _level(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(item["id"]),
        "level": int(item["level"]),
        "value": float(item["value"]),
        "participantsToUnlock": int(item["participantsToUnlock"]),
    }


def _threshold(level: dict[str, Any]) -> tuple[int, int]:
    return (level["participantsToUnlock"], level["level"])


def validation_extras(row: Row) -> dict[str, Any]:
    """What `GroupValidation` adds to the group: its rules and what one more member unlocks."""
    settings = json_of(row[21])
    levels = [_level(item) for item in settings["discountLevels"]]
    joined = row[19] + 1
    reached = [level for level in levels if level["participantsToUnlock"] <= joined]
    ahead = [level for level in levels if level["participantsToUnlock"] > joined]
    return {
        "paymentGroupId": row[0],
        "discountType": settings["discountType"],
        "discountLevels": levels,
        "maxParticipants": row[20],
        "minutesDuration": settings["minutesDuration"],
        "minPurchaseValue": settings["minPurchaseValue"],
        "currentDiscountLevel": max(reached, key=_threshold, default=None),
        "nextDiscountLevel": min(ahead, key=_threshold, default=None),
    }


def scope(caller: Caller, id_or_code: str) -> tuple[bool, tuple[Any, ...]]:
    """Whether `id_or_code` is a `pg_…` id, and the parameters that find its group: by id, or
    by share code whatever its case."""
    if id_or_code.startswith("pg_"):
        return True, (caller.organization_id, caller.livemode, id_or_code)
    return False, (caller.organization_id, caller.livemode, id_or_code.strip().upper())


async def get_group(db: Database, caller: Caller, id_or_code: str) -> dict[str, Any]:
    by_id, params = scope(caller, id_or_code)
    row = await db.read(lambda tx: tx.one(GROUP_BY_ID if by_id else GROUP_BY_CODE, params))
    if row is None:
        raise Refusal(404, "NOT_FOUND", f"No such group: '{id_or_code}'", "id")
    return group_read(row)


def check_joinable(row: Row, email: str | None) -> None:
    """Kohort's `find_group` checks, in their order, on a MEMBERSHIP row."""
    share_id, status = row[1], row[6]
    if status != "OPEN":
        state = "completed (it filled up or its time ended)" if status == "COMPLETED" else None
        raise Refusal(
            400,
            "COMPLETED_EXPIRED_CANCELED",
            f"Group {share_id} is {state or status.lower()}: it cannot be joined any more.",
            "code",
        )
    if not row[22]:
        raise Refusal(
            400,
            "COMPLETED_EXPIRED_CANCELED",
            f"Group {share_id} has expired (its time ended): it cannot be joined any more.",
            "code",
        )
    if row[19] >= row[20]:
        raise Refusal(
            400,
            "MAX_PARTICIPANTS_REACHED",
            f"Maximum number of participants reached for group {share_id}.",
            "code",
        )
    if email is not None and row[23]:
        raise Refusal(
            400,
            "EMAIL_ALREADY_USED",
            f"{email} is already a member of group {share_id}.",
            "customerEmail",
        )


def check_amount(row: Row, amount: int) -> None:
    minimum = int(json_of(row[21])["minPurchaseValue"])
    if amount < minimum:
        raise Refusal(
            400,
            "AMOUNT_TOO_LOW",
            f"The amount {amount} is below the group's minimum purchase value {minimum}.",
            "amount",
        )


def email_of(value: Any) -> str:
    """An e-mail as Kohort's EmailStr keeps it (this ASCII shape only): trimmed, its domain
    lower-cased."""
    if not isinstance(value, str) or value.count("@") != 1 or not value.isascii():
        raise unsupported("an e-mail other than a plain ASCII address")
    local, domain = value.strip().split("@")
    return f"{local}@{domain.lower()}"


def amount_of(value: Any, *, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_AMOUNT:
        raise unsupported("an amount that Kohort's validation would refuse")
    return value


async def validate(db: Database, caller: Caller, code: str, body: dict[str, Any]) -> dict[str, Any]:
    amount = body.get("amount")
    email = email_of(body["customerEmail"]) if body.get("customerEmail") is not None else None
    by_id, params = scope(caller, code)
    now = stored_time(datetime.now(UTC))
    sql = MEMBERSHIP_BY_ID if by_id else MEMBERSHIP_BY_CODE
    key = (email or "").strip().lower()

    async def work(tx: Tx) -> tuple[Row | None, Row | None]:
        row = await tx.one(sql, (now, key, *params))
        customer = None
        if row is not None and email is not None:
            customer = await tx.one(CUSTOMER, (caller.organization_id, caller.livemode, key))
        return row, customer

    row, customer = await db.read(work)
    if row is None:
        raise Refusal(404, "NOT_FOUND", f"No such group: '{code}'", "code")
    check_joinable(row, email)
    if amount is not None:
        check_amount(row, amount_of(amount, minimum=0))
    if customer is not None and customer[5]:
        raise Refusal(400, "CUSTOMER_BLOCKED", f"Customer {email} is blocked.", "customerEmail")
    return {**group_read(row), **validation_extras(row)}

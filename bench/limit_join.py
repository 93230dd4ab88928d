"""The limit's POST /orders that joins a group by `paymentGroupShareId` (bench/limit.py).

It does the reads Kohort's join does (the organization, the mode's settings, the customer by
e-mail, the group with the buyer's membership, the group's members and the address's recent
orders for the risk signals) and writes what a LOW-risk join writes, in one transaction: the
customer and `customer.created` (a new buyer), the seat (one conditional UPDATE … RETURNING),
the order, then `order.created`, `payment_group.joined` and, on a level's threshold,
`payment_group.level_unlocked`, each event with its API object. The risk rules are not
computed: a bench buyer resembles nobody, so the join is LOW and the policy's action for LOW
applies (allow; review holds the cashback as Kohort does). Off that path (a join Kohort would
refuse and turn into the order's own group, a join that fills the group and completes it, an
existing soft-deleted customer) it answers 501 LIMIT_UNSUPPORTED and writes nothing."""

import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.limit_db import Database, Row, Tx, api_time, json_of, stored_time
from bench.limit_groups import (
    CUSTOMER,
    MEMBERSHIP_BY_CODE,
    MEMBERSHIP_BY_ID,
    Caller,
    Refusal,
    amount_of,
    check_amount,
    check_joinable,
    email_of,
    group_read,
    scope,
    unsupported,
)

BURST_MINUTES = 10
VAT_PERCENT = 20
LOCALES = ("fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL")
UNSUPPORTED_FIELDS = ("customerId", "customerPhoneNumber", "clientReferenceId")

ORGANIZATION = "SELECT acquisition_fee_percent FROM organizations WHERE id = ?"
SETTINGS = (
    "SELECT min_purchase_value, risk_policy, review_days FROM payment_group_settings "
    "WHERE organization_id = ? AND livemode = ?"
)
MEMBERS = (
    "SELECT customer_email, customer_first_name, customer_last_name, customer_phone_number, "
    "customer_ip, device_fingerprint, payment_fingerprint, customer_id FROM orders "
    "WHERE payment_group_id = ? AND status != ?"
)
FROM_IP = (
    "SELECT count(*) FROM orders WHERE organization_id = ? AND livemode = ? "
    "AND customer_ip = ? AND created_at >= ?"
)
SEAT = (
    "UPDATE payment_groups SET participants_count = participants_count + 1, updated_at = ? "
    "WHERE id = ? AND status = 'OPEN' AND expires_at > ? "
    "AND participants_count < max_participants RETURNING id, share_id, livemode, "
    "organization_id, customer_id, creator_email, status, metadata, expires_at, mid_expire_at, "
    "j_minus2_expire_at, j_plus3_start_at, reminder_email_sent, created_at, created_by, "
    "updated_at, updated_by, canceled_at, completed_at, participants_count, max_participants, "
    "settings"
)
CUSTOMER_COLUMNS = (
    "id, organization_id, livemode, email_address, email_key, first_name, last_name, "
    "phone_number, locale, is_blocked, blocked_at, blocked_by, client_reference_id, metadata, "
    "deleted_at, created_at, created_by, updated_at, updated_by"
)
INSERT_CUSTOMER = f"INSERT INTO customers ({CUSTOMER_COLUMNS}) VALUES ({', '.join('?' * 19)})"
ORDER_COLUMNS = (
    "id, livemode, organization_id, amount, amount_cashback, amount_refunded, "
    "application_fee_amount, currency, locale, status, payment_reference, canceled_at, "
    "customer_id, customer_email, email_key, customer_first_name, customer_last_name, "
    "customer_phone_number, payment_group_id, payment_group_share_id, client_reference_id, "
    "risk_level, risk_reasons, customer_ip, device_fingerprint, payment_fingerprint, "
    "review_status, review_due_at, reviewed_at, reviewed_by, join_error, metadata, "
    "created_at, created_by, updated_at, updated_by"
)
INSERT_ORDER = f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({', '.join('?' * 36)})"
INSERT_EVENTS = {
    n: "INSERT INTO events (id, type, organization_id, livemode, data, created_at) VALUES "
    + ", ".join(["(?, ?, ?, ?, ?, ?)"] * n)
    for n in range(1, 6)
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(7)}"


@dataclass(frozen=True)
class Purchase:
    """A join's body, read as Kohort's OrderCreate reads the bench's bodies."""

    amount: int
    code: str
    email: str
    first_name: str
    last_name: str
    locale: str
    ip: str | None
    device: str | None
    payment: str | None
    reference: str | None
    metadata: dict[str, str]


def purchase_of(body: dict[str, Any]) -> Purchase:
    if any(body.get(name) is not None for name in UNSUPPORTED_FIELDS):
        raise unsupported(f"{', '.join(UNSUPPORTED_FIELDS)} are not read")
    if not isinstance(body.get("paymentGroupShareId"), str):
        raise unsupported("an order that opens its own group")
    first, last = body.get("customerFirstName"), body.get("customerLastName")
    if body.get("customerEmail") is None or not (isinstance(first, str) and first.strip()):
        raise _missing(
            "customerEmail" if body.get("customerEmail") is None else "customerFirstName"
        )
    if not (isinstance(last, str) and last.strip()):
        raise _missing("customerLastName")
    locale, metadata, ip = body.get("locale", "fr_FR"), body.get("metadata") or {}, None
    if body.get("currency", "EUR") != "EUR" or locale not in LOCALES:
        raise unsupported("a currency or locale that Kohort's validation refuses")
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise unsupported("metadata that Kohort's validation refuses")
    if body.get("customerIp") is not None:
        try:
            ip = str(ipaddress.ip_address(body["customerIp"]))
        except ValueError:
            raise unsupported("a customerIp that Kohort's validation refuses") from None
    return Purchase(
        amount=amount_of(body.get("amount"), minimum=1),
        code=body["paymentGroupShareId"].strip(),
        email=email_of(body["customerEmail"]),
        first_name=first.strip(),
        last_name=last.strip(),
        locale=locale,
        ip=ip,
        device=body.get("deviceFingerprint"),
        payment=body.get("paymentFingerprint"),
        reference=body.get("paymentReference"),
        metadata=metadata,
    )


def _missing(param: str) -> Refusal:
    return Refusal(
        400,
        "VALIDATION_ERROR",
        "Give customerId, or customerEmail with customerFirstName and customerLastName.",
        param,
    )


def application_fee(amount: int, fee_hundredths: int) -> int:
    """Kohort's `application_fee` in integers: the fee half-up, then VAT on it half-up."""
    fee = (amount * fee_hundredths + 5000) // 10000
    return fee + (fee * VAT_PERCENT + 50) // 100


async def join(db: Database, caller: Caller, purchase: Purchase) -> dict[str, Any]:
    return await db.write(lambda tx: _join(tx, caller, purchase, datetime.now(UTC)))


@dataclass(frozen=True)
class Buyer:
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None


async def _join(tx: Tx, caller: Caller, purchase: Purchase, now: datetime) -> dict[str, Any]:
    organization = await tx.one(ORGANIZATION, (caller.organization_id,))
    settings = await tx.one(SETTINGS, (caller.organization_id, caller.livemode))
    assert organization is not None and settings is not None
    if purchase.amount < settings[0]:
        raise Refusal(
            400,
            "AMOUNT_TOO_LOW",
            f"The amount {purchase.amount} is below the minimum purchase value {settings[0]}.",
            "amount",
        )
    events: list[tuple[str, dict[str, Any]]] = []
    buyer = await _buyer(tx, caller, purchase, events)
    email_key = buyer.email.strip().lower()
    stamp = stored_time(now)
    by_id, params = scope(caller, purchase.code)
    sql = MEMBERSHIP_BY_ID if by_id else MEMBERSHIP_BY_CODE
    group = await tx.one(sql, (stamp, email_key, *params))
    if group is None:
        raise unsupported("a code Kohort does not find (the order would open its own group)")
    try:
        check_joinable(group, buyer.email)
        check_amount(group, purchase.amount)
    except Refusal as refusal:
        raise unsupported(
            f"a join Kohort refuses ({refusal.code}): it opens the order's group"
        ) from None
    await tx.all(MEMBERS, (group[0], "CANCELED"))
    if purchase.ip is not None:
        since = stored_time(now - timedelta(minutes=BURST_MINUTES))
        await tx.one(FROM_IP, (caller.organization_id, caller.livemode, purchase.ip, since))
    action = json_of(settings[1]).get("LOW", "allow")
    if action == "refuse":
        raise unsupported("a policy that refuses LOW joins")
    due = stored_time(now + timedelta(days=settings[2])) if action == "review" else None
    seat = await tx.one(SEAT, (stamp, group[0], stamp))
    if seat is None:
        raise unsupported("a seat taken by a concurrent join (Kohort opens the order's group)")
    if seat[19] >= seat[20]:
        raise unsupported("a join that fills the group (Kohort completes it)")
    fee = application_fee(purchase.amount, organization[0])
    order = _order(caller, purchase, buyer, seat, fee=fee, stamp=stamp, due=due)
    await tx.run(INSERT_ORDER, _order_row(order, email_key, stamp=stamp, due=due))
    events.append(("order.created", order))
    if due is not None:
        events.append(("order.review_required", order))
    joined = group_read(seat)
    events.append(("payment_group.joined", joined))
    thresholds = {
        int(level["participantsToUnlock"]) for level in json_of(seat[21])["discountLevels"]
    }
    if seat[19] in thresholds:
        events.append(("payment_group.level_unlocked", joined))
    await _append(tx, caller, events)
    return order


async def _buyer(
    tx: Tx, caller: Caller, purchase: Purchase, events: list[tuple[str, dict[str, Any]]]
) -> Buyer:
    """The customer of the purchase's e-mail, or a new one (and its `customer.created`)."""
    key = purchase.email.strip().lower()
    found = await tx.one(CUSTOMER, (caller.organization_id, caller.livemode, key))
    if found is not None:
        if found[6] is not None:
            raise unsupported("a soft-deleted customer (Kohort restores it)")
        if found[5]:
            raise Refusal(400, "CUSTOMER_BLOCKED", f"Customer {found[0]} is blocked.", "customerId")
        return Buyer(found[0], found[1], found[2], found[3], found[4])
    stamp, customer_id = stored_time(datetime.now(UTC)), new_id("cus")
    customer: dict[str, Any] = {
        "id": customer_id,
        "livemode": caller.livemode,
        "organizationId": caller.organization_id,
        "emailAddress": purchase.email,
        "firstName": purchase.first_name,
        "lastName": purchase.last_name,
        "phoneNumber": None,
        "locale": purchase.locale,
        "isBlocked": False,
        "blockedAt": None,
        "blockedBy": None,
        "clientReferenceId": None,
        "metadata": {},
        "deletedAt": None,
        "createdAt": api_time(stamp),
        "createdBy": caller.key_id,
        "updatedAt": api_time(stamp),
        "updatedBy": caller.key_id,
    }
    row = (
        customer_id,
        caller.organization_id,
        caller.livemode,
        purchase.email,
        key,
        purchase.first_name,
        purchase.last_name,
        None,
        purchase.locale,
        False,
        None,
        None,
        None,
        "{}",
        None,
        stamp,
        caller.key_id,
        stamp,
        caller.key_id,
    )
    await tx.run(INSERT_CUSTOMER, row)
    events.append(("customer.created", customer))
    return Buyer(customer_id, purchase.email, purchase.first_name, purchase.last_name, None)


def _order(
    caller: Caller,
    purchase: Purchase,
    buyer: Buyer,
    seat: Row,
    *,
    fee: int,
    stamp: str,
    due: str | None,
) -> dict[str, Any]:
    """`OrderRead` of the joining order."""
    return {
        "id": new_id("ord"),
        "livemode": caller.livemode,
        "organizationId": caller.organization_id,
        "amount": purchase.amount,
        "amountCashback": None,
        "amountRefunded": 0,
        "applicationFeeAmount": fee,
        "currency": "EUR",
        "locale": purchase.locale,
        "status": "CREATED",
        "paymentReference": purchase.reference,
        "canceledAt": None,
        "customerId": buyer.id,
        "customerEmail": buyer.email,
        "customerFirstName": buyer.first_name,
        "customerLastName": buyer.last_name,
        "customerPhoneNumber": buyer.phone,
        "paymentGroupId": seat[0],
        "paymentGroupShareId": seat[1],
        "clientReferenceId": None,
        "riskLevel": "LOW",
        "riskReasons": [],
        "customerIp": purchase.ip,
        "deviceFingerprint": purchase.device,
        "paymentFingerprint": purchase.payment,
        "reviewStatus": None if due is None else "PENDING",
        "reviewDueAt": api_time(due),
        "reviewedAt": None,
        "reviewedBy": None,
        "joinError": None,
        "metadata": purchase.metadata,
        "createdAt": api_time(stamp),
        "createdBy": caller.key_id,
        "updatedAt": api_time(stamp),
        "updatedBy": caller.key_id,
        "ambassadorId": None,
    }


def _order_row(
    order: dict[str, Any], email_key: str, *, stamp: str, due: str | None
) -> tuple[Any, ...]:
    """The orders row of `order`; `stamp` and `due` its stored times."""
    return (
        order["id"],
        order["livemode"],
        order["organizationId"],
        order["amount"],
        None,
        0,
        order["applicationFeeAmount"],
        "EUR",
        order["locale"],
        "CREATED",
        order["paymentReference"],
        None,
        order["customerId"],
        order["customerEmail"],
        email_key,
        order["customerFirstName"],
        order["customerLastName"],
        order["customerPhoneNumber"],
        order["paymentGroupId"],
        order["paymentGroupShareId"],
        None,
        "LOW",
        "[]",
        order["customerIp"],
        order["deviceFingerprint"],
        order["paymentFingerprint"],
        order["reviewStatus"],
        due,
        None,
        None,
        "null",
        json.dumps(order["metadata"]),
        stamp,
        order["createdBy"],
        stamp,
        order["updatedBy"],
    )


async def _append(tx: Tx, caller: Caller, events: list[tuple[str, dict[str, Any]]]) -> None:
    """The events in one INSERT, in order; `data` as Kohort's JSON columns write it."""
    stamp = stored_time(datetime.now(UTC))
    params: list[Any] = []
    for kind, data in events:
        params += [new_id("evt"), kind, caller.organization_id, caller.livemode, json.dumps(data)]
        params.append(stamp)
    await tx.run(INSERT_EVENTS[len(events)], tuple(params))

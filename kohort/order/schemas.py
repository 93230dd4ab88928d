"""Orders: what the shop registers and refunds. The member record itself (`OrderRead`) is
the group's (kohort.group.schemas): an order references its group, not the other way."""

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, EmailStr, Field

from kohort.customer.schemas import CustomerRead, Locale, Name, PhoneIn
from kohort.group.schemas import GroupRead, JoinError, OrderRead, OrderStatus
from kohort.http.schemas import (
    JSONInt,
    MetadataIn,
    RequestModel,
    ResponseModel,
    Text,
    Timestamp,
)
from kohort.organization.schemas import OrganizationRead

__all__ = [
    "JoinError",
    "OrderCreate",
    "OrderExpandable",
    "OrderRead",
    "OrderStatus",
    "PaymentIntentRefundCreate",
    "RefundCreate",
    "RefundRead",
]
MAX_AMOUNT = 10**12
"""Ten billion euros in cents: far above any order, far below a BIGINT."""


def _check_printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable characters only")
    return value


PaymentReference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="The shop's payment id, e.g. the Stripe PaymentIntent `pi_…` that the "
        "`stripe_refund` payout refunds; printable characters, trimmed.",
        examples=["pi_3MtwBwLkdIwHu7ix28a3tqPa"],
    ),
    AfterValidator(_check_printable),
]


class OrderExpandable(OrderRead):
    """An order; `customer`, `paymentGroup` and `organization` appear only with `expand[]`."""

    customer: CustomerRead | None = None
    payment_group: GroupRead | None = None
    organization: OrganizationRead | None = None


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


CustomerIp = Annotated[
    str,
    Field(
        max_length=45,
        description="The buyer's IP address, for the risk signals (same address, bursts).",
        examples=["203.0.113.7"],
    ),
    AfterValidator(_ip),
]
Fingerprint = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=255,
        description="An opaque fingerprint (the shop's device id, the card's Stripe "
        "`fingerprint`): two members with the same one raise the order's risk.",
    ),
]
CustomerIdIn = Annotated[str, Field(max_length=64)]
ShareCodeIn = Annotated[Text, Field(max_length=64)]
ClientReferenceId = Annotated[Text, Field(min_length=1, max_length=255)]
"""The shop's order id: unique per organization and mode."""


class OrderCreate(RequestModel):
    amount: Annotated[JSONInt, Field(gt=0, le=MAX_AMOUNT)]
    currency: Literal["EUR"] = "EUR"
    customer_id: CustomerIdIn | None = None
    customer_email: Annotated[EmailStr, Field(max_length=254)] | None = None
    customer_first_name: Name | None = None
    customer_last_name: Name | None = None
    customer_phone_number: PhoneIn | None = None
    payment_group_share_id: ShareCodeIn | None = None
    client_reference_id: ClientReferenceId | None = None
    payment_reference: PaymentReference | None = None
    locale: Locale = "fr_FR"
    metadata: MetadataIn | None = None
    customer_ip: CustomerIp | None = None
    device_fingerprint: Fingerprint | None = None
    payment_fingerprint: Fingerprint | None = None


class RefundCreate(RequestModel):
    amount: Annotated[JSONInt, Field(gt=0, le=MAX_AMOUNT)] | None = Field(
        default=None,
        description="Cents to refund; omitted: everything left (`amount - amountRefunded`).",
    )
    reason: Annotated[Text, Field(max_length=500)] | None = None
    metadata: MetadataIn | None = None


class PaymentIntentRefundCreate(RefundCreate):
    """KohortPay's `POST /refunds`: the order is named by its payment intent (`pi_X` is
    `ord_X`)."""

    payment_intent_id: Annotated[str, Field(max_length=64, examples=["pi_0123456789abcd"])]


class RefundRead(ResponseModel):
    id: str = Field(examples=["re_0123456789abcd"])
    livemode: bool
    organization_id: str
    order_id: str
    payment_intent_id: str = Field(description="The order as KohortPay's payment intent.")
    amount: int = Field(description="Cents refunded.")
    currency: Literal["EUR"]
    status: Literal["SUCCEEDED"]
    reason: str | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    created_at: Timestamp
    created_by: str | None
    order: OrderRead = Field(description="The order right after the refund.")

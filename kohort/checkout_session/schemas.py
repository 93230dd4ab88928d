"""Checkout sessions (KohortPay's `cs_…`): a paid order registered with its line items.

The fields a session shares with an order have the order's types (`OrderCreate`), so the
rules stay one: the session's order is built from them and registered by `create_order`."""

from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasChoices, Field, model_validator

from kohort.customer.schemas import Email, Locale, Name, PhoneIn
from kohort.http.schemas import (
    JSONInt,
    MetadataIn,
    RequestModel,
    ResponseModel,
    Text,
    Timestamp,
    TimestampIn,
)
from kohort.order.schemas import (
    MAX_AMOUNT,
    ClientReferenceId,
    CustomerIdIn,
    CustomerIp,
    Fingerprint,
    JoinError,
    PaymentReference,
    ShareCodeIn,
)
from kohort.risk.schemas import ReviewStatus, RiskLevel

CheckoutSessionStatus = Literal["COMPLETED", "EXPIRED"]
LineItemType = Literal["PRODUCT", "GIFT_CARD", "DISCOUNT", "SHIPPING", "STORE_CREDIT"]
CREDIT_TYPES = frozenset({"DISCOUNT", "GIFT_CARD", "STORE_CREDIT"})
"""The line items that lower what the shopper pays: their price may be negative."""
MAX_LINE_ITEMS = 100
MAX_QUANTITY = 1_000_000


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


HttpUrlIn = Annotated[Text, Field(max_length=2048), AfterValidator(_check_http_url)]
"""An absolute http(s) URL, ≤ 2048 characters."""


class LineItem(RequestModel):
    """One line of the cart. Not checked against `amountTotal` (shops add shipping, rounding)."""

    name: Annotated[Text, Field(min_length=1, max_length=255)]
    price: Annotated[
        JSONInt,
        Field(
            ge=-MAX_AMOUNT,
            le=MAX_AMOUNT,
            description="Unit price in cents; negative only for DISCOUNT, GIFT_CARD and "
            "STORE_CREDIT.",
        ),
    ]
    quantity: Annotated[
        JSONInt, Field(ge=1, le=MAX_QUANTITY, description="1 for any type but PRODUCT.")
    ] = 1
    image_url: HttpUrlIn | None = None
    description: Annotated[str, Field(max_length=1000)] | None = None
    type: LineItemType = "PRODUCT"

    @model_validator(mode="after")
    def _check_type_rules(self) -> Self:
        if self.price < 0 and self.type not in CREDIT_TYPES:
            raise ValueError(
                f"price: a {self.type} line item cannot have a negative price "
                "(only DISCOUNT, GIFT_CARD and STORE_CREDIT can)"
            )
        if self.quantity != 1 and self.type != "PRODUCT":
            raise ValueError(f"quantity: a {self.type} line item has quantity 1")
        return self


class CheckoutSessionCreate(RequestModel):
    """A paid order with its cart. The fields shared with `POST /orders` follow its rules."""

    amount_total: Annotated[JSONInt, Field(gt=0, le=MAX_AMOUNT)]
    currency: Literal["EUR"] = "EUR"
    line_items: Annotated[list[LineItem], Field(default_factory=list, max_length=MAX_LINE_ITEMS)]
    customer_id: CustomerIdIn | None = None
    customer_email: Email | None = None
    customer_first_name: Name | None = None
    customer_last_name: Name | None = None
    customer_phone_number: PhoneIn | None = None
    success_url: HttpUrlIn | None = None
    cancel_url: HttpUrlIn | None = None
    expires_at: TimestampIn | None = None
    locale: Locale = "fr_FR"
    metadata: MetadataIn | None = None
    client_reference_id: ClientReferenceId | None = None
    payment_client_reference_id: PaymentReference | None = None
    payment_group_share_id: ShareCodeIn | None = None
    customer_ip: CustomerIp | None = None
    device_fingerprint: Fingerprint | None = None
    payment_fingerprint: Fingerprint | None = None


class LineItemRead(ResponseModel):
    name: str
    price: int
    quantity: int
    image_url: str | None
    description: str | None
    type: LineItemType


class CheckoutSessionRead(ResponseModel):
    id: str = Field(examples=["cs_0123456789abcd"])
    livemode: bool
    organization_id: str
    status: CheckoutSessionStatus = Field(
        description="COMPLETED at creation (Kohort takes no payment), or EXPIRED."
    )
    amount_total: int
    currency: Literal["EUR"]
    locale: Locale
    url: str = Field(
        description="Where to send the shopper: `successUrl`, else the group's share page."
    )
    line_items: list[LineItemRead]
    customer_id: str
    customer_email: str
    customer_first_name: str | None
    customer_last_name: str | None
    customer_phone_number: str | None
    payment_intent_id: str = Field(
        description="The session's order as a payment intent (`pi_…`).",
        examples=["pi_0123456789abcd"],
    )
    payment_group_id: str | None
    payment_group_share_id: str | None = Field(
        description="The code of the group the order is in now: the one the shopper shares "
        "(null when the month's cashback budget was used up: the order opened none)."
    )
    join_error: JoinError | None
    risk_level: RiskLevel | None = Field(description="The session's order's `riskLevel`.")
    review_status: ReviewStatus | None = Field(
        description="The session's order's `reviewStatus`: PENDING when its cashback is held."
    )
    client_reference_id: str | None
    payment_client_reference_id: str | None
    success_url: str | None
    cancel_url: str | None
    expires_at: Timestamp | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    created_at: Timestamp
    created_by: str | None
    updated_at: Timestamp
    updated_by: str | None


def stored_line_items(items: list[LineItem]) -> list[dict[str, Any]]:
    """The line items as stored and returned: every field, defaults filled, camelCase keys."""
    return [item.model_dump(mode="json", by_alias=True) for item in items]

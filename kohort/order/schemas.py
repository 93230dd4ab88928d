"""Orders: what the shop registers, and the member record of a group."""

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, EmailStr, Field

from kohort.customer.schemas import CustomerRead, Locale, Name, PhoneIn
from kohort.http.schemas import (
    JSONInt,
    MetadataIn,
    RequestModel,
    ResponseModel,
    Text,
    Timestamp,
)
from kohort.organization.schemas import OrganizationRead

if TYPE_CHECKING:
    from kohort.group.schemas import GroupRead

OrderStatus = Literal[
    "CREATED", "CASHBACK_AVAILABLE", "CASHBACK_PROCESSING", "CASHBACK_SENT", "CANCELED"
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


class JoinError(BaseModel):
    code: Literal[
        "NOT_FOUND",
        "COMPLETED_EXPIRED_CANCELED",
        "MAX_PARTICIPANTS_REACHED",
        "EMAIL_ALREADY_USED",
        "AMOUNT_TOO_LOW",
    ]
    message: str


class OrderRead(ResponseModel):
    id: str = Field(examples=["ord_0123456789abcd"])
    livemode: bool
    organization_id: str
    amount: int
    amount_cashback: int | None = Field(
        description="The member's cashback in cents, set when the group completes."
    )
    application_fee_amount: int = Field(
        description="What the merchant owes for this order (joiners only), VAT included."
    )
    currency: Literal["EUR"]
    locale: Locale
    status: OrderStatus
    payment_reference: str | None = Field(
        description="The shop's payment id (a Stripe PaymentIntent `pi_…`), as registered."
    )
    canceled_at: Timestamp | None = Field(
        description="When the shop canceled the order (`POST /orders/{id}/cancel`)."
    )
    customer_id: str
    customer_email: str
    customer_first_name: str | None
    customer_last_name: str | None
    customer_phone_number: str | None
    payment_group_id: str
    payment_group_share_id: str
    client_reference_id: str | None
    risk_level: str | None
    join_error: JoinError | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    created_at: Timestamp
    created_by: str | None
    updated_at: Timestamp
    updated_by: str | None


class OrderExpandable(OrderRead):
    """An order; `customer`, `paymentGroup` and `organization` appear only with `expand[]`."""

    customer: CustomerRead | None = None
    payment_group: "GroupRead | None" = None
    organization: OrganizationRead | None = None


class OrderCreate(RequestModel):
    amount: Annotated[JSONInt, Field(gt=0, le=MAX_AMOUNT)]
    currency: Literal["EUR"] = "EUR"
    customer_id: Annotated[str, Field(max_length=64)] | None = None
    customer_email: Annotated[EmailStr, Field(max_length=254)] | None = None
    customer_first_name: Name | None = None
    customer_last_name: Name | None = None
    customer_phone_number: PhoneIn | None = None
    payment_group_share_id: Annotated[Text, Field(max_length=64)] | None = None
    client_reference_id: Annotated[Text, Field(min_length=1, max_length=255)] | None = None
    payment_reference: PaymentReference | None = None
    locale: Locale = "fr_FR"
    metadata: MetadataIn | None = None


from kohort.group.schemas import GroupRead  # noqa: E402

OrderExpandable.model_rebuild()

"""The Group object of the seed page, field for field, plus `participantsCount`; and the
member record of a group, `OrderRead`.

An order is a group's membership: its read shape lives here, with the group, so that the
group lifecycle (open, join, leave, end, cashback) needs nothing of kohort.order, which
imports from here and never the other way."""

from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, EmailStr, Field

from kohort.customer.schemas import CustomerRead, Locale
from kohort.group_settings.schemas import DiscountLevelRead, PaymentGroupSettingsRead
from kohort.http.schemas import (
    JSONInt,
    MetadataIn,
    RequestModel,
    ResponseModel,
    Timestamp,
    TimestampIn,
)
from kohort.organization.schemas import OrganizationRead
from kohort.risk.schemas import ReviewStatus, RiskLevel, RiskReason

GroupStatus = Literal["OPEN", "COMPLETED", "CANCELED", "EXPIRED"]
ReminderStatus = Literal["NOT_SENT", "MIDWAY_SENT", "DAY3_SENT", "DAY2_BEFORE_END_SENT"]
DiscountType = Literal["PERCENTAGE", "AMOUNT"]
OrderStatus = Literal[
    "CREATED",
    "CASHBACK_ON_HOLD",
    "CASHBACK_AVAILABLE",
    "CASHBACK_PROCESSING",
    "CASHBACK_SENT",
    "CASHBACK_REJECTED",
    "CANCELED",
]


class JoinError(BaseModel):
    code: Literal[
        "NOT_FOUND",
        "COMPLETED_EXPIRED_CANCELED",
        "MAX_PARTICIPANTS_REACHED",
        "EMAIL_ALREADY_USED",
        "AMOUNT_TOO_LOW",
        "RISK_REFUSED",
        "BUDGET_EXHAUSTED",
    ]
    message: str


class OrderRead(ResponseModel):
    """An order: a paid purchase and its membership of a group (the database composes this
    object for the worker's events, kohort.event.sql_objects)."""

    id: str = Field(examples=["ord_0123456789abcd"])
    livemode: bool
    organization_id: str
    amount: int
    amount_cashback: int | None = Field(
        description="The member's cashback in cents, set when the group completes."
    )
    amount_refunded: int = Field(
        description="The sum of the order's refunds in cents; cashback is computed on "
        "`amount - amountRefunded`."
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
    payment_group_id: str | None = Field(
        description="The group the order is in; null only when it opened none because the "
        "month's cashback budget was used up (`joinError` BUDGET_EXHAUSTED)."
    )
    payment_group_share_id: str | None
    client_reference_id: str | None
    risk_level: RiskLevel | None = Field(
        description="The order's risk when it joined or opened its group; null before "
        "risk scoring existed."
    )
    risk_reasons: list[RiskReason] = Field(description="Why `riskLevel`, strongest first.")
    customer_ip: str | None = Field(description="The buyer's IP address, as the shop sent it.")
    device_fingerprint: str | None
    payment_fingerprint: str | None
    review_status: ReviewStatus | None = Field(
        description="PENDING: its cashback is held until the merchant decides or "
        "`reviewDueAt`; APPROVED or REJECTED once decided; null when the policy allowed it."
    )
    review_due_at: Timestamp | None
    reviewed_at: Timestamp | None
    reviewed_by: str | None
    join_error: JoinError | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    created_at: Timestamp
    created_by: str | None
    updated_at: Timestamp
    updated_by: str | None
    ambassador_id: None = Field(
        default=None,
        description="Always null: Kohort has no ambassador codes (KohortPay's clients read "
        "the key on orders and participants).",
    )


class GroupRead(ResponseModel):
    id: str = Field(examples=["pg_0123456789abcd"])
    share_id: str = Field(examples=["KHT-1A2B3C4D"])
    livemode: bool
    organization_id: str
    customer_id: str
    creator_email: str
    status: GroupStatus
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    expires_at: Timestamp
    mid_expire_at: Timestamp | None
    j_minus2_expire_at: Timestamp | None
    j_plus3_start_at: Timestamp | None
    reminder_email_sent: ReminderStatus
    created_at: Timestamp
    created_by: str | None
    updated_at: Timestamp
    updated_by: str | None
    canceled_at: Timestamp | None
    completed_at: Timestamp | None
    participants_count: int


class GroupPublicRead(ResponseModel):
    """What a publishable key may see: the settings snapshot, status, dates and counts."""

    id: str
    share_id: str
    livemode: bool
    organization_id: str
    status: GroupStatus
    participants_count: int
    max_participants: int
    expires_at: Timestamp
    mid_expire_at: Timestamp | None
    j_minus2_expire_at: Timestamp | None
    j_plus3_start_at: Timestamp | None
    created_at: Timestamp
    canceled_at: Timestamp | None
    completed_at: Timestamp | None
    payment_group_settings: PaymentGroupSettingsRead = Field(
        validation_alias=AliasChoices("settings", "payment_group_settings", "paymentGroupSettings")
    )


class GroupExpandable(GroupRead):
    """A group; `orders`, `customer`, `paymentGroupSettings` and `organization` appear only
    when asked with `expand[]`."""

    orders: list[OrderRead] | None = None
    customer: CustomerRead | None = None
    payment_group_settings: PaymentGroupSettingsRead | None = None
    organization: OrganizationRead | None = None


class _ValidationExtras(ResponseModel):
    payment_group_id: str
    discount_type: DiscountType
    discount_levels: list[DiscountLevelRead]
    max_participants: int
    minutes_duration: int
    min_purchase_value: int
    current_discount_level: DiscountLevelRead | None = Field(
        description="The level the group reaches if the caller joins."
    )
    next_discount_level: DiscountLevelRead | None = Field(
        description="The level after that one, or null."
    )


class GroupValidation(_ValidationExtras, GroupRead):
    """A code checked before checkout: the group, its rules, and what joining would unlock."""


class GroupPublicValidation(_ValidationExtras, GroupPublicRead):
    """The validation object for a publishable key: public group fields only."""


class GroupValidate(RequestModel):
    customer_email: Annotated[EmailStr, Field(max_length=254)] | None = None
    amount: Annotated[JSONInt, Field(ge=0, le=10**12)] | None = None


class GroupCreate(RequestModel):
    """`orderId` or `paymentIntentId` (KohortPay's name of the same order: `pi_X` is
    `ord_X`) names the order; one of them is required."""

    customer_id: Annotated[str, Field(max_length=64)]
    order_id: Annotated[str, Field(max_length=64)] | None = None
    payment_intent_id: Annotated[str, Field(max_length=64)] | None = None
    metadata: MetadataIn | None = None
    expires_at: TimestampIn | None = None


class GroupUpdate(RequestModel):
    metadata: MetadataIn | None = None
    creator_email: Annotated[EmailStr, Field(max_length=254)] | None = None

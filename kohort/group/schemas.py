"""The Group object of the seed page, field for field, plus `participantsCount`."""

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AliasChoices, EmailStr, Field

from kohort.customer.schemas import CustomerRead
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

if TYPE_CHECKING:
    from kohort.order.schemas import OrderRead

GroupStatus = Literal["OPEN", "COMPLETED", "CANCELED", "EXPIRED"]
ReminderStatus = Literal["NOT_SENT", "MIDWAY_SENT", "DAY3_SENT", "DAY2_BEFORE_END_SENT"]
DiscountType = Literal["PERCENTAGE", "AMOUNT"]


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

    orders: "list[OrderRead] | None" = None
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
    customer_id: Annotated[str, Field(max_length=64)]
    order_id: Annotated[str, Field(max_length=64)]
    metadata: MetadataIn | None = None
    expires_at: TimestampIn | None = None


class GroupUpdate(RequestModel):
    metadata: MetadataIn | None = None
    creator_email: Annotated[EmailStr, Field(max_length=254)] | None = None


from kohort.order.schemas import OrderRead  # noqa: E402

GroupExpandable.model_rebuild()

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, WithJsonSchema

from kohort.http.schemas import JSONInt, RequestModel, ResponseModel, Timestamp

DiscountType = Literal["PERCENTAGE", "AMOUNT"]

MAX_LEVELS = 5
MIN_PARTICIPANTS = 2
MAX_PARTICIPANTS = 1000
MAX_MINUTES_DURATION = 129_600
MAX_MONEY = 2**53 - 1
"""Largest amount in cents: exact in a JSON (IEEE double) number, far inside BIGINT."""

LevelValue = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float),
    WithJsonSchema({"type": "number", "example": 10.0}),
]
"""A level's value: percent, or whole currency units; at most 2 decimals, a JSON number."""


class DiscountLevelRead(ResponseModel):
    id: str = Field(examples=["dlev_0123456789abcd"])
    level: int = Field(examples=[1])
    value: LevelValue
    participants_to_unlock: int = Field(examples=[2])


class PaymentGroupSettingsRead(ResponseModel):
    id: str = Field(examples=["pgset_0123456789abcd"])
    livemode: bool
    discount_type: DiscountType
    discount_levels: list[DiscountLevelRead]
    max_participants: int = Field(examples=[15])
    minutes_duration: int = Field(examples=[129_600])
    min_purchase_value: int = Field(examples=[0], description="In cents.")
    created_at: Timestamp
    updated_at: Timestamp


class DiscountLevelIn(RequestModel):
    """One level of a `discountLevels` list; the rules across levels are checked by the
    service, which names the offending item (`discountLevels[1].value`)."""

    participants_to_unlock: JSONInt = Field(
        json_schema_extra={"minimum": MIN_PARTICIPANTS, "maximum": MAX_PARTICIPANTS}
    )
    value: Decimal = Field(
        description="Percent (PERCENTAGE, ≤ 100) or whole currency units (AMOUNT); "
        "at most 2 decimals; > 0 and strictly increasing.",
        json_schema_extra={"exclusiveMinimum": 0},
    )
    level: JSONInt | None = Field(
        default=None,
        description="Optional; when given, must be the item's position (1..n).",
        json_schema_extra={"minimum": 1, "maximum": MAX_LEVELS},
    )


class PaymentGroupSettingsUpdate(RequestModel):
    """Any of the settings; `discountLevels` replaces the whole list."""

    discount_type: DiscountType | None = None
    discount_levels: (
        Annotated[list[DiscountLevelIn], Field(min_length=1, max_length=MAX_LEVELS)] | None
    ) = None
    max_participants: Annotated[JSONInt, Field(ge=MIN_PARTICIPANTS, le=MAX_PARTICIPANTS)] | None = (
        None
    )
    minutes_duration: Annotated[JSONInt, Field(ge=1, le=MAX_MINUTES_DURATION)] | None = None
    min_purchase_value: Annotated[JSONInt, Field(ge=0, le=MAX_MONEY)] | None = None

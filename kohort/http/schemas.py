"""Wire-format building blocks: camelCase out, camelCase or snake_case in, UTC timestamps."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC to the millisecond, with `Z` (e.g. 2021-07-22T00:00:00.000Z)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def _as_utc(value: datetime) -> datetime:
    """Naive means UTC; an offset that moves the moment past year 1 or 9999 is refused."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2021-07-22T00:00:00.000Z"}
    ),
]
"""A response timestamp: ISO 8601, UTC, milliseconds, `Z`."""

TimestampIn = Annotated[datetime, AfterValidator(_as_utc)]
"""A request timestamp: any ISO 8601 offset; naive means UTC."""

PercentOut = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float),
    WithJsonSchema({"type": "number", "example": 10.0}),
]


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys are allowed")
    for key, item in value.items():
        if not key or len(key) > MAX_METADATA_KEY_LENGTH:
            raise ValueError(f"keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters")
        if len(item) > MAX_METADATA_VALUE_LENGTH:
            raise ValueError(f"values must be at most {MAX_METADATA_VALUE_LENGTH} characters")
    return value


MetadataIn = Annotated[
    dict[
        Annotated[str, Field(max_length=MAX_METADATA_KEY_LENGTH)],
        Annotated[str, Field(max_length=MAX_METADATA_VALUE_LENGTH)],
    ],
    AfterValidator(_check_metadata),
    Field(max_length=MAX_METADATA_KEYS),
]
"""`metadata`: string → string, ≤ 50 keys, key ≤ 40 chars, value ≤ 500 chars."""


CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""C0 (tab, CR and LF included), DEL, C1 and the Unicode line and paragraph separators."""


def has_control_characters(value: str) -> bool:
    return CONTROL_CHARACTERS.search(value) is not None


def _reject_control(value: Any) -> Any:
    if isinstance(value, str) and has_control_characters(value):
        raise ValueError("must be one line of text, without control characters (CR, LF, tab, …)")
    return value


Text = Annotated[str, BeforeValidator(_reject_control)]
"""A single-line text field (a name, a reference, a description): no control characters."""


JSONInt = Annotated[int, Strict()]
"""The API's one integer type (money, counts, durations, levels): a JSON integer only, not
`true`, `"5000"` or `5000.0`."""


class RequestModel(BaseModel):
    """A request body: accepts camelCase and snake_case keys, ignores unknown keys."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        str_strip_whitespace=True,
    )


class ResponseModel(BaseModel):
    """A response body: camelCase keys, every field present."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        serialize_by_alias=True,
        validate_by_name=True,
        from_attributes=True,
    )


class ErrorDetail(BaseModel):
    type: str = Field(examples=["invalid_request_error"])
    code: str = Field(examples=["NOT_FOUND"])
    message: str
    param: str | None
    request_id: str = Field(alias="requestId", examples=["req_0123456789abcdef01234567"])


class ErrorEnvelope(BaseModel):
    """The error envelope of every 4xx and 5xx answer."""

    error: ErrorDetail

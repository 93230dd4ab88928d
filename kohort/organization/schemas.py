import zoneinfo
from decimal import Decimal
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from kohort.http.schemas import PercentOut, RequestModel, ResponseModel, Text, Timestamp


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _known_timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"'{value}' is not an IANA timezone name (e.g. Europe/Paris)")
    return value


Timezone = Annotated[str, Field(max_length=64), AfterValidator(_known_timezone)]

_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _http_url(value: str) -> str:
    """Checked as an http(s) URL but kept as written (pydantic would add a trailing '/')."""
    try:
        _HTTP_URL.validate_python(value)
    except PydanticValidationError:
        raise ValueError("must be an http or https URL, e.g. https://shop.example.com") from None
    return value


WebsiteUrl = Annotated[
    Text, Field(max_length=2048, json_schema_extra={"format": "uri"}), AfterValidator(_http_url)
]


class OrganizationRead(ResponseModel):
    id: str = Field(examples=["org_0123456789abcd"])
    name: str
    slug: str
    website_url: str | None
    timezone: str = Field(examples=["Europe/Paris"])
    acquisition_fee_percent: PercentOut
    from_email_name: str | None
    created_at: Timestamp
    updated_at: Timestamp


class OrganizationUpdate(RequestModel):
    name: Annotated[Text, Field(min_length=1, max_length=255)] | None = None
    website_url: WebsiteUrl | None = None
    timezone: Timezone | None = None
    from_email_name: Annotated[Text, Field(min_length=1, max_length=255)] | None = None


DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_ACQUISITION_FEE_PERCENT = Decimal("10.00")

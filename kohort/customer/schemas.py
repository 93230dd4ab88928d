from typing import Annotated, Literal

import phonenumbers
from pydantic import AliasChoices, EmailStr, Field

from kohort.http.schemas import (
    MetadataIn,
    RequestModel,
    ResponseModel,
    Text,
    Timestamp,
    TimestampIn,
)

Locale = Literal["fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL"]
DEFAULT_LOCALE: Locale = "fr_FR"
_REGION_OF_LOCALE = {
    "fr_FR": "FR",
    "en_US": "US",
    "en_GB": "GB",
    "de_DE": "DE",
    "es_ES": "ES",
    "it_IT": "IT",
    "nl_NL": "NL",
}

Name = Annotated[Text, Field(max_length=255)]
PhoneIn = Annotated[Text, Field(min_length=1, max_length=40)]
Email = Annotated[EmailStr, Field(max_length=254)]


def normalize_phone(raw: str, locale: str | None) -> str:
    """E.164 form of `raw`; national numbers are read in the country of the locale."""
    region = _REGION_OF_LOCALE.get(locale or DEFAULT_LOCALE, "FR")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


class CustomerRead(ResponseModel):
    id: str = Field(examples=["cus_0123456789abcd"])
    livemode: bool
    organization_id: str
    email_address: str
    first_name: str | None
    last_name: str | None
    phone_number: str | None = Field(examples=["+33612345678"])
    locale: Locale
    is_blocked: bool
    blocked_at: Timestamp | None
    blocked_by: str | None
    client_reference_id: str | None
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    deleted_at: Timestamp | None
    created_at: Timestamp
    created_by: str | None
    updated_at: Timestamp
    updated_by: str | None


class CustomerUpdate(RequestModel):
    """Any field of a customer; in a PATCH, `null` clears an optional one."""

    email_address: Email | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    phone_number: PhoneIn | None = None
    locale: Locale | None = None
    client_reference_id: Annotated[Text, Field(max_length=255)] | None = None
    metadata: MetadataIn | None = None


class CustomerCreate(CustomerUpdate):
    email_address: Email


class CustomerPatch(CustomerUpdate):
    """`PATCH /customers/{id}`: any field, and `deletedAt` (a time soft-deletes the customer,
    as `DELETE` does; `null` restores it)."""

    deleted_at: TimestampIn | None = Field(
        default=None,
        description="Any time soft-deletes the customer now (the deletion time is the "
        "server's, as with DELETE); `null` restores a deleted customer.",
    )


class CustomerExpandable(CustomerRead):
    """A customer; `organization` is present only when asked with `expand[]=organization`."""

    organization: "OrganizationRead | None" = None


from kohort.organization.schemas import OrganizationRead  # noqa: E402

CustomerExpandable.model_rebuild()

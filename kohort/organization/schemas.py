import re
import zoneinfo
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, AnyHttpUrl, BeforeValidator, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from kohort.crypto import mask_iban
from kohort.http.schemas import PercentOut, RequestModel, ResponseModel, Text, Timestamp
from kohort.http.versions import ApiVersionName
from kohort.payout_batch.pain001 import TEST_MODE_DEBTOR


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


PayoutMethod = Literal["stripe_refund", "sepa_transfer"]
STRIPE_REFUND: PayoutMethod = "stripe_refund"
DEFAULT_PAYOUT_METHOD: PayoutMethod = "sepa_transfer"
_STRIPE_SECRET_KEY = re.compile(r"^sk_(test|live)_[A-Za-z0-9]{8,247}$")


def _stripe_secret_key(value: str) -> str:
    if not _STRIPE_SECRET_KEY.match(value):
        raise ValueError("must be a Stripe secret key: sk_live_… (or sk_test_…)")
    return value


def _iban(value: str) -> str:
    """Checked (country format, check digits, bank code) and kept compact, upper case."""
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as error:
        raise ValueError(f"is not a valid IBAN ({error})") from None


def _bic(value: str) -> str:
    try:
        return str(BIC(value).compact)
    except SchwiftyException as error:
        raise ValueError(f"is not a valid BIC ({error})") from None


CodePrefix = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9]{2,10}$",
        description="What new share codes start with: 2 to 10 letters or digits (`KHT` by "
        "default; `KHTPAY` for KohortPay's WooCommerce 1.3 module, which recognises only "
        "`khtpay-` coupons). Codes already issued keep theirs.",
        examples=["KHT"],
    ),
]

StripeSecretKey = Annotated[str, Field(max_length=255), AfterValidator(_stripe_secret_key)]
IbanIn = Annotated[Text, Field(max_length=64), AfterValidator(_iban)]
BicIn = Annotated[Text, Field(max_length=16), AfterValidator(_bic)]


class OrganizationRead(ResponseModel):
    id: str = Field(examples=["org_0123456789abcd"])
    name: str
    slug: str
    website_url: str | None
    timezone: str = Field(examples=["Europe/Paris"])
    api_version: ApiVersionName = Field(
        description="The API version of requests whose key and `Kohort-Version` header name none."
    )
    code_prefix: CodePrefix
    acquisition_fee_percent: PercentOut
    from_email_name: str | None
    payout_method: Annotated[
        PayoutMethod, BeforeValidator(lambda v: v or DEFAULT_PAYOUT_METHOD)
    ] = Field(
        description="How cashback is paid in the key's mode: the live setting for a live key; "
        "`sepa_transfer` for a test key (test mode rehearses live mode's default)."
    )
    stripe_secret_key_set: Annotated[bool, BeforeValidator(bool)] = Field(
        validation_alias=AliasChoices("stripe_secret_key_encrypted", "stripe_secret_key_set"),
        description="Whether a Stripe secret key is stored (it is never returned).",
    )
    stripe_secret_key_hint: str | None = Field(examples=["sk_live_…abcd"])
    payout_debtor_name: str | None = Field(
        description="The account SEPA batches are paid from; for a test key, test mode's "
        "simulated one (`Kohort test mode`)."
    )
    payout_debtor_iban_masked: str | None = Field(examples=["FR76 **** **** **** **** **** 189"])
    payout_debtor_bic: str | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def for_mode(cls, organization: object, *, livemode: bool) -> "OrganizationRead":
        """The organization as a key of `livemode` sees it: the payout settings are live
        mode's, so a test key sees test mode's own (SEPA from the simulated debtor account,
        no Stripe key), never them."""
        read = cls.model_validate(organization)
        if livemode:
            return read
        return read.model_copy(update=dict(_TEST_MODE_PAYOUTS))


_TEST_MODE_PAYOUTS = {
    "payout_method": DEFAULT_PAYOUT_METHOD,
    "stripe_secret_key_set": False,
    "stripe_secret_key_hint": None,
    "payout_debtor_name": TEST_MODE_DEBTOR.name,
    "payout_debtor_iban_masked": mask_iban(TEST_MODE_DEBTOR.iban),
    "payout_debtor_bic": TEST_MODE_DEBTOR.bic,
}


class OrganizationUpdate(RequestModel):
    """Every field applies to live mode (what shoppers read, how they are paid): only a live
    secret key may change them."""

    name: Annotated[Text, Field(min_length=1, max_length=255)] | None = None
    website_url: WebsiteUrl | None = None
    timezone: Timezone | None = None
    api_version: ApiVersionName | None = None
    code_prefix: CodePrefix | None = None
    from_email_name: Annotated[Text, Field(min_length=1, max_length=255)] | None = None
    payout_method: PayoutMethod | None = None
    stripe_secret_key: StripeSecretKey | None = None
    payout_debtor_name: Annotated[Text, Field(min_length=1, max_length=140)] | None = None
    payout_debtor_iban: IbanIn | None = None
    payout_debtor_bic: BicIn | None = None


DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_ACQUISITION_FEE_PERCENT = Decimal("10.00")

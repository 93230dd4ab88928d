"""The brand as the API reads and changes it (`GET/PATCH /organizations/{id}/brand`)."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from kohort.http.schemas import RequestModel, ResponseModel, Text
from kohort.organization.schemas import WebsiteUrl

LANGUAGES = ("de", "en", "es", "fr", "it", "nl")
"""The languages of the shopper's pages and e-mails (their seven locales: en_GB and en_US
share English)."""
PLACEHOLDERS = ("code", "shop", "best", "link")
MAX_MESSAGE_LENGTH = 500
_COLOR = re.compile(r"#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")
_BRACED = re.compile(r"\{([^{}]*)\}")
_MESSAGE_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _https_url(value: str) -> str:
    if not value.lower().startswith("https://") or len(value) <= len("https://"):
        raise ValueError("must be an https URL (shoppers' pages are served over https)")
    return value


def _color(value: str) -> str:
    """`#1f5f3a`, `1F5F3A` or `#abc` → `#1F5F3A` / `#AABBCC`."""
    found = _COLOR.fullmatch(value)
    if found is None:
        raise ValueError("must be a colour as #RRGGBB (or #RGB), e.g. #1F5F3A")
    digits = found.group(1).upper()
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return f"#{digits}"


def check_message(value: str) -> str:
    """A share message: its placeholders among PLACEHOLDERS, `{code}` or `{link}` in it."""
    if _MESSAGE_CONTROL.search(value):
        raise ValueError("must be text, with line breaks but no other control characters")
    names = _BRACED.findall(value)
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise ValueError(f"has an unknown placeholder {{{unknown[0]}}}: use {known}")
    if "{" in _BRACED.sub("", value) or "}" in _BRACED.sub("", value):
        raise ValueError("has a brace that opens or closes no placeholder")
    if "code" not in names and "link" not in names:
        raise ValueError("must contain {code} or {link}: the friend needs one of them")
    return value


def _messages(value: dict[str, Any]) -> dict[str, Any]:
    unknown = [language for language in value if language not in LANGUAGES]
    if unknown:
        raise ValueError(f"'{unknown[0]}' is not one of the languages {', '.join(LANGUAGES)}")
    return value


HttpsUrl = Annotated[
    Text, Field(max_length=2048, json_schema_extra={"format": "uri"}), AfterValidator(_https_url)
]
Color = Annotated[
    str,
    Field(max_length=7, examples=["#1F5F3A"], description="#RRGGBB (#RGB is accepted)."),
    AfterValidator(_color),
]
ShareMessage = Annotated[
    str, Field(min_length=1, max_length=MAX_MESSAGE_LENGTH), AfterValidator(check_message)
]


class BrandRead(ResponseModel):
    display_name: str | None = Field(
        description="The name shoppers read; null: `fromEmailName`, else the organization's name."
    )
    shop_name: str = Field(description="The name shown now (displayName or its fallbacks).")
    logo_url: str | None = Field(
        description="An https URL: the shop's own, or Kohort's for an uploaded logo."
    )
    social_image_url: str | None = Field(
        description="The picture of link previews (Open Graph, Twitter cards)."
    )
    brand_color: str | None = Field(examples=["#1F5F3A"], description="null: Kohort's green.")
    color: str = Field(description="The colour used (brandColor, else the default).")
    text_color: str = Field(
        description="The text on `color`: black or white, whichever contrasts more (at least "
        "4.5:1, WCAG AA)."
    )
    accent_color: str = Field(
        description="`color` darkened where needed to read at least 4.5:1 on white (links, "
        "figures)."
    )
    website_url: str | None = Field(description="Where an invited friend goes to buy.")
    share_messages: dict[str, str] = Field(
        description="The shop's own share message per language; the others use Kohort's."
    )


class BrandUpdate(RequestModel):
    """Every field applies to both modes' shopper pages (live mode's, so a live key's)."""

    display_name: Annotated[Text, Field(min_length=1, max_length=80)] | None = None
    logo_url: HttpsUrl | None = None
    social_image_url: HttpsUrl | None = None
    brand_color: Color | None = None
    website_url: WebsiteUrl | None = None
    share_messages: Annotated[dict[str, ShareMessage | None], AfterValidator(_messages)] | None = (
        Field(
            default=None,
            description="Merged into the stored messages: a language set to null goes back to "
            "Kohort's message; the whole field null removes them all. Placeholders: {code}, "
            "{shop}, {best} (the best cashback), {link} (the invite link).",
        )
    )

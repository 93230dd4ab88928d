from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

import httpx
from pydantic import AfterValidator, AliasChoices, Field

from kohort.http.schemas import MetadataIn, RequestModel, ResponseModel, Text, Timestamp
from kohort.http.versions import ApiVersionName

TEST_EVENT = "webhook.test"
"""Sent by `POST /webhooks/{id}/test` to that endpoint only; no subscription needed."""
ALL_EVENTS = "*"

EventType = Literal[
    "*",
    "order.created",
    "order.cashback_available",
    "order.cashback_processing",
    "order.cashback_sent",
    "order.canceled",
    "order.refunded",
    "order.review_required",
    "order.review_resolved",
    "payment_group.created",
    "payment_group.joined",
    "payment_group.level_unlocked",
    "payment_group.succeeded",
    "payment_group.expired",
    "payment_group.canceled",
    "payment_group.reminder_due",
    "customer.created",
    "customer.updated",
    "budget.threshold_reached",
    "webhook_endpoint.disabled",
]
EVENT_TYPES: tuple[str, ...] = tuple(t for t in get_args(EventType) if t != ALL_EVENTS)
"""The event types an endpoint can subscribe to (`*`: all of them)."""
DeliveryStatus = Literal["pending", "succeeded", "failed"]
MAX_URL_LENGTH = 2048


def _check_url(value: str) -> str:
    """An absolute http(s) URL with a host; the mode's rules are checked by the service."""
    if any(c.isspace() for c in value):
        raise ValueError("must not contain whitespace")
    try:
        parts = urlsplit(value)
        port = parts.port
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL):
        raise ValueError("is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if port == 0:
        raise ValueError("must not use port 0")
    return value


def _check_events(value: list[str]) -> list[str]:
    unique = list(dict.fromkeys(value))
    if ALL_EVENTS in unique and len(unique) > 1:
        raise ValueError("'*' subscribes to every type; give it alone")
    return unique


Url = Annotated[Text, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_check_url)]
Events = Annotated[
    list[EventType],
    Field(min_length=1, max_length=50),
    AfterValidator(_check_events),
]
Description = Annotated[Text, Field(max_length=500)]


class WebhookEndpointRead(ResponseModel):
    id: str = Field(examples=["we_0123456789abcd"])
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    livemode: bool
    organization_id: str
    url: str = Field(examples=["https://shop.example.com/kohort/webhooks"])
    description: str | None
    events: list[str] = Field(examples=[["payment_group.succeeded", "order.cashback_available"]])
    is_active: bool
    metadata: dict[str, str] = Field(validation_alias=AliasChoices("metadata_", "metadata"))
    api_version: ApiVersionName | None = Field(
        description="The API version of its deliveries, named in their `Kohort-Version` header "
        "(`null`: the current one). Both versions send the same camelCase event, as KohortPay did."
    )
    created_at: Timestamp
    updated_at: Timestamp


class WebhookEndpointUpdate(RequestModel):
    """Any field given changes; `null` clears `description` and `metadata` only."""

    url: Url | None = None
    description: Description | None = None
    events: Events | None = None
    is_active: bool | None = None
    metadata: MetadataIn | None = None
    api_version: ApiVersionName | None = None


class WebhookEndpointCreate(WebhookEndpointUpdate):
    url: Url
    events: Events


class WebhookSecretRead(ResponseModel):
    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class WebhookDeliveryRead(ResponseModel):
    id: str = Field(examples=["whd_0123456789abcd"])
    object: Literal["webhook_delivery"] = "webhook_delivery"
    endpoint_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_attempt_at: Timestamp | None
    last_response_status: int | None
    last_response_body: str | None = Field(
        description="The last answer's body: its first 256 characters when it is text (text/*, "
        "JSON, XML; control characters removed), else a note of its size and type."
    )
    last_error: str | None
    duration_ms: int | None
    next_attempt_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp

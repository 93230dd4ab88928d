"""Payment intents (KohortPay's `pi_…`): a view of orders, `pi_X` being the order `ord_X`."""

from typing import Annotated, Literal

from pydantic import Field

from kohort.customer.schemas import Email, Locale, Name
from kohort.http.schemas import JSONInt, MetadataIn, RequestModel, ResponseModel, Text, Timestamp
from kohort.order.schemas import MAX_AMOUNT, ClientReferenceId, CustomerIdIn

PaymentIntentStatus = Literal["SUCCEEDED", "CANCELED"]


class PaymentIntentRead(ResponseModel):
    id: str = Field(examples=["pi_0123456789abcd"])
    livemode: bool
    organization_id: str
    status: PaymentIntentStatus = Field(
        description="SUCCEEDED (Kohort registers paid orders), CANCELED once the order is."
    )
    amount: int
    amount_cashback: int | None = Field(
        description="The shopper's cashback in cents, set when the group completes."
    )
    amount_refunded: int = Field(description="The sum of the order's refunds, in cents.")
    currency: Literal["EUR"]
    order_id: str = Field(examples=["ord_0123456789abcd"])
    checkout_session_id: str | None = Field(
        description="The checkout session that registered the order, if one did."
    )
    customer_id: str
    payment_group_id: str | None = Field(
        description="Null only when the month's cashback budget was used up."
    )
    client_reference_id: str | None
    metadata: dict[str, str]
    canceled_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class PaymentIntentCreate(RequestModel):
    """A paid order (as `POST /orders`), or, with `checkoutSessionId`, that session's own
    payment intent: the session registered its order already."""

    amount: Annotated[JSONInt, Field(gt=0, le=MAX_AMOUNT)]
    checkout_session_id: Annotated[Text, Field(max_length=64)] | None = None
    customer_id: CustomerIdIn | None = None
    customer_email: Email | None = None
    customer_first_name: Name | None = None
    customer_last_name: Name | None = None
    metadata: MetadataIn | None = None
    payment_group_id: (
        Annotated[
            Text,
            Field(max_length=64, description="The group to join: its `pg_…` id or its share code."),
        ]
        | None
    ) = None
    client_reference_id: ClientReferenceId | None = None
    locale: Locale = "fr_FR"

from typing import Literal

from pydantic import Field

from kohort.http.schemas import ResponseModel, Timestamp

PayoutMethod = Literal["test", "stripe_refund", "sepa_transfer"]
PayoutStatus = Literal["pending", "processing", "paid", "failed"]


class PayoutRead(ResponseModel):
    id: str = Field(examples=["po_0123456789abcd"])
    object: Literal["payout"] = "payout"
    livemode: bool
    order_id: str
    method: PayoutMethod = Field(
        description="`sepa_transfer` (both modes: the shopper's account, then a batch) or "
        "`stripe_refund` (live mode); `test` only on payouts made before test mode rehearsed "
        "SEPA."
    )
    amount: int = Field(description="The cashback paid, in cents.")
    currency: Literal["EUR"]
    status: PayoutStatus
    provider_reference: str | None = Field(
        description="The provider's id of the payment: a Stripe refund `re_…`, or the "
        "`messageId` of the SEPA batch that paid it.",
    )
    attempts: int = Field(description="Provider calls made since the payout was (re)started.")
    last_error: str | None
    next_attempt_at: Timestamp | None = Field(
        description="When the worker will (re)try the provider call; null when nothing is due."
    )
    account_holder_name: str | None
    iban_masked: str | None = Field(examples=["FR76 **** **** **** **** **** 189"])
    batch_id: str | None
    created_at: Timestamp
    updated_at: Timestamp
    paid_at: Timestamp | None
    failed_at: Timestamp | None

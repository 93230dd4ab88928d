from typing import Literal

from pydantic import Field

from kohort.http.schemas import ResponseModel, Timestamp

PayoutBatchStatus = Literal["ready", "confirmed"]


class PayoutBatchRead(ResponseModel):
    id: str = Field(examples=["pb_0123456789abcd"])
    object: Literal["payout_batch"] = "payout_batch"
    livemode: bool
    status: PayoutBatchStatus = Field(
        description="`ready`: the file waits for the bank; `confirmed`: the bank executed it."
    )
    currency: Literal["EUR"]
    total_amount: int = Field(description="The sum of the batch's transfers, in cents.")
    payouts_count: int
    message_id: str = Field(
        description="The file's `MsgId`, which the bank quotes back.",
        examples=["KOHORT-20261127-0123456789ABCD"],
    )
    created_at: Timestamp
    confirmed_at: Timestamp | None

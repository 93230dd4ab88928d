from typing import Any

from pydantic import Field

from kohort.http.schemas import ResponseModel, Timestamp


class EventRead(ResponseModel):
    id: str = Field(examples=["evt_0123456789abcd"])
    type: str = Field(examples=["payment_group.succeeded"])
    livemode: bool
    organization_id: str
    created_at: Timestamp
    data: dict[str, Any] = Field(description="The resource as it was right after the change.")

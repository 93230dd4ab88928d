from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from kohort.http.schemas import JSONInt, RequestModel, ResponseModel, Text, Timestamp
from kohort.http.versions import ApiVersionName


class ApiKeyRead(ResponseModel):
    id: str = Field(examples=["key_0123456789abcd"])
    name: str | None
    type: Literal["SECRET", "PUBLISHABLE"]
    livemode: bool
    preview: str = Field(examples=["sk_live_…a1b2"])
    created_at: Timestamp
    last_used_at: Timestamp | None
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    api_version: ApiVersionName | None = Field(
        description="The API version this key pins; `null`: its organization's default."
    )


class ApiKeyIssued(ApiKeyRead):
    key: str | None = Field(
        description="The full key, shown this once: store it now. `null` on an idempotent "
        "replay (Idempotent-Replayed: true), since the key is never kept."
    )


class ApiKeyCreate(RequestModel):
    name: Annotated[Text, Field(max_length=255)] | None = None
    type: Literal["SECRET", "PUBLISHABLE"] = "SECRET"
    api_version: ApiVersionName | None = None


MAX_OVERLAP_SECONDS = int(timedelta(days=7).total_seconds())


class ApiKeyRoll(RequestModel):
    expires_in_seconds: Annotated[JSONInt, Field(ge=0, le=MAX_OVERLAP_SECONDS)] = Field(
        default=0,
        description="How long the old key keeps working (0 … 7 days). 0 stops it at once.",
    )

from typing import Any, Literal

from pydantic import Field

from kohort.http.schemas import ResponseModel, Timestamp


class AuditEntryRead(ResponseModel):
    id: str = Field(examples=["aud_0123456789abcd"])
    livemode: bool
    organization_id: str
    actor_type: Literal["api_key", "user", "system"]
    actor_id: str | None = Field(
        description="The API key (`key_…`) or the dashboard user (`usr_…`); null for the system.",
        examples=["key_0123456789abcd"],
    )
    actor_label: str | None = Field(
        description="The actor as it was named then: the key's preview, the user's e-mail.",
        examples=["sk_live_…a1b2"],
    )
    action: str = Field(
        description="`{object}.{verb}`: `organization.updated`, `api_key.rolled`, …",
        examples=["payment_group_settings.updated"],
    )
    target_type: str | None = Field(examples=["payment_group_settings"])
    target_id: str | None = Field(examples=["pgset_0123456789abcd"])
    changes: dict[str, Any] = Field(
        description='Each changed field (API name) → `{"from": …, "to": …}`; a secret shows '
        'as `"[secret]"`, never its value.',
        examples=[{"maxParticipants": {"from": 15, "to": 20}}],
    )
    request_id: str | None = Field(examples=["req_0123456789abcdef01234567"])
    ip_address: str | None
    created_at: Timestamp

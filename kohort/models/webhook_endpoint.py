from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class WebhookEndpoint(Base):
    """A merchant's URL that receives the events it subscribes to, signed with its secret."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index(None, "organization_id", "livemode", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[list[str]] = mapped_column(JSONDocument)
    is_active: Mapped[bool] = mapped_column(Boolean)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument)
    api_version: Mapped[str | None] = mapped_column(String(32), default=None)
    """The API version of the payloads it receives (None: the organization's)."""
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    """The secret before the last roll; it signs alongside until `previous_secret_expires_at`."""
    previous_secret_expires_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    """The first failed attempt since the last successful one (None: not failing)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class AuditEntry(Base):
    """Who changed what and when: settings, keys, webhooks, payouts, team; from the API (an
    API key) or the dashboard (a user). `changes` never holds a secret, only that it changed."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "organization_id", "livemode", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    actor_type: Mapped[str] = mapped_column(String(16))
    """`api_key`, `user` or `system`."""
    actor_id: Mapped[str | None] = mapped_column(String(32))
    actor_label: Mapped[str | None] = mapped_column(String(320))
    """A readable name of the actor at the time (the key's preview, the user's e-mail)."""
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class ApiKey(Base):
    """An API key record; only the SHA-256 of the key and a short preview are kept."""

    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "organization_id", "livemode", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    preview: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(32))
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    api_version: Mapped[str | None] = mapped_column(String(32), default=None)
    """The API version this key pins (None: the organization's)."""
    rolled_to_id: Mapped[str | None] = mapped_column(String(32))

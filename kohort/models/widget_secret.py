from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class WidgetSecret(Base):
    """The secret a shop's server signs its order references with, per mode, so that the
    thank-you widget shows an order's code only to the page the shop made for it
    (kohort/widget/)."""

    __tablename__ = "widget_secrets"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    """The secret before the last roll: its tokens are still good until the expiry below."""
    previous_secret_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

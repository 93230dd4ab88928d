from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class PaymentGroup(Base):
    """A group ("kohort"): its creator, share code, schedule, members count and the settings
    snapshot taken at creation (`settings`, the API shape of the organization's settings)."""

    __tablename__ = "payment_groups"
    __table_args__ = (
        Index(None, "organization_id", "livemode", "created_at", "id"),
        Index(None, "status", "expires_at"),
        # What changed since the analytics cache was computed (kohort/analytics/cache.py).
        Index(None, "organization_id", "livemode", "updated_at"),
        # The analytics' groups ended on given days.
        Index(None, "organization_id", "livemode", "completed_at"),
        Index(None, "organization_id", "livemode", "expired_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    share_id: Mapped[str] = mapped_column(String(32))
    share_key: Mapped[str] = mapped_column(String(32), unique=True)
    """`share_id` upper-cased: codes are looked up whatever their case."""
    livemode: Mapped[bool] = mapped_column(Boolean)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    creator_email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONDocument)
    participants_count: Mapped[int] = mapped_column(Integer)
    max_participants: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    expires_at: Mapped[datetime]
    mid_expire_at: Mapped[datetime | None]
    j_minus2_expire_at: Mapped[datetime | None]
    j_plus3_start_at: Mapped[datetime | None]
    reminder_email_sent: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(32))
    canceled_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    """When it EXPIRED: `expiresAt` for the worker (however late it ran), the request's time
    for `POST …/expire`. Internal: the API's Group has no such field."""

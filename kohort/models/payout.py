from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class Payout(Base):
    """The payment of one order's cashback to its shopper: at most one per order (unique), so
    a cashback is paid at most once whatever retries, double submits or workers do."""

    __tablename__ = "payouts"
    __table_args__ = (
        Index(None, "organization_id", "livemode", "created_at", "id"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "batch_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    method: Mapped[str] = mapped_column(String(16))
    """`test`, `stripe_refund` or `sepa_transfer`."""
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    """`pending` → `processing` → `paid`, or `failed` (retryable by the merchant)."""
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    """When the worker should (re)try the provider call; None when nothing is due."""
    last_error: Mapped[str | None] = mapped_column(Text)
    account_holder_name: Mapped[str | None] = mapped_column(String(140))
    iban_encrypted: Mapped[str | None] = mapped_column(Text)
    """The shopper's IBAN (sepa_transfer), encrypted with a key derived from KOHORT_SECRET_KEY."""
    iban_masked: Mapped[str | None] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("payout_batches.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]

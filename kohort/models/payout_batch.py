from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class PayoutBatch(Base):
    """A day's approved SEPA payouts of one organization and mode, as one SEPA Credit
    Transfer file (pain.001) for the merchant's bank."""

    __tablename__ = "payout_batches"
    __table_args__ = (Index(None, "organization_id", "livemode", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    """`ready` (file built, waiting for the bank) → `confirmed` (the bank executed it)."""
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[int] = mapped_column(BigInteger)
    payouts_count: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    file: Mapped[str] = mapped_column(Text)
    """The pain.001 XML document."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]

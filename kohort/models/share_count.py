from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class ShareCount(Base):
    """How many times a group's share surfaces were shown, and each share action tapped, on
    one UTC day (kohort/share/counting.py): counts only, no cookie, nothing about who."""

    __tablename__ = "share_counts"
    __table_args__ = (Index(None, "organization_id", "livemode", "day"),)

    payment_group_id: Mapped[str] = mapped_column(ForeignKey("payment_groups.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(24), primary_key=True)
    """`shown:member`, `shown:invite`, `shown:widget`, or a share action (`whatsapp`, …)."""
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    count: Mapped[int] = mapped_column(BigInteger)

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class PaymentGroupSettings(Base):
    """An organization's group settings for one mode; each new group snapshots them.

    `discount_levels` is the ordered list `[{id, level, value, participantsToUnlock}]`
    (`value` a decimal string: percent, or whole currency units)."""

    __tablename__ = "payment_group_settings"
    __table_args__ = (UniqueConstraint("organization_id", "livemode"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    discount_type: Mapped[str] = mapped_column(String(16))
    discount_levels: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    max_participants: Mapped[int] = mapped_column(Integer)
    minutes_duration: Mapped[int] = mapped_column(Integer)
    min_purchase_value: Mapped[int] = mapped_column(BigInteger)
    risk_policy: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    """What happens to an order of each risk level: `{LOW|MEDIUM|HIGH|HIGHEST: allow|review|
    refuse}` (kohort/risk/policy.py)."""
    review_days: Mapped[int] = mapped_column(Integer)
    review_default: Mapped[str] = mapped_column(String(16))
    """What a review the merchant did not decide in `review_days` becomes: release or reject."""
    monthly_cashback_budget: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """Cents of cashback that may become available per calendar month (the organization's
    time zone); None: no budget."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

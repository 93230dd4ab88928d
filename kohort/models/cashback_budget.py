from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class CashbackBudget(Base):
    """The cashback that became available in one calendar month of an organization's mode
    (kohort/risk/budget.py): added to as members' cashback becomes available, so that the
    budget is read from one row."""

    __tablename__ = "cashback_budgets"
    __table_args__ = (PrimaryKeyConstraint("organization_id", "livemode", "month"),)

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    month: Mapped[str] = mapped_column(String(7))
    """"YYYY-MM" in the organization's time zone."""
    used: Mapped[int] = mapped_column(BigInteger)
    reached_80_at: Mapped[datetime | None] = mapped_column(default=None)
    reached_100_at: Mapped[datetime | None] = mapped_column(default=None)

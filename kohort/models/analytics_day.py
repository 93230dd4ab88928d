from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class AnalyticsDay(Base):
    """The analytics figures of one local day of an organization's mode, in one time zone, as
    computed at `computed_at` by the definitions of `version` (kohort/analytics/cache.py): a
    cache, rebuilt from the orders and groups whenever one of them changed since."""

    __tablename__ = "analytics_days"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime]
    revenue: Mapped[int] = mapped_column(BigInteger)
    joins: Mapped[int] = mapped_column(BigInteger)
    openings: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger)
    newcomers: Mapped[int] = mapped_column(BigInteger)
    opened: Mapped[int] = mapped_column(BigInteger)
    joined: Mapped[int] = mapped_column(BigInteger)
    opened_completed: Mapped[int] = mapped_column(BigInteger)
    completed: Mapped[int] = mapped_column(BigInteger)
    expired: Mapped[int] = mapped_column(BigInteger)
    members: Mapped[int] = mapped_column(BigInteger)
    earned: Mapped[int] = mapped_column(BigInteger)
    top: Mapped[list[Any]] = mapped_column(JSONDocument)
    """The day's groups with the most members, then referred revenue, then id (at most the
    analytics' TOP_GROUPS): [id, share id, status, members, referred revenue] each."""

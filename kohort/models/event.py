from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class Event(Base):
    """A state change, appended in the transaction that made it; `data` is the resource after."""

    __tablename__ = "events"
    __table_args__ = (
        Index(None, "organization_id", "livemode", "created_at", "seq"),
        Index(None, "created_at"),
        Index(
            "ix_events_undispatched",
            "seq",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    """The order events were appended in (ids are random, timestamps can tie)."""
    id: Mapped[str] = mapped_column(String(32), unique=True, insert_sentinel=True)
    """Also what a batch of appended events is matched to its `seq`s by: the events of one
    change go in one multi-row INSERT ... RETURNING (its rows kept in order)."""
    type: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[str] = mapped_column(String(32))
    livemode: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the worker fanned the event out to webhook deliveries and e-mails (None: not yet)."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class CheckoutSession(Base):
    """KohortPay's checkout session (`cs_…`): a paid order registered with its line items.
    Kohort takes no payment, so a session is COMPLETED when created (or EXPIRED later)."""

    __tablename__ = "checkout_sessions"
    __table_args__ = (Index(None, "organization_id", "livemode", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    livemode: Mapped[bool] = mapped_column(Boolean)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    amount_total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(8))
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    success_url: Mapped[str | None] = mapped_column(String(2048))
    cancel_url: Mapped[str | None] = mapped_column(String(2048))
    client_reference_id: Mapped[str | None] = mapped_column(String(255))
    payment_client_reference_id: Mapped[str | None] = mapped_column(String(255))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONDocument)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(32))

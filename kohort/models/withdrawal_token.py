from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class WithdrawalToken(Base):
    """The secret of an order's cashback withdrawal link. Only its SHA-256 is stored; the
    token itself is HMAC(secret key, order id + `nonce`), re-derived when the e-mail is sent."""

    __tablename__ = "withdrawal_tokens"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument


class Order(Base):
    """A paid order. Its group's members are its orders; (group, e-mail key) is unique, so an
    e-mail joins a group once, creator included (a canceled order's key is freed, so its
    shopper may join again)."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("payment_group_id", "email_key"),
        UniqueConstraint("organization_id", "livemode", "client_reference_id"),
        Index(None, "organization_id", "livemode", "created_at", "id"),
        Index(None, "customer_id"),
        # What changed since the analytics cache was computed (kohort/analytics/cache.py).
        Index(None, "organization_id", "livemode", "updated_at"),
        # The analytics' cashback pending: read from the index alone.
        Index(
            "ix_orders_cashback_pending",
            "organization_id",
            "livemode",
            "status",
            "amount_cashback",
            postgresql_where=text("status = 'CASHBACK_AVAILABLE'"),
            sqlite_where=text("status = 'CASHBACK_AVAILABLE'"),
        ),
        # Bursts: the orders one address registered in the last minutes (kohort/risk).
        Index(None, "organization_id", "livemode", "customer_ip", "created_at"),
        # The review queue and the worker's deadline sweep: the few orders under review.
        Index(
            "ix_orders_review_pending",
            "review_due_at",
            "id",
            postgresql_where=text("review_status = 'PENDING'"),
            sqlite_where=text("review_status = 'PENDING'"),
        ),
        # The payouts lane's claim: the few orders waiting for a payout, oldest first.
        Index(
            "ix_orders_cashback_available",
            "updated_at",
            "id",
            postgresql_where=text("status = 'CASHBACK_AVAILABLE'"),
            sqlite_where=text("status = 'CASHBACK_AVAILABLE'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_cashback: Mapped[int | None] = mapped_column(BigInteger)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    """The sum of the order's refunds; its cashback is computed on what is left."""
    application_fee_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(32))
    payment_reference: Mapped[str | None] = mapped_column(String(255), default=None)
    """The shop's payment id (a Stripe PaymentIntent `pi_…`), for stripe_refund payouts."""
    canceled_at: Mapped[datetime | None] = mapped_column(default=None)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    customer_email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    customer_first_name: Mapped[str | None] = mapped_column(String(255))
    customer_last_name: Mapped[str | None] = mapped_column(String(255))
    customer_phone_number: Mapped[str | None] = mapped_column(String(32))
    payment_group_id: Mapped[str | None] = mapped_column(ForeignKey("payment_groups.id"))
    """None only for an order registered while the month's cashback budget was used up
    (`joinError` BUDGET_EXHAUSTED): it is in no group and gets no cashback."""
    payment_group_share_id: Mapped[str | None] = mapped_column(String(32))
    client_reference_id: Mapped[str | None] = mapped_column(String(255))
    risk_level: Mapped[str | None] = mapped_column(String(16))
    risk_reasons: Mapped[list[dict[str, str]]] = mapped_column(
        JSONDocument, default=list, server_default=text("'[]'")
    )
    """Why `risk_level` (kohort/risk/signals.py): `[{code, level, detail}]`, strongest first."""
    customer_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    device_fingerprint: Mapped[str | None] = mapped_column(String(255), default=None)
    payment_fingerprint: Mapped[str | None] = mapped_column(String(255), default=None)
    review_status: Mapped[str | None] = mapped_column(String(16), default=None)
    """PENDING while the merchant may still decide, then APPROVED or REJECTED; None when the
    policy allowed the order."""
    review_due_at: Mapped[datetime | None] = mapped_column(default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(32), default=None)
    join_error: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONDocument)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(32))

    @property
    def ambassador_id(self) -> None:
        """KohortPay's ambassador code of the order: Kohort has none, so always None."""
        return None

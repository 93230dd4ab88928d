from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class DashboardSession(Base):
    """A signed-in browser, stored server-side: the cookie holds a random token whose SHA-256
    is `token_hash`. Revocable; idle (`last_seen_at`) and absolute (`expires_at`) expiry."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("dashboard_users.id"))
    organization_id: Mapped[str | None] = mapped_column(String(32))
    """The organization the user is looking at."""
    livemode: Mapped[bool] = mapped_column(Boolean)
    """The mode the user is looking at (the test/live switch)."""
    csrf_token: Mapped[str] = mapped_column(String(64))
    second_factor_pending: Mapped[bool] = mapped_column(Boolean)
    """Password checked, TOTP code not yet: the session opens no page but the code's."""
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

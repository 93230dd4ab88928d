from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class UserToken(Base):
    """A single-use link sent by e-mail: an invitation to an organization (`invitation`) or a
    password reset (`password_reset`). Only the SHA-256 of the token is kept."""

    __tablename__ = "user_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("dashboard_users.id"))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

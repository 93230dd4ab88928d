from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class LoginThrottle(Base):
    """Failed sign-ins counted per account (`account:{email}`) and per address
    (`address:{ip}`); past a threshold, attempts wait until `blocked_until`."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]

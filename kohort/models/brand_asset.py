from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base


class BrandAsset(Base):
    """An image a shop uploaded for its brand (logo, social image), served by Kohort at
    `/brand-assets/{id}`: its bytes as sent, once checked (kohort/brand/images.py). Never
    changed: a new upload is a new asset, so its URL may be cached for good."""

    __tablename__ = "brand_assets"
    __table_args__ = (Index(None, "organization_id", "kind", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    """`logo` or `social_image`."""
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

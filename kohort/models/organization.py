from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kohort.models.base import Base, JSONDocument, Percent


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    website_url: Mapped[str | None] = mapped_column(String(2048))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    api_version: Mapped[str] = mapped_column(String(32), default="2026-12-01")
    """The API version of requests whose key and headers name none (`kohort.http.versions`)."""
    code_prefix: Mapped[str] = mapped_column(String(10), default="KHT")
    """What new share codes start with (`KHT-…`, `KHT-test-…`); issued codes keep theirs."""
    acquisition_fee_percent: Mapped[Decimal] = mapped_column(Percent())
    from_email_name: Mapped[str | None] = mapped_column(String(255))
    payout_method: Mapped[str | None] = mapped_column(String(16))
    """Live mode's payout method (`stripe_refund` or `sepa_transfer`; None: `sepa_transfer`).
    Test mode always pays with `test`."""
    stripe_secret_key_encrypted: Mapped[str | None] = mapped_column(Text)
    """The shop's Stripe secret key (stripe_refund), encrypted; write-only through the API."""
    stripe_secret_key_hint: Mapped[str | None] = mapped_column(String(32))
    """The key's kind and last four characters (`sk_live_…abcd`), the only part ever shown."""
    payout_debtor_name: Mapped[str | None] = mapped_column(String(140))
    """The shop's account the SEPA transfers are paid from (pain.001's debtor)."""
    payout_debtor_iban_encrypted: Mapped[str | None] = mapped_column(Text)
    payout_debtor_iban_masked: Mapped[str | None] = mapped_column(String(64))
    payout_debtor_bic: Mapped[str | None] = mapped_column(String(11))
    brand_display_name: Mapped[str | None] = mapped_column(String(80))
    """The name shoppers read (share page, widget, e-mails); None: from_email_name, else name."""
    brand_logo_url: Mapped[str | None] = mapped_column(String(2048))
    """An https logo the shop hosts; brand_logo_asset_id instead when uploaded to Kohort."""
    brand_logo_asset_id: Mapped[str | None] = mapped_column(String(32))
    brand_social_image_url: Mapped[str | None] = mapped_column(String(2048))
    """The picture of link previews (Open Graph); or the uploaded brand_social_image_asset_id."""
    brand_social_image_asset_id: Mapped[str | None] = mapped_column(String(32))
    brand_color: Mapped[str | None] = mapped_column(String(7))
    """`#RRGGBB`; None: Kohort's green. The text on it and the accent are derived (brand/)."""
    share_messages: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    """Per language (`en`, `fr`…), the shop's own share message with its placeholders."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

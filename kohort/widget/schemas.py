"""The widget's answers: its secret (for the shop's server), and an order as the widget shows
it (public fields only, texts in the order's language)."""

from pydantic import Field

from kohort.http.schemas import ResponseModel, Timestamp


class WidgetSecretRead(ResponseModel):
    object: str = "widget_secret"
    livemode: bool
    secret: str = Field(
        examples=["wgs_3q2-7xVYb0n4lH1Jm9a8kQpRzT6cWuE5fGdSiN0oLkY"],
        description="Sign each order reference with it: the hex HMAC-SHA256 of the reference "
        "is the widget's `data-token`.",
    )
    previous_secret_expires_at: Timestamp | None = Field(
        description="After a roll, tokens of the previous secret work until then."
    )


class Rung(ResponseModel):
    members: int
    amount: int = Field(description="Cents back on this order once the group has `members`.")
    reached: bool
    text: str = Field(examples=["5 members: you get 7,50 €"])


class BrandLook(ResponseModel):
    shop_name: str
    logo_url: str | None
    color: str
    text_color: str
    accent_color: str


class WidgetOrderRead(ResponseModel):
    """What the thank-you widget shows of an order: its group's code and how to share it."""

    object: str = "widget_order"
    livemode: bool
    locale: str
    code: str
    status: str = Field(description="The group's status: OPEN, COMPLETED, EXPIRED, CANCELED.")
    participants: int
    max_participants: int
    expires_at: Timestamp
    share_url: str
    invite_url: str
    message: str
    links: dict[str, str] = Field(description="whatsapp, sms, email, telegram: hrefs.")
    ladder: list[Rung] = Field(description="Each level, in money for this order's basket.")
    brand: BrandLook
    texts: dict[str, str] = Field(description="The widget's words, in `locale`.")

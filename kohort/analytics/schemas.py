"""The analytics page: figures of a period of local days against the period before it."""

import datetime as dt

from pydantic import Field

from kohort.http.schemas import ResponseModel

CHANGE = (
    "Relative change from `previous` to `value` ((value - previous) ÷ previous, 4 decimals: "
    "0.25 is +25 %); null when `previous` is 0 or null, or `value` is null."
)


class AmountFigure(ResponseModel):
    """An amount in integer cents (EUR) or a count, in the period and the one before."""

    value: int = Field(description="In the period.")
    previous: int | None = Field(description="In the previous period of the same length.")
    change: float | None = Field(description=CHANGE)


class RatioFigure(ResponseModel):
    """A ratio (4 decimals, half up), null when its denominator is 0."""

    value: float | None = Field(description="In the period; null when undefined.")
    previous: float | None = Field(description="In the previous period; null when undefined.")
    change: float | None = Field(description=CHANGE)


class Period(ResponseModel):
    from_: dt.date = Field(alias="from", description="First local day, inclusive.")
    to: dt.date = Field(description="Last local day, inclusive.")
    days: int


class Funnel(ResponseModel):
    """The groups opened in the period, followed to now."""

    opened: AmountFigure = Field(description="Groups created in the period.")
    joined: AmountFigure = Field(
        description="Of those, the groups with at least one joining order not canceled "
        "(or COMPLETED)."
    )
    completed: AmountFigure = Field(description="Of those, the groups now COMPLETED.")


class Shares(ResponseModel):
    """The share surfaces (share page, invite page, thank-you widget) and their actions, on the
    local days of the period (kohort/share/counting.py: views by people, not link previews)."""

    shown: AmountFigure = Field(description="Times a share surface was shown.")
    shared: AmountFigure = Field(description="Share actions tapped (any channel).")
    by_channel: dict[str, int] = Field(
        description="Share actions of the period per channel: `whatsapp`, `sms`, `email`, "
        "`telegram`, `copy` (the code or the link copied), `native` (the phone's share sheet)."
    )


class DayRead(ResponseModel):
    date: dt.date = Field(description="The local day (organization's time zone).")
    referred_revenue: int = Field(description="As `referredRevenue`, for the orders of the day.")
    groups_opened: int = Field(description="Groups created that day.")
    joins: int = Field(description="Joining orders registered that day, canceled excluded.")
    groups_completed: int = Field(description="Groups completed that day.")
    cashback_earned: int = Field(description="As `cashbackEarned`, for the groups of the day.")


class TopGroupRead(ResponseModel):
    id: str
    share_id: str
    status: str
    members: int = Field(description="The group's `participantsCount` now.")
    referred_revenue: int = Field(
        description="amount - amountRefunded of its joining orders not canceled, in cents."
    )


class AnalyticsRead(ResponseModel):
    """What referral brought the organization in the key's mode. Days are calendar days in
    the organization's time zone; amounts are integer cents (EUR)."""

    object: str = "analytics"
    livemode: bool
    currency: str = "EUR"
    timezone: str = Field(description="The organization's time zone the days are cut in.")
    period: Period
    previous_period: Period
    referred_revenue: AmountFigure = Field(
        description="amount - amountRefunded of the joining orders (not the order that opened "
        "a group) registered in the period, canceled orders excluded."
    )
    new_referred_customers: AmountFigure = Field(
        description="Customers whose first order in the organization and mode (earliest "
        "createdAt, then id) was registered in the period, joined a group and is not canceled."
    )
    groups_opened: AmountFigure = Field(description="Groups created in the period.")
    groups_completed: AmountFigure = Field(description="Groups whose completedAt is in it.")
    groups_expired: AmountFigure = Field(
        description="Groups EXPIRED in the period: at their expiresAt, or at their last "
        "update when that came first (ended early by POST …/expire)."
    )
    average_group_size: RatioFigure = Field(
        description="participantsCount of the groups completed in the period ÷ their number."
    )
    funnel: Funnel
    shares: Shares
    k_factor: RatioFigure = Field(
        description="Joining orders ÷ orders that opened a group, both registered in the "
        "period and not canceled."
    )
    cashback_earned: AmountFigure = Field(
        description="amountCashback of the orders not canceled of the groups completed in "
        "the period."
    )
    cashback_paid: AmountFigure = Field(description="Amounts of the payouts paid in the period.")
    cashback_pending: AmountFigure = Field(
        description="Now (previous and change null): amountCashback of the CASHBACK_AVAILABLE "
        "orders plus the payouts not paid yet (pending, processing, failed)."
    )
    fees: AmountFigure = Field(
        description="applicationFeeAmount of the joining orders registered in the period, "
        "canceled orders excluded."
    )
    roi: RatioFigure = Field(
        description="referredRevenue ÷ (cashbackEarned + fees); null when that is 0."
    )
    daily: list[DayRead] = Field(description="Every day of the period, oldest first.")
    top_groups: list[TopGroupRead] = Field(
        description="The 10 groups created in the period with the most members, then the "
        "most referred revenue, then by id."
    )

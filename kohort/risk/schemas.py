"""The API shapes of risk (on every order), the risk policy and the review decision."""

from typing import Annotated, Literal

from pydantic import Field

from kohort.http.schemas import JSONInt, RequestModel, ResponseModel, Timestamp
from kohort.risk.policy import MAX_REVIEW_DAYS

RiskLevel = Literal["LOW", "MEDIUM", "HIGH", "HIGHEST"]
Action = Literal["allow", "review", "refuse"]
Outcome = Literal["release", "reject"]
ReviewStatus = Literal["PENDING", "APPROVED", "REJECTED"]


class RiskReason(ResponseModel):
    code: str = Field(examples=["SIMILAR_EMAIL"])
    level: RiskLevel
    detail: str = Field(examples=["ana.b+2@ex.com ~ anab@ex.com"])


class RiskPolicyRead(ResponseModel):
    livemode: bool
    actions: dict[RiskLevel, Action] = Field(
        description="What happens to an order of each `riskLevel`: `allow`; `review` (it "
        "joins and counts, its cashback is held until approved, rejected or `reviewDays` "
        "pass); `refuse` (it does not join: it opens its own group, `joinError` "
        "`RISK_REFUSED`; an order that opens a group is reviewed instead)."
    )
    review_days: int = Field(examples=[14], description="Days the merchant has to decide.")
    review_default: Outcome = Field(
        description="What an undecided review becomes after `reviewDays`."
    )
    updated_at: Timestamp


class RiskPolicyUpdate(RequestModel):
    actions: dict[RiskLevel, Action] | None = Field(
        default=None, description='The levels to change, e.g. `{"HIGHEST": "refuse"}`.'
    )
    review_days: Annotated[JSONInt, Field(ge=1, le=MAX_REVIEW_DAYS)] | None = None
    review_default: Outcome | None = None


class ReviewCreate(RequestModel):
    decision: Literal["approve", "reject"]


class BudgetRead(ResponseModel):
    livemode: bool
    monthly_amount: int | None = Field(
        description="Cents of cashback that may become available per calendar month, in the "
        "organization's time zone; null: no budget."
    )
    currency: Literal["EUR"] = "EUR"
    month: str = Field(examples=["2026-12"])
    used: int = Field(description="Cents of cashback that became available this month.")
    remaining: int | None = Field(description="`monthlyAmount - used`, never below 0.")
    exhausted: bool = Field(description="New orders open no group until the next month or a raise.")
    thresholds_reached: list[int] = Field(examples=[[80]])


class BudgetUpdate(RequestModel):
    monthly_amount: Annotated[JSONInt, Field(ge=0, le=2**53 - 1)] | None = None

"""What an organization's mode does with an order of each risk level (docs/api.md, "Trust"):
`allow` it, hold its cashback for `review`, or `refuse` its join. One rule, read by the join,
the opening of a group and the review's deadline."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from kohort.risk.signals import LEVELS, Level

Action = Literal["allow", "review", "refuse"]
Outcome = Literal["release", "reject"]
ACTIONS: Final[tuple[Action, ...]] = ("allow", "review", "refuse")
OUTCOMES: Final[tuple[Outcome, ...]] = ("release", "reject")
DEFAULT_ACTIONS: Final[dict[str, Action]] = {
    "LOW": "allow",
    "MEDIUM": "allow",
    "HIGH": "review",
    "HIGHEST": "review",
}
"""KohortPay's scoring alerted its staff from HIGH up: here the merchant reviews those."""
DEFAULT_REVIEW_DAYS: Final = 14
MAX_REVIEW_DAYS: Final = 90
DEFAULT_OUTCOME: Final[Outcome] = "release"

PENDING: Final = "PENDING"
APPROVED: Final = "APPROVED"
REJECTED: Final = "REJECTED"


@dataclass(frozen=True)
class Policy:
    actions: dict[str, Action]
    review_days: int
    review_default: Outcome

    @classmethod
    def of(cls, settings: Any) -> "Policy":
        """The policy kept on a mode's `PaymentGroupSettings` row."""
        return cls(
            actions={level: settings.risk_policy.get(level, "allow") for level in LEVELS},
            review_days=settings.review_days,
            review_default=settings.review_default,
        )

    def action(self, level: Level, *, joining: bool) -> Action:
        """The action for `level`. An order that opens a group has nothing to refuse to join:
        `refuse` holds its cashback for review instead."""
        action = self.actions[level]
        return "review" if action == "refuse" and not joining else action

    def review_values(self, action: Action, now: datetime) -> dict[str, Any]:
        """The order's review columns for `action`."""
        if action != "review":
            return {"review_status": None, "review_due_at": None}
        return {"review_status": PENDING, "review_due_at": now + timedelta(days=self.review_days)}

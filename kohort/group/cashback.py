"""Cashback and application fees in integer cents (DOMAIN §9); percentages are Decimal."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

DISCOUNT_TYPES: Final = ("PERCENTAGE", "AMOUNT")


@dataclass(frozen=True)
class DiscountLevel:
    """One unlockable level of a group's settings snapshot.

    `value` is a percent of the member's own order (PERCENTAGE) or whole currency units (AMOUNT).
    """

    id: str
    level: int
    value: Decimal
    participants_to_unlock: int


def round_half_up(value: Decimal) -> int:
    """`value` (in cents) to a whole number of cents, halves away from zero."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def level_reached(levels: Sequence[DiscountLevel], participants: int) -> DiscountLevel | None:
    """The highest level whose `participants_to_unlock` ≤ `participants`, whatever the order."""
    reached = [level for level in levels if level.participants_to_unlock <= participants]
    return max(reached, key=_threshold, default=None)


def next_level(levels: Sequence[DiscountLevel], participants: int) -> DiscountLevel | None:
    """The lowest level whose `participants_to_unlock` > `participants`, whatever the order."""
    ahead = [level for level in levels if level.participants_to_unlock > participants]
    return min(ahead, key=_threshold, default=None)


def cashback_amount(discount_type: str, level: DiscountLevel | None, amount: int) -> int:
    """Cents back on an order of `amount` cents: `value` % of it, or `value` units, capped at it.

    No level reached means no cashback.
    """
    if discount_type not in DISCOUNT_TYPES:
        raise ValueError(f"unknown discount type {discount_type!r}")
    if level is None:
        return 0
    if discount_type == "PERCENTAGE":
        cashback = round_half_up(Decimal(amount) * level.value / 100)
    else:
        cashback = round_half_up(level.value * 100)
    return min(cashback, amount)


def cashback_terms(discount_type: str, level: DiscountLevel | None) -> tuple[str, int]:
    """`cashback_amount` as integers a database applies to each order (`cashback_sql`):
    ("PERCENTAGE", hundredths of a percent) or ("AMOUNT", cents); no level is ("AMOUNT", 0).
    Settings hold percentages with two decimals at most (anything finer is refused here)."""
    if discount_type not in DISCOUNT_TYPES:
        raise ValueError(f"unknown discount type {discount_type!r}")
    if level is None:
        return ("AMOUNT", 0)
    if discount_type == "PERCENTAGE":
        hundredths = level.value.scaleb(2)
        if hundredths != hundredths.to_integral_value():
            raise ValueError(f"percentage {level.value} has more than two decimals")
        return ("PERCENTAGE", int(hundredths))
    return ("AMOUNT", round_half_up(level.value * 100))


def cashback_sql(amount: str, kind: str, n: str, *, postgres: bool) -> str:
    """SQL for the cashback of the order amount `amount` under the terms (`kind`, `n`) of
    `cashback_terms`: half-up in integer arithmetic ((a * n + 5000) div 10 000 for a
    percentage), capped at the amount, as `cashback_amount` computes it."""
    least = "LEAST" if postgres else "min"
    share = f"({amount} * {n} + 5000) / 10000"
    return f"{least}({amount}, CASE {kind} WHEN 'PERCENTAGE' THEN {share} ELSE {n} END)"


def application_fee(amount: int, fee_percent: Decimal, vat_percent: Decimal = Decimal(20)) -> int:
    """What the merchant owes on a joining order: the fee, then VAT on it, each rounded half-up."""
    fee = round_half_up(Decimal(amount) * fee_percent / 100)
    return fee + round_half_up(Decimal(fee) * vat_percent / 100)


def _threshold(level: DiscountLevel) -> tuple[int, int]:
    return (level.participants_to_unlock, level.level)

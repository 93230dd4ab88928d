"""Cashback and application fees of DOMAIN §9: integer cents, Decimal percents, half-up."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kohort.group.cashback import (
    DISCOUNT_TYPES,
    DiscountLevel,
    application_fee,
    cashback_amount,
    level_reached,
    next_level,
    round_half_up,
)

FAST = settings(max_examples=300, deadline=None)


def make_levels(thresholds: list[int], values: list[Decimal]) -> list[DiscountLevel]:
    return [
        DiscountLevel(id=f"dlev_{n:014x}", level=n, value=value, participants_to_unlock=threshold)
        for n, (threshold, value) in enumerate(zip(thresholds, values, strict=True), start=1)
    ]


@st.composite
def valid_levels(draw: st.DrawFn) -> tuple[list[DiscountLevel], list[int]]:
    """Settings-valid levels in a random order, with their values in hundredths of a unit."""
    count = draw(st.integers(1, 5))
    thresholds = st.lists(st.integers(3, 1000), min_size=count - 1, max_size=count - 1, unique=True)
    later = draw(thresholds)
    hundredths = sorted(
        draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True))
    )
    levels = make_levels([2, *sorted(later)], [Decimal(h) / 100 for h in hundredths])
    order = draw(st.permutations(range(count)))
    return [levels[i] for i in order], [hundredths[i] for i in order]


participants = st.integers(0, 1100)
amounts = st.integers(0, 10**9)


def test_worked_example_percentage_group_of_four() -> None:
    levels = make_levels([3, 2], [Decimal(10), Decimal(5)])
    reached = level_reached(levels, 4)
    assert reached is not None
    assert reached.value == Decimal(10)
    orders = [10000, 2000, 3333, 4999]
    assert [cashback_amount("PERCENTAGE", reached, amount) for amount in orders] == [
        1000,
        200,
        333,
        500,
    ]
    assert [application_fee(amount, Decimal("10.00")) for amount in orders[1:]] == [240, 400, 600]


def test_worked_example_amount_never_exceeds_the_order() -> None:
    level = make_levels([2], [Decimal(5)])[0]
    assert cashback_amount("AMOUNT", level, 10000) == 500
    assert cashback_amount("AMOUNT", level, 300) == 300


def test_amount_value_is_rounded_half_up_to_cents() -> None:
    level = make_levels([2], [Decimal("2.345")])[0]
    assert cashback_amount("AMOUNT", level, 10000) == 235


def test_no_level_reached_means_no_cashback() -> None:
    levels = make_levels([2, 5], [Decimal(5), Decimal(10)])
    assert level_reached(levels, 1) is None
    for discount_type in DISCOUNT_TYPES:
        assert cashback_amount(discount_type, None, 10000) == 0


def test_an_unknown_discount_type_is_refused() -> None:
    level = make_levels([2], [Decimal(5)])[0]
    with pytest.raises(ValueError, match="FIXED"):
        cashback_amount("FIXED", level, 10000)


def test_levels_are_found_whatever_their_order() -> None:
    levels = make_levels([2, 5, 10], [Decimal(5), Decimal(10), Decimal(15)])
    shuffled = [levels[2], levels[0], levels[1]]
    assert level_reached(shuffled, 9) == levels[1]
    assert level_reached(shuffled, 10) == levels[2]
    assert level_reached(shuffled, 1000) == levels[2]
    assert next_level(shuffled, 1) == levels[0]
    assert next_level(shuffled, 5) == levels[2]
    assert next_level(shuffled, 10) is None
    assert level_reached([], 10) is None
    assert next_level([], 10) is None


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("0", 0),
        ("0.4999", 0),
        ("0.5", 1),
        ("2.5", 3),
        ("3.5", 4),
        ("66.6", 67),
        ("499.9", 500),
        ("1000.49", 1000),
        ("1000.50", 1001),
    ],
)
def test_round_half_up_sends_halves_up(value: str, cents: int) -> None:
    assert round_half_up(Decimal(value)) == cents


@pytest.mark.parametrize(
    ("amount", "fee_percent", "vat_percent", "owed"),
    [
        (0, Decimal(10), Decimal(20), 0),
        (3330, Decimal(10), Decimal(20), 333 + 67),
        (25, Decimal(10), Decimal(20), 3 + 1),
        (45, Decimal(10), Decimal(20), 5 + 1),
        (50, Decimal(10), Decimal(10), 5 + 1),
        (14, Decimal(10), Decimal(20), 1 + 0),
        (10000, Decimal("2.50"), Decimal(20), 250 + 50),
        (10000, Decimal(0), Decimal(20), 0),
    ],
)
def test_fee_and_vat_are_each_rounded_half_up(
    amount: int, fee_percent: Decimal, vat_percent: Decimal, owed: int
) -> None:
    assert application_fee(amount, fee_percent, vat_percent) == owed


@FAST
@given(drawn=valid_levels(), count=participants, amount=amounts)
def test_cashback_is_never_negative_nor_above_the_order(
    drawn: tuple[list[DiscountLevel], list[int]], count: int, amount: int
) -> None:
    levels, _ = drawn
    for discount_type in DISCOUNT_TYPES:
        cashback = cashback_amount(discount_type, level_reached(levels, count), amount)
        assert 0 <= cashback <= amount


@FAST
@given(drawn=valid_levels(), counts=st.tuples(participants, participants), amount=amounts)
def test_cashback_never_decreases_as_participants_grow(
    drawn: tuple[list[DiscountLevel], list[int]], counts: tuple[int, int], amount: int
) -> None:
    levels, _ = drawn
    fewer, more = sorted(counts)
    for discount_type in DISCOUNT_TYPES:
        before = cashback_amount(discount_type, level_reached(levels, fewer), amount)
        after = cashback_amount(discount_type, level_reached(levels, more), amount)
        assert before <= after


@FAST
@given(drawn=valid_levels(), count=participants, amount=amounts)
def test_percentage_cashback_matches_integer_half_up(
    drawn: tuple[list[DiscountLevel], list[int]], count: int, amount: int
) -> None:
    levels, hundredths = drawn
    reached = level_reached(levels, count)
    expected = 0
    if reached is not None:
        value_hundredths = hundredths[levels.index(reached)]
        expected = (amount * value_hundredths * 2 + 10_000) // 20_000
    assert cashback_amount("PERCENTAGE", reached, amount) == expected


@FAST
@given(drawn=valid_levels(), count=participants)
def test_next_level_lies_just_beyond_the_level_reached(
    drawn: tuple[list[DiscountLevel], list[int]], count: int
) -> None:
    levels, _ = drawn
    reached = level_reached(levels, count)
    ahead = next_level(levels, count)
    if reached is not None:
        assert reached.participants_to_unlock <= count
    if ahead is not None:
        assert ahead.participants_to_unlock > count
    if reached is not None and ahead is not None:
        assert ahead.level == reached.level + 1
    if reached is None:
        assert ahead == min(levels, key=lambda level: level.level)
    if ahead is None:
        assert reached == max(levels, key=lambda level: level.level)


@FAST
@given(
    amount=amounts,
    fee_hundredths=st.integers(0, 10_000),
    vat_hundredths=st.integers(0, 10_000),
)
def test_application_fee_matches_integer_half_up(
    amount: int, fee_hundredths: int, vat_hundredths: int
) -> None:
    fee = (amount * fee_hundredths * 2 + 10_000) // 20_000
    vat = (fee * vat_hundredths * 2 + 10_000) // 20_000
    owed = application_fee(amount, Decimal(fee_hundredths) / 100, Decimal(vat_hundredths) / 100)
    assert owed == fee + vat


@FAST
@given(amount=amounts)
def test_default_fee_owed_is_never_negative_and_vat_is_a_fifth(amount: int) -> None:
    fee = (amount * 2 + 10) // 20
    owed = application_fee(amount, Decimal(10))
    assert owed == fee + (fee * 2 + 5) // 10
    assert 0 <= owed <= amount

"""The fixed-point primary threshold (consensus/babe/threshold.py) against exact and float references.

Floats and decimals appear here only, as references; the code under test is integer-only.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.babe.threshold import (
    FRACTION_BITS,
    compute_exp_negative,
    compute_ln_ratio,
    compute_primary_threshold,
)

TWO_128 = 1 << 128
U64_MAX = (1 << 64) - 1
BOUND = Decimal(2) ** -40  # the documented slack: T − 1 − BOUND < threshold < T + BOUND

stakes = st.integers(1, 10**18).flatmap(lambda total: st.tuples(st.integers(0, total), st.just(total)))
lottery_constants = st.integers(2, U64_MAX).flatmap(lambda den: st.tuples(st.integers(0, den - 1), st.just(den)))


def compute_exact_threshold(stake: int, total: int, c_numerator: int, c_denominator: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 100
        share = Decimal(stake) / Decimal(total)
        keep = 1 - Decimal(c_numerator) / Decimal(c_denominator)
        return (1 - (keep.ln() * share).exp()) * TWO_128


@given(stakes, lottery_constants)
def test_threshold_is_within_the_documented_bound(stake_and_total, c) -> None:
    threshold = compute_primary_threshold(*stake_and_total, *c)
    exact = compute_exact_threshold(*stake_and_total, *c)
    assert type(threshold) is int
    assert -1 - BOUND < threshold - exact < BOUND


@given(stakes, lottery_constants)
def test_threshold_matches_float_math(stake_and_total, c) -> None:
    stake, total = stake_and_total
    # ln(1 − c), each form where it keeps its precision (c near 0; c near 1, where c rounds to 1.0).
    log_keep = math.log1p(-c[0] / c[1]) if 2 * c[0] <= c[1] else math.log(c[1] - c[0]) - math.log(c[1])
    expected = -math.expm1(stake / total * log_keep)
    assert compute_primary_threshold(stake, total, *c) / TWO_128 == pytest.approx(expected, rel=1e-9, abs=1e-15)


@given(st.integers(1, 10**18), st.data(), lottery_constants)
def test_threshold_is_monotone_in_stake(total, data, c) -> None:
    low = data.draw(st.integers(0, total))
    high = data.draw(st.integers(low, total))
    assert compute_primary_threshold(low, total, *c) <= compute_primary_threshold(high, total, *c)


@given(st.integers(1, 10**18), lottery_constants)
def test_zero_stake_never_wins(total, c) -> None:
    assert compute_primary_threshold(0, total, *c) == 0


@given(stakes)
def test_zero_c_never_wins(stake_and_total) -> None:
    assert compute_primary_threshold(*stake_and_total, 0, 10**9) == 0


@pytest.mark.parametrize("c", [(1, 4), (1, 2), (3, 10), (1, 10**9), (999_999_999, 10**9), (U64_MAX - 1, U64_MAX)])
def test_full_stake_wins_with_probability_c(c) -> None:
    floor_c = TWO_128 * c[0] // c[1]
    assert floor_c - 1 <= compute_primary_threshold(10**18, 10**18, *c) <= floor_c


def test_quarter_stake_at_c_one_quarter() -> None:
    # 1 − (3/4)^(1/4) = 0.06939..., the primary win rate of one of four equal authorities.
    assert compute_primary_threshold(1, 4, 1, 4) == int(compute_exact_threshold(1, 4, 1, 4))


def test_threshold_is_below_two_to_the_128() -> None:
    assert compute_primary_threshold(10**18, 10**18, U64_MAX - 1, U64_MAX) < TWO_128


@pytest.mark.parametrize(
    ("stake", "total", "c_numerator", "c_denominator"),
    [(2, 1, 1, 4), (-1, 4, 1, 4), (0, 0, 1, 4), (1, 4, 4, 4), (1, 4, -1, 4), (1, 4, 1, 1 << 64)],
)
def test_threshold_rejects_bad_parameters(stake, total, c_numerator, c_denominator) -> None:
    with pytest.raises(ValueError):
        compute_primary_threshold(stake, total, c_numerator, c_denominator)


@given(st.integers(1, U64_MAX), st.integers(1, U64_MAX))
def test_ln_ratio_is_exact_to_2_to_the_minus_176(a, b) -> None:
    numerator, denominator = max(a, b), min(a, b)
    with localcontext() as ctx:
        ctx.prec = 100
        exact = (Decimal(numerator) / Decimal(denominator)).ln() * 2**FRACTION_BITS
    assert abs(compute_ln_ratio(numerator, denominator) - exact) < 2**16


@given(st.integers(0, 45 << FRACTION_BITS))
def test_exp_negative_is_exact_to_2_to_the_minus_176(y) -> None:
    with localcontext() as ctx:
        ctx.prec = 100
        exact = (-Decimal(y) / 2**FRACTION_BITS).exp() * 2**FRACTION_BITS
    assert abs(compute_exp_negative(y) - exact) < 2**16

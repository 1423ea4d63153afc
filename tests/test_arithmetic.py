"""Checked integer arithmetic and Perbill, with their stated rounding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import ArithmeticOverflow
from runtime.primitives.arithmetic import (
    ONE,
    PERBILL_ACCURACY,
    U64_MAX,
    ZERO,
    Perbill,
    checked_add,
    checked_div_floor,
    checked_mul,
    checked_sub,
    compute_multiply_divide_ceil,
    compute_multiply_divide_floor,
    saturating_sub,
)

u64 = st.integers(0, U64_MAX)
perbills = st.integers(0, PERBILL_ACCURACY).map(Perbill)


def test_overflow_and_underflow_raise() -> None:
    assert checked_add(U64_MAX - 1, 1) == U64_MAX
    with pytest.raises(ArithmeticOverflow):
        checked_add(U64_MAX, 1)
    with pytest.raises(ArithmeticOverflow):
        checked_sub(1, 2)
    with pytest.raises(ArithmeticOverflow):
        checked_mul(2**32, 2**32)
    with pytest.raises(ArithmeticOverflow):
        checked_div_floor(1, 0)
    assert checked_div_floor(7, 2) == 3
    assert saturating_sub(3, 5) == 0


def test_perbill_range_and_constructors() -> None:
    with pytest.raises(ArithmeticOverflow):
        Perbill(PERBILL_ACCURACY + 1)
    with pytest.raises(ArithmeticOverflow):
        Perbill(-1)
    assert Perbill.from_percent(10).parts == 100_000_000
    assert Perbill.from_rational_floor(1, 3).parts == 333_333_333
    assert Perbill.from_rational_floor(5, 3) == ONE
    assert str(Perbill.from_percent(10)) == "10%"


def test_rounding_directions() -> None:
    third = Perbill.from_rational_floor(1, 3)
    assert third.mul_floor(10) == 3
    assert third.mul_ceil(10) == 4
    assert compute_multiply_divide_floor(10, 2, 3) == 6
    assert compute_multiply_divide_ceil(10, 2, 3) == 7


@given(perbills, u64)
def test_mul_bounds(fraction: Perbill, value: int) -> None:
    low, high = fraction.mul_floor(value), fraction.mul_ceil(value)
    assert 0 <= low <= high <= value
    assert high - low <= 1
    assert low * PERBILL_ACCURACY <= value * fraction.parts <= high * PERBILL_ACCURACY


@given(perbills, u64)
def test_complement_splits_without_creating_money(fraction: Perbill, value: int) -> None:
    assert fraction.mul_floor(value) + fraction.complement().mul_floor(value) <= value
    assert fraction.mul_floor(value) + fraction.complement().mul_ceil(value) == value


@given(perbills, st.integers(0, 60))
def test_pow_floor_never_exceeds_exact_power(fraction: Perbill, exponent: int) -> None:
    result = fraction.pow_floor(exponent)
    assert result.parts * PERBILL_ACCURACY ** max(exponent - 1, 0) <= fraction.parts**exponent or exponent == 0
    assert ZERO <= result <= ONE


# --- edges and messages the mutation pass found unpinned (docs/testing.md) ------------------


def test_multiply_divide_edges_and_messages() -> None:
    for compute in (compute_multiply_divide_floor, compute_multiply_divide_ceil):
        assert compute(5, 3, 1) == 15
        with pytest.raises(ArithmeticOverflow, match="^division by zero$"):
            compute(1, 1, 0)
        for operands in ((-1, 1, 1), (1, -1, 1), (1, 1, -1)):
            with pytest.raises(ArithmeticOverflow, match="^operands must be non-negative$"):
                compute(*operands)
    with pytest.raises(ArithmeticOverflow, match="^division by zero$"):
        checked_div_floor(1, 0)


def test_perbill_messages() -> None:
    with pytest.raises(
        ArithmeticOverflow, match=f"^Perbill parts {PERBILL_ACCURACY + 1} outside 0..{PERBILL_ACCURACY}$"
    ):
        Perbill(PERBILL_ACCURACY + 1)
    with pytest.raises(ArithmeticOverflow, match="^negative exponent$"):
        Perbill(1).pow_floor(-1)

"""Checked integer arithmetic and ``Perbill`` fixed point.

Money, stake and time are plain ``int``s bounded to a machine width (u64 by default, the width
the codec stores). Every operation here raises :class:`ArithmeticOverflow` instead of wrapping
or silently growing, and every division states its rounding in its name (``_floor``/``_ceil``).
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.errors import ArithmeticOverflow

U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
U128_MAX = (1 << 128) - 1


def _in_range(value: int, maximum: int) -> int:
    if not 0 <= value <= maximum:
        raise ArithmeticOverflow(f"{value} is outside 0..{maximum}")
    return value


def checked_add(a: int, b: int, maximum: int = U64_MAX) -> int:
    return _in_range(a + b, maximum)


def checked_sub(a: int, b: int, maximum: int = U64_MAX) -> int:
    """``a - b``; raises on underflow (a balance never goes below zero)."""
    return _in_range(a - b, maximum)


def checked_mul(a: int, b: int, maximum: int = U64_MAX) -> int:
    return _in_range(a * b, maximum)


def checked_div_floor(a: int, b: int) -> int:
    """``a // b`` for non-negative operands; raises on division by zero."""
    if b == 0:
        raise ArithmeticOverflow("division by zero")
    _in_range(a, U128_MAX)
    _in_range(b, U128_MAX)
    return a // b


def saturating_sub(a: int, b: int) -> int:
    """``max(a - b, 0)``: for quantities that stop at zero by definition (e.g. a decaying budget)."""
    return a - b if a > b else 0


def compute_multiply_divide_floor(value: int, numerator: int, denominator: int) -> int:
    """``floor(value * numerator / denominator)`` with the product held exactly (no overflow)."""
    if denominator == 0:
        raise ArithmeticOverflow("division by zero")
    if value < 0 or numerator < 0 or denominator < 0:
        raise ArithmeticOverflow("operands must be non-negative")
    return value * numerator // denominator


def compute_multiply_divide_ceil(value: int, numerator: int, denominator: int) -> int:
    """``ceil(value * numerator / denominator)`` with the product held exactly."""
    if denominator == 0:
        raise ArithmeticOverflow("division by zero")
    if value < 0 or numerator < 0 or denominator < 0:
        raise ArithmeticOverflow("operands must be non-negative")
    return -(-(value * numerator) // denominator)


PERBILL_ACCURACY = 1_000_000_000


@dataclass(frozen=True, order=True)
class Perbill:
    """A fraction in [0, 1] held as parts per billion (10^9), as in Substrate.

    Rounding is always explicit: ``mul_floor`` rounds toward zero (use it for what the chain
    pays out, so rounding never creates money), ``mul_ceil`` rounds up (use it for what the
    chain takes, e.g. a minimum slash).
    """

    parts: int

    def __post_init__(self) -> None:
        if type(self.parts) is not int or not 0 <= self.parts <= PERBILL_ACCURACY:
            raise ArithmeticOverflow(f"Perbill parts {self.parts!r} outside 0..{PERBILL_ACCURACY}")

    @classmethod
    def from_percent(cls, percent: int) -> Perbill:
        return cls(checked_mul(percent, PERBILL_ACCURACY // 100))

    @classmethod
    def from_rational_floor(cls, numerator: int, denominator: int) -> Perbill:
        """``numerator / denominator`` rounded down, capped at one."""
        if numerator >= denominator:
            return ONE
        return cls(compute_multiply_divide_floor(PERBILL_ACCURACY, numerator, denominator))

    def mul_floor(self, value: int) -> int:
        return compute_multiply_divide_floor(value, self.parts, PERBILL_ACCURACY)

    def mul_ceil(self, value: int) -> int:
        return compute_multiply_divide_ceil(value, self.parts, PERBILL_ACCURACY)

    def complement(self) -> Perbill:
        """``1 - self``."""
        return Perbill(PERBILL_ACCURACY - self.parts)

    def mul_perbill_floor(self, other: Perbill) -> Perbill:
        """Product of two fractions, rounded down."""
        return Perbill(self.parts * other.parts // PERBILL_ACCURACY)

    def pow_floor(self, exponent: int) -> Perbill:
        """``self ** exponent``, rounding down after every multiplication (so the result
        depends only on the two operands, and never exceeds the exact power)."""
        if exponent < 0:
            raise ArithmeticOverflow("negative exponent")
        result = ONE
        for _ in range(exponent):
            result = result.mul_perbill_floor(self)
        return result

    def __str__(self) -> str:
        whole, rest = divmod(self.parts * 100, PERBILL_ACCURACY)
        return f"{whole}.{rest:09d}".rstrip("0").rstrip(".") + "%"


ZERO = Perbill(0)
ONE = Perbill(PERBILL_ACCURACY)

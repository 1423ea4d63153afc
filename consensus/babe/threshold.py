"""The primary-slot threshold ``2^128 · (1 − (1 − c)^(stake / total_stake))`` in integer fixed point.

An authority with a share ``x = stake / total_stake`` wins a primary slot with probability
``p(x) = 1 − (1 − c)^x`` (BABE), so that the chance that *some* authority wins a slot, ``c`` at
most, does not depend on how the stake is split. Its VRF output, read as a big-endian u128, wins
when it is below ``threshold = 2^128 · p(x)``.

Method: ``p(x) = 1 − exp(−x · L)`` with ``L = ln(1 / (1 − c))``, in fixed point with
``FRACTION_BITS`` = 192 fractional bits and Python's exact integers (the same bits on every machine):

* ``ln z`` for a rational ``z ≥ 1``: ``z = 2^k · m`` with ``m`` in [1, 2), ``ln z = k·ln 2 + 2·atanh(u)``,
  ``u = (m − 1)/(m + 1) ≤ 1/3``, and ``atanh(u) = u + u^3/3 + u^5/5 + …`` (``ln 2 = 2·atanh(1/3)``);
* ``exp(−y)`` for ``y ≥ 0``: ``y = k·ln 2 + r`` with ``0 ≤ r < ln 2``, ``exp(−y) = 2^−k · Σ (−r)^n / n!``;
* every multiplication and division floors; the series stop when a term floors to zero.

Error bound. Every intermediate value is within 2^-174 of its exact counterpart (the worst terms
are ``k · ln 2`` for ``k`` up to 64, each under 2^-177), so ``2^128 · p(x)`` is approximated to within
2^-46 before the last step, which floors to 128 bits. Hence, with ``T = 2^128 · p(x)`` exact::

    T − 1 − 2^-40  <  threshold  <  T + 2^-40

i.e. the threshold is ``floor(T)`` or one below, and a win probability is off by less than 2^-127.
Zero stake (or ``c = 0``) gives exactly 0.
"""

from __future__ import annotations

from runtime.primitives.arithmetic import U64_MAX

FRACTION_BITS = 192
THRESHOLD_BITS = 128
_ONE = 1 << FRACTION_BITS


def _compute_atanh(u: int) -> int:
    """``atanh(u)`` in fixed point for ``0 ≤ u ≤ 1/3`` (each term rounds down)."""
    u_squared = (u * u) >> FRACTION_BITS
    total, power, divisor = 0, u, 1
    while power:
        total += power // divisor
        power = (power * u_squared) >> FRACTION_BITS
        divisor += 2
    return total


_LN_2 = 2 * _compute_atanh(_ONE // 3)


def compute_ln_ratio(numerator: int, denominator: int) -> int:
    """``ln(numerator / denominator)`` in fixed point, for ``numerator ≥ denominator ≥ 1``."""
    if not 1 <= denominator <= numerator:
        raise ValueError("compute_ln_ratio needs numerator >= denominator >= 1")
    k = (numerator // denominator).bit_length() - 1  # 2^k ≤ z < 2^(k+1)
    scaled = denominator << k
    u = ((numerator - scaled) << FRACTION_BITS) // (numerator + scaled)
    return k * _LN_2 + 2 * _compute_atanh(u)


def compute_exp_negative(y: int) -> int:
    """``exp(−y)`` in fixed point for a fixed-point ``y ≥ 0`` (at most one, exactly one at zero)."""
    if y < 0:
        raise ValueError("compute_exp_negative needs y >= 0")
    k, r = divmod(y, _LN_2)
    total, term, n = _ONE, _ONE, 1
    while term:
        term = ((term * r) >> FRACTION_BITS) // n
        total += -term if n % 2 else term
        n += 1
    return total >> k


def compute_primary_threshold(stake: int, total_stake: int, c_numerator: int, c_denominator: int) -> int:
    """``2^128 · (1 − (1 − c)^(stake / total_stake))`` with ``c = c_numerator / c_denominator``, rounded
    down to within the bound in the module docstring; always below ``2^128``.

    Needs ``0 ≤ stake ≤ total_stake``, ``total_stake ≥ 1`` and ``0 ≤ c < 1`` with a u64 denominator.
    """
    if not 0 <= stake <= total_stake or total_stake < 1:
        raise ValueError(f"stake {stake} is not a share of total stake {total_stake}")
    if not 0 <= c_numerator < c_denominator <= U64_MAX:
        raise ValueError(f"c = {c_numerator}/{c_denominator} is not a fraction in [0, 1) over a u64")
    ln_inverse = compute_ln_ratio(c_denominator, c_denominator - c_numerator)
    probability = _ONE - compute_exp_negative(ln_inverse * stake // total_stake)
    return probability >> (FRACTION_BITS - THRESHOLD_BITS)

"""edwards25519 points in Python, for what libsodium's point API cannot do for the VRF verifier.

libsodium refuses every point outside the prime-order subgroup and re-validates its input on each
call (a subgroup check costs about as much as the multiplication itself). The verifier needs:

* points of any order, as RFC 9381 decodes them: keys with a torsion component, and hash-to-curve
  candidates that must be cofactor-cleared (``decode_point``, ``multiply_by_cofactor``);
* ``c·Y`` for a 128-bit challenge ``c`` and a key ``Y`` that is used again and again: a table of
  multiples of ``Y``, computed once per key (``compute_multiples_table``), turns it into 16 or 17
  additions (``multiply_with_table``);
* encodings of several points for the price of one field inversion (``encode_points``).

A square root in the field costs nearly two ed25519 signature verifications in Python, so
``decode_point`` takes none: it lets libsodium's point addition (fast C) decode and add the base
point, and reads x off the sum, in projective form. Everything here is variable-time: use it only
on public data. Formulas are the complete extended-coordinate ones of Hisil, Wong, Carter and
Dawson (2008) for ``a = -1``, as in RFC 8032 section 5.1.4.
"""

from __future__ import annotations

from collections.abc import Sequence

from nacl.bindings import crypto_core_ed25519_add

FIELD_PRIME = 2**255 - 19
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
ENCODED_SIZE = 32
COFACTOR_DOUBLINGS = 3  # the cofactor is 8 = 2^3

_D = -121665 * pow(121666, -1, FIELD_PRIME) % FIELD_PRIME
_D2 = 2 * _D % FIELD_PRIME
_Y_MASK = (1 << 255) - 1
# The base point B (RFC 8032 section 5.1): y = 4/5, x even.
_BASE_ENCODING = bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666")
_BASE_X = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BASE_Y = 46316835694926478169428394003475163141307993866256225615783033603165251855960
_WINDOW_BITS = 8
_WINDOW_HALF = 1 << (_WINDOW_BITS - 1)  # digits lie in [-128, 127]: entries 1..128 per window
_WINDOW_MASK = (1 << _WINDOW_BITS) - 1
_PACKED_BITS = 256
_PACKED_MASK = (1 << _PACKED_BITS) - 1

# Extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, x·y = T/Z.
Point = tuple[int, int, int, int]
# Entry ``w * 128 + (m - 1)`` is m·256^w·P for m in 1..128, in affine "Niels" form
# (y + x, y - x, 2·d·x·y), the cheapest to add, packed into one int as
# ``(y + x) | (y - x) << 256 | 2·d·x·y << 512``: one object instead of four halves the memory.
MultiplesTable = tuple[int, ...]

IDENTITY: Point = (0, 1, 1, 0)


def has_canonical_form(encoded: bytes) -> bool:
    """Whether ``encoded`` passes RFC 8032's decoding checks that need no square root.

    Those are: y < p, and no sign bit on x = 0 (y = ±1). Together with "x² is a square" (which
    libsodium checks when it decodes) this is exactly RFC 8032 section 5.1.3, which libsodium's
    add/sub alone do not enforce.
    """
    n = int.from_bytes(encoded, "little")
    y = n & _Y_MASK
    return y < FIELD_PRIME and not (n >> 255 and y in (1, FIELD_PRIME - 1))


def decode_point(encoded: bytes) -> Point | None:
    """The point ``encoded`` stands for under RFC 8032 section 5.1.3, or None.

    Any curve point decodes, torsion component or not; non-canonical encodings do not. libsodium's
    addition decodes the point (failing if x² has no root) and returns y' = y(P + B). Since
    y' = (y·y_B + x·x_B) / (1 - d·x·x_B·y·y_B) is linear in x once the ys are known, x is
    (y' - y·y_B) / ((1 + d·y·y_B·y')·x_B): a fraction, so P comes out projective, with no
    square root and no inversion. The denominator never vanishes, as -1/d is not a square.
    """
    if len(encoded) != ENCODED_SIZE or not has_canonical_form(encoded):
        return None
    try:
        sum_with_base = crypto_core_ed25519_add(encoded, _BASE_ENCODING)
    except RuntimeError:  # libsodium found no x for this y: not a curve point
        return None
    p = FIELD_PRIME
    y = int.from_bytes(encoded, "little") & _Y_MASK
    y_sum = int.from_bytes(sum_with_base, "little") & _Y_MASK
    y_product = y * _BASE_Y % p
    x_numerator = (y_sum - y_product) % p
    z = (1 + _D * y_product % p * y_sum) % p * _BASE_X % p
    return (x_numerator, y * z % p, z, x_numerator * y % p)


def encode_point(point: Point) -> bytes:
    """The canonical 32-byte encoding (RFC 8032 section 5.1.2)."""
    return encode_points([point])[0]


def encode_points(points: Sequence[Point]) -> list[bytes]:
    """Encodings of ``points``, sharing one field inversion among all of them."""
    encodings = []
    for (big_x, big_y, _, _), z_inverse in zip(points, _get_inverses([point[2] for point in points])):
        x = big_x * z_inverse % FIELD_PRIME
        y = big_y * z_inverse % FIELD_PRIME
        encodings.append((y | (x & 1) << 255).to_bytes(ENCODED_SIZE, "little"))
    return encodings


def _get_inverses(values: list[int]) -> list[int]:
    """Inverses mod p of nonzero ``values``, by Montgomery's trick: one inversion for all."""
    p = FIELD_PRIME
    prefix_products = []
    product = 1
    for value in values:
        prefix_products.append(product)
        product = product * value % p
    inverse = pow(product, -1, p)
    inverses = []
    for value, prefix in zip(reversed(values), reversed(prefix_products)):
        inverses.append(inverse * prefix % p)
        inverse = inverse * value % p
    inverses.reverse()
    return inverses


def add_points(first: Point, second: Point) -> Point:
    """first + second (complete: valid for every pair of curve points, doubling included)."""
    p = FIELD_PRIME
    x1, y1, z1, t1 = first
    x2, y2, z2, t2 = second
    a = (y1 - x1) * (y2 - x2) % p
    b = (y1 + x1) * (y2 + x2) % p
    c = t1 * _D2 % p * t2 % p
    d = 2 * z1 * z2 % p
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % p, g * h % p, f * g % p, e * h % p)


def double_point(point: Point) -> Point:
    """2·point, cheaper than ``add_points(point, point)``.

    The squares are only partly reduced (2^255 ≡ 19 mod p), to under 2^260, which costs half a
    ``% p``; the four products that make the result are reduced fully, so nothing grows.
    """
    p = FIELD_PRIME
    x1, y1, z1, _ = point
    a = x1 * x1
    a = (a & _Y_MASK) + (a >> 255) * 19
    b = y1 * y1
    b = (b & _Y_MASK) + (b >> 255) * 19
    c = z1 * z1
    c = 2 * ((c & _Y_MASK) + (c >> 255) * 19)
    s = (x1 + y1) * (x1 + y1)
    s = (s & _Y_MASK) + (s >> 255) * 19
    h = a + b
    e = h - s
    g = a - b
    f = c + g
    return (e * f % p, g * h % p, f * g % p, e * h % p)


def is_identity(point: Point) -> bool:
    """Whether ``point`` is the neutral element (x = 0, y = 1)."""
    big_x, big_y, big_z, _ = point
    return big_x % FIELD_PRIME == 0 and (big_y - big_z) % FIELD_PRIME == 0


def multiply_by_cofactor(point: Point) -> Point:
    """8·point: clears any torsion component."""
    for _ in range(COFACTOR_DOUBLINGS):
        point = double_point(point)
    return point


def is_small_order(point: Point) -> bool:
    """Whether 8·point is the identity, the one key check RFC 9381 (ECVRF_validate_key) asks for."""
    return is_identity(multiply_by_cofactor(point))


def compute_multiples_table(point: Point, scalar_bits: int) -> MultiplesTable:
    """m·256^w·point for m in 1..128 and every window w a ``scalar_bits``-bit scalar needs.

    Signed base-256 digits of a ``scalar_bits``-bit scalar need one window more than its bytes,
    for the last carry. Entries are normalised to affine coordinates with one shared inversion.
    """
    windows = scalar_bits // _WINDOW_BITS + 1
    multiples: list[Point] = []
    window_base = point
    for _ in range(windows):
        multiple = window_base
        multiples.append(multiple)
        for _ in range(_WINDOW_HALF - 1):
            multiple = add_points(multiple, window_base)
            multiples.append(multiple)
        window_base = double_point(multiple)  # 2·128·base = 256·base
    return tuple(_get_packed_niels_forms(multiples))


def _get_packed_niels_forms(points: list[Point]) -> list[int]:
    """Packed affine Niels forms of ``points`` (see ``MultiplesTable``), with one shared inversion."""
    p = FIELD_PRIME
    forms = []
    for (big_x, big_y, _, _), z_inverse in zip(points, _get_inverses([point[2] for point in points])):
        x = big_x * z_inverse % p
        y = big_y * z_inverse % p
        y_plus_x, y_minus_x, t2d = (y + x) % p, (y - x) % p, _D2 * x % p * y % p
        forms.append(y_plus_x | y_minus_x << _PACKED_BITS | t2d << (2 * _PACKED_BITS))
    return forms


def multiply_with_table(table: MultiplesTable, scalar: int) -> Point:
    """scalar·P for the point P that ``table`` was computed for, and 0 <= scalar < 2^scalar_bits.

    The scalar is read as signed base-256 digits in [-128, 127] (plus a final carry), so each
    nonzero window costs one mixed addition; a negative digit adds the negated entry.
    """
    p = FIELD_PRIME
    x1, y1, z1, t1 = IDENTITY
    carry = 0
    offset = 0
    while scalar or carry:
        digit = (scalar & _WINDOW_MASK) + carry
        scalar >>= _WINDOW_BITS
        carry = digit >= _WINDOW_HALF
        if carry:
            digit -= 1 << _WINDOW_BITS
        if digit:
            entry = table[offset + abs(digit) - 1]
            y_plus_x = entry & _PACKED_MASK
            y_minus_x = entry >> _PACKED_BITS & _PACKED_MASK
            t2d = entry >> (2 * _PACKED_BITS)
            if digit < 0:
                y_plus_x, y_minus_x, t2d = y_minus_x, y_plus_x, -t2d
            # a, b and c are only partly reduced, as in ``double_point``.
            a = (y1 - x1) * y_minus_x
            a = (a & _Y_MASK) + (a >> 255) * 19
            b = (y1 + x1) * y_plus_x
            b = (b & _Y_MASK) + (b >> 255) * 19
            c = t1 * t2d
            c = (c & _Y_MASK) + (c >> 255) * 19
            d = 2 * z1
            e, f, g, h = b - a, d - c, d + c, b + a
            x1, y1, z1, t1 = e * f % p, g * h % p, f * g % p, e * h % p
        offset += _WINDOW_HALF
    return (x1, y1, z1, t1)

"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381): a verifiable random function on ed25519 keys.

``prove(seed, alpha)`` gives an 80-byte proof ``pi = Gamma ‖ c ‖ s``; anyone holding the public key
checks it with ``verify(public_key, alpha, pi)``, which returns the 64-byte output ``beta``. For a
given key and input exactly one ``beta`` can be proven, and nobody without the seed can predict it.
The secret seed and public key are those of ed25519 (RFC 8032); the ``encode_to_curve_salt`` is
the public key, hash-to-curve is try-and-increment (RFC 9381 section 5.4.1.1) and nonces are
RFC 8032-style (section 5.4.2.2).

Where this is stricter than RFC 9381 (``verify`` rejects proofs the RFC would accept):

* ``Gamma`` must be the canonical encoding of a point in the prime-order subgroup, not merely of a
  curve point. Honest proofs always satisfy this (``Gamma = x·H`` and ``H`` is cofactor-cleared); a
  key holder could add a small-order component to ``Gamma`` and re-derive ``c``, which the RFC
  accepts with an unchanged ``beta``. Refusing it costs nothing (libsodium's multiplication by
  ``c`` checks exactly this) and leaves one valid ``Gamma`` per output. ``proof_to_hash`` alone
  applies only the RFC's decoding check to ``Gamma``.

Where this is exactly RFC 9381: ``s`` must be below the group order; the public key must be a
canonical point encoding (RFC 8032) and not of small order (``ECVRF_validate_key``), so keys with
a torsion component are accepted, and their ``c·Y`` is computed exactly.

Cost. Verification uses public data only, so it may be variable-time, and it costs just under
seven ed25519 signature verifications (two of libsodium's general scalar multiplications, at
about 1.7 each, are most of it). A key is decoded, checked and expanded into a table
of multiples once (cached by its bytes), after which ``c·Y`` is 16 or 17 Python additions.
``Gamma`` and the hash-to-curve candidates are decoded with one libsodium addition each (see
``edwards25519.decode_point``: no Python square root), cofactor-cleared by Python doublings, and
encoded together with ``c·Y`` for the price of one inversion. ``s·B`` is libsodium's fixed-base
multiplication; ``s·H`` and ``c·Gamma`` are libsodium's general one, whose point check on
``Gamma`` is the subgroup check above. Proving handles the secret: every multiplication by a
secret scalar, and the scalar arithmetic on ``x``, ``k`` and ``s``, is libsodium's constant-time
code.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from nacl.bindings import (
    crypto_core_ed25519_is_valid_point,
    crypto_core_ed25519_scalar_add,
    crypto_core_ed25519_scalar_mul,
    crypto_core_ed25519_scalar_reduce,
    crypto_core_ed25519_sub,
    crypto_scalarmult_ed25519_base_noclamp,
    crypto_scalarmult_ed25519_noclamp,
    crypto_sign_seed_keypair,
)

from runtime.errors import InvalidKey, InvalidVrfProof
from runtime.primitives.edwards25519 import (
    ENCODED_SIZE,
    GROUP_ORDER,
    MultiplesTable,
    Point,
    compute_multiples_table,
    decode_point,
    encode_point,
    encode_points,
    is_identity,
    is_small_order,
    multiply_by_cofactor,
    multiply_with_table,
)

SEED_SIZE = 32
PUBLIC_KEY_SIZE = ENCODED_SIZE
CHALLENGE_SIZE = 16  # cLen
SCALAR_SIZE = 32  # qLen
PROOF_SIZE = ENCODED_SIZE + CHALLENGE_SIZE + SCALAR_SIZE  # 80
OUTPUT_SIZE = 64

# How many public keys keep their table of multiples (about 0.3 MB each, so up to about 300 MB
# if that many keys are in use). It must hold a whole authority set (the session pallet allows
# 1,000): authors take turns, so a smaller cache would evict each key just before its next turn
# and rebuild a table (about 300 verifications' worth) on every block.
KEY_CACHE_SIZE = 1024

SUITE_STRING = b"\x03"
_ENCODE_TO_CURVE_FRONT = b"\x01"
_CHALLENGE_FRONT = b"\x02"
_PROOF_TO_HASH_FRONT = b"\x03"
_DOMAIN_BACK = b"\x00"

_IDENTITY_ENCODING = (1).to_bytes(ENCODED_SIZE, "little")


def public_key(secret_seed: bytes) -> bytes:
    """The 32-byte VRF public key of a 32-byte seed: the ed25519 public key of that seed."""
    _check_seed(secret_seed)
    return crypto_sign_seed_keypair(secret_seed)[0]


def prove(secret_seed: bytes, alpha: bytes) -> bytes:
    """The 80-byte proof ``Gamma ‖ c ‖ s`` of the VRF output for ``alpha`` (RFC 9381 5.1)."""
    _check_seed(secret_seed)
    expanded = hashlib.sha512(secret_seed).digest()
    secret_scalar = _get_clamped_scalar(expanded[:32])
    key = crypto_scalarmult_ed25519_base_noclamp(secret_scalar)
    h = encode_point(_compute_encode_to_curve(key, alpha))
    gamma = _multiply(secret_scalar, h)
    nonce = crypto_core_ed25519_scalar_reduce(hashlib.sha512(expanded[32:] + h).digest())
    challenge = _compute_challenge(key, h, gamma, _multiply_base(nonce), _multiply(nonce, h))
    reduced_secret = crypto_core_ed25519_scalar_reduce(secret_scalar + bytes(32))
    challenge_term = crypto_core_ed25519_scalar_mul(_widen(challenge), reduced_secret)
    s = crypto_core_ed25519_scalar_add(nonce, challenge_term)
    return gamma + challenge + s


def proof_to_hash(proof: bytes) -> bytes:
    """The 64-byte output ``beta`` of ``proof`` (RFC 9381 5.2), without checking the proof.

    Only for proofs already verified (or just made): it checks that the proof decodes, nothing more.
    """
    gamma_point = _decode_proof(proof)[3]
    return _compute_output(encode_point(multiply_by_cofactor(gamma_point)))


def verify(public_key: bytes, alpha: bytes, proof: bytes) -> bytes:
    """``beta`` if ``proof`` proves ``alpha`` under ``public_key`` (RFC 9381 5.3).

    Raises :class:`InvalidKey` for a malformed or small-order key, :class:`InvalidVrfProof` for a
    proof that is malformed or does not verify.
    """
    key_table = _get_key_table(_check_public_key(public_key))
    gamma, challenge, s, gamma_point = _decode_proof(proof)
    gamma_multiple = _multiply(_widen(challenge), gamma)
    h, gamma_cofactor_multiple, key_multiple = encode_points(
        [
            _compute_encode_to_curve(public_key, alpha),
            multiply_by_cofactor(gamma_point),
            multiply_with_table(key_table, int.from_bytes(challenge, "little")),
        ]
    )
    u = crypto_core_ed25519_sub(_multiply_base(s), key_multiple)
    v = crypto_core_ed25519_sub(_multiply(s, h), gamma_multiple)
    if _compute_challenge(public_key, h, gamma, u, v) != challenge:
        raise InvalidVrfProof("proof does not verify: recomputed challenge differs for this key and input")
    return _compute_output(gamma_cofactor_multiple)


def _check_seed(secret_seed: bytes) -> None:
    if type(secret_seed) is not bytes or len(secret_seed) != SEED_SIZE:
        raise InvalidKey(f"VRF secret seed must be {SEED_SIZE} bytes")


def _check_public_key(key: bytes) -> bytes:
    if type(key) is not bytes or len(key) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"VRF public key must be {PUBLIC_KEY_SIZE} bytes")
    return key


@lru_cache(maxsize=KEY_CACHE_SIZE)
def _get_key_table(key: bytes) -> MultiplesTable:
    """The multiples table of a valid key, so each key is decoded and checked only once.

    The table costs about three hundred signature verifications, which the cache spreads over
    every proof made with the key. So the first verification under a key is slow: callers should
    verify only under keys they already know (an authority set), never under keys an untrusted
    peer chose. Invalid keys raise, and are not cached.
    """
    point = decode_point(key)
    if point is None:
        raise InvalidKey("VRF public key is not the canonical encoding of a curve point")
    if is_small_order(point):
        raise InvalidKey("VRF public key has small order")
    return compute_multiples_table(point, 8 * CHALLENGE_SIZE)


def _decode_proof(proof: bytes) -> tuple[bytes, bytes, bytes, Point]:
    """``(Gamma, c, s)`` of a well-formed proof and the point Gamma (RFC 9381 ECVRF_decode_proof)."""
    if type(proof) is not bytes or len(proof) != PROOF_SIZE:
        raise InvalidVrfProof(f"VRF proof must be {PROOF_SIZE} bytes")
    gamma = proof[:ENCODED_SIZE]
    challenge = proof[ENCODED_SIZE : ENCODED_SIZE + CHALLENGE_SIZE]
    s = proof[ENCODED_SIZE + CHALLENGE_SIZE :]
    if int.from_bytes(s, "little") >= GROUP_ORDER:
        raise InvalidVrfProof("proof's s is not below the group order")
    gamma_point = decode_point(gamma)
    if gamma_point is None:
        raise InvalidVrfProof("proof's Gamma is not the canonical encoding of a curve point")
    return gamma, challenge, s, gamma_point


def _compute_encode_to_curve(salt: bytes, alpha: bytes) -> Point:
    """``H``, the encoding of ``alpha`` as a point of the prime-order subgroup (RFC 9381 5.4.1.1).

    Each try succeeds with probability about one half; a 257th try, which needs 2^-256 bad luck,
    fails with OverflowError because the counter is one byte.
    """
    prefix = SUITE_STRING + _ENCODE_TO_CURVE_FRONT + salt + alpha
    counter = 0
    while True:
        candidate = hashlib.sha512(prefix + counter.to_bytes(1, "little") + _DOMAIN_BACK).digest()
        point = decode_point(candidate[:ENCODED_SIZE])
        if point is not None:
            h = multiply_by_cofactor(point)
            if not is_identity(h):
                return h
        counter += 1


def _compute_challenge(key: bytes, h: bytes, gamma: bytes, u: bytes, v: bytes) -> bytes:
    """The 16-byte challenge ``c`` over the five points (RFC 9381 5.4.3)."""
    message = SUITE_STRING + _CHALLENGE_FRONT + key + h + gamma + u + v + _DOMAIN_BACK
    return hashlib.sha512(message).digest()[:CHALLENGE_SIZE]


def _compute_output(gamma_cofactor_multiple: bytes) -> bytes:
    """``beta`` from ``8·Gamma`` (RFC 9381 5.2)."""
    message = SUITE_STRING + _PROOF_TO_HASH_FRONT + gamma_cofactor_multiple + _DOMAIN_BACK
    return hashlib.sha512(message).digest()


def _get_clamped_scalar(half: bytes) -> bytes:
    """RFC 8032's secret scalar ``x``: clear the 3 low bits and the top bit, set bit 254."""
    clamped = bytearray(half)
    clamped[0] &= 248
    clamped[31] &= 127
    clamped[31] |= 64
    return bytes(clamped)


def _widen(challenge: bytes) -> bytes:
    """The 16-byte challenge as a 32-byte little-endian scalar."""
    return challenge + bytes(SCALAR_SIZE - CHALLENGE_SIZE)


def _multiply_base(scalar: bytes) -> bytes:
    """scalar·B; libsodium refuses to return the identity (scalar ≡ 0), so that is answered here."""
    try:
        return crypto_scalarmult_ed25519_base_noclamp(scalar)
    except RuntimeError:
        return _IDENTITY_ENCODING


def _multiply(scalar: bytes, point: bytes) -> bytes:
    """scalar·point, raising InvalidVrfProof for a point outside the prime-order subgroup.

    libsodium checks the point on every call (canonical, not of small order, in the prime-order
    subgroup): that is how ``Gamma`` gets checked, while ``H`` always passes. It also refuses to
    return the identity (scalar ≡ 0), which is answered here once the point is known to be valid;
    no branch depends on a secret scalar otherwise.
    """
    try:
        return crypto_scalarmult_ed25519_noclamp(scalar, point)
    except RuntimeError:
        if not crypto_core_ed25519_is_valid_point(point):
            message = "proof's Gamma is of small order or outside the prime-order subgroup"
            raise InvalidVrfProof(message) from None
        return _IDENTITY_ENCODING

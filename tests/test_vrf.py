"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381) and the edwards25519 arithmetic behind its verifier.

The RFC vectors pin the exact bytes. A slow RFC-exact reference in this file, straight from the
RFC's pseudocode and apart from every fast path (its own square-root decoding, double-and-add
multiplication, no libsodium, no tables), checks everything else: random keys and inputs, the
hash-to-curve, keys with a torsion component (which RFC 9381 accepts, and so do we), and proofs
whose Gamma carries a torsion component (which RFC 9381 accepts and we deliberately reject).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from itertools import count
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import (
    crypto_core_ed25519_add,
    crypto_scalarmult_ed25519_base_noclamp,
    crypto_scalarmult_ed25519_noclamp,
)

from runtime.errors import InvalidKey, InvalidVrfProof
from runtime.primitives import edwards25519 as ed
from runtime.primitives import vrf

VECTORS = json.loads((Path(__file__).parent / "vectors" / "ecvrf_rfc9381_tai.json").read_text())["vectors"]
P = ed.FIELD_PRIME
L = ed.GROUP_ORDER
SEEDS = [hashlib.sha256(b"vrf test seed %d" % i).digest() for i in range(3)]


def unhex(vector: dict, field: str) -> bytes:
    return bytes.fromhex(vector[field])


def le(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


def flip_bit(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --- The slow RFC-exact reference (pure Python, variable base, points of any order) ---


def multiply(point: ed.Point, scalar: int) -> ed.Point:
    result = ed.IDENTITY
    for bit in bin(scalar)[2:]:
        result = ed.double_point(result)
        if bit == "1":
            result = ed.add_points(result, point)
    return result


def negate(point: ed.Point) -> ed.Point:
    x, y, z, t = point
    return (-x % P, y, z, -t % P)


def subtract(first: ed.Point, second: ed.Point) -> ed.Point:
    return ed.add_points(first, negate(second))


D = -121665 * pow(121666, -1, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def reference_decode(encoded: bytes) -> ed.Point | None:
    """RFC 8032 section 5.1.3, square root and all."""
    n = int.from_bytes(encoded, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    if len(encoded) != 32 or y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P != u:
        if v * x * x % P != -u % P:
            return None
        x = x * SQRT_M1 % P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def decode(encoded: bytes) -> ed.Point:
    point = reference_decode(encoded)
    assert point is not None
    return point


BASE = decode(bytes.fromhex("58" + "66" * 31))  # RFC 8032: y = 4/5, x even
# A generator of the 8-torsion: its multiples are the eight points of small order.
TORSION = decode(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"))
SMALL_ORDER_ENCODINGS = [ed.encode_point(multiply(TORSION, k)) for k in range(8)]


def secret_scalar(seed: bytes) -> int:
    digest = int.from_bytes(hashlib.sha512(seed).digest()[:32], "little")
    return (digest & ~7 & ((1 << 254) - 1)) | (1 << 254)


def reference_encode_to_curve(salt: bytes, alpha: bytes) -> ed.Point:
    for counter in range(256):
        digest = hashlib.sha512(b"\x03\x01" + salt + alpha + bytes([counter]) + b"\x00").digest()
        candidate = reference_decode(digest[:32])
        if candidate is not None and not ed.is_identity(multiply(candidate, 8)):
            return multiply(candidate, 8)
    raise AssertionError("no point in 256 tries")


def reference_challenge(*points: bytes) -> int:
    digest = hashlib.sha512(b"\x03\x02" + b"".join(points) + b"\x00").digest()
    return int.from_bytes(digest[:16], "little")


def reference_output(gamma: ed.Point) -> bytes:
    return hashlib.sha512(b"\x03\x03" + ed.encode_point(multiply(gamma, 8)) + b"\x00").digest()


def reference_prove(seed: bytes, alpha: bytes) -> bytes:
    x = secret_scalar(seed)
    key = ed.encode_point(multiply(BASE, x))
    h = reference_encode_to_curve(key, alpha)
    h_string = ed.encode_point(h)
    gamma = ed.encode_point(multiply(h, x))
    nonce_digest = hashlib.sha512(hashlib.sha512(seed).digest()[32:] + h_string).digest()
    k = int.from_bytes(nonce_digest, "little") % L
    u, v = ed.encode_point(multiply(BASE, k)), ed.encode_point(multiply(h, k))
    c = reference_challenge(key, h_string, gamma, u, v)
    return gamma + le(c, 16) + le((k + c * x) % L, 32)


def reference_verify(key: bytes, alpha: bytes, proof: bytes) -> bytes | None:
    """RFC 9381 section 5.3 with validate_key: beta, or None for INVALID."""
    y = reference_decode(key)
    gamma = reference_decode(proof[:32])
    c, s = int.from_bytes(proof[32:48], "little"), int.from_bytes(proof[48:], "little")
    if y is None or ed.is_small_order(y) or gamma is None or s >= L:
        return None
    h = reference_encode_to_curve(key, alpha)
    u = subtract(multiply(BASE, s), multiply(y, c))
    v = subtract(multiply(h, s), multiply(gamma, c))
    points = (key, ed.encode_point(h), proof[:32], ed.encode_point(u), ed.encode_point(v))
    return reference_output(gamma) if reference_challenge(*points) == c else None


def forge_proof_with_torsion_gamma(seed: bytes, alpha: bytes) -> bytes:
    """A proof RFC 9381 accepts, made by the key holder, whose Gamma is x·H + T (T of order 8).

    The verifier's V then carries -c·T, so the prover guesses c mod 8 and retries until right.
    """
    x = secret_scalar(seed)
    key = vrf.public_key(seed)
    h = reference_encode_to_curve(key, alpha)
    gamma = ed.encode_point(ed.add_points(multiply(h, x), TORSION))
    for attempt in count():
        k = int.from_bytes(hashlib.sha512(b"forge %d" % attempt).digest(), "little") % L
        guess = 1 + attempt % 7  # c mod 8, nonzero so that c·T matters
        u = ed.encode_point(multiply(BASE, k))
        v = ed.encode_point(subtract(multiply(h, k), multiply(TORSION, guess)))
        c = reference_challenge(key, ed.encode_point(h), gamma, u, v)
        if c % 8 == guess:
            return gamma + le(c, 16) + le((k + c * x) % L, 32)
    raise AssertionError("unreachable")


def forge_mixed_order_key_proof(seed: bytes, alpha: bytes) -> tuple[bytes, bytes]:
    """A key Y = x·B + T with a torsion component, and a proof under it that RFC 9381 accepts."""
    x = secret_scalar(seed)
    key = ed.encode_point(ed.add_points(multiply(BASE, x), TORSION))
    h = reference_encode_to_curve(key, alpha)
    gamma = ed.encode_point(multiply(h, x))
    for attempt in count():
        k = int.from_bytes(hashlib.sha512(b"mixed %d" % attempt).digest(), "little") % L
        guess = 1 + attempt % 7  # c mod 8, nonzero so that c·T matters
        u = ed.encode_point(subtract(multiply(BASE, k), multiply(TORSION, guess)))
        v = ed.encode_point(multiply(h, k))
        c = reference_challenge(key, ed.encode_point(h), gamma, u, v)
        if c % 8 == guess:
            return key, gamma + le(c, 16) + le((k + c * x) % L, 32)
    raise AssertionError("unreachable")


def test_reference_reproduces_the_rfc_vectors() -> None:
    for vector in VECTORS:
        proof = reference_prove(unhex(vector, "sk"), unhex(vector, "alpha"))
        assert proof == unhex(vector, "pi")
        assert reference_verify(unhex(vector, "pk"), unhex(vector, "alpha"), proof) == unhex(vector, "beta")


# --- The RFC vectors, byte for byte ---


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"alpha={v['alpha'] or 'empty'}")
def test_rfc_vector(vector: dict) -> None:
    seed, key, alpha = unhex(vector, "sk"), unhex(vector, "pk"), unhex(vector, "alpha")
    assert vrf.public_key(seed) == key
    proof = vrf.prove(seed, alpha)
    assert proof == unhex(vector, "pi")
    assert len(proof) == vrf.PROOF_SIZE
    assert vrf.proof_to_hash(proof) == unhex(vector, "beta")
    assert vrf.verify(key, alpha, proof) == unhex(vector, "beta")
    assert len(unhex(vector, "beta")) == vrf.OUTPUT_SIZE


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"alpha={v['alpha'] or 'empty'}")
def test_every_single_bit_flip_of_the_proof_is_rejected(vector: dict) -> None:
    key, alpha, proof = unhex(vector, "pk"), unhex(vector, "alpha"), unhex(vector, "pi")
    for bit in range(8 * vrf.PROOF_SIZE):
        with pytest.raises(InvalidVrfProof):
            vrf.verify(key, alpha, flip_bit(proof, bit))


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"alpha={v['alpha'] or 'empty'}")
def test_every_single_bit_flip_of_the_public_key_is_rejected(vector: dict) -> None:
    key, alpha, proof = unhex(vector, "pk"), unhex(vector, "alpha"), unhex(vector, "pi")
    for bit in range(8 * vrf.PUBLIC_KEY_SIZE):
        # A flipped key is either not a valid key (InvalidKey) or another key (InvalidVrfProof).
        with pytest.raises((InvalidKey, InvalidVrfProof)):
            vrf.verify(flip_bit(key, bit), alpha, proof)


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["alpha"]], ids=lambda v: f"alpha={v['alpha']}")
def test_every_single_bit_flip_of_alpha_is_rejected(vector: dict) -> None:
    key, alpha, proof = unhex(vector, "pk"), unhex(vector, "alpha"), unhex(vector, "pi")
    for bit in range(8 * len(alpha)):
        with pytest.raises(InvalidVrfProof):
            vrf.verify(key, flip_bit(alpha, bit), proof)


def test_proof_for_empty_alpha_does_not_verify_any_one_byte_alpha() -> None:
    vector = VECTORS[0]
    assert vector["alpha"] == ""
    for byte in range(256):
        with pytest.raises(InvalidVrfProof):
            vrf.verify(unhex(vector, "pk"), bytes([byte]), unhex(vector, "pi"))


# --- Malformed input ---


@pytest.mark.parametrize("size", [0, 1, 79, 81, 160])
def test_proof_of_wrong_length_is_rejected(size: int) -> None:
    vector = VECTORS[1]
    proof = (unhex(vector, "pi") * 2)[:size]
    with pytest.raises(InvalidVrfProof, match="80 bytes"):
        vrf.verify(unhex(vector, "pk"), unhex(vector, "alpha"), proof)
    with pytest.raises(InvalidVrfProof, match="80 bytes"):
        vrf.proof_to_hash(proof)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_public_key_of_wrong_length_is_rejected(size: int) -> None:
    vector = VECTORS[1]
    with pytest.raises(InvalidKey, match="32 bytes"):
        vrf.verify((unhex(vector, "pk") * 2)[:size], unhex(vector, "alpha"), unhex(vector, "pi"))


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_seed_of_wrong_length_is_rejected(size: int) -> None:
    seed = bytes(range(size))
    with pytest.raises(InvalidKey, match="32 bytes"):
        vrf.public_key(seed)
    with pytest.raises(InvalidKey, match="32 bytes"):
        vrf.prove(seed, b"alpha")


def test_inputs_must_be_bytes() -> None:
    vector = VECTORS[1]
    key, alpha, proof = unhex(vector, "pk"), unhex(vector, "alpha"), unhex(vector, "pi")
    with pytest.raises(InvalidKey):
        vrf.verify(bytearray(key), alpha, proof)  # type: ignore[arg-type]
    with pytest.raises(InvalidVrfProof):
        vrf.verify(key, alpha, bytearray(proof))  # type: ignore[arg-type]
    with pytest.raises(InvalidKey):
        vrf.prove(bytearray(unhex(vector, "sk")), alpha)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", SMALL_ORDER_ENCODINGS, ids=lambda e: e.hex()[:8])
def test_small_order_public_keys_are_rejected(encoding: bytes) -> None:
    vector = VECTORS[1]
    with pytest.raises(InvalidKey):
        vrf.verify(encoding, unhex(vector, "alpha"), unhex(vector, "pi"))


@pytest.mark.parametrize(
    "key",
    [
        le(P, 32),  # y = p: y >= p is never canonical
        le(P + 1, 32),  # the identity, non-canonically
        le(2**255 - 1, 32),
        le(1 | 1 << 255, 32),  # the identity with a sign bit on x = 0
        le(2, 32),  # y = 2 has no x on the curve
    ],
    ids=["y=p", "y=p+1", "y=2^255-1", "identity-signed", "not-on-curve"],
)
def test_non_canonical_or_off_curve_public_keys_are_rejected(key: bytes) -> None:
    with pytest.raises(InvalidKey):
        vrf.verify(key, b"", unhex(VECTORS[0], "pi"))


def test_s_not_below_the_group_order_is_rejected() -> None:
    vector = VECTORS[2]
    key, alpha, proof = unhex(vector, "pk"), unhex(vector, "alpha"), unhex(vector, "pi")
    s = int.from_bytes(proof[48:], "little")
    for bad_s in (s + L, L, 2**256 - 1):
        bad_proof = proof[:48] + le(bad_s, 32)
        with pytest.raises(InvalidVrfProof, match="s is not below"):
            vrf.verify(key, alpha, bad_proof)
        with pytest.raises(InvalidVrfProof, match="s is not below"):
            vrf.proof_to_hash(bad_proof)


@pytest.mark.parametrize(
    "gamma",
    [le(P, 32), le(P + 1, 32), le(1 | 1 << 255, 32), le(P - 1 | 1 << 255, 32), le(2, 32)],
    ids=["y=p", "y=p+1", "identity-signed", "minus-one-signed", "not-on-curve"],
)
def test_gamma_that_is_no_point_encoding_is_rejected(gamma: bytes) -> None:
    vector = VECTORS[2]
    proof = gamma + unhex(vector, "pi")[32:]
    with pytest.raises(InvalidVrfProof, match="Gamma is not the canonical encoding"):
        vrf.verify(unhex(vector, "pk"), unhex(vector, "alpha"), proof)
    with pytest.raises(InvalidVrfProof, match="Gamma is not the canonical encoding"):
        vrf.proof_to_hash(proof)


@pytest.mark.parametrize("gamma", SMALL_ORDER_ENCODINGS, ids=lambda e: e.hex()[:8])
def test_small_order_gamma_is_rejected(gamma: bytes) -> None:
    vector = VECTORS[2]
    proof = gamma + unhex(vector, "pi")[32:]
    with pytest.raises(InvalidVrfProof, match="Gamma is of small order"):
        vrf.verify(unhex(vector, "pk"), unhex(vector, "alpha"), proof)


def test_zero_challenge_or_zero_s_is_rejected_not_crashing() -> None:
    vector = VECTORS[2]
    key, alpha, proof = unhex(vector, "pk"), unhex(vector, "alpha"), unhex(vector, "pi")
    for tampered in (proof[:32] + bytes(16) + proof[48:], proof[:48] + bytes(32), proof[:32] + bytes(48)):
        with pytest.raises(InvalidVrfProof, match="challenge"):
            vrf.verify(key, alpha, tampered)
    # With c = 0 there is no multiplication to check Gamma, but it is checked all the same.
    torsion_gamma = ed.encode_point(ed.add_points(decode(proof[:32]), TORSION))
    with pytest.raises(InvalidVrfProof, match="Gamma is of small order or outside"):
        vrf.verify(key, alpha, torsion_gamma + bytes(16) + proof[48:])


@settings(max_examples=150, deadline=None)
@given(
    gamma=st.one_of(st.binary(min_size=32, max_size=32), st.just(unhex(VECTORS[1], "pi")[:32])),
    challenge=st.binary(min_size=16, max_size=16),
    s=st.one_of(st.integers(0, L - 1), st.integers(0, 2**256 - 1)),
)
def test_random_proofs_are_rejected_with_invalid_vrf_proof_only(gamma: bytes, challenge: bytes, s: int) -> None:
    with pytest.raises(InvalidVrfProof):
        vrf.verify(unhex(VECTORS[1], "pk"), unhex(VECTORS[1], "alpha"), gamma + challenge + le(s, 32))


def test_proof_under_another_key_is_rejected() -> None:
    proof = vrf.prove(SEEDS[0], b"slot 7")
    assert vrf.verify(vrf.public_key(SEEDS[0]), b"slot 7", proof) == vrf.proof_to_hash(proof)
    with pytest.raises(InvalidVrfProof, match="challenge"):
        vrf.verify(vrf.public_key(SEEDS[1]), b"slot 7", proof)


def test_key_cache_holds_a_whole_authority_set() -> None:
    # Authors take turns: a cache smaller than the set evicts each key just before it is needed.
    from runtime.pallets.session import MAX_AUTHORITIES

    assert vrf.KEY_CACHE_SIZE >= MAX_AUTHORITIES


# --- Where we stand against RFC 9381 on points with a torsion component ---


def test_gamma_with_a_torsion_component_is_rejected_though_the_rfc_accepts_it() -> None:
    alpha = b"torsion gamma"
    proof = forge_proof_with_torsion_gamma(SEEDS[0], alpha)
    honest_beta = vrf.verify(vrf.public_key(SEEDS[0]), alpha, vrf.prove(SEEDS[0], alpha))
    # RFC 9381 accepts it, with the honest output: 8·Gamma clears the torsion.
    assert reference_verify(vrf.public_key(SEEDS[0]), alpha, proof) == honest_beta
    assert vrf.proof_to_hash(proof) == honest_beta
    with pytest.raises(InvalidVrfProof, match="Gamma is of small order or outside the prime-order subgroup"):
        vrf.verify(vrf.public_key(SEEDS[0]), alpha, proof)


def test_key_with_a_torsion_component_verifies_exactly_as_the_rfc_says() -> None:
    alpha = b"mixed-order key"
    key, proof = forge_mixed_order_key_proof(SEEDS[1], alpha)
    beta = reference_verify(key, alpha, proof)
    assert beta is not None
    assert vrf.verify(key, alpha, proof) == beta
    with pytest.raises(InvalidVrfProof, match="challenge"):
        vrf.verify(key, alpha + b"!", proof)
    with pytest.raises(InvalidVrfProof, match="challenge"):
        vrf.verify(key, alpha, flip_bit(proof, 8 * 40))


# --- Properties on random keys and inputs ---


@settings(max_examples=40, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), alpha=st.binary(max_size=64))
def test_prove_then_verify_round_trips_and_is_deterministic(seed: bytes, alpha: bytes) -> None:
    proof = vrf.prove(seed, alpha)
    assert len(proof) == vrf.PROOF_SIZE
    assert vrf.prove(seed, alpha) == proof
    beta = vrf.verify(vrf.public_key(seed), alpha, proof)
    assert len(beta) == vrf.OUTPUT_SIZE
    assert beta == vrf.proof_to_hash(proof)
    with pytest.raises(InvalidVrfProof):
        vrf.verify(vrf.public_key(seed), alpha + b"\x00", proof)


@settings(max_examples=10, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), alpha=st.binary(max_size=16))
def test_prove_matches_the_reference(seed: bytes, alpha: bytes) -> None:
    assert vrf.prove(seed, alpha) == reference_prove(seed, alpha)


@settings(max_examples=25, deadline=None)
@given(salt=st.binary(min_size=32, max_size=32), alpha=st.binary(max_size=16))
def test_encode_to_curve_matches_the_reference(salt: bytes, alpha: bytes) -> None:
    expected = ed.encode_point(reference_encode_to_curve(salt, alpha))
    assert ed.encode_point(vrf._compute_encode_to_curve(salt, alpha)) == expected


EDGE_ENCODINGS = [
    le(y | sign << 255, 32) for y in (0, 1, 2, P - 1, P, P + 1, 2**255 - 1) for sign in (0, 1)
] + SMALL_ORDER_ENCODINGS


@settings(max_examples=300, deadline=None)
@given(encoded=st.one_of(st.binary(min_size=32, max_size=32), st.sampled_from(EDGE_ENCODINGS)))
def test_decoding_without_square_root_matches_rfc_8032(encoded: bytes) -> None:
    point, expected = ed.decode_point(encoded), reference_decode(encoded)
    assert (point is None) == (expected is None)
    if point is not None and expected is not None:
        assert ed.encode_point(point) == ed.encode_point(expected) == encoded
        assert ed.encode_point(ed.multiply_by_cofactor(point)) == ed.encode_point(multiply(expected, 8))
        assert ed.is_small_order(point) == (encoded in SMALL_ORDER_ENCODINGS)


# --- The pure-Python edwards25519 arithmetic ---


def test_decoding_round_trips_and_agrees_with_libsodium() -> None:
    for i in range(1, 40):
        encoded = crypto_scalarmult_ed25519_base_noclamp(le(i * 0x1234567890ABCDEF, 32))
        point = ed.decode_point(encoded)
        assert point is not None
        assert ed.encode_point(point) == encoded
        assert ed.encode_point(ed.double_point(point)) == ed.encode_point(ed.add_points(point, point))
        assert ed.encode_point(ed.double_point(point)) == crypto_core_ed25519_add(encoded, encoded)
        assert not ed.is_small_order(point)
        assert not ed.is_small_order(ed.add_points(point, TORSION))
        assert ed.is_identity(multiply(point, L))


def test_decoding_rejects_what_rfc_8032_rejects() -> None:
    for encoding in (le(P, 32), le(P + 1, 32), le(1 | 1 << 255, 32), le(P - 1 | 1 << 255, 32), le(2, 32)):
        assert ed.decode_point(encoding) is None
        assert reference_decode(encoding) is None
    assert ed.decode_point(bytes(31)) is None
    assert ed.is_identity(decode(le(1, 32)))
    for encoding in SMALL_ORDER_ENCODINGS:
        point = ed.decode_point(encoding)
        assert point is not None
        assert ed.encode_point(point) == encoding
        assert ed.is_small_order(point)


def test_encode_points_shares_one_inversion_and_agrees_with_one_by_one() -> None:
    points = [ed.multiply_by_cofactor(decode(SMALL_ORDER_ENCODINGS[1])), BASE, TORSION, multiply(BASE, 12345)]
    points.append(ed.add_points(points[-1], points[-2]))
    assert ed.encode_points(points) == [ed.encode_point(point) for point in points]
    assert ed.encode_points([]) == []


def test_has_canonical_form() -> None:
    assert ed.has_canonical_form(le(P - 1, 32))
    assert ed.has_canonical_form(le(P - 2 | 1 << 255, 32))
    assert ed.has_canonical_form(le(1, 32))
    assert not ed.has_canonical_form(le(P, 32))
    assert not ed.has_canonical_form(le(P | 1 << 255, 32))
    assert not ed.has_canonical_form(le(1 | 1 << 255, 32))
    assert not ed.has_canonical_form(le(P - 1 | 1 << 255, 32))


@cache
def table_for(encoded: bytes) -> ed.MultiplesTable:
    return ed.compute_multiples_table(decode(encoded), 128)


PRIME_ORDER_KEY = vrf.public_key(SEEDS[2])
MIXED_ORDER_KEY = ed.encode_point(ed.add_points(decode(PRIME_ORDER_KEY), TORSION))
EDGE_SCALARS = [0, 1, 2, 127, 128, 129, 255, 256, 2**127, 2**128 - 1, int("80" * 16, 16), int("7f" * 16, 16)]


@settings(max_examples=60, deadline=None)
@given(scalar=st.one_of(st.integers(0, 2**128 - 1), st.sampled_from(EDGE_SCALARS)))
def test_table_multiplication_matches_double_and_add(scalar: int) -> None:
    for key in (PRIME_ORDER_KEY, MIXED_ORDER_KEY):
        product = ed.multiply_with_table(table_for(key), scalar)
        assert ed.encode_point(product) == ed.encode_point(multiply(decode(key), scalar))
    if scalar:
        expected = crypto_scalarmult_ed25519_noclamp(le(scalar, 32), PRIME_ORDER_KEY)
        assert ed.encode_point(ed.multiply_with_table(table_for(PRIME_ORDER_KEY), scalar)) == expected

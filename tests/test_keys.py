"""ed25519 keys: domain-separated signatures and the pinned set of accepted edge-case signatures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import InvalidKey, InvalidSignature
from runtime.primitives.keys import (
    DOMAIN_BLOCK_SEAL,
    DOMAIN_TRANSACTION,
    Keypair,
    is_valid_public_key,
    is_valid_signature,
    verify,
    verify_raw,
)

VECTORS = Path(__file__).parent / "vectors"
GENESIS_A = bytes(32)
GENESIS_B = b"\x01" * 32

# The CCTV edge-case signatures that libsodium (PyNaCl 1.6.2) accepts over the raw message.
# Consensus-critical: if a library upgrade changes this set, every node must change together.
ACCEPTED_RAW = frozenset(
    {
        7,
        29,
        50,
        117,
        139,
        161,
        182,
        249,
        305,
        411,
        425,
        438,
        465,
        473,
        481,
        489,
        497,
        511,
        525,
        538,
        565,
        573,
        581,
        589,
        597,
        611,
        625,
        638,
        665,
        673,
        681,
        689,
        697,
        711,
        725,
        738,
        765,
        773,
        781,
        789,
        797,
        832,
        899,
    }
)
# Of those, the ones whose key also passes our key check (prime-order subgroup, canonical,
# not small order): what an account or authority key may ever sign and have accepted.
ACCEPTED_WITH_KEY_CHECK = frozenset({305})


def load_edge_cases() -> list[dict]:
    return json.loads((VECTORS / "ed25519_edge_cases.json").read_text())


def test_edge_case_vectors_accepted_set_is_pinned() -> None:
    cases = load_edge_cases()
    assert len(cases) == 914
    accepted = {
        case["number"]
        for case in cases
        if verify_raw(bytes.fromhex(case["key"]), case["msg"].encode(), bytes.fromhex(case["sig"]))
    }
    assert accepted == ACCEPTED_RAW
    with_key_check = {n for n in accepted if is_valid_public_key(bytes.fromhex(cases[n]["key"]))}
    assert with_key_check == ACCEPTED_WITH_KEY_CHECK


def test_small_order_and_non_canonical_keys_rejected() -> None:
    small_order = {case["key"] for case in load_edge_cases() if "low_order_A" in (case["flags"] or [])}
    assert small_order
    for key in small_order:
        assert not is_valid_public_key(bytes.fromhex(key))
    # y = p (non-canonical encoding of y = 0) and a 31-byte key.
    non_canonical = (2**255 - 19).to_bytes(32, "little")
    assert not is_valid_public_key(non_canonical)
    with pytest.raises(InvalidKey):
        verify(b"\x00" * 31, DOMAIN_TRANSACTION, GENESIS_A, b"", bytes(64))


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=200))
def test_sign_verify_round_trip(seed: bytes, payload: bytes) -> None:
    keypair = Keypair.from_seed(seed)
    signature = keypair.sign(DOMAIN_TRANSACTION, GENESIS_A, payload)
    verify(keypair.public_key, DOMAIN_TRANSACTION, GENESIS_A, payload, signature)


def test_signature_bound_to_domain_genesis_and_payload() -> None:
    keypair = Keypair.from_seed(b"\x07" * 32)
    signature = keypair.sign(DOMAIN_TRANSACTION, GENESIS_A, b"payload")
    assert is_valid_signature(keypair.public_key, DOMAIN_TRANSACTION, GENESIS_A, b"payload", signature)
    assert not is_valid_signature(keypair.public_key, DOMAIN_BLOCK_SEAL, GENESIS_A, b"payload", signature)
    assert not is_valid_signature(keypair.public_key, DOMAIN_TRANSACTION, GENESIS_B, b"payload", signature)
    assert not is_valid_signature(keypair.public_key, DOMAIN_TRANSACTION, GENESIS_A, b"payloaD", signature)
    other = Keypair.from_seed(b"\x08" * 32)
    with pytest.raises(InvalidSignature, match="flock/sign/tx"):
        verify(other.public_key, DOMAIN_TRANSACTION, GENESIS_A, b"payload", signature)


def test_every_signature_bit_flip_rejected() -> None:
    keypair = Keypair.from_seed(b"\x09" * 32)
    signature = keypair.sign(DOMAIN_TRANSACTION, GENESIS_A, b"x")
    for bit in range(512):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not is_valid_signature(keypair.public_key, DOMAIN_TRANSACTION, GENESIS_A, b"x", bytes(flipped))


def test_rfc8032_public_key_from_seed() -> None:
    keypair = Keypair.from_seed(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    assert keypair.public_key.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert "9d61" not in repr(keypair)  # the secret never shows in logs


def test_vrf_seed_is_derived_and_distinct() -> None:
    keypair = Keypair.from_seed(b"\x05" * 32)
    assert keypair.derive_vrf_seed() == Keypair.from_seed(b"\x05" * 32).derive_vrf_seed()
    assert keypair.derive_vrf_seed() != keypair.seed
    assert Keypair.generate().seed != Keypair.generate().seed


def test_bad_seed_rejected() -> None:
    with pytest.raises(InvalidKey):
        Keypair.from_seed(b"short")


# --- edges and messages the mutation pass found unpinned (docs/testing.md) ------------------


def test_verify_raw_refuses_wrong_sizes() -> None:
    from runtime.primitives.keys import verify_raw

    keypair = Keypair.from_seed(b"\x07" * 32)
    message = b"flock"
    signature = keypair.sign(DOMAIN_TRANSACTION, GENESIS_A, message)
    assert not verify_raw(keypair.public_key, message, signature[:63])
    assert not verify_raw(keypair.public_key[:31], message, signature)
    assert not verify_raw(keypair.public_key, message, signature + b"\x00")
    # A short signature must not borrow the message's first byte: libsodium reads a signed
    # message as signature then message, so the size is checked before it sees them.
    import nacl.signing

    signer = nacl.signing.SigningKey(b"\x07" * 32)
    full = signer.sign(b"tail").signature
    assert verify_raw(signer.verify_key.encode(), b"tail", full)
    assert not verify_raw(signer.verify_key.encode(), full[63:] + b"tail", full[:63])


def test_key_and_signature_messages() -> None:
    with pytest.raises(InvalidKey, match="^public key must be 32 bytes$"):
        verify(b"\x00" * 31, DOMAIN_TRANSACTION, GENESIS_A, b"", bytes(64))
    with pytest.raises(InvalidKey, match="^seed must be 32 bytes$"):
        Keypair.from_seed(b"short")
    keypair = Keypair.from_seed(b"\x07" * 32)
    # A domain that is not UTF-8 is still named (with replacement characters).
    with pytest.raises(InvalidSignature, match="^signature does not verify for domain 'x\ufffd'$"):
        verify(keypair.public_key, b"x\xff", GENESIS_A, b"", bytes(64))

"""ed25519 keys for accounts, block authorship and finality votes (PyNaCl / libsodium).

Every signature covers ``len(tag) ‖ tag ‖ genesis hash ‖ payload``: a signature made for one
purpose (a transaction, a header, a finality vote) or for one chain never verifies as another.

Signature checks accept what libsodium accepts: canonical keys not of small order. Keys that
enter state as authorities are checked further (``is_valid_public_key``: a canonical point of
the prime-order subgroup); that check costs about a signature verification, so validated keys
are cached by their bytes.

Which signatures verify is consensus-critical. We use libsodium's verification as it is (it
rejects non-canonical ``S`` and small-order ``R``/``A``); ``tests/test_keys.py`` pins exactly
which of the CCTV ed25519 edge-case vectors are accepted, so an upgrade that changes the set
fails CI instead of forking the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from runtime.errors import InvalidKey, InvalidSignature
from runtime.primitives.hashing import HASH_SIZE, TAG_VRF_KEY, tagged_hash

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
MAX_DOMAIN_TAG_SIZE = 32

# Signing domains: one per kind of signed payload.
DOMAIN_TRANSACTION = b"flock/sign/tx"
DOMAIN_BLOCK_SEAL = b"flock/sign/seal"
DOMAIN_FINALITY_VOTE = b"flock/sign/vote"
DOMAIN_ML_WORK = b"flock/sign/ml"


def compute_signing_message(domain: bytes, genesis_hash: bytes, payload: bytes) -> bytes:
    """The exact bytes a signature covers."""
    return _compute_signing_prefix(domain, genesis_hash) + payload


@lru_cache(maxsize=64)
def _compute_signing_prefix(domain: bytes, genesis_hash: bytes) -> bytes:
    # A handful of (domain, chain) pairs per node: built and checked once each.
    if not 0 < len(domain) <= MAX_DOMAIN_TAG_SIZE:
        raise ValueError(f"signing domain must be 1..{MAX_DOMAIN_TAG_SIZE} bytes")
    if len(genesis_hash) != HASH_SIZE:
        raise ValueError("genesis hash must be 32 bytes")
    return bytes([len(domain)]) + domain + genesis_hash


@lru_cache(maxsize=1 << 16)
def _validate_public_key(key: bytes) -> None:
    if not sodium.crypto_core_ed25519_is_valid_point(key):
        raise InvalidKey("public key is not a canonical point of the prime-order subgroup")


def is_valid_public_key(key: bytes) -> bool:
    """Whether ``key`` is a well-formed account or authority key."""
    try:
        _validated(key)
    except InvalidKey:
        return False
    return True


def _validated(key: bytes) -> bytes:
    if type(key) is not bytes or len(key) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"public key must be {PUBLIC_KEY_SIZE} bytes")
    _validate_public_key(key)
    return key


def verify_raw(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """libsodium's ed25519 verification of ``signature`` over ``message``, with no key checks."""
    if len(signature) != SIGNATURE_SIZE or len(public_key) != PUBLIC_KEY_SIZE:
        return False
    try:
        sodium.crypto_sign_open(signature + message, public_key)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def verify(public_key: bytes, domain: bytes, genesis_hash: bytes, payload: bytes, signature: bytes) -> None:
    """Check a domain-separated signature; raises :class:`InvalidKey` or :class:`InvalidSignature`.

    libsodium's verification itself refuses non-canonical and small-order keys, so no separate
    key check is paid per signature; keys that enter state as authorities are checked in full
    with :func:`is_valid_public_key` when they enter.
    """
    if type(public_key) is not bytes or len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"public key must be {PUBLIC_KEY_SIZE} bytes")
    if not verify_raw(public_key, compute_signing_message(domain, genesis_hash, payload), signature):
        raise InvalidSignature(f"signature does not verify for domain {domain.decode(errors='replace')!r}")


def is_valid_signature(public_key: bytes, domain: bytes, genesis_hash: bytes, payload: bytes, signature: bytes) -> bool:
    try:
        verify(public_key, domain, genesis_hash, payload, signature)
    except (InvalidKey, InvalidSignature):
        return False
    return True


@dataclass(frozen=True, repr=False)
class Keypair:
    """An ed25519 key pair derived from a 32-byte seed (the secret)."""

    seed: bytes
    public_key: bytes
    _secret_key: bytes  # libsodium's 64-byte expanded form, cached for signing

    @classmethod
    def from_seed(cls, seed: bytes) -> Keypair:
        if type(seed) is not bytes or len(seed) != SEED_SIZE:
            raise InvalidKey(f"seed must be {SEED_SIZE} bytes")
        public_key, secret_key = sodium.crypto_sign_seed_keypair(seed)
        return cls(seed, public_key, secret_key)

    @classmethod
    def generate(cls) -> Keypair:
        """A fresh key pair from libsodium's CSPRNG (key tooling only; never on the consensus path)."""
        return cls.from_seed(nacl.utils.random(SEED_SIZE))

    def sign(self, domain: bytes, genesis_hash: bytes, payload: bytes) -> bytes:
        message = compute_signing_message(domain, genesis_hash, payload)
        return sodium.crypto_sign(message, self._secret_key)[:SIGNATURE_SIZE]

    def derive_vrf_seed(self) -> bytes:
        """The seed of this key's VRF key: one seed, two keys, separated by a domain tag."""
        return tagged_hash(TAG_VRF_KEY, self.seed)

    def __repr__(self) -> str:
        return f"Keypair(public_key={self.public_key.hex()})"

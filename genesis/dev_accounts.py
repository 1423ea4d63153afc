"""The well-known development keys: alice, bob, charlie, dave, eve and ferdie.

Like Substrate's ``//Alice``, these keys are public knowledge so that a development or local
chain works out of the box: anyone can sign with them. The seed of each is

    seed(name) = blake2b-256(b"flockchain dev key " + name)      (untagged, name in lower case)

e.g. ``blake2b-256(b"flockchain dev key alice")``. Because anyone can compute them, they exist
for ``Development`` and ``Local`` chains only: chain-spec validation refuses them as authorities
or endowed accounts of any other chain type, the key tool refuses them with a non-dev spec, and
the keystore never stores them.
"""

from __future__ import annotations

from functools import lru_cache

from runtime.errors import FlockError
from runtime.primitives.hashing import blake2b_256
from runtime.primitives.keys import Keypair

DEV_ACCOUNT_NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
DEV_CHAIN_TYPES = frozenset({"Development", "Local"})
DEV_SEED_PREFIX = b"flockchain dev key "


class DevKeyError(FlockError, ValueError):
    """An unknown dev key name, or a dev key used where anyone could steal what it holds."""


def _normalise(name: str) -> str:
    normalised = name.removeprefix("//").lower()
    if normalised not in DEV_ACCOUNT_NAMES:
        known = ", ".join(f"//{known.capitalize()}" for known in DEV_ACCOUNT_NAMES)
        raise DevKeyError(f"{name!r} is not a dev key; the dev keys are {known}")
    return normalised


def dev_seed(name: str) -> bytes:
    """The public 32-byte seed of dev key ``name`` ("alice", "Alice" or "//Alice")."""
    return blake2b_256(DEV_SEED_PREFIX + _normalise(name).encode("ascii"))


@lru_cache(maxsize=len(DEV_ACCOUNT_NAMES))
def _keypair(name: str) -> Keypair:
    return Keypair.from_seed(dev_seed(name))


def dev_keypair(name: str) -> Keypair:
    """The key pair of dev key ``name`` ("alice", "Alice" or "//Alice")."""
    return _keypair(_normalise(name))


@lru_cache(maxsize=1)
def _names_by_public_key() -> dict[bytes, str]:
    return {dev_keypair(name).public_key: name for name in DEV_ACCOUNT_NAMES}


def find_dev_name(public_key: bytes) -> str | None:
    """The dev key's name if ``public_key`` is one of the well-known keys, else None."""
    return _names_by_public_key().get(public_key)


def is_dev_chain_type(chain_type: str) -> bool:
    return chain_type in DEV_CHAIN_TYPES


def check_dev_key_allowed(public_key: bytes, chain_type: str) -> None:
    """Refuse a well-known dev key on a chain whose type is not Development or Local."""
    name = find_dev_name(public_key)
    if name is not None and not is_dev_chain_type(chain_type):
        raise DevKeyError(
            f"//{name.capitalize()} is a well-known dev key that anyone can sign with; "
            f"only Development and Local chains may use it, not a {chain_type} chain"
        )

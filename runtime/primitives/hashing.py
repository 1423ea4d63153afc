"""blake2b-256 hashing with domain separation.

Every hash on the consensus path names its purpose with a domain tag, carried in blake2b's
personalisation field (up to 16 bytes), so a digest computed for one use can never be
mistaken for a digest of another use, and no bytes are added to the hashed message.
"""

import hashlib

HASH_SIZE = 32
MAX_TAG_SIZE = 16

# Domain tags: one per use, all in this table so that no two uses share one by accident.
TAG_TRANSACTION = b"flock/tx"
TAG_HEADER = b"flock/header"
TAG_EXTRINSIC = b"flock/xt"
TAG_STORAGE_KEY = b"flock/storekey"
TAG_STATE_LEAF = b"flock/state-leaf"
TAG_STATE_NODE = b"flock/state-node"
TAG_STATE_VALUE = b"flock/state-val"
TAG_MERKLE_LEAF = b"flock/mkl-leaf"
TAG_MERKLE_NODE = b"flock/mkl-node"
TAG_GENESIS = b"flock/genesis"
TAG_VRF_KEY = b"flock/vrf-key"
TAG_ACCOUNT = b"flock/account"

ZERO_HASH = bytes(HASH_SIZE)


def blake2b_256(data: bytes) -> bytes:
    """Untagged blake2b-256, for content addressing where the type is known from context."""
    return hashlib.blake2b(data, digest_size=HASH_SIZE).digest()


def tagged_hash(tag: bytes, data: bytes) -> bytes:
    """blake2b-256 of ``data`` personalised with ``tag`` (at most 16 bytes)."""
    hasher = _TAGGED_HASHERS.get(tag)
    if hasher is None:
        if len(tag) > MAX_TAG_SIZE:
            raise ValueError(f"domain tag {tag!r} is longer than {MAX_TAG_SIZE} bytes")
        hasher = _TAGGED_HASHERS[tag] = hashlib.blake2b(digest_size=HASH_SIZE, person=tag)
    hasher = hasher.copy()  # copying a personalised hasher costs half of building one
    hasher.update(data)
    return hasher.digest()


_TAGGED_HASHERS: dict[bytes, hashlib.blake2b] = {}

"""State proofs: what a light client needs to check one key against a state root.

A proof is the path from the root to the key's *terminal*, the position where the search for
the key's path ends (see :mod:`flockchain.state.tree` for the tree's shape):

* ``KEY_LEAF``: the key's own leaf is there: the key is present (inclusion);
* ``EMPTY``: an empty subtree is there: the key is absent;
* ``OTHER_LEAF``: a leaf of a *different* key is there (leaf compression put it at the first
  depth where it was alone, which also covers the key's path): the key is absent. The proof
  carries that leaf's path and value hash so the verifier can rebuild its hash.

``siblings[d]`` is the hash of the sibling of the path's node at depth ``d + 1``, root first;
an empty sibling is ``ZERO_HASH``. :func:`verify_proof` rehashes from the terminal up and
compares with the root. Domain-separated leaf and node hashes make the tree binding: no two
different trees share a root, so a proof cannot place a node where the real tree has another.

Encoding (all integers big-endian)::

    kind u8 | depth u16 | bitmap ceil(depth/8) bytes | 32 bytes per non-empty sibling
            | (OTHER_LEAF only) path 32 | value_hash 32

Bit ``d`` of the bitmap (most significant bit of the first byte first) says whether sibling
``d`` is non-empty; empty siblings are not sent. At a million keys a proof averages about
650 bytes (20 hashes) and stays under 800: below the depth where a leaf's neighbourhood is
sparse, its siblings are mostly empty and cost one bitmap bit each. Decoding is strict (one
encoding per proof): padding bits are zero, a sent sibling is never ``ZERO_HASH``, the length
is exact.

This module needs no database and imports nothing from the node, so a light client can use it
on its own. It also holds the tree's hash functions, which prover and verifier share.
"""

import hashlib
from dataclasses import dataclass
from enum import IntEnum

from runtime.errors import EncodingError, InvalidProof
from runtime.primitives.hashing import (
    HASH_SIZE,
    TAG_STATE_LEAF,
    TAG_STATE_NODE,
    TAG_STATE_VALUE,
    TAG_STORAGE_KEY,
    ZERO_HASH,
)

MAX_DEPTH = 256  # paths are 256 bits; two leaves always part by depth 256

# Personalised blake2b states, copied per hash: the same digests as
# runtime.primitives.hashing.tagged_hash, at two-thirds of the cost of building a hasher.
KEY_HASHER = hashlib.blake2b(digest_size=HASH_SIZE, person=TAG_STORAGE_KEY)
VALUE_HASHER = hashlib.blake2b(digest_size=HASH_SIZE, person=TAG_STATE_VALUE)
LEAF_HASHER = hashlib.blake2b(digest_size=HASH_SIZE, person=TAG_STATE_LEAF)
NODE_HASHER = hashlib.blake2b(digest_size=HASH_SIZE, person=TAG_STATE_NODE)


def hash_key(key: bytes) -> bytes:
    """A storage key's 256-bit path in the tree."""
    hasher = KEY_HASHER.copy()
    hasher.update(key)
    return hasher.digest()


def hash_value(value: bytes) -> bytes:
    """The digest of a stored value that a leaf commits to."""
    hasher = VALUE_HASHER.copy()
    hasher.update(value)
    return hasher.digest()


def hash_leaf(path: bytes, value_hash: bytes) -> bytes:
    """A leaf's hash; it does not depend on the leaf's depth, so leaves move without rehashing."""
    hasher = LEAF_HASHER.copy()
    hasher.update(path + value_hash)
    return hasher.digest()


def hash_node(left: bytes, right: bytes) -> bytes:
    """An internal node's hash from its children's (``ZERO_HASH`` for an empty child)."""
    hasher = NODE_HASHER.copy()
    hasher.update(left + right)
    return hasher.digest()


class ProofKind(IntEnum):
    """What the proof's terminal is; the first byte of the encoding."""

    EMPTY = 0
    KEY_LEAF = 1
    OTHER_LEAF = 2


@dataclass(frozen=True, slots=True)
class StateProof:
    """Siblings from the root down plus the terminal; see the module docstring."""

    kind: ProofKind
    siblings: tuple[bytes, ...]
    other_path: bytes | None = None  # OTHER_LEAF only
    other_value_hash: bytes | None = None  # OTHER_LEAF only

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ProofKind):
            raise EncodingError(f"unknown proof kind {self.kind!r}")
        if len(self.siblings) > MAX_DEPTH:
            raise EncodingError(f"proof deeper than {MAX_DEPTH}")
        if any(type(s) is not bytes or len(s) != HASH_SIZE for s in self.siblings):
            raise EncodingError("every sibling must be a 32-byte hash")
        has_leaf = self.kind is ProofKind.OTHER_LEAF
        for field in (self.other_path, self.other_value_hash):
            if has_leaf != (field is not None):
                raise EncodingError("other_path and other_value_hash go with OTHER_LEAF only")
            if field is not None and (type(field) is not bytes or len(field) != HASH_SIZE):
                raise EncodingError("other_path and other_value_hash must be 32-byte hashes")

    @property
    def depth(self) -> int:
        """Depth of the terminal (0: the root itself)."""
        return len(self.siblings)

    def encode(self) -> bytes:
        """The canonical compact encoding (module docstring)."""
        depth = len(self.siblings)
        size = (depth + 7) >> 3
        top = (size << 3) - 1  # bitmap bit of sibling 0
        bitmap = 0
        present = []
        for index, sibling in enumerate(self.siblings):
            if sibling != ZERO_HASH:
                bitmap |= 1 << (top - index)
                present.append(sibling)
        parts = [bytes([self.kind]), depth.to_bytes(2, "big"), bitmap.to_bytes(size, "big")]
        parts += present
        if self.kind is ProofKind.OTHER_LEAF:
            parts += [self.other_path, self.other_value_hash]
        return b"".join(parts)  # type: ignore[arg-type]  # set exactly for OTHER_LEAF

    @classmethod
    def decode(cls, data: bytes) -> "StateProof":
        """Parse :meth:`encode`'s output; anything else raises :class:`EncodingError`."""
        if len(data) < 3:
            raise EncodingError("state proof shorter than its header")
        try:
            kind = ProofKind(data[0])
        except ValueError:
            raise EncodingError(f"unknown state proof kind {data[0]}") from None
        depth = int.from_bytes(data[1:3], "big")
        if depth > MAX_DEPTH:
            raise EncodingError(f"state proof depth {depth} exceeds {MAX_DEPTH}")
        size = (depth + 7) >> 3
        offset = 3 + size
        if len(data) < offset:
            raise EncodingError("state proof bitmap truncated")
        bitmap = int.from_bytes(data[3:offset], "big")
        top = (size << 3) - 1
        if bitmap & ((1 << (top + 1 - depth)) - 1):
            raise EncodingError("state proof bitmap has padding bits set")
        tail = 2 * HASH_SIZE if kind is ProofKind.OTHER_LEAF else 0
        if len(data) != offset + bitmap.bit_count() * HASH_SIZE + tail:
            raise EncodingError("state proof length does not match its bitmap")
        siblings = []
        for index in range(depth):
            if bitmap >> (top - index) & 1:
                sibling = data[offset : offset + HASH_SIZE]
                if sibling == ZERO_HASH:
                    raise EncodingError("state proof sends an empty sibling explicitly")
                siblings.append(sibling)
                offset += HASH_SIZE
            else:
                siblings.append(ZERO_HASH)
        if kind is not ProofKind.OTHER_LEAF:
            return cls(kind, tuple(siblings))
        return cls(kind, tuple(siblings), data[offset : offset + HASH_SIZE], data[offset + HASH_SIZE :])


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: "StateProof | bytes | memoryview") -> None:
    """Check that under state ``root``, ``key`` holds ``value`` (None: ``key`` is absent).

    ``proof`` is a :class:`StateProof` or its encoding (any bytes-like object). Returns
    nothing; any failure, a malformed encoding included, raises :class:`InvalidProof`.
    """
    if isinstance(proof, (bytes, bytearray, memoryview)):
        try:
            proof = StateProof.decode(bytes(proof))
        except EncodingError as exc:
            raise InvalidProof(f"malformed state proof: {exc}") from exc
    elif not isinstance(proof, StateProof):
        raise InvalidProof(f"not a state proof: {type(proof).__name__}")
    if type(root) is not bytes or len(root) != HASH_SIZE:
        raise InvalidProof("state root must be a 32-byte hash")
    path_bytes = hash_key(key)
    path = int.from_bytes(path_bytes, "big")
    siblings = proof.siblings
    depth = len(siblings)
    if depth and siblings[-1] == ZERO_HASH:
        # The terminal's parent holds at least two leaves, so the terminal's sibling is not
        # empty; an honest prover never sends this shape.
        raise InvalidProof("state proof ends beside an empty sibling")
    current = _terminal_hash(path_bytes, path, depth, value, proof)
    for index in range(depth - 1, -1, -1):
        if path >> (255 - index) & 1:
            current = hash_node(siblings[index], current)
        else:
            current = hash_node(current, siblings[index])
    if current != root:
        raise InvalidProof("state proof does not lead to the state root")


def _terminal_hash(path_bytes: bytes, path: int, depth: int, value: bytes | None, proof: StateProof) -> bytes:
    """The hash the terminal must have for the claim to hold; raise if the kind contradicts it."""
    if value is not None:
        if proof.kind is not ProofKind.KEY_LEAF:
            raise InvalidProof("an inclusion claim needs a proof ending at the key's leaf")
        return hash_leaf(path_bytes, hash_value(value))
    if proof.kind is ProofKind.EMPTY:
        return ZERO_HASH
    if proof.kind is ProofKind.OTHER_LEAF:
        other = int.from_bytes(proof.other_path, "big")  # type: ignore[arg-type]
        if other == path:
            raise InvalidProof("the leaf proving absence belongs to the key itself")
        if (other ^ path) >> (256 - depth):
            raise InvalidProof("the leaf proving absence is not on the key's path")
        return hash_leaf(proof.other_path, proof.other_value_hash)  # type: ignore[arg-type]
    raise InvalidProof("an absence claim needs a proof ending at an empty slot or another leaf")

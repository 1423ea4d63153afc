"""State proofs: what a light client needs to check one key against a state root.

The tree is hexary (see :mod:`flockchain.state.tree`): an internal node has 16 children, one
per nibble (4 path bits) at its depth. A proof is the path from the root to the key's
*terminal*, the position where the search for the key's path ends:

* ``KEY_LEAF``: the key's own leaf is there: the key is present (inclusion);
* ``EMPTY``: an empty subtree is there: the key is absent;
* ``OTHER_LEAF``: a leaf of a *different* key is there (leaf compression put it at the first
  depth where it was alone, which also covers the key's path): the key is absent. The proof
  carries that leaf's path and value hash so the verifier can rebuild its hash.

``siblings[d]`` holds, for the path's node at level ``d`` (the root is level 0), the hashes of
its 15 other children in nibble order (``ZERO_HASH`` for an empty one). :func:`verify_proof`
rehashes from the terminal up, putting the running hash into the path's slot at each level,
and compares with the root. Domain-separated leaf and node hashes make the tree binding: no
two different trees share a root, so a proof cannot place a node where the real tree has
another.

Encoding (all integers big-endian)::

    kind u8 | levels u8 | per level: bitmap u16 | 32 bytes per non-empty sibling
            | (OTHER_LEAF only) path 32 | value_hash 32

Bit ``i`` of a level's bitmap (most significant first) says whether sibling ``i`` of the 15
is non-empty; the last bit is padding. Empty siblings are not sent. At a million keys a proof
has about 5 levels: the top four are full (60 hashes); below them a leaf's neighbourhood is
sparse, so a proof stays near 2.3 KB. Decoding is strict (one encoding per proof): the padding
bit is zero, a sent sibling is never ``ZERO_HASH``, the length is exact.

This module needs no database and imports nothing from the node, so a light client can use it
on its own. It also holds the tree's hash functions, which prover and verifier share.
"""

import hashlib
from collections.abc import Sequence
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

FANOUT = 16  # children per internal node: one per nibble
NIBBLE_BITS = 4
MAX_LEVELS = 64  # paths are 256 bits; two leaves always part by level 64
SIBLINGS_PER_LEVEL = FANOUT - 1

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


def hash_node(children: Sequence[bytes]) -> bytes:
    """An internal node's hash from its 16 children's (``ZERO_HASH`` for an empty child)."""
    if len(children) != FANOUT:
        raise ValueError(f"an internal node has {FANOUT} children, not {len(children)}")
    hasher = NODE_HASHER.copy()
    hasher.update(b"".join(children))
    return hasher.digest()


def get_nibble(path: int, level: int) -> int:
    """Which child of the node at ``level`` holds ``path`` (0-15)."""
    return path >> (256 - NIBBLE_BITS * (level + 1)) & (FANOUT - 1)


class ProofKind(IntEnum):
    """What the proof's terminal is; the first byte of the encoding."""

    EMPTY = 0
    KEY_LEAF = 1
    OTHER_LEAF = 2


_BITMAP_TOP = 15  # bitmap bit of sibling 0; bit 0 is padding


@dataclass(frozen=True, slots=True)
class StateProof:
    """Per level from the root down, the 15 siblings; plus the terminal (module docstring)."""

    kind: ProofKind
    siblings: tuple[tuple[bytes, ...], ...]
    other_path: bytes | None = None  # OTHER_LEAF only
    other_value_hash: bytes | None = None  # OTHER_LEAF only

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ProofKind):
            raise EncodingError(f"unknown proof kind {self.kind!r}")
        if type(self.siblings) is not tuple or len(self.siblings) > MAX_LEVELS:
            raise EncodingError(f"a proof is a tuple of at most {MAX_LEVELS} levels")
        for level in self.siblings:
            if type(level) is not tuple or len(level) != SIBLINGS_PER_LEVEL:
                raise EncodingError(f"every proof level holds {SIBLINGS_PER_LEVEL} siblings")
            if any(type(s) is not bytes or len(s) != HASH_SIZE for s in level):
                raise EncodingError("every sibling must be a 32-byte hash")
        has_leaf = self.kind is ProofKind.OTHER_LEAF
        for field in (self.other_path, self.other_value_hash):
            if has_leaf != (field is not None):
                raise EncodingError("other_path and other_value_hash go with OTHER_LEAF only")
            if field is not None and (type(field) is not bytes or len(field) != HASH_SIZE):
                raise EncodingError("other_path and other_value_hash must be 32-byte hashes")

    @property
    def depth(self) -> int:
        """Level of the terminal (0: the root itself)."""
        return len(self.siblings)

    def encode(self) -> bytes:
        """The canonical compact encoding (module docstring)."""
        parts = [bytes([self.kind, len(self.siblings)])]
        for level in self.siblings:
            bitmap = 0
            present = []
            for index, sibling in enumerate(level):
                if sibling != ZERO_HASH:
                    bitmap |= 1 << (_BITMAP_TOP - index)
                    present.append(sibling)
            parts.append(bitmap.to_bytes(2, "big"))
            parts += present
        if self.kind is ProofKind.OTHER_LEAF:
            parts += [self.other_path, self.other_value_hash]  # type: ignore[list-item]  # set for OTHER_LEAF
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> "StateProof":
        """Parse :meth:`encode`'s output; anything else raises :class:`EncodingError`."""
        if len(data) < 2:
            raise EncodingError("state proof shorter than its header")
        try:
            kind = ProofKind(data[0])
        except ValueError:
            raise EncodingError(f"unknown state proof kind {data[0]}") from None
        levels = data[1]
        if levels > MAX_LEVELS:
            raise EncodingError(f"state proof has {levels} levels, more than {MAX_LEVELS}")
        offset = 2
        siblings = []
        for _ in range(levels):
            if len(data) < offset + 2:
                raise EncodingError("state proof level truncated")
            bitmap = int.from_bytes(data[offset : offset + 2], "big")
            offset += 2
            if bitmap & 1:
                raise EncodingError("state proof bitmap has its padding bit set")
            level = []
            for index in range(SIBLINGS_PER_LEVEL):
                if bitmap >> (_BITMAP_TOP - index) & 1:
                    sibling = data[offset : offset + HASH_SIZE]
                    if len(sibling) != HASH_SIZE:
                        raise EncodingError("state proof sibling truncated")
                    if sibling == ZERO_HASH:
                        raise EncodingError("state proof sends an empty sibling explicitly")
                    level.append(sibling)
                    offset += HASH_SIZE
                else:
                    level.append(ZERO_HASH)
            siblings.append(tuple(level))
        tail = 2 * HASH_SIZE if kind is ProofKind.OTHER_LEAF else 0
        if len(data) != offset + tail:
            raise EncodingError("state proof length does not match its bitmaps")
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
    if depth and all(sibling == ZERO_HASH for sibling in siblings[-1]):
        # The terminal's parent holds at least two leaves, so one of the terminal's siblings
        # is not empty; an honest prover never sends this shape.
        raise InvalidProof("state proof ends beside only empty siblings")
    current = _terminal_hash(path_bytes, path, depth, value, proof)
    for level in range(depth - 1, -1, -1):
        children = list(siblings[level])
        children.insert(get_nibble(path, level), current)
        current = hash_node(children)
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
        if (other ^ path) >> (256 - NIBBLE_BITS * depth):
            raise InvalidProof("the leaf proving absence is not on the key's path")
        return hash_leaf(proof.other_path, proof.other_value_hash)  # type: ignore[arg-type]
    raise InvalidProof("an absence claim needs a proof ending at an empty slot or another leaf")

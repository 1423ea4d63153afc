"""Binary Merkle roots and inclusion proofs over ordered lists (RFC 9162 tree shape).

Used for extrinsics roots and model-chunk roots. The tree over ``n`` items splits at the
largest power of two below ``n`` (RFC 9162 §2.1.1), so no item is ever duplicated (the
Bitcoin ambiguity, CVE-2012-2459, cannot occur). Leaves and inner nodes hash under different
domain tags, so an inner node can never be passed off as a leaf. The root of the empty list
is ``ZERO_HASH``.

A proof is the list of sibling hashes from the leaf up; verifying it needs the leaf's index
and the list's length, which the caller must take from a trusted place (the length is
committed separately wherever it matters, e.g. in the block's extrinsics count).
"""

from __future__ import annotations

from collections.abc import Sequence

from runtime.errors import InvalidProof
from runtime.primitives.hashing import TAG_MERKLE_LEAF, TAG_MERKLE_NODE, ZERO_HASH, tagged_hash


def compute_leaf_hash(item: bytes) -> bytes:
    return tagged_hash(TAG_MERKLE_LEAF, item)


def compute_node_hash(left: bytes, right: bytes) -> bytes:
    return tagged_hash(TAG_MERKLE_NODE, left + right)


def _split_point(count: int) -> int:
    """The largest power of two strictly below ``count`` (``count`` ≥ 2)."""
    return 1 << ((count - 1).bit_length() - 1)


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    split = _split_point(len(hashes))
    return compute_node_hash(_root_of_hashes(hashes[:split]), _root_of_hashes(hashes[split:]))


def compute_merkle_root(items: Sequence[bytes]) -> bytes:
    """Root of the ordered list ``items``."""
    if not items:
        return ZERO_HASH
    return _root_of_hashes([compute_leaf_hash(item) for item in items])


def compute_merkle_proof(items: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """Sibling hashes, leaf level first, proving ``items[index]``."""
    if not 0 <= index < len(items):
        raise IndexError(f"index {index} outside a list of {len(items)} items")
    hashes = [compute_leaf_hash(item) for item in items]
    siblings: list[bytes] = []
    while len(hashes) > 1:
        split = _split_point(len(hashes))
        if index < split:
            siblings.append(_root_of_hashes(hashes[split:]))
            hashes = hashes[:split]
        else:
            siblings.append(_root_of_hashes(hashes[:split]))
            hashes, index = hashes[split:], index - split
    return tuple(reversed(siblings))


def verify_merkle_proof(root: bytes, item: bytes, index: int, count: int, proof: Sequence[bytes]) -> None:
    """Check that ``item`` is at ``index`` in a list of ``count`` items with this ``root``.

    Raises :class:`InvalidProof` otherwise. Follows RFC 9162 §2.1.3.2, with the path walked
    from the leaf up.
    """
    if not 0 <= index < count:
        raise InvalidProof(f"index {index} outside a list of {count} items")
    node, last = index, count - 1
    digest = compute_leaf_hash(item)
    for sibling in proof:
        if last == 0:
            raise InvalidProof("proof is longer than the tree is deep")
        if node % 2 == 1 or node == last:
            digest = compute_node_hash(sibling, digest)
            if node % 2 == 0:
                # A right-edge node without a sibling at this level: climb until it has one.
                while node % 2 == 0 and node != 0:
                    node >>= 1
                    last >>= 1
        else:
            digest = compute_node_hash(digest, sibling)
        node >>= 1
        last >>= 1
    if last != 0 or digest != root:
        raise InvalidProof("Merkle proof does not lead to the expected root")

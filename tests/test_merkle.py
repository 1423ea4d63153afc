"""Binary Merkle roots and proofs over ordered lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import InvalidProof
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.merkle import (
    compute_leaf_hash,
    compute_merkle_proof,
    compute_merkle_root,
    compute_node_hash,
    verify_merkle_proof,
)

item_lists = st.lists(st.binary(max_size=16), min_size=1, max_size=40)


def test_small_trees_have_rfc9162_shape() -> None:
    a, b, c = (compute_leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert compute_merkle_root([]) == ZERO_HASH
    assert compute_merkle_root([b"a"]) == a
    assert compute_merkle_root([b"a", b"b"]) == compute_node_hash(a, b)
    assert compute_merkle_root([b"a", b"b", b"c"]) == compute_node_hash(compute_node_hash(a, b), c)


def test_no_duplicate_last_item_ambiguity() -> None:
    assert compute_merkle_root([b"a", b"b", b"c"]) != compute_merkle_root([b"a", b"b", b"c", b"c"])


def test_leaf_cannot_pose_as_inner_node() -> None:
    a, b = compute_leaf_hash(b"a"), compute_leaf_hash(b"b")
    assert compute_merkle_root([a + b]) != compute_merkle_root([b"a", b"b"])


@given(item_lists, st.data())
def test_every_proof_verifies(items: list[bytes], data: st.DataObject) -> None:
    root = compute_merkle_root(items)
    index = data.draw(st.integers(0, len(items) - 1))
    proof = compute_merkle_proof(items, index)
    verify_merkle_proof(root, items[index], index, len(items), proof)


@given(item_lists, st.data())
def test_wrong_statements_rejected(items: list[bytes], data: st.DataObject) -> None:
    root = compute_merkle_root(items)
    index = data.draw(st.integers(0, len(items) - 1))
    proof = compute_merkle_proof(items, index)
    with pytest.raises(InvalidProof):
        verify_merkle_proof(root, items[index] + b"!", index, len(items), proof)
    with pytest.raises(InvalidProof):
        verify_merkle_proof(root, items[index], index, 2 * len(items) + 1, proof)
    if proof:
        tampered = list(proof)
        position = data.draw(st.integers(0, len(proof) - 1))
        tampered[position] = bytes(b ^ 1 for b in tampered[position])
        with pytest.raises(InvalidProof):
            verify_merkle_proof(root, items[index], index, len(items), tampered)
        with pytest.raises(InvalidProof):
            verify_merkle_proof(root, items[index], index, len(items), proof[:-1])
    other = data.draw(st.integers(0, len(items) - 1))
    if items[other] != items[index]:
        with pytest.raises(InvalidProof):
            verify_merkle_proof(root, items[index], other, len(items), proof)


def test_index_outside_list_rejected() -> None:
    with pytest.raises(InvalidProof):
        verify_merkle_proof(compute_merkle_root([b"a"]), b"a", 1, 1, ())
    with pytest.raises(IndexError):
        compute_merkle_proof([b"a"], 1)


# --- every shape up to 17 leaves (the right-edge climb), and messages ------------------------


def test_every_proof_of_every_small_tree_verifies() -> None:
    """Unbalanced trees make right-edge nodes climb several levels without a sibling."""
    for count in range(1, 18):
        items = [bytes([index]) for index in range(count)]
        root = compute_merkle_root(items)
        for index in range(count):
            verify_merkle_proof(root, items[index], index, count, compute_merkle_proof(items, index))


def test_proof_messages() -> None:
    items = [b"a", b"b", b"c"]
    root, proof = compute_merkle_root(items), compute_merkle_proof(items, 2)
    with pytest.raises(IndexError, match="^index 3 outside a list of 3 items$"):
        compute_merkle_proof(items, 3)
    with pytest.raises(InvalidProof, match="^index 3 outside a list of 3 items$"):
        verify_merkle_proof(root, b"c", 3, 3, proof)
    with pytest.raises(InvalidProof, match="^proof is longer than the tree is deep$"):
        verify_merkle_proof(root, b"c", 2, 3, (*proof, root, root))
    with pytest.raises(InvalidProof, match="^Merkle proof does not lead to the expected root$"):
        verify_merkle_proof(root, b"x", 2, 3, proof)

"""The authenticated state tree: roots, reads, proofs, versions, pruning, rollback, revert.

Roots are checked against an independent reference (a direct recursive definition over the
key set using ``tagged_hash``), proofs with the standalone verifier, and the whole tree
against a dict model on both backends at once by a Hypothesis state machine.
"""

import random

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from flockchain.abc import KeyValueStore, WriteBatch
from flockchain.db import LevelDBStore, MemoryStore, schema
from flockchain.errors import (
    CorruptDatabase,
    EncodingError,
    InvalidProof,
    InvalidVersion,
    StorageError,
    UnknownVersion,
    UnsupportedStateFormat,
    VersionPruned,
)
from flockchain.state import ProofKind, StateProof, StateTree, verify_proof
from flockchain.state.proof import hash_key, hash_leaf, hash_node, hash_value
from flockchain.state.tree import Internal, Leaf, _decode_node, _decode_root, _walk_memory
from runtime.primitives.hashing import (
    TAG_STATE_LEAF,
    TAG_STATE_NODE,
    TAG_STATE_VALUE,
    TAG_STORAGE_KEY,
    ZERO_HASH,
    tagged_hash,
)

# --- reference model --------------------------------------------------------------------------


def reference_root(state: dict[bytes, bytes]) -> bytes:
    """The root by definition: split the key set by path nibble until a subtree has <= 1 key."""

    def path_of(key: bytes) -> int:
        return int.from_bytes(tagged_hash(TAG_STORAGE_KEY, key), "big")

    def leaf(key: bytes) -> bytes:
        value_hash = tagged_hash(TAG_STATE_VALUE, state[key])
        return tagged_hash(TAG_STATE_LEAF, tagged_hash(TAG_STORAGE_KEY, key) + value_hash)

    def subtree(keys: list[bytes], level: int) -> bytes:
        if not keys:
            return ZERO_HASH
        if len(keys) == 1:
            return leaf(keys[0])
        groups = [[k for k in keys if path_of(k) >> (252 - 4 * level) & 15 == nibble] for nibble in range(16)]
        return tagged_hash(TAG_STATE_NODE, b"".join(subtree(group, level + 1) for group in groups))

    return subtree(list(state), 0)


def check_shape(tree: StateTree) -> None:
    """The in-memory tree's invariants: compression, positions, cached hashes, no staged
    nodes once committed."""
    committed = not tree.has_staged_changes

    def visit(node, depth: int, prefix: int) -> int:
        if node is None:
            return 0
        if committed:
            assert node.version is not None
        if isinstance(node, Leaf):
            assert node.path >> (256 - depth) == prefix >> (256 - depth) if depth else True
            return 1
        assert isinstance(node, Internal)
        assert len(node.children) == len(node.versions) == 16
        for child, child_version in zip(node.children, node.versions):
            # A version kept for a child is that child's, and once committed every child's is.
            assert child_version is None or child_version == child.version
            if committed:
                assert child_version == (None if child is None else child.version)
        child_hashes = [ZERO_HASH if child is None else child.hash for child in node.children]
        assert bytes(node.hashes) == b"".join(child_hashes)
        assert node.hash == hash_node(child_hashes)
        leaves = sum(
            visit(child, depth + 4, prefix | nibble << (252 - depth)) for nibble, child in enumerate(node.children)
        )
        assert leaves >= 2, "an internal node holds at least two leaves"
        return leaves

    visit(tree._root, 0, 0)


def fingerprint(node) -> tuple | None:
    """The whole in-memory tree, node classes, hashes and versions included."""
    if node is None:
        return None
    if isinstance(node, Leaf):
        return ("leaf", node.path, node.key, node.hash, node.version)
    children = tuple(fingerprint(child) for child in node.children)
    return ("internal", node.hash, node.version, bytes(node.hashes), tuple(node.versions), children)


def stored_node_keys(store: KeyValueStore) -> set[bytes]:
    return {key for key, _ in store.iterate(schema.STATE_NODE)}


def reachable_node_keys(store: KeyValueStore, version: int) -> set[bytes]:
    """Every node key the stored tree of ``version`` uses, found by walking it."""
    ref = _decode_root(store.get(schema.state_root_key(version)))
    found: set[bytes] = set()

    def walk(ref, depth: int, prefix: int) -> None:
        key = schema.state_node_key(ref.version, depth, prefix)
        found.add(key)
        record = _decode_node(store.get(key))
        if hasattr(record, "children"):
            for nibble, child in enumerate(record.children):
                if child is not None:
                    walk(child, depth + 4, prefix | nibble << (252 - depth))

    if ref is not None:
        walk(ref, 0, 0)
    return found


def reachable_from(store: KeyValueStore, versions) -> set[bytes]:
    return set().union(*(reachable_node_keys(store, version) for version in versions))


def absent_key_beside_another_leaf(tree: StateTree, stem: bytes) -> bytes:
    """An absent key whose proof ends at another key's leaf (not at an empty slot)."""
    candidates = (stem + b"%d" % i for i in range(1000))
    return next(key for key in candidates if tree.prove(key).kind is ProofKind.OTHER_LEAF)


def random_state(rng: random.Random, size: int) -> dict[bytes, bytes]:
    return {rng.randbytes(rng.randint(1, 12)): rng.randbytes(rng.randint(0, 20)) for _ in range(size)}


@pytest.fixture(params=["memory", "leveldb"])
def store(request, tmp_path):
    kv = MemoryStore() if request.param == "memory" else LevelDBStore(tmp_path / "db")
    yield kv
    kv.close()


# --- hashing and roots ------------------------------------------------------------------------


def test_hashers_match_tagged_hash():
    data = bytes(range(64))
    assert hash_key(data) == tagged_hash(TAG_STORAGE_KEY, data)
    assert hash_value(data) == tagged_hash(TAG_STATE_VALUE, data)
    assert hash_leaf(data[:32], data[32:]) == tagged_hash(TAG_STATE_LEAF, data)
    children = [bytes([index]) * 32 for index in range(16)]
    assert hash_node(children) == tagged_hash(TAG_STATE_NODE, b"".join(children))
    with pytest.raises(ValueError):
        hash_node(children[:15])


def test_empty_tree(store):
    tree = StateTree(store)
    assert tree.root == ZERO_HASH
    assert tree.version is None
    assert tree.get(b"k") is None
    proof = tree.prove(b"k")
    assert proof.kind is ProofKind.EMPTY and proof.depth == 0
    verify_proof(ZERO_HASH, b"k", None, proof)
    assert tree.commit(0) == ZERO_HASH
    assert tree.root_at(0) == ZERO_HASH


def test_single_key_root_is_its_leaf(store):
    tree = StateTree(store)
    root = tree.apply({b"k": b"v"})
    assert root == hash_leaf(hash_key(b"k"), hash_value(b"v")) == reference_root({b"k": b"v"})


@pytest.mark.parametrize("size", [2, 3, 17, 300])
def test_root_matches_reference(size):
    state = random_state(random.Random(size), size)
    tree = StateTree(MemoryStore())
    assert tree.apply(state) == reference_root(state)
    check_shape(tree)


def test_root_is_independent_of_order_and_batching():
    rng = random.Random(7)
    state = random_state(rng, 200)
    bulk = StateTree(MemoryStore())
    expected = bulk.apply(state)
    items = list(state.items())
    for trial in range(5):
        rng.shuffle(items)
        tree = StateTree(MemoryStore())
        position = 0
        while position < len(items):
            step = rng.randint(1, 40)
            tree.apply(dict(items[position : position + step]))
            position += step
            if trial % 2:
                tree.commit(position)
        assert tree.root == expected
        check_shape(tree)


def test_insert_then_delete_restores_root():
    rng = random.Random(3)
    state = random_state(rng, 100)
    tree = StateTree(MemoryStore())
    before = tree.apply(state)
    tree.commit(0)
    extra = random_state(rng, 50)
    tree.apply(extra)
    assert tree.root != before
    tree.apply({key: None for key in extra if key not in state})
    tree.apply({key: state[key] for key in extra if key in state})
    assert tree.root == before
    tree.apply({key: None for key in state})
    assert tree.root == ZERO_HASH
    check_shape(tree)


def test_one_batch_can_empty_one_child_and_fill_another(store):
    """Root with two leaves; one batch deletes the first (in nibble order) and adds a third.
    Halfway through, the root holds one leaf: the leaf that stays must not be compressed
    upward (and its record retired) on the strength of that passing state."""
    first_nibble = {}
    for index in range(1000):
        key = b"nibble-%d" % index
        first_nibble.setdefault(hash_key(key)[0] >> 4, key)
    deleted, kept, added = first_nibble[1], first_nibble[2], first_nibble[3]
    tree = StateTree(store, prune_depth=0)
    tree.apply({deleted: b"d", kept: b"k"})
    tree.commit(0)
    assert tree.apply({deleted: None, added: b"a"}) == reference_root({kept: b"k", added: b"a"})
    tree.commit(1)
    check_shape(tree)
    assert fingerprint(StateTree(store)._root) == fingerprint(tree._root)  # no record missing
    assert stored_node_keys(store) == reachable_node_keys(store, 1)


def test_a_store_of_another_state_format_is_refused(store):
    tree = StateTree(store)
    tree.apply({b"k": b"v"})
    tree.commit(0)
    assert StateTree(store).root == tree.root
    batch = WriteBatch()
    batch.delete(schema.STATE_FORMAT)  # as a store of the binary tree (format 1) has none
    store.write(batch)
    with pytest.raises(UnsupportedStateFormat, match="format 1"):
        StateTree(store)


def test_no_op_changes_keep_root_and_nodes(store):
    tree = StateTree(store)
    state = random_state(random.Random(4), 50)
    tree.apply(state)
    tree.commit(0)
    root, nodes = tree.root, stored_node_keys(store)
    key, value = next(iter(state.items()))
    assert tree.apply({key: value, b"absent": None}) == root
    tree.commit(1)
    assert stored_node_keys(store) == nodes  # nothing rewritten
    assert tree.root_at(1) == root


def test_get_set_delete(store):
    tree = StateTree(store)
    tree.apply({b"a": b"1", b"b": b"2", b"c": b""})
    assert [tree.get(key) for key in (b"a", b"b", b"c", b"d")] == [b"1", b"2", b"", None]
    tree.commit(0)
    tree.apply({b"a": None, b"b": b"3", b"ab": b"4"})
    assert (tree.get(b"a"), tree.get(b"b")) == (None, b"3")
    assert tree.root == reference_root({b"b": b"3", b"c": b"", b"ab": b"4"})
    assert list(tree.iter_prefix()) == [(b"ab", b"4"), (b"b", b"3"), (b"c", b"")]
    assert list(tree.iter_prefix(b"a")) == [(b"ab", b"4")]
    assert list(tree.iter_prefix(b"a", 0)) == [(b"a", b"1")]  # committed, not staged


def test_rejects_non_bytes(store):
    tree = StateTree(store)
    with pytest.raises(TypeError):
        tree.apply({"key": b"v"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        tree.apply({b"key": bytearray(b"v")})  # type: ignore[dict-item]
    assert tree.root == ZERO_HASH and not tree.has_staged_changes


# --- proofs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proving_tree():
    state = random_state(random.Random(11), 400)
    tree = StateTree(MemoryStore())
    tree.apply(state)
    return tree, state


def test_inclusion_and_absence_proofs(proving_tree):
    tree, state = proving_tree
    for key, value in state.items():
        proof = tree.prove(key)
        assert proof.kind is ProofKind.KEY_LEAF
        verify_proof(tree.root, key, value, proof)
        verify_proof(tree.root, key, value, proof.encode())
        verify_proof(tree.root, key, value, memoryview(proof.encode()))
    kinds = set()
    for index in range(300):
        key = b"absent-%d" % index
        proof = tree.prove(key)
        kinds.add(proof.kind)
        verify_proof(tree.root, key, None, proof)
        verify_proof(tree.root, key, None, StateProof.decode(proof.encode()))
    assert kinds == {ProofKind.EMPTY, ProofKind.OTHER_LEAF}


def test_proof_encoding_round_trips_and_is_compact(proving_tree):
    tree, state = proving_tree
    for key in list(state)[:50] + [b"x", b"y"]:
        proof = tree.prove(key)
        encoded = proof.encode()
        assert StateProof.decode(encoded) == proof
        non_empty = sum(s != ZERO_HASH for level in proof.siblings for s in level)
        extra = 64 if proof.kind is ProofKind.OTHER_LEAF else 0
        assert len(encoded) == 2 + 2 * proof.depth + 32 * non_empty + extra


def documented_proof_root(key: bytes, value: bytes | None, encoded: bytes) -> bytes:
    """The root an encoded proof leads to, computed as docs/storage.md describes the format,
    from the bytes alone (no StateProof, no tree code)."""
    path = tagged_hash(TAG_STORAGE_KEY, key)
    kind, levels, offset = encoded[0], encoded[1], 2
    siblings = []
    for _ in range(levels):
        bitmap = int.from_bytes(encoded[offset : offset + 2], "big")
        offset += 2
        level = []
        for index in range(15):
            if bitmap >> (15 - index) & 1:
                level.append(encoded[offset : offset + 32])
                offset += 32
            else:
                level.append(bytes(32))
        siblings.append(level)
    if kind == 1:
        current = tagged_hash(TAG_STATE_LEAF, path + tagged_hash(TAG_STATE_VALUE, value))
    elif kind == 2:
        current = tagged_hash(TAG_STATE_LEAF, encoded[offset : offset + 64])
    else:
        current = bytes(32)
    nibbles = [nibble for byte in path for nibble in (byte >> 4, byte & 15)]
    for level in range(levels - 1, -1, -1):
        children = siblings[level][: nibbles[level]] + [current] + siblings[level][nibbles[level] :]
        current = tagged_hash(TAG_STATE_NODE, b"".join(children))
    return current


def test_proofs_follow_the_documented_format(proving_tree):
    tree, state = proving_tree
    cases = list(state.items())[:20] + [(b"absent-%d" % index, None) for index in range(40)]
    kinds = set()
    for key, value in cases:
        encoded = tree.prove(key).encode()
        kinds.add(encoded[0])
        assert documented_proof_root(key, value, encoded) == tree.root
    assert kinds == {0, 1, 2}


def assert_rejected(root, key, value, proof):
    with pytest.raises(InvalidProof):
        verify_proof(root, key, value, proof)


def test_every_flipped_sibling_byte_is_rejected(proving_tree):
    tree, state = proving_tree
    key, value = next(iter(state.items()))
    proof = tree.prove(key)
    flips = 0
    for level, level_siblings in enumerate(proof.siblings):
        for index, sibling in enumerate(level_siblings):
            for position in range(0, 32, 7) if sibling != ZERO_HASH else (0,):
                flipped = bytearray(sibling)
                flipped[position] ^= 0x01
                siblings = [list(each) for each in proof.siblings]
                siblings[level][index] = bytes(flipped)
                tampered = StateProof(proof.kind, tuple(tuple(each) for each in siblings))
                assert_rejected(tree.root, key, value, tampered)
                flips += 1
    assert flips >= 15 * proof.depth


def test_every_flipped_encoding_byte_is_rejected(proving_tree):
    tree, state = proving_tree
    absent = absent_key_beside_another_leaf(tree, b"a")
    cases = [(key, value) for key, value in list(state.items())[:3]] + [(absent, None)]
    for key, value in cases:
        encoded = tree.prove(key).encode()
        for position in range(len(encoded)):
            for bit in (0x01, 0x80):
                flipped = bytearray(encoded)
                flipped[position] ^= bit
                assert_rejected(tree.root, key, value, bytes(flipped))


def test_wrong_claims_are_rejected(proving_tree):
    tree, state = proving_tree
    (key, value), (other_key, other_value) = list(state.items())[:2]
    proof = tree.prove(key)
    assert_rejected(tree.root, key, value + b"!", proof)  # wrong value
    assert_rejected(tree.root, key, None, proof)  # claims absence of a present key
    assert_rejected(tree.root, other_key, value, proof)  # wrong key
    assert_rejected(tree.root, other_key, other_value, proof)
    assert_rejected(hash_node([tree.root] + [ZERO_HASH] * 15), key, value, proof)  # wrong root
    assert_rejected(tree.root[:31], key, value, proof)
    absent_proof = tree.prove(b"nope")
    assert_rejected(tree.root, b"nope", b"", absent_proof)  # claims presence of an absent key
    assert_rejected(tree.root, key, None, absent_proof)  # absence proof reused for another key


def test_forged_absence_proofs_are_rejected(proving_tree):
    tree, state = proving_tree
    key, value = next(iter(state.items()))
    proof = tree.prove(key)
    own_leaf = StateProof(ProofKind.OTHER_LEAF, proof.siblings, hash_key(key), hash_value(value))
    assert_rejected(tree.root, key, None, own_leaf)  # "another" leaf that is the key's own
    assert_rejected(tree.root, key, None, StateProof(ProofKind.EMPTY, proof.siblings))
    deeper = StateProof(ProofKind.EMPTY, proof.siblings + ((ZERO_HASH,) * 15,))
    assert_rejected(tree.root, key, None, deeper)  # ends beside only empty siblings
    absent = absent_key_beside_another_leaf(tree, b"b")
    good = tree.prove(absent)
    misplaced = StateProof(ProofKind.OTHER_LEAF, good.siblings, bytes(32), good.other_value_hash)
    assert_rejected(tree.root, absent, None, misplaced)


@pytest.mark.parametrize(
    "encoded",
    [
        b"",
        b"\x00",
        b"\x03\x00",  # unknown kind
        b"\x00\x41" + b"\x00\x00" * 65,  # 65 levels
        b"\x00\x00\x00",  # trailing byte
        b"\x00\x01",  # bitmap missing
        b"\x00\x01\x00",  # bitmap truncated
        b"\x00\x01\x00\x01",  # padding bit set
        b"\x00\x01\x80\x00",  # sibling announced, missing
        b"\x00\x01\x80\x00" + b"\x11" * 31,  # sibling truncated
        b"\x00\x01\x80\x00" + b"\x11" * 33,  # sibling too long
        b"\x00\x01\x80\x00" + bytes(32),  # explicit empty sibling
        b"\x02\x00" + b"\x11" * 63,  # other leaf truncated
        b"\x01\x00" + b"\x11" * 64,  # other leaf data on a key-leaf proof
    ],
)
def test_decoding_is_strict(encoded):
    with pytest.raises(EncodingError):
        StateProof.decode(encoded)
    with pytest.raises(InvalidProof):
        verify_proof(ZERO_HASH, b"k", None, encoded)


def test_verify_rejects_what_is_not_a_proof(proving_tree):
    tree, state = proving_tree
    key, value = next(iter(state.items()))
    for bad in (None, 5, "proof", [tree.prove(key)]):
        assert_rejected(tree.root, key, value, bad)


def test_proof_objects_are_validated():
    with pytest.raises(EncodingError):
        StateProof(ProofKind.EMPTY, (b"short",))
    with pytest.raises(EncodingError):
        StateProof(ProofKind.OTHER_LEAF, ())
    with pytest.raises(EncodingError):
        StateProof(ProofKind.EMPTY, (), bytes(32), bytes(32))
    with pytest.raises(EncodingError):
        StateProof(ProofKind.EMPTY, ((bytes(32),) * 15,) * 65)
    with pytest.raises(EncodingError):
        StateProof(ProofKind.EMPTY, ((bytes(32),) * 16,))  # a level of 16
    with pytest.raises(EncodingError):
        StateProof(ProofKind.EMPTY, [(bytes(32),) * 15])  # type: ignore[arg-type]  # not a tuple
    with pytest.raises(EncodingError):
        StateProof(1, ())  # type: ignore[arg-type]


def test_max_depth_proof_round_trips():
    proof = StateProof(ProofKind.KEY_LEAF, ((b"\x11" * 32,) * 15,) * 64)
    assert StateProof.decode(proof.encode()) == proof


# --- versions, pruning, rollback, revert, reopen -----------------------------------------------


def commit_history(tree: StateTree, versions: int, seed: int = 5) -> dict[int, dict[bytes, bytes]]:
    """Commit ``versions`` random batches over a small key space; return each version's state."""
    rng = random.Random(seed)
    model: dict[bytes, bytes] = {}
    history = {}
    for version in range(versions):
        changes = {}
        for _ in range(rng.randint(1, 12)):
            key = b"key-%d" % rng.randrange(30)
            changes[key] = None if rng.random() < 0.25 else rng.randbytes(rng.randint(0, 8))
        tree.apply(changes)
        for key, value in changes.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        tree.commit(version)
        history[version] = dict(model)
    return history


KEY_SPACE = [b"key-%d" % i for i in range(30)]


def assert_version_readable(tree: StateTree, version: int, state: dict[bytes, bytes]) -> None:
    root = tree.root_at(version)
    assert root == reference_root(state)
    assert list(tree.iter_prefix(b"", version)) == sorted(state.items())
    assert list(tree.iter_prefix(b"key-1", version)) == sorted(
        (k, v) for k, v in state.items() if k.startswith(b"key-1")
    )
    for key in KEY_SPACE:
        assert tree.get(key, version) == state.get(key)
        verify_proof(root, key, state.get(key), tree.prove(key, version))


def test_historical_versions_are_readable(store):
    tree = StateTree(store)
    history = commit_history(tree, 12)
    for version, state in history.items():
        assert_version_readable(tree, version, state)
    tree.apply({b"key-1": b"staged"})
    assert tree.get(b"key-1", 11) == history[11].get(b"key-1")  # committed, not staged
    assert tree.root_at(11) == reference_root(history[11])
    verify_proof(tree.root_at(11), b"key-1", history[11].get(b"key-1"), tree.prove(b"key-1", 11))


def test_version_errors(store):
    tree = StateTree(store)
    with pytest.raises(UnknownVersion):
        tree.get(b"k", 0)
    commit_history(tree, 3)
    with pytest.raises(UnknownVersion):
        tree.get(b"k", 3)
    with pytest.raises(UnknownVersion):
        tree.prove(b"k", 99)
    for bad in (2, 1, -1, 2**64):
        with pytest.raises(InvalidVersion):
            tree.commit(bad)
    tree.commit(10)  # gaps are fine
    with pytest.raises(UnknownVersion):
        tree.root_at(7)


@pytest.mark.parametrize("prune_depth", [0, 1, 3])
def test_pruning_removes_exactly_the_unreachable(store, prune_depth):
    tree = StateTree(store, prune_depth=prune_depth)
    history = commit_history(tree, 15)
    kept = range(14 - prune_depth, 15)
    for version in range(14 - prune_depth):
        with pytest.raises(VersionPruned):
            tree.get(b"key-1", version)
        with pytest.raises(VersionPruned):
            tree.prove(b"key-1", version)
        with pytest.raises(VersionPruned):
            tree.root_at(version)
    for version in kept:
        assert_version_readable(tree, version, history[version])
    assert stored_node_keys(store) == reachable_from(store, kept)
    roots = [schema.parse_state_root_key(key) for key, _ in store.iterate(schema.STATE_ROOT)]
    assert roots == list(kept)


def test_archive_keeps_everything_and_manual_prune(store):
    tree = StateTree(store)
    history = commit_history(tree, 10)
    assert stored_node_keys(store) == reachable_from(store, range(10))
    tree.prune(6)
    assert stored_node_keys(store) == reachable_from(store, range(6, 10))
    for version in range(6, 10):
        assert_version_readable(tree, version, history[version])
    tree.prune(3)  # already below: nothing to do
    with pytest.raises(InvalidVersion):
        tree.prune(11)


def test_rollback_discards_staged_changes_exactly(store):
    tree = StateTree(store)
    history = commit_history(tree, 4)
    snapshot = list(store.iterate())
    root = tree.root
    committed = fingerprint(tree._root)
    tree.apply({b"key-1": b"x", b"new": b"y"})
    tree.apply({b"key-2": None, b"new": None, b"other": b"z"})
    tree.apply({key: None for key in KEY_SPACE[5:]})
    assert tree.has_staged_changes and tree.root != root
    tree.rollback()
    assert fingerprint(tree._root) == committed
    assert not tree.has_staged_changes
    assert tree.root == root
    for key in KEY_SPACE + [b"new", b"other"]:
        assert tree.get(key) == history[3].get(key)
    assert list(store.iterate()) == snapshot  # staging never touched the store
    tree.commit(4)
    assert tree.root_at(4) == root
    check_shape(tree)


def test_many_applies_then_rollback_or_commit_are_exact(store):
    """Several batches between commits change nodes on one side, then the other: rollback
    must still give back the committed tree node for node, and commit must write exactly
    what loading the store gives back."""
    rng = random.Random(21)
    keys = [b"k%d" % i for i in range(400)]
    tree = StateTree(store, prune_depth=2)
    model = {key: rng.randbytes(4) for key in keys[:300]}
    tree.apply(model)
    tree.commit(0)
    for version in range(1, 13):
        committed = fingerprint(tree._root)
        staged = dict(model)
        for _ in range(rng.randint(2, 6)):
            changes = {}
            for key in rng.sample(keys, rng.choice([1, 1, 3, 40])):
                changes[key] = None if rng.random() < 0.3 else rng.randbytes(4)
            tree.apply(changes)
            staged.update(changes)
        staged = {key: value for key, value in staged.items() if value is not None}
        assert tree.root == reference_root(staged)
        if version % 3 == 0:
            tree.rollback()
            assert fingerprint(tree._root) == committed
            assert tree.root == reference_root(model)
            continue
        tree.commit(version)
        model = staged
        assert fingerprint(tree._root) == fingerprint(StateTree(store)._root)
        check_shape(tree)


def leaves_by_key(tree: StateTree) -> dict[bytes, Leaf]:
    found, pending = {}, [tree._root]
    while pending:
        node = pending.pop()
        if isinstance(node, Leaf):
            found[node.key] = node
        elif node is not None:
            pending.extend(node.children)
    return found


def test_a_new_value_changes_the_leaf_in_place(store):
    """No new leaf object per changed value: each would reach the cyclic GC's oldest
    generation, which would then scan the whole tree every few dozen blocks."""
    state = {b"key-%d" % i: b"v" for i in range(300)}
    tree = StateTree(store)
    tree.apply(state)
    tree.commit(0)
    before = leaves_by_key(tree)
    changed = {key: b"w" for key in list(state)[::3]}
    tree.apply(changed)
    tree.commit(1)
    after = leaves_by_key(tree)
    assert all(after[key] is before[key] for key in state)
    assert tree.root == reference_root({**state, **changed})
    assert fingerprint(tree._root) == fingerprint(StateTree(store)._root)


@pytest.mark.parametrize("finish", ["rollback", "commit"])
def test_a_leaf_changed_in_place_then_moved_is_exact(store, finish):
    """A committed leaf gets a new value (in place, logged), then a key added later in the
    same version moves it down a level: rollback must give back the committed leaf, and
    commit must keep only its new position."""
    state = {b"key-%d" % i: b"v" for i in range(50)}
    tree = StateTree(store, prune_depth=0)
    tree.apply(state)
    tree.commit(0)
    committed = fingerprint(tree._root)
    newcomer = absent_key_beside_another_leaf(tree, b"newcomer")
    _, neighbour = _walk_memory(tree._root, int.from_bytes(hash_key(newcomer), "big"))
    tree.apply({neighbour.key: b"changed"})
    tree.apply({newcomer: b"new"})
    staged = {**state, neighbour.key: b"changed", newcomer: b"new"}
    assert tree.root == reference_root(staged)
    if finish == "rollback":
        tree.rollback()
        assert fingerprint(tree._root) == committed
        assert tree.root == reference_root(state)
    else:
        tree.commit(1)
        assert fingerprint(tree._root) == fingerprint(StateTree(store)._root)
        assert stored_node_keys(store) == reachable_node_keys(store, 1)
        assert tree.get(neighbour.key, 1) == b"changed"
    check_shape(tree)


def test_commit_into_callers_batch(tmp_path):
    with LevelDBStore(tmp_path / "db") as store:
        tree = StateTree(store)
        tree.apply({b"a": b"1"})
        batch = WriteBatch()
        batch.put(b"\x10chain-record", b"written together")
        root = tree.commit(0, batch)
        assert store.get(schema.STATE_LATEST_VERSION) is None  # not written yet
        assert tree.get(b"a", 0) == b"1"
        store.write(batch)
    with LevelDBStore(tmp_path / "db") as store:
        tree = StateTree(store)
        assert (tree.version, tree.root, tree.get(b"a")) == (0, root, b"1")


def test_revert_to_drops_later_versions(store):
    tree = StateTree(store, prune_depth=10)
    history = commit_history(tree, 8)
    tree.apply({b"key-0": b"staged"})
    tree.revert_to(4)
    assert tree.version == 4 and not tree.has_staged_changes
    assert tree.root == reference_root(history[4])
    for key in KEY_SPACE:
        assert tree.get(key) == history[4].get(key)
    assert {k[1:9] for k in stored_node_keys(store)} <= {v.to_bytes(8, "big") for v in range(5)}
    for prefix in (schema.STATE_STALE, schema.STATE_ROOT):
        assert all(int.from_bytes(k[1:9], "big") <= 4 for k, _ in store.iterate(prefix))
    with pytest.raises(UnknownVersion):
        tree.get(b"key-0", 5)
    for version in range(5):
        assert_version_readable(tree, version, history[version])
    # a different fork from version 4 on
    tree.apply({b"fork": b"1"})
    tree.commit(5)
    assert tree.root == reference_root(history[4] | {b"fork": b"1"})
    assert stored_node_keys(store) == reachable_from(store, range(6))
    check_shape(tree)


def test_revert_errors(store):
    tree = StateTree(store, prune_depth=2)
    commit_history(tree, 6)
    with pytest.raises(VersionPruned):
        tree.revert_to(1)
    with pytest.raises(UnknownVersion):
        tree.revert_to(6)
    tree.revert_to(5)  # the latest: just drops staged changes
    assert tree.version == 5


def test_reopen_from_leveldb(tmp_path):
    path = tmp_path / "db"
    with LevelDBStore(path) as store:
        tree = StateTree(store, prune_depth=4)
        history = commit_history(tree, 9)
        root = tree.root
        tree.apply({b"staged-only": b"lost"})
    with LevelDBStore(path) as store:
        tree = StateTree(store, prune_depth=4)
        assert (tree.version, tree.root) == (8, root)
        check_shape(tree)
        for key in KEY_SPACE + [b"staged-only"]:
            assert tree.get(key) == history[8].get(key)
        for version in range(4, 9):
            assert_version_readable(tree, version, history[version])
        with pytest.raises(VersionPruned):
            tree.get(b"key-1", 3)
        tree.apply({b"after": b"reopen"})
        tree.commit(9)
        assert tree.root == reference_root(history[8] | {b"after": b"reopen"})


@pytest.mark.parametrize("damage", ["leaf value", "internal hash", "missing node"])
def test_reopening_a_damaged_store_fails_loudly(store, damage):
    tree = StateTree(store)
    commit_history(tree, 3)
    records = {key: store.get(key) for key in reachable_node_keys(store, 2)}
    kind = b"\x00" if damage == "leaf value" else b"\x01"
    key, record = next((k, r) for k, r in sorted(records.items()) if r[:1] == kind)
    batch = WriteBatch()
    if damage == "missing node":
        batch.delete(key)
    else:
        batch.put(key, record[:-1] + bytes([record[-1] ^ 1]))
    store.write(batch)
    with pytest.raises(CorruptDatabase):
        StateTree(store)


def test_failed_own_write_reloads_from_disk(tmp_path):
    store = LevelDBStore(tmp_path / "db")
    tree = StateTree(store)
    commit_history(tree, 3)
    root = tree.root
    tree.apply({b"key-3": b"never stored"})
    store.close()
    with pytest.raises(StorageError):
        tree.commit(3)  # the store is closed: the write fails...
    store = LevelDBStore(tmp_path / "db")
    tree = StateTree(store)
    assert (tree.version, tree.root) == (2, root)  # ...and nothing of version 3 reached it
    store.close()


# --- model-based: both backends against a dict ---------------------------------------------------

# Short keys, and keys under two storage-item-sized prefixes (the tree lists those by group).
GROUP_A, GROUP_B = b"a" * 32, b"b" * 32
MODEL_KEYS = (
    [b"", b"k"]
    + [b"key-%d" % i for i in range(18)]
    + [GROUP_A, GROUP_A + b"1", GROUP_A + b"12", GROUP_A + b"2", GROUP_B + b"1", GROUP_B + b"\x00"]
)
PRUNE_DEPTH = 3


class StateMachine(RuleBasedStateMachine):
    """Both backends driven in lockstep and compared with a dict model."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.directory = tempfile.TemporaryDirectory(prefix="state-machine-")
        self.leveldb = LevelDBStore(self.directory.name)
        self.memory = MemoryStore()
        self.trees = [
            StateTree(self.memory, prune_depth=PRUNE_DEPTH),
            StateTree(self.leveldb, prune_depth=PRUNE_DEPTH),
        ]
        self.committed: dict[bytes, bytes] = {}
        self.staged: dict[bytes, bytes] = {}
        self.history: dict[int, dict[bytes, bytes]] = {}
        self.next_version = 0
        self.pruned_below = 0  # only rises: a revert does not bring pruned versions back
        self.committed_fingerprint = None

    def teardown(self) -> None:
        self.leveldb.close()
        self.directory.cleanup()

    @rule(changes=st.dictionaries(st.sampled_from(MODEL_KEYS), st.none() | st.binary(max_size=6), max_size=6))
    def apply(self, changes):
        roots = {tree.apply(changes) for tree in self.trees}
        for key, value in changes.items():
            if value is None:
                self.staged.pop(key, None)
            else:
                self.staged[key] = value
        assert roots == {reference_root(self.staged)}

    @rule(gap=st.integers(0, 2))
    def commit(self, gap):
        version = self.next_version + gap
        roots = {tree.commit(version) for tree in self.trees}
        assert len(roots) == 1
        for tree, store in zip(self.trees, (self.memory, self.leveldb)):
            # memory after a commit is exactly what loading the store gives
            assert fingerprint(tree._root) == fingerprint(StateTree(store)._root)
        self.committed_fingerprint = fingerprint(self.trees[0]._root)
        self.committed = dict(self.staged)
        self.history[version] = self.committed
        self.next_version = version + 1
        self.pruned_below = max(self.pruned_below, version - PRUNE_DEPTH)

    @rule()
    def rollback(self):
        for tree in self.trees:
            tree.rollback()
            assert fingerprint(tree._root) == self.committed_fingerprint
        self.staged = dict(self.committed)

    @rule()
    def reopen_leveldb(self):
        self.trees[1] = StateTree(self.leveldb, prune_depth=PRUNE_DEPTH)
        self.staged = dict(self.committed)
        self.trees[0].rollback()

    @precondition(lambda self: bool(self.history))
    @rule(data=st.data())
    def revert(self, data):
        version = data.draw(st.sampled_from([v for v in self.history if v >= self.pruned_below]))
        for tree in self.trees:
            tree.revert_to(version)
        self.history = {v: s for v, s in self.history.items() if v <= version}
        self.committed = self.history[version]
        self.staged = dict(self.committed)
        self.next_version = version + 1
        self.committed_fingerprint = fingerprint(self.trees[0]._root)

    @precondition(lambda self: bool(self.history))
    @rule(data=st.data(), key=st.sampled_from(MODEL_KEYS))
    def read_history(self, data, key):
        version = data.draw(st.sampled_from(sorted(self.history)))
        state = self.history[version]
        for tree in self.trees:
            if version < self.pruned_below:
                with pytest.raises(VersionPruned):
                    tree.get(key, version)
                continue
            assert tree.get(key, version) == state.get(key)
            assert dict(tree.iter_prefix(key, version)) == {k: v for k, v in state.items() if k.startswith(key)}
            proof = tree.prove(key, version)
            verify_proof(tree.root_at(version), key, state.get(key), proof)

    @invariant()
    def trees_agree_with_model(self):
        memory, leveldb = self.trees
        assert memory.root == leveldb.root == reference_root(self.staged)
        assert memory.version == leveldb.version
        for prefix in (b"", b"key-1", GROUP_A, GROUP_A + b"1", GROUP_B):
            expected_items = sorted((k, v) for k, v in self.staged.items() if k.startswith(prefix))
            assert list(memory.iter_prefix(prefix)) == expected_items
            assert list(leveldb.iter_prefix(prefix)) == expected_items
        for key in MODEL_KEYS:
            expected = self.staged.get(key)
            assert memory.get(key) == leveldb.get(key) == expected
            proof = memory.prove(key)
            assert leveldb.prove(key) == proof
            verify_proof(memory.root, key, expected, proof.encode())
            wrong = b"wrong" if expected is None else None
            with pytest.raises(InvalidProof):
                verify_proof(memory.root, key, wrong, proof)
            if expected is not None:
                with pytest.raises(InvalidProof):
                    verify_proof(memory.root, key, expected + b"\x00", proof)
            if proof.depth:
                siblings = list(proof.siblings)
                siblings[0] = (hash_node(siblings[0] + siblings[0][:1]),) + siblings[0][1:]
                tampered = StateProof(proof.kind, tuple(siblings), proof.other_path, proof.other_value_hash)
                with pytest.raises(InvalidProof):
                    verify_proof(memory.root, key, expected, tampered)
        check_shape(memory)


TestStateMachine = StateMachine.TestCase
TestStateMachine.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

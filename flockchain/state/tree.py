"""The authenticated state: a versioned hexary sparse Merkle tree over every key-value pair.

Shape
    A key's *path* is ``hash_key(key)`` (256 bits, read as 64 nibbles, most significant
    first). A subtree holding no key is empty (hash ``ZERO_HASH``); a subtree holding one key
    is just that key's leaf, placed at the first level where the key is alone (leaf
    compression, as in Jellyfish); any other subtree is an internal node with 16 children, one
    per value of the path's next nibble, any of them possibly empty. So an internal node always
    has at least two leaves below it, and the shape, hence the root, is a pure function of the
    key set, whatever order keys came in. Hashes::

        leaf     = H_leaf(path || H_value(value))     independent of depth: leaves move freely
        internal = H_node(child_0 || ... || child_15) ZERO_HASH for an empty child

    Why 16 children and not 2 (a binary tree's proofs are a quarter of the size): in this
    Python node a tree update costs per node visited, far more than the hash's extra bytes,
    and a hexary tree visits a quarter of the nodes per key and writes under half the records
    per commit (docs/decisions.md).

    Depths are counted in path bits (0, 4, ..., 252); a node at ``depth`` picks its child by
    the nibble ``path >> (252 - depth) & 15``.

Memory
    The latest tree lives in memory as :class:`Leaf` / :class:`Internal` objects holding their
    children directly, plus a dict of the latest values for O(1) reads; reading nodes from disk
    on the hot path would cost hundreds of hash-equivalents per key. The tree is ordered by key
    hash, so listing keys by prefix would scan every key: the latest keys are also grouped by
    their first ``PREFIX_GROUP_SIZE`` bytes (a storage item's prefix, :mod:`runtime.framework.storage`),
    and listing a storage map costs its own size, not the state's. ``version`` on a node is
    the commit that wrote it at its position; None marks a node staged since the last commit.

Batch update (the hot path)
    :meth:`StateTree.apply` hashes the batch's keys and values, sorts it by path and walks the
    tree once: a subtree reached by several batch entries splits them by the next nibble
    (``bisect`` on the sorted int paths, ``lo``/``hi`` indices, no slicing) and recurses; a
    subtree reached by one entry is handled by an iterative descend-then-rehash loop. Each
    touched node is hashed once per batch, however many keys below it changed. An internal
    node keeps its children's hashes in one 512-byte ``bytearray``: a child's hash is a slice
    assignment, and the node's hash is one blake2b call over the buffer.

    Internal nodes are updated in place. The first time a committed one changes, its child
    hashes, hash and version go to an undo log, and every child it changes goes to a child log
    (flat lists, so no per-node object for the garbage collector to track):
    :meth:`StateTree.rollback` puts them back, giving the committed tree exactly, and
    :meth:`StateTree.commit` knows which records it replaces. A node also keeps its committed
    children's versions, so neither logging nor a commit touches a child that did not change:
    at a hundred thousand keys and more, the untouched siblings are cache misses, and copying
    a node's child list (which increments each child's reference count) cost more than the
    update itself.
    A leaf given a new value is changed in place too (its old hash and version logged); a
    leaf that moves to another position is a new object. A committed leaf whose record a
    commit replaces is logged as retired. Building fresh nodes per update instead (path
    copying) costs about as much CPU, but every new object outlives a block and so reaches
    the cyclic GC's oldest generation, which is then collected in full (every node of the
    tree scanned, a pause of 0.2 s at a hundred thousand keys and 1.5 s at a million) once
    such objects reach a quarter of it: with a new leaf per changed value that was every few
    dozen blocks. Changed in place, a block leaves a few dozen new objects behind.

Disk layout (keys built in :mod:`flockchain.db.schema`)
    Nodes are keyed by position, Jellyfish-style: ``STATE_NODE | version | depth | path
    prefix``, where ``version`` is the commit that wrote the node. A commit writes only the
    nodes it created or changed; an internal node's record holds each child's version and
    hash, which is enough to find the child's key. Leaf records hold the storage key and
    value, so an old version can be read and its keys enumerated. For every node a commit
    replaces it records the node's key in the stale index entry ``STATE_STALE | stale_since``
    (one entry per version listing every node it replaced). A
    version's root record (``STATE_ROOT | version``) holds the root hash and the root node's
    version; ``STATE_META`` holds the latest version, the lowest version still retained, and
    the layout's version ``STATE_FORMAT_VERSION``, checked on opening (1, the binary tree of
    earlier nodes, has no record).

    Node records::

        leaf      0x00 | key length u32 | key | value
        internal  0x01 | bitmap u16 (bit 15 - c: child c present, at least one)
                       | per present child, in nibble order: version u64 | hash 32

    A root record is the root hash, followed by the root node's version unless the tree is
    empty.

Pruning and reverting
    A node replaced at version ``s`` is needed only by versions below ``s``, so keeping
    versions ``>= k`` means deleting exactly the nodes whose ``stale_since <= k`` (found by a
    range scan of the stale index) and the root records below ``k``. Reverting to version
    ``v`` deletes every node, stale entry and root record of a later version (all range
    scans, since keys start with the version) and reloads the tree.

Atomicity
    :meth:`StateTree.commit` puts everything (nodes, stale entries, root record, latest
    pointer, pruning deletes) into one :class:`~flockchain.abc.WriteBatch`; after a crash the
    store holds a whole version or none of it. Given the caller's batch, it only adds to it, so
    a block import and its state land in one write. Single writer only: nothing here locks.
"""

import struct
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from flockchain.abc import KeyValueStore, WriteBatch
from flockchain.db.schema import (
    NODE_KEY_PATH_LAYOUT,
    STATE_FORMAT,
    STATE_LATEST_VERSION,
    STATE_NODE,
    STATE_PRUNED_BELOW,
    STATE_ROOT,
    STATE_STALE,
    decode_node_key_list,
    decode_u64,
    encode_node_key_list,
    encode_u64,
    parse_state_root_key,
    parse_state_stale_key,
    state_node_key,
    state_node_key_heads,
    state_node_version_prefix,
    state_root_key,
    state_stale_key,
    state_stale_since_prefix,
)
from flockchain.errors import (
    CorruptDatabase,
    InvalidVersion,
    UnknownVersion,
    UnsupportedStateFormat,
    VersionPruned,
)
from flockchain.state.proof import (
    FANOUT,
    KEY_HASHER,
    LEAF_HASHER,
    NIBBLE_BITS,
    NODE_HASHER,
    VALUE_HASHER,
    ProofKind,
    StateProof,
    hash_key,
    hash_leaf,
    hash_value,
)
from runtime.primitives.hashing import HASH_SIZE, ZERO_HASH

MAX_VERSION = (1 << 64) - 1
STATE_FORMAT_VERSION = 2  # 1: the binary tree; 2: this hexary one
# Keys are grouped by this many leading bytes for prefix listing: blake2b_128(pallet) ‖
# blake2b_128(item), the prefix of every storage item.
PREFIX_GROUP_SIZE = 32

_LAST_DEPTH = 256 - NIBBLE_BITS  # depth (in path bits) of the deepest internal node
_HASHES_SIZE = FANOUT * HASH_SIZE
_KEY_LENGTH_SIZE = 4
_CHILD_REF_SIZE = 8 + HASH_SIZE
_LEAF_HEAD = struct.Struct(">BI")  # kind 0, key length
_INTERNAL_HEAD = struct.Struct(">BH")  # kind 1, bitmap of present children
_CHILD_REF = struct.Struct(">Q32s")  # a present child's version and hash
_NIBBLES = tuple(range(FANOUT))
_CHILD_BITS = tuple(1 << (FANOUT - 1 - nibble) for nibble in _NIBBLES)

# Undo log: records of committed internal nodes changed since the last commit, flat:
#   node, depth, a path through it, old child hashes (bytes), old hash, old version
_UNDO_STRIDE = 6
# Child log: one record per child slot changed in such a node, flat, in order:
#   node, nibble, old child, old child version (its entry in ``versions``)
_CHILD_UNDO_STRIDE = 4
# ``version`` of a committed internal node changed since the last commit (logged already);
# None marks a node built since, which no log needs.
_CHANGED = object()
# Retired leaves: one record per committed leaf replaced, moved or deleted, flat:
#   version, depth, path.
_RETIRED_STRIDE = 3
# Leaf log: one record per committed leaf given a new value in place, flat:
#   leaf, old hash, old version
_LEAF_UNDO_STRIDE = 3


class Leaf:
    """One key's leaf. A new value for its key is set in place (logged, like an internal
    node's change); a leaf that moves to another position is a new object."""

    __slots__ = ("path", "key", "hash", "version")

    def __init__(self, path: int, key: bytes, hash: bytes, version: int | None) -> None:
        self.path = path
        self.key = key
        self.hash = hash
        self.version = version


class Internal:
    """An internal node: 16 children (None: empty, at least two leaves below in all), updated
    in place (undo-logged).

    ``hashes`` holds the children's hashes back to back (``ZERO_HASH`` for an empty child) and
    ``versions`` each committed child's version (None for an empty child or one changed or
    built since the last commit), so rehashing and writing the node's record read no child
    that did not change: at a million keys the update is bound by memory latency as much as
    by hashing. ``version``: the commit that wrote the node; ``_CHANGED`` once changed since,
    None for a node built since.
    """

    __slots__ = ("children", "hashes", "versions", "hash", "version")

    def __init__(
        self, children: list["Node"], hashes: bytearray, versions: list[int | None], hash: bytes, version: object
    ) -> None:
        self.children = children
        self.hashes = hashes
        self.versions = versions
        self.hash = hash
        self.version = version


Node = Leaf | Internal | None

# A batch entry: (path, key, leaf hash, or None to delete), sorted by path.
_Entry = tuple[int, bytes, bytes | None]


# --- building and updating in memory ----------------------------------------------------------


def _hash_children(hashes: bytearray) -> bytes:
    hasher = NODE_HASHER.copy()
    hasher.update(hashes)
    return hasher.digest()


def _build(leaves: list[Leaf], paths: list[int], depth: int, lo: int, hi: int) -> Node:
    """The new subtree at ``depth`` over staged ``leaves[lo:hi]`` (sorted, sharing a prefix)."""
    if hi - lo <= 1:
        return leaves[lo] if hi > lo else None
    shift = _LAST_DEPTH - depth
    children: list[Node] = [None] * FANOUT
    hashes = bytearray(_HASHES_SIZE)
    start = lo
    while start < hi:
        prefix = paths[start] >> shift
        end = bisect_left(paths, (prefix + 1) << shift, start, hi)
        child = leaves[start] if end - start == 1 else _build(leaves, paths, depth + NIBBLE_BITS, start, end)
        offset = (prefix & 15) << 5
        children[prefix & 15] = child
        hashes[offset : offset + HASH_SIZE] = child.hash  # type: ignore[union-attr]  # a group is not empty
        start = end
    return Internal(children, hashes, [None] * FANOUT, _hash_children(hashes), None)


def _update(root: Node, entries: list[_Entry], undo: list, child_undo: list, leaf_undo: list, retired: list) -> Node:
    """Apply the sorted batch ``entries`` below ``root``; return the new root.

    Committed internal nodes are changed in place after being logged in ``undo`` and their
    changed child slots in ``child_undo``; a committed leaf given a new value in place is
    logged in ``leaf_undo``. Committed leaves whose record a commit replaces (changed, moved
    or deleted) are logged in ``retired``.
    """
    paths = [entry[0] for entry in entries]
    node_hasher = NODE_HASHER.copy
    log_undo = undo.extend
    log_child = child_undo.extend
    log_leaf = leaf_undo.extend
    log_retired = retired.extend

    def moved(leaf: Leaf, depth: int) -> Leaf:
        """``leaf``, leaving its position at ``depth``: records are positional, so a committed
        leaf is retired there and continues as a staged copy."""
        if leaf.version is None:
            return leaf
        log_retired((leaf.version, depth, leaf.path))
        return Leaf(leaf.path, leaf.key, leaf.hash, None)

    def set_children(node: Internal, depth: int, path: int, changes: list[tuple[int, Node]]) -> Node:
        """What stands at ``node``'s position once each ``(nibble, child)`` of ``changes`` is
        set (all of them first: a node may lose one child and gain another)."""
        children, hashes, versions = node.children, node.hashes, node.versions
        version = node.version
        if version is not None:  # committed: log it before its first change, and each slot
            if version is not _CHANGED:
                log_undo((node, depth, path, bytes(hashes), node.hash, version))
                node.version = _CHANGED
            for nibble, _ in changes:
                log_child((node, nibble, children[nibble], versions[nibble]))
        compressible = False
        for nibble, child in changes:
            children[nibble] = child
            versions[nibble] = None
            offset = nibble << 5
            if child is None:
                hashes[offset : offset + HASH_SIZE] = ZERO_HASH
                compressible = True
            else:
                hashes[offset : offset + HASH_SIZE] = child.hash
                compressible = compressible or child.__class__ is Leaf
        if compressible and children.count(None) >= FANOUT - 1:
            # One child or none is left: an empty subtree, or a leaf compressed upward.
            only = next((child for child in children if child is not None), None)
            if only is None:
                return None
            if only.__class__ is Leaf:
                return moved(only, depth + NIBBLE_BITS)  # type: ignore[arg-type]
        node.hash = _hash_children(hashes)
        return node

    def update(node: Node, depth: int, lo: int, hi: int) -> Node:
        if node.__class__ is not Internal:
            return rebuild(node, depth, lo, hi)  # type: ignore[arg-type]
        shift = _LAST_DEPTH - depth
        children, hashes = node.children, node.hashes  # type: ignore[union-attr]
        changes = []
        start = lo
        while start < hi:
            prefix = paths[start] >> shift
            end = bisect_left(paths, (prefix + 1) << shift, start, hi)
            nibble = prefix & 15
            old = children[nibble]
            if end - start == 1:
                new = update_one(old, depth + NIBBLE_BITS, entries[start])
            else:
                new = update(old, depth + NIBBLE_BITS, start, end)
            start = end
            offset = nibble << 5
            if new is not old or (new is not None and new.hash != hashes[offset : offset + HASH_SIZE]):
                changes.append((nibble, new))
        if not changes:
            return node
        return set_children(node, depth, paths[lo], changes)  # type: ignore[arg-type]

    def update_one(node: Node, depth: int, entry: _Entry) -> Node:
        """One entry below ``node``: descend to its terminal, change it, rehash back up."""
        path, key, leaf_hash = entry
        top = node
        ancestors = []
        shift = _LAST_DEPTH - depth  # path >> shift & 15 picks the child at this depth
        while node.__class__ is Internal:
            ancestors.append(node)
            node = node.children[path >> shift & 15]  # type: ignore[union-attr]
            shift -= NIBBLE_BITS
        depth = _LAST_DEPTH - shift
        if node is None:
            if leaf_hash is None:
                return top
            new: Node = Leaf(path, key, leaf_hash, None)
        elif node.path == path:  # type: ignore[union-attr]
            if leaf_hash == node.hash:
                return top
            version = node.version
            if version is not None:
                log_retired((version, depth, path))
            if leaf_hash is None:
                new = None
            else:
                # In place: a leaf object per changed value would reach the cyclic GC's oldest
                # generation, and make it scan the whole tree every few dozen blocks.
                if version is not None:
                    log_leaf((node, node.hash, version))
                    node.version = None
                node.hash = leaf_hash
                new = node
        else:
            if leaf_hash is None:
                return top
            pair = [moved(node, depth), Leaf(path, key, leaf_hash, None)]  # type: ignore[arg-type]
            pair.sort(key=lambda leaf: leaf.path)
            new = _build(pair, [leaf.path for leaf in pair], depth, 0, 2)
        index = len(ancestors)
        # A deleted leaf may leave its parent one leaf or none, which compresses upward, maybe
        # again at the grandparent; once an internal node stands at the position, the rest of
        # the way up only rehashes. A new leaf (in an empty slot or in place of its old one)
        # leaves every ancestor as many leaves or more, so it goes straight to the rehash.
        if new is None:
            while index and new.__class__ is not Internal:
                index -= 1
                depth -= NIBBLE_BITS
                shift += NIBBLE_BITS
                new = set_children(ancestors[index], depth, path, [(path >> shift & 15, new)])
        child_hash = None if new is None else new.hash
        while index:
            index -= 1
            depth -= NIBBLE_BITS
            shift += NIBBLE_BITS
            parent = ancestors[index]
            hashes = parent.hashes
            nibble = path >> shift & 15
            version = parent.version
            if version is not None:  # committed: log it before its first change, and the slot
                if version is not _CHANGED:
                    log_undo((parent, depth, path, bytes(hashes), parent.hash, version))
                    parent.version = _CHANGED
                log_child((parent, nibble, parent.children[nibble], parent.versions[nibble]))
            parent.children[nibble] = new
            parent.versions[nibble] = None
            hashes[nibble << 5 : (nibble << 5) + HASH_SIZE] = child_hash
            hasher = node_hasher()
            hasher.update(hashes)
            child_hash = parent.hash = hasher.digest()
            new = parent
        return new

    def rebuild(node: Leaf | None, depth: int, lo: int, hi: int) -> Node:
        """Several entries meet an empty subtree or a single leaf: build the subtree afresh."""
        leaves = [Leaf(p, k, h, None) for p, k, h in entries[lo:hi] if h is not None]
        leaf_paths = [leaf.path for leaf in leaves]
        if node is None:
            return _build(leaves, leaf_paths, depth, 0, len(leaves))
        position = bisect_left(paths, node.path, lo, hi)
        if position == hi or paths[position] != node.path:  # the leaf stays, others join it
            if not leaves:
                return node  # only deletes of absent keys
            position = bisect_left(leaf_paths, node.path)
            leaves.insert(position, moved(node, depth))
            leaf_paths.insert(position, node.path)
            return _build(leaves, leaf_paths, depth, 0, len(leaves))
        new = _build(leaves, leaf_paths, depth, 0, len(leaves))
        if new.__class__ is Leaf and new.hash == node.hash:  # type: ignore[union-attr]
            return node  # same key, same value, same place
        if node.version is not None:
            log_retired((node.version, depth, node.path))
        return new

    if not entries:
        return root
    if len(entries) == 1:
        return update_one(root, 0, entries[0])
    return update(root, 0, 0, len(entries))


def _rollback(undo: list, child_undo: list, leaf_undo: list) -> None:
    """Restore every node logged in ``undo``, ``child_undo`` and ``leaf_undo`` to its committed
    state (child slots latest change first, so a slot changed twice gets its first old value)."""
    for index in range(len(child_undo) - _CHILD_UNDO_STRIDE, -1, -_CHILD_UNDO_STRIDE):
        node, nibble, child, version = child_undo[index : index + _CHILD_UNDO_STRIDE]
        node.children[nibble] = child
        node.versions[nibble] = version
    for index in range(0, len(undo), _UNDO_STRIDE):
        node, _, _, hashes, hash, version = undo[index : index + _UNDO_STRIDE]
        node.hashes, node.hash, node.version = bytearray(hashes), hash, version
    for index in range(0, len(leaf_undo), _LEAF_UNDO_STRIDE):
        leaf, hash, version = leaf_undo[index : index + _LEAF_UNDO_STRIDE]
        leaf.hash, leaf.version = hash, version


def _prepare(changes: Mapping[bytes, bytes | None]) -> list[_Entry]:
    """Hash every key and value of a batch into entries sorted by path."""
    entries: list[_Entry] = []
    append = entries.append
    key_hasher, value_hasher, leaf_hasher = KEY_HASHER.copy, VALUE_HASHER.copy, LEAF_HASHER.copy
    from_bytes = int.from_bytes
    for key, value in changes.items():
        if type(key) is not bytes:
            raise TypeError(f"state keys must be bytes, not {type(key).__name__}")
        hasher = key_hasher()
        hasher.update(key)
        path = hasher.digest()
        if value is None:
            append((from_bytes(path, "big"), key, None))
            continue
        if type(value) is not bytes:
            raise TypeError(f"state values must be bytes or None, not {type(value).__name__}")
        hasher = value_hasher()
        hasher.update(value)
        value_hash = hasher.digest()
        hasher = leaf_hasher()
        hasher.update(path + value_hash)
        append((from_bytes(path, "big"), key, hasher.digest()))
    entries.sort()
    return entries


# --- records ------------------------------------------------------------------------------------


class ChildRef(NamedTuple):
    """How an internal node record names a child: the version that wrote it, and its hash."""

    version: int
    hash: bytes


class LeafRecord(NamedTuple):
    key: bytes
    value: bytes


class InternalRecord(NamedTuple):
    children: tuple[ChildRef | None, ...]  # 16, None for an empty child


def _decode_node(raw: bytes) -> LeafRecord | InternalRecord:
    if raw[:1] == b"\x00" and len(raw) >= 1 + _KEY_LENGTH_SIZE:
        end = 1 + _KEY_LENGTH_SIZE + int.from_bytes(raw[1 : 1 + _KEY_LENGTH_SIZE], "big")
        if len(raw) >= end:
            return LeafRecord(raw[1 + _KEY_LENGTH_SIZE : end], raw[end:])
    elif raw[:1] == b"\x01" and len(raw) >= _INTERNAL_HEAD.size:
        bitmap = int.from_bytes(raw[1:3], "big")
        if bitmap and len(raw) == _INTERNAL_HEAD.size + bitmap.bit_count() * _CHILD_REF_SIZE:
            refs: list[ChildRef | None] = []
            offset = _INTERNAL_HEAD.size
            for bit in _CHILD_BITS:
                if bitmap & bit:
                    refs.append(ChildRef(*_CHILD_REF.unpack_from(raw, offset)))
                    offset += _CHILD_REF_SIZE
                else:
                    refs.append(None)
            return InternalRecord(tuple(refs))
    raise CorruptDatabase(f"malformed state node record {raw[:16].hex()}...")


def _encode_root(root: Node) -> bytes:
    if root is None:
        return ZERO_HASH
    return root.hash + root.version.to_bytes(8, "big")  # type: ignore[union-attr]


def _decode_root(raw: bytes) -> ChildRef | None:
    """The root node's reference, or None for an empty tree."""
    if raw == ZERO_HASH:
        return None
    if len(raw) != HASH_SIZE + 8:
        raise CorruptDatabase(f"malformed state root record {raw.hex()}")
    return ChildRef(int.from_bytes(raw[HASH_SIZE:], "big"), raw[:HASH_SIZE])


# --- the tree -----------------------------------------------------------------------------------


class StateTree:
    """The versioned state over a :class:`~flockchain.abc.KeyValueStore` (module docstring).

    ``prune_depth``: after committing version ``v``, keep versions ``>= v - prune_depth``
    readable (0: only the latest) and delete what only older ones need; None keeps every
    version (archive node). Opening a store that holds a committed version loads it.
    """

    def __init__(self, store: KeyValueStore, *, prune_depth: int | None = None) -> None:
        if prune_depth is not None and prune_depth < 0:
            raise ValueError("prune_depth must be None or >= 0")
        self._store = store
        self.prune_depth = prune_depth
        self._load()

    # -- reading -------------------------------------------------------------------------------

    @property
    def root(self) -> bytes:
        """Root of the latest state, staged changes included."""
        return ZERO_HASH if self._root is None else self._root.hash

    @property
    def version(self) -> int | None:
        """The latest committed version (None before the first commit)."""
        return self._version

    @property
    def has_staged_changes(self) -> bool:
        """Whether :meth:`apply` changed anything since the last commit or rollback."""
        return bool(self._staged or self._undo or self._retired) or (self._root is not self._committed_root)

    def root_at(self, version: int | None = None) -> bytes:
        """The root of committed ``version``; None means the latest, staged changes included."""
        if version is None:
            return self.root
        if version == self._version:
            return self._committed_hash
        ref = self._root_ref(version)
        return ZERO_HASH if ref is None else ref.hash

    def get(self, key: bytes, version: int | None = None) -> bytes | None:
        """The value of ``key`` (None if absent) at ``version``; None means latest, staged."""
        if version is None:
            staged = self._staged
            if key in staged:
                return staged[key]
            return self._values.get(key)
        if version == self._version:
            return self._values.get(key)
        path = int.from_bytes(hash_key(key), "big")
        _, record = self._walk_disk(self._root_ref(version), path)
        if record is not None and record.key == key:
            return record.value
        return None

    def prove(self, key: bytes, version: int | None = None) -> StateProof:
        """A proof of ``key``'s value, or of its absence, under :meth:`root_at` ``(version)``."""
        path_bytes = hash_key(key)
        path = int.from_bytes(path_bytes, "big")
        if version is None or (version == self._version and not self.has_staged_changes):
            siblings, leaf = _walk_memory(self._root, path)
            if leaf is None:
                return StateProof(ProofKind.EMPTY, siblings)
            if leaf.path == path:
                return StateProof(ProofKind.KEY_LEAF, siblings)
            value = self.get(leaf.key)
            assert value is not None, "every leaf's key has a value"
            return StateProof(ProofKind.OTHER_LEAF, siblings, leaf.path.to_bytes(32, "big"), hash_value(value))
        # A past version, or the committed one while changes are staged over it in memory.
        siblings, record = self._walk_disk(self._root_ref(version), path)
        if record is None:
            return StateProof(ProofKind.EMPTY, siblings)
        if record.key == key:
            return StateProof(ProofKind.KEY_LEAF, siblings)
        return StateProof(ProofKind.OTHER_LEAF, siblings, hash_key(record.key), hash_value(record.value))

    def iter_prefix(self, prefix: bytes = b"", version: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, value)`` whose key starts with ``prefix``, in key order, at ``version``
        (None: the latest, staged changes included).

        The tree is ordered by key hash, not by key. For the latest version and a prefix of at
        least ``PREFIX_GROUP_SIZE`` bytes (a storage map's), this visits the keys of that group;
        otherwise every key (a past version: every leaf on disk). Matches are sorted. It returns
        a snapshot, unaffected by later changes.
        """
        if version is not None and version != self._version:
            found = self._stored_leaves(self._root_ref(version), prefix)
        else:
            values = self._values
            if len(prefix) >= PREFIX_GROUP_SIZE:
                group = self._groups.get(prefix[:PREFIX_GROUP_SIZE], ())
                found = {key: values[key] for key in group if key.startswith(prefix)}
            else:
                found = {key: value for key, value in values.items() if key.startswith(prefix)}
            if version is None:
                for key, value in self._staged.items():
                    if key.startswith(prefix):
                        if value is None:
                            found.pop(key, None)
                        else:
                            found[key] = value
        return iter(sorted(found.items()))

    # -- changing ------------------------------------------------------------------------------

    def apply(self, changes: Mapping[bytes, bytes | None]) -> bytes:
        """Stage a batch of sets (and deletes, value None); return the new root.

        Nothing reaches the store until :meth:`commit`; :meth:`rollback` undoes every batch
        staged since the last commit.
        """
        if changes:
            entries = _prepare(changes)
            self._root = _update(self._root, entries, self._undo, self._child_undo, self._leaf_undo, self._retired)
            self._staged.update(changes)
        return self.root

    def rollback(self) -> None:
        """Discard every staged change: the tree is again exactly the last committed version."""
        _rollback(self._undo, self._child_undo, self._leaf_undo)
        self._undo = []
        self._child_undo = []
        self._leaf_undo = []
        self._retired = []
        self._staged = {}
        self._root = self._committed_root

    def commit(self, version: int, batch: WriteBatch | None = None) -> bytes:
        """Persist the staged changes as ``version`` and return its root.

        Versions strictly increase. With ``batch``, only add this commit's writes to it: the
        caller must write it (before the next commit) to make the version durable. Without,
        write them atomically now.
        """
        if not 0 <= version <= MAX_VERSION or (self._version is not None and version <= self._version):
            raise InvalidVersion(f"cannot commit version {version} after {self._version}")
        writes = WriteBatch() if batch is None else batch
        self._persist_nodes(version, writes)
        writes.put(state_root_key(version), _encode_root(self._root))
        writes.put(STATE_LATEST_VERSION, encode_u64(version))
        if self._version is None:
            writes.put(STATE_FORMAT, encode_u64(STATE_FORMAT_VERSION))
        self._fold_staged(version)
        if self.prune_depth is not None:
            self.prune(version - self.prune_depth, writes)
        if batch is None:
            self._write(writes)
        return self.root

    def prune(self, keep_from: int, batch: WriteBatch | None = None) -> None:
        """Delete what only versions below ``keep_from`` need; those versions become unreadable.

        With ``batch``, only add the deletes to it (the caller writes it).
        """
        if keep_from <= self._pruned_below:
            return
        if self._version is None or keep_from > self._version:
            raise InvalidVersion(f"cannot prune below {keep_from}: latest is {self._version}")
        writes = WriteBatch() if batch is None else batch
        # Everything below the previous watermark is gone already: start there, not at the
        # namespace's start, where the deletes of earlier prunes lie as tombstones until
        # LevelDB compacts them, and a scan would step over every one.
        first = self._pruned_below + 1
        for key, node_keys in self._store.iterate(STATE_STALE, start=state_stale_since_prefix(first)):
            if parse_state_stale_key(key) > keep_from:
                break
            for node_key in decode_node_key_list(node_keys):
                writes.delete(node_key)
            writes.delete(key)
        for key, _ in self._store.iterate(STATE_ROOT, start=state_root_key(self._pruned_below)):
            if parse_state_root_key(key) >= keep_from:
                break
            writes.delete(key)
        writes.put(STATE_PRUNED_BELOW, encode_u64(keep_from))
        self._pruned_below = keep_from
        if batch is None:
            self._write(writes)

    def revert_to(self, version: int) -> None:
        """Forget every version after ``version`` (and staged changes), e.g. for a re-org.

        Written at once, on its own; if the node also keeps chain data, re-running the revert
        after a crash is harmless, so the chain store can reconcile on restart.
        """
        if self._version is None or version > self._version:
            raise UnknownVersion(f"state version {version} was never committed")
        self._root_ref(version)  # raises if pruned or never committed
        if version == self._version:
            self.rollback()
            return
        writes = WriteBatch()
        later = (
            (STATE_NODE, state_node_version_prefix(version + 1)),
            (STATE_STALE, state_stale_since_prefix(version + 1)),
            (STATE_ROOT, state_root_key(version + 1)),
        )
        for prefix, start in later:
            for key, _ in self._store.iterate(prefix, start=start):
                writes.delete(key)
        writes.put(STATE_LATEST_VERSION, encode_u64(version))
        self._write(writes)
        self._load()

    # -- internals -----------------------------------------------------------------------------

    def _write(self, batch: WriteBatch) -> None:
        """Write our own batch; if that fails, memory is ahead of disk, so reload from disk."""
        try:
            self._store.write(batch)
        except BaseException:
            self._load()
            raise

    def _persist_nodes(self, version: int, batch: WriteBatch) -> None:
        """Add the staged nodes' records and the replaced nodes' stale entries to ``batch``.

        Nodes built or changed since the last commit (``version`` not an int) reachable from
        the root are exactly those to write: a node that changes makes its ancestors change,
        and a parent's ``versions`` entry is None for such a child (so unchanged children are
        never visited). The undo log and the retired leaves name, with their positions,
        exactly the committed records they replace.
        """
        values, staged = self._values, self._staged
        undo, retired = self._undo, self._retired
        step = _UNDO_STRIDE
        replaced = list(zip(undo[5::step], undo[1::step], undo[2::step]))  # (old version, depth, path)
        step = _RETIRED_STRIDE
        replaced += zip(retired[0::step], retired[1::step], retired[2::step])
        if self.prune_depth == 0:  # no kept version needs them: delete instead of indexing
            for old_version, depth, path in replaced:
                batch.delete(state_node_key(old_version, depth, path))
        elif replaced:
            batch.put(state_stale_key(version), encode_node_key_list(replaced))

        keys: list[bytes] = []
        records: list[bytes] = []
        add_key, add_record = keys.append, records.append
        # Per depth: the key head, and the shift and size of the key's path bytes (all of a
        # commit's node keys share a version).
        key_layout = [
            (head, shift, size) for head, (shift, size) in zip(state_node_key_heads(version), NODE_KEY_PATH_LAYOUT)
        ]
        leaf_head, internal_head, child_ref = _LEAF_HEAD.pack, _INTERNAL_HEAD.pack, _CHILD_REF.pack
        child_bits = _CHILD_BITS

        # The hot loop of a commit, one call per new node: the record encodings and the node
        # key (see state_node_key_heads) are inlined. ``prefix`` has no bit set past ``depth``.
        def write(node: Leaf | Internal, depth: int, prefix: int) -> None:
            head, shift, size = key_layout[depth]
            if node.__class__ is Internal:
                bitmap = 0
                refs = []
                children, hashes, versions = node.children, node.hashes, node.versions  # type: ignore[union-attr]
                child_shift = _LAST_DEPTH - depth
                for nibble in _NIBBLES:
                    child_version = versions[nibble]
                    if child_version is None:
                        child = children[nibble]
                        if child is None:
                            continue
                        write(child, depth + NIBBLE_BITS, prefix | nibble << child_shift)
                        child_version = versions[nibble] = version
                    bitmap |= child_bits[nibble]
                    offset = nibble << 5
                    refs.append(child_ref(child_version, hashes[offset : offset + HASH_SIZE]))
                record = internal_head(1, bitmap) + b"".join(refs)
            else:
                key = node.key  # type: ignore[union-attr]
                value = staged[key] if key in staged else values[key]
                assert value is not None, "a staged leaf's key has a value"
                record = leaf_head(0, len(key)) + key + value
            node.version = version
            add_key(head + (prefix >> shift).to_bytes(size, "big"))
            add_record(record)

        if self._root is not None and self._root.version.__class__ is not int:
            write(self._root, 0, 0)
        batch.put_all(keys, records)

    def _fold_staged(self, version: int) -> None:
        """Make the staged state the committed one, as ``version``."""
        values, groups = self._values, self._groups
        for key, value in self._staged.items():
            if value is None:
                if values.pop(key, None) is not None:
                    group = groups[key[:PREFIX_GROUP_SIZE]]
                    group.discard(key)
                    if not group:
                        del groups[key[:PREFIX_GROUP_SIZE]]
            else:
                if key not in values:
                    groups.setdefault(key[:PREFIX_GROUP_SIZE], set()).add(key)
                values[key] = value
        self._staged = {}
        self._undo = []
        self._child_undo = []
        self._leaf_undo = []
        self._retired = []
        self._committed_root = self._root
        self._committed_hash = self.root
        self._version = version

    def _load(self) -> None:
        """(Re)build memory from the store's latest committed version."""
        self._values: dict[bytes, bytes] = {}
        self._groups: dict[bytes, set[bytes]] = {}  # the keys of _values by PREFIX_GROUP_SIZE-byte prefix
        self._staged: dict[bytes, bytes | None] = {}
        self._undo: list = []  # _UNDO_STRIDE fields per committed internal node changed
        self._child_undo: list = []  # _CHILD_UNDO_STRIDE fields per child slot such a node changed
        self._leaf_undo: list = []  # _LEAF_UNDO_STRIDE fields per committed leaf changed in place
        self._retired: list = []  # _RETIRED_STRIDE fields per committed leaf replaced
        raw_pruned = self._store.get(STATE_PRUNED_BELOW)
        self._pruned_below = 0 if raw_pruned is None else decode_u64(raw_pruned)
        raw_latest = self._store.get(STATE_LATEST_VERSION)
        self._version: int | None = None if raw_latest is None else decode_u64(raw_latest)
        root: Node = None
        if self._version is not None:
            raw_format = self._store.get(STATE_FORMAT)
            stored_format = 1 if raw_format is None else decode_u64(raw_format)
            if stored_format != STATE_FORMAT_VERSION:
                raise UnsupportedStateFormat(
                    f"the state tree in this database has format {stored_format}; this node reads format "
                    f"{STATE_FORMAT_VERSION} (delete it with `flockchain purge-chain`, or use another --base-path)"
                )
            raw_root = self._store.get(state_root_key(self._version))
            if raw_root is None:
                raise CorruptDatabase(f"latest state version {self._version} has no root record")
            ref = _decode_root(raw_root)
            if ref is not None:
                root = self._load_subtree(ref, 0, 0)
        self._committed_root: Node = root
        self._root: Node = root
        self._committed_hash = self.root

    def _load_subtree(self, ref: ChildRef, depth: int, prefix: int) -> Leaf | Internal:
        """Read the subtree ``ref`` names into memory, recording leaf values as it goes.

        Every hash is recomputed and checked, and so are positions and leaf compression: a
        few hashes per key next to a disk read per node, and a node must not build on state
        its own database cannot vouch for.
        """
        record = self._read_node(ref.version, depth, prefix)
        if isinstance(record, LeafRecord):
            path_bytes = hash_key(record.key)
            path = int.from_bytes(path_bytes, "big")
            if depth and path >> (256 - depth) != prefix >> (256 - depth):
                raise CorruptDatabase(f"state leaf stored off its path at depth {depth}")
            if hash_leaf(path_bytes, hash_value(record.value)) != ref.hash:
                raise CorruptDatabase(f"state leaf at depth {depth} does not match its hash")
            self._values[record.key] = record.value
            self._groups.setdefault(record.key[:PREFIX_GROUP_SIZE], set()).add(record.key)
            return Leaf(path, record.key, ref.hash, ref.version)
        children: list[Node] = [None] * FANOUT
        hashes = bytearray(_HASHES_SIZE)
        versions: list[int | None] = [None] * FANOUT
        child_shift = _LAST_DEPTH - depth
        for nibble, child_ref in enumerate(record.children):
            if child_ref is not None:
                child = self._load_subtree(child_ref, depth + NIBBLE_BITS, prefix | nibble << child_shift)
                children[nibble] = child
                hashes[nibble << 5 : (nibble << 5) + HASH_SIZE] = child.hash
                versions[nibble] = child_ref.version
        present = [child for child in children if child is not None]
        if len(present) == 1 and isinstance(present[0], Leaf):
            raise CorruptDatabase(f"state leaf at depth {depth + NIBBLE_BITS} is not compressed upward")
        if _hash_children(hashes) != ref.hash:
            raise CorruptDatabase(f"state node at depth {depth} does not match its hash")
        return Internal(children, hashes, versions, ref.hash, ref.version)

    def _read_node(self, version: int, depth: int, path: int) -> LeafRecord | InternalRecord:
        raw = self._store.get(state_node_key(version, depth, path))
        if raw is None:
            raise CorruptDatabase(f"state node (version {version}, depth {depth}) is missing")
        return _decode_node(raw)

    def _root_ref(self, version: int) -> ChildRef | None:
        """The root reference of a retained committed ``version``; raise if there is none."""
        if version < self._pruned_below:
            raise VersionPruned(f"state version {version} was pruned")
        if self._version is None or version > self._version:
            raise UnknownVersion(f"state version {version} was never committed")
        raw = self._store.get(state_root_key(version))
        if raw is None:
            raise UnknownVersion(f"state version {version} was never committed")
        return _decode_root(raw)

    def _stored_leaves(self, ref: ChildRef | None, prefix: bytes) -> dict[bytes, bytes]:
        """Key and value of every leaf of the stored tree at ``ref`` whose key has ``prefix``."""
        found: dict[bytes, bytes] = {}
        pending = [(ref, 0, 0)]
        while pending:
            ref, depth, path = pending.pop()
            if ref is None:
                continue
            record = self._read_node(ref.version, depth, path)
            if isinstance(record, LeafRecord):
                if record.key.startswith(prefix):
                    found[record.key] = record.value
            else:
                child_shift = _LAST_DEPTH - depth
                for nibble, child_ref in enumerate(record.children):
                    pending.append((child_ref, depth + NIBBLE_BITS, path | nibble << child_shift))
        return found

    def _walk_disk(self, ref: ChildRef | None, path: int) -> tuple[tuple[tuple[bytes, ...], ...], LeafRecord | None]:
        """Siblings per level and terminal leaf (None: empty) of ``path`` in the stored tree
        at ``ref``."""
        siblings: list[tuple[bytes, ...]] = []
        depth = 0
        while ref is not None:
            record = self._read_node(ref.version, depth, path)
            if isinstance(record, LeafRecord):
                return tuple(siblings), record
            refs = list(record.children)
            ref = refs.pop(path >> (_LAST_DEPTH - depth) & 15)
            siblings.append(tuple(ZERO_HASH if other is None else other.hash for other in refs))
            depth += NIBBLE_BITS
        return tuple(siblings), None


def _walk_memory(root: Node, path: int) -> tuple[tuple[tuple[bytes, ...], ...], Leaf | None]:
    """Siblings per level and terminal leaf (None: empty) of ``path`` in an in-memory tree."""
    siblings = []
    node = root
    shift = _LAST_DEPTH
    while node.__class__ is Internal:
        nibble = path >> shift & 15
        hashes = node.hashes  # type: ignore[union-attr]
        level = [bytes(hashes[offset : offset + HASH_SIZE]) for offset in range(0, _HASHES_SIZE, HASH_SIZE)]
        del level[nibble]
        siblings.append(tuple(level))
        node = node.children[nibble]  # type: ignore[union-attr]
        shift -= NIBBLE_BITS
    return tuple(siblings), node  # type: ignore[return-value]

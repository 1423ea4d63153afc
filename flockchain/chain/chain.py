"""The chain: authoring, importing and finalizing blocks over the state tree and the chain store.

This is the one writer of the node's database. Every change (a block, a new best head, a
finality) is one atomic write batch, so a node killed at any instant restarts at a consistent
block tree.

**Forks.** Every block that descends from the last finalized block is kept, executed and checked
on import (slot claim, seal, state root), whether or not it is on the best chain. The state tree
holds the state of the best block only; each unfinalized block also keeps its *delta*, the keys
it changed with their values after it (``changes``) and before it (``undo``). The state of any
unfinalized block is the best block's state with the deltas on the way there laid over it
(:meth:`Chain.state_at`), so forks need no second tree. A re-org commits the combined delta as
one new tree version. Deltas are stored with the blocks, so a restart rebuilds the tree of
unfinalized blocks; finality drops them, and deletes the blocks of forks it abandons.

**Fork choice** (DESIGN §8): among the blocks that contain the last finalized block, the highest,
then the one with most primary-slot blocks since finality, then the lowest hash.

**Time.** A block's timestamp is its slot's start (slot × the slot duration its parent's state
fixes), and import refuses a block whose slot has not started by the caller's clock, so the head
never runs ahead of the clock.

State versions count commits (each new best head is one), not block numbers: a re-org may commit
a block lower than the last. A block reached inside a re-org has no state version of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import msgpack

from consensus.babe.claims import claim_slot, verify_header_slot_claim
from consensus.babe.digest import PreDigest, compute_pre_runtime_digest, find_pre_digest
from consensus.babe.epochs import get_epoch
from consensus.babe.errors import BabeError
from flockchain.abc import KeyValueStore, WriteBatch
from flockchain.chain.store import ChainStore
from flockchain.errors import (
    BadSeal,
    BelowFinalized,
    CorruptDatabase,
    FutureBlock,
    GenesisMismatch,
    InvalidBlock,
    InvalidBlockExecution,
    MalformedBlock,
    NotSlotAuthor,
    OversizedBlock,
    UnknownBlock,
    UnknownParent,
    WrongAuthor,
    WrongExtrinsicsRoot,
    WrongStateRoot,
    WrongTimestamp,
)
from flockchain.state.reader import TreeStateReader
from flockchain.state.tree import StateTree
from runtime import api
from runtime.abc import StateReader
from runtime.block import (
    MAX_BLOCK_SIZE,
    Block,
    Header,
    compute_extrinsics_root,
    decode_block,
    seal_header,
    verify_seal,
)
from runtime.errors import (
    BlockExecutionError,
    EncodingError,
    ExhaustsResources,
    InvalidKey,
    InvalidSignature,
    InvalidTransaction,
)
from runtime.executive import Executive
from runtime.framework.pallet import BlockEnvironment
from runtime.framework.runtime import Runtime
from runtime.framework.storage import Overlay
from runtime.primitives import vrf
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.keys import Keypair

Changes = dict[bytes, bytes | None]

_DELTA_PACKER = msgpack.Packer(use_bin_type=True)


@dataclass(frozen=True)
class StateDelta:
    """What one block did to the state: new values (``changes``) and old ones (``undo``)."""

    changes: Changes
    undo: Changes

    def encode(self) -> bytes:
        # Local bookkeeping, not consensus data: two maps in insertion order.
        return _DELTA_PACKER.pack([self.changes, self.undo])

    @classmethod
    def decode(cls, data: bytes) -> StateDelta:
        try:
            # Maps, or lists of pairs as stores written before 2026-11-27 hold them.
            changes, undo = msgpack.unpackb(data, raw=False, strict_map_key=False)
            return cls(dict(changes), dict(undo))
        except (ValueError, TypeError, msgpack.ExtraData) as exc:
            raise CorruptDatabase(f"malformed block state delta: {exc}") from None


@dataclass
class _Entry:
    """A block of the unfinalized tree (or its root, the last finalized block)."""

    header: Header
    hash: bytes
    primaries: int  # primary-slot blocks from the last finalized block to this one
    delta: StateDelta | None  # None for the root
    children: list[bytes] = field(default_factory=list)

    def fork_choice_key(self) -> tuple[int, int, bytes]:
        # Higher is better; the lowest hash wins a tie, hence the complement.
        return self.header.number, self.primaries, bytes(255 - b for b in self.hash)


@dataclass(frozen=True)
class AuthoredBlock:
    block: Block
    included: tuple[bytes, ...]  # the candidates (transactions) in the block
    # Candidates and unsigned extrinsics that may never go in a block here (the caller drops them).
    rejected: tuple[tuple[bytes, InvalidTransaction], ...] = ()
    unsigned: tuple[bytes, ...] = ()  # the unsigned extrinsics in the block, after the timestamp


@dataclass(frozen=True)
class TreeRoute:
    retracted: tuple[bytes, ...]  # blocks that leave the best chain, highest first
    enacted: tuple[bytes, ...]  # blocks that join it, lowest first


@dataclass(frozen=True)
class ImportedBlock:
    block: Block
    known: bool  # it was already imported: nothing changed


class Chain:
    """Blocks, state and pointers of one chain in one key-value store."""

    def __init__(
        self,
        store: KeyValueStore,
        runtime: Runtime,
        genesis_header: Header,
        genesis_state: Mapping[bytes, bytes],
        *,
        prune_depth: int | None = 256,
    ) -> None:
        self.runtime = runtime
        self.genesis_hash = genesis_header.hash
        self.executive = Executive(runtime, self.genesis_hash)
        self._store = store
        self.blocks = ChainStore(store)
        self.state = StateTree(store, prune_depth=prune_depth)
        stored_genesis = self.blocks.get_genesis_hash()
        if stored_genesis is None:
            self._write_genesis(genesis_header, genesis_state)
        elif stored_genesis != self.genesis_hash:
            raise GenesisMismatch(
                f"the database holds chain {stored_genesis.hex()}, not {self.genesis_hash.hex()} "
                "(use another --base-path, or delete it with `flockchain purge-chain`)"
            )
        self._load()

    # --- reading ------------------------------------------------------------------------

    @property
    def store(self) -> KeyValueStore:
        """The database (the consensus engine keeps its signing record there too)."""
        return self._store

    @property
    def head(self) -> Header:
        return self._entries[self._head_hash].header

    @property
    def head_hash(self) -> bytes:
        return self._head_hash

    @property
    def finalized_hash(self) -> bytes:
        return self._finalized_hash

    @property
    def finalized_header(self) -> Header:
        return self._entries[self._finalized_hash].header

    def best_state(self) -> TreeStateReader:
        """The state after the head block."""
        return TreeStateReader(self.state)

    def state_at(self, block_hash: bytes) -> StateReader:
        """The state after ``block_hash``, which must be the last finalized block or after it."""
        if block_hash == self._head_hash:
            return self.best_state()
        if block_hash not in self._entries:
            raise UnknownBlock(f"block {block_hash.hex()} is not the last finalized block or after it")
        reader = Overlay(self.best_state())
        reader.changes.update(self._route_changes(block_hash))
        return reader

    def is_unfinalized_tree_block(self, block_hash: bytes) -> bool:
        """Whether ``block_hash`` is the last finalized block or an imported descendant of it."""
        return block_hash in self._entries

    def get_header(self, block_hash: bytes) -> Header | None:
        entry = self._entries.get(block_hash)
        return entry.header if entry is not None else self.blocks.get_header(block_hash)

    def ancestry(self, base: bytes, block: bytes) -> list[bytes] | None:
        """Hashes from ``block`` back to, excluding, ``base`` (block first; empty if equal);
        None unless ``block`` is ``base`` or descends from it (both in the unfinalized tree,
        or ``base`` finalized and ``block`` canonical)."""
        route: list[bytes] = []
        base_header = self.get_header(base)
        cursor = block
        header = self.get_header(cursor)
        if base_header is None or header is None:
            return None
        while header.number > base_header.number:
            route.append(cursor)
            cursor = header.parent_hash
            header = self.get_header(cursor)
            if header is None:
                return None
        return route if cursor == base else None

    def best_descendant(self, base: bytes) -> bytes | None:
        """The best block (by fork choice) that contains ``base``, or None if ``base`` is not in
        the unfinalized tree."""
        if base not in self._entries:
            return None
        if self.ancestry(base, self._head_hash) is not None:
            return self._head_hash
        best, stack = self._entries[base], [base]
        while stack:
            entry = self._entries[stack.pop()]
            if entry.fork_choice_key() > best.fork_choice_key():
                best = entry
            stack.extend(entry.children)
        return best.hash

    def unfinalized_hashes(self) -> list[bytes]:
        """Every block after the last finalized one, in import-independent order (by number, hash)."""
        entries = (entry for entry in self._entries.values() if entry.hash != self._finalized_hash)
        return [entry.hash for entry in sorted(entries, key=lambda e: (e.header.number, e.hash))]

    def compute_tree_route(self, old: bytes, new: bytes) -> TreeRoute:
        """How the best chain changes when the head moves from ``old`` to ``new`` (both the last
        finalized block or after it): the blocks it leaves and the blocks it takes on."""
        entries = self._entries
        down, up = entries[old], entries[new]
        retracted: list[bytes] = []
        enacted: list[bytes] = []
        while down.hash != up.hash:
            if down.header.number >= up.header.number:
                retracted.append(down.hash)
                down = entries[down.header.parent_hash]
            else:
                enacted.append(up.hash)
                up = entries[up.header.parent_hash]
        return TreeRoute(tuple(retracted), tuple(reversed(enacted)))

    def get_slot_duration_ms(self, block_hash: bytes) -> int:
        """The slot duration that times the children of ``block_hash``, as the runtime fixes it
        in that block's state: the one source of the node's slot length."""
        return api.get_babe_epoch(self.state_at(block_hash)).slot_duration_ms

    def get_justification(self, block_hash: bytes) -> bytes | None:
        return self.blocks.get_justification(block_hash)

    def get_set_change(self, set_id: int) -> bytes | None:
        """The finalized block that ended authority set ``set_id`` (None: not ended, or unknown here)."""
        return self.blocks.get_set_change(set_id)

    # --- authoring ----------------------------------------------------------------------

    def claim_slot(self, author: Keypair, slot: int, parent_hash: bytes | None = None) -> PreDigest | None:
        """``author``'s claim on ``slot`` on top of ``parent_hash`` (default: the head), or None if
        it may not author it there. Proving a primary claim costs a VRF proof: the caller hands
        the claim to :meth:`author_block` rather than claiming again."""
        parent = self._entries[self._head_hash if parent_hash is None else parent_hash]
        if slot <= parent.header.slot:
            return None
        epoch = get_epoch(self.state_at(parent.hash))
        for index, authority in enumerate(epoch.authorities):
            if authority.account == author.public_key:
                return claim_slot(slot, epoch, index, _find_vrf_seed(author, authority.vrf_key))
        return None

    def author_block(
        self,
        author: Keypair,
        pre_digest: PreDigest,
        candidates: Iterable[bytes],
        *,
        unsigned: Iterable[bytes] = (),
        parent_hash: bytes | None = None,
    ) -> AuthoredBlock:
        """Build, seal and keep a block on ``parent_hash`` (default: the head) from the
        candidates that apply; it becomes the head if fork choice prefers it.

        ``pre_digest`` is :meth:`claim_slot`'s claim for the same author and parent; its slot is
        the block's, and the block's timestamp is that slot's start. ``unsigned`` are unsigned
        extrinsics the author puts first (equivocation reports, a finality note); one that does
        not apply is dropped like a rejected candidate.
        """
        parent = self._entries[self._head_hash if parent_hash is None else parent_hash]
        state = self.state_at(parent.hash)
        epoch = api.get_babe_epoch(state)
        self._check_claim_is_for(author, pre_digest, parent.header, epoch)
        slot = pre_digest.slot
        timestamp = slot * epoch.slot_duration_ms
        env = BlockEnvironment(
            parent.header.number + 1, parent.hash, slot, timestamp, author.public_key, pre_digest.vrf_output
        )
        block = self.executive.initialize_block(state, env)
        inherent = api.build_timestamp_inherent(timestamp)
        self.executive.apply_extrinsic(block, inherent)
        applied: dict[bool, list[bytes]] = {True: [], False: []}  # is unsigned -> applied extrinsics
        rejected = []
        for is_unsigned, encoded in (*((True, x) for x in unsigned), *((False, x) for x in candidates)):
            try:
                self.executive.apply_extrinsic(block, encoded)
            except ExhaustsResources:
                break
            except InvalidTransaction as exc:
                rejected.append((encoded, exc))
                continue
            applied[is_unsigned].append(encoded)
        included = [inherent, *applied[True], *applied[False]]
        changes = self.executive.finalize_block(block)
        undo = {key: state.get(key) for key in changes}  # before the tree stages the changes
        header = Header(
            parent_hash=parent.hash,
            number=env.number,
            slot=slot,
            timestamp=timestamp,
            state_root=self._stage_state(state, changes),
            extrinsics_root=compute_extrinsics_root(included),
            author=author.public_key,
            digests=(compute_pre_runtime_digest(pre_digest),),
            seal=bytes(64),
        )
        sealed = Block(seal_header(header, author, self.genesis_hash), tuple(included))
        self._keep(sealed, pre_digest, StateDelta(changes, undo))
        return AuthoredBlock(sealed, tuple(applied[False]), tuple(rejected), tuple(applied[True]))

    @staticmethod
    def _check_claim_is_for(author: Keypair, pre_digest: PreDigest, parent: Header, epoch: api.BabeEpoch) -> None:
        """The cheap half of a claim's checks (its authority is ``author``, its slot follows the
        parent's): a claim made for another author or parent would seal a block no peer imports.
        The VRF proof is not checked again; :meth:`claim_slot` made it."""
        authorities = epoch.authorities
        index = pre_digest.authority_index
        if (
            pre_digest.slot <= parent.slot
            or index >= len(authorities)
            or authorities[index].signing_key != author.public_key
        ):
            raise NotSlotAuthor(
                f"the claim on slot {pre_digest.slot} is not {author.public_key.hex()}'s on block {parent.hash.hex()}"
            )

    # --- importing ----------------------------------------------------------------------

    def import_block(self, data: bytes, *, now_ms: int) -> ImportedBlock:
        """Check and execute an encoded block and keep it; it becomes the head if fork choice
        prefers it. ``now_ms`` is the local clock: a block whose slot has not started by it is
        refused (:class:`FutureBlock`), so the head never runs ahead of the clock and no honest
        author is left waiting for a slot far in the future.

        Raises a subclass of :class:`InvalidBlock` naming the first rule broken; the store and
        the state are then exactly as before.
        """
        if len(data) > MAX_BLOCK_SIZE:
            raise OversizedBlock(f"block of {len(data)} bytes exceeds {MAX_BLOCK_SIZE}")
        try:
            block = decode_block(data)
        except EncodingError as exc:
            raise MalformedBlock(f"block does not decode: {exc}") from None
        header = block.header
        block_hash = block.hash
        if block_hash in self._entries:
            return ImportedBlock(block, known=True)
        parent = self._check_parent(header)
        state = self.state_at(parent.hash)
        self._check_time(header, state, now_ms)
        pre_digest = self._check_header(header, state)
        if compute_extrinsics_root(block.extrinsics) != header.extrinsics_root:
            raise WrongExtrinsicsRoot("extrinsics root does not match the body")
        env = BlockEnvironment(
            header.number, header.parent_hash, header.slot, header.timestamp, header.author, pre_digest.vrf_output
        )
        try:
            changes = self.executive.execute_block(state, env, block.extrinsics)
        except (InvalidTransaction, BlockExecutionError) as exc:
            raise InvalidBlockExecution(f"block {header.number} does not execute: {exc}") from None
        undo = {key: state.get(key) for key in changes}  # before the tree stages the changes
        root = self._stage_state(state, changes)
        if root != header.state_root:
            self.state.rollback()
            raise WrongStateRoot(f"state root {root.hex()} differs from the header's {header.state_root.hex()}")
        self._keep(block, pre_digest, StateDelta(changes, undo))
        return ImportedBlock(block, known=False)

    @staticmethod
    def _check_time(header: Header, parent_state: StateReader, now_ms: int) -> None:
        """The header's timestamp is its slot's start, and that start is not after ``now_ms``:
        cheap checks, made before the slot claim's VRF proof is verified."""
        slot_start_ms = header.slot * api.get_babe_epoch(parent_state).slot_duration_ms
        if header.timestamp != slot_start_ms:
            raise WrongTimestamp(f"timestamp {header.timestamp} is not slot {header.slot}'s start, {slot_start_ms}")
        if slot_start_ms > now_ms:
            raise FutureBlock(
                f"slot {header.slot} starts at {slot_start_ms}, {slot_start_ms - now_ms} ms from now", slot_start_ms
            )

    def _check_header(self, header: Header, parent_state: StateReader) -> PreDigest:
        """The checks a header passes before its body is executed: its slot claim in the epoch
        its parent's state fixes, and its seal. Returns the verified pre-digest."""
        try:
            pre_digest = verify_header_slot_claim(header, get_epoch(parent_state))
        except BabeError as exc:
            raise WrongAuthor(f"slot {header.slot}: {exc}") from None
        try:
            verify_seal(header, self.genesis_hash)
        except (InvalidKey, InvalidSignature) as exc:
            raise BadSeal(f"bad block seal: {exc}") from None
        return pre_digest

    # --- finality -----------------------------------------------------------------------

    def finalize(
        self, block_hash: bytes, justification: bytes | None = None, *, ends_set: int | None = None
    ) -> list[bytes]:
        """Make ``block_hash`` (an imported block after the last finalized one) final, with the
        justification that proves it; the best chain then contains it. ``ends_set``: the id of
        the authority set this block's finality ends (indexed for peers that missed the change,
        :meth:`get_set_change`). Returns the newly finalized hashes, lowest first (empty if it
        was final already)."""
        if block_hash == self._finalized_hash:
            return []
        if block_hash not in self._entries:
            raise UnknownBlock(f"block {block_hash.hex()} is not after the last finalized block")
        newly_final = self.ancestry(self._finalized_hash, block_hash)
        assert newly_final is not None, "every tree entry descends from the finalized block"
        batch = WriteBatch()
        best = self.best_descendant(block_hash)
        assert best is not None
        if best != self._head_hash:
            # The head moves to the best block containing the finalized one: the tree takes the
            # route there as one new version.
            self.state.apply(self._route_changes(best))
            self._stage_new_head(self._entries[best], self._entries[best].header.parent_hash, batch)
        kept = self._descendants(block_hash)
        for entry_hash in list(self._entries):
            if entry_hash in kept:
                continue
            if entry_hash not in newly_final and entry_hash != self._finalized_hash:
                self.blocks.stage_abandoned(batch, entry_hash)
            self.blocks.stage_delta_removed(batch, entry_hash)
        self.blocks.stage_finalized(batch, block_hash, justification, ends_set)
        self._write(batch)
        self._head_hash = best
        for entry_hash in list(self._entries):
            if entry_hash not in kept:
                del self._entries[entry_hash]
        root = self._entries[block_hash]
        root.delta = None
        self._finalized_hash = block_hash
        self._recount_primaries()
        return newly_final[::-1]

    # --- internals ----------------------------------------------------------------------

    def _check_parent(self, header: Header) -> _Entry:
        parent = self._entries.get(header.parent_hash)
        if parent is None:
            if self.blocks.get_header(header.parent_hash) is not None:
                raise BelowFinalized(f"block {header.number} does not descend from the last finalized block")
            raise UnknownParent(f"parent {header.parent_hash.hex()} is unknown")
        if header.number != parent.header.number + 1:
            raise InvalidBlock(f"block number {header.number} does not follow {parent.header.number}")
        if header.slot <= parent.header.slot:
            raise InvalidBlock(f"slot {header.slot} is not after the parent's slot {parent.header.slot}")
        return parent

    def _route_changes(self, target: bytes) -> Changes:
        """The writes that turn the head's state into ``target``'s: undo the head's branch down
        to the common ancestor, then redo ``target``'s branch."""
        route = self.compute_tree_route(self._head_hash, target)
        changes: Changes = {}
        for block_hash in route.retracted:  # head first: the oldest block's undo is written last and wins
            delta = self._entries[block_hash].delta
            assert delta is not None
            changes.update(delta.undo)
        for block_hash in route.enacted:
            delta = self._entries[block_hash].delta
            assert delta is not None
            changes.update(delta.changes)
        return changes

    def _descendants(self, block_hash: bytes) -> set[bytes]:
        found, stack = set(), [block_hash]
        while stack:
            entry_hash = stack.pop()
            found.add(entry_hash)
            stack.extend(self._entries[entry_hash].children)
        return found

    def _stage_state(self, parent_state: StateReader, changes: Changes) -> bytes:
        """Stage on the tree the state after a child making ``changes`` on ``parent_state`` (from
        :meth:`state_at`: the best state, or an overlay of the route to a fork over it); returns
        its root (:meth:`_keep` commits or rolls it back)."""
        if isinstance(parent_state, Overlay):
            return self.state.apply({**parent_state.changes, **changes})
        return self.state.apply(changes)

    def _keep(self, block: Block, pre_digest: PreDigest, delta: StateDelta) -> None:
        """Persist a checked block whose state is staged on the tree; it becomes the head if fork
        choice prefers it."""
        header = block.header
        parent = self._entries[header.parent_hash]
        entry = _Entry(header, block.hash, parent.primaries + pre_digest.is_primary, delta)
        becomes_best = entry.fork_choice_key() > self._entries[self._head_hash].fork_choice_key()
        batch = WriteBatch()
        self.blocks.stage_block(batch, block, delta.encode())
        if becomes_best:
            self._stage_new_head(entry, parent.hash, batch)
        else:
            self.state.rollback()
        self._write(batch)
        self._entries[entry.hash] = entry
        parent.children.append(entry.hash)
        if becomes_best:
            self._head_hash = entry.hash

    def _stage_new_head(self, entry: _Entry, parent_hash: bytes, batch: WriteBatch) -> None:
        """Commit the staged tree as the state of ``entry`` and make it the head; the canonical
        index then follows its branch."""
        version = 0 if self.state.version is None else self.state.version + 1
        self.state.commit(version, batch)
        self.blocks.stage_head(batch, entry.hash, version)
        old_head = self._entries[self._head_hash].header
        for number in range(entry.header.number + 1, old_head.number + 1):
            self.blocks.stage_canonical_removed(batch, number)
        self.blocks.stage_canonical(batch, entry.header.number, entry.hash)
        cursor = parent_hash
        while (
            cursor != self._finalized_hash
            and self.blocks.get_canonical_hash(self._entries[cursor].header.number) != cursor
        ):
            self.blocks.stage_canonical(batch, self._entries[cursor].header.number, cursor)
            cursor = self._entries[cursor].header.parent_hash

    def _write(self, batch: WriteBatch) -> None:
        try:
            self._store.write(batch)
        except BaseException:
            # Memory may be ahead of the disk: reload both from what was really written.
            self.state = StateTree(self._store, prune_depth=self.state.prune_depth)
            self._load()
            raise

    def _write_genesis(self, header: Header, genesis_state: Mapping[bytes, bytes]) -> None:
        if header.number != 0 or header.parent_hash != ZERO_HASH:
            raise GenesisMismatch("a genesis header has number 0 and no parent")
        if self.state.apply(dict(genesis_state)) != header.state_root:
            self.state.rollback()
            raise GenesisMismatch("the genesis state does not match the genesis header's state root")
        batch = WriteBatch()
        self.state.commit(0, batch)
        self.blocks.stage_genesis(batch, Block(header, ()))
        self._store.write(batch)

    def _load(self) -> None:
        """Rebuild the unfinalized tree from the store."""
        finalized_hash = self.blocks.get_finalized_hash()
        head_hash = self.blocks.get_head_hash()
        finalized = None if finalized_hash is None else self.blocks.get_header(finalized_hash)
        if finalized is None or head_hash is None:
            raise CorruptDatabase("the chain has no head or finalized block")
        entries = {finalized_hash: _Entry(finalized, finalized_hash, 0, None)}
        unfinalized = []
        for block_hash, raw_delta in self.blocks.iter_deltas():
            header = self.blocks.get_header(block_hash)
            if header is None:
                raise CorruptDatabase(f"state delta of unknown block {block_hash.hex()}")
            if block_hash != finalized_hash:
                unfinalized.append((header.number, block_hash, header, StateDelta.decode(raw_delta)))
        for _, block_hash, header, delta in sorted(unfinalized, key=lambda item: item[:2]):
            parent = entries.get(header.parent_hash)
            if parent is None:
                raise CorruptDatabase(f"unfinalized block {block_hash.hex()} has no parent in the tree")
            entries[block_hash] = _Entry(header, block_hash, 0, delta)
            parent.children.append(block_hash)
        if head_hash not in entries:
            raise CorruptDatabase("the head is not in the unfinalized tree")
        if self.state.version != self.blocks.get_state_version(head_hash):
            raise CorruptDatabase(f"state version {self.state.version} does not belong to the head block")
        self._entries, self._finalized_hash, self._head_hash = entries, finalized_hash, head_hash
        self._recount_primaries()

    def _recount_primaries(self) -> None:
        root = self._entries[self._finalized_hash]
        root.primaries = 0
        stack = [root]
        while stack:
            entry = stack.pop()
            for child_hash in entry.children:
                child = self._entries[child_hash]
                child.primaries = entry.primaries + find_pre_digest(child.header).is_primary
                stack.append(child)


def _find_vrf_seed(author: Keypair, vrf_key: bytes) -> bytes:
    """The VRF seed of ``author`` for ``vrf_key``: the one derived from its seed (session keys
    made by ``flockchain key``), or its seed itself (a validator without session keys)."""
    for seed in (author.derive_vrf_seed(), author.seed):
        if vrf.public_key(seed) == vrf_key:
            return seed
    raise NotSlotAuthor("the author's key does not hold the VRF key of its authority entry")

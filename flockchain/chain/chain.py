"""The chain: authoring and importing blocks over the state tree and the chain store.

This is the one writer of the node's database. Both paths end in :meth:`Chain._commit`, which
puts the block's state version, the block itself and the head pointer into one write batch,
so a node killed at any instant restarts at a block whose state is complete.

Blocks extend the current head; fork handling arrives with the consensus engine, which will
choose the best chain and revert the state tree to a common ancestor (``StateTree.revert_to``).
State versions are block numbers along the canonical chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flockchain.abc import KeyValueStore, WriteBatch
from flockchain.chain.store import ChainStore
from flockchain.errors import (
    BadSeal,
    CorruptDatabase,
    GenesisMismatch,
    InvalidBlock,
    InvalidBlockExecution,
    MalformedBlock,
    OversizedBlock,
    UnknownParent,
    UnsupportedFork,
    WrongAuthor,
    WrongExtrinsicsRoot,
    WrongStateRoot,
)
from flockchain.state.reader import TreeStateReader
from flockchain.state.tree import StateTree
from runtime.block import (
    MAX_BLOCK_SIZE,
    Block,
    Header,
    UnsignedExtrinsic,
    compute_extrinsics_root,
    decode_block,
    encode_extrinsic,
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
from runtime.pallets import session
from runtime.pallets.timestamp import SetArgs
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.keys import Keypair


@dataclass(frozen=True)
class AuthoredBlock:
    block: Block
    included: tuple[bytes, ...]
    # Transactions the pool offered that may never go in a block here (the pool drops them).
    rejected: tuple[tuple[bytes, InvalidTransaction], ...] = field(default=())


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
        instant_finality: bool = False,
    ) -> None:
        self.runtime = runtime
        self.genesis_hash = genesis_header.hash
        self.executive = Executive(runtime, self.genesis_hash)
        self.instant_finality = instant_finality
        self._store = store
        self.blocks = ChainStore(store)
        self.state = StateTree(store, prune_depth=prune_depth)
        stored_genesis = self.blocks.get_genesis_hash()
        if stored_genesis is None:
            self._write_genesis(genesis_header, genesis_state)
        elif stored_genesis != self.genesis_hash:
            raise GenesisMismatch(
                f"the database holds chain {stored_genesis.hex()}, not {self.genesis_hash.hex()} "
                "(use another --base-path or purge it)"
            )
        self._load_head()

    # --- reading ------------------------------------------------------------------------

    @property
    def head(self) -> Header:
        return self._head

    @property
    def head_hash(self) -> bytes:
        return self._head_hash

    @property
    def finalized_hash(self) -> bytes:
        finalized = self.blocks.get_finalized_hash()
        assert finalized is not None, "genesis is always finalized"
        return finalized

    def best_state(self) -> TreeStateReader:
        """The state after the head block."""
        return TreeStateReader(self.state)

    # --- authoring ----------------------------------------------------------------------

    def author_block(self, author: Keypair, slot: int, timestamp: int, candidates: Iterable[bytes]) -> AuthoredBlock:
        """Build, seal and commit a block on the head from the candidates that apply."""
        self._check_author(self.best_state(), author.public_key, slot)
        env = self._environment(slot, timestamp, author.public_key)
        block = self.executive.initialize_block(self.best_state(), env)
        inherent = encode_extrinsic(UnsignedExtrinsic(self.runtime.encode_call(SetArgs(timestamp))))
        self.executive.apply_extrinsic(block, inherent)
        included, rejected = [inherent], []
        for encoded in candidates:
            try:
                self.executive.apply_extrinsic(block, encoded)
            except ExhaustsResources:
                break
            except InvalidTransaction as exc:
                rejected.append((encoded, exc))
                continue
            included.append(encoded)
        changes = self.executive.finalize_block(block)
        header = Header(
            parent_hash=self._head_hash,
            number=env.number,
            slot=slot,
            timestamp=timestamp,
            state_root=self.state.apply(changes),
            extrinsics_root=compute_extrinsics_root(included),
            author=author.public_key,
            digests=(),
            seal=bytes(64),
        )
        sealed = Block(seal_header(header, author, self.genesis_hash), tuple(included))
        self._commit(sealed)
        return AuthoredBlock(sealed, tuple(included[1:]), tuple(rejected))

    # --- importing ----------------------------------------------------------------------

    def import_block(self, data: bytes) -> Block:
        """Check and execute an encoded block; on success it is the new head.

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
        self._check_parent(header)
        if compute_extrinsics_root(block.extrinsics) != header.extrinsics_root:
            raise WrongExtrinsicsRoot("extrinsics root does not match the body")
        state = self.best_state()
        self._check_author(state, header.author, header.slot)
        try:
            verify_seal(header, self.genesis_hash)
        except (InvalidKey, InvalidSignature) as exc:
            raise BadSeal(f"bad block seal: {exc}") from None
        env = BlockEnvironment(header.number, header.parent_hash, header.slot, header.timestamp, header.author)
        try:
            changes = self.executive.execute_block(state, env, block.extrinsics)
        except (InvalidTransaction, BlockExecutionError) as exc:
            raise InvalidBlockExecution(f"block {header.number} does not execute: {exc}") from None
        root = self.state.apply(changes)
        if root != header.state_root:
            self.state.rollback()
            raise WrongStateRoot(f"state root {root.hex()} differs from the header's {header.state_root.hex()}")
        self._commit(block)
        return block

    # --- internals ----------------------------------------------------------------------

    def _environment(self, slot: int, timestamp: int, author: bytes) -> BlockEnvironment:
        return BlockEnvironment(self._head.number + 1, self._head_hash, slot, timestamp, author)

    def _check_parent(self, header: Header) -> None:
        if header.parent_hash != self._head_hash:
            if self.blocks.get_header(header.parent_hash) is None:
                raise UnknownParent(f"parent {header.parent_hash.hex()} is unknown")
            raise UnsupportedFork("the block does not extend the head (fork choice comes with consensus)")
        if header.number != self._head.number + 1:
            raise InvalidBlock(f"block number {header.number} does not follow {self._head.number}")
        if header.slot <= self._head.slot:
            raise InvalidBlock(f"slot {header.slot} is not after the parent's slot {self._head.slot}")

    def _check_author(self, state: TreeStateReader, author: bytes, slot: int) -> None:
        expected = session.get_slot_author(state, slot)
        if author != expected:
            raise WrongAuthor(f"slot {slot} belongs to {expected.hex()}, not {author.hex()}")

    def _commit(self, block: Block) -> None:
        """Persist the staged state as the block's post-state, and the block as head."""
        batch = WriteBatch()
        version = block.header.number
        try:
            self.state.commit(version, batch)
            self.blocks.stage_block(batch, block, version)
            if self.instant_finality:
                self.blocks.stage_finalized(batch, block.hash)
            self._store.write(batch)
        except BaseException:
            # Memory may be ahead of the disk: reload both from what was really written.
            self.state = StateTree(self._store, prune_depth=self.state.prune_depth)
            self._load_head()
            raise
        self._head, self._head_hash = block.header, block.hash

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

    def _load_head(self) -> None:
        head_hash = self.blocks.get_head_hash()
        head = None if head_hash is None else self.blocks.get_header(head_hash)
        if head_hash is None or head is None:
            raise CorruptDatabase("the chain has no head block")
        if self.state.version != self.blocks.get_state_version(head_hash):
            raise CorruptDatabase(f"state version {self.state.version} does not belong to head block {head.number}")
        self._head, self._head_hash = head, head_hash

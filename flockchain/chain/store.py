"""The chain store: headers, bodies, the canonical index, the head/finalized pointers, the state
deltas of unfinalized blocks and the justifications of finalized ones.

Reads go straight to the key-value store; writes are only ever added to a caller's
:class:`~flockchain.abc.WriteBatch`, so that a block, its state and the pointers that name it
reach the disk in one atomic write (keys built in :mod:`flockchain.db.schema`).
"""

from __future__ import annotations

from typing import Annotated

from flockchain.abc import KeyValueStore, WriteBatch
from flockchain.db import schema
from flockchain.errors import CorruptDatabase
from runtime.block import MAX_BLOCK_EXTRINSICS, MAX_EXTRINSIC_SIZE, Block, Header
from runtime.primitives.codec import ListOf, VarBytes, decode_value, encode_value

BlockBody = Annotated[tuple, ListOf(Annotated[bytes, VarBytes(MAX_EXTRINSIC_SIZE)], MAX_BLOCK_EXTRINSICS)]


class ChainStore:
    def __init__(self, store: KeyValueStore) -> None:
        self._store = store

    # --- reading ------------------------------------------------------------------------

    def get_header(self, block_hash: bytes) -> Header | None:
        raw = self._store.get(schema.header_key(block_hash))
        return None if raw is None else Header.decode(raw)

    def get_block(self, block_hash: bytes) -> Block | None:
        header = self.get_header(block_hash)
        if header is None:
            return None
        raw = self._store.get(schema.body_key(block_hash))
        if raw is None:
            raise CorruptDatabase(f"header {block_hash.hex()} has no body")
        return Block(header, decode_value(BlockBody, raw))

    def get_canonical_hash(self, number: int) -> bytes | None:
        return self._store.get(schema.canonical_key(number))

    def get_state_version(self, block_hash: bytes) -> int | None:
        raw = self._store.get(schema.block_state_version_key(block_hash))
        return None if raw is None else schema.decode_u64(raw)

    def get_head_hash(self) -> bytes | None:
        return self._store.get(schema.CHAIN_HEAD)

    def get_finalized_hash(self) -> bytes | None:
        return self._store.get(schema.CHAIN_FINALIZED)

    def get_genesis_hash(self) -> bytes | None:
        return self._store.get(schema.CHAIN_GENESIS)

    def get_justification(self, block_hash: bytes) -> bytes | None:
        return self._store.get(schema.justification_key(block_hash))

    def get_set_change(self, set_id: int) -> bytes | None:
        """The finalized block whose justification ended authority set ``set_id``."""
        return self._store.get(schema.set_change_key(set_id))

    def iter_deltas(self) -> list[tuple[bytes, bytes]]:
        """(block hash, encoded delta) of every unfinalized block."""
        prefix = len(schema.CHAIN_DELTA)
        return [(key[prefix:], value) for key, value in self._store.iterate(schema.CHAIN_DELTA)]

    # --- staging writes -----------------------------------------------------------------

    def stage_block(self, batch: WriteBatch, block: Block, delta: bytes) -> None:
        """Add an unfinalized block with its encoded state delta."""
        block_hash = block.hash
        batch.put(schema.header_key(block_hash), block.header.encode())
        batch.put(schema.body_key(block_hash), encode_value(BlockBody, block.extrinsics))
        batch.put(schema.block_delta_key(block_hash), delta)

    def stage_head(self, batch: WriteBatch, block_hash: bytes, state_version: int) -> None:
        """``block_hash`` is the head, its post-state committed as ``state_version``."""
        batch.put(schema.block_state_version_key(block_hash), schema.encode_u64(state_version))
        batch.put(schema.CHAIN_HEAD, block_hash)

    def stage_canonical(self, batch: WriteBatch, number: int, block_hash: bytes) -> None:
        batch.put(schema.canonical_key(number), block_hash)

    def stage_canonical_removed(self, batch: WriteBatch, number: int) -> None:
        batch.delete(schema.canonical_key(number))

    def stage_delta_removed(self, batch: WriteBatch, block_hash: bytes) -> None:
        batch.delete(schema.block_delta_key(block_hash))

    def stage_abandoned(self, batch: WriteBatch, block_hash: bytes) -> None:
        """Delete a block of a fork that finality abandoned."""
        for key in (
            schema.header_key(block_hash),
            schema.body_key(block_hash),
            schema.block_state_version_key(block_hash),
            schema.block_delta_key(block_hash),
        ):
            batch.delete(key)

    def stage_genesis(self, batch: WriteBatch, genesis: Block) -> None:
        genesis_hash = genesis.hash
        batch.put(schema.header_key(genesis_hash), genesis.header.encode())
        batch.put(schema.body_key(genesis_hash), encode_value(BlockBody, genesis.extrinsics))
        self.stage_head(batch, genesis_hash, 0)
        self.stage_canonical(batch, 0, genesis_hash)
        batch.put(schema.CHAIN_GENESIS, genesis_hash)
        batch.put(schema.CHAIN_FINALIZED, genesis_hash)

    def stage_finalized(
        self, batch: WriteBatch, block_hash: bytes, justification: bytes | None, ends_set: int | None
    ) -> None:
        batch.put(schema.CHAIN_FINALIZED, block_hash)
        if justification is not None:
            batch.put(schema.justification_key(block_hash), justification)
        if ends_set is not None:
            batch.put(schema.set_change_key(ends_set), block_hash)

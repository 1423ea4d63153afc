"""The chain store: headers, bodies, the canonical index and the head/finalized pointers.

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

    # --- staging writes -----------------------------------------------------------------

    def stage_block(self, batch: WriteBatch, block: Block, state_version: int) -> None:
        """Add ``block`` as the new canonical head, with the state version of its post-state."""
        block_hash = block.hash
        batch.put(schema.header_key(block_hash), block.header.encode())
        batch.put(schema.body_key(block_hash), encode_value(BlockBody, block.extrinsics))
        batch.put(schema.block_state_version_key(block_hash), schema.encode_u64(state_version))
        batch.put(schema.canonical_key(block.header.number), block_hash)
        batch.put(schema.CHAIN_HEAD, block_hash)

    def stage_genesis(self, batch: WriteBatch, genesis: Block) -> None:
        self.stage_block(batch, genesis, state_version=0)
        batch.put(schema.CHAIN_GENESIS, genesis.hash)
        batch.put(schema.CHAIN_FINALIZED, genesis.hash)

    def stage_finalized(self, batch: WriteBatch, block_hash: bytes) -> None:
        batch.put(schema.CHAIN_FINALIZED, block_hash)

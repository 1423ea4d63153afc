"""Slashing protection: what this validator has signed, so that it never signs two conflicting
things, even across restarts.

The record is small and the node persists it *before* it broadcasts anything it signed (it is
the write-ahead log of signing). Blocks: never seal a second block for a slot at or below the
last slot sealed. Finality votes: the voter's own persisted state (``consensus.grandpa``) says
which votes it cast in its current rounds; the record carries it as opaque bytes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from runtime.primitives.codec import U64, Record, VarBytes, record

MAX_VOTER_STATE_SIZE = 64 * 1024


@record
class SigningRecord(Record):
    last_block_slot: U64  # 0: never sealed a block (slot 0 is genesis's)
    voter_state: Annotated[bytes, VarBytes(MAX_VOTER_STATE_SIZE)]  # empty: no finality vote yet

    @classmethod
    def empty(cls) -> SigningRecord:
        return cls(0, b"")

    def may_seal_block(self, slot: int) -> bool:
        return slot > self.last_block_slot

    def with_block(self, slot: int) -> SigningRecord:
        if not self.may_seal_block(slot):
            raise ValueError(f"slot {slot} is not after the last sealed slot {self.last_block_slot}")
        return replace(self, last_block_slot=slot)

    def with_voter_state(self, voter_state: bytes) -> SigningRecord:
        return replace(self, voter_state=voter_state)

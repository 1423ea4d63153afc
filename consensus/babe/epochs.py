"""Epochs, their authority sets and their randomness (BABE).

Slots are counted from ``genesis_slot``; epoch ``N`` is the ``epoch_length`` slots from
``genesis_slot + N · epoch_length``. Each epoch fixes an authority set, the lottery constant ``c``
and a 32-byte randomness, which every slot's VRF input commits to.

Randomness of epochs 0 and 1 comes from the genesis hash. The randomness of epoch ``N + 2`` is::

    H_rand(randomness(N) ‖ u64_be(N + 2) ‖ outputs_digest(N))

where ``outputs_digest`` commits to the VRF outputs of epoch ``N``'s primary blocks, in block order, as
a hash chain: ``d_0 = 32 zero bytes``, ``d_(i+1) = H_outputs(d_i ‖ output_i)``. The chain keeps the
accumulator a fixed 32 bytes per block, so a node can store one per block of every fork. Epoch
``N + 2``'s randomness is thus fixed when epoch ``N`` ends, a whole epoch before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from consensus.babe.digest import PreDigest
from runtime.primitives.codec import U64, AccountId, Balance, FixedBytes, Hash32, ListOf, Record
from runtime.primitives.hashing import HASH_SIZE, ZERO_HASH, tagged_hash
from runtime.primitives.vrf import PUBLIC_KEY_SIZE

MAX_AUTHORITIES = 1_000

# Domain tags of the lottery's hashes (distinct from runtime.primitives.hashing's table).
TAG_GENESIS_RANDOMNESS = b"flock/babe-gen"
TAG_EPOCH_RANDOMNESS = b"flock/babe-rand"
TAG_VRF_OUTPUTS = b"flock/babe-outs"
TAG_SECONDARY_AUTHOR = b"flock/babe-2nd"
# Prefix of every slot's VRF input, so that no other VRF use can produce the same input.
DOMAIN_SLOT_VRF = b"flock/babe/slot"


@dataclass(frozen=True)
class Authority(Record):
    account: AccountId  # the ed25519 key that seals the blocks (``Header.author``)
    vrf_key: Annotated[bytes, FixedBytes(PUBLIC_KEY_SIZE)]
    stake: Balance


@dataclass(frozen=True)
class Epoch(Record):
    """What the lottery of one epoch needs; ``c = c_numerator / c_denominator`` is in [0, 1)."""

    index: U64
    start_slot: U64
    length: U64
    randomness: Hash32
    authorities: Annotated[tuple, ListOf(Authority, MAX_AUTHORITIES)]
    c_numerator: U64
    c_denominator: U64

    @property
    def total_stake(self) -> int:
        return sum(authority.stake for authority in self.authorities)

    def contains_slot(self, slot: int) -> bool:
        return self.start_slot <= slot < self.start_slot + self.length


def compute_epoch_index(slot: int, genesis_slot: int, epoch_length: int) -> int:
    """The epoch of ``slot`` (floors); slots before genesis have none."""
    if slot < genesis_slot or epoch_length < 1:
        raise ValueError(f"slot {slot} is before genesis slot {genesis_slot} or epoch length {epoch_length} < 1")
    return (slot - genesis_slot) // epoch_length


def compute_epoch_start_slot(epoch_index: int, genesis_slot: int, epoch_length: int) -> int:
    return genesis_slot + epoch_index * epoch_length


def compute_genesis_randomness(genesis_hash: bytes) -> bytes:
    """The randomness of epochs 0 and 1."""
    return tagged_hash(TAG_GENESIS_RANDOMNESS, genesis_hash)


def compute_slot_vrf_input(randomness: bytes, slot: int, epoch_index: int) -> bytes:
    """The VRF input of a slot: ``DOMAIN_SLOT_VRF ‖ randomness (32) ‖ u64_be(slot) ‖ u64_be(epoch_index)``."""
    if len(randomness) != HASH_SIZE:
        raise ValueError(f"epoch randomness must be {HASH_SIZE} bytes")
    return DOMAIN_SLOT_VRF + randomness + slot.to_bytes(8, "big") + epoch_index.to_bytes(8, "big")


def compute_secondary_author_index(randomness: bytes, slot: int, authority_count: int) -> int:
    """The authority that may author ``slot`` without a primary win: ``H(randomness ‖ u64_be(slot)) mod n``
    (the hash read big-endian; the bias of the modulo is below 2^-246 for up to 1,000 authorities)."""
    digest = tagged_hash(TAG_SECONDARY_AUTHOR, randomness + slot.to_bytes(8, "big"))
    return int.from_bytes(digest, "big") % authority_count


@dataclass(frozen=True)
class EpochRandomnessAccumulator(Record):
    """The VRF outputs of one epoch's blocks so far (a hash chain); each block gives a new accumulator."""

    epoch_index: U64
    randomness: Hash32  # the randomness of ``epoch_index``
    outputs_digest: Hash32
    output_count: U64

    @classmethod
    def start(cls, epoch_index: int, randomness: bytes) -> EpochRandomnessAccumulator:
        return cls(epoch_index, randomness, ZERO_HASH, 0)

    def include_block(self, pre_digest: PreDigest) -> EpochRandomnessAccumulator:
        """The accumulator after a (verified) block of this epoch; only primary claims carry an output."""
        if not pre_digest.is_primary:
            return self
        digest = tagged_hash(TAG_VRF_OUTPUTS, self.outputs_digest + pre_digest.vrf_output)
        return replace(self, outputs_digest=digest, output_count=self.output_count + 1)

    def compute_next_randomness(self) -> bytes:
        """The randomness of epoch ``epoch_index + 2``."""
        target = (self.epoch_index + 2).to_bytes(8, "big")
        return tagged_hash(TAG_EPOCH_RANDOMNESS, self.randomness + target + self.outputs_digest)

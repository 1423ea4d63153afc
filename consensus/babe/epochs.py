"""Epochs, their authority sets and their randomness (BABE).

An epoch is a runtime session (the runtime's ``session`` pallet): ``epochLengthBlocks`` blocks, after
which the next authority set takes over. Which epoch a block belongs to is therefore fixed by its
parent's state, not by its slot: the epoch that checks a block's slot claim is built from the
parent's post-state by :func:`get_epoch` (see docs/decisions.md for why epochs count blocks).
Each epoch fixes an authority set with stakes, the lottery constant ``c`` and a 32-byte
randomness, which every slot's VRF input commits to; the runtime derives the randomness of epoch
``N + 2`` from the VRF outputs of epoch ``N``'s primary blocks.
"""

from __future__ import annotations

from typing import Annotated

from runtime import api
from runtime.abc import StateReader
from runtime.block import MAX_AUTHORITIES
from runtime.primitives.codec import U64, AccountId, Balance, FixedBytes, Hash32, ListOf, Record, record
from runtime.primitives.hashing import HASH_SIZE, tagged_hash
from runtime.primitives.vrf import PUBLIC_KEY_SIZE

# Domain tag of the secondary-author hash (distinct from runtime.primitives.hashing's table).
TAG_SECONDARY_AUTHOR = b"flock/babe-2nd"
# Prefix of every slot's VRF input, so that no other VRF use can produce the same input.
DOMAIN_SLOT_VRF = b"flock/babe/slot"


@record
class Authority(Record):
    account: AccountId  # the ed25519 key that seals the blocks (``Header.author``)
    vrf_key: Annotated[bytes, FixedBytes(PUBLIC_KEY_SIZE)]
    stake: Balance


@record
class Epoch(Record):
    """What the lottery of one epoch needs; ``c = c_numerator / c_denominator`` is in [0, 1)."""

    index: U64
    randomness: Hash32
    authorities: Annotated[tuple, ListOf(Authority, MAX_AUTHORITIES)]
    c_numerator: U64
    c_denominator: U64

    @property
    def total_stake(self) -> int:
        return sum(authority.stake for authority in self.authorities)


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


def get_epoch(state: StateReader) -> Epoch:
    """The epoch of the children of the block whose post-state is ``state``; stakes are the
    runtime's authority weights (``runtime.api.get_babe_epoch``)."""
    epoch = api.get_babe_epoch(state)
    return Epoch(
        epoch.index,
        epoch.randomness,
        tuple(Authority(authority.signing_key, authority.vrf_key, authority.weight) for authority in epoch.authorities),
        *epoch.primary_probability,
    )

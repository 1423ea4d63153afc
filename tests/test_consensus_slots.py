"""The BABE-style slot lottery (consensus/babe): epochs, randomness, pre-digests and slot claims."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.babe.claims import (
    claim_slot,
    compute_authority_threshold,
    is_primary_win,
    verify_header_slot_claim,
    verify_slot_claim,
)
from consensus.babe.digest import (
    KIND_PRIMARY,
    KIND_SECONDARY,
    PreDigest,
    compute_pre_runtime_digest,
    find_pre_digest,
)
from consensus.babe.epochs import (
    Authority,
    Epoch,
    compute_secondary_author_index,
    compute_slot_vrf_input,
)
from consensus.babe.errors import (
    BadVrfProof,
    InvalidPreDigest,
    InvalidSlotClaim,
    ThresholdExceeded,
    WrongAuthorityIndex,
    WrongSecondaryAuthor,
)
from runtime.block import ConsensusDigest, Header, PreRuntimeDigest
from runtime.errors import EncodingError, FlockError
from runtime.primitives import vrf
from runtime.primitives.hashing import ZERO_HASH, blake2b_256
from runtime.primitives.keys import Keypair

RANDOMNESS = blake2b_256(b"test epoch randomness")
LOTTERY_SLOTS = 2_000
AUTHORITY_COUNT = 4


def make_keypair(index: int) -> Keypair:
    return Keypair.from_seed(blake2b_256(b"babe test authority" + index.to_bytes(4, "big")))


def make_epoch(stakes: tuple[int, ...] = (1,) * AUTHORITY_COUNT, index: int = 0) -> Epoch:
    authorities = tuple(
        Authority(make_keypair(i).public_key, vrf.public_key(make_keypair(i).derive_vrf_seed()), stake)
        for i, stake in enumerate(stakes)
    )
    return Epoch(index, RANDOMNESS, authorities, 1, 4)


def make_header(slot: int, author: bytes, digests: tuple) -> Header:
    return Header(ZERO_HASH, 1, slot, 0, ZERO_HASH, ZERO_HASH, author, digests, bytes(64))


@cache
def run_lottery() -> dict[int, tuple[PreDigest, ...]]:
    """Every authority's claim on every slot of the first ``LOTTERY_SLOTS`` slots of ``make_epoch()``."""
    epoch = make_epoch()
    seeds = [make_keypair(i).derive_vrf_seed() for i in range(AUTHORITY_COUNT)]
    claims = {}
    for slot in range(LOTTERY_SLOTS):
        found = (claim_slot(slot, epoch, i, seeds[i]) for i in range(AUTHORITY_COUNT))
        claims[slot] = tuple(claim for claim in found if claim is not None)
    return claims


def find_claim(kind: int) -> PreDigest:
    return next(claim for claims in run_lottery().values() for claim in claims if claim.kind == kind)


# --- epochs ------------------------------------------------------------------------------


def test_epoch_round_trips_through_the_codec() -> None:
    epoch = make_epoch()
    assert Epoch.decode(epoch.encode()) == epoch


# --- VRF input and secondary authors -----------------------------------------------------


def test_slot_vrf_input_layout() -> None:
    randomness = bytes(range(32))
    vrf_input = compute_slot_vrf_input(randomness, 7, 1)
    assert vrf_input == b"flock/babe/slot" + randomness + (7).to_bytes(8, "big") + (1).to_bytes(8, "big")
    assert len({vrf_input, compute_slot_vrf_input(randomness, 8, 1), compute_slot_vrf_input(randomness, 7, 2)}) == 3
    with pytest.raises(ValueError):
        compute_slot_vrf_input(bytes(31), 7, 1)


@given(st.binary(min_size=32, max_size=32), st.integers(0, 2**64 - 1), st.integers(1, 1_000))
def test_secondary_author_is_in_the_set(randomness, slot, count) -> None:
    index = compute_secondary_author_index(randomness, slot, count)
    assert 0 <= index < count
    assert index == compute_secondary_author_index(randomness, slot, count)


def test_secondary_authors_spread_over_the_set() -> None:
    randomness = RANDOMNESS
    counts = [0] * AUTHORITY_COUNT
    for slot in range(LOTTERY_SLOTS):
        counts[compute_secondary_author_index(randomness, slot, AUTHORITY_COUNT)] += 1
    assert all(400 < count < 600 for count in counts)


# --- pre-digests -------------------------------------------------------------------------


def test_pre_digest_round_trips_through_a_header() -> None:
    claim = find_claim(KIND_PRIMARY)
    header = make_header(claim.slot, ZERO_HASH, (ConsensusDigest(b"x", b""), compute_pre_runtime_digest(claim)))
    assert find_pre_digest(Header.decode(header.encode())) == claim


@pytest.mark.parametrize(
    "fields",
    [(2, 0, 0, b"", b""), (KIND_PRIMARY, 0, 0, b"", b""), (KIND_SECONDARY, 0, 0, bytes(64), bytes(80))],
)
def test_malformed_pre_digests_are_refused(fields) -> None:
    with pytest.raises(InvalidPreDigest):
        PreDigest(*fields)
    with pytest.raises(EncodingError):
        PreDigest.decode(msgpack.packb(list(fields), use_bin_type=True))


def test_find_pre_digest_needs_exactly_one_for_the_header_slot() -> None:
    claim = find_claim(KIND_SECONDARY)
    digest = compute_pre_runtime_digest(claim)
    for digests in [(), (digest, digest), (PreRuntimeDigest(b"slot", digest.data),)]:
        with pytest.raises(InvalidPreDigest):
            find_pre_digest(make_header(claim.slot, ZERO_HASH, digests))
    with pytest.raises(InvalidPreDigest):
        find_pre_digest(make_header(claim.slot + 1, ZERO_HASH, (digest,)))


# --- the lottery -------------------------------------------------------------------------


def test_primary_win_rates_match_the_threshold() -> None:
    # Each of 4 equal authorities wins with 1 − (3/4)^(1/4) ≈ 0.0694: about 139 of 2,000 slots (σ ≈ 11).
    wins = [0] * AUTHORITY_COUNT
    for claims in run_lottery().values():
        for claim in claims:
            wins[claim.authority_index] += claim.is_primary
    assert all(95 < count < 185 for count in wins), wins
    assert 470 < sum(wins) < 640


def test_every_slot_has_exactly_one_secondary_claim() -> None:
    epoch = make_epoch()
    for slot, claims in run_lottery().items():
        secondary = [claim.authority_index for claim in claims if not claim.is_primary]
        expected = compute_secondary_author_index(epoch.randomness, slot, AUTHORITY_COUNT)
        primary = {claim.authority_index for claim in claims if claim.is_primary}
        assert secondary == ([] if expected in primary else [expected])


def test_claims_verify() -> None:
    epoch = make_epoch()
    for claims in list(run_lottery().values())[:200]:
        for claim in claims:
            author = epoch.authorities[claim.authority_index].account
            output = verify_slot_claim(claim, author, epoch)
            assert output == claim.vrf_output
            header = make_header(claim.slot, author, (compute_pre_runtime_digest(claim),))
            assert verify_header_slot_claim(header, epoch) == claim


def test_stake_weights_the_threshold() -> None:
    epoch = make_epoch((0, 1, 2, 5))
    thresholds = [compute_authority_threshold(epoch, i) for i in range(4)]
    assert thresholds[0] == 0 and thresholds == sorted(thresholds)
    assert not is_primary_win(bytes(64), 0) and is_primary_win(bytes(64), 1)


def test_zero_stake_authority_only_claims_secondary_slots() -> None:
    epoch = make_epoch((0, 1, 1, 1))
    seed = make_keypair(0).derive_vrf_seed()
    claims = [claim_slot(slot, epoch, 0, seed) for slot in range(40)]
    assert all(claim is None or not claim.is_primary for claim in claims)
    assert any(claim is not None for claim in claims)


# --- tampered claims ---------------------------------------------------------------------


def author_of(claim: PreDigest) -> bytes:
    return make_epoch().authorities[claim.authority_index].account


def flip_bit(data: bytes, bit: int) -> bytes:
    return data[: bit // 8] + bytes([data[bit // 8] ^ (1 << (bit % 8))]) + data[bit // 8 + 1 :]


@pytest.mark.parametrize("bit", [0, 300, 8 * 32 + 3, 8 * 48 + 5, 8 * 80 - 2])
def test_proof_bit_flip_is_a_bad_proof(bit) -> None:
    claim = find_claim(KIND_PRIMARY)
    tampered = replace(claim, vrf_proof=flip_bit(claim.vrf_proof, bit))
    with pytest.raises(BadVrfProof):
        verify_slot_claim(tampered, author_of(claim), make_epoch())


def test_output_other_than_the_proven_one_is_a_bad_proof() -> None:
    claim = find_claim(KIND_PRIMARY)
    with pytest.raises(BadVrfProof):
        verify_slot_claim(replace(claim, vrf_output=bytes(64)), author_of(claim), make_epoch())


def test_primary_claim_moved_to_another_slot_is_a_bad_proof() -> None:
    claim = find_claim(KIND_PRIMARY)
    with pytest.raises(BadVrfProof):
        verify_slot_claim(replace(claim, slot=claim.slot + 1), author_of(claim), make_epoch())


def test_primary_claim_in_another_epoch_is_refused() -> None:
    claim = find_claim(KIND_PRIMARY)
    with pytest.raises(BadVrfProof):  # same slot numbers, other randomness: the proof no longer fits
        verify_slot_claim(claim, author_of(claim), replace(make_epoch(), randomness=blake2b_256(b"other")))
    with pytest.raises(BadVrfProof):  # same randomness, another epoch index: the input differs
        verify_slot_claim(claim, author_of(claim), make_epoch(index=1))


def test_wrong_authority_index_is_refused() -> None:
    claim = find_claim(KIND_PRIMARY)
    other = (claim.authority_index + 1) % AUTHORITY_COUNT
    with pytest.raises(WrongAuthorityIndex):
        verify_slot_claim(replace(claim, authority_index=other), author_of(claim), make_epoch())
    for index in (AUTHORITY_COUNT, -1):
        with pytest.raises(WrongAuthorityIndex):
            verify_slot_claim(replace(claim, authority_index=index), author_of(claim), make_epoch())


def test_proof_under_another_key_is_a_bad_proof() -> None:
    claim = find_claim(KIND_PRIMARY)
    other = (claim.authority_index + 1) % AUTHORITY_COUNT
    moved = replace(claim, authority_index=other)
    with pytest.raises(BadVrfProof):
        verify_slot_claim(moved, author_of(moved), make_epoch())


def test_losing_output_is_above_the_threshold() -> None:
    epoch = make_epoch()
    seed = make_keypair(0).derive_vrf_seed()
    wins = {c.slot for claims in run_lottery().values() for c in claims if c.is_primary and c.authority_index == 0}
    losing = min(set(range(LOTTERY_SLOTS)) - wins)
    proof = vrf.prove(seed, compute_slot_vrf_input(epoch.randomness, losing, epoch.index))
    claim = PreDigest(KIND_PRIMARY, 0, losing, vrf.proof_to_hash(proof), proof)
    with pytest.raises(ThresholdExceeded):
        verify_slot_claim(claim, author_of(claim), epoch)


def test_secondary_claim_by_the_wrong_author_is_refused() -> None:
    claim = find_claim(KIND_SECONDARY)
    impostor = replace(claim, authority_index=(claim.authority_index + 1) % AUTHORITY_COUNT)
    with pytest.raises(WrongSecondaryAuthor):
        verify_slot_claim(impostor, author_of(impostor), make_epoch())
    header = make_header(claim.slot, author_of(impostor), (compute_pre_runtime_digest(impostor),))
    with pytest.raises(WrongSecondaryAuthor):
        verify_header_slot_claim(header, make_epoch())


def test_claim_slot_refuses_a_foreign_seed() -> None:
    with pytest.raises(WrongAuthorityIndex):
        claim_slot(0, make_epoch(), 1, make_keypair(0).derive_vrf_seed())


def test_errors_are_flock_errors() -> None:
    for error in (BadVrfProof, InvalidPreDigest, ThresholdExceeded, WrongAuthorityIndex):
        assert issubclass(error, InvalidSlotClaim) and issubclass(error, FlockError)
    assert issubclass(WrongSecondaryAuthor, InvalidSlotClaim)

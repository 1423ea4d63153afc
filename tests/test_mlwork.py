"""The ML-work primitives both markets share (``runtime/framework/mlwork.py``): work proofs and
their signatures, commitments, VRF roles under account keys, the stake-weighted median with
clipping, rankings, the reward formulas and the round schedule — with the laws they keep."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import InvalidSignature, InvalidVrfProof
from runtime.framework import mlwork
from runtime.framework.mlwork import (
    MARKET_ALLIANCE,
    MARKET_ARENA,
    METRIC_ONE,
    PHASE_ATTEST,
    PHASE_ATTEST_REVEAL,
    PHASE_CLOSING,
    PHASE_COMMIT,
    PHASE_REVEAL,
    PURPOSE_ROLE,
    VRF_RANGE,
    MlWorkProof,
    Schedule,
)
from runtime.primitives import vrf
from runtime.primitives.arithmetic import PERBILL_ACCURACY
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.keys import DOMAIN_ML_WORK, DOMAIN_TRANSACTION, Keypair

GENESIS = hashlib.blake2b(b"mlwork tests", digest_size=32).digest()
WORKER = Keypair.from_seed(hashlib.blake2b(b"worker", digest_size=32).digest())
ONE = PERBILL_ACCURACY

VALUES = st.integers(-(10**12), 10**12)
WEIGHTS = st.integers(1, 10**12)


def proof(**changes: object) -> MlWorkProof:
    fields: dict[str, object] = {
        "market": MARKET_ARENA,
        "task": 3,
        "round": 1,
        "worker": WORKER.public_key,
        "slot": 0,
        "parent_model_root": bytes(32),
        "update_root": b"\x01" * 32,
        "update_chunks": 8,
        "data_commitment": b"\x02" * 32,
        "trace_root": b"\x03" * 32,
        "steps": 1_000,
        "checkpoint_interval": 10,
        "claimed_metric": -5 * METRIC_ONE // 100,
    }
    fields.update(changes)
    return MlWorkProof(**fields)  # type: ignore[arg-type]


# --- keys, proofs, commitments ---------------------------------------------------------------


def test_an_account_id_is_its_vrf_public_key() -> None:
    for name in (b"alice", b"bob", b"trainer 1"):
        key = Keypair.from_seed(hashlib.blake2b(name, digest_size=32).digest())
        assert vrf.public_key(key.seed) == key.public_key
        alpha = mlwork.compute_vrf_input(MARKET_ALLIANCE, PURPOSE_ROLE, ZERO_HASH, 0, 0, 0)
        made, value = mlwork.prove_vrf_value(key.seed, alpha)
        assert mlwork.verify_vrf_value(key.public_key, alpha, made) == value


def test_a_vrf_proof_counts_for_its_input_and_key_only() -> None:
    alpha = mlwork.compute_vrf_input(MARKET_ARENA, mlwork.PURPOSE_COMMITTEE, ZERO_HASH, 1, 2, 3)
    made, _ = mlwork.prove_vrf_value(WORKER.seed, alpha)
    other = mlwork.compute_vrf_input(MARKET_ARENA, mlwork.PURPOSE_COMMITTEE, ZERO_HASH, 1, 2, 4)
    with pytest.raises(InvalidVrfProof):
        mlwork.verify_vrf_value(WORKER.public_key, other, made)
    stranger = Keypair.from_seed(bytes(range(32)))
    with pytest.raises(InvalidVrfProof):
        mlwork.verify_vrf_value(stranger.public_key, alpha, made)
    inputs = {
        mlwork.compute_vrf_input(market, purpose, ZERO_HASH, 1, 2, 3) for market in (0, 1) for purpose in (0, 1, 2)
    }
    assert len(inputs) == 6  # every market and purpose draws apart


def test_a_work_proof_is_signed_for_one_chain_and_purpose() -> None:
    signed = mlwork.sign_work_proof(WORKER, proof(), GENESIS)
    mlwork.verify_work_proof(signed, GENESIS)
    with pytest.raises(InvalidSignature):
        mlwork.verify_work_proof(signed, bytes(32))
    with pytest.raises(InvalidSignature):
        mlwork.verify_work_proof(mlwork.SignedMlWorkProof(proof(slot=1), signed.signature), GENESIS)
    other_purpose = WORKER.sign(DOMAIN_TRANSACTION, GENESIS, proof().encode())
    with pytest.raises(InvalidSignature):
        mlwork.verify_work_proof(mlwork.SignedMlWorkProof(proof(), other_purpose), GENESIS)
    assert signed.signature == WORKER.sign(DOMAIN_ML_WORK, GENESIS, proof().encode())
    assert MlWorkProof.decode(proof().encode()) == proof()


def test_a_commitment_binds_its_worker_payload_and_salt() -> None:
    base = mlwork.compute_commitment(b"\x01" * 32, b"payload", b"\x00" * 32)
    assert base != mlwork.compute_commitment(b"\x02" * 32, b"payload", b"\x00" * 32)
    assert base != mlwork.compute_commitment(b"\x01" * 32, b"payloae", b"\x00" * 32)
    assert base != mlwork.compute_commitment(b"\x01" * 32, b"payload", b"\x01" * 32)
    assert mlwork.compute_data_commitment(b"\x01" * 32, ZERO_HASH) != mlwork.compute_data_commitment(
        b"\x02" * 32, ZERO_HASH
    )
    assert mlwork.compute_task_account(b"arena", 0) != mlwork.compute_task_account(b"alliance", 0)


# --- sortition ------------------------------------------------------------------------------


def test_thresholds_give_roles_with_the_stated_chance() -> None:
    assert mlwork.compute_ratio_threshold(0) == 0
    assert mlwork.compute_ratio_threshold(ONE) == VRF_RANGE
    assert mlwork.compute_ratio_threshold(ONE // 2) == VRF_RANGE // 2
    assert mlwork.compute_sortition_threshold(3, 1, 3) == VRF_RANGE  # a third of the stake, three seats: certain
    assert mlwork.compute_sortition_threshold(1, 1, 4) == VRF_RANGE // 4
    assert mlwork.compute_sortition_threshold(1, 0, 4) == 0
    assert mlwork.compute_sortition_threshold(1, 1, 0) == 0


@given(st.integers(1, 10), st.integers(0, 10**15), st.integers(0, 10**15), st.integers(1, 10**15))
def test_more_stake_never_means_fewer_assignments(expected: int, stake: int, more: int, others: int) -> None:
    total = stake + more + others
    low = mlwork.compute_sortition_threshold(expected, stake, total)
    high = mlwork.compute_sortition_threshold(expected, stake + more, total)
    assert 0 <= low <= high <= VRF_RANGE


def test_spot_checks_and_challenges_draw_within_range() -> None:
    seed = b"\x07" * 32
    assert not any(mlwork.is_spot_checked(seed, 0, 1, 2, subject, 0) for subject in range(50))
    assert all(mlwork.is_spot_checked(seed, 0, 1, 2, subject, ONE) for subject in range(50))
    picked = sum(mlwork.is_spot_checked(seed, 0, 1, 2, subject, ONE // 10) for subject in range(1_000))
    assert 50 < picked < 150  # about one in ten
    segments = {mlwork.compute_spot_segment(seed, 0, 1, 2, subject, proof()) for subject in range(500)}
    assert segments <= set(range(100)) and len(segments) > 50  # 1,000 steps, a checkpoint every 10
    assert {mlwork.compute_spot_segment(seed, 0, 1, 2, s, proof(steps=5)) for s in range(50)} == {0}  # one segment
    every_step = replace(proof(steps=3), checkpoint_interval=1)
    assert {mlwork.compute_spot_segment(seed, 0, 1, 2, s, every_step) for s in range(50)} == {0, 1, 2}
    draw = mlwork.compute_round_draw(mlwork.TAG_ML_SPOT, 0, seed, 1, 2, 3)  # bytes 8-16 pick the segment
    assert mlwork.compute_spot_segment(seed, 0, 1, 2, 3, proof()) == int.from_bytes(draw[8:16], "big") % 100
    assert mlwork.is_spot_checked(seed, 0, 1, 2, 3, ONE // 2) == (int.from_bytes(draw[:8], "big") < 1 << 63)
    chunks = {mlwork.compute_challenge_chunk(bytes([n]) * 32, 0, 1, 2, 3, 7) for n in range(100)}
    assert chunks == set(range(7))


def test_the_aggregate_id_follows_the_global_model_and_every_update_in_order() -> None:
    a, b = b"\x0a" * 32, b"\x0b" * 32
    ids = {
        mlwork.compute_aggregate_id(ZERO_HASH, [a, b]),
        mlwork.compute_aggregate_id(ZERO_HASH, [b, a]),
        mlwork.compute_aggregate_id(b"\x01" * 32, [a, b]),
        mlwork.compute_aggregate_id(ZERO_HASH, [a]),
    }
    assert len(ids) == 4


# --- consensus ------------------------------------------------------------------------------


def test_the_weighted_median_is_the_lower_median_by_stake() -> None:
    assert mlwork.compute_weighted_median([(10, 1), (20, 1), (30, 1)]) == 20
    assert mlwork.compute_weighted_median([(10, 1), (20, 1)]) == 10  # the lower of two halves
    assert mlwork.compute_weighted_median([(10, 1), (20, 3)]) == 20
    assert mlwork.compute_weighted_median([(30, 5), (10, 2), (20, 2)]) == 30
    with pytest.raises(ValueError):
        mlwork.compute_weighted_median([])


@given(st.lists(st.tuples(VALUES, WEIGHTS), min_size=1, max_size=20))
def test_the_median_splits_the_stake_in_halves(entries: list[tuple[int, int]]) -> None:
    median = mlwork.compute_weighted_median(entries)
    total = sum(weight for _, weight in entries)
    assert median in {value for value, _ in entries}
    assert 2 * sum(w for v, w in entries if v <= median) >= total
    assert 2 * sum(w for v, w in entries if v < median) < total


@given(
    st.lists(st.tuples(st.integers(-100, 100), WEIGHTS), min_size=1, max_size=10),
    st.lists(st.tuples(VALUES, WEIGHTS), max_size=10),
)
def test_a_minority_of_stake_cannot_move_the_median_outside_the_honest_values(
    honest: list[tuple[int, int]], colluders: list[tuple[int, int]]
) -> None:
    """Whatever colluders holding less than half of the stake report, the median stays within
    the range of the honest values."""
    honest_stake = sum(weight for _, weight in honest)
    colluders = [(value, weight) for value, weight in colluders]
    while colluders and 2 * sum(w for _, w in colluders) >= honest_stake + sum(w for _, w in colluders):
        colluders.pop()
    median = mlwork.compute_weighted_median(honest + colluders)
    assert min(v for v, _ in honest) <= median <= max(v for v, _ in honest)


def test_consensus_clips_outliers_and_closeness_shrinks_with_distance() -> None:
    consensus = mlwork.compute_consensus([(80, 1), (82, 1), (81, 1), (200, 1)], clip_band=10)
    assert consensus.median == 81
    assert consensus.distances == (1, 1, 0, 119)
    assert consensus.clipped == (False, False, False, True)
    assert mlwork.compute_closeness_parts(0, 10) == ONE
    assert mlwork.compute_closeness_parts(1, 10) == 900_000_000
    assert mlwork.compute_closeness_parts(10, 10) == 0
    assert mlwork.compute_closeness_parts(11, 10) == 0
    assert mlwork.compute_closeness_parts(0, 0) == ONE


def test_ranking_follows_the_direction_and_ties_go_to_the_earliest_commit() -> None:
    entries = [("late", 90, 5), ("early", 90, 2), ("low", 10, 0)]
    assert mlwork.compute_ranking(entries, higher_is_better=True) == ["early", "late", "low"]
    assert mlwork.compute_ranking(entries, higher_is_better=False) == ["low", "early", "late"]


# --- rewards --------------------------------------------------------------------------------


def test_the_evaluators_part_is_flocks_gamma_formula() -> None:
    gamma = ONE // 10
    assert mlwork.compute_evaluator_part(1_000, gamma, 1, 1) == 500  # 0.1 + 0.8 × 1/2
    assert mlwork.compute_evaluator_part(1_000, gamma, 1, 0) == 100  # no evaluator stake: γ
    assert mlwork.compute_evaluator_part(1_000, gamma, 0, 1) == 900  # no trainer stake: 1 − γ
    assert mlwork.compute_evaluator_part(1_000, gamma, 0, 0) == 0
    assert mlwork.compute_evaluator_part(111_000, gamma, 70_000, 60_000) == 52_084


@given(st.integers(0, 10**18), st.integers(0, ONE // 2), st.integers(0, 10**15), st.integers(0, 10**15))
def test_the_evaluators_part_stays_between_gamma_and_one_minus_gamma(
    reward: int, gamma: int, trainers: int, evaluators: int
) -> None:
    part = mlwork.compute_evaluator_part(reward, gamma, trainers, evaluators)
    if trainers + evaluators:
        assert reward * gamma // ONE <= part <= reward - reward * gamma // ONE


def test_a_trainers_weight_halves_with_each_rank() -> None:
    rho = ONE // 2
    assert [mlwork.compute_rank_weight(rho, rank, 1_000) for rank in (1, 2, 3)] == [
        ONE * 1_000,
        ONE // 2 * 1_000,
        ONE // 4 * 1_000,
    ]


@given(st.integers(0, 10**18), st.lists(st.integers(0, 10**15), max_size=12))
def test_pro_rata_never_pays_more_than_there_is(amount: int, weights: list[int]) -> None:
    parts = mlwork.compute_pro_rata(amount, list(enumerate(weights)))
    assert sum(part for _, part in parts) <= amount
    if sum(weights):
        assert amount - sum(part for _, part in parts) < len(weights)  # floors lose less than a unit each


@given(
    st.integers(0, 10**15),
    st.integers(0, ONE),
    st.integers(1, 10**12),
    st.lists(st.integers(1, 10**12), max_size=8),
)
def test_a_delegates_split_pays_its_share_first_and_never_more_than_its_reward(
    amount: int, share: int, own: int, delegated: list[int]
) -> None:
    delegations = [(bytes([n + 1]) * 32, value) for n, value in enumerate(delegated)]
    split = mlwork.compute_backed_split(amount, share, (bytes(32), own), delegations)
    assert split[0][0] == bytes(32)
    assert sum(part for _, part in split) <= amount
    if not delegations:
        assert split == [(bytes(32), amount)]
    else:
        assert split[0][1] >= share * amount // ONE


def test_a_penalty_splits_between_the_pool_and_the_reporter() -> None:
    assert mlwork.compute_penalty_split(1_000, ONE // 10) == (900, 100)
    assert mlwork.compute_penalty_split(999, ONE // 10) == (900, 99)
    assert mlwork.compute_round_reward(1_000, 3) == 333
    assert mlwork.compute_round_reward(1_000, 0) == 0


# --- the schedule ---------------------------------------------------------------------------


def test_a_round_runs_through_its_phases_in_order() -> None:
    schedule = Schedule(start=10, rounds=2, round_blocks=9, commit_blocks=2, reveal_blocks=2)
    assert mlwork.compute_min_round_blocks(2, 2) == 9
    phases = [mlwork.compute_round_phase(schedule, now) for now in range(9, 29)]
    assert phases == [
        None,
        *((0, phase) for phase in (PHASE_COMMIT,) * 2 + (PHASE_REVEAL,) * 2 + (PHASE_ATTEST,) * 2),
        *((0, phase) for phase in (PHASE_ATTEST_REVEAL,) * 2 + (PHASE_CLOSING,)),
        *((1, phase) for phase in (PHASE_COMMIT,) * 2 + (PHASE_REVEAL,) * 2 + (PHASE_ATTEST,) * 2),
        *((1, phase) for phase in (PHASE_ATTEST_REVEAL,) * 2 + (PHASE_CLOSING,)),
        None,
    ]
    assert mlwork.compute_round_end(schedule, 0) == 18 and mlwork.compute_round_start(schedule, 1) == 19

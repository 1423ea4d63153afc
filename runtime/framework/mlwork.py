"""ML work on chain: the records and the pure arithmetic both ML markets share (AI Arena,
``runtime/pallets/arena.py``; FL Alliance, ``runtime/pallets/alliance.py``).

The chain checks ML work cheaply: hashes, signatures, VRF proofs and integers only. Heavy work
(training, evaluation, replays of spot-checked trace segments) runs in workers off chain; what
reaches the chain is fixed here:

* **ML work proofs** (:class:`MlWorkProof`): a worker's claim about one piece of training, with
  the roots of the blobs behind it (kept off chain), signed under ``DOMAIN_ML_WORK``
  (:func:`sign_work_proof`, :func:`verify_work_proof`). A proof names its market, task, round
  and slot, so one signature never counts in another place, and two different proofs signed
  for one slot are an equivocation anyone may prove.
* **Commitments** (:func:`compute_commitment`): ``H(worker ‖ payload ‖ salt)``. Work, scores and
  spot-check distances are committed first and revealed later; the worker's account in the hash
  stops anyone from copying another's commitment and then its reveal.
* **VRF sortition** (:func:`compute_vrf_input`, :func:`verify_vrf_value`): every role a worker
  claims (proposer or voter, evaluator of a submission, checker of a trace segment) is the
  worker's own ECVRF proof over ``(market, purpose, round seed, task, round, subject)`` under its
  account key (an account id is a valid VRF public key: the same ed25519 seed makes both). The
  output's first 8 bytes, big-endian, are a number ``v`` in ``[0, 2^64)``; a role is given when
  ``v`` is below a threshold: ``2^64 × ratio`` for a fixed ratio, or
  ``2^64 × expected × stake / total`` for a committee of ``expected`` members drawn by stake
  (:func:`compute_sortition_threshold`; rounded down, so never more than the exact share).
* **Consensus** (:func:`compute_consensus`): the stake-weighted median of the revealed values
  (the lower median: the smallest value at which the stake at or below it reaches half the
  total); a value farther from it than the clip band is an outlier and earns nothing, and a
  value within the band earns ``closeness = (band − distance) / band`` (Perbill, rounded down).
* **Rewards**: the evaluators' part of a reward (FLock's γ formula), a trainer's weight
  ``ρ^(rank−1) × stake``, pro rata splits and a delegate's cut; every division rounds down, so
  what is paid never exceeds what there is and the rest stays where it was.

Fixed point: metrics, scores and distances are signed integers in units of 10^-9
(``METRIC_ONE`` is 1.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from runtime.accounts import compute_module_account
from runtime.errors import InvalidKey, InvalidVrfProof
from runtime.primitives import vrf
from runtime.primitives.arithmetic import PERBILL_ACCURACY, Perbill, compute_multiply_divide_floor
from runtime.primitives.codec import (
    I64,
    U8,
    U16,
    U32,
    AccountId,
    Balance,
    Boolean,
    FixedBytes,
    Hash32,
    ListOf,
    Record,
    Signature64,
    record,
)
from runtime.primitives.hashing import tagged_hash
from runtime.primitives.keys import DOMAIN_ML_WORK, Keypair, verify

K = TypeVar("K")

# --- constants ------------------------------------------------------------------------------

MARKET_ARENA = 0
MARKET_ALLIANCE = 1

METRIC_ONE = 10**9  # fixed point: 1.0

# What a VRF proof claims (part of its input).
PURPOSE_ROLE = 0  # FL: proposer or voter this round
PURPOSE_COMMITTEE = 1  # arena: evaluator of a submission
PURPOSE_CHECK = 2  # both: checker of a submission's trace segment

# What an attested value is.
KIND_SCORE = 0  # a score (arena: a submission on held-out data; FL: the round's aggregate)
KIND_DISTANCE = 1  # a spot check: relative L2 distance of the checker's replay

AGGREGATE_SUBJECT = 0xFFFF  # FL: the subject of a voter's score, the round's aggregate
ATTESTATION_OFFENCE_SUBJECT = 1 << 16  # an offence's subject when it is about an attestation

# The phases of a round, by the block's offset in it (C commit blocks, R reveal blocks):
# [0, C) work commits, [C, C+R) work reveals, [C+R, 2C+R) attestation commits,
# [2C+R, 2C+2R) attestation reveals, [2C+2R, round end) closing.
PHASE_COMMIT = 0
PHASE_REVEAL = 1
PHASE_ATTEST = 2
PHASE_ATTEST_REVEAL = 3
PHASE_CLOSING = 4

MAX_CLAIMS = 64  # attested items per worker and round
MAX_CHUNK_SIZE = 16 * 1024  # bytes of one chunk of a model blob (what a challenge answer carries)
MAX_PROOF_DEPTH = 32  # sibling hashes of a chunk's Merkle proof (up to 2^32 chunks)
VRF_RANGE = 1 << 64

TAG_ML_COMMIT = b"flock/ml-commit"
TAG_ML_DATA = b"flock/ml-data"
TAG_ML_VRF = b"flock/ml-vrf"
TAG_ML_SPOT = b"flock/ml-spot"
TAG_ML_CHALLENGE = b"flock/ml-chall"
TAG_ML_AGGREGATE = b"flock/ml-agg"
TAG_ML_CHECK_SEED = b"flock/ml-check"

VrfProof = Annotated[bytes, FixedBytes(vrf.PROOF_SIZE)]

# --- records ----------------------------------------------------------------------------------


@record
class MlWorkProof(Record):
    """One piece of training work (DESIGN §11): the blobs live off chain, the chain keeps roots.

    ``update_root`` is the Merkle root (``runtime/primitives/merkle.py``) over the
    ``update_chunks`` fixed-size chunks of the serialized tensors, sorted by name;
    ``trace_root`` the Merkle root over every ``checkpoint_interval``-th checkpoint (step,
    weights root, optimizer root, batch indices hash, rng state); ``claimed_metric`` is fixed
    point (``METRIC_ONE``).
    """

    market: U8  # MARKET_*
    task: U32
    round: U32
    worker: AccountId
    slot: U8  # which of the worker's submissions in the round (arena); 0 in FL
    parent_model_root: Hash32
    update_root: Hash32
    update_chunks: U32
    data_commitment: Hash32
    trace_root: Hash32
    steps: U32
    checkpoint_interval: U32
    claimed_metric: I64


@record
class SignedMlWorkProof(Record):
    proof: MlWorkProof
    signature: Signature64  # by proof.worker under DOMAIN_ML_WORK


@record
class ClaimedItem(Record):
    """An item a worker attests in a round: a score or a spot-check distance of a subject."""

    subject: U16  # a submission's index in its round, or AGGREGATE_SUBJECT
    kind: U8  # KIND_*


@record
class Claim(Record):
    """A claimed item with the VRF proof that gives the worker its role for it."""

    subject: U16
    kind: U8
    vrf_proof: VrfProof


@record
class AttestationPayload(Record):
    """What an attestation commitment hides: the values of the claimed items, in their order
    (and, in FL, the root of the aggregate the voter scored)."""

    market: U8
    task: U32
    round: U32
    items: Annotated[tuple, ListOf(ClaimedItem, MAX_CLAIMS)]
    values: Annotated[tuple, ListOf(I64, MAX_CLAIMS)]
    aggregate_root: Hash32


@record
class Schedule(Record):
    """When a task's rounds run: round ``r`` covers blocks ``[start + r·L, start + (r+1)·L)``;
    the windows are the market's parameters when the task was created (later changes do not
    move a running task)."""

    start: U32
    rounds: U32
    round_blocks: U32  # L
    commit_blocks: U32  # C
    reveal_blocks: U32  # R


@record
class TaskRound(Record):
    """A round of a task: the key of per-round storage."""

    task: U32
    round: U32


@record
class TaskAccount(Record):
    """An account in a task: the key of per-task, per-account storage."""

    task: U32
    who: AccountId


@record
class Challenge(Record):
    """A data-availability challenge: the worker must serve chunk ``chunk`` of the subject's
    update, with its Merkle proof under the update root, by block ``deadline``."""

    challenger: AccountId
    subject: U16
    chunk: U32
    deadline: U32
    deposit: Balance  # held from the challenger: the worker's if it answers, returned if not
    answered: Boolean


@record
class Payout(Record):
    """An amount paid to (or taken from) an account."""

    who: AccountId
    amount: Balance


# --- work proofs and commitments -----------------------------------------------------------


def sign_work_proof(keypair: Keypair, proof: MlWorkProof, genesis_hash: bytes) -> SignedMlWorkProof:
    """The worker's signature over its proof (what ``mlworker`` does; tests use it too)."""
    return SignedMlWorkProof(proof, keypair.sign(DOMAIN_ML_WORK, genesis_hash, proof.encode()))


def verify_work_proof(signed: SignedMlWorkProof, genesis_hash: bytes) -> None:
    """Raises InvalidKey or InvalidSignature unless ``signed.proof.worker`` signed it."""
    verify(signed.proof.worker, DOMAIN_ML_WORK, genesis_hash, signed.proof.encode(), signed.signature)


def compute_commitment(who: bytes, payload: bytes, salt: bytes) -> bytes:
    """``H(who ‖ payload ‖ salt)``: what a worker commits before it reveals ``payload``."""
    return tagged_hash(TAG_ML_COMMIT, who + payload + salt)


def compute_data_commitment(data_root: bytes, salt: bytes) -> bytes:
    """A task creator's commitment to a held-out evaluation set: ``H(data root ‖ salt)``."""
    return tagged_hash(TAG_ML_DATA, data_root + salt)


def compute_task_account(market: bytes, task: int) -> bytes:
    """The module account that holds a task's reward pool."""
    return compute_module_account(market + b"/task/" + task.to_bytes(4, "big"))


# --- schedules ------------------------------------------------------------------------------


def compute_min_round_blocks(commit_blocks: int, reveal_blocks: int) -> int:
    """The shortest round: two commit and two reveal windows and one closing block."""
    return 2 * (commit_blocks + reveal_blocks) + 1


def compute_round_start(schedule: Schedule, round_: int) -> int:
    return schedule.start + round_ * schedule.round_blocks


def compute_round_end(schedule: Schedule, round_: int) -> int:
    """The round's last block: it closes in that block's finalization if nobody closed it."""
    return compute_round_start(schedule, round_ + 1) - 1


def compute_round_phase(schedule: Schedule, now: int) -> tuple[int, int] | None:
    """``(round, PHASE_*)`` of block ``now``; None before the first round or after the last."""
    if now < schedule.start:
        return None
    round_, offset = divmod(now - schedule.start, schedule.round_blocks)
    if round_ >= schedule.rounds:
        return None
    commit, reveal = schedule.commit_blocks, schedule.reveal_blocks
    bounds = (commit, commit + reveal, 2 * commit + reveal, 2 * (commit + reveal))
    return round_, next((phase for phase, bound in enumerate(bounds) if offset < bound), PHASE_CLOSING)


# --- VRF sortition ----------------------------------------------------------------------------


def compute_vrf_input(market: int, purpose: int, seed: bytes, task: int, round_: int, subject: int) -> bytes:
    """The VRF input ``alpha`` of one role: its market, purpose, the round's seed (the epoch
    randomness when the round began), task, round and subject."""
    fields = bytes([market, purpose]) + seed + task.to_bytes(4, "big") + round_.to_bytes(4, "big")
    return tagged_hash(TAG_ML_VRF, fields + subject.to_bytes(4, "big"))


def compute_vrf_value(output: bytes) -> int:
    """The number in ``[0, 2^64)`` a VRF output draws: its first 8 bytes, big-endian."""
    return int.from_bytes(output[:8], "big")


def verify_vrf_value(who: bytes, alpha: bytes, proof: bytes) -> int:
    """The value ``who``'s proof draws for ``alpha``; raises InvalidKey or InvalidVrfProof."""
    return compute_vrf_value(vrf.verify(who, alpha, proof))


def prove_vrf_value(seed: bytes, alpha: bytes) -> tuple[bytes, int]:
    """A worker's proof for ``alpha`` and the value it draws (workers and tests)."""
    proof = vrf.prove(seed, alpha)
    return proof, compute_vrf_value(vrf.proof_to_hash(proof))


def compute_ratio_threshold(ratio_parts: int) -> int:
    """``floor(2^64 × ratio)``: a value below it wins a role given with probability ``ratio``."""
    return compute_multiply_divide_floor(VRF_RANGE, ratio_parts, PERBILL_ACCURACY)


def compute_sortition_threshold(expected: int, stake: int, total_stake: int) -> int:
    """``min(2^64, floor(2^64 × expected × stake / total))``: a committee of ``expected``
    members on average, each member in with a chance proportional to its stake (certain once
    its share reaches ``1 / expected``)."""
    if total_stake == 0:
        return 0
    return min(VRF_RANGE, compute_multiply_divide_floor(VRF_RANGE, expected * stake, total_stake))


def is_seat_given(who: bytes, alpha: bytes, proof: bytes, expected: int, stake: int, total_stake: int) -> bool:
    """Whether ``who``'s VRF proof for ``alpha`` verifies and draws it a seat of a committee of
    ``expected`` by its ``stake`` of ``total_stake`` (:func:`compute_sortition_threshold`)."""
    try:
        value = verify_vrf_value(who, alpha, proof)
    except (InvalidKey, InvalidVrfProof):
        return False
    return value < compute_sortition_threshold(expected, stake, total_stake)


def compute_round_draw(tag: bytes, market: int, seed: bytes, task: int, round_: int, subject: int) -> bytes:
    """A public draw for one subject of a round (no one's VRF: anyone computes it)."""
    fields = bytes([market]) + seed + task.to_bytes(4, "big") + round_.to_bytes(4, "big")
    return tagged_hash(tag, fields + subject.to_bytes(4, "big"))


def compute_check_seed(round_seed: bytes, parent_hash: bytes) -> bytes:
    """The seed of a round's spot checks: the round's seed and the parent hash of the round's
    first reveal block. The round's seed is known from its first block, before the commits; with
    it alone a worker would know when it commits whether its work is checked, and which segment
    (it would train that one honestly and fake the rest)."""
    return tagged_hash(TAG_ML_CHECK_SEED, round_seed + parent_hash)


def is_spot_checked(seed: bytes, market: int, task: int, round_: int, subject: int, rate_parts: int) -> bool:
    """Whether the round's check seed picks ``subject`` for a spot check (probability ``rate``)."""
    draw = compute_round_draw(TAG_ML_SPOT, market, seed, task, round_, subject)
    return compute_vrf_value(draw) < compute_ratio_threshold(rate_parts)


def compute_spot_segment(seed: bytes, market: int, task: int, round_: int, subject: int, proof: MlWorkProof) -> int:
    """The trace segment a spot check replays: steps ``[i·k, (i+1)·k)`` from checkpoint ``i``,
    ``i`` drawn from the round's check seed among the ``max(1, steps div k)`` segments."""
    segments = max(1, proof.steps // max(1, proof.checkpoint_interval))
    draw = compute_round_draw(TAG_ML_SPOT, market, seed, task, round_, subject)
    return int.from_bytes(draw[8:16], "big") % segments


def compute_challenge_chunk(parent_hash: bytes, market: int, task: int, round_: int, subject: int, chunks: int) -> int:
    """The chunk a data challenge asks for: drawn from the challenge block's parent hash, which
    the worker could not know when it committed."""
    draw = compute_round_draw(TAG_ML_CHALLENGE, market, parent_hash, task, round_, subject)
    return compute_vrf_value(draw) % max(1, chunks)


def compute_aggregate_id(global_root: bytes, update_roots: Sequence[bytes]) -> bytes:
    """The id of an FL round's aggregate: the global model it starts from and the revealed
    updates, in the order of their proposers' accounts. Every voter aggregates exactly these."""
    return tagged_hash(TAG_ML_AGGREGATE, global_root + b"".join(update_roots))


# --- consensus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consensus:
    """The stake-weighted median of some values and how far each value lies from it."""

    median: int
    distances: tuple[int, ...]  # |value − median|, in the order of the input
    clipped: tuple[bool, ...]  # distance above the clip band: an outlier


def compute_weighted_median(entries: Sequence[tuple[int, int]]) -> int:
    """The lower stake-weighted median of ``(value, weight)`` pairs (weights positive, at least
    one entry): the smallest value at which the weight at or below it is half the total."""
    total = sum(weight for _, weight in entries)
    if not entries or total == 0:
        raise ValueError("a median needs at least one entry with weight")
    below = 0
    for value, weight in sorted(entries):
        below += weight
        if 2 * below >= total:
            return value
    raise AssertionError("unreachable: the weights add up to the total")


def compute_consensus(entries: Sequence[tuple[int, int]], clip_band: int) -> Consensus:
    """The weighted median of ``(value, weight)`` pairs; values farther than ``clip_band`` from
    it are clipped (Yuma-style: outliers count for nothing)."""
    median = compute_weighted_median(entries)
    distances = tuple(abs(value - median) for value, _ in entries)
    return Consensus(median, distances, tuple(distance > clip_band for distance in distances))


def compute_closeness_parts(distance: int, clip_band: int) -> int:
    """``floor(10^9 × (band − distance) / band)``: 10^9 at the consensus, 0 at the band's edge
    and beyond (a zero band: 10^9 only at the consensus)."""
    if distance > clip_band:
        return 0
    if clip_band == 0:
        return PERBILL_ACCURACY
    return compute_multiply_divide_floor(PERBILL_ACCURACY, clip_band - distance, clip_band)


def compute_ranking(entries: Sequence[tuple[K, int, int]], higher_is_better: bool) -> list[K]:
    """``(key, score, commit order)`` entries best first: by score in the task's direction, ties
    to the earliest commit."""
    return [key for key, _, _ in sorted(entries, key=lambda e: (-e[1] if higher_is_better else e[1], e[2]))]


# --- rewards ----------------------------------------------------------------------------------


def compute_evaluator_part(reward: int, gamma_parts: int, trainer_stake: int, evaluator_stake: int) -> int:
    """FLock's evaluators' part of a task reward ``R·(γ + (1 − 2γ)·Σs / (Σt + Σs))``, as one
    division rounded down: ``floor(R × (γ·(Σt+Σs) + (1−2γ)·Σs) / (10^9 × (Σt+Σs)))`` with γ in
    parts per 10^9 (at most half). The trainers get the rest."""
    total = trainer_stake + evaluator_stake
    if total == 0:
        return 0
    numerator = gamma_parts * total + (PERBILL_ACCURACY - 2 * gamma_parts) * evaluator_stake
    return compute_multiply_divide_floor(reward, numerator, PERBILL_ACCURACY * total)


def compute_rank_weight(rho_parts: int, rank: int, stake: int) -> int:
    """A trainer's weight ``ρ^(rank−1) × stake`` (``ρ^(rank−1)`` in parts per 10^9, rounded
    down after every multiplication: ``Perbill.pow_floor``)."""
    return Perbill(rho_parts).pow_floor(rank - 1).parts * stake


def compute_pro_rata(amount: int, weights: Sequence[tuple[K, int]]) -> list[tuple[K, int]]:
    """``floor(amount × w / Σw)`` for each ``(key, w)``; nothing when the weights are all 0."""
    total = sum(weight for _, weight in weights)
    if total == 0:
        return [(key, 0) for key, _ in weights]
    return [(key, compute_multiply_divide_floor(amount, weight, total)) for key, weight in weights]


def compute_backed_split(
    amount: int, share_parts: int, own: tuple[bytes, int], delegations: Sequence[tuple[bytes, int]]
) -> list[tuple[bytes, int]]:
    """A delegate's reward among those behind it, as staking pays a validator: with
    delegators, the delegate first takes its share ``floor(σ × amount)``, and the rest is shared
    pro rata to the stakes behind it (its own included), rounded down. The delegate first."""
    if not delegations:
        return [(own[0], amount)]
    cut = Perbill(share_parts).mul_floor(amount)
    shares = compute_pro_rata(amount - cut, [own, *delegations])
    return [(own[0], cut + shares[0][1]), *shares[1:]]


def compute_penalty_split(amount: int, reporter_parts: int) -> tuple[int, int]:
    """``(to the task's pool, to the reporter)`` of a penalty: the reporter gets
    ``floor(reporter share × amount)``, the pool the rest."""
    to_reporter = Perbill(reporter_parts).mul_floor(amount)
    return amount - to_reporter, to_reporter


def compute_round_reward(available: int, rounds_left: int) -> int:
    """What a round pays: ``floor(pool / rounds left)`` (this round included)."""
    return available // rounds_left if rounds_left else 0

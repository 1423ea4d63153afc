"""The one door into the runtime (Substrate's runtime APIs): what the node, consensus, RPC and CLI
may ask of it, as pure functions over a state reader, and the extrinsics a node builds itself.

Nothing outside ``runtime/`` imports a pallet; it asks here (``tests/test_architecture.py``
enforces it). Blocks are executed and transactions validated by the executive
(``runtime/executive.py``, Substrate's ``Core``, ``BlockBuilder`` and ``TaggedTransactionQueue``
APIs); everything else a client needs to know of the runtime's shape (calls, events, errors,
storage items and their keys) is in its metadata (``get_metadata``).

Answers are plain frozen records, never a pallet's storage types, so a pallet may change how it
stores something without a change outside ``runtime/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from runtime.abc import StateReader
from runtime.accounts import CONSENSUS_REWARD_POOL_ACCOUNT, EMISSION_RESERVE_ACCOUNT
from runtime.block import (
    Header,
    Justification,
    SignedFinalityVote,
    UnsignedExtrinsic,
    decode_extrinsic,
    encode_extrinsic,
)
from runtime.construct import RUNTIME_VERSION, RuntimeVersion, construct_runtime
from runtime.errors import EncodingError, MalformedTransaction, UnprovableRead
from runtime.framework.metadata import build_metadata, compute_metadata_hash, encode_metadata_json
from runtime.framework.mlwork import MlWorkProof, TaskRound
from runtime.framework.runtime import Runtime
from runtime.pallets import (
    alliance,
    arena,
    balances,
    emission,
    finality,
    governance,
    offences,
    session,
    staking,
    system,
    timestamp,
    transaction_payment,
)
from runtime.primitives.codec import decode_value

# The composed runtime the answers below come from (pallets keep no state of their own, so any
# instance answers alike; the node executes blocks with its own from ``construct_runtime``).
RUNTIME: Runtime = construct_runtime()
_FINALITY: finality.Finality = RUNTIME.pallet(finality.NAME)  # type: ignore[assignment]

OFFENCE_BLOCK_EQUIVOCATION = offences.KIND_BLOCK_EQUIVOCATION
OFFENCE_VOTE_EQUIVOCATION = offences.KIND_VOTE_EQUIVOCATION
OFFENCE_UNRESPONSIVENESS = offences.KIND_UNRESPONSIVENESS

PROPOSAL_STATUS_NAMES = {
    governance.STATUS_FLAGGING: "flagging",
    governance.STATUS_VOTING: "voting",
    governance.STATUS_APPROVED: "approved",
}


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BabeAuthority:
    signing_key: bytes  # ed25519: seals the blocks (``Header.author``) and signs finality votes
    vrf_key: bytes
    weight: int  # the slot lottery's stake and the finality vote's weight


@dataclass(frozen=True)
class BabeEpoch:
    """What the slot lottery of the children of a block needs (Substrate's ``BabeApi``)."""

    index: int
    randomness: bytes
    authorities: tuple[BabeAuthority, ...]
    primary_probability: tuple[int, int]  # BABE's c as (numerator, denominator)
    slot_duration_ms: int


@dataclass(frozen=True)
class FinalityAuthorities:
    """The voters that finalize the children of a block (Substrate's ``GrandpaApi``)."""

    set_id: int
    voters: tuple[tuple[bytes, int], ...]  # (signing key, weight), in slot order


@dataclass(frozen=True)
class AccountView:
    nonce: int
    free: int
    reserved: int  # everything not free, holds included
    held: int  # the part of ``reserved`` under named holds
    frozen: int  # the largest lock on ``free``


@dataclass(frozen=True)
class RecordedOffence:
    kind: int  # OFFENCE_*
    offender: bytes
    era: int


@dataclass(frozen=True)
class GovernanceKeys:
    """Storage keys a governance listing proves: the parameters, the next proposal id and the
    index of open proposals (a proof of the index proves a listing complete)."""

    parameters: bytes
    next_proposal_id: bytes
    open_proposal_ids: bytes


@dataclass(frozen=True)
class ProposalView:
    id: int
    storage_key: bytes  # where its record lies, for a state proof
    proposer: bytes
    call: bytes
    call_name: str  # ``pallet.call``, or "undecodable"
    description_hash: bytes
    stake: int
    submitted_at: int
    status: str  # "flagging", "voting" or "approved"
    deadline: int
    flag_weight: int
    aye: int
    nay: int
    abstain: int


# --- proving what a read read ---------------------------------------------------------------

T = TypeVar("T")


class _RecordingReader(StateReader):
    """A state reader that remembers every key read, and refuses scans."""

    __slots__ = ("_state", "keys")

    def __init__(self, state: StateReader) -> None:
        self._state = state
        self.keys: dict[bytes, None] = {}  # in first-read order

    def get(self, key: bytes) -> bytes | None:
        self.keys[key] = None
        return self._state.get(key)

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        raise UnprovableRead(f"the read scans storage under 0x{prefix.hex()}")


def record_reads(state: StateReader, read: Callable[[StateReader], T]) -> tuple[T, tuple[bytes, ...]]:
    """``read(state)``'s answer and every storage key it read, in the order first read.

    A proof of each of those keys (present or absent) lets a client run the same read over the
    proven values and get the same answer: a listing read from the index its pallet keeps is
    then proven complete. A read that scans storage raises :class:`UnprovableRead`.
    """
    recorder = _RecordingReader(state)
    answer = read(recorder)
    return answer, tuple(recorder.keys)


# --- version --------------------------------------------------------------------------------


def get_runtime_version() -> RuntimeVersion:
    return RUNTIME_VERSION


# --- consensus ------------------------------------------------------------------------------


def get_babe_epoch(state: StateReader) -> BabeEpoch:
    """The epoch of the children of the block whose post-state is ``state``."""
    numerator, denominator = session.get_primary_probability(state)
    authorities = tuple(
        BabeAuthority(authority.signing, authority.vrf, authority.weight)
        for authority in _FINALITY.get_authority_weights(state)
    )
    return BabeEpoch(
        session.get_current_epoch(state),
        session.get_randomness(state),
        authorities,
        (numerator, denominator),
        timestamp.get_slot_duration_ms(state),
    )


def get_finality_set_id(state: StateReader) -> int:
    """The authority set id after the block whose post-state is ``state``."""
    return session.get_set_id(state)


def get_finality_authorities(state: StateReader) -> FinalityAuthorities:
    """The weighted voters that finalize the children of the block with post-state ``state``."""
    voters = tuple((authority.signing, authority.weight) for authority in _FINALITY.get_authority_weights(state))
    return FinalityAuthorities(session.get_set_id(state), voters)


def get_last_noted_finality(state: StateReader) -> int:
    """The number of the last block whose justification this chain's blocks carried."""
    return finality.get_last_noted(state)


def build_timestamp_inherent(now_ms: int) -> bytes:
    """The encoded timestamp inherent every block starts with."""
    return _encode_unsigned(timestamp.SetArgs(now_ms))


def build_finality_note(justification: Justification) -> bytes:
    """The encoded unsigned ``note_finality`` an author puts in its block."""
    return _encode_unsigned(finality.NoteFinalityArgs(justification))


def build_block_equivocation_report(first: Header, second: Header) -> bytes:
    """The encoded unsigned report of two headers one author sealed for one slot."""
    evidence = offences.BlockEquivocation(first, second)
    return _encode_unsigned(offences.ReportEquivocationUnsignedArgs(evidence))


def build_vote_equivocation_report(first: SignedFinalityVote, second: SignedFinalityVote) -> bytes:
    """The encoded unsigned report of two votes one voter signed for one (set, round, stage)."""
    evidence = offences.VoteEquivocation(first, second)
    return _encode_unsigned(offences.ReportEquivocationUnsignedArgs(evidence))


def get_recorded_offences(state: StateReader) -> list[RecordedOffence]:
    """Every offence recorded on chain (not on the block-execution path: it lists a map)."""
    return [RecordedOffence(offence.kind, offence.offender, era) for offence, era in offences.iter_reports(state)]


def _encode_unsigned(args: Any) -> bytes:
    return encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(args)))


# --- accounts and tokens --------------------------------------------------------------------


def get_account(state: StateReader, who: bytes) -> AccountView:
    info = system.get_account(state, who)
    return AccountView(info.nonce, info.free, info.reserved, balances.get_total_held(state, who), info.frozen)


def get_fee_budget(state: StateReader, who: bytes) -> int:
    """What ``who`` can pay in fees and tips on ``state`` and stay alive: the most that the
    fee payment's keep-alive withdrawal would allow (the pool checks a sender's pooled fees
    against it together, not one transaction at a time)."""
    info = system.get_account(state, who)
    return max(0, min(balances.compute_usable(info), info.total - balances.get_existential_deposit(state)))


def get_total_issuance(state: StateReader) -> int:
    return balances.get_total_issuance(state)


# --- governance -----------------------------------------------------------------------------


GOVERNANCE_KEYS = GovernanceKeys(
    governance.PARAMETERS.storage.key, governance.NextProposalId.key, governance.OpenProposalIds.key
)


def decode_open_proposal_ids(raw: bytes | None) -> tuple[int, ...]:
    """The open proposal ids from the index's storage entry (None: absent, so none)."""
    return () if raw is None else governance.decode_open_proposal_ids(raw)


def decode_next_proposal_id(raw: bytes | None) -> int:
    return 0 if raw is None else governance.decode_next_proposal_id(raw)


def get_open_proposal_ids(state: StateReader) -> tuple[int, ...]:
    """The ids of the open proposals, increasing: the index governance keeps, complete."""
    return governance.get_open_proposal_ids(state)


def get_open_proposals(state: StateReader) -> list[ProposalView]:
    """Every open proposal, by id (from the index, so a proof of the index proves the list complete)."""
    return [
        decode_proposal(key, raw)
        for key in map(get_proposal_storage_key, get_open_proposal_ids(state))
        if (raw := state.get(key)) is not None
    ]


def get_proposal_storage_key(proposal_id: int) -> bytes:
    return governance.get_proposal_storage_key(proposal_id)


def decode_proposal(storage_key: bytes, raw: bytes) -> ProposalView:
    """A proposal from its storage entry (as a state proof gives it to a light client)."""
    proposal = governance.decode_proposal(raw)
    return ProposalView(
        id=governance.decode_proposal_id(storage_key),
        storage_key=storage_key,
        proposer=proposal.proposer,
        call=proposal.call,
        call_name=describe_call(proposal.call),
        description_hash=proposal.description_hash,
        stake=proposal.stake,
        submitted_at=proposal.submitted_at,
        status=PROPOSAL_STATUS_NAMES.get(proposal.status, "unknown"),
        deadline=proposal.deadline,
        flag_weight=proposal.flag_weight,
        aye=proposal.aye,
        nay=proposal.nay,
        abstain=proposal.abstain,
    )


def describe_call(call: bytes) -> str:
    """``pallet.call`` of an encoded call, or "undecodable"."""
    try:
        decoded = RUNTIME.decode_call(call)
    except MalformedTransaction:
        return "undecodable"
    return f"{decoded.pallet.NAME}.{decoded.definition.name}"


# --- metadata and fees --------------------------------------------------------------------

DISPATCH_CLASS_NORMAL = "normal"  # a signed transaction: pays its fee
DISPATCH_CLASS_MANDATORY = "mandatory"  # an inherent: the block author's, pays nothing


@dataclass(frozen=True)
class FeeInfo:
    """Substrate's ``RuntimeDispatchInfo`` (``payment_queryInfo``)."""

    weight: int
    dispatch_class: str  # DISPATCH_CLASS_*
    partial_fee: int  # the fee without the tip


def get_metadata() -> dict[str, Any]:
    """The runtime's metadata document (``runtime/framework/metadata.py``); a fresh copy."""
    return json.loads(get_metadata_json())


@cache
def get_metadata_json() -> str:
    """The metadata's canonical JSON text (the runtime cannot change while the process runs)."""
    return encode_metadata_json(build_metadata(RUNTIME, RUNTIME_VERSION))


def get_metadata_hash() -> bytes:
    """blake2b-256 of :func:`get_metadata_json`."""
    return compute_metadata_hash(get_metadata_json())


def compute_fee_info(state: StateReader, encoded_extrinsic: bytes) -> FeeInfo:
    """What ``encoded_extrinsic`` pays in a block after ``state``, computed as the executive
    charges it (its encoded length and its call's weight; the tip comes on top). Its signature,
    nonce and balance are not checked. Raises :class:`MalformedTransaction`."""
    try:
        xt = decode_extrinsic(encoded_extrinsic)
    except EncodingError as exc:
        raise MalformedTransaction(f"extrinsic does not decode: {exc}") from None
    weight = RUNTIME.decode_call(xt.call).definition.weight
    if isinstance(xt, UnsignedExtrinsic):
        return FeeInfo(weight, DISPATCH_CLASS_MANDATORY, 0)
    return FeeInfo(weight, DISPATCH_CLASS_NORMAL, transaction_payment.get_fee(state, len(encoded_extrinsic), weight))


# --- ML markets (AI Arena, FL Alliance) ---------------------------------------------------
#
# Every answer carries the storage key its record lies under, and each record is built by a
# ``decode_*`` function from that key's raw value, so a light client holding a state proof of
# the key builds the same answer: the provenance of a model is task → rounds (results) → global
# model roots → the scores behind them → the rewards they paid, each one a proven key.

MARKET_ARENA = arena.NAME
MARKET_ALLIANCE = alliance.NAME
ML_MARKETS = (MARKET_ARENA, MARKET_ALLIANCE)

_TASK_STATUS_NAMES = {
    MARKET_ARENA: {arena.TASK_ACTIVE: "active", arena.TASK_ENDED: "ended", arena.TASK_ABANDONED: "abandoned"},
    MARKET_ALLIANCE: {
        alliance.TASK_ACTIVE: "active",
        alliance.TASK_ENDED: "ended",
        alliance.TASK_ENDED_EARLY: "ended early",
    },
}
_WORK_STATUS_NAMES = {
    MARKET_ARENA: {
        arena.SUBMISSION_COMMITTED: "committed",
        arena.SUBMISSION_REVEALED: "revealed",
        arena.SUBMISSION_UNREVEALED: "unrevealed",
        arena.SUBMISSION_BAD_REVEAL: "bad reveal",
        arena.SUBMISSION_CONFLICTING: "conflicting",
        arena.SUBMISSION_WITHHELD: "withheld",
        arena.SUBMISSION_FAILED_CHECK: "failed check",
        arena.SUBMISSION_DUPLICATE: "duplicate",
    },
    MARKET_ALLIANCE: {
        alliance.UPDATE_COMMITTED: "committed",
        alliance.UPDATE_REVEALED: "revealed",
        alliance.UPDATE_UNREVEALED: "unrevealed",
        alliance.UPDATE_BAD_REVEAL: "bad reveal",
        alliance.UPDATE_CONFLICTING: "conflicting",
        alliance.UPDATE_WITHHELD: "withheld",
        alliance.UPDATE_FAILED_CHECK: "failed check",
    },
}
_ATTESTATION_STATUS_NAMES = {0: "committed", 1: "revealed", 2: "unrevealed", 3: "bad reveal"}
_OUTCOME_NAMES = {
    MARKET_ARENA: {arena.ROUND_SCORED: "scored", arena.ROUND_ABANDONED: "abandoned"},
    MARKET_ALLIANCE: {
        alliance.ROUND_ACCEPTED: "accepted",
        alliance.ROUND_REJECTED: "rejected",
        alliance.ROUND_MISSED: "missed",
        alliance.ROUND_VOIDED: "voided",
    },
}


@dataclass(frozen=True)
class MlMarketKeys:
    """Storage keys a listing of a market's tasks proves: the parameters, the next task id and
    the index of active tasks (a proof of the index proves a listing of them complete)."""

    parameters: bytes
    next_task_id: bytes
    active_tasks: bytes


@dataclass(frozen=True)
class MlTaskView:
    market: str  # "arena" or "alliance"
    id: int
    storage_key: bytes
    creator: bytes
    account: bytes  # the task's reward pool
    model_root: bytes  # arena: the model spec root; alliance: the model definition root
    initial_model_root: bytes | None  # alliance: where the federation started
    global_model_root: bytes | None  # alliance: the last accepted aggregate
    start: int
    rounds: int
    round_blocks: int
    commit_blocks: int
    reveal_blocks: int
    next_round: int  # the round that closes next
    status: str  # "active", "ended", "abandoned" (arena) or "ended early" (alliance)
    budget: int
    stake_key: bytes  # where the task's total stake lies (what emission weighs it by)


@dataclass(frozen=True)
class MlWorkView:
    """An arena submission or an FL update: a committed and maybe revealed work proof."""

    market: str
    task: int
    round: int
    index: int  # its place in the round (a spot check's or a challenge's subject)
    storage_key: bytes  # the round's list of them
    worker: bytes
    slot: int
    commitment: bytes
    status: str
    proof: MlWorkProof | None


@dataclass(frozen=True)
class MlAttestationView:
    """An evaluator's scores or an FL voter's vote: the claimed items and, once revealed, their
    values (and, for a vote, the root of the aggregate it scored)."""

    market: str
    task: int
    round: int
    storage_key: bytes
    worker: bytes
    items: tuple[tuple[int, int], ...]  # (subject, kind): kind 0 a score, 1 a spot-check distance
    values: tuple[int, ...]
    status: str
    aggregate_root: bytes | None


@dataclass(frozen=True)
class MlScoreView:
    """An arena submission's consensus score and rank once its round closed."""

    subject: int
    status: str
    consensus: int | None
    rank: int  # 0: not its trainer's best, or not ranked


@dataclass(frozen=True)
class MlPayoutView:
    who: bytes
    amount: int


@dataclass(frozen=True)
class MlRoundView:
    """A closed round's result."""

    market: str
    task: int
    round: int
    storage_key: bytes
    outcome: str  # arena "scored"/"abandoned"; alliance "accepted"/"rejected"/"missed"/"voided"
    closed_at: int
    reward: int  # what the round could pay: floor(pool / rounds left)
    scores: tuple[MlScoreView, ...]  # arena
    global_model_root: bytes | None  # alliance: after the round
    aggregate_id: bytes | None  # alliance: the global model and the revealed updates
    median_score: int | None  # alliance
    rewards: tuple[MlPayoutView, ...]
    penalties: tuple[MlPayoutView, ...]


@dataclass(frozen=True)
class MlModelStep:
    """One accepted FL round: the global model root it produced, with the keys that prove it."""

    round: int
    global_model_root: bytes
    storage_key: bytes  # alliance.GlobalModels
    result_key: bytes  # the round's result (its scores' median and its rewards)


def get_ml_market_keys(market: str) -> MlMarketKeys:
    pallet = _ml_pallet_module(market)
    return MlMarketKeys(pallet.PARAMETERS.storage.key, pallet.NextTaskId.key, pallet.ActiveTasks.key)


def get_ml_active_task_ids(state: StateReader, market: str) -> tuple[int, ...]:
    """The market's active tasks, increasing: the index the pallet keeps, complete."""
    return _ml_pallet_module(market).get_active_tasks(state)  # type: ignore[no-any-return]


def get_ml_task_key(market: str, task: int) -> bytes:
    return _ml_pallet_module(market).Tasks.storage_key(task)


def get_ml_task(state: StateReader, market: str, task: int) -> MlTaskView | None:
    key = get_ml_task_key(market, task)
    raw = state.get(key)
    return None if raw is None else decode_ml_task(market, key, raw)


def get_ml_active_tasks(state: StateReader, market: str) -> list[MlTaskView]:
    return [view for task in get_ml_active_task_ids(state, market) if (view := get_ml_task(state, market, task))]


def get_ml_task_stake(state: StateReader, market: str, task: int) -> int:
    """The total stake on a task (what emission weighs it by; 0 once it ended)."""
    return _ml_pallet_module(market).STAKES.get_task_total(state, task)  # type: ignore[no-any-return]


def decode_ml_task(market: str, storage_key: bytes, raw: bytes) -> MlTaskView:
    """A task from its storage entry (as a state proof gives it)."""
    pallet = _ml_pallet_module(market)
    task_id = pallet.Tasks.decode_key(storage_key)
    task = decode_value(pallet.Tasks.value_type, raw)
    is_fl = market == MARKET_ALLIANCE
    schedule = task.schedule
    return MlTaskView(
        market=market,
        id=task_id,
        storage_key=storage_key,
        creator=task.creator,
        account=pallet.get_task_account(task_id),
        model_root=task.model_definition_root if is_fl else task.model_spec_root,
        initial_model_root=task.initial_model_root if is_fl else None,
        global_model_root=task.global_model_root if is_fl else None,
        start=schedule.start,
        rounds=schedule.rounds,
        round_blocks=schedule.round_blocks,
        commit_blocks=schedule.commit_blocks,
        reveal_blocks=schedule.reveal_blocks,
        next_round=task.next_round,
        status=_TASK_STATUS_NAMES[market].get(task.status, "unknown"),
        budget=task.budget,
        stake_key=pallet.STAKES.task_stake.storage_key(task_id),
    )


def get_ml_work_key(market: str, task: int, round_: int) -> bytes:
    """The key of a round's submissions (arena) or updates (alliance)."""
    pallet = _ml_pallet_module(market)
    items = pallet.Submissions if market == MARKET_ARENA else pallet.Updates
    return items.storage_key(TaskRound(task, round_))  # type: ignore[no-any-return]


def get_ml_work(state: StateReader, market: str, task: int, round_: int) -> list[MlWorkView]:
    key = get_ml_work_key(market, task, round_)
    raw = state.get(key)
    return [] if raw is None else decode_ml_work(market, key, raw)


def decode_ml_work(market: str, storage_key: bytes, raw: bytes) -> list[MlWorkView]:
    pallet = _ml_pallet_module(market)
    items = pallet.Submissions if market == MARKET_ARENA else pallet.Updates
    key = items.decode_key(storage_key)
    views = []
    for index, item in enumerate(decode_value(items.value_type, raw)):
        worker = item.trainer if market == MARKET_ARENA else item.proposer
        slot = item.slot if market == MARKET_ARENA else 0
        status = _WORK_STATUS_NAMES[market].get(item.status, "unknown")
        views.append(
            MlWorkView(
                market, key.task, key.round, index, storage_key, worker, slot, item.commitment, status, item.proof
            )
        )
    return views


def get_ml_attestations_key(market: str, task: int, round_: int) -> bytes:
    """The key of a round's evaluators' scores (arena) or voters' votes (alliance)."""
    pallet = _ml_pallet_module(market)
    items = pallet.Attestations if market == MARKET_ARENA else pallet.Votes
    return items.storage_key(TaskRound(task, round_))  # type: ignore[no-any-return]


def get_ml_attestations(state: StateReader, market: str, task: int, round_: int) -> list[MlAttestationView]:
    key = get_ml_attestations_key(market, task, round_)
    raw = state.get(key)
    return [] if raw is None else decode_ml_attestations(market, key, raw)


def decode_ml_attestations(market: str, storage_key: bytes, raw: bytes) -> list[MlAttestationView]:
    pallet = _ml_pallet_module(market)
    items = pallet.Attestations if market == MARKET_ARENA else pallet.Votes
    key = items.decode_key(storage_key)
    views = []
    for item in decode_value(items.value_type, raw):
        is_arena = market == MARKET_ARENA
        views.append(
            MlAttestationView(
                market,
                key.task,
                key.round,
                storage_key,
                item.evaluator if is_arena else item.voter,
                tuple((claimed.subject, claimed.kind) for claimed in item.items),
                tuple(item.values),
                _ATTESTATION_STATUS_NAMES.get(item.status, "unknown"),
                None if is_arena else item.aggregate_root,
            )
        )
    return views


def get_ml_round_key(market: str, task: int, round_: int) -> bytes:
    return _ml_pallet_module(market).RoundResults.storage_key(TaskRound(task, round_))  # type: ignore[no-any-return]


def get_ml_round(state: StateReader, market: str, task: int, round_: int) -> MlRoundView | None:
    """A round's result; None while the round is open."""
    key = get_ml_round_key(market, task, round_)
    raw = state.get(key)
    return None if raw is None else decode_ml_round(market, key, raw)


def decode_ml_round(market: str, storage_key: bytes, raw: bytes) -> MlRoundView:
    pallet = _ml_pallet_module(market)
    key = pallet.RoundResults.decode_key(storage_key)
    result = decode_value(pallet.RoundResults.value_type, raw)
    is_arena = market == MARKET_ARENA
    scores = tuple(
        MlScoreView(score.subject, _WORK_STATUS_NAMES[market].get(score.status, "unknown"), score.consensus, score.rank)
        for score in (result.scores if is_arena else ())
    )
    return MlRoundView(
        market=market,
        task=key.task,
        round=key.round,
        storage_key=storage_key,
        outcome=_OUTCOME_NAMES[market].get(result.outcome, "unknown"),
        closed_at=result.closed_at,
        reward=result.reward,
        scores=scores,
        global_model_root=None if is_arena else result.global_model_root,
        aggregate_id=None if is_arena else result.aggregate_id,
        median_score=None if is_arena else result.median_score,
        rewards=tuple(MlPayoutView(payout.who, payout.amount) for payout in result.rewards),
        penalties=tuple(MlPayoutView(payout.who, payout.amount) for payout in result.penalties),
    )


def get_ml_round_seed(state: StateReader, market: str, task: int, round_: int) -> bytes | None:
    """The seed a round's VRF roles are drawn with (None before the round starts)."""
    return _ml_pallet_module(market).RoundSeeds.get(state, TaskRound(task, round_))  # type: ignore[no-any-return]


def get_ml_check_seed(state: StateReader, market: str, task: int, round_: int) -> bytes | None:
    """The seed a round's spot checks are drawn with, fixed in its first reveal block (None
    before: a worker cannot know at commit time whether or where it will be checked)."""
    return _ml_pallet_module(market).CheckSeeds.get(state, TaskRound(task, round_))  # type: ignore[no-any-return]


def get_model_provenance(state: StateReader, task: int) -> list[MlModelStep]:
    """The global model roots an FL task's accepted rounds produced, in order, with the keys
    that prove each one and the result (scores, rewards) behind it."""
    view = get_ml_task(state, MARKET_ALLIANCE, task)
    if view is None:
        return []
    steps = []
    for round_ in range(view.next_round):
        key = alliance.GlobalModels.storage_key(TaskRound(task, round_))
        raw = state.get(key)
        if raw is not None:
            model_root = decode_value(alliance.GlobalModels.value_type, raw)
            steps.append(MlModelStep(round_, model_root, key, get_ml_round_key(MARKET_ALLIANCE, task, round_)))
    return steps


def _ml_pallet_module(market: str) -> Any:
    if market == MARKET_ARENA:
        return arena
    if market == MARKET_ALLIANCE:
        return alliance
    raise ValueError(f"no ML market is named {market!r} (the markets are {ML_MARKETS})")


# --- staking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackerView:
    who: bytes
    value: int


@dataclass(frozen=True)
class ValidatorView:
    """An elected validator in the current era: its exposure snapshot and its points so far."""

    validator: bytes
    commission_parts: int  # the commission it is paid at this era (Perbill parts)
    total: int  # its backing: its own bond and its delegators' exposed stake
    own: int
    backers: tuple[BackerView, ...]
    reward_points: int  # one per block authored and per finality vote noted, this era


@dataclass(frozen=True)
class StakingView:
    era: int
    total_bonded: int
    validators: tuple[ValidatorView, ...]  # the elected set, in election (slot) order


@dataclass(frozen=True)
class ValidatorReward:
    validator: bytes
    points: int
    reward: int  # floor(pool × points / all points), commission included
    commission: int


@dataclass(frozen=True)
class EraRewardsView:
    """What the current era would pay if it ended now (the pool keeps growing until it does)."""

    era: int
    total_points: int
    reward_pool: int  # what the consensus reward pool holds above its existential deposit
    rewards: tuple[ValidatorReward, ...]  # the elected set, in election order


@dataclass(frozen=True)
class SlashedStakeView:
    who: bytes
    exposed: int
    amount: int


@dataclass(frozen=True)
class UnappliedSlashView:
    due_era: int  # applied at the end of this era, unless governance cancels it first
    offender: bytes
    kind: int  # OFFENCE_*
    offence_era: int
    fraction_parts: int
    reporter: bytes | None
    stakes: tuple[SlashedStakeView, ...]


def get_staking(state: StateReader) -> StakingView:
    """The current era's elected validators with their exposures and reward points, from the
    elected set staking keeps (``Elected``): proving it proves the list complete."""
    validators = []
    for validator in staking.Elected.get(state):
        exposure = staking.Exposures.get(state, validator)
        total, own, others, commission = (
            (0, 0, (), 0)
            if exposure is None
            else (exposure.total, exposure.own, exposure.others, exposure.commission_parts)
        )
        backers = tuple(BackerView(backer.who, backer.value) for backer in others)
        points = staking.RewardPoints.get(state, validator)
        validators.append(ValidatorView(validator, commission, total, own, backers, points))
    return StakingView(staking.CurrentEra.get(state), staking.TotalBonded.get(state), tuple(validators))


def get_era_rewards(state: StateReader) -> EraRewardsView:
    """Each elected validator's points this era and what it would be paid if the era ended
    now, as staking's payout computes it (rounding down; commission out of the reward)."""
    elected = staking.Elected.get(state)
    points = {validator: staking.RewardPoints.get(state, validator) for validator in elected}
    commissions = {}
    for validator in elected:
        exposure = staking.Exposures.get(state, validator)
        commissions[validator] = 0 if exposure is None else exposure.commission_parts
    pool = get_reward_pool_available(state)
    payouts = staking.compute_validator_payouts(pool, points, commissions)
    rewards = tuple(
        ValidatorReward(validator, points[validator], *payouts.get(validator, (0, 0))) for validator in elected
    )
    return EraRewardsView(staking.CurrentEra.get(state), sum(points.values()), pool, rewards)


def get_reward_pool_available(state: StateReader) -> int:
    """What the consensus reward pool holds above its existential deposit (an era pays that)."""
    usable = balances.compute_usable(system.get_account(state, CONSENSUS_REWARD_POOL_ACCOUNT))
    return max(0, usable - balances.get_existential_deposit(state))


def get_unapplied_slashes(state: StateReader) -> tuple[UnappliedSlashView, ...]:
    """Every slash waiting for an era's end, by due era.

    A slash is due at the end of an era from the current one on, and before the current era plus
    the bonding duration (staking refuses a bonding duration that would let slashed stake be
    withdrawn first), so reading each of those eras' entries reads them all: their proofs, absent
    ones included, prove the list complete.
    """
    era = staking.CurrentEra.get(state)
    bonding = staking.get_parameters(state).bonding_duration_eras
    defer = offences.get_parameters(state).slash_defer_eras
    views = []
    for due_era in range(era, era + max(bonding, defer + 1)):
        for slash in offences.UnappliedSlashes.get(state, due_era):
            stakes = tuple(SlashedStakeView(stake.who, stake.exposed, stake.amount) for stake in slash.stakes)
            views.append(
                UnappliedSlashView(
                    due_era,
                    slash.offender,
                    slash.kind,
                    slash.offence_era,
                    slash.fraction_parts,
                    slash.reporter,
                    stakes,
                )
            )
    return tuple(views)


# --- emission -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmissionView:
    """Where the emission schedule stands after a block."""

    started: bool
    start_ms: int  # the first block's timestamp: time zero of the schedule
    paid_until_ms: int
    issued: int  # everything paid out of the reserve so far
    reserve: int  # what the reserve still holds (free balance)
    month: int  # of the schedule, at the paid-until time
    daily_rate: int  # base units per day in that month (D_month)
    daily_emission: int  # D_0
    monthly_decay_parts: int
    ml_share_parts: int
    exhausted: bool


def get_emission(state: StateReader) -> EmissionView:
    """Issued, reserve and the current daily rate (``D_m`` of the month the schedule is in)."""
    parameters = emission.get_parameters(state)
    started = emission.is_started(state)
    start = emission.EmissionStart.get(state)
    paid_until = emission.PaidUntil.get(state)
    month = (paid_until - start) // emission.MONTH_MS if started else 0
    exhausted = emission.Exhausted.get(state)
    return EmissionView(
        started=started,
        start_ms=start,
        paid_until_ms=paid_until,
        issued=emission.TotalEmitted.get(state),
        reserve=system.get_account(state, EMISSION_RESERVE_ACCOUNT).free,
        month=month,
        daily_rate=0 if exhausted else emission.compute_daily_emission(parameters, month),
        daily_emission=parameters.daily_emission,
        monthly_decay_parts=parameters.monthly_decay_parts,
        ml_share_parts=parameters.ml_share_parts,
        exhausted=exhausted,
    )

"""alliance: FL Alliance. Federated rounds in which each participant's own VRF makes it a
proposer or a voter; proposers train on private data and commit updates, voters score the
round's aggregate, and the stake-weighted median of the scores accepts or rejects it.

**A task** (``create_task``): the creator holds a stake (``creatorMinStake`` or more) and pays a
budget (at least the existential deposit) into the task's pool account
(``compute_task_account(b"alliance", id)``), which also receives the task's part of emission by
stake. It fixes the model definition root, the initial global model root, the schedule
(``rounds`` rounds of ``round_blocks`` blocks, starting ``joinBlocks`` blocks after creation),
``min_participants`` to ``max_participants`` participants with ``min_stake`` each, the share of
proposers (``proposer_ratio``) and the spot-check tolerance. Participants ``join`` with stake
(the hold ``fl/stake``) until the first round starts.

**A round** ``r`` (``mlwork.compute_round_phase``; ``C``, ``R`` the windows): its seed is the
epoch randomness when it starts. A participant's role is its VRF proof over
``(MARKET_ALLIANCE, PURPOSE_ROLE, seed, task, r, 0)``: a proposer if the value is below
``2^64 × proposer_ratio``, else a voter. Nobody can take a role its VRF does not give: the proof
is checked on chain, and a claim it does not support is an offence.

1. ``[0, C)``: proposers ``commit_update`` with their role proof.
2. ``[C, C+R)``: proposers ``reveal_update``: the signed work proof (its parent is the current
   global model root) and the salt. The revealed updates, ordered by proposer, make the round's
   aggregate: its id is ``compute_aggregate_id(global root, update roots)``, and every voter
   aggregates exactly these (FedAvg or a robust aggregator, in a fixed order) into a model whose
   Merkle root it reports.
3. ``[C+R, 2C+R)``: voters ``commit_vote`` with their role proof (and checker claims for
   spot-checked updates, each with its VRF proof); anyone may ``challenge_data`` of an update.
4. ``[2C+R, 2C+2R)``: voters ``reveal_vote``: a score of the aggregate (signed fixed point: how
   much better than the global model it is, in the metric's direction), the aggregate's root,
   and the spot-check distances.
5. closing: anyone may ``close_round`` (earning the reporter share of its penalties); the
   round's last block closes it otherwise.

**Closing**: unrevealed commits cost ``missedRevealSlashPerbill`` of their stake. Unanswered
challenges and failed spot checks are offences and void the round (nothing is paid, nobody is
penalised for the round, the global model stays). A round with no revealed update, no revealed
vote or fewer active participants than ``min_participants`` closes cleanly without a decision,
and the task ends early. Otherwise the voters' stake-weighted median score decides: the round is
**accepted** if it is not negative and one aggregate root has more than half of the voting
stake, and that root becomes the global model root; then the round pays
``floor(pool / rounds left)`` to the proposers and the agreeing voters (those that scored it not
negative and named that root). Otherwise it is **rejected**: the global model stays, the
agreeing voters (those that scored it negative) are paid, and each proposer loses
``rejectedProposerSlashPerbill`` of its stake. Either way the round's reward is shared pro rata
to the stake of every active participant (revealed proposers and voters) and only the shares of
those the outcome rewards are paid, the rest staying in the pool for later rounds: a voter earns
the same whichever way the round goes, so only agreeing pays. A voter that disagrees gets
nothing; one that disagrees ``outlierRounds`` rounds in a row loses ``outlierSlashPerbill``. Penalties go 90 %
(``1 − reporterPerbill``) to the task's pool and the rest to whoever closed the round.
``docs/ml-work.md`` has the formulas and a worked example.
"""

from __future__ import annotations

from dataclasses import replace
from operator import attrgetter
from typing import Annotated

from runtime.abc import StateReader
from runtime.errors import InvalidKey, InvalidVrfProof
from runtime.framework.mlmarket import (
    MarketErrors,
    MarketEvents,
    MarketParts,
    MlMarket,
    check_fractions,
    check_windows,
    note_missed_reveals,
    put_at,
)
from runtime.framework.mlstakes import MarketStakes, get_pool_available
from runtime.framework.mlwork import (
    AGGREGATE_SUBJECT,
    ATTESTATION_OFFENCE_SUBJECT,
    KIND_DISTANCE,
    KIND_SCORE,
    MARKET_ALLIANCE,
    MAX_CHUNK_SIZE,
    MAX_CLAIMS,
    MAX_PROOF_DEPTH,
    PHASE_ATTEST,
    PHASE_ATTEST_REVEAL,
    PHASE_COMMIT,
    PHASE_REVEAL,
    PURPOSE_CHECK,
    PURPOSE_ROLE,
    AttestationPayload,
    Challenge,
    Claim,
    ClaimedItem,
    MlWorkProof,
    Payout,
    Schedule,
    SignedMlWorkProof,
    TaskAccount,
    TaskRound,
    VrfProof,
    compute_aggregate_id,
    compute_commitment,
    compute_pro_rata,
    compute_ratio_threshold,
    compute_round_reward,
    compute_vrf_input,
    compute_weighted_median,
    is_seat_given,
    is_spot_checked,
    verify_vrf_value,
)
from runtime.framework.pallet import DispatchContext, DispatchError, Origin, call, ensure_signed
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageMap, StorageValue
from runtime.primitives.arithmetic import PERBILL_ACCURACY
from runtime.primitives.codec import (
    I64,
    U8,
    U16,
    U32,
    U64,
    AccountId,
    Balance,
    Boolean,
    Hash32,
    ListOf,
    OptionOf,
    Record,
    VarBytes,
    record,
)
from runtime.primitives.hashing import ZERO_HASH

NAME = "alliance"

# --- config -------------------------------------------------------------------------------

MARKET = MARKET_ALLIANCE
HOLD_STAKE = b"fl/stake"  # every participant's and creator's stake
HOLD_CHALLENGE = b"fl/chall"  # a data challenge's deposit
TASK_ACCOUNT_PREFIX = b"alliance"

MAX_ACTIVE_TASKS = 16
MAX_ROUNDS = 64
MAX_PARTICIPANTS = 32  # per task
MAX_CHALLENGES_PER_ROUND = 16
# Closing a round at its worst (every payout and penalty a transfer, the median), by
# ``close_round`` or by the round's last block, whose hooks weigh it in advance.
CLOSE_ROUND_WEIGHT = 50_000_000

TASK_ACTIVE = 0
TASK_ENDED = 1
TASK_ENDED_EARLY = 2  # a round missed its minimum

UPDATE_COMMITTED = 0
UPDATE_REVEALED = 1
UPDATE_UNREVEALED = 2
UPDATE_BAD_REVEAL = 3
UPDATE_CONFLICTING = 4
UPDATE_WITHHELD = 5
UPDATE_FAILED_CHECK = 6

VOTE_COMMITTED = 0
VOTE_REVEALED = 1
VOTE_UNREVEALED = 2
VOTE_BAD_REVEAL = 3

ROUND_ACCEPTED = 0
ROUND_REJECTED = 1
ROUND_MISSED = 2  # below the task's minimum: no decision, the task ends early
ROUND_VOIDED = 3  # a proven fault spoiled the aggregate: no decision

# Offence kinds (ids are permanent; validators' are 0-2, the AI Arena's 10-14).
KIND_BAD_REVEAL = 20
KIND_CONFLICTING_PROOFS = 21
KIND_FALSE_ROLE = 22
KIND_DATA_WITHHELD = 23
KIND_FAILED_SPOT_CHECK = 24
OFFENCE_KINDS = {
    KIND_BAD_REVEAL: "alliance: a reveal that does not match its commit",
    KIND_CONFLICTING_PROOFS: "alliance: two different work proofs signed for one round",
    KIND_FALSE_ROLE: "alliance: a role claimed without the VRF giving it",
    KIND_DATA_WITHHELD: "alliance: a challenged chunk not served in time",
    KIND_FAILED_SPOT_CHECK: "alliance: a trace segment its checkers could not replay",
}


@record
class AllianceParameters(Record):
    """Set per chain spec; governance may change them (running tasks keep their windows)."""

    creator_min_stake: Balance
    join_blocks: U32  # blocks between a task's creation and its first round: time to join
    commit_blocks: U32  # C
    reveal_blocks: U32  # R
    checker_committee_size: U32  # checkers expected per spot-checked update
    spot_check_parts: U32  # probability that an update is spot-checked
    rejected_proposer_slash_parts: U32  # each proposer of a rejected round
    outlier_rounds: U32  # rounds in a row a voter disagrees before the outlier slash
    outlier_slash_parts: U32
    missed_reveal_slash_parts: U32  # a commit never revealed
    fault_slash_parts: U32  # a provable fault (an offence): of everything staked here
    reporter_parts: U32  # the reporter's share of a penalty (the rest goes to the task's pool)
    challenge_deposit: Balance
    challenge_response_blocks: U32  # at most R


DEFAULT_PARAMETERS = AllianceParameters(
    creator_min_stake=1_000,
    join_blocks=1,
    commit_blocks=2,
    reveal_blocks=2,
    checker_committee_size=2,
    spot_check_parts=0,
    rejected_proposer_slash_parts=10_000_000,
    outlier_rounds=3,
    outlier_slash_parts=10_000_000,
    missed_reveal_slash_parts=10_000_000,
    fault_slash_parts=100_000_000,
    reporter_parts=100_000_000,
    challenge_deposit=1_000,
    challenge_response_blocks=1,
)


class BadParameters(DispatchError):
    """The parameters are out of range (see check_parameters)."""

    code = 0


PARAMETERS = PalletParameters(NAME, __name__, AllianceParameters, DEFAULT_PARAMETERS, BadParameters)
STAKES = MarketStakes(NAME, HOLD_STAKE)

# --- storage ------------------------------------------------------------------------------


@record
class FlTask(Record):
    creator: AccountId
    model_definition_root: Hash32
    initial_model_root: Hash32
    global_model_root: Hash32  # the last accepted aggregate (the initial model at first)
    schedule: Schedule
    min_participants: U32  # active (revealed) participants a round needs
    max_participants: U32
    min_stake: Balance
    proposer_ratio_parts: U32  # a participant is a proposer with this probability each round
    budget: Balance
    tolerance: U64  # spot checks: the largest relative L2 distance of a replay (fixed point)
    next_round: U32
    status: U8  # TASK_*


@record
class Update(Record):
    proposer: AccountId
    commitment: Hash32
    status: U8  # UPDATE_*
    proof: Annotated[MlWorkProof | None, OptionOf(MlWorkProof)]  # once revealed


@record
class Vote(Record):
    voter: AccountId
    items: Annotated[tuple, ListOf(ClaimedItem, MAX_CLAIMS)]  # the aggregate's score, then checks
    commitment: Hash32
    status: U8  # VOTE_*
    values: Annotated[tuple, ListOf(I64, MAX_CLAIMS)]  # once revealed, one per item
    aggregate_root: Hash32  # once revealed: the root of the aggregate the voter scored


@record
class FlRoundResult(Record):
    outcome: U8  # ROUND_*
    closed_at: U32
    aggregate_id: Hash32  # compute_aggregate_id of the round's revealed updates
    global_model_root: Hash32  # after the round
    median_score: Annotated[int | None, OptionOf(I64)]
    reward: Balance  # what the round could pay: floor(pool / rounds left)
    rewards: Annotated[tuple, ListOf(Payout, MAX_PARTICIPANTS)]
    penalties: Annotated[tuple, ListOf(Payout, MAX_PARTICIPANTS)]


NextTaskId = StorageValue(NAME, "NextTaskId", U32, 0)
ActiveTasks = StorageValue(NAME, "ActiveTasks", Annotated[tuple, ListOf(U32, MAX_ACTIVE_TASKS)], ())
Tasks = StorageMap(NAME, "Tasks", U32, FlTask)  # kept after the task ends: its models' provenance
Participants = StorageMap(NAME, "Participants", U32, Annotated[tuple, ListOf(AccountId, MAX_PARTICIPANTS)], ())
OutlierStreaks = StorageMap(NAME, "OutlierStreaks", TaskAccount, U32, 0)
RoundSeeds = StorageMap(NAME, "RoundSeeds", TaskRound, Hash32)
# The seed of the round's spot checks, fixed in its first reveal block (mlwork.compute_check_seed).
CheckSeeds = StorageMap(NAME, "CheckSeeds", TaskRound, Hash32)
Updates = StorageMap(NAME, "Updates", TaskRound, Annotated[tuple, ListOf(Update, MAX_PARTICIPANTS)], ())
Votes = StorageMap(NAME, "Votes", TaskRound, Annotated[tuple, ListOf(Vote, MAX_PARTICIPANTS)], ())
Challenges = StorageMap(
    NAME, "Challenges", TaskRound, Annotated[tuple, ListOf(Challenge, MAX_CHALLENGES_PER_ROUND)], ()
)
RoundResults = StorageMap(NAME, "RoundResults", TaskRound, FlRoundResult)
# The global model root each accepted round produced.
GlobalModels = StorageMap(NAME, "GlobalModels", TaskRound, Hash32)

# --- events -------------------------------------------------------------------------------


@record
class TaskCreated(Record):
    task: U32
    creator: AccountId
    account: AccountId
    start: U32
    rounds: U32


@record
class Joined(Record):
    task: U32
    who: AccountId
    stake: Balance


@record
class UpdateCommitted(Record):
    task: U32
    round: U32
    proposer: AccountId


@record
class UpdateRevealed(Record):
    task: U32
    round: U32
    proposer: AccountId
    update_root: Hash32


@record
class VoteCommitted(Record):
    task: U32
    round: U32
    voter: AccountId


@record
class VoteRevealed(Record):
    task: U32
    round: U32
    voter: AccountId


@record
class DataChallenged(Record):
    task: U32
    round: U32
    subject: U16
    challenger: AccountId
    chunk: U32
    deadline: U32


@record
class ChallengeAnswered(Record):
    task: U32
    round: U32
    subject: U16


@record
class FaultRecorded(Record):
    """A provable fault, reported to the offences pallet (``reported`` False: it refused it)."""

    kind: U8
    offender: AccountId
    task: U32
    round: U32
    reported: Boolean


@record
class RoundClosed(Record):
    task: U32
    round: U32
    outcome: U8
    global_model_root: Hash32


@record
class Rewarded(Record):
    task: U32
    round: U32
    who: AccountId
    amount: Balance


@record
class Penalised(Record):
    task: U32
    round: U32
    who: AccountId
    amount: Balance  # taken from its stake
    to_reporter: Balance  # of which the reporter (who closed the round) got this; the pool the rest


@record
class TaskEnded(Record):
    task: U32
    status: U8
    returned: Balance


@record
class Withdrawn(Record):
    who: AccountId
    amount: Balance


# --- errors -------------------------------------------------------------------------------


class NoSuchTask(DispatchError):
    """No task has this id."""

    code = 1


class TaskNotActive(DispatchError):
    """The task has ended."""

    code = 2


class TooManyTasks(DispatchError):
    """MAX_ACTIVE_TASKS tasks are active already."""

    code = 3


class BadTask(DispatchError):
    """The task is malformed: rounds, round length, participants, ratio, stake or budget."""

    code = 4


class StakeTooLow(DispatchError):
    """The stake is below the minimum."""

    code = 5


class InsufficientBalance(DispatchError):
    """The account cannot pay the stake, budget or deposit from its usable balance."""

    code = 6


class AlreadyJoined(DispatchError):
    """The account stakes in this task already."""

    code = 7


class TaskFull(DispatchError):
    """The task has its maximum of participants."""

    code = 8


class JoiningClosed(DispatchError):
    """Participants join before the first round starts."""

    code = 9


class NotParticipant(DispatchError):
    """The caller is not a participant of this task."""

    code = 10


class WrongPhase(DispatchError):
    """The round is not in the phase this call belongs to."""

    code = 11


class AlreadyCommitted(DispatchError):
    """The participant has committed in this round already."""

    code = 12


class NothingCommitted(DispatchError):
    """There is no commitment of the caller to reveal in this round."""

    code = 13


class BadProof(DispatchError):
    """The work proof is not for this task, round and worker, does not build on the global
    model, is malformed or its signature does not verify."""

    code = 14


class BadClaims(DispatchError):
    """Too many or repeated checks, or a check of an update that is not revealed or that the
    round does not spot-check."""

    code = 15


class BadValues(DispatchError):
    """A score and one distance per check, never negative."""

    code = 16


class NoSuchChallenge(DispatchError):
    """No challenge of this round has that index, or it is answered already."""

    code = 17


class ChallengeExpired(DispatchError):
    """The challenge's deadline has passed."""

    code = 18


class BadChunk(DispatchError):
    """The chunk's Merkle proof does not lead to the update root."""

    code = 19


class TooManyChallenges(DispatchError):
    """The round carries its maximum of challenges, or this update one already; a proposer
    cannot challenge its own."""

    code = 20


class NoSuchUpdate(DispatchError):
    """No revealed update of this round has that index."""

    code = 21


class NotConflicting(DispatchError):
    """The two proofs are not two different valid proofs by one worker for one round of an
    active task of this market."""

    code = 22


class NothingToWithdraw(DispatchError):
    """Nothing is unbonding, or a slash may still apply to it."""

    code = 23


class NotClosable(DispatchError):
    """The round is not in its closing phase."""

    code = 24


# --- calls' arguments ---------------------------------------------------------------------


@record
class CreateTaskArgs(Record):
    model_definition_root: Hash32
    initial_model_root: Hash32
    rounds: U32
    round_blocks: U32
    min_participants: U32
    max_participants: U32
    min_stake: Balance
    proposer_ratio_parts: U32
    budget: Balance
    tolerance: U64
    stake: Balance


@record
class JoinArgs(Record):
    task: U32
    stake: Balance


@record
class CommitUpdateArgs(Record):
    task: U32
    role_proof: VrfProof
    commitment: Hash32


@record
class RevealUpdateArgs(Record):
    task: U32
    signed: SignedMlWorkProof
    salt: Hash32


@record
class CommitVoteArgs(Record):
    task: U32
    role_proof: VrfProof
    checks: Annotated[tuple, ListOf(Claim, MAX_CLAIMS - 1)]
    commitment: Hash32


@record
class RevealVoteArgs(Record):
    task: U32
    values: Annotated[tuple, ListOf(I64, MAX_CLAIMS)]  # the aggregate's score, then one distance per check
    aggregate_root: Hash32
    salt: Hash32


@record
class ChallengeDataArgs(Record):
    task: U32
    subject: U16


@record
class AnswerChallengeArgs(Record):
    task: U32
    index: U16
    chunk: Annotated[bytes, VarBytes(MAX_CHUNK_SIZE)]
    proof: Annotated[tuple, ListOf(Hash32, MAX_PROOF_DEPTH)]


@record
class ReportConflictingProofsArgs(Record):
    first: SignedMlWorkProof
    second: SignedMlWorkProof


@record
class CloseRoundArgs(Record):
    task: U32


@record
class WithdrawUnbondedArgs(Record):
    pass


# --- pure computations --------------------------------------------------------------------


def compute_majority_root(votes: list[tuple[bytes, int]]) -> bytes | None:
    """The aggregate root named with more than half of the voting stake, if any."""
    total = sum(weight for _, weight in votes)
    weights: dict[bytes, int] = {}
    for root, weight in votes:
        weights[root] = weights.get(root, 0) + weight
    return next((root for root, weight in sorted(weights.items()) if 2 * weight > total), None)


def is_agreeing(accepted: bool, score: int, root: bytes, majority: bytes | None) -> bool:
    """A voter agrees with an accepted round if it scored it not negative and named its root,
    with a rejected one if it scored it negative."""
    return score >= 0 and root == majority if accepted else score < 0


def check_parameters(parameters: AllianceParameters) -> None:
    """Fractions in range, windows of at least a block, an answer to a challenge due within a
    reveal window (ValueError)."""
    fractions = (
        "spot_check_parts",
        "rejected_proposer_slash_parts",
        "outlier_slash_parts",
        "missed_reveal_slash_parts",
        "fault_slash_parts",
        "reporter_parts",
    )
    check_fractions(PARAMETERS, parameters, fractions)
    check_windows(NAME, parameters)
    if parameters.checker_committee_size == 0 or parameters.creator_min_stake == 0:
        raise ValueError("alliance.checkerCommitteeSize and creatorMinStake must be at least 1")


# --- the market's parts (runtime/framework/mlmarket.py) -----------------------------------

PARTS: MarketParts[FlTask] = MarketParts(
    market=MARKET,
    task_account_prefix=TASK_ACCOUNT_PREFIX,
    hold_challenge=HOLD_CHALLENGE,
    max_active_tasks=MAX_ACTIVE_TASKS,
    max_rounds=MAX_ROUNDS,
    max_challenges_per_round=MAX_CHALLENGES_PER_ROUND,
    close_round_weight=CLOSE_ROUND_WEIGHT,
    task_active=TASK_ACTIVE,
    offence_kinds=OFFENCE_KINDS,
    kind_conflicting_proofs=KIND_CONFLICTING_PROOFS,
    kind_data_withheld=KIND_DATA_WITHHELD,
    parameters=PARAMETERS,
    check_parameters=check_parameters,
    stakes=STAKES,
    next_task_id=NextTaskId,
    active_tasks=ActiveTasks,
    tasks=Tasks,
    round_seeds=RoundSeeds,
    check_seeds=CheckSeeds,
    challenges=Challenges,
    outlier_streaks=OutlierStreaks,
    work=Updates,
    worker_of=attrgetter("proposer"),
    work_committed=UPDATE_COMMITTED,
    work_revealed=UPDATE_REVEALED,
    work_unrevealed=UPDATE_UNREVEALED,
    work_withheld=UPDATE_WITHHELD,
    events=MarketEvents(
        task_created=TaskCreated,
        data_challenged=DataChallenged,
        challenge_answered=ChallengeAnswered,
        fault_recorded=FaultRecorded,
        rewarded=Rewarded,
        penalised=Penalised,
        task_ended=TaskEnded,
        withdrawn=Withdrawn,
    ),
    errors=MarketErrors(
        no_such_task=NoSuchTask,
        task_not_active=TaskNotActive,
        too_many_tasks=TooManyTasks,
        bad_task=BadTask,
        stake_too_low=StakeTooLow,
        insufficient_balance=InsufficientBalance,
        wrong_phase=WrongPhase,
        bad_proof=BadProof,
        no_such_work=NoSuchUpdate,
        not_worker=NotParticipant,
        no_such_challenge=NoSuchChallenge,
        challenge_expired=ChallengeExpired,
        bad_chunk=BadChunk,
        too_many_challenges=TooManyChallenges,
        not_conflicting=NotConflicting,
        nothing_to_withdraw=NothingToWithdraw,
        not_closable=NotClosable,
    ),
)

# --- state reads --------------------------------------------------------------------------

get_task = PARTS.get_task
get_active_task = PARTS.get_active_task
get_active_tasks = PARTS.get_active_tasks
get_task_account = PARTS.get_task_account
get_phase = PARTS.get_phase
get_round_seed = PARTS.get_round_seed
get_check_seed = PARTS.get_check_seed


def get_parameters(state: StateReader) -> AllianceParameters:
    return PARAMETERS.get(state)


def get_role_input(state: StateReader, task_id: int, round_: int) -> bytes:
    """The VRF input of every participant's role in the round."""
    return compute_vrf_input(MARKET, PURPOSE_ROLE, get_round_seed(state, task_id, round_), task_id, round_, 0)


def is_committed(state: StateReader, key: TaskRound, who: bytes) -> bool:
    return any(update.proposer == who for update in Updates.get(state, key)) or any(
        vote.voter == who for vote in Votes.get(state, key)
    )


# --- the pallet ---------------------------------------------------------------------------


class Alliance(MlMarket):
    """An ML market (:class:`~runtime.framework.mlmarket.MlMarket`: its hooks, offender handler,
    task registry, challenges, penalties and genesis are both markets'); its own are the VRF
    roles of each round, proposers and voters, the aggregate and its acceptance."""

    NAME = NAME
    STORAGE = (
        PARAMETERS.storage,
        *STAKES.storage,
        NextTaskId,
        ActiveTasks,
        Tasks,
        Participants,
        OutlierStreaks,
        RoundSeeds,
        CheckSeeds,
        Updates,
        Votes,
        Challenges,
        RoundResults,
        GlobalModels,
    )
    EVENTS = (
        TaskCreated,
        Joined,
        UpdateCommitted,
        UpdateRevealed,
        VoteCommitted,
        VoteRevealed,
        DataChallenged,
        ChallengeAnswered,
        FaultRecorded,
        RoundClosed,
        Rewarded,
        Penalised,
        TaskEnded,
        Withdrawn,
        PARAMETERS.event,
    )
    ERRORS = (
        BadParameters,
        NoSuchTask,
        TaskNotActive,
        TooManyTasks,
        BadTask,
        StakeTooLow,
        InsufficientBalance,
        AlreadyJoined,
        TaskFull,
        JoiningClosed,
        NotParticipant,
        WrongPhase,
        AlreadyCommitted,
        NothingCommitted,
        BadProof,
        BadClaims,
        BadValues,
        NoSuchChallenge,
        ChallengeExpired,
        BadChunk,
        TooManyChallenges,
        NoSuchUpdate,
        NotConflicting,
        NothingToWithdraw,
        NotClosable,
    )
    CONSTANTS = {
        "market": MARKET,
        "maxActiveTasks": MAX_ACTIVE_TASKS,
        "maxRounds": MAX_ROUNDS,
        "maxParticipants": MAX_PARTICIPANTS,
        "maxChallengesPerRound": MAX_CHALLENGES_PER_ROUND,
        "maxClaims": MAX_CLAIMS,
        "maxChunkSize": MAX_CHUNK_SIZE,
        "aggregateSubject": AGGREGATE_SUBJECT,
        "purposeRole": PURPOSE_ROLE,
        "purposeCheck": PURPOSE_CHECK,
        "roundAccepted": ROUND_ACCEPTED,
        "roundRejected": ROUND_REJECTED,
        "roundMissed": ROUND_MISSED,
        "roundVoided": ROUND_VOIDED,
        **{f"offenceKind{index}": kind for index, kind in enumerate(OFFENCE_KINDS)},
    }
    PARTS = PARTS

    # --- calls: tasks and stakes --------------------------------------------------------

    @call(0, CreateTaskArgs, weight=1_000_000)
    def create_task(self, ctx: DispatchContext, origin: Origin, args: CreateTaskArgs) -> None:
        """Post an FL task: hold ``stake``, pay ``budget`` into its pool; participants join
        until the first round starts ``joinBlocks`` blocks from now."""
        who = ensure_signed(origin)
        parameters = get_parameters(ctx.state)
        start = ctx.block.number + parameters.join_blocks + 1
        schedule = Schedule(start, args.rounds, args.round_blocks, parameters.commit_blocks, parameters.reveal_blocks)
        self.check_new_task(ctx.state, who, args, parameters, schedule)
        task = FlTask(
            who,
            args.model_definition_root,
            args.initial_model_root,
            args.initial_model_root,
            schedule,
            args.min_participants,
            args.max_participants,
            args.min_stake,
            args.proposer_ratio_parts,
            args.budget,
            args.tolerance,
            0,
            TASK_ACTIVE,
        )
        self.open_task(ctx, who, task, args.stake)

    @call(1, JoinArgs, weight=300_000)
    def join(self, ctx: DispatchContext, origin: Origin, args: JoinArgs) -> None:
        """Join the task with ``stake`` (at least its minimum), before its first round."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        if ctx.block.number >= task.schedule.start:
            raise JoiningClosed()
        if STAKES.is_staked(ctx.state, args.task, who):
            raise AlreadyJoined()
        participants = Participants.get(ctx.state, args.task)
        if len(participants) >= task.max_participants:
            raise TaskFull()
        if args.stake < task.min_stake:
            raise StakeTooLow()
        self.check_usable(ctx.state, who, args.stake)
        STAKES.add(ctx, self.currency, args.task, who, args.stake)
        Participants.put(ctx.state, args.task, (*participants, who))
        ctx.deposit_event(Joined(args.task, who, args.stake))

    @call(10, WithdrawUnbondedArgs, weight=200_000)
    def withdraw_unbonded(self, ctx: DispatchContext, origin: Origin, args: WithdrawUnbondedArgs) -> None:
        """Release stake kept on hold after its task ended, once no slash can apply to it."""
        self.withdraw(ctx, ensure_signed(origin))

    # Governance: new parameters for tasks created from now on (running tasks keep their
    # windows and join period; the fractions apply at once).
    set_parameters = PARAMETERS.call(11, weight=100_000)

    # --- calls: a round -----------------------------------------------------------------

    @call(2, CommitUpdateArgs, weight=20_000_000)
    def commit_update(self, ctx: DispatchContext, origin: Origin, args: CommitUpdateArgs) -> None:
        """A proposer commits to its update (``compute_commitment(proposer, proof, salt)``) with
        the VRF proof of its role. A role the VRF does not give is an offence."""
        who = ensure_signed(origin)
        task = self.get_participant_task(ctx.state, args.task, who)
        round_ = get_phase(task, ctx.block.number, PHASE_COMMIT)
        key = TaskRound(args.task, round_)
        if is_committed(ctx.state, key, who):
            raise AlreadyCommitted()
        if not self.is_proposer(ctx.state, task, args.task, round_, who, args.role_proof):
            self.report_fault(ctx, KIND_FALSE_ROLE, who, (args.task, round_, 0), None)
            return
        Updates.put(
            ctx.state, key, (*Updates.get(ctx.state, key), Update(who, args.commitment, UPDATE_COMMITTED, None))
        )
        ctx.deposit_event(UpdateCommitted(args.task, round_, who))

    @call(3, RevealUpdateArgs, weight=500_000)
    def reveal_update(self, ctx: DispatchContext, origin: Origin, args: RevealUpdateArgs) -> None:
        """Reveal the committed work proof; its parent must be the current global model. A
        proof that does not match its commitment voids the update and is an offence."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        round_ = get_phase(task, ctx.block.number, PHASE_REVEAL)
        key = TaskRound(args.task, round_)
        updates = Updates.get(ctx.state, key)
        index = next((i for i, update in enumerate(updates) if update.proposer == who), None)
        if index is None or updates[index].status != UPDATE_COMMITTED:
            raise NothingCommitted()
        self.check_work_proof(ctx, args.signed, args.task, round_, who, 0, task.global_model_root)
        proof = args.signed.proof
        if compute_commitment(who, proof.encode(), args.salt) != updates[index].commitment:
            put_at(ctx.state, Updates, key, index, replace(updates[index], status=UPDATE_BAD_REVEAL))
            self.report_fault(ctx, KIND_BAD_REVEAL, who, (args.task, round_, 0), None)
            return
        put_at(ctx.state, Updates, key, index, replace(updates[index], status=UPDATE_REVEALED, proof=proof))
        ctx.deposit_event(UpdateRevealed(args.task, round_, who, proof.update_root))

    @call(4, CommitVoteArgs, weight=60_000_000)
    def commit_vote(self, ctx: DispatchContext, origin: Origin, args: CommitVoteArgs) -> None:
        """A voter commits to its score of the round's aggregate (and its spot-check distances),
        with the VRF proofs of its roles. A role the VRF does not give is an offence."""
        who = ensure_signed(origin)
        task = self.get_participant_task(ctx.state, args.task, who)
        round_ = get_phase(task, ctx.block.number, PHASE_ATTEST)
        key = TaskRound(args.task, round_)
        if is_committed(ctx.state, key, who):
            raise AlreadyCommitted()
        self.check_checks(ctx.state, args.task, round_, args.checks)
        is_voter = self.is_proposer(ctx.state, task, args.task, round_, who, args.role_proof) is False
        if not is_voter or not self.is_every_check_given(ctx.state, args.task, round_, who, args.checks):
            self.report_fault(ctx, KIND_FALSE_ROLE, who, (args.task, round_, 0), None)
            return
        items = (ClaimedItem(AGGREGATE_SUBJECT, KIND_SCORE), *(ClaimedItem(c.subject, c.kind) for c in args.checks))
        vote = Vote(who, items, args.commitment, VOTE_COMMITTED, (), ZERO_HASH)
        Votes.put(ctx.state, key, (*Votes.get(ctx.state, key), vote))
        ctx.deposit_event(VoteCommitted(args.task, round_, who))

    @call(5, RevealVoteArgs, weight=300_000)
    def reveal_vote(self, ctx: DispatchContext, origin: Origin, args: RevealVoteArgs) -> None:
        """Reveal the committed score, aggregate root and distances. Values that do not match the
        commitment void the vote and are an offence."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        round_ = get_phase(task, ctx.block.number, PHASE_ATTEST_REVEAL)
        key = TaskRound(args.task, round_)
        votes = Votes.get(ctx.state, key)
        index = next((i for i, vote in enumerate(votes) if vote.voter == who), None)
        if index is None or votes[index].status != VOTE_COMMITTED:
            raise NothingCommitted()
        vote = votes[index]
        if len(args.values) != len(vote.items) or any(value < 0 for value in args.values[1:]):
            raise BadValues()
        payload = AttestationPayload(MARKET, args.task, round_, vote.items, args.values, args.aggregate_root)
        if compute_commitment(who, payload.encode(), args.salt) != vote.commitment:
            put_at(ctx.state, Votes, key, index, replace(vote, status=VOTE_BAD_REVEAL))
            self.report_fault(ctx, KIND_BAD_REVEAL, who, (args.task, round_, ATTESTATION_OFFENCE_SUBJECT), None)
            return
        revealed = replace(vote, status=VOTE_REVEALED, values=tuple(args.values), aggregate_root=args.aggregate_root)
        put_at(ctx.state, Votes, key, index, revealed)
        ctx.deposit_event(VoteRevealed(args.task, round_, who))

    @call(6, ChallengeDataArgs, weight=300_000)
    def challenge_data(self, ctx: DispatchContext, origin: Origin, args: ChallengeDataArgs) -> None:
        """Ask the proposer of a revealed update to serve a chunk of it on chain (drawn from this
        block's parent hash), holding the challenge deposit."""
        self.challenge(ctx, ensure_signed(origin), args.task, args.subject)

    @call(7, AnswerChallengeArgs, weight=1_000_000)
    def answer_challenge(self, ctx: DispatchContext, origin: Origin, args: AnswerChallengeArgs) -> None:
        """Serve the challenged chunk with its Merkle proof under the update root; the
        challenger's deposit goes to the proposer."""
        self.answer(ctx, ensure_signed(origin), args.task, args.index, args.chunk, args.proof)

    @call(8, ReportConflictingProofsArgs, weight=1_000_000)
    def report_conflicting_proofs(
        self, ctx: DispatchContext, origin: Origin, args: ReportConflictingProofsArgs
    ) -> None:
        """Prove that a proposer signed two different work proofs for one round: an offence (the
        caller is its reporter); its update in that round is void."""
        task = self.report_conflict(ctx, ensure_signed(origin), args.first, args.second, per_slot=False)
        first = args.first.proof
        key = TaskRound(first.task, first.round)
        if first.round >= task.next_round:
            for index, update in enumerate(Updates.get(ctx.state, key)):
                if update.proposer == first.worker and update.status in (UPDATE_COMMITTED, UPDATE_REVEALED):
                    put_at(ctx.state, Updates, key, index, replace(update, status=UPDATE_CONFLICTING))

    @call(9, CloseRoundArgs, weight=CLOSE_ROUND_WEIGHT)
    def close_round(self, ctx: DispatchContext, origin: Origin, args: CloseRoundArgs) -> None:
        """Close the task's round in its closing phase: decide, pay and penalise (the caller
        earns the reporter share of the penalties). Its last block closes it otherwise."""
        self.close_by(ctx, ensure_signed(origin), args.task)

    # --- checks -------------------------------------------------------------------------

    def is_valid_task(self, state: StateReader, args: CreateTaskArgs) -> bool:
        """2 to MAX_PARTICIPANTS participants, a proposer ratio strictly between 0 and 1, and a
        least stake of at least the existential deposit (and 1)."""
        return (
            2 <= args.min_participants <= args.max_participants <= MAX_PARTICIPANTS
            and 0 < args.proposer_ratio_parts < PERBILL_ACCURACY
            and args.min_stake >= max(1, self.currency.get_existential_deposit(state))
        )

    def get_participant_task(self, state: StateReader, task_id: int, who: bytes) -> FlTask:
        task = get_active_task(state, task_id)
        if who not in Participants.get(state, task_id):
            raise NotParticipant()
        return task

    def check_checks(self, state: StateReader, task_id: int, round_: int, checks: tuple[Claim, ...]) -> None:
        """Checks name revealed updates the round spot-checks, each once."""
        updates = Updates.get(state, TaskRound(task_id, round_))
        subjects = [check.subject for check in checks]
        if len(set(subjects)) != len(subjects):
            raise BadClaims()
        rate = get_parameters(state).spot_check_parts
        seed = get_check_seed(state, task_id, round_)
        for check in checks:
            if (
                check.kind != KIND_DISTANCE
                or check.subject >= len(updates)
                or updates[check.subject].status != UPDATE_REVEALED
                or not is_spot_checked(seed, MARKET, task_id, round_, check.subject, rate)
            ):
                raise BadClaims()

    def is_proposer(
        self, state: StateReader, task: FlTask, task_id: int, round_: int, who: bytes, proof: bytes
    ) -> bool | None:
        """Whether ``who``'s role proof makes it a proposer (True) or a voter (False) this
        round; None if the proof does not verify (a voter claim with it fails too)."""
        try:
            value = verify_vrf_value(who, get_role_input(state, task_id, round_), proof)
        except (InvalidKey, InvalidVrfProof):
            return None
        return value < compute_ratio_threshold(task.proposer_ratio_parts)

    def is_every_check_given(
        self, state: StateReader, task_id: int, round_: int, who: bytes, checks: tuple[Claim, ...]
    ) -> bool:
        """Whether ``who``'s VRF gives it a checker seat for each check, by its stake share."""
        seed = get_round_seed(state, task_id, round_)
        expected = get_parameters(state).checker_committee_size
        stake = STAKES.get(state, task_id, who)
        total = sum(STAKES.get(state, task_id, member) for member in Participants.get(state, task_id))
        for check in checks:
            alpha = compute_vrf_input(MARKET, PURPOSE_CHECK, seed, task_id, round_, check.subject)
            if not is_seat_given(who, alpha, check.vrf_proof, expected, stake, total):
                return False
        return True

    # --- closing a round ----------------------------------------------------------------

    def close(self, ctx: DispatchContext, task_id: int, task: FlTask, reporter: bytes | None) -> None:
        """Close the task's next round (module docstring)."""
        round_ = task.next_round
        parameters = get_parameters(ctx.state)
        penalties: dict[bytes, int] = {}
        updates = self.settle_updates(ctx, task_id, round_, parameters, penalties)
        votes = self.settle_votes(ctx, task_id, round_, parameters, penalties)
        updates = self.settle_spot_checks(ctx, task_id, task, round_, updates, votes)
        inputs = sorted((update for update in updates if update.proof is not None), key=lambda u: u.proposer)
        aggregate_id = compute_aggregate_id(task.global_model_root, [u.proof.update_root for u in inputs])  # type: ignore[union-attr]
        revealed = [
            (vote, STAKES.get(ctx.state, task_id, vote.voter)) for vote in votes if vote.status == VOTE_REVEALED
        ]
        revealed = [(vote, weight) for vote, weight in revealed if weight > 0]
        available = get_pool_available(self.currency, ctx.state, get_task_account(task_id))
        reward = compute_round_reward(available, task.schedule.rounds - round_)
        result = FlRoundResult(
            ROUND_MISSED, ctx.block.number, aggregate_id, task.global_model_root, None, reward, (), ()
        )
        if inputs and revealed and len(inputs) + len(revealed) >= task.min_participants:
            if any(update.status != UPDATE_REVEALED for update in inputs):
                result = replace(result, outcome=ROUND_VOIDED)
            else:
                result = self.decide(ctx, task_id, round_, inputs, revealed, result, parameters, penalties)
        result = replace(result, penalties=self.apply_penalties(ctx, task_id, round_, penalties, reporter))
        if result.outcome == ROUND_ACCEPTED:
            task = replace(task, global_model_root=result.global_model_root)
            GlobalModels.put(ctx.state, TaskRound(task_id, round_), result.global_model_root)
        self.finish_round(ctx, task_id, task, round_, result)

    def settle_updates(
        self,
        ctx: DispatchContext,
        task_id: int,
        round_: int,
        parameters: AllianceParameters,
        penalties: dict[bytes, int],
    ) -> tuple[Update, ...]:
        """Unrevealed updates cost their missed-reveal penalty; unanswered challenges void their
        update and are reported (the challenger's deposit is returned)."""
        key = TaskRound(task_id, round_)
        updates = self.settle_work(ctx, key, parameters, penalties)
        Updates.put(ctx.state, key, tuple(updates))
        return tuple(updates)

    def settle_votes(
        self,
        ctx: DispatchContext,
        task_id: int,
        round_: int,
        parameters: AllianceParameters,
        penalties: dict[bytes, int],
    ) -> tuple[Vote, ...]:
        key = TaskRound(task_id, round_)
        votes = list(Votes.get(ctx.state, key))
        missed = parameters.missed_reveal_slash_parts
        note_missed_reveals(votes, attrgetter("voter"), VOTE_COMMITTED, VOTE_UNREVEALED, missed, penalties)
        Votes.put(ctx.state, key, tuple(votes))
        return tuple(votes)

    def settle_spot_checks(
        self,
        ctx: DispatchContext,
        task_id: int,
        task: FlTask,
        round_: int,
        updates: tuple[Update, ...],
        votes: tuple[Vote, ...],
    ) -> tuple[Update, ...]:
        """An update whose checkers' stake-weighted median distance exceeds the tolerance fails
        its spot check: void, and its proposer reported."""
        distances: dict[int, list[tuple[int, int]]] = {}
        for vote in votes:
            weight = STAKES.get(ctx.state, task_id, vote.voter)
            if vote.status == VOTE_REVEALED and weight:
                for item, value in zip(vote.items[1:], vote.values[1:]):
                    distances.setdefault(item.subject, []).append((value, weight))
        checked = list(updates)
        for subject, entries in sorted(distances.items()):
            update = updates[subject]
            if update.status == UPDATE_REVEALED and compute_weighted_median(entries) > task.tolerance:
                checked[subject] = replace(update, status=UPDATE_FAILED_CHECK)
                self.report_fault(ctx, KIND_FAILED_SPOT_CHECK, update.proposer, (task_id, round_, subject), None)
        if checked != list(updates):
            Updates.put(ctx.state, TaskRound(task_id, round_), tuple(checked))
        return tuple(checked)

    def decide(
        self,
        ctx: DispatchContext,
        task_id: int,
        round_: int,
        inputs: list[Update],
        revealed: list[tuple[Vote, int]],
        result: FlRoundResult,
        parameters: AllianceParameters,
        penalties: dict[bytes, int],
    ) -> FlRoundResult:
        """Accept or reject by the voters' stake-weighted median score and majority root; pay
        those the outcome rewards their share of the round's reward (pro rata to the stake of all
        active participants); note the penalties."""
        median = compute_weighted_median([(vote.values[0], weight) for vote, weight in revealed])
        majority = compute_majority_root([(vote.aggregate_root, weight) for vote, weight in revealed])
        accepted = median >= 0 and majority is not None
        agreeing = [
            vote.voter for vote, _ in revealed if is_agreeing(accepted, vote.values[0], vote.aggregate_root, majority)
        ]
        # Every active participant's share by stake; only those the outcome rewards are paid, the
        # other shares stay in the pool: a voter earns the same whichever way the round goes.
        active = [*(update.proposer for update in inputs), *(vote.voter for vote, _ in revealed)]
        shares = compute_pro_rata(result.reward, [(who, STAKES.get(ctx.state, task_id, who)) for who in active])
        rewarded = {*agreeing, *(update.proposer for update in inputs if accepted)}
        rewards = tuple(
            Payout(who, amount)
            for who, amount in shares
            if who in rewarded and amount and self.pay(ctx, task_id, round_, who, amount)
        )
        if not accepted:
            for update in inputs:
                penalties[update.proposer] = max(
                    penalties.get(update.proposer, 0), parameters.rejected_proposer_slash_parts
                )
        outliers = [(vote.voter, vote.voter not in agreeing) for vote, _ in revealed]
        self.count_outliers(ctx, task_id, parameters, outliers, penalties)
        return replace(
            result,
            outcome=ROUND_ACCEPTED if accepted else ROUND_REJECTED,
            global_model_root=majority if accepted and majority is not None else result.global_model_root,
            median_score=median,
            rewards=rewards,
        )

    def finish_round(
        self, ctx: DispatchContext, task_id: int, task: FlTask, round_: int, result: FlRoundResult
    ) -> None:
        RoundResults.put(ctx.state, TaskRound(task_id, round_), result)
        ctx.deposit_event(RoundClosed(task_id, round_, result.outcome, result.global_model_root))
        task = replace(task, next_round=round_ + 1)
        if result.outcome == ROUND_MISSED:
            self.end_task(ctx, task_id, replace(task, status=TASK_ENDED_EARLY))
        elif round_ + 1 == task.schedule.rounds:
            self.end_task(ctx, task_id, replace(task, status=TASK_ENDED))
        else:
            Tasks.put(ctx.state, task_id, task)

    def end_task(self, ctx: DispatchContext, task_id: int, task: FlTask) -> None:
        """Release every stake in the task (kept on hold while a slash waits), return the pool to
        the ML reward pool and drop the task from the active ones."""
        era = self.staking.get_current_era(ctx.state)
        for who in (task.creator, *Participants.get(ctx.state, task_id)):
            STAKES.release(ctx, self.currency, task_id, who, era)
            OutlierStreaks.remove(ctx.state, TaskAccount(task_id, who))
        self.retire_task(ctx, task_id, task)

    # --- the offender handler (its participants) ----------------------------------------

    def get_population(self, state: StateReader, era: int) -> int:
        return sum(len(Participants.get(state, task_id)) for task_id in get_active_tasks(state))

    # --- invariants ---------------------------------------------------------------------

    def find_task_problems(self, state: StateReader) -> list[str]:
        tasks = dict(Tasks.iter(state))
        problems = self.find_index_problems(state, tasks)
        active = get_active_tasks(state)
        staked: dict[int, set[bytes]] = {}
        for key, _ in STAKES.staked.iter(state):
            staked.setdefault(key.task, set()).add(key.who)
        for task_id in active:
            task = tasks[task_id]
            members = (task.creator, *Participants.get(state, task_id))
            if len(set(members)) != len(members) or not staked.get(task_id, set()) <= set(members):
                problems.append(f"task {task_id}: a stake belongs to no creator or participant, or one has two")
            problems += self.find_active_task_problems(state, task_id, task)
        if not set(staked) <= set(active):
            problems.append("an ended task keeps stakes")
        return problems

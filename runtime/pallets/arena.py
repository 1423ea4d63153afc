"""arena: AI Arena. Task creators post training tasks, trainers submit models as ML work proofs,
evaluators score them on held-out data, and each round's reward pays both by FLock's rules.

**A task** (``create_task``): the creator holds a stake (``creatorMinStake`` or more) and pays
a budget (at least the existential deposit) into the task's own account
(``compute_task_account(b"arena", id)``), which also receives the task's part of emission
(``runtime/pallets/emission.py``: the ML part of each block, spread over tasks by stake). It
fixes the model spec root, the training-data commitment, one held-out evaluation-data
commitment per round (``compute_data_commitment(root, salt)``, revealed only after that round's
submissions close), the metric and its direction, the schedule (``rounds`` rounds of
``round_blocks`` blocks from the next block on) and each trainer's submissions per round: one per
``stake_per_submission`` of its stake, at most ``max_submissions``.

**Stakes** (``runtime/framework/mlstakes.py``): trainers pay ``registrationFee`` (to the
treasury or the task's pool, ``feeToTreasury``) and stake, evaluators stake, anyone may
delegate to a trainer or evaluator that has declared its share σ (``set_delegate_share``, at
most once per ``shareChangePeriodBlocks``, never upwards while stake is delegated to it), all in
a round's commit window: stakes never change while roles are claimed and scores weighed. Every
stake is on the hold ``arena/st`` until the task ends. One stake per account and task: a creator
cannot train on its own task.

**A round** ``r`` (``mlwork.compute_round_phase``; ``C``, ``R`` the windows):

1. ``[0, C)``: trainers ``commit_submission`` (``compute_commitment(trainer, proof, salt)``).
2. ``[C, C+R)``: trainers ``reveal_submission`` (the signed work proof and the salt; its parent
   must be the task's model spec root); the creator ``reveal_eval_data`` of the round.
3. ``[C+R, 2C+R)``: evaluators ``commit_scores``: each claimed item (score a submission, or
   report a spot check's distance) carries the evaluator's VRF proof that the round's seed
   gives it that role (a committee of ``committeeSize`` by stake; spot checks pick submissions
   with probability ``spotCheckPerbill``, drawn from the round's check seed, which the first
   reveal block fixes, and a committee of ``checkerCommitteeSize``). Anyone
   may ``challenge_data`` of a revealed submission (a deposit); its trainer must
   ``answer_challenge`` with the drawn chunk and its Merkle proof within
   ``challengeResponseBlocks``.
4. ``[2C+R, 2C+2R)``: evaluators ``reveal_scores``.
5. closing: anyone may ``close_round`` (and earns the reporter share of its penalties); the
   round's last block closes it otherwise.

**Closing** a round: unrevealed commits cost ``missedRevealSlashPerbill`` of their stake; an
unanswered challenge and a spot check whose stake-weighted median distance exceeds the task's
tolerance are offences (the submission is void); of revealed submissions sharing an update
root only the earliest counts. Each submission's consensus score is the stake-weighted median
of its evaluators' scores (``mlwork.compute_consensus``); trainers rank by their best
submission (the task's direction, ties to the earliest commit). The round pays
``floor(pool / rounds left)``: evaluators ``R·(γ + (1−2γ)·Σs/(Σt+Σs))``, trainers the rest, a
trainer by ``ρ^(rank−1) × stake``, an evaluator by ``stake × closeness`` (its mean closeness to
the consensus over its scores; outside the clip band 0). An evaluator clipped in
``outlierRounds`` rounds in a row loses ``outlierSlashPerbill`` of its stake. A delegate's
reward is split as staking splits a validator's (σ first, then pro rata to the stakes behind
it). Penalties go to the task's pool, the reporter share to whoever closed the round.

**Faults** proven on chain are offences (``runtime/pallets/offences.py``, this pallet their
handler; slashed ``faultSlashPerbill`` of everything the offender stakes here): a reveal that
does not match its commit, two different work proofs signed for one slot
(``report_conflicting_proofs``), a role claimed without the VRF giving it, data withheld, a
failed spot check. If the creator never reveals a round's evaluation data the task is
abandoned: the creator loses ``creatorSlashPerbill`` of its stake, the pool is shared among
trainers and evaluators by stake. ``docs/ml-work.md`` has the formulas and a worked example.
"""

from __future__ import annotations

from dataclasses import replace
from operator import attrgetter
from typing import Annotated

from runtime.abc import StateReader
from runtime.accounts import TREASURY_ACCOUNT
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
    ATTESTATION_OFFENCE_SUBJECT,
    KIND_DISTANCE,
    KIND_SCORE,
    MARKET_ARENA,
    MAX_CHUNK_SIZE,
    MAX_CLAIMS,
    MAX_PROOF_DEPTH,
    PHASE_ATTEST,
    PHASE_ATTEST_REVEAL,
    PHASE_COMMIT,
    PHASE_REVEAL,
    PURPOSE_CHECK,
    PURPOSE_COMMITTEE,
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
    compute_backed_split,
    compute_closeness_parts,
    compute_commitment,
    compute_consensus,
    compute_data_commitment,
    compute_evaluator_part,
    compute_pro_rata,
    compute_rank_weight,
    compute_ranking,
    compute_round_phase,
    compute_round_reward,
    compute_vrf_input,
    compute_weighted_median,
    is_seat_given,
    is_spot_checked,
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

NAME = "arena"

# --- config -------------------------------------------------------------------------------

MARKET = MARKET_ARENA
HOLD_STAKE = b"arena/st"  # every stake in every task
HOLD_CHALLENGE = b"arena/ch"  # a data challenge's deposit, until it is answered or expires
TASK_ACCOUNT_PREFIX = b"arena"

MAX_ACTIVE_TASKS = 16
MAX_ROUNDS = 32
MAX_TRAINERS = 16  # per task
MAX_EVALUATORS = 16  # per task
MAX_DELEGATORS = 8  # per trainer or evaluator and task
MAX_SUBMISSIONS_PER_TRAINER = 4  # per round
MAX_SUBMISSIONS_PER_ROUND = 64
MAX_CHALLENGES_PER_ROUND = 16
MAX_PAYOUTS = (MAX_TRAINERS + MAX_EVALUATORS) * (1 + MAX_DELEGATORS)
MAX_PENALTIES = MAX_TRAINERS + MAX_EVALUATORS + 1
# Closing a round at its worst (every payout and penalty a transfer, the scores' medians), by
# ``close_round`` or by the round's last block, whose hooks weigh it in advance.
CLOSE_ROUND_WEIGHT = 50_000_000

TASK_ACTIVE = 0
TASK_ENDED = 1
TASK_ABANDONED = 2  # the creator did not reveal a round's evaluation data

SUBMISSION_COMMITTED = 0
SUBMISSION_REVEALED = 1
SUBMISSION_UNREVEALED = 2
SUBMISSION_BAD_REVEAL = 3
SUBMISSION_CONFLICTING = 4
SUBMISSION_WITHHELD = 5
SUBMISSION_FAILED_CHECK = 6
SUBMISSION_DUPLICATE = 7

ATTESTATION_COMMITTED = 0
ATTESTATION_REVEALED = 1
ATTESTATION_UNREVEALED = 2
ATTESTATION_BAD_REVEAL = 3

ROUND_SCORED = 0
ROUND_ABANDONED = 1

# Offence kinds (ids are permanent; validators' are 0-2, the FL Alliance's 20-24).
KIND_BAD_REVEAL = 10
KIND_CONFLICTING_PROOFS = 11
KIND_FALSE_ROLE = 12
KIND_DATA_WITHHELD = 13
KIND_FAILED_SPOT_CHECK = 14
OFFENCE_KINDS = {
    KIND_BAD_REVEAL: "arena: a reveal that does not match its commit",
    KIND_CONFLICTING_PROOFS: "arena: two different work proofs signed for one slot",
    KIND_FALSE_ROLE: "arena: a role claimed without the VRF giving it",
    KIND_DATA_WITHHELD: "arena: a challenged chunk not served in time",
    KIND_FAILED_SPOT_CHECK: "arena: a trace segment its checkers could not replay",
}


@record
class ArenaParameters(Record):
    """Set per chain spec; governance may change them (running tasks keep their windows)."""

    creator_min_stake: Balance
    trainer_min_stake: Balance
    evaluator_min_stake: Balance
    registration_fee: Balance  # a trainer pays it when it registers
    fee_to_treasury: Boolean  # the fee goes to the treasury (True) or the task's pool
    gamma_parts: U32  # γ: the evaluators' least share of a round's reward (at most half)
    rho_parts: U32  # ρ: a trainer's weight shrinks by this factor per rank
    commit_blocks: U32  # C
    reveal_blocks: U32  # R
    committee_size: U32  # evaluators expected to score each submission
    checker_committee_size: U32  # checkers expected per spot-checked submission
    spot_check_parts: U32  # probability that a submission is spot-checked
    clip_band: U64  # a score farther than this from the consensus is an outlier (fixed point)
    outlier_rounds: U32  # rounds in a row as an outlier before the outlier slash
    outlier_slash_parts: U32
    missed_reveal_slash_parts: U32  # a commit never revealed
    creator_slash_parts: U32  # evaluation data never revealed
    fault_slash_parts: U32  # a provable fault (an offence): of everything staked here
    reporter_parts: U32  # the reporter's share of a penalty (the rest goes to the task's pool)
    challenge_deposit: Balance
    challenge_response_blocks: U32  # at most R, so an answer comes before the round ends
    share_change_period_blocks: U32  # a delegate's share σ changes at most once per period


DEFAULT_PARAMETERS = ArenaParameters(
    creator_min_stake=1_000,
    trainer_min_stake=1_000,
    evaluator_min_stake=1_000,
    registration_fee=0,
    fee_to_treasury=False,
    gamma_parts=100_000_000,
    rho_parts=500_000_000,
    commit_blocks=2,
    reveal_blocks=2,
    committee_size=3,
    checker_committee_size=2,
    spot_check_parts=0,
    clip_band=100_000_000,
    outlier_rounds=3,
    outlier_slash_parts=10_000_000,
    missed_reveal_slash_parts=10_000_000,
    creator_slash_parts=100_000_000,
    fault_slash_parts=100_000_000,
    reporter_parts=100_000_000,
    challenge_deposit=1_000,
    challenge_response_blocks=1,
    share_change_period_blocks=2_592_000,
)


class BadParameters(DispatchError):
    """The parameters are out of range (see check_parameters)."""

    code = 0


PARAMETERS = PalletParameters(NAME, __name__, ArenaParameters, DEFAULT_PARAMETERS, BadParameters)
STAKES = MarketStakes(NAME, HOLD_STAKE)

# --- storage ------------------------------------------------------------------------------


@record
class ArenaTask(Record):
    creator: AccountId
    model_spec_root: Hash32
    training_data_commitment: Hash32
    eval_data_commitments: Annotated[tuple, ListOf(Hash32, MAX_ROUNDS)]  # one per round
    metric: U8  # what the scores measure (a code the task's workers agree on)
    higher_is_better: Boolean  # the metric's direction
    schedule: Schedule
    budget: Balance  # what the creator paid into the task's pool
    max_submissions: U8  # per trainer and round
    stake_per_submission: Balance  # a trainer may submit once per this much stake
    tolerance: U64  # spot checks: the largest relative L2 distance of a replay (fixed point)
    next_round: U32  # the round to close next
    status: U8  # TASK_*


@record
class Submission(Record):
    trainer: AccountId
    slot: U8
    commitment: Hash32
    committed_at: U32
    status: U8  # SUBMISSION_*
    proof: Annotated[MlWorkProof | None, OptionOf(MlWorkProof)]  # once revealed


@record
class Attestation(Record):
    evaluator: AccountId
    items: Annotated[tuple, ListOf(ClaimedItem, MAX_CLAIMS)]
    commitment: Hash32
    status: U8  # ATTESTATION_*
    values: Annotated[tuple, ListOf(I64, MAX_CLAIMS)]  # once revealed, one per item


@record
class DelegateShare(Record):
    share_parts: U32  # σ: the delegate's cut of its reward before the rest is shared
    changed_at: U32


@record
class SubmissionScore(Record):
    subject: U16
    status: U8  # SUBMISSION_* after the round closed
    consensus: Annotated[int | None, OptionOf(I64)]  # None: nobody scored it (or void)
    rank: U8  # its trainer's rank if this is its best submission; 0 otherwise


@record
class EvaluatorResult(Record):
    evaluator: AccountId
    closeness_parts: U32  # mean closeness to the consensus over its scores
    clipped: Boolean  # an outlier on at least one submission


@record
class RoundResult(Record):
    outcome: U8  # ROUND_*
    closed_at: U32
    reward: Balance  # what the round could pay: floor(pool / rounds left)
    evaluator_part: Balance
    scores: Annotated[tuple, ListOf(SubmissionScore, MAX_SUBMISSIONS_PER_ROUND)]
    evaluators: Annotated[tuple, ListOf(EvaluatorResult, MAX_EVALUATORS)]
    rewards: Annotated[tuple, ListOf(Payout, MAX_PAYOUTS)]
    penalties: Annotated[tuple, ListOf(Payout, MAX_PENALTIES)]


NextTaskId = StorageValue(NAME, "NextTaskId", U32, 0)
# Tasks whose rounds still run, increasing: every block visits them (a map cannot be listed
# without a scan of the state).
ActiveTasks = StorageValue(NAME, "ActiveTasks", Annotated[tuple, ListOf(U32, MAX_ACTIVE_TASKS)], ())
# Every task ever created (kept after it ends: the provenance of its models).
Tasks = StorageMap(NAME, "Tasks", U32, ArenaTask)
Trainers = StorageMap(NAME, "Trainers", U32, Annotated[tuple, ListOf(AccountId, MAX_TRAINERS)], ())
Evaluators = StorageMap(NAME, "Evaluators", U32, Annotated[tuple, ListOf(AccountId, MAX_EVALUATORS)], ())
DelegateShares = StorageMap(NAME, "DelegateShares", AccountId, DelegateShare)
# A delegator's delegate in a task (its stake is in STAKES), and each delegate's delegators.
Delegations = StorageMap(NAME, "Delegations", TaskAccount, AccountId)
Delegators = StorageMap(NAME, "Delegators", TaskAccount, Annotated[tuple, ListOf(AccountId, MAX_DELEGATORS)], ())
# Rounds in a row an evaluator was an outlier.
OutlierStreaks = StorageMap(NAME, "OutlierStreaks", TaskAccount, U32, 0)
# The epoch randomness when the round began: the VRF input of its roles.
RoundSeeds = StorageMap(NAME, "RoundSeeds", TaskRound, Hash32)
# The seed of the round's spot checks, fixed in its first reveal block (mlwork.compute_check_seed).
CheckSeeds = StorageMap(NAME, "CheckSeeds", TaskRound, Hash32)
Submissions = StorageMap(
    NAME, "Submissions", TaskRound, Annotated[tuple, ListOf(Submission, MAX_SUBMISSIONS_PER_ROUND)], ()
)
EvalData = StorageMap(NAME, "EvalData", TaskRound, Hash32)  # revealed evaluation-data roots
Attestations = StorageMap(NAME, "Attestations", TaskRound, Annotated[tuple, ListOf(Attestation, MAX_EVALUATORS)], ())
Challenges = StorageMap(
    NAME, "Challenges", TaskRound, Annotated[tuple, ListOf(Challenge, MAX_CHALLENGES_PER_ROUND)], ()
)
RoundResults = StorageMap(NAME, "RoundResults", TaskRound, RoundResult)

# --- events -------------------------------------------------------------------------------


@record
class TaskCreated(Record):
    task: U32
    creator: AccountId
    account: AccountId  # the task's pool
    start: U32
    rounds: U32


@record
class TrainerRegistered(Record):
    task: U32
    who: AccountId
    stake: Balance
    fee: Balance


@record
class EvaluatorRegistered(Record):
    task: U32
    who: AccountId
    stake: Balance


@record
class DelegateShareSet(Record):
    who: AccountId
    share_parts: U32


@record
class Delegated(Record):
    task: U32
    delegator: AccountId
    delegate: AccountId
    amount: Balance


@record
class SubmissionCommitted(Record):
    task: U32
    round: U32
    index: U16
    trainer: AccountId
    slot: U8


@record
class SubmissionRevealed(Record):
    task: U32
    round: U32
    index: U16
    update_root: Hash32


@record
class EvalDataRevealed(Record):
    task: U32
    round: U32
    data_root: Hash32


@record
class ScoresCommitted(Record):
    task: U32
    round: U32
    evaluator: AccountId
    items: U16


@record
class ScoresRevealed(Record):
    task: U32
    round: U32
    evaluator: AccountId


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
    """A provable fault, reported to the offences pallet (``reported`` False: it refused it,
    e.g. the same offence was reported already)."""

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
    paid: Balance


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
    returned: Balance  # what the task's pool returned to the ML reward pool


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
    """The task is malformed: rounds, commitments, round length, submissions or budget."""

    code = 4


class StakeTooLow(DispatchError):
    """The stake is below the role's minimum."""

    code = 5


class InsufficientBalance(DispatchError):
    """The account cannot pay the stake, budget, fee or deposit from its usable balance."""

    code = 6


class AlreadyStaked(DispatchError):
    """The account stakes in this task already (one stake per account and task)."""

    code = 7


class TooManyParticipants(DispatchError):
    """The task has as many trainers, evaluators or delegators as it may."""

    code = 8


class RegistrationClosed(DispatchError):
    """The task's last commit window has closed."""

    code = 9


class NotTrainer(DispatchError):
    """The caller is not a trainer of this task (or not the submission's)."""

    code = 10


class NotEvaluator(DispatchError):
    """The caller is not an evaluator of this task."""

    code = 11


class NotCreator(DispatchError):
    """Only the task's creator may do this."""

    code = 12


class WrongPhase(DispatchError):
    """The round is not in the phase this call belongs to."""

    code = 13


class SubmissionLimit(DispatchError):
    """The trainer's stake allows no more submissions this round (or the round is full)."""

    code = 14


class NoSuchSubmission(DispatchError):
    """No submission of this round has that index, or it is not open to this."""

    code = 15


class BadProof(DispatchError):
    """The work proof is not for this task, round, worker and slot, has the wrong parent, is
    malformed or its signature does not verify."""

    code = 16


class BadDataReveal(DispatchError):
    """The evaluation data does not match the round's commitment, or was revealed already."""

    code = 17


class EvalDataMissing(DispatchError):
    """The round's evaluation data is not revealed yet: nothing can be scored."""

    code = 18


class AlreadyCommitted(DispatchError):
    """The evaluator has committed its scores for this round already."""

    code = 19


class BadClaims(DispatchError):
    """The claimed items are empty, too many, repeated, or name a subject that is not a
    revealed submission (a distance: not one the round spot-checks)."""

    code = 20


class NothingCommitted(DispatchError):
    """There is no commitment of the caller to reveal in this round."""

    code = 21


class BadValues(DispatchError):
    """One value per claimed item, and a distance is never negative."""

    code = 22


class NoSuchChallenge(DispatchError):
    """No challenge of this round has that index, or it is answered already."""

    code = 23


class ChallengeExpired(DispatchError):
    """The challenge's deadline has passed."""

    code = 24


class BadChunk(DispatchError):
    """The chunk is too large or its Merkle proof does not lead to the update root."""

    code = 25


class TooManyChallenges(DispatchError):
    """The round carries MAX_CHALLENGES_PER_ROUND challenges, or this submission one already;
    a trainer cannot challenge its own."""

    code = 26


class NotConflicting(DispatchError):
    """The two proofs are not two different valid proofs by one worker for one slot of an
    active task of this market."""

    code = 27


class NotDelegate(DispatchError):
    """The target is not a trainer or evaluator of the task that declared its share."""

    code = 28


class ShareChangeTooSoon(DispatchError):
    """A delegate's share may change once per shareChangePeriodBlocks."""

    code = 29


class BadShare(DispatchError):
    """A share is at most 10^9 parts."""

    code = 30


class NothingToWithdraw(DispatchError):
    """Nothing is unbonding, or a slash may still apply to it."""

    code = 31


class NotClosable(DispatchError):
    """The round is not in its closing phase."""

    code = 32


class ShareLocked(DispatchError):
    """A delegate's share may not rise while stake in an active task is delegated to it."""

    code = 33


# --- calls' arguments ---------------------------------------------------------------------


@record
class CreateTaskArgs(Record):
    model_spec_root: Hash32
    training_data_commitment: Hash32
    eval_data_commitments: Annotated[tuple, ListOf(Hash32, MAX_ROUNDS)]
    metric: U8
    higher_is_better: Boolean
    rounds: U32
    round_blocks: U32
    budget: Balance
    max_submissions: U8
    stake_per_submission: Balance
    tolerance: U64
    stake: Balance


@record
class RegisterTrainerArgs(Record):
    task: U32
    stake: Balance


@record
class RegisterEvaluatorArgs(Record):
    task: U32
    stake: Balance


@record
class SetDelegateShareArgs(Record):
    share_parts: U32


@record
class DelegateArgs(Record):
    task: U32
    delegate: AccountId
    amount: Balance


@record
class CommitSubmissionArgs(Record):
    task: U32
    commitment: Hash32


@record
class RevealSubmissionArgs(Record):
    task: U32
    index: U16
    signed: SignedMlWorkProof
    salt: Hash32


@record
class RevealEvalDataArgs(Record):
    task: U32
    round: U32
    data_root: Hash32
    salt: Hash32


@record
class CommitScoresArgs(Record):
    task: U32
    claims: Annotated[tuple, ListOf(Claim, MAX_CLAIMS)]
    commitment: Hash32


@record
class RevealScoresArgs(Record):
    task: U32
    values: Annotated[tuple, ListOf(I64, MAX_CLAIMS)]
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


def compute_submission_limit(task: ArenaTask, stake: int) -> int:
    """One submission per ``stake_per_submission`` of the trainer's stake, at least one, at
    most the task's ``max_submissions``."""
    return max(1, min(task.max_submissions, stake // task.stake_per_submission))


def compute_duplicates(submissions: tuple[Submission, ...]) -> set[int]:
    """Revealed submissions whose update root an earlier revealed one already has."""
    seen: set[bytes] = set()
    duplicates = set()
    for index, submission in enumerate(submissions):
        if submission.status == SUBMISSION_REVEALED and submission.proof is not None:
            if submission.proof.update_root in seen:
                duplicates.add(index)
            seen.add(submission.proof.update_root)
    return duplicates


def check_parameters(parameters: ArenaParameters) -> None:
    """Fractions in range, γ at most one half, windows of at least a block, an answer to a
    challenge due within a reveal window (ValueError)."""
    fractions = (
        "gamma_parts",
        "rho_parts",
        "spot_check_parts",
        "outlier_slash_parts",
        "missed_reveal_slash_parts",
        "creator_slash_parts",
        "fault_slash_parts",
        "reporter_parts",
    )
    check_fractions(PARAMETERS, parameters, fractions)
    if 2 * parameters.gamma_parts > PERBILL_ACCURACY:
        raise ValueError("arena.gammaPerbill must be at most one half")
    check_windows(NAME, parameters)
    if parameters.committee_size == 0 or parameters.checker_committee_size == 0:
        raise ValueError("arena.committeeSize and checkerCommitteeSize must be at least 1")
    if parameters.trainer_min_stake == 0 or parameters.evaluator_min_stake == 0 or parameters.creator_min_stake == 0:
        raise ValueError("arena's minimum stakes must be at least 1")


# --- the market's parts (runtime/framework/mlmarket.py) -----------------------------------

PARTS: MarketParts[ArenaTask] = MarketParts(
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
    work=Submissions,
    worker_of=attrgetter("trainer"),
    work_committed=SUBMISSION_COMMITTED,
    work_revealed=SUBMISSION_REVEALED,
    work_unrevealed=SUBMISSION_UNREVEALED,
    work_withheld=SUBMISSION_WITHHELD,
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
        no_such_work=NoSuchSubmission,
        not_worker=NotTrainer,
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


def get_parameters(state: StateReader) -> ArenaParameters:
    return PARAMETERS.get(state)


def get_backing(state: StateReader, task_id: int, who: bytes) -> int:
    """``who``'s stake in the task and its delegators'."""
    delegators = Delegators.get(state, TaskAccount(task_id, who))
    return STAKES.get(state, task_id, who) + sum(STAKES.get(state, task_id, d) for d in delegators)


def is_delegated_to(state: StateReader, who: bytes) -> bool:
    """Whether stake in an active task is delegated to ``who``."""
    return any(Delegators.get(state, TaskAccount(task_id, who)) for task_id in get_active_tasks(state))


def is_registration_open(task: ArenaTask, now: int) -> bool:
    """Before round 0 and in each round's commit window (the last round's included). Stakes
    never change while a round's roles are claimed and its scores weighed: a committee seat is
    drawn by the evaluator's share of the evaluators' stake, so stake added in the attest
    window would turn a seat already given into a false claim (an offence)."""
    current = compute_round_phase(task.schedule, now)
    return now < task.schedule.start or (current is not None and current[1] == PHASE_COMMIT)


# --- the pallet ---------------------------------------------------------------------------


class Arena(MlMarket):
    """An ML market (:class:`~runtime.framework.mlmarket.MlMarket`: its hooks, offender handler,
    task registry, challenges, penalties and genesis are both markets'); its own are trainers,
    evaluators and their committees, delegation, scoring, ranking and the γ/ρ rewards."""

    NAME = NAME
    STORAGE = (
        PARAMETERS.storage,
        *STAKES.storage,
        NextTaskId,
        ActiveTasks,
        Tasks,
        Trainers,
        Evaluators,
        DelegateShares,
        Delegations,
        Delegators,
        OutlierStreaks,
        RoundSeeds,
        CheckSeeds,
        Submissions,
        EvalData,
        Attestations,
        Challenges,
        RoundResults,
    )
    EVENTS = (
        TaskCreated,
        TrainerRegistered,
        EvaluatorRegistered,
        DelegateShareSet,
        Delegated,
        SubmissionCommitted,
        SubmissionRevealed,
        EvalDataRevealed,
        ScoresCommitted,
        ScoresRevealed,
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
        AlreadyStaked,
        TooManyParticipants,
        RegistrationClosed,
        NotTrainer,
        NotEvaluator,
        NotCreator,
        WrongPhase,
        SubmissionLimit,
        NoSuchSubmission,
        BadProof,
        BadDataReveal,
        EvalDataMissing,
        AlreadyCommitted,
        BadClaims,
        NothingCommitted,
        BadValues,
        NoSuchChallenge,
        ChallengeExpired,
        BadChunk,
        TooManyChallenges,
        NotConflicting,
        NotDelegate,
        ShareChangeTooSoon,
        BadShare,
        NothingToWithdraw,
        NotClosable,
        ShareLocked,
    )
    CONSTANTS = {
        "market": MARKET,
        "maxActiveTasks": MAX_ACTIVE_TASKS,
        "maxRounds": MAX_ROUNDS,
        "maxTrainers": MAX_TRAINERS,
        "maxEvaluators": MAX_EVALUATORS,
        "maxDelegators": MAX_DELEGATORS,
        "maxSubmissionsPerTrainer": MAX_SUBMISSIONS_PER_TRAINER,
        "maxSubmissionsPerRound": MAX_SUBMISSIONS_PER_ROUND,
        "maxChallengesPerRound": MAX_CHALLENGES_PER_ROUND,
        "maxClaims": MAX_CLAIMS,
        "maxChunkSize": MAX_CHUNK_SIZE,
        "kindScore": KIND_SCORE,
        "kindDistance": KIND_DISTANCE,
        "purposeCommittee": PURPOSE_COMMITTEE,
        "purposeCheck": PURPOSE_CHECK,
        **{f"offenceKind{index}": kind for index, kind in enumerate(OFFENCE_KINDS)},
    }
    PARTS = PARTS

    # --- calls: tasks and stakes --------------------------------------------------------

    @call(0, CreateTaskArgs, weight=1_000_000)
    def create_task(self, ctx: DispatchContext, origin: Origin, args: CreateTaskArgs) -> None:
        """Post a task: hold ``stake``, pay ``budget`` into the task's pool; round 0 starts in
        the next block."""
        who = ensure_signed(origin)
        parameters = get_parameters(ctx.state)
        schedule = Schedule(
            ctx.block.number + 1, args.rounds, args.round_blocks, parameters.commit_blocks, parameters.reveal_blocks
        )
        self.check_new_task(ctx.state, who, args, parameters, schedule)
        task = ArenaTask(
            who,
            args.model_spec_root,
            args.training_data_commitment,
            args.eval_data_commitments,
            args.metric,
            args.higher_is_better,
            schedule,
            args.budget,
            args.max_submissions,
            args.stake_per_submission,
            args.tolerance,
            0,
            TASK_ACTIVE,
        )
        self.open_task(ctx, who, task, args.stake)

    @call(1, RegisterTrainerArgs, weight=300_000)
    def register_trainer(self, ctx: DispatchContext, origin: Origin, args: RegisterTrainerArgs) -> None:
        """Pay the registration fee and stake as a trainer of the task."""
        who = ensure_signed(origin)
        parameters = get_parameters(ctx.state)
        trainers = self.check_registration(ctx, who, args, Trainers, MAX_TRAINERS, parameters.trainer_min_stake)
        fee = parameters.registration_fee
        self.check_usable(ctx.state, who, args.stake + fee)
        if fee:
            payee = TREASURY_ACCOUNT if parameters.fee_to_treasury else get_task_account(args.task)
            self.currency.transfer(ctx, who, payee, fee, keep_alive=True)
        STAKES.add(ctx, self.currency, args.task, who, args.stake)
        Trainers.put(ctx.state, args.task, (*trainers, who))
        ctx.deposit_event(TrainerRegistered(args.task, who, args.stake, fee))

    @call(2, RegisterEvaluatorArgs, weight=300_000)
    def register_evaluator(self, ctx: DispatchContext, origin: Origin, args: RegisterEvaluatorArgs) -> None:
        """Stake as an evaluator of the task."""
        who = ensure_signed(origin)
        minimum = get_parameters(ctx.state).evaluator_min_stake
        evaluators = self.check_registration(ctx, who, args, Evaluators, MAX_EVALUATORS, minimum)
        self.check_usable(ctx.state, who, args.stake)
        STAKES.add(ctx, self.currency, args.task, who, args.stake)
        Evaluators.put(ctx.state, args.task, (*evaluators, who))
        ctx.deposit_event(EvaluatorRegistered(args.task, who, args.stake))

    @call(3, SetDelegateShareArgs, weight=100_000)
    def set_delegate_share(self, ctx: DispatchContext, origin: Origin, args: SetDelegateShareArgs) -> None:
        """Declare the share σ of its rewards the caller keeps before its delegators share the
        rest (needed before anyone may delegate to it; changes once per period, and never rises
        while stake is delegated to it: a delegator's stake stays until its task ends, so a
        raise would take rewards it staked for at the old share)."""
        who = ensure_signed(origin)
        if args.share_parts > PERBILL_ACCURACY:
            raise BadShare()
        current = DelegateShares.get(ctx.state, who)
        period = get_parameters(ctx.state).share_change_period_blocks
        if current is not None and ctx.block.number < current.changed_at + period:
            raise ShareChangeTooSoon()
        if current is not None and args.share_parts > current.share_parts and is_delegated_to(ctx.state, who):
            raise ShareLocked()
        DelegateShares.put(ctx.state, who, DelegateShare(args.share_parts, ctx.block.number))
        ctx.deposit_event(DelegateShareSet(who, args.share_parts))

    @call(4, DelegateArgs, weight=300_000)
    def delegate(self, ctx: DispatchContext, origin: Origin, args: DelegateArgs) -> None:
        """Stake ``amount`` in the task behind one of its trainers or evaluators."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        if not is_registration_open(task, ctx.block.number):
            raise RegistrationClosed()
        if STAKES.is_staked(ctx.state, args.task, who):
            raise AlreadyStaked()
        is_worker = args.delegate in Trainers.get(ctx.state, args.task) or args.delegate in Evaluators.get(
            ctx.state, args.task
        )
        if not is_worker or DelegateShares.get(ctx.state, args.delegate) is None:
            raise NotDelegate()
        key = TaskAccount(args.task, args.delegate)
        delegators = Delegators.get(ctx.state, key)
        if len(delegators) >= MAX_DELEGATORS:
            raise TooManyParticipants()
        if args.amount < self.currency.get_existential_deposit(ctx.state):
            raise StakeTooLow()
        self.check_usable(ctx.state, who, args.amount)
        STAKES.add(ctx, self.currency, args.task, who, args.amount)
        Delegations.put(ctx.state, TaskAccount(args.task, who), args.delegate)
        Delegators.put(ctx.state, key, (*delegators, who))
        ctx.deposit_event(Delegated(args.task, who, args.delegate, args.amount))

    @call(14, WithdrawUnbondedArgs, weight=200_000)
    def withdraw_unbonded(self, ctx: DispatchContext, origin: Origin, args: WithdrawUnbondedArgs) -> None:
        """Release stake kept on hold after its task ended, once no slash can apply to it."""
        self.withdraw(ctx, ensure_signed(origin))

    # Governance: new parameters for tasks created from now on (running tasks keep their
    # windows; the fractions and fees apply at once).
    set_parameters = PARAMETERS.call(15, weight=100_000)

    # --- calls: a round -----------------------------------------------------------------

    @call(5, CommitSubmissionArgs, weight=200_000)
    def commit_submission(self, ctx: DispatchContext, origin: Origin, args: CommitSubmissionArgs) -> None:
        """Commit to a work proof (``compute_commitment(trainer, proof, salt)``)."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        if who not in Trainers.get(ctx.state, args.task):
            raise NotTrainer()
        round_ = get_phase(task, ctx.block.number, PHASE_COMMIT)
        key = TaskRound(args.task, round_)
        submissions = Submissions.get(ctx.state, key)
        slot = sum(1 for submission in submissions if submission.trainer == who)
        limit = compute_submission_limit(task, STAKES.get(ctx.state, args.task, who))
        if slot >= limit or len(submissions) >= MAX_SUBMISSIONS_PER_ROUND:
            raise SubmissionLimit()
        submission = Submission(who, slot, args.commitment, ctx.block.number, SUBMISSION_COMMITTED, None)
        Submissions.put(ctx.state, key, (*submissions, submission))
        ctx.deposit_event(SubmissionCommitted(args.task, round_, len(submissions), who, slot))

    @call(6, RevealSubmissionArgs, weight=500_000)
    def reveal_submission(self, ctx: DispatchContext, origin: Origin, args: RevealSubmissionArgs) -> None:
        """Reveal a committed work proof. A proof that does not match its commitment voids the
        submission and is an offence."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        round_ = get_phase(task, ctx.block.number, PHASE_REVEAL)
        key = TaskRound(args.task, round_)
        submissions = Submissions.get(ctx.state, key)
        if args.index >= len(submissions) or submissions[args.index].status != SUBMISSION_COMMITTED:
            raise NoSuchSubmission()
        submission = submissions[args.index]
        if submission.trainer != who:
            raise NotTrainer()
        self.check_work_proof(
            ctx, args.signed, args.task, round_, submission.trainer, submission.slot, task.model_spec_root
        )
        proof = args.signed.proof
        if compute_commitment(who, proof.encode(), args.salt) != submission.commitment:
            put_at(ctx.state, Submissions, key, args.index, replace(submission, status=SUBMISSION_BAD_REVEAL))
            self.report_fault(ctx, KIND_BAD_REVEAL, who, (args.task, round_, args.index), None)
            return
        put_at(ctx.state, Submissions, key, args.index, replace(submission, status=SUBMISSION_REVEALED, proof=proof))
        ctx.deposit_event(SubmissionRevealed(args.task, round_, args.index, proof.update_root))

    @call(7, RevealEvalDataArgs, weight=200_000)
    def reveal_eval_data(self, ctx: DispatchContext, origin: Origin, args: RevealEvalDataArgs) -> None:
        """The creator reveals the round's held-out evaluation data (its root), once the
        round's submissions are closed."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        if who != task.creator:
            raise NotCreator()
        if get_phase(task, ctx.block.number, PHASE_REVEAL) != args.round:
            raise WrongPhase()
        key = TaskRound(args.task, args.round)
        committed = task.eval_data_commitments[args.round]
        if EvalData.contains(ctx.state, key) or compute_data_commitment(args.data_root, args.salt) != committed:
            raise BadDataReveal()
        EvalData.put(ctx.state, key, args.data_root)
        ctx.deposit_event(EvalDataRevealed(args.task, args.round, args.data_root))

    @call(8, CommitScoresArgs, weight=60_000_000)
    def commit_scores(self, ctx: DispatchContext, origin: Origin, args: CommitScoresArgs) -> None:
        """Commit the scores (and spot-check distances) of the claimed items, each with the VRF
        proof of the role. A claim the VRF does not give is an offence and commits nothing."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        evaluators = Evaluators.get(ctx.state, args.task)
        if who not in evaluators:
            raise NotEvaluator()
        round_ = get_phase(task, ctx.block.number, PHASE_ATTEST)
        key = TaskRound(args.task, round_)
        if not EvalData.contains(ctx.state, key):
            raise EvalDataMissing()
        attestations = Attestations.get(ctx.state, key)
        if any(attestation.evaluator == who for attestation in attestations):
            raise AlreadyCommitted()
        self.check_claims(ctx.state, args.task, round_, args.claims)
        if not self.is_claim_given(ctx.state, args.task, round_, who, evaluators, args.claims):
            self.report_fault(ctx, KIND_FALSE_ROLE, who, (args.task, round_, ATTESTATION_OFFENCE_SUBJECT), None)
            return
        items = tuple(ClaimedItem(claim.subject, claim.kind) for claim in args.claims)
        attestation = Attestation(who, items, args.commitment, ATTESTATION_COMMITTED, ())
        Attestations.put(ctx.state, key, (*attestations, attestation))
        ctx.deposit_event(ScoresCommitted(args.task, round_, who, len(items)))

    @call(9, RevealScoresArgs, weight=300_000)
    def reveal_scores(self, ctx: DispatchContext, origin: Origin, args: RevealScoresArgs) -> None:
        """Reveal the committed values, one per claimed item. Values that do not match the
        commitment void the attestation and are an offence."""
        who = ensure_signed(origin)
        task = get_active_task(ctx.state, args.task)
        round_ = get_phase(task, ctx.block.number, PHASE_ATTEST_REVEAL)
        key = TaskRound(args.task, round_)
        attestations = Attestations.get(ctx.state, key)
        index = next((i for i, a in enumerate(attestations) if a.evaluator == who), None)
        if index is None or attestations[index].status != ATTESTATION_COMMITTED:
            raise NothingCommitted()
        attestation = attestations[index]
        if len(args.values) != len(attestation.items) or any(
            value < 0 for item, value in zip(attestation.items, args.values) if item.kind == KIND_DISTANCE
        ):
            raise BadValues()
        payload = AttestationPayload(MARKET, args.task, round_, attestation.items, args.values, ZERO_HASH)
        if compute_commitment(who, payload.encode(), args.salt) != attestation.commitment:
            put_at(ctx.state, Attestations, key, index, replace(attestation, status=ATTESTATION_BAD_REVEAL))
            self.report_fault(ctx, KIND_BAD_REVEAL, who, (args.task, round_, ATTESTATION_OFFENCE_SUBJECT), None)
            return
        revealed = replace(attestation, status=ATTESTATION_REVEALED, values=tuple(args.values))
        put_at(ctx.state, Attestations, key, index, revealed)
        ctx.deposit_event(ScoresRevealed(args.task, round_, who))

    @call(10, ChallengeDataArgs, weight=300_000)
    def challenge_data(self, ctx: DispatchContext, origin: Origin, args: ChallengeDataArgs) -> None:
        """Ask the trainer of a revealed submission to serve a chunk of its update on chain
        (drawn from this block's parent hash), holding the challenge deposit."""
        self.challenge(ctx, ensure_signed(origin), args.task, args.subject)

    @call(11, AnswerChallengeArgs, weight=1_000_000)
    def answer_challenge(self, ctx: DispatchContext, origin: Origin, args: AnswerChallengeArgs) -> None:
        """Serve the challenged chunk with its Merkle proof under the update root; the
        challenger's deposit goes to the trainer."""
        self.answer(ctx, ensure_signed(origin), args.task, args.index, args.chunk, args.proof)

    @call(12, ReportConflictingProofsArgs, weight=1_000_000)
    def report_conflicting_proofs(
        self, ctx: DispatchContext, origin: Origin, args: ReportConflictingProofsArgs
    ) -> None:
        """Prove that a worker signed two different work proofs for one slot of one round: an
        offence (the caller is its reporter); the worker's submission in that slot is void."""
        task = self.report_conflict(ctx, ensure_signed(origin), args.first, args.second, per_slot=True)
        first = args.first.proof
        key = TaskRound(first.task, first.round)
        if first.round >= task.next_round:
            submissions = Submissions.get(ctx.state, key)
            for index, submission in enumerate(submissions):
                if submission.trainer == first.worker and submission.slot == first.slot:
                    put_at(ctx.state, Submissions, key, index, replace(submission, status=SUBMISSION_CONFLICTING))

    @call(13, CloseRoundArgs, weight=CLOSE_ROUND_WEIGHT)
    def close_round(self, ctx: DispatchContext, origin: Origin, args: CloseRoundArgs) -> None:
        """Close the task's round in its closing phase: score, rank, pay and penalise (the caller
        earns the reporter share of the penalties). Its last block closes it otherwise."""
        self.close_by(ctx, ensure_signed(origin), args.task)

    # --- checks -------------------------------------------------------------------------

    def is_valid_task(self, state: StateReader, args: CreateTaskArgs) -> bool:
        """One evaluation-data commitment per round, 1 to MAX_SUBMISSIONS_PER_TRAINER submissions
        per trainer, and a stake per submission."""
        return (
            len(args.eval_data_commitments) == args.rounds
            and 1 <= args.max_submissions <= MAX_SUBMISSIONS_PER_TRAINER
            and args.stake_per_submission != 0
        )

    def check_registration(
        self,
        ctx: DispatchContext,
        who: bytes,
        args: RegisterTrainerArgs | RegisterEvaluatorArgs,
        members: StorageMap[int, tuple[bytes, ...]],
        limit: int,
        minimum: int,
    ) -> tuple[bytes, ...]:
        """The role's members, if ``who`` may join them with ``args.stake``."""
        task = get_active_task(ctx.state, args.task)
        if not is_registration_open(task, ctx.block.number):
            raise RegistrationClosed()
        if STAKES.is_staked(ctx.state, args.task, who):
            raise AlreadyStaked()
        current = members.get(ctx.state, args.task)
        if len(current) >= limit:
            raise TooManyParticipants()
        if args.stake < max(minimum, self.currency.get_existential_deposit(ctx.state)):
            raise StakeTooLow()
        return current

    def check_claims(self, state: StateReader, task_id: int, round_: int, claims: tuple[Claim, ...]) -> None:
        """Claims name revealed submissions, each item once; distances only spot-checked ones."""
        submissions = Submissions.get(state, TaskRound(task_id, round_))
        items = [(claim.subject, claim.kind) for claim in claims]
        if not claims or len(set(items)) != len(items):
            raise BadClaims()
        rate = get_parameters(state).spot_check_parts
        seed = get_check_seed(state, task_id, round_)
        for claim in claims:
            if claim.subject >= len(submissions) or submissions[claim.subject].status != SUBMISSION_REVEALED:
                raise BadClaims()
            if claim.kind not in (KIND_SCORE, KIND_DISTANCE):
                raise BadClaims()
            if claim.kind == KIND_DISTANCE and not is_spot_checked(seed, MARKET, task_id, round_, claim.subject, rate):
                raise BadClaims()

    def is_claim_given(
        self,
        state: StateReader,
        task_id: int,
        round_: int,
        who: bytes,
        evaluators: tuple[bytes, ...],
        claims: tuple[Claim, ...],
    ) -> bool:
        """Whether ``who``'s VRF gives it every claimed role: a committee seat for a score, a
        checker seat for a distance, each drawn by its share of the evaluators' stake."""
        parameters = get_parameters(state)
        seed = get_round_seed(state, task_id, round_)
        stake = get_backing(state, task_id, who)
        total = sum(get_backing(state, task_id, evaluator) for evaluator in evaluators)
        for claim in claims:
            score = claim.kind == KIND_SCORE
            purpose = PURPOSE_COMMITTEE if score else PURPOSE_CHECK
            expected = parameters.committee_size if score else parameters.checker_committee_size
            alpha = compute_vrf_input(MARKET, purpose, seed, task_id, round_, claim.subject)
            if not is_seat_given(who, alpha, claim.vrf_proof, expected, stake, total):
                return False
        return True

    # --- closing a round ----------------------------------------------------------------

    def close(self, ctx: DispatchContext, task_id: int, task: ArenaTask, reporter: bytes | None) -> None:
        """Close the task's next round (module docstring): abandon the task if the round's
        evaluation data was never revealed, else settle the round."""
        round_ = task.next_round
        key = TaskRound(task_id, round_)
        if not EvalData.contains(ctx.state, key):
            self.abandon(ctx, task_id, task, reporter)
            return
        parameters = get_parameters(ctx.state)
        penalties: dict[bytes, int] = {}
        submissions = self.settle_submissions(ctx, task_id, round_, parameters, penalties)
        attestations = self.settle_attestations(ctx, key, parameters, penalties)
        values = self.collect_values(ctx.state, task_id, attestations)
        submissions = self.settle_spot_checks(ctx, task_id, task, round_, submissions, values)
        scores, closeness = self.score_submissions(submissions, attestations, values, parameters)
        ranked = self.rank_trainers(task, submissions, scores)
        available = get_pool_available(self.currency, ctx.state, get_task_account(task_id))
        reward = compute_round_reward(available, task.schedule.rounds - round_)
        evaluator_part, weights = self.compute_weights(
            ctx.state, task_id, parameters, reward, [submissions[index].trainer for index in ranked], closeness
        )
        rewards = self.pay_round(ctx, task_id, round_, reward, evaluator_part, weights)
        clipped = [(who, any(part == 0 for part in parts)) for who, parts in closeness.items()]
        self.count_outliers(ctx, task_id, parameters, clipped, penalties)
        penalties_paid = self.apply_penalties(ctx, task_id, round_, penalties, reporter)
        rank_of = {index: rank for rank, index in enumerate(ranked, 1)}
        result = RoundResult(
            ROUND_SCORED,
            ctx.block.number,
            reward,
            evaluator_part,
            tuple(
                SubmissionScore(index, submission.status, scores.get(index), rank_of.get(index, 0))
                for index, submission in enumerate(submissions)
            ),
            tuple(
                EvaluatorResult(who, compute_mean_closeness(parts), any(part == 0 for part in parts))
                for who, parts in closeness.items()
            ),
            rewards,
            penalties_paid,
        )
        self.finish_round(ctx, task_id, task, round_, result)

    def settle_submissions(
        self,
        ctx: DispatchContext,
        task_id: int,
        round_: int,
        parameters: ArenaParameters,
        penalties: dict[bytes, int],
    ) -> tuple[Submission, ...]:
        """Void what cannot count (unrevealed, withheld, duplicate) and report withheld data;
        the missed reveals' penalties are noted."""
        key = TaskRound(task_id, round_)
        submissions = self.settle_work(ctx, key, parameters, penalties)
        for index in sorted(compute_duplicates(tuple(submissions))):
            submissions[index] = replace(submissions[index], status=SUBMISSION_DUPLICATE)
        Submissions.put(ctx.state, key, tuple(submissions))
        return tuple(submissions)

    def settle_attestations(
        self, ctx: DispatchContext, key: TaskRound, parameters: ArenaParameters, penalties: dict[bytes, int]
    ) -> tuple[Attestation, ...]:
        attestations = list(Attestations.get(ctx.state, key))
        evaluator, missed = attrgetter("evaluator"), parameters.missed_reveal_slash_parts
        note_missed_reveals(attestations, evaluator, ATTESTATION_COMMITTED, ATTESTATION_UNREVEALED, missed, penalties)
        Attestations.put(ctx.state, key, tuple(attestations))
        return tuple(attestations)

    def collect_values(
        self, state: StateReader, task_id: int, attestations: tuple[Attestation, ...]
    ) -> dict[tuple[int, int], list[tuple[bytes, int, int]]]:
        """The revealed values by ``(subject, kind)``: ``(evaluator, value, its stake)``."""
        values: dict[tuple[int, int], list[tuple[bytes, int, int]]] = {}
        for attestation in attestations:
            if attestation.status != ATTESTATION_REVEALED:
                continue
            weight = get_backing(state, task_id, attestation.evaluator)
            for item, value in zip(attestation.items, attestation.values):
                values.setdefault((item.subject, item.kind), []).append((attestation.evaluator, value, weight))
        return values

    def settle_spot_checks(
        self,
        ctx: DispatchContext,
        task_id: int,
        task: ArenaTask,
        round_: int,
        submissions: tuple[Submission, ...],
        values: dict[tuple[int, int], list[tuple[bytes, int, int]]],
    ) -> tuple[Submission, ...]:
        """A submission whose checkers' median distance exceeds the task's tolerance is void,
        and its trainer reported."""
        checked = list(submissions)
        for index, submission in enumerate(submissions):
            distances = values.get((index, KIND_DISTANCE), [])
            if submission.status == SUBMISSION_REVEALED and self.is_failed_check(distances, task.tolerance):
                checked[index] = replace(submission, status=SUBMISSION_FAILED_CHECK)
                self.report_fault(ctx, KIND_FAILED_SPOT_CHECK, submission.trainer, (task_id, round_, index), None)
        if checked != list(submissions):
            Submissions.put(ctx.state, TaskRound(task_id, round_), tuple(checked))
        return tuple(checked)

    @staticmethod
    def score_submissions(
        submissions: tuple[Submission, ...],
        attestations: tuple[Attestation, ...],
        values: dict[tuple[int, int], list[tuple[bytes, int, int]]],
        parameters: ArenaParameters,
    ) -> tuple[dict[int, int], dict[bytes, list[int]]]:
        """Each valid submission's consensus score, and each evaluator's closeness to the
        consensus on every score it gave."""
        scores: dict[int, int] = {}
        closeness: dict[bytes, list[int]] = {attestation.evaluator: [] for attestation in attestations}
        for index, submission in enumerate(submissions):
            entries = [entry for entry in values.get((index, KIND_SCORE), []) if entry[2] > 0]
            if submission.status != SUBMISSION_REVEALED or not entries:
                continue
            consensus = compute_consensus([(value, weight) for _, value, weight in entries], parameters.clip_band)
            scores[index] = consensus.median
            for (who, _, _), distance in zip(entries, consensus.distances):
                closeness[who].append(compute_closeness_parts(distance, parameters.clip_band))
        return scores, {who: parts for who, parts in closeness.items() if parts}

    @staticmethod
    def is_failed_check(distances: list[tuple[bytes, int, int]], tolerance: int) -> bool:
        """The checkers' stake-weighted median distance exceeds the task's tolerance."""
        entries = [(value, weight) for _, value, weight in distances if weight > 0]
        return bool(entries) and compute_weighted_median(entries) > tolerance

    @staticmethod
    def rank_trainers(task: ArenaTask, submissions: tuple[Submission, ...], scores: dict[int, int]) -> list[int]:
        """Each trainer's best scored submission (ties to its earliest), the trainers ranked by
        them (ties to the earliest commit): submission indices, best first."""
        ranked = compute_ranking(
            [(index, score, index) for index, score in sorted(scores.items())], task.higher_is_better
        )
        best: dict[bytes, int] = {}
        for index in ranked:
            best.setdefault(submissions[index].trainer, index)
        return [index for index in ranked if best[submissions[index].trainer] == index]

    def compute_weights(
        self,
        state: StateReader,
        task_id: int,
        parameters: ArenaParameters,
        reward: int,
        ranked: list[bytes],
        closeness: dict[bytes, list[int]],
    ) -> tuple[int, list[tuple[bytes, int, bool]]]:
        """The evaluators' part of the reward and each paid participant's weight ``(who,
        weight, is_trainer)``: the ranked trainers (best first) ``ρ^(rank−1) × stake``, an
        evaluator ``stake × closeness``."""
        trainers, evaluators = Trainers.get(state, task_id), Evaluators.get(state, task_id)
        trainer_stake = sum(get_backing(state, task_id, who) for who in trainers)
        evaluator_stake = sum(get_backing(state, task_id, who) for who in evaluators)
        evaluator_part = compute_evaluator_part(reward, parameters.gamma_parts, trainer_stake, evaluator_stake)
        weights = [
            (who, compute_rank_weight(parameters.rho_parts, rank, get_backing(state, task_id, who)), True)
            for rank, who in enumerate(ranked, 1)
        ]
        weights += [
            (who, get_backing(state, task_id, who) * compute_mean_closeness(parts), False)
            for who, parts in closeness.items()
        ]
        return evaluator_part, weights

    def pay_round(
        self,
        ctx: DispatchContext,
        task_id: int,
        round_: int,
        reward: int,
        evaluator_part: int,
        weights: list[tuple[bytes, int, bool]],
    ) -> tuple[Payout, ...]:
        """Pay the trainers' part by trainer weight and the evaluators' by evaluator weight,
        each through its delegation split; a part nobody earned stays in the pool."""
        trainer_gross = compute_pro_rata(
            reward - evaluator_part, [(who, weight) for who, weight, is_trainer in weights if is_trainer]
        )
        evaluator_gross = compute_pro_rata(
            evaluator_part, [(who, weight) for who, weight, is_trainer in weights if not is_trainer]
        )
        return self.pay_gross(ctx, task_id, round_, [*trainer_gross, *evaluator_gross])

    def pay_gross(
        self, ctx: DispatchContext, task_id: int, round_: int, gross: list[tuple[bytes, int]]
    ) -> tuple[Payout, ...]:
        """Pay each delegate's gross reward through its delegation split, from the task's pool."""
        paid: dict[bytes, int] = {}
        for who, amount in gross:
            delegators = Delegators.get(ctx.state, TaskAccount(task_id, who))
            share = DelegateShares.get(ctx.state, who)
            split = compute_backed_split(
                amount,
                share.share_parts if share is not None else PERBILL_ACCURACY,
                (who, STAKES.get(ctx.state, task_id, who)),
                [(delegator, STAKES.get(ctx.state, task_id, delegator)) for delegator in delegators],
            )
            for recipient, part in split:
                if part and self.pay(ctx, task_id, round_, recipient, part):
                    paid[recipient] = paid.get(recipient, 0) + part
        return tuple(Payout(who, amount) for who, amount in paid.items())

    def abandon(self, ctx: DispatchContext, task_id: int, task: ArenaTask, reporter: bytes | None) -> None:
        """The round's evaluation data never came: the creator loses ``creatorSlashPerbill`` of
        its stake into the pool, the pool is shared among trainers and evaluators by stake, and
        the task ends."""
        round_ = task.next_round
        key = TaskRound(task_id, round_)
        for challenge in Challenges.get(ctx.state, key):
            if not challenge.answered and challenge.deposit:
                self.currency.release(ctx, HOLD_CHALLENGE, challenge.challenger, challenge.deposit)
        parameters = get_parameters(ctx.state)
        penalties = self.apply_penalties(ctx, task_id, round_, {task.creator: parameters.creator_slash_parts}, reporter)
        available = get_pool_available(self.currency, ctx.state, get_task_account(task_id))
        workers = (*Trainers.get(ctx.state, task_id), *Evaluators.get(ctx.state, task_id))
        gross = compute_pro_rata(available, [(who, get_backing(ctx.state, task_id, who)) for who in workers])
        rewards = self.pay_gross(ctx, task_id, round_, gross)
        result = RoundResult(ROUND_ABANDONED, ctx.block.number, available, 0, (), (), rewards, penalties)
        self.finish_round(ctx, task_id, replace(task, status=TASK_ABANDONED), round_, result)

    def finish_round(
        self, ctx: DispatchContext, task_id: int, task: ArenaTask, round_: int, result: RoundResult
    ) -> None:
        RoundResults.put(ctx.state, TaskRound(task_id, round_), result)
        paid = sum(payout.amount for payout in result.rewards)
        ctx.deposit_event(RoundClosed(task_id, round_, result.outcome, paid))
        task = replace(task, next_round=round_ + 1)
        if task.status == TASK_ABANDONED or round_ + 1 == task.schedule.rounds:
            self.end_task(ctx, task_id, task if task.status == TASK_ABANDONED else replace(task, status=TASK_ENDED))
        else:
            Tasks.put(ctx.state, task_id, task)

    def end_task(self, ctx: DispatchContext, task_id: int, task: ArenaTask) -> None:
        """Release every stake in the task (kept on hold while a slash waits), return the pool to
        the ML reward pool and drop the task from the active ones."""
        era = self.staking.get_current_era(ctx.state)
        trainers, evaluators = Trainers.get(ctx.state, task_id), Evaluators.get(ctx.state, task_id)
        stakers = [task.creator]
        for worker in (*trainers, *evaluators):
            stakers += [worker, *Delegators.get(ctx.state, TaskAccount(task_id, worker))]
        for who in stakers:
            STAKES.release(ctx, self.currency, task_id, who, era)
        for evaluator in evaluators:
            OutlierStreaks.remove(ctx.state, TaskAccount(task_id, evaluator))
        self.retire_task(ctx, task_id, task)

    # --- the offender handler (its workers) ---------------------------------------------

    def get_population(self, state: StateReader, era: int) -> int:
        return sum(
            len(Trainers.get(state, task_id)) + len(Evaluators.get(state, task_id))
            for task_id in get_active_tasks(state)
        )

    # --- invariants ---------------------------------------------------------------------

    def find_task_problems(self, state: StateReader) -> list[str]:
        tasks = dict(Tasks.iter(state))
        problems = self.find_index_problems(state, tasks)
        active = get_active_tasks(state)
        for task_id in active:
            problems += self._check_task(state, task_id, tasks[task_id])
        for key, _ in STAKES.staked.iter(state):
            if key.task not in active:
                problems.append(f"task {key.task} is not active but keeps the stake of {key.who.hex()}")
        return problems

    def _check_task(self, state: StateReader, task_id: int, task: ArenaTask) -> list[str]:
        where = f"task {task_id}"
        problems = []
        members = [task.creator, *Trainers.get(state, task_id), *Evaluators.get(state, task_id)]
        for worker in members[1:]:
            members += Delegators.get(state, TaskAccount(task_id, worker))
        if len(set(members)) != len(members):
            problems.append(f"{where}: an account has two stakes")
        staked = {key.who for key, _ in STAKES.staked.iter(state) if key.task == task_id}
        if not staked <= set(members):
            problems.append(f"{where}: a stake belongs to no creator, trainer, evaluator or delegator")
        return problems + self.find_active_task_problems(state, task_id, task)


def compute_mean_closeness(parts: list[int]) -> int:
    """The mean of an evaluator's closeness over its scores, rounded down (0 without scores)."""
    return sum(parts) // len(parts) if parts else 0

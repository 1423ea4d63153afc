"""What the two ML markets do alike, written once: AI Arena (``runtime/pallets/arena.py``) and FL
Alliance (``runtime/pallets/alliance.py``) are both :class:`MlMarket` pallets.

A market declares its :class:`MarketParts`: its constants, the storage items every market keeps
(the tasks and their index, the round seeds, the data challenges, the outlier streaks, the stake
book, and its **work**: a round's submissions or updates, records with a ``status`` and, once
revealed, a ``proof``), its events and its errors. The base class does with them what both
markets do the same way:

* tasks: the reads (a task, the active ones, its pool account, the phase of its round, the
  round's seeds), opening a task (the creator's budget and stake) and retiring an ended one (its
  pool back to the ML reward pool); emission's ``MlTaskRegistry``;
* hooks: a round's seed when it starts and its check seed in its first reveal block, the weight
  of the closes to come, and closing a round nobody closed in its last block;
* faults: the offence kinds (each slashing ``faultSlashPerbill``), reporting a proven fault, two
  different signed work proofs, and the offender handler over the stake book;
* data challenges: opening one on revealed work, answering it, and at the round's close the
  unanswered ones (deposit returned, data withheld reported);
* payouts and penalties: paying from a task's pool, market penalties with the closer's share,
  outlier streaks;
* stakes and parameters: withdrawing unbonded stake, the checks both markets' parameters share,
  genesis, and the invariants both keep.

Every call stays declared in its pallet, with its index, arguments and documentation, and calls
into this code; the storage items, events and errors are the pallet's own, so its metadata and
storage keys do not depend on what is shared. What only one market does stays in its pallet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

from runtime.abc import StateReader
from runtime.errors import InvalidKey, InvalidProof, InvalidSignature
from runtime.framework.mlstakes import MarketStakes, is_receivable, return_pool
from runtime.framework.mlwork import (
    PHASE_ATTEST,
    PHASE_CLOSING,
    Challenge,
    Payout,
    Schedule,
    SignedMlWorkProof,
    TaskAccount,
    TaskRound,
    compute_challenge_chunk,
    compute_check_seed,
    compute_min_round_blocks,
    compute_round_end,
    compute_round_phase,
    compute_round_start,
    compute_task_account,
    verify_work_proof,
)
from runtime.framework.pallet import DispatchContext, DispatchError, Pallet
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageMap, StorageValue
from runtime.framework.traits import (
    Currency,
    EpochRandomness,
    OffenceKind,
    OffenceReporter,
    SlashingInterface,
    StakingInterface,
)
from runtime.framework.weights import READ_WEIGHT, WRITE_WEIGHT
from runtime.primitives.arithmetic import PERBILL_ACCURACY, U32_MAX, Perbill
from runtime.primitives.codec import Record
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.merkle import verify_merkle_proof

T = TypeVar("T")  # the market's task record


@dataclass(frozen=True)
class MarketEvents:
    """The market's own event records for what the shared code does (fields as listed)."""

    task_created: type[Record]  # task, creator, account, start, rounds
    data_challenged: type[Record]  # task, round, subject, challenger, chunk, deadline
    challenge_answered: type[Record]  # task, round, subject
    fault_recorded: type[Record]  # kind, offender, task, round, reported
    rewarded: type[Record]  # task, round, who, amount
    penalised: type[Record]  # task, round, who, amount, to_reporter
    task_ended: type[Record]  # task, status, returned
    withdrawn: type[Record]  # who, amount


@dataclass(frozen=True)
class MarketErrors:
    """The market's own errors (its codes) for what the shared code refuses."""

    no_such_task: type[DispatchError]
    task_not_active: type[DispatchError]
    too_many_tasks: type[DispatchError]
    bad_task: type[DispatchError]
    stake_too_low: type[DispatchError]
    insufficient_balance: type[DispatchError]
    wrong_phase: type[DispatchError]
    bad_proof: type[DispatchError]
    no_such_work: type[DispatchError]  # no revealed work of the round has that index
    not_worker: type[DispatchError]  # the caller did not do the work
    no_such_challenge: type[DispatchError]
    challenge_expired: type[DispatchError]
    bad_chunk: type[DispatchError]
    too_many_challenges: type[DispatchError]
    not_conflicting: type[DispatchError]
    nothing_to_withdraw: type[DispatchError]
    not_closable: type[DispatchError]


@dataclass(frozen=True)
class MarketParts(Generic[T]):
    """What a market pallet declares for the shared code, and the reads of its tasks."""

    market: int  # MARKET_ARENA or MARKET_ALLIANCE
    task_account_prefix: bytes
    hold_challenge: bytes  # the hold on a challenge's deposit
    max_active_tasks: int
    max_rounds: int
    max_challenges_per_round: int
    close_round_weight: int
    task_active: int  # the status of a task whose rounds still run
    offence_kinds: Mapping[int, str]
    kind_conflicting_proofs: int
    kind_data_withheld: int
    parameters: PalletParameters[Any]
    check_parameters: Callable[[Any], None]  # raises ValueError
    stakes: MarketStakes
    next_task_id: StorageValue[int]
    active_tasks: StorageValue[tuple[int, ...]]
    tasks: StorageMap[int, T]
    round_seeds: StorageMap[TaskRound, bytes]
    check_seeds: StorageMap[TaskRound, bytes]
    challenges: StorageMap[TaskRound, tuple[Challenge, ...]]
    outlier_streaks: StorageMap[TaskAccount, int]
    work: StorageMap[TaskRound, tuple[Any, ...]]
    worker_of: Callable[[Any], bytes]  # who did a piece of work
    work_committed: int  # the statuses of work: committed,
    work_revealed: int  # revealed,
    work_unrevealed: int  # never revealed,
    work_withheld: int  # revealed, but its challenge went unanswered
    events: MarketEvents
    errors: MarketErrors

    # --- reads --------------------------------------------------------------------------

    def get_task(self, state: StateReader, task_id: int) -> T:
        task = self.tasks.get(state, task_id)
        if task is None:
            raise self.errors.no_such_task()
        return task

    def get_active_task(self, state: StateReader, task_id: int) -> T:
        task = self.get_task(state, task_id)
        if task.status != self.task_active:  # type: ignore[attr-defined]
            raise self.errors.task_not_active()
        return task

    def get_active_tasks(self, state: StateReader) -> tuple[int, ...]:
        return self.active_tasks.get(state)  # type: ignore[no-any-return]

    def get_task_account(self, task_id: int) -> bytes:
        return compute_task_account(self.task_account_prefix, task_id)

    def get_phase(self, task: T, now: int, phase: int) -> int:
        """The current round if it is in ``phase``, else the market's WrongPhase."""
        current = compute_round_phase(task.schedule, now)  # type: ignore[attr-defined]
        if current is None or current[1] != phase:
            raise self.errors.wrong_phase()
        return current[0]

    def get_round_seed(self, state: StateReader, task_id: int, round_: int) -> bytes:
        return self.round_seeds.get(state, TaskRound(task_id, round_)) or ZERO_HASH

    def get_check_seed(self, state: StateReader, task_id: int, round_: int) -> bytes:
        return self.check_seeds.get(state, TaskRound(task_id, round_)) or ZERO_HASH


# --- pure helpers ---------------------------------------------------------------------------


def put_at(state: Any, items: StorageMap[TaskRound, tuple[Any, ...]], key: TaskRound, index: int, item: Any) -> None:
    """Store ``item`` as the ``index``-th entry of the list under ``key``."""
    current = items.get(state, key)
    items.put(state, key, current[:index] + (item,) + current[index + 1 :])


def note_missed_reveals(
    commitments: list[Any],
    committer_of: Callable[[Any], bytes],
    committed: int,
    unrevealed: int,
    parts: int,
    penalties: dict[bytes, int],
) -> None:
    """At a round's close: each commitment still ``committed`` becomes ``unrevealed``, and its
    committer's penalty (``parts`` of its stake) is noted."""
    for index, commitment in enumerate(commitments):
        if commitment.status == committed:
            commitments[index] = replace(commitment, status=unrevealed)
            penalties[committer_of(commitment)] = parts


def is_schedule_valid(schedule: Schedule, max_rounds: int) -> bool:
    """1 to ``max_rounds`` rounds, long enough for the windows, the last one ending at a block
    number a u32 holds (a later end would never come: the task's stakes and its slot among the
    active tasks held for good)."""
    return (
        1 <= schedule.rounds <= max_rounds
        and schedule.start + schedule.rounds * schedule.round_blocks - 1 <= U32_MAX
        and schedule.round_blocks >= compute_min_round_blocks(schedule.commit_blocks, schedule.reveal_blocks)
    )


def check_fractions(parameters_item: PalletParameters[Any], parameters: Any, fields: Iterable[str]) -> None:
    """Each of ``fields`` is a fraction: at most 10^9 parts (ValueError naming its key)."""
    for field in fields:
        if getattr(parameters, field) > PERBILL_ACCURACY:
            key = parameters_item.json_names[field]
            raise ValueError(f"{parameters_item.pallet}.{key} is above {PERBILL_ACCURACY} (parts per 10^9)")


def check_windows(pallet: str, parameters: Any) -> None:
    """Commit and reveal windows and the outlier streak of at least one, an answer to a
    challenge due within a reveal window (ValueError)."""
    if parameters.commit_blocks == 0 or parameters.reveal_blocks == 0 or parameters.outlier_rounds == 0:
        raise ValueError(f"{pallet}.commitBlocks, revealBlocks and outlierRounds must be at least 1")
    if not 1 <= parameters.challenge_response_blocks <= parameters.reveal_blocks:
        raise ValueError(f"{pallet}.challengeResponseBlocks must be 1 to revealBlocks")


# --- the base pallet ------------------------------------------------------------------------


class MlMarket(Pallet):
    """Base of the ML market pallets: also an :class:`~runtime.framework.traits.OffenderHandler`
    (its workers' stakes) and emission's :class:`~runtime.framework.traits.MlTaskRegistry`.

    A market sets ``PARTS`` and provides the four methods under "what each market provides"."""

    PARTS: ClassVar[MarketParts[Any]]

    currency: Currency
    randomness: EpochRandomness
    staking: StakingInterface
    slashing: SlashingInterface
    offences: OffenceReporter

    def configure(
        self,
        *,
        currency: Currency,
        randomness: EpochRandomness,
        staking: StakingInterface,
        slashing: SlashingInterface,
        offences: OffenceReporter,
    ) -> None:
        """``currency`` holds stakes and pays; ``randomness`` seeds rounds; ``staking`` and
        ``slashing`` tell the era a reported slash applies in; ``offences`` records faults."""
        self.currency = currency
        self.randomness = randomness
        self.staking = staking
        self.slashing = slashing
        self.offences = offences

    def offence_kinds(self) -> tuple[OffenceKind, ...]:
        """This market's offence kinds, each slashing ``faultSlashPerbill`` (registered with
        the offences pallet in ``runtime/construct.py``)."""
        kinds = sorted(self.PARTS.offence_kinds.items())
        return tuple(OffenceKind(kind, name, self, self.compute_fault_fraction) for kind, name in kinds)

    def compute_fault_fraction(self, state: StateReader, offenders: int, population: int) -> Perbill:
        """Every offence of this market slashes ``faultSlashPerbill``, however many offend."""
        return Perbill(self.PARTS.parameters.get(state).fault_slash_parts)

    # --- what each market provides ------------------------------------------------------

    def close(self, ctx: DispatchContext, task_id: int, task: Any, reporter: bytes | None) -> None:
        """Close the task's next round by the market's rules (``reporter``: who called
        ``close_round``; None in the round's last block)."""
        raise NotImplementedError

    def is_valid_task(self, state: StateReader, args: Any) -> bool:
        """Whether the market's own arguments of a new task are well formed."""
        raise NotImplementedError

    def get_population(self, state: StateReader, era: int) -> int:
        """The workers of the active tasks (the offender handler's population)."""
        raise NotImplementedError

    def find_task_problems(self, state: StateReader) -> list[str]:
        """What is wrong with the market's tasks (``find_index_problems`` and
        ``find_active_task_problems`` among its own checks)."""
        raise NotImplementedError

    # --- tasks --------------------------------------------------------------------------

    def check_new_task(self, state: StateReader, who: bytes, args: Any, parameters: Any, schedule: Schedule) -> None:
        """A task ``who`` may post on ``schedule``: a free slot among the active tasks, a valid
        schedule and task, a budget of at least the existential deposit, the creator's least
        stake, and the stake and budget in ``who``'s usable balance."""
        parts = self.PARTS
        if len(parts.get_active_tasks(state)) >= parts.max_active_tasks:
            raise parts.errors.too_many_tasks()
        if (
            not is_schedule_valid(schedule, parts.max_rounds)
            or args.budget < self.currency.get_existential_deposit(state)
            or not self.is_valid_task(state, args)
        ):
            raise parts.errors.bad_task()
        if args.stake < parameters.creator_min_stake:
            raise parts.errors.stake_too_low()
        self.check_usable(state, who, args.stake + args.budget)

    def open_task(self, ctx: DispatchContext, who: bytes, task: Any, stake: int) -> None:
        """Pay the task's budget into its pool, hold the creator's ``stake``, and add the task
        (under the next id) to the active ones."""
        parts = self.PARTS
        task_id = parts.next_task_id.get(ctx.state)
        account = parts.get_task_account(task_id)
        self.currency.transfer(ctx, who, account, task.budget, keep_alive=True)
        parts.stakes.add(ctx, self.currency, task_id, who, stake)
        parts.tasks.put(ctx.state, task_id, task)
        parts.active_tasks.put(ctx.state, (*parts.get_active_tasks(ctx.state), task_id))
        parts.next_task_id.put(ctx.state, task_id + 1)
        schedule = task.schedule
        ctx.deposit_event(parts.events.task_created(task_id, who, account, schedule.start, schedule.rounds))

    def retire_task(self, ctx: DispatchContext, task_id: int, task: Any) -> None:
        """An ended task whose stakes are released: forget its total, return its pool to the ML
        reward pool, store it as it ended and drop it from the active ones."""
        parts = self.PARTS
        parts.stakes.close_task(ctx, task_id)
        returned = return_pool(ctx, self.currency, parts.get_task_account(task_id))
        parts.tasks.put(ctx.state, task_id, task)
        active = tuple(active for active in parts.get_active_tasks(ctx.state) if active != task_id)
        parts.active_tasks.put(ctx.state, active)
        ctx.deposit_event(parts.events.task_ended(task_id, task.status, returned))

    def close_by(self, ctx: DispatchContext, closer: bytes, task_id: int) -> None:
        """``close_round``: the task's next round, in its closing phase, closed by ``closer``
        (who earns the reporter share of its penalties)."""
        parts = self.PARTS
        task = parts.get_active_task(ctx.state, task_id)
        current = compute_round_phase(task.schedule, ctx.block.number)
        if current is None or current[1] != PHASE_CLOSING or current[0] != task.next_round:
            raise parts.errors.not_closable()
        self.close(ctx, task_id, task, closer)

    # --- stakes -------------------------------------------------------------------------

    def check_usable(self, state: StateReader, who: bytes, amount: int) -> None:
        """``who`` can hold or pay ``amount`` from its usable balance."""
        if amount > self.currency.get_usable_balance(state, who):
            raise self.PARTS.errors.insufficient_balance()

    def withdraw(self, ctx: DispatchContext, who: bytes) -> None:
        """``withdraw_unbonded``: release ``who``'s stake kept on hold after its task ended, once
        no slash can apply to it."""
        stakes = self.PARTS.stakes
        era = self.staking.get_current_era(ctx.state)
        if not stakes.unbonding.contains(ctx.state, who) or stakes.is_slash_pending(ctx.state, who, era):
            raise self.PARTS.errors.nothing_to_withdraw()
        ctx.deposit_event(self.PARTS.events.withdrawn(who, stakes.withdraw(ctx, self.currency, who)))

    # --- work proofs and faults ---------------------------------------------------------

    def check_work_proof(
        self,
        ctx: DispatchContext,
        signed: SignedMlWorkProof,
        task_id: int,
        round_: int,
        worker: bytes,
        slot: int,
        parent: bytes,
    ) -> None:
        """The proof is ``worker``'s for this market, task, round and slot, built on ``parent``,
        well formed and signed (else the market's BadProof)."""
        proof = signed.proof
        expected = (self.PARTS.market, task_id, round_, worker, slot, parent)
        actual = (proof.market, proof.task, proof.round, proof.worker, proof.slot, proof.parent_model_root)
        if actual != expected or proof.update_chunks == 0 or proof.checkpoint_interval == 0:
            raise self.PARTS.errors.bad_proof()
        try:
            verify_work_proof(signed, ctx.genesis_hash)
        except (InvalidKey, InvalidSignature):
            raise self.PARTS.errors.bad_proof() from None

    def report_fault(
        self, ctx: DispatchContext, kind: int, offender: bytes, time: tuple[int, int, int], reporter: bytes | None
    ) -> None:
        """Report a proven fault to the offences pallet; a refusal (reported already, too many
        slashes waiting) leaves the fault recorded here without a second slash."""
        fault_recorded = self.PARTS.events.fault_recorded
        try:
            self.offences.report_offence(ctx, kind, offender, time, reporter)
        except DispatchError:
            ctx.deposit_event(fault_recorded(kind, offender, time[0], time[1], False))
            return
        ctx.deposit_event(fault_recorded(kind, offender, time[0], time[1], True))

    def report_conflict(
        self,
        ctx: DispatchContext,
        reporter: bytes,
        first: SignedMlWorkProof,
        second: SignedMlWorkProof,
        per_slot: bool,
    ) -> Any:
        """``report_conflicting_proofs``: two different valid proofs signed by one worker for one
        round of an active task of this market (and one slot, ``per_slot``) are an offence, the
        caller its reporter. The task, for the market to void the work."""
        parts = self.PARTS
        a, b = first.proof, second.proof
        task = parts.tasks.get(ctx.state, a.task)
        slot_a, slot_b = (a.slot, b.slot) if per_slot else (0, 0)
        same_place = (a.market, a.task, a.round, a.worker, slot_a) == (b.market, b.task, b.round, b.worker, slot_b)
        if a == b or not same_place or a.market != parts.market or task is None or task.status != parts.task_active:
            raise parts.errors.not_conflicting()
        try:
            verify_work_proof(first, ctx.genesis_hash)
            verify_work_proof(second, ctx.genesis_hash)
        except (InvalidKey, InvalidSignature):
            raise parts.errors.not_conflicting() from None
        kind = parts.kind_conflicting_proofs
        self.offences.report_offence(ctx, kind, a.worker, (a.task, a.round, slot_a), reporter)
        ctx.deposit_event(parts.events.fault_recorded(kind, a.worker, a.task, a.round, True))
        return task

    # --- data challenges ----------------------------------------------------------------

    def challenge(self, ctx: DispatchContext, who: bytes, task_id: int, subject: int) -> None:
        """``challenge_data``: ask the worker of revealed work ``subject`` of the round in its
        attest phase to serve a chunk of its update (drawn from this block's parent hash),
        holding the challenge deposit."""
        parts = self.PARTS
        task = parts.get_active_task(ctx.state, task_id)
        round_ = parts.get_phase(task, ctx.block.number, PHASE_ATTEST)
        key = TaskRound(task_id, round_)
        work = parts.work.get(ctx.state, key)
        if subject >= len(work) or work[subject].status != parts.work_revealed:
            raise parts.errors.no_such_work()
        challenged = work[subject]
        challenges = parts.challenges.get(ctx.state, key)
        if (
            len(challenges) >= parts.max_challenges_per_round
            or parts.worker_of(challenged) == who
            or any(challenge.subject == subject for challenge in challenges)
        ):
            raise parts.errors.too_many_challenges()
        parameters = parts.parameters.get(ctx.state)
        deposit = parameters.challenge_deposit
        self.check_usable(ctx.state, who, deposit)
        assert challenged.proof is not None, "revealed work has its proof"
        chunks = challenged.proof.update_chunks
        chunk = compute_challenge_chunk(ctx.block.parent_hash, parts.market, task_id, round_, subject, chunks)
        deadline = ctx.block.number + parameters.challenge_response_blocks
        if deposit:
            self.currency.hold(ctx, parts.hold_challenge, who, deposit)
        parts.challenges.put(ctx.state, key, (*challenges, Challenge(who, subject, chunk, deadline, deposit, False)))
        ctx.deposit_event(parts.events.data_challenged(task_id, round_, subject, who, chunk, deadline))

    def answer(
        self, ctx: DispatchContext, who: bytes, task_id: int, index: int, chunk: bytes, siblings: tuple[bytes, ...]
    ) -> None:
        """``answer_challenge``: the worker serves the challenged chunk with its Merkle proof
        under the update root; the challenger's deposit goes to the worker."""
        parts = self.PARTS
        task = parts.get_active_task(ctx.state, task_id)
        current = compute_round_phase(task.schedule, ctx.block.number)
        if current is None:
            raise parts.errors.wrong_phase()
        key = TaskRound(task_id, current[0])
        challenges = parts.challenges.get(ctx.state, key)
        if index >= len(challenges) or challenges[index].answered:
            raise parts.errors.no_such_challenge()
        challenge = challenges[index]
        if ctx.block.number > challenge.deadline:
            raise parts.errors.challenge_expired()
        challenged = parts.work.get(ctx.state, key)[challenge.subject]
        if parts.worker_of(challenged) != who:
            raise parts.errors.not_worker()
        proof = challenged.proof
        assert proof is not None, "only revealed work is challenged"
        try:
            verify_merkle_proof(proof.update_root, chunk, challenge.chunk, proof.update_chunks, siblings)
        except InvalidProof:
            raise parts.errors.bad_chunk() from None
        if challenge.deposit:
            self.currency.transfer_held(
                ctx, parts.hold_challenge, challenge.challenger, who, challenge.deposit, on_hold=False
            )
        put_at(ctx.state, parts.challenges, key, index, replace(challenge, answered=True))
        ctx.deposit_event(parts.events.challenge_answered(task_id, current[0], challenge.subject))

    def settle_work(
        self, ctx: DispatchContext, key: TaskRound, parameters: Any, penalties: dict[bytes, int]
    ) -> list[Any]:
        """The round's work at its close (for the market to store): commits never revealed
        cost their missed-reveal penalty; each unanswered challenge returns its deposit, voids
        the work it names (if still revealed) as withheld and reports its worker (the
        challenger its reporter)."""
        parts = self.PARTS
        work = list(parts.work.get(ctx.state, key))
        missed = parameters.missed_reveal_slash_parts
        note_missed_reveals(work, parts.worker_of, parts.work_committed, parts.work_unrevealed, missed, penalties)
        for challenge in parts.challenges.get(ctx.state, key):
            if not challenge.answered:
                if challenge.deposit:
                    self.currency.release(ctx, parts.hold_challenge, challenge.challenger, challenge.deposit)
                withheld = work[challenge.subject]
                if withheld.status == parts.work_revealed:
                    work[challenge.subject] = replace(withheld, status=parts.work_withheld)
                time = (key.task, key.round, challenge.subject)
                self.report_fault(ctx, parts.kind_data_withheld, parts.worker_of(withheld), time, challenge.challenger)
        return work

    # --- payouts and penalties ----------------------------------------------------------

    def pay(self, ctx: DispatchContext, task_id: int, round_: int, who: bytes, amount: int) -> bool:
        """Pay from the task's pool; what the recipient cannot receive stays in the pool."""
        if not is_receivable(self.currency, ctx.state, who, amount):
            return False
        self.currency.transfer(ctx, self.PARTS.get_task_account(task_id), who, amount, keep_alive=True)
        ctx.deposit_event(self.PARTS.events.rewarded(task_id, round_, who, amount))
        return True

    def count_outliers(
        self,
        ctx: DispatchContext,
        task_id: int,
        parameters: Any,
        outliers: Iterable[tuple[bytes, bool]],
        penalties: dict[bytes, int],
    ) -> None:
        """Each ``(who, is an outlier this round)``: an outlier counts one more round in a row,
        anyone else starts over; ``outlierRounds`` in a row cost the outlier slash and start
        over."""
        streaks = self.PARTS.outlier_streaks
        for who, is_outlier in outliers:
            key = TaskAccount(task_id, who)
            streak = streaks.get(ctx.state, key) + 1 if is_outlier else 0
            if streak >= parameters.outlier_rounds:
                penalties[who] = max(penalties.get(who, 0), parameters.outlier_slash_parts)
                streak = 0
            if streak:
                streaks.put(ctx.state, key, streak)
            else:
                streaks.remove(ctx.state, key)

    def apply_penalties(
        self, ctx: DispatchContext, task_id: int, round_: int, penalties: dict[bytes, int], reporter: bytes | None
    ) -> tuple[Payout, ...]:
        """Take each market penalty (``parts`` of the stake) into the task's pool, the
        reporter's share to whoever closed the round; what was taken from whom."""
        parts = self.PARTS
        share = None if reporter is None else (reporter, parts.parameters.get(ctx.state).reporter_parts)
        pool = parts.get_task_account(task_id)
        taken = []
        for who, fraction in penalties.items():
            amount, to_reporter = parts.stakes.penalise(ctx, self.currency, task_id, who, fraction, pool, share)
            if amount:
                taken.append(Payout(who, amount))
                ctx.deposit_event(parts.events.penalised(task_id, round_, who, amount, to_reporter))
        return tuple(taken)

    # --- the ML task registry (for emission) --------------------------------------------

    def get_task_stakes(self, state: StateReader) -> tuple[tuple[bytes, int], ...]:
        parts = self.PARTS
        return tuple(
            (parts.get_task_account(task_id), parts.stakes.get_task_total(state, task_id))
            for task_id in parts.get_active_tasks(state)
        )

    # --- the offender handler (its workers) ---------------------------------------------

    def get_stakes(self, state: StateReader, offender: bytes, era: int) -> tuple[tuple[bytes, int], ...] | None:
        """Everything the offender stakes in this market (its delegators are not slashed)."""
        stake = self.PARTS.stakes.get_offender_stake(state, offender, self.PARTS.get_active_tasks(state))
        return ((offender, stake),) if stake else None

    def on_offence(self, ctx: DispatchContext, offender: bytes) -> None:
        """Its stake stays on hold until the era its slash applies in is over."""
        era = self.staking.get_current_era(ctx.state) + self.slashing.get_slash_defer_eras(ctx.state)
        self.PARTS.stakes.note_offence(ctx, offender, era)

    def slash(self, ctx: DispatchContext, offender: bytes, who: bytes, amount: int, dest: bytes) -> int:
        tasks = self.PARTS.get_active_tasks(ctx.state)
        return self.PARTS.stakes.slash_offender(ctx, self.currency, who, amount, dest, tasks)

    # --- hooks --------------------------------------------------------------------------

    def on_initialize(self, ctx: DispatchContext) -> int:
        """A round starting in this block takes the epoch randomness as its seed; its first
        reveal block fixes its check seed (at most one write per active task). Weighs that and
        the rounds ``on_finalize`` will close (``close_round``'s weight each)."""
        parts = self.PARTS
        now = ctx.block.number
        weight = 0
        for task_id in parts.get_active_tasks(ctx.state):
            task = parts.get_task(ctx.state, task_id)
            schedule = task.schedule
            weight += READ_WEIGHT + WRITE_WEIGHT
            if compute_round_end(schedule, task.next_round) == now:
                weight += parts.close_round_weight
            current = compute_round_phase(schedule, now)
            if current is None:
                continue
            key = TaskRound(task_id, current[0])
            offset = now - compute_round_start(schedule, current[0])
            if offset == 0:
                parts.round_seeds.put(ctx.state, key, self.randomness.get_epoch_randomness(ctx.state))
            elif offset == schedule.commit_blocks:
                seed = compute_check_seed(parts.get_round_seed(ctx.state, task_id, current[0]), ctx.block.parent_hash)
                parts.check_seeds.put(ctx.state, key, seed)
        return weight

    def on_finalize(self, ctx: DispatchContext) -> None:
        """Close each round whose last block this is and that nobody closed (no reporter): at
        most one round per active task."""
        for task_id in self.PARTS.get_active_tasks(ctx.state):
            task = self.PARTS.get_task(ctx.state, task_id)
            if compute_round_end(task.schedule, task.next_round) == ctx.block.number:
                self.close(ctx, task_id, task, None)

    # --- parameters and genesis ---------------------------------------------------------

    def check_parameters(self, state: StateReader, parameters: Any) -> None:
        self.PARTS.check_parameters(parameters)

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """The parameters (no section: the defaults); no tasks at genesis."""
        parameters = self.PARTS.parameters.from_genesis(config)
        self.PARTS.check_parameters(parameters)
        self.PARTS.parameters.storage.put(ctx.state, parameters)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        """The parameters only: tasks do not carry over."""
        return self.PARTS.parameters.to_genesis(self.PARTS.parameters.get(state))

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        return [*self.PARTS.stakes.find_problems(state, self.currency), *self.find_task_problems(state)]

    def find_index_problems(self, state: StateReader, tasks: Mapping[int, Any]) -> list[str]:
        """The active task index lists exactly the active tasks."""
        active = self.PARTS.get_active_tasks(state)
        if list(active) != sorted(task_id for task_id, task in tasks.items() if task.status == self.PARTS.task_active):
            return ["the active task ids do not list exactly the active tasks"]
        return []

    def find_active_task_problems(self, state: StateReader, task_id: int, task: Any) -> list[str]:
        """An active task's pool holds at least the existential deposit, and a round is left."""
        problems = []
        pool = self.currency.get_free_balance(state, self.PARTS.get_task_account(task_id))
        if pool < self.currency.get_existential_deposit(state):
            problems.append(f"task {task_id}: its pool holds less than the existential deposit")
        if task.next_round >= task.schedule.rounds:
            problems.append(f"task {task_id} is active after its last round")
        return problems

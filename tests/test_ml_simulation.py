"""ML markets simulation: random programs of AI Arena and FL Alliance activity over many real
blocks of the composed runtime (short eras, so offences' slashes apply as the programs run).

Ten actors create tasks, register, delegate, join, commit and reveal work and scores (honest
or not: mismatched reveals, late reveals, roles their VRF does not give, outlier scores, failed
replays), challenge data and answer or not, prove conflicting proofs, close rounds and withdraw.
Most of what a random actor tries is refused; a refused call changes nothing.

After every block: every pallet's ``try_state`` (each market's stake records equal its holds,
per task and account; the issuance is the genesis issuance), and each actor's balance equals
an independent ledger kept from the documented events only: budgets and registration fees paid,
rewards received (``Rewarded``), penalties taken and their reporter shares (``Penalised``),
slashes applied (``offences.SlashApplied``) and reporter rewards (``offences.ReporterRewarded``),
challenge deposits won. Nothing else may move an actor's money. The same program replayed
gives the same state root and the same events.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ml_helpers import ONE, PERCENT, Chain, Worker, endow, ml_genesis, root, salt

from flockchain.db.memory import MemoryStore
from flockchain.state.tree import StateTree
from runtime.framework.mlwork import (
    AGGREGATE_SUBJECT,
    KIND_DISTANCE,
    KIND_SCORE,
    MARKET_ALLIANCE,
    MARKET_ARENA,
    PHASE_ATTEST,
    PHASE_ATTEST_REVEAL,
    PHASE_CLOSING,
    PHASE_COMMIT,
    PHASE_REVEAL,
    PURPOSE_CHECK,
    PURPOSE_COMMITTEE,
    PURPOSE_ROLE,
    Claim,
    ClaimedItem,
    compute_aggregate_id,
    compute_data_commitment,
    compute_ratio_threshold,
    compute_round_phase,
    compute_sortition_threshold,
    is_spot_checked,
)
from runtime.pallets import alliance, arena, offences
from runtime.primitives.merkle import compute_merkle_proof, compute_merkle_root

ACTORS = tuple(Worker(f"sim actor {index}") for index in range(10))
SLOPPY = ACTORS[7]  # its training does not replay: honest checkers report it far off
BALANCE = 10**8
ERA = 10
ARENA_ROUND, FL_ROUND = 9, 9
CHALLENGE_DEPOSIT = 2_000
ARENA = {
    "creatorMinStake": 20_000,
    "trainerMinStake": 5_000,
    "evaluatorMinStake": 5_000,
    "registrationFee": 500,
    "feeToTreasury": False,
    "gammaPerbill": 10 * PERCENT,
    "rhoPerbill": 50 * PERCENT,
    "commitBlocks": 2,
    "revealBlocks": 2,
    "committeeSize": 2,
    "checkerCommitteeSize": 2,
    "spotCheckPerbill": 50 * PERCENT,
    "clipBand": ONE // 10,
    "outlierRounds": 2,
    "outlierSlashPerbill": 10 * PERCENT,
    "missedRevealSlashPerbill": 5 * PERCENT,
    "creatorSlashPerbill": 20 * PERCENT,
    "faultSlashPerbill": 10 * PERCENT,
    "reporterPerbill": 10 * PERCENT,
    "challengeDeposit": CHALLENGE_DEPOSIT,
    "challengeResponseBlocks": 1,
    "shareChangePeriodBlocks": 20,
}
ALLIANCE = {
    "creatorMinStake": 20_000,
    "joinBlocks": 3,
    "commitBlocks": 2,
    "revealBlocks": 2,
    "checkerCommitteeSize": 2,
    "spotCheckPerbill": 50 * PERCENT,
    "rejectedProposerSlashPerbill": 5 * PERCENT,
    "outlierRounds": 2,
    "outlierSlashPerbill": 10 * PERCENT,
    "missedRevealSlashPerbill": 5 * PERCENT,
    "faultSlashPerbill": 10 * PERCENT,
    "reporterPerbill": 10 * PERCENT,
    "challengeDeposit": CHALLENGE_DEPOSIT,
    "challengeResponseBlocks": 1,
}
ML_KINDS = set(arena.OFFENCE_KINDS) | set(alliance.OFFENCE_KINDS)
KINDS = 8  # extra action kinds (see Sim.build)
MAX_ACTIVE = 2  # tasks per market the actors create at most at once

ACTION = st.tuples(st.integers(0, len(ACTORS) - 1), st.integers(0, KINDS - 1), st.integers(0, 255))
# A block: each actor's choices (its value; a multiple of 10 skips the block), then extra actions.
BLOCK = st.tuples(
    st.lists(st.integers(0, 255), min_size=len(ACTORS), max_size=len(ACTORS)), st.lists(ACTION, max_size=2)
)
PROGRAM = st.lists(BLOCK, min_size=30, max_size=60)
Program = list[tuple[list[int], list[tuple[int, int, int]]]]


def draw(*parts: Any) -> int:
    """A number in [0, 10^9) from ``parts``: the 'truth' of a model's score, a noise."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % ONE


@dataclass
class Secret:
    """What an actor keeps off chain about one of its commitments."""

    market: str
    task: int
    round: int
    signed: Any = None  # a work proof
    chunks: list[bytes] = field(default_factory=list)
    items: tuple[Any, ...] = ()  # attested items
    values: tuple[int, ...] = ()
    aggregate_root: bytes = bytes(32)
    label: str = ""


@dataclass
class Sim:
    chain: Chain = field(
        default_factory=lambda: Chain(
            ml_genesis(
                endow(*ACTORS, amount=BALANCE), arena=ARENA, alliance=ALLIANCE, ml_per_block=1_000, era_length=ERA
            )
        )
    )
    expected: dict[bytes, int] = field(default_factory=lambda: {actor.account: BALANCE for actor in ACTORS})
    secrets: dict[tuple[bytes, str], list[Secret]] = field(default_factory=dict)
    challenges: dict[tuple[str, int, int, int], bytes] = field(default_factory=dict)
    counter: int = 0
    log: list[Any] = field(default_factory=list)

    # --- running -----------------------------------------------------------------------

    def run(self, program: Program) -> bytes:
        issuance = self.chain.issuance()
        for choices, extras in program:
            built = [call for index, value in enumerate(choices) for call in self.participate(ACTORS[index], value)]
            built += [call for action in extras if (call := self.build(*action)) is not None]
            outcomes = self.chain.block(*((key, args) for key, args, _ in built), expect_ok=False)
            closers = {}
            for (key, args, on_success), ok in zip(built, outcomes):
                if ok and on_success is not None:
                    on_success()
                if ok and isinstance(args, arena.CloseRoundArgs | alliance.CloseRoundArgs):
                    closers[(type(args).__module__, args.task)] = key.public_key
            self.account_for(self.chain.events, closers)
            assert self.chain.issuance() == issuance
            actual = {who: self.chain.total(who) for who in self.expected}
            assert actual == self.expected, self.chain.number
            self.log.append(self.chain.events)
        tree = StateTree(MemoryStore())
        tree.apply(dict(self.chain.state.iter_prefix(b"")))
        return tree.root

    def account_for(self, events: list[Any], closers: dict[tuple[str, int], bytes]) -> None:
        """The ledger: what the documented events say each actor gained or lost."""
        for event in events:
            if isinstance(event, arena.Rewarded | alliance.Rewarded):
                self.credit(event.who, event.amount)
            elif isinstance(event, arena.Penalised | alliance.Penalised):
                self.credit(event.who, -event.amount)
                if event.to_reporter:
                    self.credit(closers[(type(event).__module__, event.task)], event.to_reporter)
            elif isinstance(event, arena.TrainerRegistered):
                self.credit(event.who, -event.fee)
            elif isinstance(event, offences.SlashApplied) and event.kind in ML_KINDS:
                self.credit(event.offender, -event.slashed)
            elif isinstance(event, offences.ReporterRewarded):
                self.credit(event.reporter, event.amount)
            elif isinstance(event, arena.ChallengeAnswered | alliance.ChallengeAnswered):
                market = "arena" if isinstance(event, arena.ChallengeAnswered) else "alliance"
                challenger = self.challenges[(market, event.task, event.round, event.subject)]
                worker = self.worker_of(market, event.task, event.round, event.subject)
                self.credit(challenger, -CHALLENGE_DEPOSIT)
                self.credit(worker, CHALLENGE_DEPOSIT)

    def credit(self, who: bytes, amount: int) -> None:
        if who in self.expected:
            self.expected[who] += amount

    def worker_of(self, market: str, task: int, round_: int, subject: int) -> bytes:
        key = arena.TaskRound(task, round_)
        if market == "arena":
            return arena.Submissions.get(self.chain.state, key)[subject].trainer  # type: ignore[no-any-return]
        return alliance.Updates.get(self.chain.state, key)[subject].proposer  # type: ignore[no-any-return]

    def remember(self, actor: Worker, kind: str, secret: Secret) -> None:
        self.secrets.setdefault((actor.account, kind), []).append(secret)

    def recall(self, actor: Worker, kind: str, market: str, task: int, round_: int) -> Secret | None:
        found = [
            s
            for s in self.secrets.get((actor.account, kind), [])
            if (s.market, s.task, s.round) == (market, task, round_)
        ]
        return found[0] if found else None

    # --- the actions -------------------------------------------------------------------

    def participate(self, actor: Worker, value: int) -> list[tuple[Any, Any, Any]]:
        """What the actor's worker does in this block in every active task: what its role and
        the round's phase call for (``value`` picks its deviations; a multiple of 10 idles)."""
        if value % 10 == 0:
            return []
        calls = [self.arena_participate(actor, task, value) for task in arena.get_active_tasks(self.chain.state)]
        calls += [self.fl_participate(actor, task, value) for task in alliance.get_active_tasks(self.chain.state)]
        return [call for call in calls if call is not None]

    def build(self, index: int, kind: int, value: int) -> tuple[Any, Any, Any] | None:
        """An extra action ``kind`` of actor ``index`` (``value``: its free choices), with what
        to remember if it succeeds; None when it has nothing to do."""
        actor = ACTORS[index]
        handlers = (
            self.arena_create,
            self.fl_create,
            self.challenge,
            self.answer,
            self.report_conflict,
            self.arena_delegate,
            self.arena_share,
            self.withdraw,
        )
        return handlers[kind](actor, value)  # type: ignore[no-any-return]

    def arena_participate(self, actor: Worker, task: int, value: int) -> Any:
        current = self.phase(arena, task)
        if current is None:
            return None
        round_, phase = current
        state = self.chain.state
        is_creator = arena.get_task(state, task).creator == actor.account
        is_trainer = actor.account in arena.Trainers.get(state, task)
        is_evaluator = actor.account in arena.Evaluators.get(state, task)
        if phase == PHASE_CLOSING:  # now and then someone closes the round (else its last block does)
            return (actor.key, arena.CloseRoundArgs(task), None) if value % 4 == 0 else None
        if is_creator:
            return self.arena_eval_data(actor, task, round_, value) if phase == PHASE_REVEAL else None
        if not (is_trainer or is_evaluator):
            if value % 3:
                return None
            register = arena.RegisterTrainerArgs if value % 2 else arena.RegisterEvaluatorArgs
            return actor.key, register(task, 5_000 + 100 * value), None
        if is_trainer:
            act = {PHASE_COMMIT: self.arena_commit, PHASE_REVEAL: self.arena_reveal}.get(phase)
        else:
            act = {PHASE_ATTEST: self.arena_commit_scores, PHASE_ATTEST_REVEAL: self.arena_reveal_scores}.get(phase)
        return None if act is None else act(actor, task, round_, value)

    def fl_participate(self, actor: Worker, task: int, value: int) -> Any:
        state = self.chain.state
        current = self.phase(alliance, task)
        if actor.account not in alliance.Participants.get(state, task):
            is_creator = alliance.get_task(state, task).creator == actor.account
            return None if is_creator or value % 3 else (actor.key, alliance.JoinArgs(task, 5_000 + 100 * value), None)
        if current is None:
            return None
        round_, phase = current
        act = {
            PHASE_COMMIT: self.fl_commit_update,
            PHASE_REVEAL: self.fl_reveal_update,
            PHASE_ATTEST: self.fl_commit_vote,
            PHASE_ATTEST_REVEAL: self.fl_reveal_vote,
        }.get(phase)
        if act is None:
            return (actor.key, alliance.CloseRoundArgs(task), None) if value % 4 == 0 else None
        return act(actor, task, round_, value)

    def task_of(self, market: Any, value: int) -> int | None:
        """An active task of the market, picked by ``value``."""
        active = market.get_active_tasks(self.chain.state)
        return active[value % len(active)] if active else None

    def phase(self, market: Any, task: int) -> tuple[int, int] | None:
        """The (round, phase) of the next block."""
        return compute_round_phase(market.get_task(self.chain.state, task).schedule, self.chain.number + 1)

    def arena_create(self, actor: Worker, value: int) -> Any:
        if len(arena.get_active_tasks(self.chain.state)) >= MAX_ACTIVE:
            return None
        task = arena.NextTaskId.get(self.chain.state)
        rounds = 1 + value % 3
        commitments = tuple(
            compute_data_commitment(root(f"eval {task} {r}"), salt(f"eval {task} {r}")) for r in range(rounds)
        )
        budget = 10_000 + 100 * value
        args = arena.CreateTaskArgs(
            root("model"),
            root("data"),
            commitments,
            1,
            value % 2 == 0,
            rounds,
            ARENA_ROUND,
            budget,
            2,
            10_000,
            100_000,
            20_000,
        )
        return actor.key, args, lambda: self.credit(actor.account, -budget)

    def arena_share(self, actor: Worker, value: int) -> Any:
        return actor.key, arena.SetDelegateShareArgs(value * 4 * PERCENT // 10), None

    def arena_delegate(self, actor: Worker, value: int) -> Any:
        task = self.task_of(arena, value)
        if task is None:
            return None
        workers = (*arena.Trainers.get(self.chain.state, task), *arena.Evaluators.get(self.chain.state, task))
        return (
            None if not workers else (actor.key, arena.DelegateArgs(task, workers[value % len(workers)], 5_000), None)
        )

    def arena_commit(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        current = (round_, PHASE_COMMIT)
        self.counter += 1
        label = f"arena {self.counter}"
        chunks = [f"{label} chunk {n}".encode() for n in range(1 + value % 4)]
        subs = arena.Submissions.get(self.chain.state, arena.TaskRound(task, current[0]))  # type: ignore[arg-type]
        slot = sum(1 for sub in subs if sub.trainer == actor.account)
        signed = actor.work(
            MARKET_ARENA,
            task,
            current[0],
            root("model"),
            label,  # type: ignore[arg-type]
            slot=slot,
            update_root=compute_merkle_root(chunks),
            update_chunks=len(chunks),
            claimed_metric=draw(label),
        )
        secret = Secret("arena", task, current[0], signed, chunks, label=label)  # type: ignore[arg-type]
        return (
            actor.key,
            arena.CommitSubmissionArgs(task, actor.commit_work(signed, label)),
            lambda: self.remember(actor, "work", secret),
        )  # type: ignore[arg-type]

    def arena_reveal(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        for secret in self.secrets.get((actor.account, "work"), []):
            if (secret.market, secret.task, secret.round) != ("arena", task, round_):
                continue
            subs = arena.Submissions.get(self.chain.state, arena.TaskRound(secret.task, secret.round))
            for index, sub in enumerate(subs):
                if (
                    sub.trainer == actor.account
                    and sub.slot == secret.signed.proof.slot
                    and sub.status == arena.SUBMISSION_COMMITTED
                ):
                    signed = secret.signed
                    if value % 6 == 0:  # a better model seen since: does not match the commitment
                        signed = actor.work(
                            MARKET_ARENA,
                            secret.task,
                            secret.round,
                            root("model"),
                            secret.label + " swap",
                            slot=signed.proof.slot,
                        )
                    return actor.key, arena.RevealSubmissionArgs(secret.task, index, signed, salt(secret.label)), None
        return None

    def arena_eval_data(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        if value % 9 == 0:  # now and then the creator stays silent
            return None
        data = (root(f"eval {task} {round_}"), salt(f"eval {task} {round_}"))
        return actor.key, arena.RevealEvalDataArgs(task, round_, *data), None

    def arena_commit_scores(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        state = self.chain.state
        seed = arena.get_round_seed(state, task, round_)  # type: ignore[arg-type]
        check_seed = arena.get_check_seed(state, task, round_)  # type: ignore[arg-type]
        evaluators = arena.Evaluators.get(state, task)
        total = sum(arena.get_backing(state, task, e) for e in evaluators)  # type: ignore[arg-type]
        stake = arena.get_backing(state, task, actor.account)  # type: ignore[arg-type]
        claims, values = [], []
        for subject, sub in enumerate(arena.Submissions.get(state, arena.TaskRound(task, round_))):  # type: ignore[arg-type]
            if sub.status != arena.SUBMISSION_REVEALED:
                continue
            truth = draw(sub.proof.update_root)
            for kind, purpose, expected in ((KIND_SCORE, PURPOSE_COMMITTEE, 2), (KIND_DISTANCE, PURPOSE_CHECK, 2)):
                if kind == KIND_DISTANCE and not is_spot_checked(
                    check_seed, MARKET_ARENA, task, round_, subject, ARENA["spotCheckPerbill"]
                ):  # type: ignore[arg-type]
                    continue
                proof, drawn = actor.prove(MARKET_ARENA, purpose, seed, task, round_, subject)  # type: ignore[arg-type]
                given = drawn < compute_sortition_threshold(expected, stake, total)
                if given or value % 11 == 0:  # now and then a role the VRF does not give
                    claims.append(Claim(subject, kind, proof))
                    if kind == KIND_SCORE:
                        values.append(truth + (ONE // 2 if value % 5 == 0 else draw(actor.name, subject) % (ONE // 50)))
                    else:
                        values.append(1_600_000 if sub.trainer == SLOPPY.account else 5_000)
        if not claims:
            return None
        items = tuple(ClaimedItem(c.subject, c.kind) for c in claims)
        self.counter += 1
        secret = Secret("arena", task, round_, items=items, values=tuple(values), label=f"scores {self.counter}")  # type: ignore[arg-type]
        commitment = actor.commit_values(MARKET_ARENA, task, round_, items, values, secret.label)  # type: ignore[arg-type]
        return (
            actor.key,
            arena.CommitScoresArgs(task, tuple(claims), commitment),
            lambda: self.remember(actor, "scores", secret),
        )  # type: ignore[arg-type]

    def arena_reveal_scores(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        for secret in self.secrets.get((actor.account, "scores"), []):
            if (secret.market, secret.task, secret.round) == ("arena", task, round_):
                values = secret.values if value % 7 else tuple(v + 1 for v in secret.values)  # a changed mind
                return actor.key, arena.RevealScoresArgs(secret.task, values, salt(secret.label)), None
        return None

    def challenge(self, actor: Worker, value: int) -> Any:
        market, module = (("arena", arena), ("alliance", alliance))[value % 2]
        task = self.task_of(module, value // 2)
        current = None if task is None else self.phase(module, task)
        if current is None or current[1] != PHASE_ATTEST:
            return None
        args = module.ChallengeDataArgs(task, value % 3)
        key = (market, task, current[0], value % 3)
        return actor.key, args, lambda: self.challenges.__setitem__(key, actor.account)  # type: ignore[index]

    def answer(self, actor: Worker, value: int) -> Any:
        for module, market in ((arena, "arena"), (alliance, "alliance")):
            for task in module.get_active_tasks(self.chain.state):
                current = self.phase(module, task)
                if current is None:
                    continue
                for index, challenge in enumerate(
                    module.Challenges.get(self.chain.state, arena.TaskRound(task, current[0]))
                ):
                    worker = self.worker_of(market, task, current[0], challenge.subject)
                    if challenge.answered or worker != actor.account:
                        continue
                    secret = next(
                        (
                            s
                            for s in self.secrets.get((actor.account, "work"), [])
                            if (s.market, s.task, s.round) == (market, task, current[0])
                        ),
                        None,
                    )
                    if secret is None or value % 4 == 0:  # withheld
                        continue
                    chunk = challenge.chunk
                    args = module.AnswerChallengeArgs(
                        task, index, secret.chunks[chunk], compute_merkle_proof(secret.chunks, chunk)
                    )
                    return actor.key, args, None
        return None

    def report_conflict(self, actor: Worker, value: int) -> Any:
        """The actor holds two proofs another actor signed for one slot (it gossiped both)."""
        owner = ACTORS[value % len(ACTORS)]
        for secret in self.secrets.get((owner.account, "work"), []):
            proof = secret.signed.proof
            other = owner.work(
                proof.market, proof.task, proof.round, proof.parent_model_root, secret.label + " other", slot=proof.slot
            )
            module = arena if secret.market == "arena" else alliance
            return actor.key, module.ReportConflictingProofsArgs(secret.signed, other), None
        return None

    def withdraw(self, actor: Worker, value: int) -> Any:
        module = (arena, alliance)[value % 2]
        return actor.key, module.WithdrawUnbondedArgs(), None

    def fl_create(self, actor: Worker, value: int) -> Any:
        if len(alliance.get_active_tasks(self.chain.state)) >= MAX_ACTIVE:
            return None
        budget = 10_000 + 100 * value
        args = alliance.CreateTaskArgs(
            root("fl definition"),
            root("fl initial"),
            1 + value % 3,
            FL_ROUND,
            2,
            6,
            5_000,
            50 * PERCENT,
            budget,
            100_000,
            20_000,
        )
        return actor.key, args, lambda: self.credit(actor.account, -budget)

    def fl_role(self, actor: Worker, task: int, round_: int) -> tuple[bytes, bool]:
        seed = alliance.get_round_seed(self.chain.state, task, round_)
        proof, drawn = actor.prove(MARKET_ALLIANCE, PURPOSE_ROLE, seed, task, round_, 0)
        return proof, drawn < compute_ratio_threshold(50 * PERCENT)

    def fl_commit_update(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        current = (round_, PHASE_COMMIT)
        proof, is_proposer = self.fl_role(actor, task, current[0])  # type: ignore[arg-type]
        if not is_proposer and value % 13:
            return None  # honest voters do not propose
        self.counter += 1
        label = f"fl {self.counter}"
        chunks = [f"{label} chunk {n}".encode() for n in range(2)]
        parent = alliance.get_task(self.chain.state, task).global_model_root  # type: ignore[arg-type]
        signed = actor.work(
            MARKET_ALLIANCE, task, current[0], parent, label, update_root=compute_merkle_root(chunks), update_chunks=2
        )  # type: ignore[arg-type]
        secret = Secret("alliance", task, current[0], signed, chunks, label=label)  # type: ignore[arg-type]
        return (
            actor.key,
            alliance.CommitUpdateArgs(task, proof, actor.commit_work(signed, label)),
            lambda: self.remember(actor, "work", secret),
        )  # type: ignore[arg-type]

    def fl_reveal_update(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        for secret in self.secrets.get((actor.account, "work"), []):
            if (secret.market, secret.task, secret.round) == ("alliance", task, round_):
                return actor.key, alliance.RevealUpdateArgs(secret.task, secret.signed, salt(secret.label)), None
        return None

    def fl_commit_vote(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        state = self.chain.state
        proof, is_proposer = self.fl_role(actor, task, round_)  # type: ignore[arg-type]
        if is_proposer and value % 13:
            return None
        updates = alliance.Updates.get(state, alliance.TaskRound(task, round_))  # type: ignore[arg-type]
        inputs = sorted((u for u in updates if u.proof is not None), key=lambda u: u.proposer)
        global_root = alliance.get_task(state, task).global_model_root  # type: ignore[arg-type]
        aggregate = root(f"aggregate {compute_aggregate_id(global_root, [u.proof.update_root for u in inputs]).hex()}")
        seed = alliance.get_round_seed(state, task, round_)  # type: ignore[arg-type]
        total = sum(alliance.STAKES.get(state, task, p) for p in alliance.Participants.get(state, task))  # type: ignore[arg-type]
        stake = alliance.STAKES.get(state, task, actor.account)  # type: ignore[arg-type]
        claims, distances = [], []
        for subject, update in enumerate(updates):
            if update.status != alliance.UPDATE_REVEALED:
                continue
            check_seed = alliance.get_check_seed(state, task, round_)  # type: ignore[arg-type]
            if not is_spot_checked(check_seed, MARKET_ALLIANCE, task, round_, subject, ALLIANCE["spotCheckPerbill"]):  # type: ignore[arg-type]
                continue
            check, drawn = actor.prove(MARKET_ALLIANCE, PURPOSE_CHECK, seed, task, round_, subject)  # type: ignore[arg-type]
            if drawn < compute_sortition_threshold(2, stake, total):
                claims.append(Claim(subject, KIND_DISTANCE, check))
                distances.append(1_600_000 if update.proposer == SLOPPY.account else 5_000)
        good = draw("fl verdict", task, round_) % 3 != 0  # most aggregates improve the model
        score = ONE // 10 if good else -ONE // 10
        if value % 5 == 0:  # a dissenter: the other verdict, its own root
            score, aggregate = -score, root(f"dissent {actor.name}")
        items = (ClaimedItem(AGGREGATE_SUBJECT, KIND_SCORE), *(ClaimedItem(c.subject, c.kind) for c in claims))
        values = (score, *distances)
        self.counter += 1
        secret = Secret(
            "alliance", task, round_, items=items, values=values, aggregate_root=aggregate, label=f"vote {self.counter}"
        )  # type: ignore[arg-type]
        commitment = actor.commit_values(MARKET_ALLIANCE, task, round_, items, values, secret.label, aggregate)  # type: ignore[arg-type]
        return (
            actor.key,
            alliance.CommitVoteArgs(task, proof, tuple(claims), commitment),
            lambda: self.remember(actor, "votes", secret),
        )  # type: ignore[arg-type]

    def fl_reveal_vote(self, actor: Worker, task: int, round_: int, value: int) -> Any:
        for secret in self.secrets.get((actor.account, "votes"), []):
            if (secret.market, secret.task, secret.round) != ("alliance", task, round_):
                continue
            args = alliance.RevealVoteArgs(secret.task, secret.values, secret.aggregate_root, salt(secret.label))
            return actor.key, args, None
        return None


def run_program(program: Program) -> tuple[bytes, list[Any]]:
    sim = Sim()
    return sim.run(program), sim.log


def random_program(seed: int, blocks: int) -> Program:
    rng = random.Random(seed)  # a test's own program generator, not the runtime's
    return [
        (
            [rng.randrange(256) for _ in ACTORS],
            [(rng.randrange(len(ACTORS)), rng.randrange(KINDS), rng.randrange(256)) for _ in range(rng.randrange(3))],
        )
        for _ in range(blocks)
    ]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(PROGRAM)
def test_random_ml_activity_keeps_every_invariant_and_replays_to_the_same_root(
    program: Program,
) -> None:
    first_root, first_log = run_program(program)
    second_root, second_log = run_program(program)
    assert first_root == second_root and first_log == second_log


def test_a_long_seeded_program_exercises_both_markets_and_replays() -> None:
    program = random_program(7, 160)
    first_root, first_log = run_program(program)
    events = [type(event).__name__ for block in first_log for event in block]
    for name in ("RoundClosed", "Rewarded", "TaskEnded", "SubmissionRevealed", "UpdateRevealed", "VoteRevealed"):
        assert name in events, name
    assert run_program(program)[0] == first_root

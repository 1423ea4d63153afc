"""arena (AI Arena) against the composed runtime, with scripted actors in real blocks: a task
from creation to payout with every balance computed by hand from the formulas, then each
adversary (a reveal that does not match its commit, a late reveal, a claimed role the VRF does
not give, an evaluator far from consensus round after round, a failed spot check, a double
submission, withheld data, a creator who never reveals the evaluation data) with its slash or
penalty and no effect on honest participants."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from ml_helpers import ED, ONE, PERCENT, Chain, Worker, endow, ml_genesis, offence_recorded, root, salt

from runtime import api
from runtime.accounts import ML_REWARD_POOL_ACCOUNT, TREASURY_ACCOUNT
from runtime.framework.mlwork import (
    KIND_DISTANCE,
    KIND_SCORE,
    MARKET_ARENA,
    PURPOSE_CHECK,
    PURPOSE_COMMITTEE,
    Claim,
    ClaimedItem,
    compute_check_seed,
    compute_data_commitment,
    is_spot_checked,
)
from runtime.pallets import arena, offences, system
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.merkle import compute_merkle_proof, compute_merkle_root

CREATOR = Worker("arena creator")
T1, T2, T3 = Worker("trainer 1"), Worker("trainer 2"), Worker("trainer 3")
E1, E2, E3 = Worker("evaluator 1"), Worker("evaluator 2"), Worker("evaluator 3")
DELEGATOR = Worker("delegator")
REPORTER = Worker("reporter")
EVERYONE = (CREATOR, T1, T2, T3, E1, E2, E3, DELEGATOR, REPORTER)
BALANCE = 1_000_000
MODEL = root("base model spec")
TRAINING_DATA = root("training data")
COMMIT, REVEAL = 2, 2
ROUND_BLOCKS = 2 * (COMMIT + REVEAL) + 1  # 9: commit 0-1, reveal 2-3, scores 4-5, reveal 6-7, closing 8
FEE = 1_000
BUDGET = 100_000
ML_PER_BLOCK = 1_000

ARENA = {
    "creatorMinStake": 10_000,
    "trainerMinStake": 5_000,
    "evaluatorMinStake": 5_000,
    "registrationFee": FEE,
    "feeToTreasury": False,
    "gammaPerbill": 10 * PERCENT,
    "rhoPerbill": 50 * PERCENT,
    "commitBlocks": COMMIT,
    "revealBlocks": REVEAL,
    "committeeSize": 3,
    "checkerCommitteeSize": 3,
    "spotCheckPerbill": 0,
    "clipBand": ONE // 10,
    "outlierRounds": 3,
    "outlierSlashPerbill": 10 * PERCENT,
    "missedRevealSlashPerbill": 5 * PERCENT,
    "creatorSlashPerbill": 20 * PERCENT,
    "faultSlashPerbill": 10 * PERCENT,
    "reporterPerbill": 10 * PERCENT,
    "challengeDeposit": 2_000,
    "challengeResponseBlocks": 1,
    "shareChangePeriodBlocks": 100,
}


def eval_data(task: int, round_: int) -> tuple[bytes, bytes]:
    """The held-out data root of a round and its salt."""
    return root(f"eval data {task} {round_}"), salt(f"eval {task} {round_}")


def create_args(rounds: int = 1, **changes: Any) -> arena.CreateTaskArgs:
    task = changes.pop("task", 0)
    commitments = tuple(compute_data_commitment(*eval_data(task, r)) for r in range(rounds))
    args = arena.CreateTaskArgs(
        model_spec_root=MODEL,
        training_data_commitment=TRAINING_DATA,
        eval_data_commitments=commitments,
        metric=1,
        higher_is_better=True,
        rounds=rounds,
        round_blocks=ROUND_BLOCKS,
        budget=BUDGET,
        max_submissions=2,
        stake_per_submission=10_000,
        tolerance=100_000,  # 1e-4 relative L2
        stake=50_000,
    )
    return replace(args, **changes)


def new_chain(era_length: int = 0, ml_per_block: int = ML_PER_BLOCK, **parameters: Any) -> Chain:
    return Chain(
        ml_genesis(
            endow(*EVERYONE, amount=BALANCE),
            arena={**ARENA, **parameters},
            ml_per_block=ml_per_block,
            era_length=era_length,
        )
    )


def seed_of(chain: Chain, task: int, round_: int) -> bytes:
    return arena.get_round_seed(chain.state, task, round_)


def claims(chain: Chain, worker: Worker, task: int, round_: int, items: list[tuple[int, int]]) -> tuple[Claim, ...]:
    """The worker's claims on ``(subject, kind)`` items, with its VRF proofs."""
    seed = seed_of(chain, task, round_)
    return tuple(
        Claim(
            subject,
            kind,
            worker.prove(
                MARKET_ARENA, PURPOSE_COMMITTEE if kind == KIND_SCORE else PURPOSE_CHECK, seed, task, round_, subject
            )[0],
        )
        for subject, kind in items
    )


def scores(
    chain: Chain, task: int, round_: int, table: dict[Worker, list[int]], subjects: list[int] | None = None
) -> tuple[list[Any], list[Any]]:
    """Commit and reveal calls of each evaluator scoring ``subjects`` (default: every submission
    in order), a value each."""
    commits, reveals = [], []
    for worker, values in table.items():
        items = [(subject, KIND_SCORE) for subject in (subjects if subjects is not None else range(len(values)))]
        label = f"{worker.name} {task} {round_}"
        commitment = worker.commit_values(
            MARKET_ARENA, task, round_, [ClaimedItem(s, k) for s, k in items], values, label
        )
        commits.append(
            (worker.key, arena.CommitScoresArgs(task, claims(chain, worker, task, round_, items), commitment))
        )
        reveals.append((worker.key, arena.RevealScoresArgs(task, tuple(values), salt(label))))
    return commits, reveals


def submit(worker: Worker, task: int, round_: int, label: str, **fields: Any) -> tuple[Any, Any]:
    """The commit and reveal calls of one submission (``index``: its place in the round)."""
    index = fields.pop("index")
    signed = worker.work(MARKET_ARENA, task, round_, MODEL, label, **fields)
    commit = (worker.key, arena.CommitSubmissionArgs(task, worker.commit_work(signed, label)))
    reveal = (worker.key, arena.RevealSubmissionArgs(task, index, signed, salt(label)))
    return commit, reveal


def reveal_data(task: int, round_: int) -> tuple[Any, Any]:
    data_root, data_salt = eval_data(task, round_)
    return CREATOR.key, arena.RevealEvalDataArgs(task, round_, data_root, data_salt)


def register(chain: Chain, task: int = 0) -> None:
    """Three trainers (30k, 20k, 10k) and three evaluators (20k each), in one block."""
    chain.block(
        (T1.key, arena.RegisterTrainerArgs(task, 30_000)),
        (T2.key, arena.RegisterTrainerArgs(task, 20_000)),
        (T3.key, arena.RegisterTrainerArgs(task, 10_000)),
        (E1.key, arena.RegisterEvaluatorArgs(task, 20_000)),
        (E2.key, arena.RegisterEvaluatorArgs(task, 20_000)),
        (E3.key, arena.RegisterEvaluatorArgs(task, 20_000)),
    )


# --- the lifecycle --------------------------------------------------------------------------


def run_worked_example(**parameters: Any) -> Chain:
    """The worked example of docs/ml-work.md: one round, three trainers (T1 backed by a
    delegator), three evaluators, from the task's creation to its payout (block 10);
    ``parameters``: arena parameters other than the example's."""
    chain = new_chain(**parameters)
    # Block 1: T1 declares its share σ = 20 %; the creator posts a one-round task. Round 0 covers
    # blocks 2-10: commits 2-3, reveals 4-5, score commits 6-7, score reveals 8-9, closing 10.
    chain.block((T1.key, arena.SetDelegateShareArgs(20 * PERCENT)), (CREATOR.key, create_args()))
    assert arena.get_task(chain.state, 0).schedule == arena.Schedule(2, 1, ROUND_BLOCKS, COMMIT, REVEAL)
    # Block 2: registrations, a delegation to T1, and four submissions (T1's 30k stake allows
    # 30k / 10k = 3, capped at 2; the others one each). Commit order is the submission index.
    subs = [
        submit(T1, 0, 0, "t1 a", index=0, claimed_metric=81 * ONE // 100),
        submit(T2, 0, 0, "t2", index=1, claimed_metric=86 * ONE // 100),
        submit(T3, 0, 0, "t3", index=2, claimed_metric=71 * ONE // 100),
        submit(T1, 0, 0, "t1 b", index=3, claimed_metric=86 * ONE // 100, slot=1),
    ]
    register(chain)
    chain.run_to(1)
    chain.block((DELEGATOR.key, arena.DelegateArgs(0, T1.account, 10_000)), *(commit for commit, _ in subs))
    chain.run_to(3)
    chain.block(*(reveal for _, reveal in subs), reveal_data(0, 0))  # block 4
    chain.run_to(5)
    # Block 6: each evaluator scores every submission (a committee of 3 among 3 equal stakes is
    # certain); block 8: they reveal. E3 is 0.19 off the consensus on T3's model: clipped.
    commits, reveals = scores(
        chain,
        0,
        0,
        {
            E1: [80 * ONE // 100, 85 * ONE // 100, 70 * ONE // 100, 86 * ONE // 100],
            E2: [82 * ONE // 100, 86 * ONE // 100, 71 * ONE // 100, 86 * ONE // 100],
            E3: [81 * ONE // 100, 86 * ONE // 100, 90 * ONE // 100, 87 * ONE // 100],
        },
    )
    chain.block(*commits)
    chain.run_to(7)
    chain.block(*reveals)
    chain.run_to(10)  # block 10 closes the round in its finalization, and the task ends
    return chain


def test_a_task_with_three_trainers_and_three_evaluators_from_creation_to_payout() -> None:
    """The worked example, every balance by hand."""
    issuance = new_chain().issuance()
    chain = run_worked_example()

    # By hand. The pool: the budget, three fees, and the ML part of blocks 2-10 (the only task,
    # so all of it); the round pays all of it above the existential deposit.
    pool = BUDGET + 3 * FEE + 9 * ML_PER_BLOCK
    reward = pool - ED
    assert reward == 111_000
    trainer_stake, evaluator_stake = 40_000 + 20_000 + 10_000, 3 * 20_000  # T1 is backed by the delegator
    gamma = 10 * PERCENT
    evaluator_part = (
        reward
        * (gamma * (trainer_stake + evaluator_stake) + (ONE - 2 * gamma) * evaluator_stake)
        // (ONE * (trainer_stake + evaluator_stake))
    )
    trainer_part = reward - evaluator_part
    assert (evaluator_part, trainer_part) == (52_084, 58_916)
    # Consensus (lower weighted medians of three equal stakes): 0.81, 0.86, 0.71, 0.86. T2's
    # 0.86 was committed before T1's second: T2 ranks 1st, T1 2nd (its best), T3 3rd.
    weights = {T2: ONE * 20_000, T1: ONE // 2 * 40_000, T3: ONE // 4 * 10_000}
    gross = {who: trainer_part * weight // sum(weights.values()) for who, weight in weights.items()}
    assert gross == {T2: 27_725, T1: 27_725, T3: 3_465}
    cut = 20 * PERCENT * gross[T1] // ONE
    t1_reward = cut + (gross[T1] - cut) * 30_000 // 40_000
    delegator_reward = (gross[T1] - cut) * 10_000 // 40_000
    # Closeness to the consensus, band 0.1: E1 is 0.01 off on three scores, exact on one.
    closeness = {E1: (3 * 900_000_000 + ONE) // 4, E2: (900_000_000 + 3 * ONE) // 4, E3: (ONE * 2 + 900_000_000) // 4}
    assert closeness == {E1: 925_000_000, E2: 975_000_000, E3: 725_000_000}
    evaluator_weights = {who: 20_000 * parts for who, parts in closeness.items()}
    evaluator_rewards = {
        who: evaluator_part * weight // sum(evaluator_weights.values()) for who, weight in evaluator_weights.items()
    }
    assert evaluator_rewards == {E1: 18_353, E2: 19_345, E3: 14_385}
    expected = {
        CREATOR: BALANCE - BUDGET,
        T1: BALANCE - FEE + t1_reward,
        T2: BALANCE - FEE + gross[T2],
        T3: BALANCE - FEE + gross[T3],
        DELEGATOR: BALANCE + delegator_reward,
        **{who: BALANCE + amount for who, amount in evaluator_rewards.items()},
    }
    assert (t1_reward, delegator_reward) == (22_180, 5_545)
    assert {who: chain.free(who.account) for who in expected} == expected
    assert all(chain.held(who.account, arena.HOLD_STAKE) == 0 for who in expected)  # every stake released
    paid = sum(expected.values()) - sum(BALANCE for _ in expected) + BUDGET + 3 * FEE
    assert chain.free(ML_REWARD_POOL_ACCOUNT) == ED + pool - paid == ED + 1_002  # the pool came back
    assert chain.issuance() == issuance

    result = arena.RoundResults.get(chain.state, arena.TaskRound(0, 0))
    assert [(s.consensus, s.rank) for s in result.scores] == [
        (81 * ONE // 100, 0),
        (86 * ONE // 100, 1),
        (71 * ONE // 100, 3),
        (86 * ONE // 100, 2),
    ]
    assert [(e.closeness_parts, e.clipped) for e in result.evaluators] == [
        (925_000_000, False),
        (975_000_000, False),
        (725_000_000, True),
    ]
    assert arena.get_task(chain.state, 0).status == arena.TASK_ENDED
    assert arena.get_active_tasks(chain.state) == ()


def test_clients_read_the_task_its_submissions_scores_and_rewards_with_their_storage_keys() -> None:
    chain = run_worked_example()
    task = api.get_ml_task(chain.state, api.MARKET_ARENA, 0)
    assert task is not None and (task.status, task.next_round, task.rounds, task.model_root) == ("ended", 1, 1, MODEL)
    assert chain.state.get(task.storage_key) is not None and task.account == arena.get_task_account(0)
    assert api.get_ml_active_tasks(chain.state, api.MARKET_ARENA) == []
    work = api.get_ml_work(chain.state, api.MARKET_ARENA, 0, 0)
    assert [(w.worker, w.slot, w.status) for w in work] == [
        (T1.account, 0, "revealed"),
        (T2.account, 0, "revealed"),
        (T3.account, 0, "revealed"),
        (T1.account, 1, "revealed"),
    ]
    assert work[1].proof is not None and work[1].proof.claimed_metric == 86 * ONE // 100
    attestations = api.get_ml_attestations(chain.state, api.MARKET_ARENA, 0, 0)
    assert [(a.worker, a.status, a.values[2]) for a in attestations] == [
        (E1.account, "revealed", 70 * ONE // 100),
        (E2.account, "revealed", 71 * ONE // 100),
        (E3.account, "revealed", 90 * ONE // 100),
    ]
    result = api.get_ml_round(chain.state, api.MARKET_ARENA, 0, 0)
    assert result is not None and result.outcome == "scored" and result.reward == 111_000
    assert [(s.consensus, s.rank) for s in result.scores][:2] == [(81 * ONE // 100, 0), (86 * ONE // 100, 1)]
    assert {payout.who: payout.amount for payout in result.rewards}[DELEGATOR.account] == 5_545
    for view, key in ((task, task.storage_key), (result, result.storage_key)):
        raw = chain.state.get(key)
        assert raw is not None
        decoded = api.decode_ml_task if view is task else api.decode_ml_round
        assert decoded(api.MARKET_ARENA, key, raw) == view  # what a client builds from a proven value
    assert api.get_ml_round(chain.state, api.MARKET_ARENA, 0, 1) is None
    assert api.get_ml_round_seed(chain.state, api.MARKET_ARENA, 0, 0) is not None
    with pytest.raises(ValueError, match="no ML market"):
        api.get_ml_task(chain.state, "bazaar", 0)


# --- adversaries ----------------------------------------------------------------------------

ARENA_INDEX = 11


def start_task(chain: Chain, rounds: int = 1, **changes: Any) -> int:
    """The creator posts a task in the next block (round 0 starts in the one after), and three
    trainers and three evaluators register in round 0's first block. The task's id."""
    task = arena.NextTaskId.get(chain.state)
    chain.block((CREATOR.key, create_args(rounds, task=task, **changes)))
    register(chain, task)
    return task


def go(chain: Chain, task: int, round_: int, offset: int) -> None:
    """Empty blocks until the next block is at ``offset`` in the round."""
    start = arena.get_task(chain.state, task).schedule.start + round_ * ROUND_BLOCKS
    chain.run_to(start + offset - 1)


def honest_round(
    chain: Chain, task: int, round_: int, *, skip: tuple[Worker, ...] = (), close_by: Worker | None = None
) -> None:
    """One submission per trainer (T1, T2, T3 in that order) and honest scores, from the commit
    window (offset 1) to the close; ``skip``: actors that do nothing this round."""
    trainers = [worker for worker in (T1, T2, T3) if worker not in skip]
    subs = [submit(worker, task, round_, f"{worker.name} r{round_}", index=i) for i, worker in enumerate(trainers)]
    go(chain, task, round_, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, round_, 2)
    chain.block(*(reveal for _, reveal in subs), reveal_data(task, round_))
    table = {
        worker: [(80 + index) * ONE // 100 for index in range(len(subs))]
        for worker in (E1, E2, E3)
        if worker not in skip
    }
    commits, reveals = scores(chain, task, round_, table)
    go(chain, task, round_, 4)
    chain.block(*commits)
    go(chain, task, round_, 6)
    chain.block(*reveals)
    go(chain, task, round_, 8)
    chain.block(*([(close_by.key, arena.CloseRoundArgs(task))] if close_by else []))


def end_era_and_withdraw(chain: Chain, era_length: int, *workers: Worker) -> None:
    """Run to the end of the current era (slashes apply), then let ``workers`` withdraw."""
    chain.end_era(era_length)
    chain.block(*((worker.key, arena.WithdrawUnbondedArgs()) for worker in workers))


def test_a_reveal_that_does_not_match_its_commit_is_an_offence_slashed_from_the_trainers_stake() -> None:
    chain = new_chain(era_length=20)
    task = start_task(chain)
    honest = [submit(worker, task, 0, worker.name, index=i) for i, worker in enumerate((T1, T2))]
    committed = T3.work(MARKET_ARENA, task, 0, MODEL, "what T3 committed to", slot=0)
    swapped = T3.work(MARKET_ARENA, task, 0, MODEL, "a better model seen since", slot=0)
    go(chain, task, 0, 1)
    chain.block(
        *(commit for commit, _ in honest), (T3.key, arena.CommitSubmissionArgs(task, T3.commit_work(committed, "t3")))
    )
    go(chain, task, 0, 2)
    chain.block(
        *(reveal for _, reveal in honest),
        (T3.key, arena.RevealSubmissionArgs(task, 2, swapped, salt("t3"))),
        reveal_data(task, 0),
    )
    assert offence_recorded(chain, arena.KIND_BAD_REVEAL, T3)
    assert arena.FaultRecorded(arena.KIND_BAD_REVEAL, T3.account, task, 0, True) in chain.events
    assert arena.Submissions.get(chain.state, arena.TaskRound(task, 0))[2].status == arena.SUBMISSION_BAD_REVEAL
    commits, reveals = scores(
        chain, task, 0, {E1: [ONE // 2, ONE // 2], E2: [ONE // 2, ONE // 2], E3: [ONE // 2, ONE // 2]}
    )
    go(chain, task, 0, 4)
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*reveals)
    go(chain, task, 0, 8)
    chain.block()  # the round closes, the task ends: T3's stake waits for its slash
    assert chain.held(T3.account, arena.HOLD_STAKE) == 10_000
    assert chain.held(T1.account, arena.HOLD_STAKE) == chain.held(E1.account, arena.HOLD_STAKE) == 0
    assert chain.free(T1.account) > BALANCE - FEE and chain.free(E1.account) > BALANCE  # honest ones paid
    chain.block((T3.key, arena.WithdrawUnbondedArgs()), expect_ok=False)
    assert chain.errors() == [(ARENA_INDEX, arena.NothingToWithdraw.code)]  # the slash is still waiting
    treasury = chain.free(TREASURY_ACCOUNT)
    end_era_and_withdraw(chain, 20, T3)
    assert chain.free(T3.account) == BALANCE - FEE - 1_000  # 10 % of 10,000, nothing else
    assert chain.free(TREASURY_ACCOUNT) == treasury + 1_000
    assert chain.held(T3.account, arena.HOLD_STAKE) == 0


def test_a_late_reveal_is_refused_and_the_missed_reveal_costs_its_penalty_split_with_the_closer() -> None:
    chain = new_chain()
    task = start_task(chain)
    subs = [submit(worker, task, 0, worker.name, index=i) for i, worker in enumerate((T1, T2, T3))]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, 0, 2)
    chain.block(subs[0][1], subs[1][1], reveal_data(task, 0))
    go(chain, task, 0, 4)
    assert chain.block(subs[2][1], expect_ok=False) == [False]  # T3 reveals after the window
    assert chain.errors() == [(ARENA_INDEX, arena.WrongPhase.code)]
    commits, reveals = scores(chain, task, 0, {E1: [ONE // 2] * 2, E2: [ONE // 2] * 2, E3: [ONE // 2] * 2})
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*reveals)
    go(chain, task, 0, 8)
    pool_before = chain.free(arena.get_task_account(task))
    chain.block((REPORTER.key, arena.CloseRoundArgs(task)))
    penalty = 5 * PERCENT * 10_000 // ONE  # missedRevealSlashPerbill of T3's stake, rounded up: 500
    assert arena.Penalised(task, 0, T3.account, penalty, penalty // 10) in chain.events
    assert chain.free(REPORTER.account) == BALANCE + penalty // 10  # the closer's 10 %
    assert chain.free(T3.account) == BALANCE - FEE - penalty  # its stake came back, less the penalty
    result = arena.RoundResults.get(chain.state, arena.TaskRound(task, 0))
    assert [score.status for score in result.scores] == [
        arena.SUBMISSION_REVEALED,
        arena.SUBMISSION_REVEALED,
        arena.SUBMISSION_UNREVEALED,
    ]
    # 90 % of the penalty went to the task's pool, after the round's reward was set aside: the
    # task ended, so it came back to the ML pool with the rest.
    assert result.reward == pool_before - ED
    returned = next(event.returned for event in chain.events if isinstance(event, arena.TaskEnded))
    assert returned == pool_before - sum(payout.amount for payout in result.rewards) + penalty - penalty // 10
    assert all(chain.free(worker.account) > BALANCE - FEE for worker in (T1, T2))  # paid, not penalised


def test_a_role_the_vrf_does_not_give_is_an_offence_and_commits_nothing() -> None:
    chain = new_chain(era_length=20, committeeSize=1)  # each evaluator scores a submission with chance 1/3
    task = start_task(chain)
    subs = [submit(worker, task, 0, worker.name, index=i) for i, worker in enumerate((T1, T2, T3))]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, 0, 2)
    chain.block(*(reveal for _, reveal in subs), reveal_data(task, 0))
    seed = seed_of(chain, task, 0)
    threshold = (1 << 64) * 1 * 20_000 // 60_000
    drawn = {
        (worker, subject): worker.prove(MARKET_ARENA, PURPOSE_COMMITTEE, seed, task, 0, subject)[1] < threshold
        for worker in (E1, E2, E3)
        for subject in range(3)
    }
    given = [subject for subject in range(3) if drawn[E1, subject]]
    refused = next(subject for subject in range(3) if not drawn[E1, subject])
    # E2 claims only what its VRF gives it; E1 claims a submission its VRF does not give it.
    e2_items = [(subject, KIND_SCORE) for subject in range(3) if drawn[E2, subject]]
    e1_items = [(subject, KIND_SCORE) for subject in [*given, refused]]
    go(chain, task, 0, 4)
    e2_commitment = E2.commit_values(
        MARKET_ARENA, task, 0, [ClaimedItem(*i) for i in e2_items], [ONE // 2] * len(e2_items), "e2"
    )
    e1_commitment = E1.commit_values(
        MARKET_ARENA, task, 0, [ClaimedItem(*i) for i in e1_items], [ONE // 2] * len(e1_items), "e1"
    )
    chain.block(
        *(
            [(E2.key, arena.CommitScoresArgs(task, claims(chain, E2, task, 0, e2_items), e2_commitment))]
            if e2_items
            else []
        ),
        (E1.key, arena.CommitScoresArgs(task, claims(chain, E1, task, 0, e1_items), e1_commitment)),
    )
    assert offence_recorded(chain, arena.KIND_FALSE_ROLE, E1)
    assert [attestation.evaluator for attestation in arena.Attestations.get(chain.state, arena.TaskRound(task, 0))] == (
        [E2.account] if e2_items else []
    )
    # A proof made for another subject does not verify for this one: the same offence.
    forged = claims(chain, E3, task, 0, [(0, KIND_SCORE)])
    forged = (replace(forged[0], subject=1),)
    chain.block((E3.key, arena.CommitScoresArgs(task, forged, ZERO_HASH)))
    assert offence_recorded(chain, arena.KIND_FALSE_ROLE, E3)
    if e2_items:
        go(chain, task, 0, 6)
        chain.block((E2.key, arena.RevealScoresArgs(task, (ONE // 2,) * len(e2_items), salt("e2"))))
    end_era_and_withdraw(chain, 20, E1, E3)  # 10 % of each offender's 20,000, then released
    assert chain.free(E1.account) == chain.free(E3.account) == BALANCE - 2_000
    assert chain.held(E1.account, arena.HOLD_STAKE) == chain.held(E3.account, arena.HOLD_STAKE) == 0
    assert chain.free(E2.account) >= BALANCE  # honest: no slash (and a reward if it scored)


def test_an_evaluator_far_from_consensus_round_after_round_loses_rewards_then_its_outlier_slash() -> None:
    chain = new_chain()
    task = start_task(chain, rounds=3)
    for round_ in range(3):
        subs = [submit(worker, task, round_, f"{worker.name} {round_}", index=i) for i, worker in enumerate((T1, T2))]
        go(chain, task, round_, 1)
        chain.block(*(commit for commit, _ in subs))
        go(chain, task, round_, 2)
        chain.block(*(reveal for _, reveal in subs), reveal_data(task, round_))
        table = {E1: [ONE // 2, ONE // 3], E2: [ONE // 2, ONE // 3], E3: [ONE, 0]}  # E3: 0.5 and 0.33 off
        commits, reveals = scores(chain, task, round_, table)
        go(chain, task, round_, 4)
        chain.block(*commits)
        go(chain, task, round_, 6)
        chain.block(*reveals)
        go(chain, task, round_, 8)
        chain.block()
        result = arena.RoundResults.get(chain.state, arena.TaskRound(task, round_))
        assert [(e.evaluator, e.clipped) for e in result.evaluators] == [
            (E1.account, False),
            (E2.account, False),
            (E3.account, True),
        ]
        assert E3.account not in {payout.who for payout in result.rewards}  # disagreement costs rewards
        penalised = {payout.who: payout.amount for payout in result.penalties}
        if round_ < 2:
            assert (
                penalised == {}
                and arena.OutlierStreaks.get(chain.state, arena.TaskAccount(task, E3.account)) == round_ + 1
            )
        else:
            assert penalised == {E3.account: 10 * PERCENT * 20_000 // ONE}  # the third round in a row: 10 %
    assert chain.free(E3.account) == BALANCE - 2_000
    assert chain.free(E1.account) > BALANCE and chain.free(E2.account) > BALANCE


def test_a_failed_spot_check_voids_the_submission_and_is_an_offence() -> None:
    chain = new_chain(era_length=30, spotCheckPerbill=ONE)  # every submission is spot-checked
    task = start_task(chain)
    subs = [submit(worker, task, 0, worker.name, index=i) for i, worker in enumerate((T1, T2, T3))]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, 0, 2)
    chain.block(*(reveal for _, reveal in subs), reveal_data(task, 0))
    seed = arena.get_check_seed(chain.state, task, 0)
    assert all(is_spot_checked(seed, MARKET_ARENA, task, 0, subject, ONE) for subject in range(3))
    # Each evaluator scores all three and reports the relative L2 distance of its replay of each
    # one's drawn trace segment: T3's segment does not replay (one step skipped: 1.6e-3).
    items = [(subject, KIND_SCORE) for subject in range(3)] + [(subject, KIND_DISTANCE) for subject in range(3)]
    distances = {E1: [5_500, 4_000, 1_600_000], E2: [3_000, 5_000, 1_500_000], E3: [2_000, 2_500, 1_700_000]}
    commits, reveals = [], []
    for worker, replay in distances.items():
        values = [ONE // 2, ONE // 2, ONE // 2, *replay]
        commitment = worker.commit_values(MARKET_ARENA, task, 0, [ClaimedItem(*i) for i in items], values, worker.name)
        commits.append((worker.key, arena.CommitScoresArgs(task, claims(chain, worker, task, 0, items), commitment)))
        reveals.append((worker.key, arena.RevealScoresArgs(task, tuple(values), salt(worker.name))))
    go(chain, task, 0, 4)
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*reveals)
    go(chain, task, 0, 8)
    chain.block()
    assert offence_recorded(chain, arena.KIND_FAILED_SPOT_CHECK, T3)
    result = arena.RoundResults.get(chain.state, arena.TaskRound(task, 0))
    assert [score.status for score in result.scores] == [
        arena.SUBMISSION_REVEALED,
        arena.SUBMISSION_REVEALED,
        arena.SUBMISSION_FAILED_CHECK,
    ]
    assert T3.account not in {payout.who for payout in result.rewards}
    end_era_and_withdraw(chain, 30, T3)
    assert chain.free(T3.account) == BALANCE - FEE - 1_000  # 10 % of its 10,000
    assert chain.free(T1.account) > BALANCE - FEE and chain.free(T2.account) > BALANCE - FEE


def test_a_double_submission_two_proofs_signed_for_one_slot_is_an_offence_with_a_reporter_reward() -> None:
    chain = new_chain(era_length=20)
    task = start_task(chain)
    first = T1.work(MARKET_ARENA, task, 0, MODEL, "t1 first", slot=0)
    second = T1.work(MARKET_ARENA, task, 0, MODEL, "t1 second", slot=0)
    subs = [submit(worker, task, 0, worker.name, index=i + 1) for i, worker in enumerate((T2, T3))]
    go(chain, task, 0, 1)
    # More submissions than its stake allows are refused: T3 stakes 10k, one submission.
    outcomes = chain.block(
        (T1.key, arena.CommitSubmissionArgs(task, T1.commit_work(first, "t1"))),
        *(commit for commit, _ in subs),
        (T3.key, arena.CommitSubmissionArgs(task, ZERO_HASH)),
        expect_ok=False,
    )
    assert outcomes == [True, True, True, False]
    assert chain.errors() == [(ARENA_INDEX, arena.SubmissionLimit.code)]
    go(chain, task, 0, 2)
    chain.block(
        (T1.key, arena.RevealSubmissionArgs(task, 0, first, salt("t1"))), *(r for _, r in subs), reveal_data(task, 0)
    )
    # T1 gossiped another proof for the same slot; anyone holding both proves the equivocation.
    outcomes = chain.block(
        (REPORTER.key, arena.ReportConflictingProofsArgs(first, second)),
        (REPORTER.key, arena.ReportConflictingProofsArgs(first, second)),  # punished once
        (REPORTER.key, arena.ReportConflictingProofsArgs(first, first)),  # one proof proves nothing
        expect_ok=False,
    )
    assert outcomes == [True, False, False]
    assert chain.errors() == [(8, offences.DuplicateReport.code), (ARENA_INDEX, arena.NotConflicting.code)]
    assert offence_recorded(chain, arena.KIND_CONFLICTING_PROOFS, T1)
    assert arena.Submissions.get(chain.state, arena.TaskRound(task, 0))[0].status == arena.SUBMISSION_CONFLICTING
    go(chain, task, 0, 4)
    void = scores(chain, task, 0, {E1: [ONE // 2]}, subjects=[0])[0]
    assert chain.block(*void, expect_ok=False) == [False]  # the void submission cannot be scored
    assert chain.errors() == [(ARENA_INDEX, arena.BadClaims.code)]
    honest = {worker: [ONE // 2, ONE // 3] for worker in (E1, E2, E3)}
    commits, reveals = scores(chain, task, 0, honest, subjects=[1, 2])
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*reveals)
    end_era_and_withdraw(chain, 20, T1)
    slash = 10 * PERCENT * 30_000 // ONE  # 10 % of T1's 30,000
    assert chain.free(T1.account) == BALANCE - FEE - slash  # no reward for the void submission
    assert chain.free(REPORTER.account) == BALANCE + slash // 10  # the offences pallet's reporter reward
    assert chain.free(T2.account) > BALANCE - FEE and chain.free(T3.account) > BALANCE - FEE


def test_a_creator_who_never_reveals_the_evaluation_data_is_penalised_and_the_pool_compensates_the_workers() -> None:
    chain = new_chain()
    issuance = chain.issuance()
    task = start_task(chain)  # block 1: the task, block 2: registrations
    subs = [submit(worker, task, 0, worker.name, index=i) for i, worker in enumerate((T1, T2, T3))]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, 0, 2)
    chain.block(*(reveal for _, reveal in subs))  # the creator stays silent
    go(chain, task, 0, 4)
    chain.block(*scores(chain, task, 0, {E1: [ONE // 2] * 3})[0], expect_ok=False)
    assert chain.errors() == [(ARENA_INDEX, arena.EvalDataMissing.code)]  # nothing can be scored
    go(chain, task, 0, 8)
    chain.block()  # block 10 closes the round: the task is abandoned

    # By hand: 20 % of the creator's 50,000 into the pool, which then holds the budget, three fees
    # and the ML part of blocks 2-10; all of it above the ED is shared by stake (120,000 in all).
    creator_penalty = 20 * PERCENT * 50_000 // ONE
    available = BUDGET + 3 * FEE + 9 * ML_PER_BLOCK + creator_penalty - ED
    stakes = {T1: 30_000, T2: 20_000, T3: 10_000, E1: 20_000, E2: 20_000, E3: 20_000}
    shares = {who: available * stake // sum(stakes.values()) for who, stake in stakes.items()}
    assert (creator_penalty, available, shares[T1], shares[T2]) == (10_000, 121_000, 30_250, 20_166)
    fees = {T1: FEE, T2: FEE, T3: FEE}
    expected = {CREATOR: BALANCE - BUDGET - creator_penalty}
    expected |= {who: BALANCE - fees.get(who, 0) + share for who, share in shares.items()}
    assert {who: chain.free(who.account) for who in expected} == expected
    assert arena.get_task(chain.state, task).status == arena.TASK_ABANDONED
    returned = next(event.returned for event in chain.events if isinstance(event, arena.TaskEnded))
    assert returned == ED + available - sum(shares.values()) == ED + 3
    result = arena.RoundResults.get(chain.state, arena.TaskRound(task, 0))
    assert result.outcome == arena.ROUND_ABANDONED and result.penalties == (arena.Payout(CREATOR.account, 10_000),)
    assert chain.issuance() == issuance


def test_data_withheld_when_challenged_is_an_offence_and_an_answered_challenge_pays_the_trainer() -> None:
    chain = new_chain(era_length=20)
    task = start_task(chain)
    chunks = [b"tensor chunk %d" % index for index in range(5)]
    update_root = compute_merkle_root(chunks)
    subs = [
        submit(worker, task, 0, worker.name, index=i, update_root=update_root, update_chunks=len(chunks))
        for i, worker in enumerate((T1, T2, T3))
    ]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, 0, 2)
    chain.block(*(reveal for _, reveal in subs), reveal_data(task, 0))
    go(chain, task, 0, 4)
    chain.block(
        (REPORTER.key, arena.ChallengeDataArgs(task, 0)),
        (REPORTER.key, arena.ChallengeDataArgs(task, 1)),
        (T2.key, arena.ChallengeDataArgs(task, 1)),  # one challenge per submission
        expect_ok=False,
    )
    assert chain.errors() == [(ARENA_INDEX, arena.TooManyChallenges.code)]
    drawn = [event.chunk for event in chain.events if isinstance(event, arena.DataChallenged)]
    assert chain.held(REPORTER.account, arena.HOLD_CHALLENGE) == 4_000
    wrong = (drawn[0] + 1) % len(chunks)
    commits, reveals = scores(chain, task, 0, {worker: [ONE // 2] * 3 for worker in (E1, E2, E3)})
    outcomes = chain.block(
        (T1.key, arena.AnswerChallengeArgs(task, 0, chunks[wrong], compute_merkle_proof(chunks, wrong))),
        (T1.key, arena.AnswerChallengeArgs(task, 0, chunks[drawn[0]], compute_merkle_proof(chunks, drawn[0]))),
        *commits,
        expect_ok=False,
    )
    assert outcomes == [False, True, True, True, True]
    assert chain.errors() == [(ARENA_INDEX, arena.BadChunk.code)]  # not the drawn chunk
    assert chain.total(T1.account) == BALANCE - FEE + 2_000  # the challenger's deposit
    chain.block((T2.key, arena.AnswerChallengeArgs(task, 1, b"", ())), expect_ok=False)
    assert chain.errors() == [(ARENA_INDEX, arena.ChallengeExpired.code)]
    go(chain, task, 0, 6)
    chain.block(*reveals)
    go(chain, task, 0, 8)
    chain.block()
    assert offence_recorded(chain, arena.KIND_DATA_WITHHELD, T2)
    assert chain.held(REPORTER.account, arena.HOLD_CHALLENGE) == 0
    result = arena.RoundResults.get(chain.state, arena.TaskRound(task, 0))
    assert [score.status for score in result.scores][1] == arena.SUBMISSION_WITHHELD
    end_era_and_withdraw(chain, 20, T2)
    assert chain.free(T2.account) == BALANCE - FEE - 2_000  # 10 % of its 20,000
    assert chain.free(REPORTER.account) == BALANCE - 2_000 + 200  # lost the answered deposit, won 10 %


def test_emission_reaches_tasks_in_proportion_to_the_stake_on_each() -> None:
    chain = new_chain()
    first = start_task(chain)  # block 1; stake 50k (creator) + 120k (workers) from block 2
    second = arena.NextTaskId.get(chain.state)
    chain.block((DELEGATOR.key, create_args(task=second, stake=85_000, budget=ED)))  # block 3
    before = [chain.free(arena.get_task_account(task)) for task in (first, second)]
    chain.block()  # block 4 pays 1,000 of ML emission: 170k : 85k
    after = [chain.free(arena.get_task_account(task)) for task in (first, second)]
    assert [a - b for a, b in zip(after, before)] == [1_000 * 170_000 // 255_000, 1_000 * 85_000 // 255_000]
    assert emission_event(chain).amount == 666 + 333  # the unit rounding leaves stays in the ML pool


def emission_event(chain: Chain) -> Any:
    from runtime.pallets import emission

    return next(event for event in chain.events if isinstance(event, emission.MlRewardsDistributed))


def test_registrations_and_delegations_are_checked_before_anything_is_written() -> None:
    chain = new_chain()
    task = start_task(chain)
    refused = [
        ((CREATOR.key, arena.RegisterTrainerArgs(task, 10_000)), arena.AlreadyStaked),  # not on its own task
        ((T1.key, arena.RegisterEvaluatorArgs(task, 10_000)), arena.AlreadyStaked),  # one stake per task
        ((REPORTER.key, arena.RegisterTrainerArgs(task, 4_999)), arena.StakeTooLow),
        ((REPORTER.key, arena.RegisterTrainerArgs(task, 2 * BALANCE)), arena.InsufficientBalance),
        ((REPORTER.key, arena.RegisterTrainerArgs(task + 1, 10_000)), arena.NoSuchTask),
        ((DELEGATOR.key, arena.DelegateArgs(task, T2.account, 5_000)), arena.NotDelegate),  # T2 declared no share
        ((DELEGATOR.key, arena.DelegateArgs(task, REPORTER.account, 5_000)), arena.NotDelegate),
        ((REPORTER.key, arena.SetDelegateShareArgs(ONE + 1)), arena.BadShare),
        ((E1.key, arena.CommitSubmissionArgs(task, ZERO_HASH)), arena.NotTrainer),
        ((REPORTER.key, replace(create_args(), rounds=2)), arena.BadTask),  # one commitment per round
        ((REPORTER.key, create_args(round_blocks=ROUND_BLOCKS - 1)), arena.BadTask),
        ((REPORTER.key, create_args(stake=9_999)), arena.StakeTooLow),
    ]
    before = dict(chain.state._items)
    outcomes = chain.block(*(call for call, _ in refused), expect_ok=False)
    assert outcomes == [False] * len(refused)
    assert chain.errors() == [(ARENA_INDEX, error.code) for _, error in refused]
    changed = {key for key in set(before) | set(chain.state._items) if before.get(key) != chain.state._items.get(key)}
    assert all(
        not key.startswith(arena.Tasks.prefix[:16]) or key.startswith(arena.RoundSeeds.prefix) for key in changed
    )
    chain.block((T2.key, arena.SetDelegateShareArgs(10 * PERCENT)))
    chain.block((T2.key, arena.SetDelegateShareArgs(20 * PERCENT)), expect_ok=False)
    assert chain.errors() == [(ARENA_INDEX, arena.ShareChangeTooSoon.code)]  # once per 100 blocks
    go(chain, task, 0, 2)
    chain.block((REPORTER.key, arena.RegisterTrainerArgs(task, 10_000)), expect_ok=False)
    assert chain.errors() == [(ARENA_INDEX, arena.RegistrationClosed.code)]


def test_governance_sets_the_parameters_checked_and_genesis_round_trips() -> None:
    from runtime.framework.pallet import ROOT
    from runtime_helpers import RUNTIME, at_block, dispatch

    chain = new_chain()
    assert RUNTIME.pallet("arena").export_genesis(chain.state) == ARENA
    ctx = at_block(chain.state, 1)
    parameters = arena.get_parameters(chain.state)
    with pytest.raises(arena.BadParameters, match="at most one half"):
        dispatch(ctx, ROOT, arena.PARAMETERS.call_args(replace(parameters, gamma_parts=ONE // 2 + 1)))
    with pytest.raises(arena.BadParameters, match="challengeResponseBlocks"):
        dispatch(ctx, ROOT, arena.PARAMETERS.call_args(replace(parameters, challenge_response_blocks=REVEAL + 1)))
    dispatch(ctx, ROOT, arena.PARAMETERS.call_args(replace(parameters, rho_parts=ONE // 4)))
    assert arena.get_parameters(ctx.state).rho_parts == ONE // 4
    assert arena.Arena.CALLS[15].governable


# --- attacks ----------------------------------------------------------------------------------
# Each adversary of docs/ml-work.md's "Attacks considered" that the tests above do not cover.


def test_stake_added_while_roles_are_claimed_cannot_turn_an_honest_seat_into_a_false_role() -> None:
    """A committee seat is drawn by the evaluator's share of the evaluators' stake. If stake
    could be added in the attest window, a registration (or a delegation) ordered just before
    an honest evaluator's claim would lower its threshold under the value its VRF drew: an
    honest claim judged false, an offence. Stakes change only in commit windows."""
    chain = new_chain(era_length=20, committeeSize=1)  # a seat below 2^64 × 20k / 60k
    task = start_task(chain, rounds=2)  # registration would stay open in round 0's attest window
    subs = [submit(worker, task, 0, worker.name, index=i) for i, worker in enumerate((T1, T2, T3))]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, 0, 2)
    chain.block(*(reveal for _, reveal in subs), reveal_data(task, 0))
    seed = seed_of(chain, task, 0)
    drawn = [E1.prove(MARKET_ARENA, PURPOSE_COMMITTEE, seed, task, 0, subject)[1] for subject in range(3)]
    after = (1 << 64) * 20_000 // (60_000 + 900_000)  # E1's threshold with 900k more evaluator stake
    subject = next(s for s, value in enumerate(drawn) if after <= value < (1 << 64) // 3)
    commits, _ = scores(chain, task, 0, {E1: [ONE // 2]}, subjects=[subject])
    go(chain, task, 0, 3)
    chain.block((E2.key, arena.SetDelegateShareArgs(0)))  # so that E2 can be delegated to
    go(chain, task, 0, 4)
    outcomes = chain.block(
        (REPORTER.key, arena.RegisterEvaluatorArgs(task, 900_000)),
        (DELEGATOR.key, arena.DelegateArgs(task, E2.account, 900_000)),
        *commits,
        expect_ok=False,
    )
    assert outcomes == [False, False, True]
    assert chain.errors() == [(ARENA_INDEX, arena.RegistrationClosed.code)] * 2
    assert not offence_recorded(chain, arena.KIND_FALSE_ROLE, E1)
    assert arena.ScoresCommitted(task, 0, E1.account, 1) in chain.events
    go(chain, task, 1, 0)  # the next round's commit window: open again
    chain.block((REPORTER.key, arena.RegisterEvaluatorArgs(task, 900_000)))


def test_a_delegate_cannot_raise_its_share_while_stake_is_delegated_to_it() -> None:
    """The bait and switch: declare σ = 0, draw delegators (whose stake stays until the task
    ends), then raise σ to 100 % once the change period has passed. Refused while anyone's stake
    in an active task is behind the delegate; lowering stays allowed, raising after the task."""
    chain = new_chain()  # shareChangePeriodBlocks = 100
    chain.block((T1.key, arena.SetDelegateShareArgs(0)))
    chain.run_to(101)  # the period has passed
    task = start_task(chain, rounds=2)
    go(chain, task, 0, 1)
    chain.block((DELEGATOR.key, arena.DelegateArgs(task, T1.account, 10_000)))
    chain.block(reveal_data(task, 0))  # round 0 runs without submissions
    chain.block((T1.key, arena.SetDelegateShareArgs(ONE)), expect_ok=False)
    assert chain.errors() == [(ARENA_INDEX, arena.ShareLocked.code)]
    chain.block((T2.key, arena.SetDelegateShareArgs(5 * PERCENT)))
    chain.block((T2.key, arena.SetDelegateShareArgs(ONE)), expect_ok=False)  # once per period still
    assert chain.errors() == [(ARENA_INDEX, arena.ShareChangeTooSoon.code)]
    chain.block((T1.key, arena.SetDelegateShareArgs(0)))  # not a raise
    honest_round(chain, task, 1)  # the task ends: the delegator has its stake back
    assert arena.get_active_tasks(chain.state) == ()
    assert chain.free(DELEGATOR.account) > BALANCE  # paid at σ = 0
    chain.run_to(chain.number + 100)
    chain.block((T1.key, arena.SetDelegateShareArgs(ONE)))


def test_a_schedule_past_the_last_block_number_is_refused() -> None:
    """A task whose last round would end beyond u32 block numbers would never end: its stakes
    and its place among the 16 active tasks held for good."""
    chain = new_chain()
    start = chain.number + 2
    longest = ((1 << 32) - start) // 2  # two rounds: the last ends at block 2^32 - 1 at most
    outcomes = chain.block(
        (REPORTER.key, create_args(2, round_blocks=longest + 1)),
        (CREATOR.key, create_args(2, round_blocks=longest)),
        expect_ok=False,
    )
    assert outcomes == [False, True] and chain.errors() == [(ARENA_INDEX, arena.BadTask.code)]
    assert arena.get_active_tasks(chain.state) == (0,)


def test_a_copied_commitment_or_reveal_earns_the_copier_an_offence_and_leaves_the_original_alone() -> None:
    """A trainer that copies another's commitment from the pool cannot open it: the proof names
    its worker (a copied proof is not the copier's, and re-signed as the copier's it no longer
    matches the hash, which binds the worker too). Seen before the commit window closes, a
    reveal is too late to copy."""
    chain = new_chain(era_length=20)
    task = start_task(chain)
    original = T1.work(MARKET_ARENA, task, 0, MODEL, "t1")
    stolen = T2.work(MARKET_ARENA, task, 0, MODEL, "t1", update_root=original.proof.update_root)
    go(chain, task, 0, 1)
    chain.block(
        (T1.key, arena.CommitSubmissionArgs(task, T1.commit_work(original, "t1"))),
        (T2.key, arena.CommitSubmissionArgs(task, T1.commit_work(original, "t1"))),  # T1's hash
    )
    go(chain, task, 0, 2)
    outcomes = chain.block(
        (T1.key, arena.RevealSubmissionArgs(task, 0, original, salt("t1"))),
        reveal_data(task, 0),
        (T2.key, arena.RevealSubmissionArgs(task, 1, original, salt("t1"))),
        expect_ok=False,
    )
    assert outcomes == [True, True, False]
    assert chain.errors() == [(ARENA_INDEX, arena.BadProof.code)]  # T1's signed proof is not T2's
    chain.block((T2.key, arena.RevealSubmissionArgs(task, 1, stolen, salt("t1"))))
    assert offence_recorded(chain, arena.KIND_BAD_REVEAL, T2)
    statuses = [s.status for s in arena.Submissions.get(chain.state, arena.TaskRound(task, 0))]
    assert statuses == [arena.SUBMISSION_REVEALED, arena.SUBMISSION_BAD_REVEAL]
    commits, reveals = scores(chain, task, 0, {E1: [ONE // 2], E2: [ONE // 2], E3: [ONE // 2]}, subjects=[0])
    go(chain, task, 0, 4)
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*reveals)
    go(chain, task, 0, 8)
    chain.block()
    result = arena.RoundResults.get(chain.state, arena.TaskRound(task, 0))
    trainer_part = result.reward - result.evaluator_part
    paid = {payout.who: payout.amount for payout in result.rewards}
    assert paid[T1.account] == trainer_part and T2.account not in paid  # the only ranked trainer


@pytest.mark.parametrize(
    "extreme",
    [
        {"gammaPerbill": 0, "rhoPerbill": 0, "clipBand": 0, "reporterPerbill": ONE},
        {"gammaPerbill": ONE // 2, "rhoPerbill": ONE, "clipBand": (1 << 64) - 1, "committeeSize": (1 << 32) - 1},
        {"outlierRounds": 1, "outlierSlashPerbill": ONE, "missedRevealSlashPerbill": ONE, "creatorSlashPerbill": ONE},
    ],
)
def test_extreme_parameters_never_pay_more_than_the_round_or_change_the_issuance(extreme: dict[str, int]) -> None:
    """The worked example under each parameter's extreme values: every block's try_state holds
    (the chain checks it), what is paid never exceeds the round's reward nor either part its
    share, and the total issuance stays."""
    issuance = new_chain(**extreme).issuance()
    chain = run_worked_example(**extreme)
    result = arena.RoundResults.get(chain.state, arena.TaskRound(0, 0))
    trainers = {T1.account, T2.account, T3.account, DELEGATOR.account}
    paid_to_trainers = sum(p.amount for p in result.rewards if p.who in trainers)
    paid_to_evaluators = sum(p.amount for p in result.rewards if p.who not in trainers)
    assert paid_to_trainers <= result.reward - result.evaluator_part
    assert paid_to_evaluators <= result.evaluator_part
    assert result.reward == 111_000 and chain.issuance() == issuance
    assert arena.get_active_tasks(chain.state) == () and chain.free(arena.get_task_account(0)) == 0


def test_a_trainer_cannot_know_when_it_commits_whether_or_where_its_work_is_spot_checked() -> None:
    """The round's seed is public from the round's first block, before the commits: drawn from it
    alone, a spot check would tell a trainer which trace segment to train honestly (and whether
    to bother at all). Checks are drawn from the check seed, which mixes in the parent hash of
    the first reveal block: unknown until the commit window's last block exists."""
    chain = new_chain(spotCheckPerbill=40 * PERCENT)
    task = start_task(chain)
    subs = [
        submit(worker, task, 0, f"{worker.name} {slot}", index=2 * i + slot, slot=slot)
        for i, worker in enumerate((T1, T2))
        for slot in (0, 1)
    ]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))  # the commit window's last block
    assert api.get_ml_check_seed(chain.state, api.MARKET_ARENA, task, 0) is None
    chain.block(*(reveal for _, reveal in subs), reveal_data(task, 0))
    last_commit_block = system.get_block_hash(chain.state, chain.number - 1)
    round_seed, check_seed = seed_of(chain, task, 0), arena.get_check_seed(chain.state, task, 0)
    assert check_seed == compute_check_seed(round_seed, last_commit_block)
    assert api.get_ml_check_seed(chain.state, api.MARKET_ARENA, task, 0) == check_seed  # what mlworker reads
    rate = 40 * PERCENT
    predicted = [s for s in range(4) if is_spot_checked(round_seed, MARKET_ARENA, task, 0, s, rate)]
    drawn = [s for s in range(4) if is_spot_checked(check_seed, MARKET_ARENA, task, 0, s, rate)]
    subject = next(s for s in range(4) if (s in predicted) != (s in drawn))  # the seeds disagree
    go(chain, task, 0, 4)
    claimed = claims(chain, E1, task, 0, [(subject, KIND_DISTANCE)])
    outcomes = chain.block((E1.key, arena.CommitScoresArgs(task, claimed, ZERO_HASH)), expect_ok=False)
    assert outcomes == [subject in drawn]  # the check seed decides
    assert chain.errors() == ([] if subject in drawn else [(ARENA_INDEX, arena.BadClaims.code)])


def test_an_abandoned_round_returns_open_challenge_deposits_and_pays_its_closer_the_reporter_share() -> None:
    """Challenges need no evaluation data, so an abandoned round may hold some: the unanswered
    one's deposit goes back to its challenger (no withheld-data offence: nothing was scored), the
    answered one's went to the trainer already; whoever closes the round earns the reporter share
    of the creator's penalty."""
    chain = new_chain()
    task = start_task(chain)
    chunks = [b"tensor chunk %d" % index for index in range(3)]
    fields = {"update_root": compute_merkle_root(chunks), "update_chunks": len(chunks)}
    subs = [submit(worker, task, 0, worker.name, index=i, **fields) for i, worker in enumerate((T1, T2))]
    go(chain, task, 0, 1)
    chain.block(*(commit for commit, _ in subs))
    go(chain, task, 0, 2)
    chain.block(*(reveal for _, reveal in subs))  # the creator stays silent
    go(chain, task, 0, 4)
    chain.block((REPORTER.key, arena.ChallengeDataArgs(task, 0)), (E1.key, arena.ChallengeDataArgs(task, 1)))
    drawn = next(event.chunk for event in chain.events if isinstance(event, arena.DataChallenged))
    chain.block((T1.key, arena.AnswerChallengeArgs(task, 0, chunks[drawn], compute_merkle_proof(chunks, drawn))))
    assert chain.held(E1.account, arena.HOLD_CHALLENGE) == 2_000
    go(chain, task, 0, 8)
    chain.block((REPORTER.key, arena.CloseRoundArgs(task)))
    assert chain.held(E1.account, arena.HOLD_CHALLENGE) == chain.held(REPORTER.account, arena.HOLD_CHALLENGE) == 0
    assert not any(isinstance(event, offences.OffenceRecorded) for event in chain.events)
    assert arena.Penalised(task, 0, CREATOR.account, 10_000, 1_000) in chain.events  # 10 % of 20 % of 50,000
    result = arena.RoundResults.get(chain.state, arena.TaskRound(task, 0))
    assert (result.outcome, result.evaluator_part, result.scores, result.evaluators) == (
        arena.ROUND_ABANDONED,
        0,
        (),
        (),
    )
    assert chain.free(REPORTER.account) == BALANCE - 2_000 + 1_000  # the answered deposit, the share
    assert chain.total(T1.account) > BALANCE - FEE + 2_000  # the deposit, then its share of the pool

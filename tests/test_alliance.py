"""alliance (FL Alliance) against the composed runtime, with scripted participants in real
blocks that take the role their VRF gives them each round: a task over five rounds with
accepted and rejected rounds and every balance computed by hand, then the adversaries (a role
the VRF does not give, colluding voters below a third of the stake, a reveal that does not match
its commit, a late reveal, a failed spot check, two proofs for one round, withheld data) and a
round that misses its minimum."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from ml_helpers import ED, ONE, PERCENT, Chain, Worker, endow, ml_genesis, offence_recorded, root, salt

from flockchain.db.memory import MemoryStore
from flockchain.state.proof import verify_proof
from flockchain.state.tree import StateTree
from runtime import api
from runtime.accounts import ML_REWARD_POOL_ACCOUNT
from runtime.errors import InvalidProof
from runtime.framework.mlwork import (
    AGGREGATE_SUBJECT,
    KIND_DISTANCE,
    KIND_SCORE,
    MARKET_ALLIANCE,
    PURPOSE_CHECK,
    PURPOSE_ROLE,
    Claim,
    ClaimedItem,
    compute_aggregate_id,
    compute_ratio_threshold,
)
from runtime.pallets import alliance
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.merkle import compute_merkle_root

CREATOR = Worker("fl creator")
PARTICIPANTS = tuple(Worker(f"fl participant {index}") for index in range(1, 9))
P1, P2, P3, P4, P5, P6, P7, P8 = PARTICIPANTS
REPORTER = Worker("fl reporter")
BALANCE = 1_000_000
BUDGET = 100_000
ML_PER_BLOCK = 1_000
COMMIT, REVEAL = 2, 2
ROUND_BLOCKS = 2 * (COMMIT + REVEAL) + 1
DEFINITION, INITIAL = root("model definition"), root("initial global model")
RATIO = 40 * PERCENT
FL_INDEX = 12

ALLIANCE = {
    "creatorMinStake": 10_000,
    "joinBlocks": 1,
    "commitBlocks": COMMIT,
    "revealBlocks": REVEAL,
    "checkerCommitteeSize": 8,
    "spotCheckPerbill": 0,
    "rejectedProposerSlashPerbill": 5 * PERCENT,
    "outlierRounds": 3,
    "outlierSlashPerbill": 10 * PERCENT,
    "missedRevealSlashPerbill": 5 * PERCENT,
    "faultSlashPerbill": 10 * PERCENT,
    "reporterPerbill": 10 * PERCENT,
    "challengeDeposit": 2_000,
    "challengeResponseBlocks": 1,
}


def new_chain(era_length: int = 0, ml_per_block: int = ML_PER_BLOCK, **parameters: Any) -> Chain:
    return Chain(
        ml_genesis(
            endow(CREATOR, *PARTICIPANTS, REPORTER, amount=BALANCE),
            alliance={**ALLIANCE, **parameters},
            ml_per_block=ml_per_block,
            era_length=era_length,
        )
    )


def create_args(rounds: int = 5, **changes: Any) -> alliance.CreateTaskArgs:
    args = alliance.CreateTaskArgs(
        model_definition_root=DEFINITION,
        initial_model_root=INITIAL,
        rounds=rounds,
        round_blocks=ROUND_BLOCKS,
        min_participants=2,
        max_participants=8,
        min_stake=5_000,
        proposer_ratio_parts=RATIO,
        budget=BUDGET,
        tolerance=100_000,
        stake=10_000,
    )
    return replace(args, **changes)


def start_task(chain: Chain, stakes: dict[Worker, int], rounds: int = 5, **changes: Any) -> int:
    """The task in the next block, the participants join in the one after (round 0 starts in
    the block after that). The task's id."""
    task = alliance.NextTaskId.get(chain.state)
    chain.block((CREATOR.key, create_args(rounds, **changes)))
    chain.block(*((worker.key, alliance.JoinArgs(task, stake)) for worker, stake in stakes.items()))
    return task


def go(chain: Chain, task: int, round_: int, offset: int) -> None:
    """Empty blocks until the next block is at ``offset`` in the round."""
    start = alliance.get_task(chain.state, task).schedule.start + round_ * ROUND_BLOCKS
    chain.run_to(start + offset - 1)


def role_proof(chain: Chain, worker: Worker, task: int, round_: int) -> tuple[bytes, bool]:
    """The worker's role proof this round, and whether it makes it a proposer."""
    seed = alliance.get_round_seed(chain.state, task, round_)
    proof, value = worker.prove(MARKET_ALLIANCE, PURPOSE_ROLE, seed, task, round_, 0)
    return proof, value < compute_ratio_threshold(RATIO)


def roles(chain: Chain, task: int, round_: int, workers: tuple[Worker, ...]) -> str:
    """``P`` for a proposer, ``v`` for a voter, in the order of ``workers`` (after the round's
    first block, which fixes its seed)."""
    return "".join("P" if role_proof(chain, worker, task, round_)[1] else "v" for worker in workers)


def make_update(chain: Chain, task: int, round_: int, worker: Worker, **fields: Any) -> Any:
    """The worker's signed work proof on the current global model."""
    parent = alliance.get_task(chain.state, task).global_model_root
    return worker.work(MARKET_ALLIANCE, task, round_, parent, f"{worker.name} {task} {round_}", **fields)


def honest_aggregate(chain: Chain, task: int, round_: int) -> bytes:
    """The root every honest voter computes for the round's aggregate: a function of its id
    (the global model and the revealed updates, by proposer)."""
    updates = sorted(
        (u for u in alliance.Updates.get(chain.state, alliance.TaskRound(task, round_)) if u.proof is not None),
        key=lambda u: u.proposer,
    )
    global_root = alliance.get_task(chain.state, task).global_model_root
    aggregate_id = compute_aggregate_id(global_root, [u.proof.update_root for u in updates])  # type: ignore[union-attr]
    return root(f"aggregate {aggregate_id.hex()}")


def update_calls(chain: Chain, task: int, round_: int, updates: dict[Worker, Any]) -> tuple[list[Any], list[Any]]:
    """Commit and reveal calls of proposers' updates."""
    label = f"update {task} {round_}"
    commits = [
        (w.key, alliance.CommitUpdateArgs(task, role_proof(chain, w, task, round_)[0], w.commit_work(u, label)))
        for w, u in updates.items()
    ]
    reveals = [(w.key, alliance.RevealUpdateArgs(task, u, salt(label))) for w, u in updates.items()]
    return commits, reveals


def vote_calls(
    chain: Chain,
    task: int,
    round_: int,
    votes: dict[Worker, tuple[int, bytes]],
    checks: dict[Worker, list[Any]] | None = None,
) -> tuple[list[Any], list[Any]]:
    """Commit and reveal calls of voters scoring the aggregate ``(score, aggregate root)`` (and
    the spot-check distances ``checks[voter] = [(subject, distance), ...]``)."""
    commits, reveals = [], []
    for worker, (score, aggregate_root) in votes.items():
        checked = (checks or {}).get(worker, [])
        seed = alliance.get_round_seed(chain.state, task, round_)
        claims = tuple(
            Claim(subject, KIND_DISTANCE, worker.prove(MARKET_ALLIANCE, PURPOSE_CHECK, seed, task, round_, subject)[0])
            for subject, _ in checked
        )
        items = [ClaimedItem(AGGREGATE_SUBJECT, KIND_SCORE), *(ClaimedItem(c.subject, c.kind) for c in claims)]
        values = [score, *(distance for _, distance in checked)]
        label = f"vote {worker.name} {task} {round_}"
        commitment = worker.commit_values(MARKET_ALLIANCE, task, round_, items, values, label, aggregate_root)
        proof, _ = role_proof(chain, worker, task, round_)
        commits.append((worker.key, alliance.CommitVoteArgs(task, proof, claims, commitment)))
        reveals.append((worker.key, alliance.RevealVoteArgs(task, tuple(values), aggregate_root, salt(label))))
    return commits, reveals


def play(
    chain: Chain,
    task: int,
    round_: int,
    score: int,
    *,
    workers: tuple[Worker, ...],
    dishonest: dict[Worker, tuple[int, bytes]] | None = None,
    close_by: Worker | None = None,
) -> alliance.FlRoundResult:
    """One round from its first block to its close: each of ``workers`` takes its VRF role;
    proposers commit and reveal an update, voters score the aggregate ``score`` with the root
    they all compute (``dishonest`` voters report their own score and root)."""
    go(chain, task, round_, 0)
    chain.block()  # the round's first block fixes its seed
    proposers = [w for w in workers if role_proof(chain, w, task, round_)[1]]
    voters = [w for w in workers if w not in proposers]
    commits, reveals = update_calls(chain, task, round_, {w: make_update(chain, task, round_, w) for w in proposers})
    chain.block(*commits)
    go(chain, task, round_, 2)
    chain.block(*reveals)
    aggregate_root = honest_aggregate(chain, task, round_)
    votes = {voter: (dishonest or {}).get(voter, (score, aggregate_root)) for voter in voters}
    commits, reveals = vote_calls(chain, task, round_, votes)
    go(chain, task, round_, 4)
    chain.block(*commits)
    go(chain, task, round_, 6)
    chain.block(*reveals)
    go(chain, task, round_, 8)
    chain.block(*([(close_by.key, alliance.CloseRoundArgs(task))] if close_by else []))
    return alliance.RoundResults.get(chain.state, alliance.TaskRound(task, round_))


# --- the lifecycle --------------------------------------------------------------------------

FIVE = (P1, P2, P3, P4, P5)
FIVE_STAKES = {P1: 10_000, P2: 20_000, P3: 30_000, P4: 40_000, P5: 50_000}
# What each participant's VRF gives it in rounds 0-4 of task 0 (asserted as the rounds run).
FIVE_ROLES = ("Pvvvv", "vPPPP", "PvvPP", "PPvPP", "vPvvv")


def test_an_fl_task_over_five_rounds_with_accepted_and_rejected_rounds() -> None:
    chain = new_chain()
    issuance = chain.issuance()
    task = start_task(chain, FIVE_STAKES)  # block 1: the task; block 2: five join; round r: blocks 3+9r..11+9r
    stakes = dict(FIVE_STAKES)
    rewards = dict.fromkeys(FIVE, 0)
    penalties = dict.fromkeys(FIVE, 0)
    pool = BUDGET  # the task's pool, by hand
    global_root = INITIAL
    for round_, (planned, score) in enumerate(
        zip(FIVE_ROLES, (ONE // 10, -ONE // 10, ONE // 20, -ONE // 20, ONE // 10))
    ):
        result = play(chain, task, round_, score, workers=FIVE)
        assert roles(chain, task, round_, FIVE) == planned
        proposers = [w for w, role in zip(FIVE, planned) if role == "P"]
        voters = [w for w, role in zip(FIVE, planned) if role == "v"]
        close_block = 11 + 9 * round_
        pool_at_close = pool + ML_PER_BLOCK * (close_block - 1 if round_ == 0 else 9)  # the only task: all of it
        reward = (pool_at_close - ED) // (5 - round_)
        accepted = score >= 0
        # Shares by the stake of everyone active; an accepted round pays all of them, a rejected
        # one only the voters (who agreed), and the proposers' shares stay in the pool.
        shares = {w: reward * stakes[w] // sum(stakes[v] for v in proposers + voters) for w in proposers + voters}
        gross = {w: amount for w, amount in shares.items() if accepted or w in voters}
        for w, amount in gross.items():
            rewards[w] += amount
        pool = pool_at_close - sum(gross.values())
        if not accepted:
            for w in proposers:
                penalty = -(-5 * PERCENT * stakes[w] // ONE)  # rounded up
                penalties[w] += penalty
                stakes[w] -= penalty
                pool += penalty
        assert result.reward == reward
        assert result.outcome == (alliance.ROUND_ACCEPTED if accepted else alliance.ROUND_REJECTED)
        assert {p.who: p.amount for p in result.rewards} == {w.account: a for w, a in gross.items()}
        assert result.median_score == score
        if accepted:
            global_root = result.global_model_root
            assert alliance.GlobalModels.get(chain.state, alliance.TaskRound(task, round_)) == global_root
        assert result.global_model_root == global_root  # a rejected round keeps the previous model
    assert alliance.get_task(chain.state, task).global_model_root == global_root
    assert alliance.get_task(chain.state, task).status == alliance.TASK_ENDED
    # Round 1 took 5 % of P2-P5's stakes, round 3 5 % of what P1, P2, P4 and P5 had left.
    assert penalties == {P1: 500, P2: 1_000 + 950, P3: 1_500, P4: 2_000 + 1_900, P5: 2_500 + 2_375}
    for worker in FIVE:
        assert chain.free(worker.account) == BALANCE - penalties[worker] + rewards[worker]
        assert chain.held(worker.account, alliance.HOLD_STAKE) == 0
    assert chain.free(CREATOR.account) == BALANCE - BUDGET
    assert chain.free(ML_REWARD_POOL_ACCOUNT) == ED + pool  # what the rounds left came back
    assert chain.issuance() == issuance


def test_a_light_client_verifies_a_models_provenance_with_state_proofs() -> None:
    """task → accepted rounds → global model roots → the votes behind them → the rewards: each
    answer a proven key's value, decoded as the client would."""
    chain = new_chain()
    task = start_task(chain, FIVE_STAKES, rounds=3)
    for round_, score in enumerate((ONE // 10, -ONE // 10, ONE // 20)):
        play(chain, task, round_, score, workers=FIVE)
    tree = StateTree(MemoryStore())
    tree.apply(dict(chain.state.iter_prefix(b"")))
    state_root = tree.root

    def proven(key: bytes) -> bytes:
        value = chain.state.get(key)
        assert value is not None
        verify_proof(state_root, key, value, tree.prove(key))
        return value

    key = api.get_ml_task_key(api.MARKET_ALLIANCE, task)
    view = api.decode_ml_task(api.MARKET_ALLIANCE, key, proven(key))
    assert (view.status, view.next_round, view.initial_model_root) == ("ended", 3, INITIAL)
    steps = api.get_model_provenance(chain.state, task)
    assert [step.round for step in steps] == [0, 2]  # round 1 was rejected
    assert steps[-1].global_model_root == view.global_model_root
    for step in steps:
        model_root = proven(step.storage_key)
        result = api.decode_ml_round(api.MARKET_ALLIANCE, step.result_key, proven(step.result_key))
        assert result.outcome == "accepted" and result.global_model_root == step.global_model_root
        assert model_root.endswith(step.global_model_root)
        votes_key = api.get_ml_attestations_key(api.MARKET_ALLIANCE, task, step.round)
        votes = api.decode_ml_attestations(api.MARKET_ALLIANCE, votes_key, proven(votes_key))
        assert all(vote.aggregate_root == step.global_model_root for vote in votes)  # every vote named it
        updates_key = api.get_ml_work_key(api.MARKET_ALLIANCE, task, step.round)
        updates = api.decode_ml_work(api.MARKET_ALLIANCE, updates_key, proven(updates_key))
        assert {u.worker for u in updates} | {v.worker for v in votes} == {p.who for p in result.rewards}
    rejected = api.get_ml_round(chain.state, api.MARKET_ALLIANCE, task, 1)
    assert rejected is not None and rejected.outcome == "rejected" and rejected.median_score == -ONE // 10
    assert rejected.global_model_root == steps[0].global_model_root  # the model did not move
    with pytest.raises(InvalidProof):  # a value the proof does not cover fails
        verify_proof(state_root, key, proven(key) + b"x", tree.prove(key))


# --- adversaries ----------------------------------------------------------------------------

EIGHT_STAKES = {P1: 10_000, P2: 15_000, P3: 15_000, P4: 10_000, P5: 10_000, P6: 10_000, P7: 10_000, P8: 10_000}


def begin(chain: Chain, task: int, round_: int, workers: tuple[Worker, ...]) -> tuple[list[Worker], list[Worker]]:
    """The round's first block (it fixes the seed); the proposers and the voters among ``workers``."""
    go(chain, task, round_, 0)
    chain.block()
    proposers = [w for w in workers if role_proof(chain, w, task, round_)[1]]
    return proposers, [w for w in workers if w not in proposers]


def end_era_and_withdraw(chain: Chain, era_length: int, *workers: Worker) -> None:
    """Run to the end of the current era (slashes apply), then let ``workers`` withdraw."""
    chain.end_era(era_length)
    chain.block(*((worker.key, alliance.WithdrawUnbondedArgs()) for worker in workers))


def test_a_participant_claiming_a_role_its_vrf_does_not_give_is_slashed() -> None:
    chain = new_chain(era_length=20)
    task = start_task(chain, FIVE_STAKES)
    proposers, voters = begin(chain, task, 0, FIVE)
    assert proposers and voters
    voter, proposer = voters[0], proposers[0]  # the proposer will try to vote instead
    honest = {w: make_update(chain, task, 0, w) for w in proposers if w != proposer}
    commits, reveals = update_calls(chain, task, 0, honest)
    greedy = make_update(chain, task, 0, voter)
    greedy_commit = voter.commit_work(greedy, "greedy")
    stolen = role_proof(chain, proposer, task, 0)[0]  # a proposer's proof, under another key
    impostor = next(w for w in voters if w != voter) if len(voters) > 1 else None
    calls = [
        *commits,
        (voter.key, alliance.CommitUpdateArgs(task, role_proof(chain, voter, task, 0)[0], greedy_commit)),
        *([(impostor.key, alliance.CommitUpdateArgs(task, stolen, ZERO_HASH))] if impostor else []),
    ]
    chain.block(*calls)
    assert offence_recorded(chain, alliance.KIND_FALSE_ROLE, voter)
    assert impostor is None or offence_recorded(chain, alliance.KIND_FALSE_ROLE, impostor)
    updates = alliance.Updates.get(chain.state, alliance.TaskRound(task, 0))
    assert [update.proposer for update in updates] == [w.account for w in honest]  # nothing taken for them
    go(chain, task, 0, 2)
    chain.block(*reveals)
    go(chain, task, 0, 4)
    commitment = proposer.commit_values(
        MARKET_ALLIANCE, task, 0, [ClaimedItem(AGGREGATE_SUBJECT, KIND_SCORE)], [0], "p"
    )
    chain.block((proposer.key, alliance.CommitVoteArgs(task, stolen, (), commitment)))  # a proposer may not vote
    assert offence_recorded(chain, alliance.KIND_FALSE_ROLE, proposer)
    offenders = [voter, proposer, *([impostor] if impostor else [])]
    end_era_and_withdraw(chain, 20, *offenders)
    for worker in offenders:
        stake = FIVE_STAKES[worker]
        assert chain.free(worker.account) == BALANCE - stake // 10  # 10 % of its stake, the rest released
    for worker in FIVE:
        if worker not in offenders:
            assert chain.free(worker.account) >= BALANCE  # untouched


def test_colluding_voters_below_a_third_of_the_stake_cannot_flip_a_round() -> None:
    chain = new_chain()
    task = start_task(chain, EIGHT_STAKES, rounds=1, max_participants=8)
    total_stake = 10_000 + sum(EIGHT_STAKES.values())
    colluders = (P2, P3)
    assert 3 * sum(EIGHT_STAKES[w] for w in colluders) < total_stake  # 30,000 of 100,000
    result = play(
        chain,
        task,
        0,
        ONE // 10,
        workers=PARTICIPANTS,
        dishonest={w: (-ONE, root("a poisoned aggregate")) for w in colluders},
    )
    assert roles(chain, task, 0, PARTICIPANTS) == "PvvvvvPv"  # P2 and P3 both vote
    assert result.outcome == alliance.ROUND_ACCEPTED and result.median_score == ONE // 10
    assert alliance.GlobalModels.get(chain.state, alliance.TaskRound(task, 0)) == result.global_model_root
    paid = {payout.who for payout in result.rewards}
    assert paid == {w.account for w in PARTICIPANTS if w not in colluders}  # proposers and honest voters
    assert all(chain.free(w.account) == BALANCE for w in colluders)  # nothing earned, nothing lost yet
    assert all(chain.free(w.account) > BALANCE for w in PARTICIPANTS if w not in colluders)


def test_a_reveal_that_does_not_match_its_commit_is_an_offence_and_leaves_the_aggregate() -> None:
    chain = new_chain(era_length=30)
    task = start_task(chain, EIGHT_STAKES, rounds=1)
    proposers, voters = begin(chain, task, 0, PARTICIPANTS)
    assert len(proposers) >= 2 and voters
    cheater, honest = proposers[-1], proposers[:-1]
    updates = {w: make_update(chain, task, 0, w) for w in proposers}
    commits, reveals = update_calls(chain, task, 0, updates)
    chain.block(*commits)
    swapped = make_update(chain, task, 0, cheater, update_root=root("something else"))
    go(chain, task, 0, 2)
    chain.block(*reveals[:-1], (cheater.key, alliance.RevealUpdateArgs(task, swapped, reveals[-1][1].salt)))
    assert offence_recorded(chain, alliance.KIND_BAD_REVEAL, cheater)
    aggregate_root = honest_aggregate(chain, task, 0)  # of the honest updates alone
    commits, reveals = vote_calls(chain, task, 0, {w: (ONE // 10, aggregate_root) for w in voters})
    go(chain, task, 0, 4)
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*reveals)
    go(chain, task, 0, 8)
    chain.block()
    result = alliance.RoundResults.get(chain.state, alliance.TaskRound(task, 0))
    assert result.outcome == alliance.ROUND_ACCEPTED and result.global_model_root == aggregate_root
    paid = {p.who for p in result.rewards}
    assert cheater.account not in paid and {w.account for w in honest} <= paid
    end_era_and_withdraw(chain, 30, cheater)
    assert chain.free(cheater.account) == BALANCE - EIGHT_STAKES[cheater] // 10


def test_a_late_reveal_costs_the_missed_reveal_penalty_ninety_percent_to_the_pool() -> None:
    chain = new_chain()
    task = start_task(chain, EIGHT_STAKES, rounds=2)
    proposers, voters = begin(chain, task, 0, PARTICIPANTS)
    updates = {w: make_update(chain, task, 0, w) for w in proposers}
    commits, reveals = update_calls(chain, task, 0, updates)
    chain.block(*commits)
    go(chain, task, 0, 2)
    chain.block(reveals[0])
    go(chain, task, 0, 4)
    assert chain.block(reveals[1], expect_ok=False) == [False]
    assert chain.errors() == [(FL_INDEX, alliance.WrongPhase.code)]
    commits, votes = vote_calls(chain, task, 0, {w: (ONE // 10, honest_aggregate(chain, task, 0)) for w in voters})
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*votes)
    go(chain, task, 0, 8)
    pool = chain.free(alliance.get_task_account(task))
    chain.block((REPORTER.key, alliance.CloseRoundArgs(task)))
    result = alliance.RoundResults.get(chain.state, alliance.TaskRound(task, 0))
    assert result.outcome == alliance.ROUND_ACCEPTED
    assert result.penalties == (alliance.Payout(P7.account, 500),)  # 5 % of 10,000
    assert chain.free(REPORTER.account) == BALANCE + 50  # the closer's 10 %
    paid = sum(payout.amount for payout in result.rewards)
    assert chain.free(alliance.get_task_account(task)) == pool - paid + 450 + ML_PER_BLOCK  # and the block's emission
    assert chain.held(P7.account, alliance.HOLD_STAKE) == 9_500


def test_a_failed_spot_check_voids_the_round_and_is_an_offence() -> None:
    # Every update is checked, and a committee of 20 by stake makes every voter a checker.
    chain = new_chain(era_length=30, spotCheckPerbill=ONE, checkerCommitteeSize=20)
    task = start_task(chain, EIGHT_STAKES, rounds=2)
    proposers, voters = begin(chain, task, 0, PARTICIPANTS)
    assert len(proposers) >= 2 and voters
    cheater = proposers[-1]
    commits, reveals = update_calls(chain, task, 0, {w: make_update(chain, task, 0, w) for w in proposers})
    chain.block(*commits)
    go(chain, task, 0, 2)
    chain.block(*reveals)
    # Every voter replays each update's drawn segment: the cheater's is 1.6e-3 away (a skipped step).
    last = len(proposers) - 1
    checks = {
        voter: [(subject, 1_600_000 if subject == last else 5_000) for subject in range(last + 1)] for voter in voters
    }
    commits, votes = vote_calls(
        chain, task, 0, {w: (ONE // 10, honest_aggregate(chain, task, 0)) for w in voters}, checks
    )
    go(chain, task, 0, 4)
    chain.block(*commits)
    go(chain, task, 0, 6)
    chain.block(*votes)
    go(chain, task, 0, 8)
    pool = chain.free(alliance.get_task_account(task))
    chain.block()
    assert offence_recorded(chain, alliance.KIND_FAILED_SPOT_CHECK, cheater)
    result = alliance.RoundResults.get(chain.state, alliance.TaskRound(task, 0))
    assert result.outcome == alliance.ROUND_VOIDED and result.rewards == () and result.penalties == ()
    assert alliance.get_task(chain.state, task).global_model_root == INITIAL  # unchanged
    assert chain.free(alliance.get_task_account(task)) == pool + ML_PER_BLOCK  # nothing paid (one more block)
    end_era_and_withdraw(chain, 30)
    assert chain.total(cheater.account) == BALANCE - EIGHT_STAKES[cheater] // 10
    assert all(chain.total(w.account) == BALANCE for w in PARTICIPANTS if w != cheater)  # honest: untouched


def test_two_proofs_for_one_round_are_an_offence_and_withheld_data_too() -> None:
    chain = new_chain(era_length=30)
    task = start_task(chain, EIGHT_STAKES, rounds=2)
    proposers, voters = begin(chain, task, 0, PARTICIPANTS)
    chunks = [b"chunk %d" % n for n in range(3)]
    updates = {
        w: make_update(chain, task, 0, w, update_root=compute_merkle_root(chunks), update_chunks=3) for w in proposers
    }
    commits, reveals = update_calls(chain, task, 0, updates)
    chain.block(*commits)
    go(chain, task, 0, 2)
    chain.block(*reveals)
    assert len(proposers) >= 2
    equivocator, withholder = proposers[0], proposers[1]
    other = make_update(chain, task, 0, equivocator, update_root=root("another update"))
    chain.block((REPORTER.key, alliance.ReportConflictingProofsArgs(updates[equivocator], other)))
    assert offence_recorded(chain, alliance.KIND_CONFLICTING_PROOFS, equivocator)
    chain.block((REPORTER.key, alliance.ChallengeDataArgs(task, 1)))  # the withholder's update
    drawn = next(event.chunk for event in chain.events if isinstance(event, alliance.DataChallenged))
    assert 0 <= drawn < 3 and chain.held(REPORTER.account, alliance.HOLD_CHALLENGE) == 2_000
    go(chain, task, 0, 8)
    chain.block()
    assert offence_recorded(chain, alliance.KIND_DATA_WITHHELD, withholder)
    result = alliance.RoundResults.get(chain.state, alliance.TaskRound(task, 0))
    assert result.outcome == alliance.ROUND_MISSED  # no voter revealed: the task ends early
    assert alliance.get_task(chain.state, task).status == alliance.TASK_ENDED_EARLY
    assert chain.held(REPORTER.account, alliance.HOLD_CHALLENGE) == 0
    end_era_and_withdraw(chain, 30, equivocator, withholder)
    slashes = [EIGHT_STAKES[worker] // 10 for worker in (equivocator, withholder)]
    assert [chain.free(w.account) for w in (equivocator, withholder)] == [BALANCE - slash for slash in slashes]
    assert chain.free(REPORTER.account) == BALANCE + sum(slash // 10 for slash in slashes)  # 10 % of each


def test_a_round_that_misses_its_minimum_closes_cleanly_and_ends_the_task_early() -> None:
    chain = new_chain()
    issuance = chain.issuance()
    task = start_task(chain, {P1: 10_000, P2: 10_000, P3: 10_000}, min_participants=3)
    go(chain, task, 0, 0)
    refused = chain.block((P4.key, alliance.JoinArgs(task, 10_000)), expect_ok=False)
    assert refused == [False] and chain.errors() == [(FL_INDEX, alliance.JoiningClosed.code)]
    go(chain, task, 0, 8)
    chain.block()  # nobody did anything
    result = alliance.RoundResults.get(chain.state, alliance.TaskRound(task, 0))
    assert result.outcome == alliance.ROUND_MISSED and result.rewards == result.penalties == ()
    assert alliance.get_task(chain.state, task).status == alliance.TASK_ENDED_EARLY
    assert alliance.get_active_tasks(chain.state) == ()
    assert all(chain.free(w.account) == BALANCE for w in (P1, P2, P3))
    assert chain.free(CREATOR.account) == BALANCE - BUDGET
    assert chain.free(ML_REWARD_POOL_ACCOUNT) == ED + BUDGET + 10 * ML_PER_BLOCK  # blocks 2-11 came back
    assert chain.issuance() == issuance


def test_joining_is_checked_before_anything_is_written() -> None:
    chain = new_chain(joinBlocks=2)  # round 0 starts in block 4
    task = start_task(chain, {P1: 10_000, P2: 10_000}, max_participants=3)
    refused = [
        ((P1.key, alliance.JoinArgs(task, 10_000)), alliance.AlreadyJoined),
        ((CREATOR.key, alliance.JoinArgs(task, 10_000)), alliance.AlreadyJoined),
        ((P3.key, alliance.JoinArgs(task, 4_999)), alliance.StakeTooLow),
        ((P3.key, alliance.JoinArgs(task, 2 * BALANCE)), alliance.InsufficientBalance),
        ((P3.key, alliance.JoinArgs(task + 1, 10_000)), alliance.NoSuchTask),
        ((P3.key, create_args(proposer_ratio_parts=0)), alliance.BadTask),
        ((P3.key, create_args(min_participants=1)), alliance.BadTask),
        ((P3.key, create_args(max_participants=33)), alliance.BadTask),
        ((P3.key, create_args(budget=ED - 1)), alliance.BadTask),
    ]
    outcomes = chain.block(*(call for call, _ in refused), expect_ok=False)
    assert outcomes == [False] * len(refused)
    assert chain.errors() == [(FL_INDEX, error.code) for _, error in refused]
    assert alliance.Participants.get(chain.state, task) == (P1.account, P2.account)


def test_governance_sets_the_parameters_checked_and_genesis_round_trips() -> None:
    from runtime.framework.pallet import ROOT
    from runtime_helpers import RUNTIME, at_block, dispatch

    chain = new_chain()
    assert RUNTIME.pallet("alliance").export_genesis(chain.state) == ALLIANCE
    ctx = at_block(chain.state, 1)
    parameters = alliance.get_parameters(chain.state)
    with pytest.raises(alliance.BadParameters, match="reporterPerbill"):
        dispatch(ctx, ROOT, alliance.PARAMETERS.call_args(replace(parameters, reporter_parts=ONE + 1)))
    dispatch(ctx, ROOT, alliance.PARAMETERS.call_args(replace(parameters, outlier_rounds=5)))
    assert alliance.get_parameters(ctx.state).outlier_rounds == 5


def test_emission_spreads_the_ml_part_over_both_markets_tasks_by_stake() -> None:
    from runtime.framework.mlwork import compute_data_commitment
    from runtime.pallets import arena, emission

    chain = new_chain()
    chain.block((CREATOR.key, create_args()))  # block 1: an FL task, the creator's 10,000 at stake
    chain.block(*((worker.key, alliance.JoinArgs(0, 10_000)) for worker in (P1, P2, P3)))  # 40,000 in all
    commitment = compute_data_commitment(root("eval"), salt("eval"))
    arena_task = arena.CreateTaskArgs(root("spec"), root("data"), (commitment,), 0, True, 1, 9, ED, 1, 1_000, 0, 20_000)
    chain.block((P4.key, arena_task))  # block 3: an arena task with 20,000 at stake
    pools = [alliance.get_task_account(0), arena.get_task_account(0)]
    before = [chain.free(pool) for pool in pools]
    chain.block()  # block 4: 1,000 of ML emission, 40,000 : 20,000
    assert [chain.free(pool) - b for pool, b in zip(pools, before)] == [666, 333]
    distributed = next(e for e in chain.events if isinstance(e, emission.MlRewardsDistributed))
    assert (distributed.amount, distributed.tasks) == (999, 2)  # the unit the floors leave stays in the ML pool


# --- attacks ----------------------------------------------------------------------------------
# Each adversary of docs/ml-work.md's "Attacks considered" that the tests above do not cover.


def test_a_participant_cannot_both_propose_and_vote_in_a_round() -> None:
    """A proposer voting on the aggregate that carries its own update (or a voter slipping in an
    update) would judge its own work: one commitment per participant and round, whatever role."""
    chain = new_chain()
    task = start_task(chain, FIVE_STAKES)
    go(chain, task, 0, 0)
    chain.block()
    assert roles(chain, task, 0, FIVE) == FIVE_ROLES[0]  # P1 proposes, the others vote
    commits, reveals = update_calls(chain, task, 0, {P1: make_update(chain, task, 0, P1)})
    chain.block(*commits)
    go(chain, task, 0, 2)
    chain.block(*reveals)
    vote, _ = vote_calls(chain, task, 0, {P1: (ONE, honest_aggregate(chain, task, 0))})
    go(chain, task, 0, 4)
    chain.block(*vote, expect_ok=False)
    assert chain.errors() == [(FL_INDEX, alliance.AlreadyCommitted.code)]
    assert alliance.Votes.get(chain.state, alliance.TaskRound(task, 0)) == ()


def test_a_schedule_past_the_last_block_number_is_refused() -> None:
    """A task whose last round would end beyond u32 block numbers would never end: its stakes
    and its place among the 16 active tasks held for good."""
    chain = new_chain()
    start = chain.number + 1 + ALLIANCE["joinBlocks"] + 1
    longest = ((1 << 32) - start) // 2  # two rounds: the last ends at block 2^32 - 1 at most
    outcomes = chain.block(
        (REPORTER.key, create_args(2, round_blocks=longest + 1)),
        (CREATOR.key, create_args(2, round_blocks=longest)),
        expect_ok=False,
    )
    assert outcomes == [False, True] and chain.errors() == [(FL_INDEX, alliance.BadTask.code)]
    assert alliance.get_active_tasks(chain.state) == (0,)

"""The deterministic simulator: real engines, runtimes and stores under a seeded faulty network.

These are the consensus issue's must-shows: a campaign of seeds covering every fault kind stays
green; the same seed gives the same run; a 1-of-4 equivocator is slashed and chilled while
finality goes on; a 2|2 partition halts finality safely and it resumes after healing; a
Byzantine third that votes both ways across a partition is caught by the safety check; an honest
node never signs twice across a restart.
"""

from __future__ import annotations

from collections import Counter

import pytest

from flockchain.chain.chain import Chain
from flockchain.db.memory import MemoryStore
from flockchain.node.engine import ConsensusEngine
from flockchain.node.inbox import PeerMessage, SlotStarted, TimerTick
from flockchain.node.messages import BlockAnnounce, Broadcast, VoteMessage
from flockchain.simulator.genesis import VALIDATOR_BOND, build_sim_genesis
from flockchain.simulator.network import Crash, FaultPlan, Partition
from flockchain.simulator.scenarios import FAULT_KINDS, get_fault_kind, make_scenario, run_campaign
from flockchain.simulator.simulation import (
    EQUIVOCATE_BLOCKS,
    SPLIT_VOTES,
    SimConfig,
    Simulation,
    run_simulation,
)
from runtime.block import VOTE_STAGE_PREVOTE
from runtime.pallets import offences, session, staking

CI_SEEDS = 55  # five of each fault kind

pytestmark = pytest.mark.slow


def test_a_campaign_covering_every_fault_kind_keeps_every_invariant() -> None:
    result = run_campaign(range(CI_SEEDS))
    assert result.violations == 0, (
        result.summary() + "\n" + "\n".join(report.summary() for report in result.reports if report.violations)
    )
    kinds = Counter(get_fault_kind(report.seed) for report in result.reports)
    assert set(kinds) == {name for name, _ in FAULT_KINDS} and min(kinds.values()) >= 5
    for report in result.reports:
        assert report.finalized_height >= 20, report.summary()  # 60 slots: finality kept going
        if get_fault_kind(report.seed) in ("equivocating blocks", "equivocating votes", "mixed"):
            assert report.offences >= 1, report.summary()


@pytest.mark.parametrize("seed", [159, 242])
def test_seeds_a_long_campaign_once_failed_now_pass(seed: int) -> None:
    # Both stalled finality: a commit for an older block than the one finalized meanwhile left
    # the voter unable to find the chain to prevote on (the campaign's liveness check caught it).
    report = run_simulation(seed, make_scenario(seed))
    assert report.violations == [], report.summary()


def test_the_same_seed_gives_the_same_run() -> None:
    config = SimConfig(slots=30, faults=FaultPlan(loss_permille=100, duplicate_permille=100, jitter_ms=300))
    first, second = run_simulation(11, config), run_simulation(11, config)
    assert first.final_state_root == second.final_state_root and first.final_state_root
    assert (first.blocks, first.messages, first.finality_lags_ms) == (
        second.blocks,
        second.messages,
        second.finality_lags_ms,
    )
    other = run_simulation(12, config)
    assert (other.messages, other.finality_lags_ms) != (first.messages, first.finality_lags_ms)


def test_one_equivocator_of_four_is_slashed_and_chilled_and_finality_continues() -> None:
    config = SimConfig(slots=60, behaviours=((3, EQUIVOCATE_BLOCKS),))
    simulation = Simulation(5, config)
    report = simulation.run()
    assert report.violations == []
    offender = simulation.genesis.keypairs[3].public_key
    honest = simulation.engines[0]
    assert honest is not None
    state = honest.chain.state_at(honest.chain.finalized_hash)
    kinds = {(offence.kind, offence.offender) for offence, _ in offences.Reports.iter(state)}
    assert (offences.KIND_BLOCK_EQUIVOCATION, offender) in kinds  # the evidence landed, in a final block
    assert staking.get_ledger(state, offender).active < VALIDATOR_BOND  # slashed at the era's end (block 40)
    assert offender not in session.get_validators(state)  # chilled: out of the next set
    assert report.finalized_height >= 50  # and the other three kept finalizing


def test_a_two_two_partition_halts_finality_safely_and_it_resumes_after_healing() -> None:
    groups = (frozenset({0, 1}), frozenset({2, 3}))
    config = SimConfig(slots=60, faults=FaultPlan(partitions=(Partition(10_000, 30_000, groups),)))
    report = run_simulation(2, config)
    assert report.violations == []
    before, during = report.finalized_height_at(12_000), report.finalized_height_at(30_000)
    assert before >= 5
    assert during == before  # no side has > 2/3 of the weight: nothing more is finalized
    assert report.finalized_height >= during + 20  # healed: the finalized chain grows again


def test_a_validator_that_sleeps_through_a_set_change_catches_up_with_finality() -> None:
    # Down for slots 30-60: idle for whole epochs, it is chilled at the era's end (block 40) and
    # the set changes without it; awake, it asks peers for the justification that ended its set.
    config = SimConfig(slots=90, faults=FaultPlan(crashes=(Crash(3, 30_000, 60_000),)))
    simulation = Simulation(1, config)
    report = simulation.run()
    assert report.violations == []
    engines = [engine for engine in simulation.engines if engine is not None]
    assert {engine.voter.voter_set.set_id for engine in engines} == {1}
    assert min(engine.chain.finalized_header.number for engine in engines) >= 75


def test_a_byzantine_third_voting_both_ways_across_a_partition_is_reported_as_a_safety_violation() -> None:
    # Validators 2 and 3 (half the stake) bridge a 1|1 split of the honest ones and echo each side's
    # votes back to it: each side sees > 2/3 for its own fork. The checker must say so.
    partition = Partition(3_000, 60_000, (frozenset({0}), frozenset({1})))
    config = SimConfig(
        slots=30, faults=FaultPlan(partitions=(partition,)), behaviours=((2, SPLIT_VOTES), (3, SPLIT_VOTES))
    )
    report = run_simulation(7, config)
    assert any(violation.startswith("safety:") for violation in report.violations), report.summary()


def test_an_honest_node_refuses_to_sign_twice_after_a_crash_and_restart() -> None:
    genesis = build_sim_genesis(4, 10, 40, 1_000)
    me, other = genesis.keypairs[0], genesis.keypairs[1]
    store = MemoryStore()

    def start() -> ConsensusEngine:
        return ConsensusEngine(Chain(store, genesis.runtime, genesis.header, genesis.state), me, gossip_duration_ms=200)

    engine = start()
    fork_source = Chain(MemoryStore(), genesis.runtime, genesis.header, genesis.state)
    # A slot we may author on genesis, late enough that another validator can build a longer
    # fork below it.
    mine = next(s for s in range(20, 200) if engine.chain.claim_slot(me, s) is not None)
    fork_slots = [s for s in range(1, mine) if fork_source.claim_slot(other, s) is not None][:2]
    assert len(fork_slots) == 2
    out = engine.handle(SlotStarted(mine), mine * 1_000).outgoing
    assert any(isinstance(item, Broadcast) and isinstance(item.message, BlockAnnounce) for item in out)
    for tick in range(1, 20):  # the voter's timers run out: it prevotes (and more) in round 1
        engine.handle(TimerTick(), mine * 1_000 + tick * 200)
    cast = {signed.vote.stage: signed for signed in engine.voter.persisted_state().votes}
    assert VOTE_STAGE_PREVOTE in cast

    engine = start()  # crash and restart from the node's own store
    for slot in fork_slots:  # a longer fork with earlier slots becomes the head
        claim = fork_source.claim_slot(other, slot)
        assert claim is not None
        block = fork_source.author_block(other, claim, ()).block
        engine.handle(PeerMessage(1, BlockAnnounce(block.encode())), mine * 1_000 + 5_000)
    assert engine.chain.head.number == 2 and engine.chain.head.slot < mine
    assert engine.chain.claim_slot(me, mine) is not None  # the lottery would let us seal it again
    assert engine.handle(SlotStarted(mine), mine * 1_000 + 6_000).outgoing == ()  # the record does not
    votes = []
    for tick in range(1, 40):
        out = engine.handle(TimerTick(), mine * 1_000 + 6_000 + tick * 200).outgoing
        votes += [item.message.vote for item in out if isinstance(item.message, VoteMessage)]
    prevotes = [
        signed
        for signed in votes
        if signed.voter == me.public_key and signed.vote.round == 1 and signed.vote.stage == VOTE_STAGE_PREVOTE
    ]
    assert prevotes and all(signed == cast[VOTE_STAGE_PREVOTE] for signed in prevotes)

"""The finality pallet: blocks carry the last justification, and its precommits earn reward points."""

from __future__ import annotations

import pytest

from flockchain.simulator.genesis import build_sim_genesis
from flockchain.simulator.simulation import SimConfig, Simulation
from runtime.block import (
    VOTE_STAGE_PRECOMMIT,
    VOTE_STAGE_PREVOTE,
    FinalityVote,
    Justification,
    sign_finality_vote,
)
from runtime.construct import construct_runtime
from runtime.executive import Executive
from runtime.framework.pallet import NONE, BadOrigin, BlockEnvironment, DispatchContext, Origin
from runtime.framework.storage import Overlay
from runtime.pallets import finality, session, staking
from runtime_helpers import (
    FINALITY,
    TEST_GENESIS_HASH,
    DictState,
    assert_noop,
    compute_test_block_hash,
    dispatch,
    execute_block,
    named_keypair,
)

GENESIS = build_sim_genesis(4, 10, 40, 1_000)
KEYS = GENESIS.keypairs
RUNTIME = construct_runtime()
CHAIN_LENGTH = 6


def new_context() -> DispatchContext:
    """Block ``CHAIN_LENGTH + 1`` being built on a chain of ``CHAIN_LENGTH`` test blocks."""
    executive = Executive(RUNTIME, TEST_GENESIS_HASH)
    state = DictState().apply(GENESIS.state)
    for number in range(1, CHAIN_LENGTH + 1):
        state = execute_block(executive, state, author=KEYS[number % 4].public_key)
    number = CHAIN_LENGTH + 1
    env = BlockEnvironment(number, compute_test_block_hash(number - 1), number, number * 1_000, KEYS[0].public_key)
    return DispatchContext(RUNTIME, Overlay(state), env, TEST_GENESIS_HASH)


def precommit(voter: int, number: int, *, target: bytes | None = None, round_: int = 3, stage: int = 1):  # type: ignore[no-untyped-def]
    vote = FinalityVote(0, round_, stage, target or compute_test_block_hash(number), number)
    return sign_finality_vote(vote, KEYS[voter], TEST_GENESIS_HASH)


def justification(precommits: tuple, number: int = 3, set_id: int = 0, target: bytes | None = None) -> Justification:
    return Justification(set_id, 3, target or compute_test_block_hash(number), number, precommits)


def points(ctx: DispatchContext) -> list[int]:
    return [staking.RewardPoints.get(ctx.state, key.public_key) for key in KEYS]


def test_a_note_credits_each_counted_voter_one_point() -> None:
    ctx = new_context()
    before = points(ctx)
    # Voters 0 and 1 precommit the target, voter 2 a descendant on this chain: 3 of 4 count.
    note = justification((precommit(0, 3), precommit(1, 3), precommit(2, 5)))
    dispatch(ctx, NONE, finality.NoteFinalityArgs(note))
    assert [after - old for after, old in zip(points(ctx), before, strict=True)] == [1, 1, 1, 0]
    assert finality.LastNoted.get(ctx.state) == 3
    assert ctx.event_records()[-1].event == finality.FinalityNoted(3, 0, 3)
    # The same or an older block cannot be noted again; a newer one can.
    assert_noop(ctx, NONE, finality.NoteFinalityArgs(note), finality.NotOnThisChain)
    dispatch(ctx, NONE, finality.NoteFinalityArgs(justification(tuple(precommit(i, 4) for i in range(4)), 4)))
    assert finality.LastNoted.get(ctx.state) == 4


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: justification(tuple(precommit(i, 3) for i in range(3)), set_id=1), finality.WrongSetId),
        (lambda: justification(tuple(precommit(i, 3) for i in range(3)), target=b"\x07" * 32), finality.NotOnThisChain),
        (
            lambda: justification(tuple(precommit(i, CHAIN_LENGTH + 1) for i in range(3)), CHAIN_LENGTH + 1),
            finality.NotOnThisChain,
        ),
        (lambda: justification((precommit(0, 3), precommit(1, 3))), finality.NotEnoughWeight),
        # Precommits for a block of another fork do not count for this chain.
        (
            lambda: justification((precommit(0, 3), precommit(1, 3), precommit(2, 4, target=b"\x09" * 32))),
            finality.NotEnoughWeight,
        ),
        (lambda: justification((precommit(0, 3), precommit(0, 3), precommit(1, 3))), finality.BadPrecommit),
        (lambda: justification((precommit(0, 3), precommit(1, 3), precommit(2, 3, round_=4))), finality.BadPrecommit),
        (
            lambda: justification((precommit(0, 3), precommit(1, 3), precommit(2, 3, stage=VOTE_STAGE_PREVOTE))),
            finality.BadPrecommit,
        ),
    ],
)
def test_bad_notes_are_refused_and_change_nothing(make, error) -> None:  # type: ignore[no-untyped-def]
    assert_noop(new_context(), NONE, finality.NoteFinalityArgs(make()), error)


def test_an_equivocators_two_precommits_count_towards_the_threshold_but_earn_nothing() -> None:
    """A GRANDPA justification may carry both precommits of an equivocator (consensus counts it
    whatever it voted); the runtime accepts that note, and credits only the honest voters."""
    ctx = new_context()
    before = points(ctx)
    fork_vote = precommit(2, 4, target=b"\x09" * 32)
    note = justification((precommit(0, 3), precommit(1, 3), precommit(2, 3), fork_vote))
    dispatch(ctx, NONE, finality.NoteFinalityArgs(note))
    assert [after - old for after, old in zip(points(ctx), before, strict=True)] == [1, 1, 0, 0]
    assert ctx.event_records()[-1].event == finality.FinalityNoted(3, 0, 2)
    # A third precommit of one voter is no equivocation but a malformed note.
    third = precommit(2, 5)
    too_many = justification((precommit(0, 4), precommit(1, 4), precommit(2, 4), fork_vote, third), 4)
    assert_noop(ctx, NONE, finality.NoteFinalityArgs(too_many), finality.BadPrecommit)


def test_precommits_by_strangers_or_badly_signed_are_refused() -> None:
    ctx = new_context()
    stranger = named_keypair("stranger")
    forged = sign_finality_vote(
        FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, compute_test_block_hash(3), 3), stranger, TEST_GENESIS_HASH
    )
    assert_noop(
        ctx,
        NONE,
        finality.NoteFinalityArgs(justification((precommit(0, 3), precommit(1, 3), forged))),
        finality.BadPrecommit,
    )
    wrong_chain = sign_finality_vote(forged.vote, KEYS[2], b"\x01" * 32)  # signed for another genesis
    assert_noop(
        ctx,
        NONE,
        finality.NoteFinalityArgs(justification((precommit(0, 3), precommit(1, 3), wrong_chain))),
        finality.BadPrecommit,
    )


def test_only_a_block_author_may_note_finality() -> None:
    with pytest.raises(BadOrigin):
        dispatch(new_context(), Origin.signed(KEYS[0].public_key), finality.NoteFinalityArgs(justification(())))


def test_authority_weights_are_exposures() -> None:
    state = DictState().apply(GENESIS.state)
    weights = FINALITY.get_authority_weights(state)
    assert [authority.validator for authority in weights] == list(session.get_validators(state))
    assert {authority.weight for authority in weights} == {staking.Exposures.get(state, KEYS[0].public_key).total}
    assert finality.compute_supermajority(4) == 3 and finality.compute_supermajority(3) == 3


def test_nodes_put_their_justifications_in_blocks_and_voters_earn_points() -> None:
    simulation = Simulation(3, SimConfig(slots=30))
    report = simulation.run()
    assert report.violations == []
    engine = simulation.engines[0]
    assert engine is not None
    state = engine.chain.best_state()
    assert finality.LastNoted.get(state) >= report.finalized_height - 3
    blocks_by = {key.public_key: 0 for key in KEYS}
    cursor = engine.chain.head
    while cursor.number > 0:
        blocks_by[cursor.author] += 1
        cursor = engine.chain.get_header(cursor.parent_hash)  # type: ignore[assignment]
    for key in KEYS:  # every validator earned points for votes, beyond its own blocks
        assert staking.RewardPoints.get(state, key.public_key) > blocks_by[key.public_key] + 10


# --- boundaries the mutation pass found unpinned (docs/testing.md) -------------------------


def test_a_note_carrying_exactly_the_supermajority_weight_is_enough() -> None:
    """Four authorities of weight 1: the supermajority is 3, and 3 precommits make a note."""
    ctx = new_context()
    for key in KEYS:
        staking.Exposures.put(ctx.state, key.public_key, staking.Exposure(1, 1, (), 0))
    assert finality.compute_supermajority(4) == 3
    dispatch(ctx, NONE, finality.NoteFinalityArgs(justification(tuple(precommit(i, 3) for i in range(3)))))
    assert finality.LastNoted.get(ctx.state) == 3


def test_without_exposures_every_authority_weighs_one() -> None:
    """The weights are public (the BABE epoch and the finality voters of runtime/api.py)."""
    from runtime import api
    from runtime_helpers import TEST_AUTHORITY, build_genesis_state

    state = build_genesis_state()
    assert api.get_finality_authorities(state).voters == ((TEST_AUTHORITY.public_key, 1),)
    assert [authority.weight for authority in api.get_babe_epoch(state).authorities] == [1]


def test_try_state_reports_a_note_ahead_of_the_chain() -> None:
    ctx = new_context()
    finality.LastNoted.put(ctx.state, CHAIN_LENGTH + 1)
    assert FINALITY.try_state(ctx.state) == ["the last note is ahead of the chain"]

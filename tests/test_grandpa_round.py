"""One round: GHOST, estimate, completability and finality, worked from the paper's definitions."""

import pytest

from consensus.grandpa.chain import DictBlockTree
from consensus.grandpa.errors import UnknownVoter, WrongRound, WrongSetId, WrongStage
from consensus.grandpa.round import Round
from consensus.grandpa.voter_set import VoterSet
from runtime.block import VOTE_STAGE_PRECOMMIT, VOTE_STAGE_PREVOTE, FinalityVote, sign_finality_vote
from runtime.primitives.keys import Keypair

GENESIS_HASH = bytes(range(32))
KEYS = [Keypair.from_seed(bytes([index + 1]) * 32) for index in range(4)]
OUTSIDER = Keypair.from_seed(bytes([99]) * 32)


def h(name: str) -> bytes:
    return name.encode().ljust(32, b"\0")


def make_chain_tree() -> DictBlockTree:
    """finality-grandpa's test chain: G A B C D E F, E - EA EB EC ED, F - FA FB FC."""
    tree = DictBlockTree(h("G"))
    previous = "G"
    for name in ["A", "B", "C", "D", "E", "F"]:
        tree.add_block(h(name), h(previous))
        previous = name
    for fork, names in [("E", ["EA", "EB", "EC", "ED"]), ("F", ["FA", "FB", "FC"])]:
        previous = fork
        for name in names:
            tree.add_block(h(name), h(previous))
            previous = name
    return tree


def ref(tree: DictBlockTree, name: str) -> tuple[bytes, int]:
    return (h(name), tree.get_number(h(name)))


def vote(voter: Keypair, stage: int, tree: DictBlockTree, name: str, round_number: int = 1, set_id: int = 0):
    target = ref(tree, name)
    return sign_finality_vote(FinalityVote(set_id, round_number, stage, *target), voter, GENESIS_HASH)


def weighted_round(tree: DictBlockTree) -> Round:
    """Alice 4, Bob 7, Eve 3: total 14, threshold 10."""
    voter_set = VoterSet(0, ((KEYS[0].public_key, 4), (KEYS[1].public_key, 7), (KEYS[2].public_key, 3)))
    return Round(voter_set, 1, ref(tree, "C"))


def equal_round(tree: DictBlockTree, base: str = "G") -> Round:
    """Four voters of weight 1: threshold 3, tolerated faulty weight 1."""
    return Round(VoterSet(0, tuple((key.public_key, 1) for key in KEYS)), 1, ref(tree, base))


def test_prevote_ghost_and_estimate_weighted() -> None:
    tree = make_chain_tree()
    round_ = weighted_round(tree)
    alice, bob, eve = KEYS[:3]
    round_.import_prevote(vote(alice, VOTE_STAGE_PREVOTE, tree, "FC"), tree)
    round_.import_prevote(vote(bob, VOTE_STAGE_PREVOTE, tree, "ED"), tree)
    assert round_.prevote_ghost() == ref(tree, "E")
    assert round_.estimate() == ref(tree, "E")  # no precommits yet: anything is possible
    assert not round_.is_completable()
    round_.import_prevote(vote(eve, VOTE_STAGE_PREVOTE, tree, "F"), tree)
    assert round_.prevote_ghost() == ref(tree, "E")


def test_finalization_needs_both_supermajorities() -> None:
    tree = make_chain_tree()
    round_ = weighted_round(tree)
    alice, bob, eve = KEYS[:3]
    round_.import_precommit(vote(alice, VOTE_STAGE_PRECOMMIT, tree, "FC"), tree)
    round_.import_precommit(vote(bob, VOTE_STAGE_PRECOMMIT, tree, "ED"), tree)
    assert round_.precommit_ghost() == ref(tree, "E")
    assert round_.finalized() is None  # no prevote supermajority yet
    for voter, name in [(alice, "FC"), (bob, "ED"), (eve, "EA")]:
        round_.import_prevote(vote(voter, VOTE_STAGE_PREVOTE, tree, name), tree)
    assert round_.prevote_ghost() == ref(tree, "EA")
    assert round_.finalized() == ref(tree, "E")
    round_.import_precommit(vote(eve, VOTE_STAGE_PRECOMMIT, tree, "EA"), tree)
    assert round_.finalized() == ref(tree, "EA")
    precommits = round_.get_finalizing_precommits(ref(tree, "EA"))
    assert {signed.voter for signed in precommits} == {bob.public_key, eve.public_key}


def prevote_all(round_: Round, tree: DictBlockTree, name: str) -> None:
    for key in KEYS:
        round_.import_prevote(vote(key, VOTE_STAGE_PREVOTE, tree, name), tree)


def test_completable_when_no_child_can_reach_supermajority() -> None:
    tree = make_chain_tree()
    round_ = equal_round(tree)
    prevote_all(round_, tree, "C")
    assert round_.prevote_ghost() == ref(tree, "C") and not round_.is_completable()
    for key in KEYS[:2]:
        round_.import_precommit(vote(key, VOTE_STAGE_PRECOMMIT, tree, "C"), tree)
    # precommits from 2 of 4 only: C_r lacks a supermajority of voters, so not completable
    assert round_.estimate() == ref(tree, "C") and not round_.is_completable()
    round_.import_precommit(vote(KEYS[2], VOTE_STAGE_PRECOMMIT, tree, "C"), tree)
    # against any child of C: weight 3 > 2f = 2, impossible; and C_r has 3 >= threshold voters
    assert round_.estimate() == ref(tree, "C") and round_.is_completable()
    assert round_.finalized() == ref(tree, "C")


def test_estimate_below_ghost_makes_round_completable() -> None:
    tree = make_chain_tree()
    round_ = equal_round(tree)
    prevote_all(round_, tree, "C")
    for key in KEYS[:2]:
        round_.import_precommit(vote(key, VOTE_STAGE_PRECOMMIT, tree, "A"), tree)
    assert round_.estimate() == ref(tree, "C")  # against C: 2 <= 2f, still possible
    round_.import_precommit(vote(KEYS[2], VOTE_STAGE_PRECOMMIT, tree, "A"), tree)
    # against B and C: 3 > 2f, impossible; A is supported by all three
    assert round_.estimate() == ref(tree, "A")
    assert round_.is_completable()
    assert round_.finalized() == ref(tree, "A")


def test_mixed_precommits_keep_estimate_at_ghost() -> None:
    tree = make_chain_tree()
    round_ = equal_round(tree)
    prevote_all(round_, tree, "C")
    for key, name in zip(KEYS[:3], ["C", "B", "A"]):
        round_.import_precommit(vote(key, VOTE_STAGE_PRECOMMIT, tree, name), tree)
    assert round_.precommit_ghost() == ref(tree, "A")
    assert round_.estimate() == ref(tree, "C")  # against C: the B and A voters, 2 <= 2f
    assert round_.is_completable()  # against a child of C: 3 > 2f


def test_completable_needs_precommits_from_a_supermajority() -> None:
    """Five voters (threshold 4, f = 1): three precommits already make every child of g impossible
    (3 > 2f), but the paper also asks C_r to hold votes from a supermajority."""
    tree = make_chain_tree()
    keys = [*KEYS, Keypair.from_seed(bytes([5]) * 32)]
    round_ = Round(VoterSet(0, tuple((key.public_key, 1) for key in keys)), 1, ref(tree, "G"))
    for key in keys:
        round_.import_prevote(vote(key, VOTE_STAGE_PREVOTE, tree, "C"), tree)
    for key in keys[:3]:
        round_.import_precommit(vote(key, VOTE_STAGE_PRECOMMIT, tree, "C"), tree)
    assert not round_.is_possible_precommit_supermajority(h("D"))
    assert round_.estimate() == ref(tree, "C") and not round_.is_completable()
    round_.import_precommit(vote(keys[3], VOTE_STAGE_PRECOMMIT, tree, "D"), tree)
    assert round_.is_completable() and round_.finalized() == ref(tree, "C")


def test_equivocation_is_reported_once_and_counted_for_everything() -> None:
    tree = make_chain_tree()
    round_ = equal_round(tree)
    first = vote(KEYS[3], VOTE_STAGE_PREVOTE, tree, "EA")
    second = vote(KEYS[3], VOTE_STAGE_PREVOTE, tree, "FA")
    assert round_.import_prevote(first, tree).equivocation is None
    result = round_.import_prevote(second, tree)
    assert result.is_new and result.equivocation == (first, second)
    third = vote(KEYS[3], VOTE_STAGE_PREVOTE, tree, "D")
    assert round_.import_prevote(third, tree) == round_.import_prevote(second, tree)  # ignored
    assert not round_.import_prevote(second, tree).is_new
    round_.import_prevote(vote(KEYS[0], VOTE_STAGE_PREVOTE, tree, "FC"), tree)
    assert round_.prevote_ghost() is None  # 1 honest + 1 equivocator = 2 < 3
    round_.import_prevote(vote(KEYS[1], VOTE_STAGE_PREVOTE, tree, "FB"), tree)
    assert round_.prevote_ghost() == ref(tree, "FB")  # the equivocator counts for FB too


def test_votes_for_unknown_blocks_count_once_imported() -> None:
    tree = make_chain_tree()
    round_ = equal_round(tree)
    later = [
        sign_finality_vote(FinalityVote(0, 1, VOTE_STAGE_PREVOTE, h("X"), 7), key, GENESIS_HASH) for key in KEYS[:3]
    ]
    for signed in later:
        assert round_.import_prevote(signed, tree).is_new
    assert round_.prevote_ghost() is None
    tree.add_block(h("X"), h("F"))
    assert round_.place_pending(tree)
    assert round_.prevote_ghost() == (h("X"), 7)


def test_invalid_votes_are_rejected() -> None:
    tree = make_chain_tree()
    round_ = equal_round(tree)
    with pytest.raises(UnknownVoter):
        round_.import_prevote(vote(OUTSIDER, VOTE_STAGE_PREVOTE, tree, "A"), tree)
    with pytest.raises(WrongSetId):
        round_.import_prevote(vote(KEYS[0], VOTE_STAGE_PREVOTE, tree, "A", set_id=1), tree)
    with pytest.raises(WrongRound):
        round_.import_prevote(vote(KEYS[0], VOTE_STAGE_PREVOTE, tree, "A", round_number=2), tree)
    with pytest.raises(WrongStage):
        round_.import_prevote(vote(KEYS[0], VOTE_STAGE_PRECOMMIT, tree, "A"), tree)
    with pytest.raises(WrongStage):  # a proposal from a voter that is not round 1's primary
        round_.import_primary_proposal(vote(KEYS[0], 2, tree, "A"))
    assert round_.import_primary_proposal(vote(KEYS[1], 2, tree, "A"))

"""Justifications: what verifies, what is rejected and why."""

from dataclasses import replace

import pytest

from consensus.grandpa.chain import DictBlockTree
from consensus.grandpa.errors import (
    InsufficientWeight,
    JustificationBadSignature,
    JustificationMalformed,
    JustificationMixedRounds,
    JustificationUnknownVoter,
    JustificationWrongSet,
)
from consensus.grandpa.justification import Justification, verify_justification
from consensus.grandpa.voter_set import VoterSet
from runtime.block import VOTE_STAGE_PRECOMMIT, VOTE_STAGE_PREVOTE, FinalityVote, sign_finality_vote
from runtime.primitives.keys import Keypair

GENESIS_HASH = bytes(range(32))
KEYS = [Keypair.from_seed(bytes([index + 1]) * 32) for index in range(4)]
VOTERS = VoterSet(3, tuple((key.public_key, 1) for key in KEYS))


def h(name: str) -> bytes:
    return name.encode().ljust(32, b"\0")


def make_tree() -> DictBlockTree:
    """G - A - B - C, and a fork A - B2."""
    tree = DictBlockTree(h("G"))
    for block, parent in [("A", "G"), ("B", "A"), ("C", "B"), ("B2", "A")]:
        tree.add_block(h(block), h(parent))
    return tree


def precommit(key: Keypair, name: str, number: int, round_number: int = 5, set_id: int = 3, stage=None):
    stage = VOTE_STAGE_PRECOMMIT if stage is None else stage
    return sign_finality_vote(FinalityVote(set_id, round_number, stage, h(name), number), key, GENESIS_HASH)


def justify(precommits) -> Justification:
    return Justification(3, 5, h("B"), 2, tuple(precommits))


def test_valid_justification_and_round_trip() -> None:
    tree = make_tree()
    justification = justify([precommit(KEYS[0], "B", 2), precommit(KEYS[1], "C", 3), precommit(KEYS[2], "B", 2)])
    verify_justification(justification, VOTERS, GENESIS_HASH, tree)
    verify_justification(justification, VOTERS, GENESIS_HASH, tree.ancestry)  # a light client's callable
    assert Justification.decode(justification.encode()) == justification


def test_equivocator_counts_fully() -> None:
    tree = make_tree()
    votes = [precommit(KEYS[0], "B", 2), precommit(KEYS[1], "C", 3)]
    equivocation = [precommit(KEYS[3], "B2", 2), precommit(KEYS[3], "A", 1)]
    verify_justification(justify(votes + equivocation), VOTERS, GENESIS_HASH, tree)


def test_rejects_bad_signature() -> None:
    tree = make_tree()
    forged = precommit(KEYS[2], "B", 2)
    forged = replace(forged, signature=bytes([forged.signature[0] ^ 1]) + forged.signature[1:])
    with pytest.raises(JustificationBadSignature):
        verify_justification(
            justify([precommit(KEYS[0], "B", 2), precommit(KEYS[1], "B", 2), forged]), VOTERS, GENESIS_HASH, tree
        )


def test_rejects_unknown_voter() -> None:
    outsider = Keypair.from_seed(bytes([77]) * 32)
    votes = [precommit(key, "B", 2) for key in (KEYS[0], KEYS[1], outsider)]
    with pytest.raises(JustificationUnknownVoter):
        verify_justification(justify(votes), VOTERS, GENESIS_HASH, make_tree())


def test_rejects_wrong_set_id() -> None:
    votes = tuple(precommit(key, "B", 2) for key in KEYS[:3])
    with pytest.raises(JustificationWrongSet):
        verify_justification(Justification(4, 5, h("B"), 2, votes), VOTERS, GENESIS_HASH, make_tree())
    with pytest.raises(JustificationWrongSet):
        verify_justification(
            justify([*votes[:2], precommit(KEYS[2], "B", 2, set_id=4)]), VOTERS, GENESIS_HASH, make_tree()
        )


def test_rejects_insufficient_weight() -> None:
    tree = make_tree()
    with pytest.raises(InsufficientWeight):
        verify_justification(
            justify([precommit(KEYS[0], "B", 2), precommit(KEYS[1], "C", 3)]), VOTERS, GENESIS_HASH, tree
        )
    on_fork = [precommit(KEYS[0], "B", 2), precommit(KEYS[1], "B", 2), precommit(KEYS[2], "B2", 2)]
    with pytest.raises(InsufficientWeight):
        verify_justification(justify(on_fork), VOTERS, GENESIS_HASH, tree)
    lying_number = [precommit(KEYS[0], "B", 2), precommit(KEYS[1], "B", 2), precommit(KEYS[2], "C", 9)]
    with pytest.raises(InsufficientWeight):
        verify_justification(justify(lying_number), VOTERS, GENESIS_HASH, tree)


def test_rejects_mixed_rounds_and_stages() -> None:
    tree = make_tree()
    base = [precommit(KEYS[0], "B", 2), precommit(KEYS[1], "B", 2)]
    with pytest.raises(JustificationMixedRounds):
        verify_justification(justify([*base, precommit(KEYS[2], "B", 2, round_number=4)]), VOTERS, GENESIS_HASH, tree)
    with pytest.raises(JustificationMixedRounds):
        verify_justification(
            justify([*base, precommit(KEYS[2], "B", 2, stage=VOTE_STAGE_PREVOTE)]), VOTERS, GENESIS_HASH, tree
        )


def test_rejects_duplicates() -> None:
    votes = [precommit(KEYS[0], "B", 2), precommit(KEYS[0], "B", 2), precommit(KEYS[1], "B", 2)]
    with pytest.raises(JustificationMalformed):
        verify_justification(justify(votes), VOTERS, GENESIS_HASH, make_tree())

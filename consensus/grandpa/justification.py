"""Commits / justifications: the precommits that prove a block final, and their verification.

One record serves both as the gossip commit message and as the justification stored with the block
and served to light clients. Verification needs no round state: signatures, set id, round, known
voters, and > 2/3 of the set's weight precommitting to the target or a descendant, with every
equivocator (two different precommits in the justification) counted fully, as in the paper.
"""

from __future__ import annotations

from consensus.grandpa.chain import AncestryFn, BlockTree, get_ancestry_fn, is_descendant_or_equal
from consensus.grandpa.errors import (
    InsufficientWeight,
    JustificationBadSignature,
    JustificationMalformed,
    JustificationMixedRounds,
    JustificationUnknownVoter,
    JustificationWrongSet,
)
from consensus.grandpa.voter_set import VoterSet
from runtime.block import (
    VOTE_STAGE_PRECOMMIT,
    Justification,
    verify_finality_vote,
)
from runtime.errors import InvalidKey, InvalidSignature

Commit = Justification
"""The gossip message a voter sends once its round finalizes a block: the same bytes."""


def verify_justification(
    justification: Justification,
    voter_set: VoterSet,
    genesis_hash: bytes,
    tree: BlockTree | AncestryFn,
) -> None:
    """Raise an ``InvalidJustification`` subclass unless ``justification`` proves its target final."""
    check_justification_shape(justification, voter_set)
    check_justification_signatures(justification, genesis_hash)
    check_justification_weight(justification, voter_set, tree)


def check_justification_weight(justification: Justification, voter_set: VoterSet, tree: BlockTree | AncestryFn) -> None:
    """The weight half of :func:`verify_justification` (the half that depends on the block tree)."""
    weight = compute_justification_weight(justification, voter_set, get_ancestry_fn(tree))
    if weight < voter_set.threshold:
        raise InsufficientWeight(
            f"precommits for the target weigh {weight}, need {voter_set.threshold} of {voter_set.total_weight}"
        )


def check_justification_shape(justification: Justification, voter_set: VoterSet) -> None:
    """Set id, round, stage and voter of every precommit; at most two distinct votes per voter."""
    if justification.set_id != voter_set.set_id:
        raise JustificationWrongSet(f"justification for set {justification.set_id}, expected {voter_set.set_id}")
    votes_by_voter: dict[bytes, list[object]] = {}
    for signed in justification.precommits:
        vote = signed.vote
        if vote.set_id != justification.set_id:
            raise JustificationWrongSet(f"a precommit for set {vote.set_id} in a set {justification.set_id} proof")
        if vote.round != justification.round or vote.stage != VOTE_STAGE_PRECOMMIT:
            raise JustificationMixedRounds(
                f"a stage {vote.stage} vote of round {vote.round} in a round {justification.round} justification"
            )
        if not voter_set.contains(signed.voter):
            raise JustificationUnknownVoter(f"{signed.voter.hex()} is not in voter set {voter_set.set_id}")
        seen = votes_by_voter.setdefault(signed.voter, [])
        if vote in seen or len(seen) >= 2:
            raise JustificationMalformed(f"duplicate or third precommit from {signed.voter.hex()}")
        seen.append(vote)


def check_justification_signatures(justification: Justification, genesis_hash: bytes) -> None:
    for signed in justification.precommits:
        try:
            verify_finality_vote(signed, genesis_hash)
        except (InvalidKey, InvalidSignature) as error:
            raise JustificationBadSignature(f"precommit by {signed.voter.hex()}: {error}") from error


def compute_justification_weight(justification: Justification, voter_set: VoterSet, ancestry: AncestryFn) -> int:
    """Weight of the voters precommitting ``>=`` the target, equivocators counted whatever they voted."""
    counted: set[bytes] = set()
    seen: set[bytes] = set()
    for signed in justification.precommits:
        target = (signed.vote.target_hash, signed.vote.target_number)
        if signed.voter in seen or is_descendant_or_equal(ancestry, justification.target, target):
            counted.add(signed.voter)
        seen.add(signed.voter)
    return sum(voter_set.weight_of(voter) for voter in sorted(counted))

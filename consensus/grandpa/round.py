"""One GRANDPA round: its prevotes V_r and precommits C_r, and what the paper derives from them.

Definitions (the paper's, with weights; ``t`` = threshold, ``f = total − t`` the tolerated faulty weight):

* an equivocator (two different votes in one stage) counts as voting for every block, once;
* ``S`` has a *supermajority* for ``B`` when the voters with a vote ``>= B``, plus the equivocators,
  weigh ``>= t``; ``g(S)`` (GHOST) is the highest such block;
* it is *impossible* for ``C_r`` to have a supermajority for ``B`` when the voters who voted for a
  block not ``>= B``, or equivocated, weigh more than ``2f``; otherwise it is *possible* (for a
  tolerant set: some tolerant superset could have a supermajority for ``B``);
* the estimate ``E_r`` is the highest block on the chain of ``g(V_r)`` that is possible for ``C_r``;
* the round is *completable* when ``E_r < g(V_r)``, or ``E_r = g(V_r)``, ``C_r`` holds votes from a
  supermajority of the weight, and no child of ``g(V_r)`` on a precommit's chain is possible for ``C_r``;
* ``g(C_r)`` is final once ``V_r`` also has a supermajority for it.

Votes for blocks the tree cannot yet place above the round's base are kept and counted once
``place_pending`` can place them; until then they count for nothing (not even as "voted elsewhere",
which would wrongly make blocks look impossible).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consensus.grandpa.chain import BlockRef, BlockTree
from consensus.grandpa.errors import UnknownVoter, WrongRound, WrongSetId, WrongStage
from consensus.grandpa.vote_graph import VoteGraph
from consensus.grandpa.voter_set import VoterSet
from runtime.block import VOTE_STAGE_PRECOMMIT, VOTE_STAGE_PREVOTE, SignedFinalityVote

VOTE_STAGE_PRIMARY_PROPOSAL = 2
"""The primary's hint (its E_{r−1}); signed like a vote, never counted, never an offence."""

Equivocation = tuple[SignedFinalityVote, SignedFinalityVote]


@dataclass(frozen=True)
class ImportResult:
    is_new: bool
    equivocation: Equivocation | None = None


class StageVotes:
    """The votes of one stage: graph placement, per-voter multiplicity, equivocators, pending votes."""

    def __init__(self, base: BlockRef) -> None:
        self.graph = VoteGraph(base)
        self.by_voter: dict[int, list[SignedFinalityVote]] = {}
        self.pending: list[tuple[int, SignedFinalityVote]] = []
        self.voted = 0  # bitmask: voters with a placed vote, and equivocators
        self.equivocators = 0
        self.changes = 0  # bumped on every change that can move a derived value

    def is_held(self, index: int, signed: SignedFinalityVote) -> bool:
        """Whether voter ``index`` already cast exactly this vote here."""
        return any(vote.vote == signed.vote for vote in self.by_voter.get(index, ()))

    def is_full(self, index: int) -> bool:
        """Whether voter ``index`` has two votes here: an equivocator's further votes prove nothing new."""
        return len(self.by_voter.get(index, ())) >= 2

    def add(self, index: int, signed: SignedFinalityVote, tree: BlockTree) -> ImportResult:
        """Record a vote; the first different second vote is an equivocation, later ones are ignored."""
        previous = self.by_voter.get(index, [])
        if self.is_held(index, signed) or self.is_full(index):
            return ImportResult(False)
        self.by_voter[index] = [*previous, signed]
        if previous:
            self.equivocators |= 1 << index
            self.voted |= 1 << index
            self.changes += 1
            return ImportResult(True, (previous[0], signed))
        self.pending.append((index, signed))
        self.place_pending(tree)
        return ImportResult(True)

    def place_pending(self, tree: BlockTree) -> bool:
        """Place the votes whose targets the tree now knows; whether any was placed."""
        still_pending = []
        for index, signed in self.pending:
            target = (signed.vote.target_hash, signed.vote.target_number)
            if self.graph.insert(target, index, tree):
                self.voted |= 1 << index
                self.changes += 1
            else:
                still_pending.append((index, signed))
        placed = len(still_pending) != len(self.pending)
        self.pending = still_pending
        return placed

    def get_support(self, block_hash: bytes) -> int:
        """Bitmask of voters counted for ``block_hash``: votes at or above it, and every equivocator."""
        return self.graph.get_voters(block_hash) | self.equivocators


class Round:
    """Prevotes and precommits of round ``number`` of ``voter_set``, over blocks ``>= base``."""

    def __init__(self, voter_set: VoterSet, number: int, base: BlockRef) -> None:
        self.voter_set = voter_set
        self.number = number
        self.base = base
        self.prevotes = StageVotes(base)
        self.precommits = StageVotes(base)
        self.primary_proposal: SignedFinalityVote | None = None
        self._weights: dict[int, int] = {}
        self._derived: dict[str, tuple[tuple[int, int], object]] = {}

    # --- imports --------------------------------------------------------------------------

    def import_prevote(self, signed: SignedFinalityVote, tree: BlockTree) -> ImportResult:
        index = self._check_vote(signed, VOTE_STAGE_PREVOTE)
        return self.prevotes.add(index, signed, tree)

    def import_precommit(self, signed: SignedFinalityVote, tree: BlockTree) -> ImportResult:
        index = self._check_vote(signed, VOTE_STAGE_PRECOMMIT)
        return self.precommits.add(index, signed, tree)

    def import_primary_proposal(self, signed: SignedFinalityVote) -> bool:
        """Keep the first proposal signed by this round's primary; whether it was new."""
        self._check_vote(signed, VOTE_STAGE_PRIMARY_PROPOSAL)
        if signed.voter != self.voter_set.primary_for_round(self.number):
            raise WrongStage("a primary proposal from a voter that is not this round's primary")
        if self.primary_proposal is not None:
            return False
        self.primary_proposal = signed
        return True

    def get_stage(self, stage: int) -> StageVotes:
        return self.prevotes if stage == VOTE_STAGE_PREVOTE else self.precommits

    def place_pending(self, tree: BlockTree) -> bool:
        """Count votes whose blocks arrived since; whether anything changed."""
        placed_prevotes = self.prevotes.place_pending(tree)
        placed_precommits = self.precommits.place_pending(tree)
        return placed_prevotes or placed_precommits

    def _check_vote(self, signed: SignedFinalityVote, stage: int) -> int:
        index = self.voter_set.get_index(signed.voter)
        if index is None:
            raise UnknownVoter(f"{signed.voter.hex()} is not in voter set {self.voter_set.set_id}")
        if signed.vote.set_id != self.voter_set.set_id:
            raise WrongSetId(f"vote for set {signed.vote.set_id}, round is in set {self.voter_set.set_id}")
        if signed.vote.round != self.number:
            raise WrongRound(f"vote for round {signed.vote.round} given to round {self.number}")
        if signed.vote.stage != stage:
            raise WrongStage(f"expected stage {stage}, got {signed.vote.stage}")
        return index

    # --- the paper's derived quantities ----------------------------------------------------

    def _weight(self, mask: int) -> int:
        weight = self._weights.get(mask)
        if weight is None:
            weight = self._weights[mask] = self.voter_set.compute_mask_weight(mask)
        return weight

    def _memoized(self, name: str, compute: Callable[[], Any]) -> Any:
        """Derived values are pure functions of the votes: recompute only after a change."""
        version = (self.prevotes.changes, self.precommits.changes)
        cached = self._derived.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        value = compute()
        self._derived[name] = (version, value)
        return value

    def _has_supermajority(self, stage: StageVotes, block_hash: bytes) -> bool:
        return self._weight(stage.get_support(block_hash)) >= self.voter_set.threshold

    def prevote_ghost(self) -> BlockRef | None:
        """g(V_r)."""
        return self._memoized("prevote_ghost", lambda: self._find_ghost(self.prevotes))

    def precommit_ghost(self) -> BlockRef | None:
        """g(C_r): the finalization candidate of this round."""
        return self._memoized("precommit_ghost", lambda: self._find_ghost(self.precommits))

    def _find_ghost(self, stage: StageVotes) -> BlockRef | None:
        threshold = self.voter_set.threshold
        equivocators = stage.equivocators
        return stage.graph.find_ghost(None, lambda mask: self._weight(mask | equivocators) >= threshold)

    def is_possible_precommit_supermajority(self, block_hash: bytes) -> bool:
        """The paper: impossible once the voters who voted for a block not ``>=`` it, or equivocated,
        weigh more than ``2f``. For a tolerant C_r this is exactly "some tolerant superset of C_r has
        a supermajority for the block" (unheard voters join it, up to ``f − E`` more equivocate)."""
        stage = self.precommits
        support = stage.graph.get_voters(block_hash)
        against_or_equivocating = (stage.voted & ~support) | stage.equivocators
        return self._weight(against_or_equivocating) <= 2 * self.voter_set.faulty_weight

    def estimate(self) -> BlockRef | None:
        """E_r: the highest block on chain(g(V_r)) that C_r could still have a supermajority for."""
        return self._memoized("estimate", self._compute_estimate)

    def _compute_estimate(self) -> BlockRef | None:
        ghost = self.prevote_ghost()
        if ghost is None:
            return None
        for block in self.prevotes.graph.get_chain(ghost[0]):
            if self.is_possible_precommit_supermajority(block[0]):
                return block
        return None

    def is_completable(self) -> bool:
        """E_r < g(V_r); or C_r has votes from a supermajority and none of g(V_r)'s children that a
        precommit's chain passes through is possible for C_r (an unvoted child is then impossible too)."""
        return self._memoized("completable", self._compute_completable)

    def _compute_completable(self) -> bool:
        ghost = self.prevote_ghost()
        estimate = self.estimate()
        if ghost is None or estimate is None:
            return False
        if estimate != ghost:
            return True
        if self._weight(self.precommits.voted) < self.voter_set.threshold:
            return False
        children = self.precommits.graph.get_children(ghost[0])
        return not any(self.is_possible_precommit_supermajority(child) for child in children)

    def finalized(self) -> BlockRef | None:
        """g(C_r), once V_r also has a supermajority for it (the paper's finalization rule)."""
        candidate = self.precommit_ghost()
        if candidate is None or not self._has_supermajority(self.prevotes, candidate[0]):
            return None
        return candidate

    def get_finalizing_precommits(self, target: BlockRef) -> tuple[SignedFinalityVote, ...]:
        """The precommits proving ``target``: single votes ``>= target`` and both votes of equivocators."""
        graph = self.precommits.graph
        chosen: list[SignedFinalityVote] = []
        for index in sorted(self.precommits.by_voter):
            votes = self.precommits.by_voter[index]
            if len(votes) > 1:
                chosen.extend(votes)
                continue
            vote_target = (votes[0].vote.target_hash, votes[0].vote.target_number)
            if graph.is_descendant_or_equal(vote_target, target):
                chosen.append(votes[0])
        return tuple(chosen)

    def get_votes(self) -> tuple[SignedFinalityVote, ...]:
        """Every vote of the round, in voter order (for re-gossip and catch-up)."""
        votes: list[SignedFinalityVote] = []
        for stage in (self.prevotes, self.precommits):
            for index in sorted(stage.by_voter):
                votes.extend(stage.by_voter[index])
        return tuple(votes)

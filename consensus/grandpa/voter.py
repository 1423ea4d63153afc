"""The GRANDPA voter: the paper's round rules as a sans-I/O state machine.

Feed it events (``on_tick``, ``on_vote``, ``on_block_imported``, ``on_commit``) with the current
time in integer milliseconds and the block tree; it returns actions. Round ``r`` (started at
``t_r``, with ``T`` = ``gossip_duration_ms``), for a voter ``v``:

1. if ``v`` is the round's primary and ``E_{r−1}`` is not finalized: broadcast it as a primary proposal;
2. prevote when ``now >= t_r + 2T`` or ``r`` is completable: for the best chain containing the
   primary's proposal ``B`` if ``g(V_{r−1}) >= B > E_{r−1}``, else the best chain containing ``E_{r−1}``;
3. precommit ``g(V_r)`` once ``g(V_r) >= E_{r−1}`` and (``now >= t_r + 4T`` or ``r`` is completable);
4. after its precommit step in ``r`` (or in a previous round), finalize ``g(C_r)`` once ``V_r`` has a
   supermajority for it;
5. start ``r + 1`` when ``r`` is completable and ``v`` has cast its votes in ``r`` (observers: none).

The previous round stays alive: its votes still move ``E_{r−1}`` and may finalize blocks. A valid
commit for a round ``>=`` ours finalizes its target and fast-forwards us past that round.

Slashing protection: every vote we sign is recorded per (round, stage) before it is returned, and
no second vote is ever signed for a recorded key. ``persisted_state()`` returns that record; the
node must write it durably **before** it performs the ``BroadcastVote`` actions of the same call,
and passes it back to the constructor after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from consensus.grandpa.chain import AncestryFn, BlockRef, BlockTree, is_descendant_or_equal
from consensus.grandpa.errors import BadVoteSignature, GrandpaError, UnknownVoter, WrongRound, WrongSetId, WrongStage
from consensus.grandpa.justification import (
    Justification,
    check_justification_shape,
    check_justification_signatures,
    check_justification_weight,
)
from consensus.grandpa.round import VOTE_STAGE_PRIMARY_PROPOSAL, Round
from consensus.grandpa.voter_set import VoterSet
from runtime.block import (
    VOTE_STAGE_PRECOMMIT,
    VOTE_STAGE_PREVOTE,
    FinalityVote,
    SignedFinalityVote,
    sign_finality_vote,
    verify_finality_vote,
)
from runtime.errors import InvalidKey, InvalidSignature
from runtime.primitives.codec import U64, BlockNumber, Hash32, ListOf, Record, record
from runtime.primitives.keys import Keypair

PREVOTE_DELAY_PERIODS = 2  # prevote at t_r + 2T
PRECOMMIT_DELAY_PERIODS = 4  # precommit at t_r + 4T
REBROADCAST_PERIODS = 8  # re-gossip our votes of the live rounds every 8T: gossip is lossy
MAX_ROUNDS_AHEAD = 4  # votes for up to this many future rounds are buffered
MAX_CHECKED_COMMITS = 16  # commits whose signatures were verified, remembered so a re-send costs no signature check
STAGES = (VOTE_STAGE_PREVOTE, VOTE_STAGE_PRECOMMIT, VOTE_STAGE_PRIMARY_PROPOSAL)


class VoteUse(StrEnum):
    """What the voter does with a vote that passes :meth:`Voter.check_vote` (:meth:`Voter.get_vote_use`).

    Only ``COUNT`` and ``BUFFER`` keep it. Each voter's share is bounded: two votes per stage
    (an equivocator's first two) in each live round and in each of the next
    ``MAX_ROUNDS_AHEAD`` rounds, one primary proposal per live round.
    """

    COUNT = "count"  # a live round (the current or the previous one) counts it
    BUFFER = "buffer"  # held until its round starts
    DUPLICATE = "duplicate"  # already held
    SURPLUS = "surplus"  # its voter already has two votes in that stage: a third proves nothing new
    STALE = "stale"  # its round has ended
    AHEAD = "ahead"  # its round is further ahead than votes are buffered


KEPT_VOTE_USES = (VoteUse.COUNT, VoteUse.BUFFER)


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastVote:
    signed_vote: SignedFinalityVote


@dataclass(frozen=True)
class BroadcastCommit:
    commit: Justification


@dataclass(frozen=True)
class Finalize:
    hash: bytes
    number: int
    justification: Justification


@dataclass(frozen=True)
class ReportVoteEquivocation:
    first: SignedFinalityVote
    second: SignedFinalityVote


Action = BroadcastVote | BroadcastCommit | Finalize | ReportVoteEquivocation


# --- persisted state -------------------------------------------------------------------------


@record
class VoterState(Record):
    """What a voter must remember across restarts: where it is, and every vote it signed lately."""

    set_id: U64
    round: U64
    previous_estimate_hash: Hash32
    previous_estimate_number: BlockNumber
    votes: Annotated[tuple, ListOf(SignedFinalityVote, 2 * len(STAGES))]  # current and previous round


@dataclass(frozen=True)
class ConcludedRound:
    """A round known only by its outcome: round 0 of a set (its base), or one a commit skipped."""

    number: int
    result: BlockRef

    def estimate(self) -> BlockRef:
        return self.result

    def prevote_ghost(self) -> BlockRef:
        return self.result

    def is_completable(self) -> bool:
        return True


# --- the voter -------------------------------------------------------------------------------


class Voter:
    """One node's GRANDPA voter for one authority set; an observer (follows rounds and commits, signs
    nothing) when ``keypair`` is ``None`` or not in the set."""

    def __init__(
        self,
        voter_set: VoterSet,
        base: BlockRef,
        keypair: Keypair | None,
        genesis_hash: bytes,
        gossip_duration_ms: int,
        state: VoterState | None = None,
    ) -> None:
        if type(gossip_duration_ms) is not int or gossip_duration_ms <= 0:
            raise GrandpaError("gossip duration must be a positive number of milliseconds")
        if state is not None and state.set_id != voter_set.set_id:
            raise WrongSetId(f"persisted state is for set {state.set_id}, voter set is {voter_set.set_id}")
        self.voter_set = voter_set
        self.keypair = keypair if keypair is not None and voter_set.contains(keypair.public_key) else None
        self.genesis_hash = genesis_hash
        self.gossip_duration_ms = gossip_duration_ms
        self.last_finalized = base
        self.own_votes: dict[tuple[int, int], SignedFinalityVote] = {}
        self.future_votes: dict[int, list[SignedFinalityVote]] = {}
        self._checked_commits: dict[Justification, None] = {}  # oldest first
        self.last_commit: Justification | None = None
        self.last_rebroadcast_ms: int | None = None
        number = 1 if state is None else max(1, state.round)
        previous_estimate = base if state is None else (state.previous_estimate_hash, state.previous_estimate_number)
        self.previous: Round | ConcludedRound = ConcludedRound(number - 1, previous_estimate)
        self.current = Round(voter_set, number, base)
        self.current_started_ms: int | None = None
        self._votes_to_replay: list[SignedFinalityVote] = []
        if state is not None:
            self._restore_own_votes(state)

    def _restore_own_votes(self, state: VoterState) -> None:
        for signed in state.votes:
            vote = signed.vote
            if vote.set_id == state.set_id and vote.round in (state.round, state.round - 1):
                self.own_votes[(vote.round, vote.stage)] = signed
                self._votes_to_replay.append(signed)

    # --- queries -----------------------------------------------------------------------------

    @property
    def round_number(self) -> int:
        return self.current.number

    def persisted_state(self) -> VoterState:
        keep = (self.current.number - 1, self.current.number)
        votes = tuple(self.own_votes[key] for key in sorted(self.own_votes) if key[0] in keep)
        estimate = self.previous.estimate() or self.last_finalized
        return VoterState(self.voter_set.set_id, self.current.number, estimate[0], estimate[1], votes)

    # --- events ------------------------------------------------------------------------------

    def on_tick(self, now_ms: int, tree: BlockTree) -> list[Action]:
        return self._process(now_ms, tree) + self._rebroadcast_if_due(now_ms)

    def on_block_imported(self, now_ms: int, tree: BlockTree) -> list[Action]:
        """New blocks may place pending votes and so move GHOST, estimates and finality."""
        return self._process(now_ms, tree)

    def on_vote(self, signed: SignedFinalityVote, now_ms: int, tree: BlockTree) -> list[Action]:
        """Check a gossiped vote, then count or buffer it as :meth:`get_vote_use` says (a vote it
        does not keep is ignored, no error)."""
        self.check_vote(signed)
        use = self.get_vote_use(signed)
        actions: list[Action] = []
        if use == VoteUse.COUNT:
            round_ = self._get_live_round(signed.vote.round)
            assert round_ is not None
            actions += self._import_vote(round_, signed, tree)
        elif use == VoteUse.BUFFER:
            self.future_votes.setdefault(signed.vote.round, []).append(signed)
        return actions + self._process(now_ms, tree)

    def get_vote_use(self, signed: SignedFinalityVote) -> VoteUse:
        """What :meth:`on_vote` does with ``signed`` if it passes :meth:`check_vote`. Cheap (no
        signature check), so a node can ignore a vote no round keeps before it verifies it, and
        relays only the votes kept. A vote ``check_vote`` refuses (unknown voter or stage) is
        left to it."""
        number = signed.vote.round
        round_ = self._get_live_round(number)
        if round_ is not None:
            return self._get_round_use(round_, signed)
        if number <= self.current.number:
            return VoteUse.STALE
        if number > self.current.number + MAX_ROUNDS_AHEAD:
            return VoteUse.AHEAD
        same = [
            held
            for held in self.future_votes.get(number, ())
            if held.voter == signed.voter and held.vote.stage == signed.vote.stage
        ]
        if any(held.vote == signed.vote for held in same):
            return VoteUse.DUPLICATE
        return VoteUse.SURPLUS if len(same) >= 2 else VoteUse.BUFFER

    def _get_live_round(self, number: int) -> Round | None:
        if number == self.current.number:
            return self.current
        if isinstance(self.previous, Round) and number == self.previous.number:
            return self.previous
        return None

    def _get_round_use(self, round_: Round, signed: SignedFinalityVote) -> VoteUse:
        index = self.voter_set.get_index(signed.voter)
        stage = signed.vote.stage
        if index is None or stage not in STAGES:
            return VoteUse.COUNT  # check_vote refuses it
        if stage == VOTE_STAGE_PRIMARY_PROPOSAL:
            held = round_.primary_proposal
            if held is None:
                return VoteUse.COUNT
            return VoteUse.DUPLICATE if held.vote == signed.vote else VoteUse.SURPLUS
        votes = round_.get_stage(stage)
        if votes.is_held(index, signed):
            return VoteUse.DUPLICATE
        return VoteUse.SURPLUS if votes.is_full(index) else VoteUse.COUNT

    def on_commit(self, commit: Justification, now_ms: int, tree: BlockTree) -> list[Action]:
        """Verify a peer's commit; finalize its target and fast-forward if it is for our round or later.

        A commit whose target (or precommit targets) we have not imported fails verification: the
        node should hold it and retry after import, as it does for blocks. Its signatures are
        checked once (:meth:`check_commit`).
        """
        self.check_commit(commit, tree)
        actions = self._finalize(commit.target, commit, tree)
        if commit.round >= self.current.number:
            actions += self._start_round(commit.round + 1, ConcludedRound(commit.round, commit.target), now_ms, tree)
        return actions + self._process(now_ms, tree)

    def get_catch_up(self) -> tuple[int, tuple[SignedFinalityVote, ...]] | None:
        """Our last completed round and its votes, for a voter two or more rounds behind (voters
        re-send only their live rounds' votes, so it would never see that round's again)."""
        if not isinstance(self.previous, Round):
            return None
        return self.previous.number, self.previous.get_votes()

    def on_catch_up(
        self, number: int, votes: tuple[SignedFinalityVote, ...], now_ms: int, tree: BlockTree
    ) -> list[Action]:
        """A peer's votes of round ``number``, its last completed round (``get_catch_up``). Ours,
        they are counted as live votes; a later one, if they make it completable here too, becomes
        our previous round and we start ``number + 1`` (voters may skip rounds: GRANDPA's
        catch-up). Raises an ``InvalidVote`` for a vote no round could count; an earlier round, or
        one not completable here (blocks we lack, say), changes nothing."""
        for signed in votes:
            self.check_vote(signed)
            if signed.vote.round != number or signed.vote.stage == VOTE_STAGE_PRIMARY_PROPOSAL:
                raise WrongRound(f"a stage {signed.vote.stage} vote of round {signed.vote.round} in a catch-up")
        if number <= self.current.number:
            live = self._get_live_round(number)
            imported = [] if live is None else [action for s in votes for action in self._import_vote(live, s, tree)]
            return imported + self._process(now_ms, tree)
        round_ = Round(self.voter_set, number, self.last_finalized)
        actions: list[Action] = []
        for signed in (*self.future_votes.get(number, ()), *votes):
            actions += self._import_vote(round_, signed, tree)
        if not round_.is_completable():
            return actions
        return actions + self._start_round(number + 1, round_, now_ms, tree) + self._process(now_ms, tree)

    def check_commit(self, commit: Justification, tree: BlockTree | AncestryFn) -> None:
        """``verify_justification``, with the shape and signatures of the last
        ``MAX_CHECKED_COMMITS`` commits remembered: a commit re-sent, or retried once the blocks
        it names arrive, costs its weight only."""
        if commit not in self._checked_commits:
            check_justification_shape(commit, self.voter_set)
            check_justification_signatures(commit, self.genesis_hash)
            self._checked_commits[commit] = None
            if len(self._checked_commits) > MAX_CHECKED_COMMITS:
                del self._checked_commits[next(iter(self._checked_commits))]
        check_justification_weight(commit, self.voter_set, tree)

    def check_vote(self, signed: SignedFinalityVote) -> None:
        """Gossip validation: raises an ``InvalidVote`` subclass for a vote no round could count."""
        if signed.vote.set_id != self.voter_set.set_id:
            raise WrongSetId(f"vote for set {signed.vote.set_id}, voter is in set {self.voter_set.set_id}")
        if not self.voter_set.contains(signed.voter):
            raise UnknownVoter(f"{signed.voter.hex()} is not in voter set {self.voter_set.set_id}")
        if signed.vote.stage not in STAGES:
            raise WrongStage(f"unknown vote stage {signed.vote.stage}")
        if signed.vote.stage == VOTE_STAGE_PRIMARY_PROPOSAL:
            if signed.voter != self.voter_set.primary_for_round(signed.vote.round):
                raise WrongStage(f"a primary proposal from a voter that is not round {signed.vote.round}'s primary")
        try:
            verify_finality_vote(signed, self.genesis_hash)
        except (InvalidKey, InvalidSignature) as error:
            raise BadVoteSignature(str(error)) from error

    # --- the round loop ------------------------------------------------------------------------

    def _process(self, now_ms: int, tree: BlockTree) -> list[Action]:
        if self.current_started_ms is None:
            self.current_started_ms = now_ms
        actions = self._replay_own_votes(tree)
        self.current.place_pending(tree)
        if isinstance(self.previous, Round):
            self.previous.place_pending(tree)
        for _ in range(MAX_ROUNDS_AHEAD + 1):  # each pass may start one round; buffered votes may end it
            for round_ in (self.previous, self.current):
                actions += self._try_finalize(round_, tree)
            if self.keypair is not None:
                actions += self._try_propose(tree)
                actions += self._try_prevote(now_ms, tree)
                actions += self._try_precommit(now_ms, tree)
            if not self._is_round_done():
                break
            actions += self._start_round(self.current.number + 1, self.current, now_ms, tree)
        return actions

    def _replay_own_votes(self, tree: BlockTree) -> list[Action]:
        """After a restart: count and re-send the votes we signed before it (never new ones)."""
        actions: list[Action] = []
        for signed in self._votes_to_replay:
            if signed.vote.round == self.current.number:
                actions += self._import_vote(self.current, signed, tree)
            actions.append(BroadcastVote(signed))
        self._votes_to_replay = []
        return actions

    def _try_propose(self, tree: BlockTree) -> list[Action]:
        """The primary hints E_{r−1} while it is not yet finalized (the paper makes it optional after)."""
        if self.voter_set.primary_for_round(self.current.number) != self.keypair_public_key():
            return []
        estimate = self.previous.estimate()
        if estimate is None or estimate[1] <= self.last_finalized[1]:
            return []
        return self._cast(VOTE_STAGE_PRIMARY_PROPOSAL, estimate, tree)

    def _try_prevote(self, now_ms: int, tree: BlockTree) -> list[Action]:
        if (self.current.number, VOTE_STAGE_PREVOTE) in self.own_votes:
            return []
        if not self._is_time(now_ms, PREVOTE_DELAY_PERIODS) and not self.current.is_completable():
            return []
        return self._cast(VOTE_STAGE_PREVOTE, compute_prevote_target(self.previous, self.current, tree), tree)

    def _try_precommit(self, now_ms: int, tree: BlockTree) -> list[Action]:
        number = self.current.number
        if (number, VOTE_STAGE_PRECOMMIT) in self.own_votes or (number, VOTE_STAGE_PREVOTE) not in self.own_votes:
            return []
        ghost = self.current.prevote_ghost()
        previous_estimate = self.previous.estimate()
        if ghost is None or previous_estimate is None:
            return []
        if not is_descendant_or_equal(tree.ancestry, previous_estimate, ghost):
            return []
        if not self._is_time(now_ms, PRECOMMIT_DELAY_PERIODS) and not self.current.is_completable():
            return []
        return self._cast(VOTE_STAGE_PRECOMMIT, ghost, tree)

    def _is_time(self, now_ms: int, periods: int) -> bool:
        assert self.current_started_ms is not None
        return now_ms >= self.current_started_ms + periods * self.gossip_duration_ms

    def _is_round_done(self) -> bool:
        """The paper: round r is completable and we have cast our votes in it (observers cast none)."""
        if not self.current.is_completable():
            return False
        return self.keypair is None or (self.current.number, VOTE_STAGE_PRECOMMIT) in self.own_votes

    def _start_round(self, number: int, previous: Round | ConcludedRound, now_ms: int, tree: BlockTree) -> list[Action]:
        self.previous = previous
        self.current = Round(self.voter_set, number, self.last_finalized)
        self.current_started_ms = now_ms
        self.own_votes = {key: vote for key, vote in self.own_votes.items() if key[0] >= number - 1}
        buffered = self.future_votes.pop(number, [])
        self.future_votes = {later: votes for later, votes in self.future_votes.items() if later > number}
        actions: list[Action] = []
        for signed in buffered:
            actions += self._import_vote(self.current, signed, tree)
        return actions

    # --- votes, finality -------------------------------------------------------------------------

    def keypair_public_key(self) -> bytes | None:
        return None if self.keypair is None else self.keypair.public_key

    def _cast(self, stage: int, target: BlockRef | None, tree: BlockTree) -> list[Action]:
        """Sign once per (round, stage), ever: a recorded key is never signed again."""
        key = (self.current.number, stage)
        if target is None or self.keypair is None or key in self.own_votes:
            return []
        vote = FinalityVote(self.voter_set.set_id, self.current.number, stage, target[0], target[1])
        signed = sign_finality_vote(vote, self.keypair, self.genesis_hash)
        self.own_votes[key] = signed
        return [BroadcastVote(signed), *self._import_vote(self.current, signed, tree)]

    def _import_vote(self, round_: Round, signed: SignedFinalityVote, tree: BlockTree) -> list[Action]:
        stage = signed.vote.stage
        if stage == VOTE_STAGE_PRIMARY_PROPOSAL:
            round_.import_primary_proposal(signed)
            return []
        importer = round_.import_prevote if stage == VOTE_STAGE_PREVOTE else round_.import_precommit
        result = importer(signed, tree)
        return [] if result.equivocation is None else [ReportVoteEquivocation(*result.equivocation)]

    def _try_finalize(self, round_: Round | ConcludedRound, tree: BlockTree) -> list[Action]:
        if not isinstance(round_, Round) or not self._is_past_precommit(round_):
            return []
        target = round_.finalized()
        if target is None or target[1] <= self.last_finalized[1]:
            return []
        justification = Justification(
            self.voter_set.set_id, round_.number, target[0], target[1], round_.get_finalizing_precommits(target)
        )
        actions = self._finalize(target, justification, tree)
        if actions and self.keypair is not None:
            self.last_commit = justification
            actions.append(BroadcastCommit(justification))
        return actions

    def _is_past_precommit(self, round_: Round) -> bool:
        """The paper finalizes from a round's votes only after our precommit step of that round."""
        return (
            self.keypair is None
            or round_.number < self.current.number
            or ((round_.number, VOTE_STAGE_PRECOMMIT) in self.own_votes)
        )

    def _finalize(self, target: BlockRef, justification: Justification, tree: BlockTree) -> list[Action]:
        """Finalize ``target`` if it is new and builds on what we finalized (never a conflicting block)."""
        if target[1] <= self.last_finalized[1]:
            return []
        if not is_descendant_or_equal(tree.ancestry, self.last_finalized, target):
            return []
        self.last_finalized = target
        return [Finalize(target[0], target[1], justification)]

    def _rebroadcast_if_due(self, now_ms: int) -> list[Action]:
        if self.last_rebroadcast_ms is None:
            self.last_rebroadcast_ms = now_ms
        if now_ms < self.last_rebroadcast_ms + REBROADCAST_PERIODS * self.gossip_duration_ms:
            return []
        self.last_rebroadcast_ms = now_ms
        actions: list[Action] = [BroadcastVote(self.own_votes[key]) for key in sorted(self.own_votes)]
        if self.last_commit is not None:
            actions.append(BroadcastCommit(self.last_commit))
        return actions


def compute_prevote_target(previous: Round | ConcludedRound, current: Round, tree: BlockTree) -> BlockRef | None:
    """Head of the best chain containing the primary's block ``B`` if ``g(V_{r−1}) >= B > E_{r−1}``,
    else containing ``E_{r−1}``; ``None`` while there is no estimate or the tree cannot answer."""
    estimate = previous.estimate()
    if estimate is None:
        return None
    base = estimate
    proposal = current.primary_proposal
    previous_ghost = previous.prevote_ghost()
    if proposal is not None and previous_ghost is not None:
        proposed = (proposal.vote.target_hash, proposal.vote.target_number)
        if (
            proposed != estimate
            and is_descendant_or_equal(tree.ancestry, estimate, proposed)
            and is_descendant_or_equal(tree.ancestry, proposed, previous_ghost)
        ):
            base = proposed
    return tree.best_chain_containing(base[0])

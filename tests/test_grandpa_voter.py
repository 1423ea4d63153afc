"""The voter state machine, driven by a perfect in-process network and a fake integer clock."""

from __future__ import annotations

from collections import deque

import pytest

from consensus.grandpa.chain import BlockRef, DictBlockTree
from consensus.grandpa.justification import Justification
from consensus.grandpa.voter import (
    BroadcastCommit,
    BroadcastVote,
    Finalize,
    ReportVoteEquivocation,
    Voter,
    VoterState,
    VoteUse,
)
from consensus.grandpa.voter_set import VoterSet
from runtime.block import VOTE_STAGE_PRECOMMIT, VOTE_STAGE_PREVOTE, FinalityVote, sign_finality_vote
from runtime.primitives.keys import Keypair

GENESIS_HASH = bytes(range(32))
T = 100  # gossip duration, ms
STEP = 50  # clock step of the simulation, ms


def h(name: str) -> bytes:
    return name.encode().ljust(32, b"\0")


GENESIS = h("G")


class Network:
    """Every broadcast reaches every online voter at once; offline voters neither send nor receive."""

    def __init__(self, count: int, tree: DictBlockTree | None = None) -> None:
        self.keys = [Keypair.from_seed(bytes([index + 1]) * 32) for index in range(count)]
        self.voter_set = VoterSet(0, tuple((key.public_key, 1) for key in self.keys))
        self.tree = tree or DictBlockTree(GENESIS)
        self.voters = [Voter(self.voter_set, (GENESIS, 0), key, GENESIS_HASH, T) for key in self.keys]
        self.online = set(range(count))
        self.now = 0
        self.finalized: list[list[BlockRef]] = [[] for _ in range(count)]
        self.reports: list[ReportVoteEquivocation] = []
        self.commits: list[Justification] = []

    def deliver(self, sender: int, actions: list) -> None:
        queue = deque((sender, action) for action in actions)
        while queue:
            origin, action = queue.popleft()
            if isinstance(action, Finalize):
                self.finalized[origin].append((action.hash, action.number))
                continue
            if isinstance(action, ReportVoteEquivocation):
                self.reports.append(action)
                continue
            if origin not in self.online:
                continue
            if isinstance(action, BroadcastCommit):
                self.commits.append(action.commit)
            for index in sorted(self.online - {origin}):
                voter = self.voters[index]
                if isinstance(action, BroadcastVote):
                    replies = voter.on_vote(action.signed_vote, self.now, self.tree)
                else:
                    replies = voter.on_commit(action.commit, self.now, self.tree)
                queue.extend((index, reply) for reply in replies)

    def run(self, duration_ms: int) -> None:
        end = self.now + duration_ms
        while self.now < end:
            self.now += STEP
            for index in sorted(self.online):
                self.deliver(index, self.voters[index].on_tick(self.now, self.tree))

    def import_block(self, name: str, parent: str) -> None:
        self.tree.add_block(h(name), h(parent))
        for index in sorted(self.online):
            self.deliver(index, self.voters[index].on_block_imported(self.now, self.tree))

    def head(self, index: int) -> BlockRef | None:
        return self.finalized[index][-1] if self.finalized[index] else None


def grow(network: Network, names: list[str], parent: str) -> str:
    for name in names:
        network.import_block(name, parent)
        parent = name
    return parent


def assert_consistent(network: Network, indices: list[int]) -> None:
    """Every voter's finalized blocks form one chain, and no two voters disagree."""
    finalized = {block for index in indices for block in network.finalized[index]}
    ordered = sorted(finalized, key=lambda block: block[1])
    for lower, higher in zip(ordered, ordered[1:]):
        assert lower[1] < higher[1], "two finalized blocks at one height"
        assert network.tree.ancestry(lower[0], higher[0]) is not None, "conflicting finalized blocks"


def test_four_voters_finalize_the_same_blocks_over_many_rounds() -> None:
    network = Network(4)
    grow(network, ["A1", "A2", "A3"], "G")
    head = grow(network, ["B3", "B4"], "A2")  # a fork that overtakes A3: the best chain
    network.run(10 * T)
    assert all(network.head(index) == (h("B4"), 4) for index in range(4))
    for step in range(5):
        head = grow(network, [f"M{step}a", f"M{step}b"], head)
        network.run(10 * T)
    assert all(network.head(index) == (h("M4b"), 14) for index in range(4))
    assert_consistent(network, [0, 1, 2, 3])
    assert min(voter.round_number for voter in network.voters) >= 5
    assert network.reports == []


def test_one_of_four_silent_still_finalizes() -> None:
    network = Network(4)
    network.online = {0, 1, 2}
    grow(network, ["A1", "A2", "A3"], "G")
    network.run(10 * T)
    grow(network, ["A4", "A5"], "A3")
    network.run(10 * T)
    assert all(network.head(index) == (h("A5"), 5) for index in range(3))
    assert network.finalized[3] == []


def test_two_of_four_silent_halts_then_resumes() -> None:
    network = Network(4)
    grow(network, ["A1", "A2"], "G")
    network.run(10 * T)
    assert network.head(0) == (h("A2"), 2)
    network.online = {0, 1}
    grow(network, ["A3", "A4"], "A2")
    network.run(40 * T)
    assert network.head(0) == (h("A2"), 2) and network.head(1) == (h("A2"), 2)  # halted
    network.online = {0, 1, 2, 3}
    network.run(20 * T)  # re-gossip of the live rounds' votes brings everyone back
    assert all(network.head(index) == (h("A4"), 4) for index in range(4))
    assert_consistent(network, [0, 1, 2, 3])


def test_single_voter_finalizes_alone() -> None:
    network = Network(1)
    grow(network, ["A1", "A2"], "G")
    network.run(6 * T)
    assert network.head(0) == (h("A2"), 2)
    grow(network, ["A3"], "A2")
    network.run(6 * T)
    assert network.head(0) == (h("A3"), 3)
    assert [number for _, number in network.finalized[0]] == [2, 3]


def test_observer_follows_commits_without_voting() -> None:
    network = Network(3)
    observer = Voter(network.voter_set, (GENESIS, 0), None, GENESIS_HASH, T)
    grow(network, ["A1", "A2"], "G")
    network.run(10 * T)
    assert network.commits
    actions = observer.on_commit(network.commits[-1], network.now, network.tree)
    assert [action for action in actions if isinstance(action, Finalize)][0].number == 2
    assert not any(isinstance(action, BroadcastVote) for action in actions)


def test_prevote_equivocation_is_reported_and_counted() -> None:
    network = Network(4)
    grow(network, ["A1", "A2"], "G")
    grow(network, ["B1"], "G")
    cheater = network.keys[3]
    first = sign_finality_vote(FinalityVote(0, 1, VOTE_STAGE_PREVOTE, h("A2"), 2), cheater, GENESIS_HASH)
    second = sign_finality_vote(FinalityVote(0, 1, VOTE_STAGE_PREVOTE, h("B1"), 1), cheater, GENESIS_HASH)
    voter = network.voters[0]
    assert voter.on_vote(first, 0, network.tree) == []
    actions = voter.on_vote(second, 0, network.tree)
    assert ReportVoteEquivocation(first, second) in actions
    # with the equivocator counted for every block, two honest prevotes suffice for g(V)
    honest = sign_finality_vote(FinalityVote(0, 1, VOTE_STAGE_PREVOTE, h("A1"), 1), network.keys[1], GENESIS_HASH)
    voter.on_vote(honest, 0, network.tree)
    voter.on_tick(2 * T, network.tree)  # voter 0 prevotes A2, the best chain
    assert voter.current.prevote_ghost() == (h("A1"), 1)


def test_resumed_voter_never_signs_a_conflicting_vote() -> None:
    tree = DictBlockTree(GENESIS)
    tree.add_block(h("A1"), GENESIS)
    key = Keypair.from_seed(bytes([1]) * 32)
    others = [Keypair.from_seed(bytes([index]) * 32) for index in (2, 3, 4)]
    voter_set = VoterSet(0, tuple((k.public_key, 1) for k in [key, *others]))
    voter = Voter(voter_set, (GENESIS, 0), key, GENESIS_HASH, T)
    voter.on_tick(0, tree)
    cast = [a.signed_vote for a in voter.on_tick(2 * T, tree) if isinstance(a, BroadcastVote)]
    prevote = next(signed for signed in cast if signed.vote.stage == VOTE_STAGE_PREVOTE)
    assert prevote.vote.target_hash == h("A1")
    state = VoterState.decode(voter.persisted_state().encode())

    tree.add_block(h("A2"), h("A1"))  # after the restart, the best chain is longer
    resumed = Voter(voter_set, (GENESIS, 0), key, GENESIS_HASH, T, state=state)
    actions = resumed.on_tick(100 * T, tree) + resumed.on_block_imported(101 * T, tree)
    prevotes = [a.signed_vote for a in actions if isinstance(a, BroadcastVote) and a.signed_vote.vote.stage == 0]
    assert prevotes == [prevote]  # re-sent as it was, never re-signed for A2
    assert resumed.persisted_state().votes == state.votes


def test_commit_from_a_later_round_fast_forwards_a_lagging_voter() -> None:
    network = Network(4)
    network.online = {0, 1, 2}
    head = grow(network, ["A1", "A2"], "G")
    for step in range(3):
        head = grow(network, [f"M{step}"], head)
        network.run(10 * T)
    lagging = network.voters[3]
    assert lagging.round_number == 1 and network.finalized[3] == []
    latest = network.commits[-1]
    actions = lagging.on_commit(latest, network.now, network.tree)
    assert Finalize(latest.target_hash, latest.target_number, latest) in actions
    assert lagging.round_number == latest.round + 1
    network.online = {0, 1, 2, 3}
    head = grow(network, ["N1"], head)
    network.run(10 * T)
    assert network.head(3) == (h("N1"), 6) and network.head(0) == (h("N1"), 6)
    assert_consistent(network, [0, 1, 2, 3])


def test_votes_for_unknown_blocks_are_kept_until_import() -> None:
    network = Network(4)
    grow(network, ["A1"], "G")
    late = DictBlockTree(GENESIS)  # voter 3 has not imported A1 yet
    target = (h("A1"), 1)
    votes = [
        sign_finality_vote(FinalityVote(0, 1, stage, *target), key, GENESIS_HASH)
        for stage in (VOTE_STAGE_PREVOTE, VOTE_STAGE_PRECOMMIT)
        for key in network.keys[:3]
    ]
    voter = network.voters[3]
    for signed in votes:
        assert not any(isinstance(a, Finalize) for a in voter.on_vote(signed, 0, late))
    late.add_block(h("A1"), GENESIS)
    actions = voter.on_block_imported(0, late)
    assert [(a.hash, a.number) for a in actions if isinstance(a, Finalize)] == [target]


def test_primary_proposal_steers_the_prevote_only_within_the_previous_ghost() -> None:
    from consensus.grandpa.round import VOTE_STAGE_PRIMARY_PROPOSAL, Round
    from consensus.grandpa.voter import compute_prevote_target

    tree = DictBlockTree(GENESIS)
    for block, parent in [("A", "G"), ("B", "A"), ("C", "B"), ("D", "C")]:
        tree.add_block(h(block), h(parent))
    for block, parent in [("B2", "A"), ("C2", "B2"), ("D2", "C2"), ("E2", "D2")]:
        tree.add_block(h(block), h(parent))
    network = Network(4, tree)
    previous = Round(network.voter_set, 1, (GENESIS, 0))
    for key in network.keys:
        previous.import_prevote(sign_finality_vote(FinalityVote(0, 1, 0, h("C"), 3), key, GENESIS_HASH), tree)
    for key in network.keys[:3]:
        previous.import_precommit(sign_finality_vote(FinalityVote(0, 1, 1, h("A"), 1), key, GENESIS_HASH), tree)
    assert previous.prevote_ghost() == (h("C"), 3) and previous.estimate() == (h("A"), 1)

    def target_with_proposal(name: str | None, number: int = 0) -> BlockRef | None:
        current = Round(network.voter_set, 2, (GENESIS, 0))
        if name is not None:
            vote = FinalityVote(0, 2, VOTE_STAGE_PRIMARY_PROPOSAL, h(name), number)
            current.import_primary_proposal(sign_finality_vote(vote, network.keys[2], GENESIS_HASH))
        return compute_prevote_target(previous, current, tree)

    assert target_with_proposal(None) == (h("E2"), 5)  # best chain containing E_1 = A
    assert target_with_proposal("B", 2) == (h("D"), 4)  # g(V_1) >= B > E_1: follow the primary
    assert target_with_proposal("D", 4) == (h("E2"), 5)  # beyond g(V_1): ignored
    assert target_with_proposal("A", 1) == (h("E2"), 5)  # not above E_1: ignored


def test_invalid_gossip_is_rejected_and_far_rounds_ignored() -> None:
    import pytest

    from consensus.grandpa.errors import BadVoteSignature, UnknownVoter, WrongSetId
    from consensus.grandpa.voter import MAX_ROUNDS_AHEAD

    network = Network(4)
    grow(network, ["A1"], "G")
    voter = network.voters[0]
    outsider = Keypair.from_seed(bytes([200]) * 32)
    vote = FinalityVote(0, 1, VOTE_STAGE_PREVOTE, h("A1"), 1)
    with pytest.raises(UnknownVoter):
        voter.on_vote(sign_finality_vote(vote, outsider, GENESIS_HASH), 0, network.tree)
    with pytest.raises(WrongSetId):
        other_set = FinalityVote(1, 1, VOTE_STAGE_PREVOTE, h("A1"), 1)
        voter.on_vote(sign_finality_vote(other_set, network.keys[1], GENESIS_HASH), 0, network.tree)
    with pytest.raises(BadVoteSignature):
        voter.on_vote(sign_finality_vote(vote, network.keys[1], bytes(32)), 0, network.tree)  # another chain
    far = FinalityVote(0, 2 + MAX_ROUNDS_AHEAD, VOTE_STAGE_PREVOTE, h("A1"), 1)
    assert voter.on_vote(sign_finality_vote(far, network.keys[1], GENESIS_HASH), 0, network.tree) == []
    assert voter.future_votes == {}
    near = FinalityVote(0, 2, VOTE_STAGE_PREVOTE, h("A1"), 1)
    voter.on_vote(sign_finality_vote(near, network.keys[1], GENESIS_HASH), 0, network.tree)
    assert list(voter.future_votes) == [2]


def test_persisted_state_is_for_one_set() -> None:
    import pytest

    from consensus.grandpa.errors import WrongSetId

    network = Network(4)
    state = network.voters[0].persisted_state()
    assert VoterState.decode(state.encode()) == state and state.round == 1 and state.votes == ()
    other_set = VoterSet(1, network.voter_set.voters)
    with pytest.raises(WrongSetId):
        Voter(other_set, (GENESIS, 0), network.keys[0], GENESIS_HASH, T, state=state)


def test_each_voter_keeps_its_own_share_of_a_future_round() -> None:
    network = Network(4)
    grow(network, ["A1"], "G")
    voter, flooder = network.voters[0], network.keys[1]
    flood = [FinalityVote(0, 3, VOTE_STAGE_PREVOTE, h(f"X{i}"), 1) for i in range(100)]
    for vote in flood:
        voter.on_vote(sign_finality_vote(vote, flooder, GENESIS_HASH), 0, network.tree)
    assert [signed.vote for signed in voter.future_votes[3]] == flood[:2]  # two: an equivocation, no more
    honest = sign_finality_vote(FinalityVote(0, 3, VOTE_STAGE_PREVOTE, h("A1"), 1), network.keys[2], GENESIS_HASH)
    assert voter.get_vote_use(honest) == VoteUse.BUFFER
    voter.on_vote(honest, 0, network.tree)
    assert honest in voter.future_votes[3] and voter.get_vote_use(honest) == VoteUse.DUPLICATE


def test_what_the_voter_does_with_a_vote_is_known_before_its_signature_is_checked() -> None:
    from consensus.grandpa.voter import MAX_ROUNDS_AHEAD

    network = Network(4)
    grow(network, ["A1", "B1"], "G")
    voter, key = network.voters[0], network.keys[1]

    def use(round_: int, block: str = "A1") -> VoteUse:
        vote = FinalityVote(0, round_, VOTE_STAGE_PREVOTE, h(block), 1)
        return voter.get_vote_use(sign_finality_vote(vote, key, GENESIS_HASH))

    first = sign_finality_vote(FinalityVote(0, 1, VOTE_STAGE_PREVOTE, h("A1"), 1), key, GENESIS_HASH)
    assert use(1) == VoteUse.COUNT
    voter.on_vote(first, 0, network.tree)
    assert use(1) == VoteUse.DUPLICATE and use(1, "B1") == VoteUse.COUNT
    voter.on_vote(
        sign_finality_vote(FinalityVote(0, 1, VOTE_STAGE_PREVOTE, h("B1"), 1), key, GENESIS_HASH), 0, network.tree
    )
    assert use(1, "C1") == VoteUse.SURPLUS  # an equivocator's third vote
    assert use(1 + MAX_ROUNDS_AHEAD) == VoteUse.BUFFER and use(2 + MAX_ROUNDS_AHEAD) == VoteUse.AHEAD
    network.run(3_000)
    assert voter.round_number >= 3 and use(1) == VoteUse.STALE


def test_a_commit_has_its_signatures_checked_once_however_often_it_comes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from consensus.grandpa import justification as justification_module
    from consensus.grandpa.errors import InsufficientWeight

    network = Network(4)
    grow(network, ["A1"], "G")
    precommits = tuple(
        sign_finality_vote(FinalityVote(0, 1, VOTE_STAGE_PRECOMMIT, h("A2"), 2), key, GENESIS_HASH)
        for key in network.keys[1:]
    )
    commit = Justification(0, 1, h("A1"), 1, precommits)
    checked = []
    verify = justification_module.verify_finality_vote
    monkeypatch.setattr(justification_module, "verify_finality_vote", lambda *a: checked.append(a) or verify(*a))
    voter = network.voters[0]
    for _ in range(5):  # A2, which every precommit names, is not in the tree yet
        with pytest.raises(InsufficientWeight):
            voter.on_commit(commit, 0, network.tree)
    grow(network, ["A2"], "A1")
    assert any(isinstance(action, Finalize) for action in voter.on_commit(commit, 0, network.tree))
    assert len(checked) == 3


def test_a_voter_two_rounds_behind_joins_the_round_after_a_peers_completed_one() -> None:
    network = Network(4)
    network.online = {0, 1, 2}  # voter 3 hears nothing while the others go on
    grow(network, ["A1", "A2"], "G")
    network.run(20 * T)
    lagging, ahead = network.voters[3], network.voters[0]
    assert lagging.round_number == 1 and ahead.round_number >= 3
    catch_up = ahead.get_catch_up()
    assert catch_up is not None and catch_up[0] == ahead.round_number - 1
    number, votes = catch_up
    assert lagging.on_catch_up(number, votes[:1], network.now, network.tree) == []  # not completable: no jump
    assert lagging.round_number == 1
    actions = lagging.on_catch_up(number, votes, network.now, network.tree)
    assert lagging.round_number == number + 1
    assert any(isinstance(action, Finalize) and action.number == 2 for action in actions)
    assert not any(isinstance(action, BroadcastVote) and action.signed_vote.vote.round <= number for action in actions)


def test_a_catch_up_with_a_vote_of_another_round_is_refused() -> None:
    from consensus.grandpa.errors import WrongRound

    network = Network(4)
    grow(network, ["A1"], "G")
    vote = sign_finality_vote(FinalityVote(0, 5, VOTE_STAGE_PREVOTE, h("A1"), 1), network.keys[1], GENESIS_HASH)
    with pytest.raises(WrongRound):
        network.voters[0].on_catch_up(4, (vote,), 0, network.tree)

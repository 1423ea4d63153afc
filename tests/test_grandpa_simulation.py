"""A seeded simulation: random delays for blocks and votes, each voter with its own tree, and one
Byzantine voter that equivocates in every stage of every round. Invariants: no two conflicting
finalized blocks, and finality keeps advancing (3 honest voters of 4 are enough)."""

from __future__ import annotations

import heapq
import random

import pytest

from consensus.grandpa.chain import BlockRef, DictBlockTree
from consensus.grandpa.errors import InvalidJustification
from consensus.grandpa.voter import BroadcastVote, Finalize, ReportVoteEquivocation, Voter
from consensus.grandpa.voter_set import VoterSet
from runtime.block import VOTE_STAGE_PRECOMMIT, VOTE_STAGE_PREVOTE, FinalityVote, sign_finality_vote
from runtime.primitives.keys import Keypair

GENESIS_HASH = bytes(range(32))
GENESIS = b"G".ljust(32, b"\0")
T = 100
STEP = 50
HONEST = 3


class Simulation:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.keys = [Keypair.from_seed(bytes([index + 1]) * 32) for index in range(HONEST + 1)]
        self.voter_set = VoterSet(0, tuple((key.public_key, 1) for key in self.keys))
        self.trees = [DictBlockTree(GENESIS) for _ in range(HONEST)]
        self.voters = [Voter(self.voter_set, (GENESIS, 0), key, GENESIS_HASH, T) for key in self.keys[:HONEST]]
        self.events: list = []
        self.sequence = 0
        self.now = 0
        self.import_ready = [0] * HONEST
        self.finalized: list[list[BlockRef]] = [[] for _ in range(HONEST)]
        self.reports: list[ReportVoteEquivocation] = []
        self.byzantine_signed: set[tuple[int, int]] = set()
        self.seen: set[tuple[int, BroadcastVote]] = set()
        self.numbers = {GENESIS: 0}
        self.parents: dict[bytes, bytes] = {}
        self.recent = [GENESIS, GENESIS]  # the two latest blocks: the equivocator's two targets

    def schedule(self, at: int, index: int, payload) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, self.sequence, index, payload))

    def produce_block(self) -> None:
        """Extend the best chain containing voter 0's finalized head; one time in three, fork below it."""
        finalized = self.voters[0].last_finalized[0]
        head = self.trees[0].best_chain_containing(finalized)
        assert head is not None
        parent = head[0]
        if self.rng.randrange(3) == 0 and parent != finalized:
            parent = self.parents[parent]
        name = f"B{len(self.numbers)}".encode().ljust(32, b"\0")
        self.numbers[name] = self.numbers[parent] + 1
        self.parents[name] = parent
        self.recent = [self.recent[1], name]
        for index in range(HONEST):  # parents arrive before children: import times never decrease
            self.import_ready[index] = max(self.import_ready[index], self.now + self.rng.randrange(0, 3 * T))
            self.schedule(self.import_ready[index], index, (name, parent))

    def send(self, origin: int, action) -> None:
        if isinstance(action, Finalize):
            self.finalized[origin].append((action.hash, action.number))
        elif isinstance(action, ReportVoteEquivocation):
            self.reports.append(action)
        else:
            for index in range(HONEST):
                if index != origin:
                    self.schedule(self.now + self.rng.randrange(1, 2 * T), index, action)

    def act_byzantine(self) -> None:
        for number in sorted({voter.round_number for voter in self.voters}):
            for stage in (VOTE_STAGE_PREVOTE, VOTE_STAGE_PRECOMMIT):
                if (number, stage) in self.byzantine_signed:
                    continue
                self.byzantine_signed.add((number, stage))
                for index, target in enumerate((self.recent[0], self.recent[1], self.recent[0])):
                    vote = FinalityVote(0, number, stage, target, self.numbers[target])
                    signed = sign_finality_vote(vote, self.keys[HONEST], GENESIS_HASH)
                    self.schedule(self.now + self.rng.randrange(1, 2 * T), index, BroadcastVote(signed))

    def deliver(self, index: int, payload) -> list:
        voter, tree = self.voters[index], self.trees[index]
        if isinstance(payload, tuple):
            tree.add_block(*payload)
            return voter.on_block_imported(self.now, tree)
        if isinstance(payload, BroadcastVote):
            if (index, payload) not in self.seen:  # gossip: relay what is new to us
                self.seen.add((index, payload))
                self.send(index, payload)
            return voter.on_vote(payload.signed_vote, self.now, tree)
        try:
            return voter.on_commit(payload.commit, self.now, tree)
        except InvalidJustification:  # its blocks have not arrived yet: gossip may drop it
            return []

    def run(self, duration_ms: int) -> None:
        end = self.now + duration_ms
        next_tick = self.now
        while self.now < end:
            if self.events and self.events[0][0] <= next_tick:
                self.now, _, index, payload = heapq.heappop(self.events)
                for action in self.deliver(index, payload):
                    self.send(index, action)
                continue
            self.now = next_tick
            next_tick += STEP
            if self.now % (3 * T) == 0:
                self.produce_block()
            if self.now % T == 0:
                self.act_byzantine()
            for index in range(HONEST):
                for action in self.voters[index].on_tick(self.now, self.trees[index]):
                    self.send(index, action)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_safety_and_progress_with_an_equivocator(seed: int) -> None:
    simulation = Simulation(seed)
    simulation.run(150 * T)
    finalized = sorted({block for blocks in simulation.finalized for block in blocks}, key=lambda block: block[1])
    tree = simulation.trees[0]
    for lower, higher in zip(finalized, finalized[1:]):
        assert lower[1] < higher[1], "two blocks finalized at one height"
        assert tree.ancestry(lower[0], higher[0]) is not None, "conflicting finalized blocks"
    assert all(blocks and blocks[-1][1] >= 25 for blocks in simulation.finalized)
    assert simulation.reports  # the equivocations were seen and reported
    assert {report.first.voter for report in simulation.reports} == {simulation.keys[HONEST].public_key}

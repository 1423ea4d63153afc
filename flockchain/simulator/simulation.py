"""One simulated run: N validators, each a real :class:`ConsensusEngine` over a real chain and
runtime on its own in-memory store, driven by a virtual clock through a seeded faulty network.
Every slot, tick and delivered message is an inbox event handed to ``ConsensusEngine.handle``,
exactly as the trio node's consensus task hands them.

The run is a discrete-event loop (a heap ordered by time, then insertion), so it is a pure
function of its seed and configuration: the same seed gives the same messages, blocks and final
state root. Invariants are checked as it goes and at the end:

* safety: no two honest nodes finalize different blocks at one height;
* liveness: after the last fault heals, finality advances within ``liveness_bound_slots``;
* identical state: finalized blocks are the same blocks (so the same state roots, which every
  node checked on import) and every honest node's final state passes the runtime's invariants;
* accountability: every equivocation that reached an honest node early enough is on chain as an
  offence of its kind against its author;
* verdicts: no honest node rejects a message an honest node sent (a reject costs the sender its
  peers' trust, so an honest one must never earn it).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from flockchain.chain.chain import Chain
from flockchain.db.memory import MemoryStore
from flockchain.node.engine import ConsensusEngine
from flockchain.node.inbox import ACCEPT, Event, PeerId, PeerMessage, Reject, SlotStarted, TimerTick, Verdict
from flockchain.node.messages import BlockAnnounce, Broadcast, Message, Outgoing, Reply, VoteMessage
from flockchain.simulator.genesis import SimGenesis, build_sim_genesis
from flockchain.simulator.network import FaultPlan, Network
from runtime import api
from runtime.block import (
    Block,
    FinalityVote,
    PreRuntimeDigest,
    SignedFinalityVote,
    decode_block,
    seal_header,
    sign_finality_vote,
)

TICK_MS = 100
# An equivocating author's second header for a slot carries one more pre-runtime digest, of an
# engine no node knows (so ignored, as Substrate ignores foreign digests): the same block but
# another header, sealed anew. The timestamp cannot differ: it is the slot's start.
EQUIVOCATION_DIGEST = PreRuntimeDigest(b"SIM2", b"second header")

HONEST = "honest"
SILENT = "silent"
EQUIVOCATE_BLOCKS = "equivocate-blocks"
EQUIVOCATE_VOTES = "equivocate-votes"
SPLIT_VOTES = "split-votes"  # echo each partition side's votes back to it: the ≥ 1/3 safety attack
BEHAVIOURS = (HONEST, SILENT, EQUIVOCATE_BLOCKS, EQUIVOCATE_VOTES, SPLIT_VOTES)


@dataclass(frozen=True)
class Multicast:
    """Send to some peers only (what Byzantine nodes do)."""

    peers: tuple[int, ...]
    message: Message


@dataclass(frozen=True)
class SimConfig:
    validators: int = 4
    slots: int = 60
    slot_ms: int = 1_000
    gossip_ms: int = 200  # GRANDPA's T
    faults: FaultPlan = FaultPlan()
    behaviours: tuple[tuple[int, str], ...] = ()  # (node, behaviour); the rest are honest
    liveness_bound_slots: int = 20
    epoch_length: int = 10
    era_length: int = 40

    def behaviour(self, node: int) -> str:
        return dict(self.behaviours).get(node, HONEST)


@dataclass
class SimReport:
    seed: int
    blocks: int = 0  # distinct blocks authored
    finalized_height: int = 0  # the lowest finalized height among honest live nodes
    finality_lags_ms: list[int] = field(default_factory=list)
    messages: int = 0
    offences: int = 0
    violations: list[str] = field(default_factory=list)
    final_state_root: bytes = b""
    # (time ms, lowest finalized height among honest live nodes), sampled every tick
    finality_timeline: list[tuple[int, int]] = field(default_factory=list)

    def finalized_height_at(self, time_ms: int) -> int:
        """The lowest honest finalized height at ``time_ms`` (its last sample at or before it)."""
        samples = [height for at, height in self.finality_timeline if at <= time_ms]
        return samples[-1] if samples else 0

    def lag_percentile(self, percent: int) -> int:
        lags = sorted(self.finality_lags_ms)
        if not lags:
            return 0
        return lags[min(len(lags) - 1, (len(lags) * percent) // 100)]

    def summary(self) -> str:
        status = "ok" if not self.violations else "VIOLATION: " + "; ".join(self.violations)
        return (
            f"seed {self.seed}: blocks {self.blocks}, finalized #{self.finalized_height}, "
            f"finality lag p50 {self.lag_percentile(50)} ms p99 {self.lag_percentile(99)} ms, "
            f"messages {self.messages}, offences {self.offences}, {status}"
            + ("" if not self.violations else f" (replay: flockchain simulate --seed {self.seed})")
        )


class SimEngine(ConsensusEngine):
    """An engine with a behaviour; honest ones behave exactly like the node's."""

    def __init__(self, index: int, sim: Simulation, behaviour: str, *args: Any, **kwargs: Any) -> None:
        self.index = index
        self.sim = sim
        self.behaviour = behaviour
        self._echoed: set[tuple[int, int, int, int]] = set()
        super().__init__(*args, **kwargs)

    def on_slot(self, slot: int) -> list[Outgoing]:
        if self.behaviour == SPLIT_VOTES:
            return []
        out = super().on_slot(slot)
        if self.behaviour != EQUIVOCATE_BLOCKS or not out or self.keypair is None:
            return out
        first = self.chain.blocks.get_block(self.chain.head_hash)
        assert first is not None and first.header.slot == slot
        header = replace(first.header, digests=(*first.header.digests, EQUIVOCATION_DIGEST))
        second = Block(seal_header(header, self.keypair, self.chain.genesis_hash), first.extrinsics)
        low, high = self.sim.split_peers(self.index)
        rest = [item for item in out if not (isinstance(item, Broadcast) and isinstance(item.message, BlockAnnounce))]
        return [Multicast(low, BlockAnnounce(first.encode())), Multicast(high, BlockAnnounce(second.encode())), *rest]

    def neighbour_messages(self) -> list[Outgoing]:
        return [] if self.behaviour in (SILENT, SPLIT_VOTES) else super().neighbour_messages()

    def vote_messages(self, vote: SignedFinalityVote) -> list[Outgoing]:
        if self.behaviour == SPLIT_VOTES:
            return []
        if self.behaviour != EQUIVOCATE_VOTES or self.keypair is None:
            return super().vote_messages(vote)
        target = self.chain.get_header(vote.vote.target_hash)
        if target is None or target.number == 0:
            return super().vote_messages(vote)
        other = FinalityVote(vote.vote.set_id, vote.vote.round, vote.vote.stage, target.parent_hash, target.number - 1)
        conflicting = sign_finality_vote(other, self.keypair, self.chain.genesis_hash)
        low, high = self.sim.split_peers(self.index)
        return [Multicast(low, VoteMessage(vote)), Multicast(high, VoteMessage(conflicting))]

    def on_peer_message(self, peer: PeerId, message: Message) -> tuple[Verdict, list[Outgoing]]:
        if self.behaviour == SPLIT_VOTES:
            return ACCEPT, self._split_vote(peer, message)
        return super().on_peer_message(peer, message)

    def _split_vote(self, peer: PeerId, message: Message) -> list[Outgoing]:
        """Import blocks but relay none; sign every honest vote's content back to the sender's
        side only, once per (side, set, round, stage)."""
        if isinstance(message, BlockAnnounce):
            super().on_peer_message(peer, message)
            return []
        if not isinstance(message, VoteMessage) or not isinstance(peer, int) or self.keypair is None:
            return []
        side = self.sim.side_of(peer, self.sim.now_ms)
        vote = message.vote.vote
        key = (side, vote.set_id, vote.round, vote.stage)
        if key in self._echoed:
            return []
        self._echoed.add(key)
        echo = sign_finality_vote(vote, self.keypair, self.chain.genesis_hash)
        return [Multicast(self.sim.peers_on_side(side, self.sim.now_ms), VoteMessage(echo))]


class Simulation:
    def __init__(self, seed: int, config: SimConfig, genesis: SimGenesis | None = None) -> None:
        self.seed = seed
        self.config = config
        self.genesis = genesis or build_sim_genesis(
            config.validators, config.epoch_length, config.era_length, config.slot_ms
        )
        self.rng = random.Random(seed)
        self.network = Network(self.rng, config.faults)
        self.report = SimReport(seed)
        self.stores = [MemoryStore() for _ in range(config.validators)]
        self.engines: list[SimEngine | None] = [self._open(i) for i in range(config.validators)]
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._sequence = 0
        self._finalized: dict[int, bytes] = {}  # height -> block hash, from every honest node
        self._authored: set[bytes] = set()
        self._seen_equivocations: list[tuple[int, int, bytes]] = []  # (at ms, kind, offender)

    # --- topology (for Byzantine behaviours) -----------------------------------------------

    def split_peers(self, node: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        peers = [i for i in range(self.config.validators) if i != node]
        half = len(peers) // 2
        return tuple(peers[:half]), tuple(peers[half:])

    def side_of(self, node: int, now_ms: int) -> int:
        for partition in self.config.faults.partitions:
            if partition.start_ms <= now_ms < partition.end_ms:
                for side, group in enumerate(partition.groups):
                    if node in group:
                        return side
        return -1

    def peers_on_side(self, side: int, now_ms: int) -> tuple[int, ...]:
        return tuple(i for i in range(self.config.validators) if self.side_of(i, now_ms) == side)

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> SimReport:
        config = self.config
        end_ms = config.slots * config.slot_ms
        for slot in range(1, config.slots + 1):
            self._at(slot * config.slot_ms, lambda slot=slot: self._on_slot(slot))
        for now in range(config.slot_ms, end_ms + 1, TICK_MS):
            self._at(now, lambda now=now: self._on_tick(now))
        for crash in config.faults.crashes:
            self._at(crash.at_ms, lambda node=crash.node: self._crash(node))
            self._at(crash.restart_ms, lambda node=crash.node: self._restart(node))
        healed = config.faults.healed_ms()
        while self._queue:
            at, _, action = heapq.heappop(self._queue)
            if at > end_ms:
                break
            self.now_ms = at
            action()
        self._final_checks(healed, end_ms)
        return self.report

    def _at(self, at_ms: int, action: Callable[[], None]) -> None:
        self._sequence += 1
        heapq.heappush(self._queue, (at_ms, self._sequence, action))

    def _on_slot(self, slot: int) -> None:
        for index, engine in enumerate(self.engines):
            if engine is not None:
                out = self._handle(index, engine, SlotStarted(slot))
                self._record_authored(out)
                self._send(index, out)

    def _on_tick(self, now: int) -> None:
        for index, engine in enumerate(self.engines):
            if engine is not None:
                self._send(index, self._handle(index, engine, TimerTick()))
                self._observe(index, engine)
        self.report.finality_timeline.append((now, self._honest_finalized_height()))

    def _deliver(self, dst: int, src: int, message: Message) -> None:
        engine = self.engines[dst]
        if engine is None:
            return
        self.network.delivered += 1
        self._send(dst, self._handle(dst, engine, PeerMessage(src, message)), reply_to=src)
        self._observe(dst, engine)

    def _handle(self, index: int, engine: SimEngine, event: Event) -> list[Outgoing]:
        """One event through the engine's inbox handler, and its verdicts checked."""
        outcome = engine.handle(event, self.now_ms)
        verdicts: list[tuple[PeerId, Verdict]] = [(held.peer, held.verdict) for held in outcome.resolved]
        if isinstance(event, PeerMessage) and outcome.verdict is not None:
            verdicts.append((event.peer, outcome.verdict))
        for peer, verdict in verdicts:
            self._check_verdict(index, engine, peer, verdict)
        return list(outcome.outgoing)

    def _send(self, src: int, out: list[Outgoing], reply_to: int | None = None) -> None:
        for item in out:
            if isinstance(item, Broadcast):
                targets: tuple[int, ...] = tuple(i for i in range(self.config.validators) if i != src)
                messages: tuple[Message, ...] = (item.message,)
            elif isinstance(item, Multicast):
                targets, messages = item.peers, (item.message,)
            elif isinstance(item, Reply):
                if reply_to is None:
                    continue
                targets, messages = (reply_to,), item.messages
            else:
                raise TypeError(f"unknown outgoing {item!r}")
            for dst in targets:
                for message in messages:
                    for at in self.network.delivery_times(src, dst, self.now_ms):
                        self._at(at, lambda dst=dst, message=message: self._deliver(dst, src, message))

    # --- crashes ---------------------------------------------------------------------------

    def _open(self, index: int) -> SimEngine:
        genesis = self.genesis
        chain = Chain(self.stores[index], genesis.runtime, genesis.header, genesis.state)
        return SimEngine(
            index,
            self,
            self.config.behaviour(index),
            chain,
            genesis.keypairs[index],
            gossip_duration_ms=self.config.gossip_ms,
        )

    def _crash(self, node: int) -> None:
        self.engines[node] = None

    def _restart(self, node: int) -> None:
        engine = self._open(node)
        self._handle(node, engine, TimerTick())
        self.engines[node] = engine

    # --- invariants ------------------------------------------------------------------------

    def _record_authored(self, out: list[Outgoing]) -> None:
        for item in out:
            if isinstance(item, Broadcast | Multicast) and isinstance(item.message, BlockAnnounce):
                self._authored.add(decode_block(item.message.data).hash)

    def _observe(self, index: int, engine: SimEngine) -> None:
        """Check safety against what this node has finalized so far."""
        if engine.behaviour != HONEST:
            return
        for kind, offender in engine.equivocations_seen:
            self._seen_equivocations.append((self.now_ms, kind, offender))
        engine.equivocations_seen.clear()
        chain = engine.chain
        header = chain.finalized_header
        cursor_hash = chain.finalized_hash
        while header.number > 0:
            known = self._finalized.get(header.number)
            if known == cursor_hash:
                break
            if known is not None:
                self._violation(
                    f"safety: node {index} finalized {cursor_hash.hex()[:12]} at #{header.number}, "
                    f"another honest node {known.hex()[:12]}"
                )
                break
            self._finalized[header.number] = cursor_hash
            self.report.finality_lags_ms.append(self.now_ms - header.slot * self.config.slot_ms)
            cursor_hash = header.parent_hash
            parent = chain.get_header(cursor_hash)
            if parent is None:
                break
            header = parent

    def _check_verdict(self, index: int, engine: SimEngine, peer: PeerId, verdict: Verdict) -> None:
        """An honest node never rejects what an honest node sent."""
        if isinstance(verdict, Reject) and engine.behaviour == HONEST and self.config.behaviour(peer) == HONEST:
            self._violation(
                f"verdict: node {index} rejected honest node {peer}'s message: {verdict.rule}: {verdict.message}"
            )

    def _violation(self, text: str) -> None:
        if text not in self.report.violations:
            self.report.violations.append(text)

    def _honest_finalized_height(self) -> int:
        heights = [
            engine.chain.finalized_header.number
            for engine in self.engines
            if engine is not None and engine.behaviour == HONEST
        ]
        return min(heights, default=0)

    def _final_checks(self, healed: int, end_ms: int) -> None:
        config, report = self.config, self.report
        honest = [e for e in self.engines if e is not None and e.behaviour == HONEST]
        report.blocks = len(self._authored)
        report.finalized_height = self._honest_finalized_height()
        report.messages = self.network.sent
        bound_ms = config.liveness_bound_slots * config.slot_ms
        if healed + bound_ms <= end_ms:
            # Liveness: once healed, finality keeps within the bound of the clock.
            lagging = [e for e in honest if (e.chain.finalized_header.slot * config.slot_ms) < end_ms - bound_ms]
            for engine in lagging:
                finalized = engine.chain.finalized_header
                self._violation(
                    f"liveness: node {engine.index} finalized only up to slot {finalized.slot} (#{finalized.number}) "
                    f"by slot {end_ms // config.slot_ms}, more than {config.liveness_bound_slots} slots behind "
                    f"after the network healed at slot {healed // config.slot_ms}"
                )
        best = max(honest, key=lambda e: e.chain.head.number, default=None)
        if best is None:
            return
        state = best.chain.best_state()
        report.final_state_root = best.chain.head.state_root
        recorded = {(offence.kind, offence.offender) for offence in api.get_recorded_offences(state)}
        report.offences = len(recorded)
        for engine in honest:
            for problem in engine.chain.runtime.try_state(engine.chain.best_state()):
                self._violation(f"runtime invariant on node {engine.index}: {problem}")
        deadline = end_ms - bound_ms
        for at, kind, offender in self._seen_equivocations:
            if at <= deadline and (kind, offender) not in recorded:
                self._violation(f"equivocation of kind {kind} by {offender.hex()[:12]} seen at {at} ms is not on chain")


def run_simulation(seed: int, config: SimConfig, genesis: SimGenesis | None = None) -> SimReport:
    return Simulation(seed, config, genesis).run()

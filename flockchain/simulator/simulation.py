"""One simulated run: N validators, each a real :class:`ConsensusEngine` over a real chain and
runtime on its own in-memory store, driven by a virtual clock through a seeded faulty network.
Every slot, tick and delivered message is an inbox event handed to ``ConsensusEngine.handle``,
exactly as the trio node's consensus task hands them.

Validators may be Byzantine (``BYZANTINE_BEHAVIOURS``), alone or as a coalition. A
``double-sign`` validator runs two honest engines with its one key, each its own network node
(nodes ``n``, ``n + 1``, ... after the ``n`` validators' own), so that a partition between them
makes it sign both sides' blocks and votes.

The run is a discrete-event loop (a heap ordered by time, then insertion), so it is a pure
function of its seed and configuration: the same seed gives the same messages, blocks and final
state root. Invariants are checked as it goes and at the end:

* safety: no two honest nodes finalize different blocks at one height;
* clock: no honest node's head is from a slot that has not started;
* liveness: after the last partition or crash heals, every honest node's finalized chain grows
  (by a quarter of the slots left) and takes in a block an honest validator authored after it;
* identical state: finalized blocks are the same blocks (so the same state roots, which every
  node checked on import) and every honest node's final state passes the runtime's invariants;
* accountability: no honest validator is ever reported for equivocation, and every equivocation
  an honest node saw (on any fork) is on the final chain as an offence of its kind against its
  author, unless the runtime's era rule made that impossible (its era ended before it could);
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
from flockchain.node.inbox import (
    ACCEPT,
    Event,
    Ignore,
    IgnoreReason,
    PeerId,
    PeerMessage,
    Reject,
    SlotStarted,
    TimerTick,
    Verdict,
)
from flockchain.node.messages import (
    BlockAnnounce,
    BlockRequest,
    Broadcast,
    EquivocationMessage,
    Message,
    Outgoing,
    Reply,
    VoteMessage,
)
from flockchain.simulator.genesis import SimGenesis, build_sim_genesis
from flockchain.simulator.network import FaultPlan, Network
from runtime import api
from runtime.block import (
    VOTE_STAGE_PRECOMMIT,
    VOTE_STAGE_PREVOTE,
    Block,
    FinalityVote,
    Header,
    PreRuntimeDigest,
    SignedFinalityVote,
    decode_block,
    seal_header,
    sign_finality_vote,
)
from runtime.primitives.hashing import blake2b_256

TICK_MS = 100
# An equivocating author's second header for a slot carries one more pre-runtime digest, of an
# engine no node knows (so ignored, as Substrate ignores foreign digests): the same block but
# another header, sealed anew. The timestamp cannot differ: it is the slot's start.
EQUIVOCATION_DIGEST = PreRuntimeDigest(b"SIM2", b"second header")
FAR_FUTURE_SLOTS = 1_000  # a future-slots author also claims a slot at least this far ahead
WITHHELD_SLOTS = 4  # a withholding author publishes its blocks this many slots late
FLOOD_VOTES = 12  # junk votes a flooding validator signs per slot (each to every peer)
FLOOD_REQUESTS = 40  # block requests it sends every peer per slot (more than a peer answers)
REPORT_GRACE_MS = 5_000  # evidence seen this close to its era's end may miss it

HONEST = "honest"
SILENT = "silent"  # no blocks, no votes, no messages at all
EQUIVOCATE_BLOCKS = "equivocate-blocks"  # two headers per won slot, one to each half of the peers
EQUIVOCATE_VOTES = "equivocate-votes"  # a second vote, for the target's parent, to half the peers
SPLIT_VOTES = "split-votes"  # echo each partition side's votes back to it: the >= 1/3 safety attack
DOUBLE_SIGN = "double-sign"  # two honest engines with one key, one on each side of a partition
FUTURE_SLOTS = "future-slots"  # blocks for slots that have not started, slightly and far ahead
FLOOD = "flood"  # junk votes (far rounds, random blocks) and block requests, every slot
WITHHOLD_BLOCKS = "withhold-blocks"  # publishes its blocks late, answers no request for them
BYZANTINE_BEHAVIOURS = (
    SILENT,
    EQUIVOCATE_BLOCKS,
    EQUIVOCATE_VOTES,
    SPLIT_VOTES,
    DOUBLE_SIGN,
    FUTURE_SLOTS,
    FLOOD,
    WITHHOLD_BLOCKS,
)
BEHAVIOURS = (HONEST, *BYZANTINE_BEHAVIOURS)


@dataclass(frozen=True)
class Multicast:
    """Send to some peers only (what Byzantine nodes do)."""

    peers: tuple[int, ...]
    message: Message


@dataclass(frozen=True)
class SimConfig:
    validators: int = 4
    stakes: tuple[int, ...] = ()  # each validator's bond in FLOCK (default: equal)
    key_seed: int = 0  # the validators' keys come from it
    slots: int = 60
    slot_ms: int = 1_000
    gossip_ms: int = 200  # GRANDPA's T
    faults: FaultPlan = FaultPlan()
    behaviours: tuple[tuple[int, str], ...] = ()  # (validator, behaviour); the rest are honest
    liveness_bound_slots: int = 20
    epoch_length: int = 10
    era_length: int = 40

    def behaviour(self, validator: int) -> str:
        return dict(self.behaviours).get(validator, HONEST)

    def node_validators(self) -> tuple[int, ...]:
        """The validator each network node runs: one node per validator, then one more for each
        double-sign validator (its second engine)."""
        clones = tuple(validator for validator, behaviour in sorted(self.behaviours) if behaviour == DOUBLE_SIGN)
        return (*range(self.validators), *clones)

    def second_node(self, validator: int) -> int:
        """The node of a double-sign validator's second engine."""
        return self.node_validators().index(validator, self.validators)

    def genesis(self) -> SimGenesis:
        return build_sim_genesis(
            self.validators,
            self.epoch_length,
            self.era_length,
            self.slot_ms,
            stakes=self.stakes,
            key_seed=self.key_seed,
        )


@dataclass
class SimReport:
    seed: int
    blocks: int = 0  # distinct blocks authored
    finalized_height: int = 0  # the lowest finalized height among honest live nodes
    finality_lags_ms: list[int] = field(default_factory=list)
    messages: int = 0
    offences: int = 0  # offences of any kind on the final chain
    equivocators_seen: int = 0  # distinct (kind, offender) that honest nodes reported
    equivocators_landed: int = 0  # of those, on the final chain
    equivocators_exempt: int = 0  # of those, out of the runtime's reach (their era ended first)
    set_id: int = 0  # the authority set at the end
    safety_alarms: int = 0  # conflicting justifications honest nodes' engines caught
    rejects: dict[str, int] = field(default_factory=dict)  # honest nodes' rejections, by rule broken
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

    @property
    def safety_violated(self) -> bool:
        return any(violation.startswith("safety:") for violation in self.violations)

    def summary(self) -> str:
        status = "ok" if not self.violations else "VIOLATION: " + "; ".join(self.violations)
        return (
            f"seed {self.seed}: blocks {self.blocks}, finalized #{self.finalized_height}, set {self.set_id}, "
            f"finality lag p50 {self.lag_percentile(50)} ms p99 {self.lag_percentile(99)} ms, "
            f"messages {self.messages}, offences {self.offences} (equivocators seen {self.equivocators_seen}, "
            f"landed {self.equivocators_landed}, exempt {self.equivocators_exempt}), alarms {self.safety_alarms}, "
            f"{status}" + ("" if not self.violations else f" (replay: flockchain simulate --seed {self.seed})")
        )


class SimEngine(ConsensusEngine):
    """An engine with a behaviour; honest ones (and double-sign engines) behave exactly like the node's."""

    def __init__(self, node: int, sim: Simulation, behaviour: str, *args: Any, **kwargs: Any) -> None:
        self.index = node
        self.sim = sim
        self.behaviour = behaviour
        self._echoed: set[tuple[int, int, int, int]] = set()
        self._withheld: list[tuple[int, BlockAnnounce]] = []  # (slot to publish at, block)
        super().__init__(*args, **kwargs)

    @property
    def is_honest(self) -> bool:
        return self.behaviour == HONEST

    def on_slot(self, slot: int) -> list[Outgoing]:
        if self.behaviour in (SILENT, SPLIT_VOTES):
            return []
        out = super().on_slot(slot)
        if self.behaviour == EQUIVOCATE_BLOCKS:
            return self._equivocate(slot, out)
        if self.behaviour == FUTURE_SLOTS:
            return out + self._future_blocks(slot)
        if self.behaviour == FLOOD:
            return out + self._flood(slot)
        if self.behaviour == WITHHOLD_BLOCKS:
            return self._withhold(slot, out)
        return out

    def neighbour_messages(self) -> list[Outgoing]:
        if self.behaviour in (SILENT, SPLIT_VOTES):
            return []
        withheld = {announce for _, announce in self._withheld}
        return [item for item in super().neighbour_messages() if item.message not in withheld]

    def vote_messages(self, vote: SignedFinalityVote) -> list[Outgoing]:
        if self.behaviour in (SILENT, SPLIT_VOTES):
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
        if isinstance(message, BlockRequest) and any(
            decode_block(announce.data).hash == message.block_hash for _, announce in self._withheld
        ):
            return Ignore(IgnoreReason.NOT_FOUND), []
        return super().on_peer_message(peer, message)

    # --- Byzantine behaviours ----------------------------------------------------------------

    def _equivocate(self, slot: int, out: list[Outgoing]) -> list[Outgoing]:
        """Our block to half the peers, a second header for the slot to the other half."""
        if not out or self.keypair is None:
            return out
        first = self.chain.blocks.get_block(self.chain.head_hash)
        assert first is not None and first.header.slot == slot
        header = replace(first.header, digests=(*first.header.digests, EQUIVOCATION_DIGEST))
        second = Block(seal_header(header, self.keypair, self.chain.genesis_hash), first.extrinsics)
        low, high = self.sim.split_peers(self.index)
        rest = [item for item in out if not (isinstance(item, Broadcast) and isinstance(item.message, BlockAnnounce))]
        return [Multicast(low, BlockAnnounce(first.encode())), Multicast(high, BlockAnnounce(second.encode())), *rest]

    def _future_blocks(self, slot: int) -> list[Outgoing]:
        """A block for the next slot we win within two, sent now (peers hold it until its slot),
        and one for a slot far ahead (peers must refuse it, or honest authors would wait for it)."""
        assert self.keypair is not None
        out: list[Outgoing] = []
        for ahead in (slot + 1, slot + 2, *range(slot + FAR_FUTURE_SLOTS, slot + FAR_FUTURE_SLOTS + 64)):
            claim = self.chain.claim_slot(self.keypair, ahead)
            if claim is None:
                continue
            block = self.chain.author_block(self.keypair, claim, ()).block
            out.append(Broadcast(BlockAnnounce(block.encode())))
            if ahead > slot + 2:
                break
        return out

    def _flood(self, slot: int) -> list[Outgoing]:
        """Votes the voter must not keep or relay (rounds far ahead, stale, random blocks in the
        buffered rounds), and more block requests than a peer answers."""
        assert self.keypair is not None
        voter = self.voter
        out: list[Outgoing] = []
        for index in range(FLOOD_VOTES):
            junk = blake2b_256(b"flood %d %d %d" % (self.index, slot, index))
            round_ = (voter.round_number + 10 + index, voter.round_number + 1 + index % 4, 1)[index % 3]
            stage = (VOTE_STAGE_PREVOTE, VOTE_STAGE_PRECOMMIT)[index % 2]
            vote = FinalityVote(voter.voter_set.set_id, round_, stage, junk, self.chain.head.number + 1)
            out.append(Broadcast(VoteMessage(sign_finality_vote(vote, self.keypair, self.chain.genesis_hash))))
        first_block = self.chain.blocks.get_canonical_hash(1)
        for index in range(FLOOD_REQUESTS):
            asked = first_block if index % 10 == 0 and first_block is not None else blake2b_256(b"%d" % index)
            out.append(Broadcast(BlockRequest(asked)))
        return out

    def _withhold(self, slot: int, out: list[Outgoing]) -> list[Outgoing]:
        """Keep our blocks back, and publish those whose time came."""
        kept: list[Outgoing] = []
        for item in out:
            if isinstance(item, Broadcast) and isinstance(item.message, BlockAnnounce):
                self._withheld.append((slot + WITHHELD_SLOTS, item.message))
            else:
                kept.append(item)
        due = [announce for at, announce in self._withheld if at <= slot]
        self._withheld = [(at, announce) for at, announce in self._withheld if at > slot]
        return kept + [Broadcast(announce) for announce in due]

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


@dataclass(frozen=True)
class _Seen:
    """An equivocation an honest node reported."""

    at_ms: int
    kind: int
    offender: bytes
    numbers: tuple[int, ...]  # the block numbers the runtime dates the evidence by


class Simulation:
    def __init__(self, seed: int, config: SimConfig, genesis: SimGenesis | None = None) -> None:
        self.seed = seed
        self.config = config
        self.genesis = genesis or config.genesis()
        self.node_validators = config.node_validators()
        self.rng = random.Random(seed)
        self.network = Network(self.rng, config.faults)
        self.report = SimReport(seed)
        self.now_ms = 0
        self.stores = [MemoryStore() for _ in self.node_validators]
        self.engines: list[SimEngine | None] = [self._open(node) for node in range(len(self.node_validators))]
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._sequence = 0
        self._finalized: dict[int, bytes] = {}  # height -> block hash, from every honest node
        self._authored: set[bytes] = set()
        self._seen_equivocations: list[_Seen] = []
        honest = [i for i in range(config.validators) if config.behaviour(i) == HONEST]
        self._honest_keys = {self.genesis.keypairs[i].public_key for i in honest}

    # --- topology (for Byzantine behaviours) -----------------------------------------------

    def behaviour_of(self, node: int) -> str:
        return self.config.behaviour(self.node_validators[node])

    def split_peers(self, node: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        peers = [i for i in range(len(self.node_validators)) if i != node]
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
        return tuple(i for i in range(len(self.node_validators)) if self.side_of(i, now_ms) == side)

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
        while self._queue:
            at, _, action = heapq.heappop(self._queue)
            if at > end_ms:
                break
            self.now_ms = at
            action()
        self._final_checks(end_ms)
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
        if self.behaviour_of(src) == SILENT:
            return
        for item in out:
            if isinstance(item, Broadcast):
                targets: tuple[int, ...] = tuple(i for i in range(len(self.node_validators)) if i != src)
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

    def _open(self, node: int) -> SimEngine:
        genesis = self.genesis
        validator = self.node_validators[node]
        chain = Chain(self.stores[node], genesis.runtime, genesis.header, genesis.state)
        return SimEngine(
            node,
            self,
            self.config.behaviour(validator),
            chain,
            genesis.keypairs[validator],
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
        """Check safety and the clock against what this honest node holds now; collect the
        equivocations it reported. Every tick is often enough: finality is never undone, and no
        import can make a head's slot run ahead of the clock even for a moment."""
        if not engine.is_honest:
            return
        for evidence in engine.equivocations_seen:
            self._seen_equivocations.append(_get_seen(self.now_ms, evidence))
        engine.equivocations_seen.clear()
        chain = engine.chain
        if chain.head.slot * self.config.slot_ms > self.now_ms:
            self._violation(f"clock: node {index}'s head is from slot {chain.head.slot}, which has not started")
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
        if not isinstance(verdict, Reject) or not engine.is_honest:
            return
        self.report.rejects[verdict.rule] = self.report.rejects.get(verdict.rule, 0) + 1
        if isinstance(peer, int) and self.is_honest_node(peer):
            self._violation(
                f"verdict: node {index} rejected honest node {peer}'s message: {verdict.rule}: {verdict.message}"
            )

    def is_honest_node(self, node: int) -> bool:
        return self.behaviour_of(node) == HONEST

    def _violation(self, text: str) -> None:
        if text not in self.report.violations:
            self.report.violations.append(text)

    def _honest_engines(self) -> list[SimEngine]:
        return [engine for engine in self.engines if engine is not None and engine.is_honest]

    def _honest_finalized_height(self) -> int:
        return min((engine.chain.finalized_header.number for engine in self._honest_engines()), default=0)

    def _final_checks(self, end_ms: int) -> None:
        report, honest = self.report, self._honest_engines()
        report.blocks = len(self._authored)
        report.finalized_height = self._honest_finalized_height()
        report.messages = self.network.sent
        report.safety_alarms = sum(engine.conflicting_justifications for engine in honest)
        self._check_liveness(honest, end_ms)
        best = max(honest, key=lambda e: e.chain.finalized_header.number, default=None)
        if best is None:
            return
        report.final_state_root = best.chain.head.state_root
        final_state = best.chain.state_at(best.chain.finalized_hash)
        report.set_id = api.get_finality_set_id(final_state)
        recorded = api.get_recorded_offences(final_state)
        report.offences = len(recorded)
        for engine in honest:
            for problem in engine.chain.runtime.try_state(engine.chain.best_state()):
                self._violation(f"runtime invariant on node {engine.index}: {problem}")
        self._check_no_honest_offender(honest)
        self._check_evidence_landed(best, {(offence.kind, offence.offender) for offence in recorded}, end_ms)

    def _check_liveness(self, honest: list[SimEngine], end_ms: int) -> None:
        """Once the last fault heals: each honest node's finalized chain grows by a quarter of the
        slots left, and holds a block an honest validator authored after the heal."""
        config = self.config
        healed = config.faults.healed_ms()
        if healed + config.liveness_bound_slots * config.slot_ms > end_ms:
            return
        start = self.report.finalized_height_at(healed)
        required = (end_ms - healed) // config.slot_ms // 4
        healed_slot = healed // config.slot_ms
        for engine in honest:
            finalized = engine.chain.finalized_header
            if finalized.number - start < required:
                self._violation(
                    f"liveness: node {engine.index} finalized #{finalized.number} by slot {end_ms // config.slot_ms}, "
                    f"less than {required} blocks above #{start}, where honest finality stood when faults "
                    f"healed at slot {healed_slot}"
                )
            elif not self._has_honest_block_after(engine, healed_slot):
                self._violation(
                    f"liveness: node {engine.index} finalized no block an honest validator authored after slot "
                    f"{healed_slot}"
                )

    def _has_honest_block_after(self, engine: SimEngine, slot: int) -> bool:
        header: Header | None = engine.chain.finalized_header
        while header is not None and header.slot > slot:
            if header.author in self._honest_keys:
                return True
            header = engine.chain.get_header(header.parent_hash)
        return False

    def _check_no_honest_offender(self, honest: list[SimEngine]) -> None:
        """No honest validator is reported for equivocation, on any honest node's best chain, nor
        seen equivocating by any honest node."""
        for engine in honest:
            for offence in api.get_recorded_offences(engine.chain.best_state()):
                if offence.kind != api.OFFENCE_UNRESPONSIVENESS and offence.offender in self._honest_keys:
                    self._violation(
                        f"accountability: honest validator {offence.offender.hex()[:12]} reported for an offence "
                        f"of kind {offence.kind} on node {engine.index}'s chain"
                    )
        for seen in self._seen_equivocations:
            if seen.offender in self._honest_keys:
                self._violation(f"accountability: honest validator {seen.offender.hex()[:12]} seen equivocating")

    def _check_evidence_landed(self, best: SimEngine, recorded: set[tuple[int, bytes]], end_ms: int) -> None:
        """Every equivocation an honest node saw early enough is on the final chain, unless the
        runtime's era rule left it no block to land in."""
        report, config = self.report, self.config
        deadline = end_ms - config.liveness_bound_slots * config.slot_ms
        seen: dict[tuple[int, bytes], list[_Seen]] = {}
        for equivocation in self._seen_equivocations:
            seen.setdefault((equivocation.kind, equivocation.offender), []).append(equivocation)
        report.equivocators_seen = len(seen)
        for key, sightings in seen.items():
            if key in recorded:
                report.equivocators_landed += 1
                continue
            due = [sighting for sighting in sightings if sighting.at_ms <= deadline]
            if not due:
                continue
            if all(self._is_out_of_era(best, sighting) for sighting in due):
                report.equivocators_exempt += 1
                continue
            kind, offender = key
            self._violation(
                f"accountability: equivocation of kind {kind} by {offender.hex()[:12]} seen at {due[0].at_ms} ms "
                "is not on chain"
            )

    def _is_out_of_era(self, best: SimEngine, sighting: _Seen) -> bool:
        """Whether the runtime could not take this evidence: its blocks lie in two eras, or its
        era ended on the final chain before an author could carry it (within the grace after it
        was seen, or after the partition it was seen in healed)."""
        era_length = self.config.era_length
        eras = {(number - 1) // era_length for number in sighting.numbers if number > 0}
        if len(eras) != 1:
            return len(eras) > 1
        era_end = (eras.pop() + 1) * era_length
        era_end_hash = best.chain.blocks.get_canonical_hash(era_end)
        if era_end > best.chain.finalized_header.number or era_end_hash is None:
            return False
        era_end_header = best.chain.get_header(era_end_hash)
        assert era_end_header is not None
        available = max([sighting.at_ms] + self._partition_ends(sighting.at_ms))
        return era_end_header.slot * self.config.slot_ms < available + REPORT_GRACE_MS

    def _partition_ends(self, at_ms: int) -> list[int]:
        return [p.end_ms for p in self.config.faults.partitions if p.start_ms <= at_ms < p.end_ms]


def _get_seen(at_ms: int, evidence: EquivocationMessage) -> _Seen:
    first, second = evidence.first, evidence.second
    if isinstance(first, Header) and isinstance(second, Header):
        return _Seen(at_ms, api.OFFENCE_BLOCK_EQUIVOCATION, first.author, (first.number, second.number))
    assert isinstance(first, SignedFinalityVote) and isinstance(second, SignedFinalityVote)
    numbers = (first.vote.target_number, second.vote.target_number)
    return _Seen(at_ms, api.OFFENCE_VOTE_EQUIVOCATION, first.voter, numbers)


def run_simulation(seed: int, config: SimConfig, genesis: SimGenesis | None = None) -> SimReport:
    return Simulation(seed, config, genesis).run()

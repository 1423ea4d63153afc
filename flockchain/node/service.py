"""The node service: one consensus task that owns the chain, fed through one bounded inbox by the
slot clock, a timer and the RPC server, all under one trio nursery.

After each event, the consensus task publishes what changed (blocks imported, the new best and
finalized blocks, the statuses of watched transactions) on the node's notification hub for RPC
subscribers (``flockchain.node.notifications``), and updates the node's metrics.

The consensus task is the only task that writes the chain database: it takes one event at a time
from the inbox (a bounded ``trio`` memory channel: producers ``await send``, so a busy engine
slows them down instead of queueing without bound) and hands it, with the clock's time, to the
sans-I/O :class:`~flockchain.node.engine.ConsensusEngine`. Slots last the runtime's slot duration,
counted from the Unix epoch, and a block's timestamp is its slot's start, so every node agrees on
it. RPC reads the chain and the pool directly; a submitted transaction goes through the inbox
and the RPC call waits for the pool's answer. The clock is injected: tests drive it with trio's
``MockClock``, the node uses the system clock. Until the libp2p network lands, messages for
peers are dropped: a single validator finalizes alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import trio

from consensus.grandpa.round import Round, StageVotes
from consensus.grandpa.voter import Voter
from flockchain.chain.chain import Chain
from flockchain.errors import UnknownVersion
from flockchain.keystore import KeystoreError, SessionKeystore
from flockchain.metrics import NodeMetrics
from flockchain.node.engine import MAX_DRIFT_MS, ConsensusEngine
from flockchain.node.inbox import Accept, Event, Outcome, PeerMessage, SlotStarted, SubmitTransaction, TimerTick
from flockchain.node.messages import BlockAnnounce, Broadcast
from flockchain.node.notifications import (
    NO_MOVES,
    BlockFinalized,
    BlockImported,
    ChainFollower,
    EventFeed,
    NewBestBlock,
    NodeEvent,
    NotificationHub,
    TransactionTracker,
)
from flockchain.rpc.api import FinalityRounds, PeerInfo, RoundState, SyncState, VoteTally
from flockchain.rpc.options import DEFAULT_OPTIONS, RpcOptions
from flockchain.rpc.server import DEFAULT_LIMITS, RpcLimits, serve_rpc
from flockchain.state.reader import ProvableTreeState
from runtime.block import Block, Header
from runtime.errors import InvalidTransaction
from runtime.primitives.keys import Keypair

log = logging.getLogger("flockchain.node")

TICK_MS = 100  # how often the finality voter's timers and the held blocks are checked
INBOX_CAPACITY = 64


class Clock(Protocol):
    def now_ms(self) -> int:
        """Wall-clock time in milliseconds since the Unix epoch."""

    async def sleep_until_ms(self, deadline_ms: int) -> None:
        """Return once ``now_ms() >= deadline_ms``."""


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep_until_ms(self, deadline_ms: int) -> None:
        delay = deadline_ms - self.now_ms()
        if delay > 0:
            await trio.sleep(delay / 1000)


@dataclass(frozen=True)
class NodeConfig:
    chain_name: str
    properties: dict
    rpc_port: int = 9944
    rpc_host: str = "127.0.0.1"
    max_drift_ms: int = MAX_DRIFT_MS  # how far ahead of our clock a block may be and still be held
    chain_type: str = "Development"
    rpc_limits: RpcLimits = DEFAULT_LIMITS
    rpc_options: RpcOptions = DEFAULT_OPTIONS
    keystore: SessionKeystore | None = field(default=None, compare=False)  # None: author_rotateKeys refuses


def compute_gossip_duration_ms(slot_duration_ms: int) -> int:
    """GRANDPA's T: a quarter slot (rounds then take about a slot on a healthy network)."""
    return max(1, slot_duration_ms // 4)


@dataclass(frozen=True)
class _Envelope:
    event: Event
    reply: trio.MemorySendChannel[Outcome] | None = None  # where the outcome goes (a submission's caller)


class Node:
    def __init__(self, config: NodeConfig, chain: Chain, author: Keypair | None, clock: Clock) -> None:
        self.config = config
        self.chain = chain
        self.clock = clock
        self.slot_duration_ms = chain.get_slot_duration_ms(chain.head_hash)
        self.engine = ConsensusEngine(
            chain,
            author,
            gossip_duration_ms=compute_gossip_duration_ms(self.slot_duration_ms),
            max_drift_ms=config.max_drift_ms,
        )
        self._inbox, self._inbox_receiver = trio.open_memory_channel[_Envelope](INBOX_CAPACITY)
        self.starting_block = chain.head.number
        self.metrics = NodeMetrics()
        self.hub = NotificationHub()
        self._follower = ChainFollower(chain)
        self._tracker = TransactionTracker(self.hub)
        self.engine.pool.set_listener(self._tracker)
        self._update_metrics()

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve RPC, author and finalize blocks until cancelled; reports the RPC port when ready."""
        config = self.config
        serve = partial(serve_rpc, limits=config.rpc_limits, options=config.rpc_options, metrics=self.metrics)
        async with trio.open_nursery() as nursery:
            await nursery.start(self._consensus_task)
            port = await nursery.start(serve, NodeRpcApi(self), config.rpc_host, config.rpc_port)
            host = f"[{config.rpc_host}]" if ":" in config.rpc_host else config.rpc_host
            log.info("RPC listening on http://%s:%d and ws://%s:%d", host, port, host, port)
            nursery.start_soon(self._slot_loop)
            nursery.start_soon(self._timer_loop)
            task_status.started(port)

    async def submit_transaction(self, encoded: bytes) -> bytes:
        """Hand a transaction to the consensus task and wait for the pool's answer: its hash, or
        the :class:`InvalidTransaction` that says why it was refused."""
        reply, replies = trio.open_memory_channel[Outcome](1)
        await self._inbox.send(_Envelope(SubmitTransaction(encoded), reply))
        answer = (await replies.receive()).answer
        if isinstance(answer, InvalidTransaction):
            raise answer
        assert answer is not None
        return answer

    async def _consensus_task(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The one task that writes the chain database: the inbox's events, one at a time."""
        task_status.started()
        async for envelope in self._inbox_receiver:
            started = time.perf_counter()
            outcome = self.engine.handle(envelope.event, self.clock.now_ms())
            self._observe_blocks(envelope.event, outcome, time.perf_counter() - started)
            self._publish(outcome)
            self._update_metrics()
            if envelope.reply is not None:
                envelope.reply.send_nowait(outcome)

    def _publish(self, outcome: Outcome) -> None:
        """Tell subscribers how the chain moved and what became of watched transactions."""
        moves = self._follower.follow(self.chain) if self._may_have_moved(outcome) else NO_MOVES
        events: list[NodeEvent] = [BlockImported(block_hash, header) for block_hash, header in moves.imported]
        if moves.best is not None:
            events.append(NewBestBlock(*moves.best))
        events += self._tracker.compute_statuses(self.chain, moves)
        events += [BlockFinalized(block_hash, header) for block_hash, header in moves.finalized]
        self.hub.publish(events)

    def _may_have_moved(self, outcome: Outcome) -> bool:
        """Whether the block tree may have changed: a block was imported (every import is
        announced), or the best or finalized block moved."""
        return self._follower.is_behind(self.chain) or any(is_block_announce(out) for out in outcome.outgoing)

    def _observe_blocks(self, event: Event, outcome: Outcome, elapsed_s: float) -> None:
        """Count a block we authored, and time it or a peer's block we imported."""
        announced = any(is_block_announce(out) for out in outcome.outgoing)
        if isinstance(event, SlotStarted) and announced:
            self.metrics.blocks_authored.inc()
            self.metrics.block_import_time.labels(origin="authored").observe(elapsed_s)
        elif isinstance(event, PeerMessage) and isinstance(outcome.verdict, Accept):
            if isinstance(event.message, BlockAnnounce):
                self.metrics.block_import_time.labels(origin="peer").observe(elapsed_s)

    def _update_metrics(self) -> None:
        self.metrics.set_heights(self.chain.head.number, self.chain.finalized_header.number)
        status = self.engine.pool.status()
        self.metrics.set_pool(status.ready, status.future)

    async def _slot_loop(self) -> None:
        """Announce each slot as it starts, by the clock alone: a slot at or below the head's is
        simply not authored, so no block can make this node wait for a later one."""
        duration = self.slot_duration_ms
        slot = self.clock.now_ms() // duration
        while True:
            await self.clock.sleep_until_ms(slot * duration)
            await self._inbox.send(_Envelope(SlotStarted(slot)))
            slot = max(slot + 1, self.clock.now_ms() // duration)

    async def _timer_loop(self) -> None:
        while True:
            await self.clock.sleep_until_ms(self.clock.now_ms() + TICK_MS)
            await self._inbox.send(_Envelope(TimerTick()))


def is_block_announce(outgoing: object) -> bool:
    return isinstance(outgoing, Broadcast) and isinstance(outgoing.message, BlockAnnounce)


class NodeRpcApi:
    """What the RPC server may see of the node (``flockchain.rpc.api.NodeApi``)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self.chain_name = node.config.chain_name
        self.chain_type = node.config.chain_type
        self.properties = node.config.properties

    def best_hash(self) -> bytes:
        return self._node.chain.head_hash

    def finalized_hash(self) -> bytes:
        return self._node.chain.finalized_hash

    def get_header(self, block_hash: bytes) -> Header | None:
        return self._node.chain.blocks.get_header(block_hash)

    def get_block(self, block_hash: bytes) -> Block | None:
        return self._node.chain.blocks.get_block(block_hash)

    def get_canonical_hash(self, number: int) -> bytes | None:
        return self._node.chain.blocks.get_canonical_hash(number)

    def get_justification(self, block_hash: bytes) -> bytes | None:
        return self._node.chain.get_justification(block_hash)

    async def submit_extrinsic(self, encoded: bytes) -> bytes:
        return await self._node.submit_transaction(encoded)

    def pending_extrinsics(self) -> list[bytes]:
        return self._node.engine.pool.pending()

    def account_next_index(self, who: bytes) -> int:
        return self._node.engine.pool.next_nonce(who)

    def health(self) -> tuple[int, bool, bool]:
        """Until the network lands the node has no peers, and should have none."""
        return 0, False, False

    def node_roles(self) -> list[str]:
        return ["Authority"] if self._node.engine.keypair is not None else ["Full"]

    def local_peer_id(self) -> str | None:
        return None  # no network yet

    def peers(self) -> list[PeerInfo]:
        return []

    def sync_state(self) -> SyncState:
        best = self._node.chain.head.number
        return SyncState(self._node.starting_block, best, best)

    def remove_extrinsics(self, hashes: list[bytes]) -> list[bytes]:
        """A synchronous call, so it runs between two of the consensus task's events (trio runs
        one task at a time) and never inside one."""
        pool = self._node.engine.pool
        pooled = [tx_hash for tx_hash in dict.fromkeys(hashes) if tx_hash in pool]
        pool.remove(pooled)
        return pooled

    def rotate_keys(self) -> bytes:
        keystore = self._node.config.keystore
        if keystore is None:
            raise KeystoreError("this node has no keystore (its base path is not kept, or it has no password)")
        return keystore.generate_session_keys()

    def has_key(self, public_key: bytes, key_type: str) -> bool:
        keystore = self._node.config.keystore
        return keystore is not None and keystore.has_key(public_key)

    def open_event_feed(self) -> EventFeed:
        return self._node.hub.open_feed()

    def watch_transaction(self, tx_hash: bytes) -> None:
        self._node.hub.watch_transaction(tx_hash)

    def unwatch_transaction(self, tx_hash: bytes) -> None:
        self._node.hub.unwatch_transaction(tx_hash)

    def get_set_change(self, set_id: int) -> bytes | None:
        return self._node.chain.get_set_change(set_id)

    def finality_rounds(self) -> FinalityRounds:
        return describe_rounds(self._node.engine.voter)

    def provable_state(self, block_hash: bytes) -> ProvableTreeState | None:
        chain = self._node.chain
        version = chain.blocks.get_state_version(block_hash)
        if version is None:
            return None  # unknown, or passed over inside a re-org
        try:
            chain.state.root_at(version)
        except UnknownVersion:
            return None  # pruned
        return ProvableTreeState(chain.state, version)


def describe_rounds(voter: Voter) -> FinalityRounds:
    """The voter's current round, and the previous one while it is still a live round."""
    background = (describe_round(voter.previous),) if isinstance(voter.previous, Round) else ()
    return FinalityRounds(voter.voter_set.set_id, describe_round(voter.current), background)


def describe_round(round_: Round) -> RoundState:
    voter_set = round_.voter_set

    def tally(stage: StageVotes) -> VoteTally:
        missing = tuple(key for index, (key, _) in enumerate(voter_set.voters) if not stage.voted >> index & 1)
        return VoteTally(voter_set.compute_mask_weight(stage.voted), missing)

    return RoundState(
        round_.number, voter_set.total_weight, voter_set.threshold, tally(round_.prevotes), tally(round_.precommits)
    )

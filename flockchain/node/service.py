"""The node service: one consensus task that owns the chain, fed through one bounded inbox by the
slot clock, a timer and the RPC server, all under one trio nursery.

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
from dataclasses import dataclass
from typing import Protocol

import trio

from flockchain.chain.chain import Chain
from flockchain.errors import UnknownVersion
from flockchain.node.engine import MAX_DRIFT_MS, ConsensusEngine
from flockchain.node.inbox import Event, Outcome, SlotStarted, SubmitTransaction, TimerTick
from flockchain.rpc.server import serve_rpc
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

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve RPC, author and finalize blocks until cancelled; reports the RPC port when ready."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self._consensus_task)
            port = await nursery.start(serve_rpc, NodeRpcApi(self), self.config.rpc_host, self.config.rpc_port)
            log.info("RPC listening on http://%s:%d", self.config.rpc_host, port)
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
            outcome = self.engine.handle(envelope.event, self.clock.now_ms())
            if envelope.reply is not None:
                envelope.reply.send_nowait(outcome)

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


class NodeRpcApi:
    """What the RPC server may see of the node (``flockchain.rpc.api.NodeApi``)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self.chain_name = node.config.chain_name
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
        return 0, False, False

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

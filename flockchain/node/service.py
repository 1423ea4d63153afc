"""The node service: the consensus engine's slot and timer loops and the RPC server, wired
together under one trio nursery.

The loops and the RPC hand the :class:`~flockchain.node.engine.ConsensusEngine` its events
(``ConsensusEngine.handle``): it authors by the slot lottery, finalizes with the finality voter
and keeps the transaction pool; RPC handlers otherwise only read. Slots are
``slot_duration_ms`` long, counted from the Unix epoch, and a block's timestamp is the start of
its slot, so every node agrees on it. The clock is injected: tests drive it by
hand, the node uses the system clock. Until the libp2p network lands, messages for peers are
dropped: a single validator finalizes alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

import trio

from flockchain.chain.chain import Chain
from flockchain.errors import UnknownVersion
from flockchain.node.engine import ConsensusEngine
from flockchain.node.inbox import SlotStarted, SubmitTransaction, TimerTick
from flockchain.rpc.server import serve_rpc
from flockchain.state.reader import ProvableTreeState
from runtime.block import Block, Header
from runtime.errors import InvalidTransaction
from runtime.primitives.keys import Keypair

log = logging.getLogger("flockchain.node")

TICK_MS = 100  # how often the finality voter's timers are checked


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
    slot_duration_ms: int
    rpc_port: int = 9944
    rpc_host: str = "127.0.0.1"

    @property
    def gossip_duration_ms(self) -> int:
        """GRANDPA's T: a quarter slot (rounds then take about a slot on a healthy network)."""
        return max(1, self.slot_duration_ms // 4)


class Node:
    def __init__(self, config: NodeConfig, chain: Chain, author: Keypair | None, clock: Clock) -> None:
        self.config = config
        self.chain = chain
        self.author = author
        self.clock = clock
        self.engine = ConsensusEngine(chain, author, gossip_duration_ms=config.gossip_duration_ms)

    # --- services -----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve RPC, author and finalize blocks until cancelled; reports the RPC port when ready."""
        async with trio.open_nursery() as nursery:
            port = await nursery.start(serve_rpc, NodeRpcApi(self), self.config.rpc_host, self.config.rpc_port)
            log.info("RPC listening on http://%s:%d", self.config.rpc_host, port)
            nursery.start_soon(self._slot_loop)
            nursery.start_soon(self._timer_loop)
            task_status.started(port)

    async def _slot_loop(self) -> None:
        duration = self.config.slot_duration_ms
        while True:
            slot = max(self.clock.now_ms() // duration, self.chain.head.slot + 1)
            await self.clock.sleep_until_ms(slot * duration)
            self.engine.handle(SlotStarted(slot), self.clock.now_ms())  # no peers yet: nothing to send
            await self.clock.sleep_until_ms((slot + 1) * duration)

    async def _timer_loop(self) -> None:
        while True:
            await self.clock.sleep_until_ms(self.clock.now_ms() + TICK_MS)
            self.engine.handle(TimerTick(), self.clock.now_ms())

    def submit_transaction(self, encoded: bytes) -> bytes:
        """The pool's answer to a transaction: its hash, or the refusal raised."""
        answer = self.engine.handle(SubmitTransaction(encoded), self.clock.now_ms()).answer
        if isinstance(answer, InvalidTransaction):
            raise answer
        assert answer is not None
        return answer


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
        return self._node.submit_transaction(encoded)

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

"""The node service in-process, on trio's virtual clock: one consensus task owns the chain and
reads the inbox; the slot clock, the timer and the RPC only send it events.

Tests wait for the node's log lines (as ``test_dev_node.py`` waits for a process's), each wait
bounded by a timeout in virtual seconds.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import AsyncIterator, Iterator

import pytest
import trio
import trio.testing

from flockchain.chain.chain import Chain
from flockchain.chain.genesis import compute_genesis_header
from flockchain.db.memory import MemoryStore
from flockchain.node.service import Node, NodeConfig, NodeRpcApi
from flockchain.rpc.registry import build_dispatcher
from genesis.dev_accounts import dev_keypair
from genesis.spec import build_genesis_state, load_chain_spec
from runtime.block import compute_extrinsic_hash
from runtime.construct import construct_runtime
from runtime_helpers import sign_transfer

ORIGIN_MS = 1_800_000_000_000  # the virtual clock's zero, as Unix time
TIMEOUT_S = 60  # virtual seconds
IMPORTED = re.compile(r"Imported #(\d+) \(0x[0-9a-f]+…\) slot \d+, (\d+) transaction")
FINALIZED = re.compile(r"Finalized #(\d+)")
SPEC = load_chain_spec("dev")


class TrioClock:
    """Unix time on trio's clock (the test's ``MockClock``)."""

    def now_ms(self) -> int:
        return ORIGIN_MS + round(trio.current_time() * 1000)

    async def sleep_until_ms(self, deadline_ms: int) -> None:
        await trio.sleep_until((deadline_ms - ORIGIN_MS) / 1000)


class LogLines(logging.Handler):
    """The node's log lines, as they are emitted, on a trio channel."""

    def __init__(self) -> None:
        super().__init__()
        self.send, self.receive = trio.open_memory_channel[str](math.inf)

    def emit(self, record: logging.LogRecord) -> None:
        self.send.send_nowait(record.getMessage())

    async def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        with trio.fail_after(TIMEOUT_S):
            async for line in self.receive:
                if match := pattern.search(line):
                    return match
        raise AssertionError("the log ended")


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    handler = LogLines()
    logger = logging.getLogger("flockchain.node")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.setLevel(previous)
    logger.removeHandler(handler)


def new_node() -> Node:
    chain = Chain(MemoryStore(), construct_runtime(), compute_genesis_header(SPEC), build_genesis_state(SPEC))
    return Node(NodeConfig(SPEC.name, dict(SPEC.properties), rpc_port=0), chain, dev_keypair("alice"), TrioClock())


@pytest.fixture
async def node(nursery: trio.Nursery) -> AsyncIterator[Node]:
    """A running node; the test asks for ``autojump_clock`` itself (pytest-trio runs a test on
    the clock among the test's own arguments)."""
    started = new_node()
    await nursery.start(started.run)
    yield started


def transfer(node: Node, nonce: int) -> bytes:
    bob = dev_keypair("bob").public_key
    return sign_transfer(
        node.chain.runtime, dev_keypair("alice"), bob, 10**9, nonce=nonce, genesis_hash=node.chain.genesis_hash
    )


async def test_the_node_authors_and_finalizes_on_the_runtimes_slots(
    autojump_clock: trio.testing.MockClock, node: Node, log_lines: LogLines
) -> None:
    assert node.slot_duration_ms == 2 * SPEC.genesis["runtime"]["timestamp"]["minimumPeriod"]
    while int((await log_lines.wait_for(FINALIZED)).group(1)) < 3:
        pass
    head = node.chain.head
    assert head.timestamp == head.slot * node.slot_duration_ms
    assert head.timestamp <= node.clock.now_ms()


async def test_an_rpc_submission_goes_through_the_inbox_into_a_block(
    autojump_clock: trio.testing.MockClock, node: Node, log_lines: LogLines
) -> None:
    dispatcher = build_dispatcher(NodeRpcApi(node))
    tx = transfer(node, 0)

    async def submit(encoded: bytes) -> dict:
        request = {"jsonrpc": "2.0", "id": 1, "method": "author_submitExtrinsic", "params": ["0x" + encoded.hex()]}
        reply = await dispatcher.handle_message(json.dumps(request))
        assert reply is not None
        return json.loads(reply)

    assert (await submit(tx))["result"] == "0x" + compute_extrinsic_hash(tx).hex()
    other_chains = sign_transfer(
        node.chain.runtime, dev_keypair("alice"), bytes(32), 1, nonce=0, genesis_hash=bytes(32)
    )
    refused = await submit(other_chains)
    assert refused["error"]["code"] == 1010 and "signature" in refused["error"]["data"]
    while int((await log_lines.wait_for(IMPORTED)).group(2)) == 0:
        pass
    block = node.chain.blocks.get_block(node.chain.head_hash)
    assert block is not None and tx in block.extrinsics
    assert node.engine.pool.pending() == []


async def test_a_submission_waits_for_the_consensus_task(autojump_clock: trio.testing.MockClock) -> None:
    node = new_node()
    tx = transfer(node, 0)
    with trio.move_on_after(10):  # nothing reads the inbox: the submission cannot complete
        await node.submit_transaction(tx)
        pytest.fail("the submission completed without the consensus task")
    assert node.engine.pool.pending() == []
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        assert await node.submit_transaction(transfer(node, 1)) == compute_extrinsic_hash(transfer(node, 1))
        nursery.cancel_scope.cancel()

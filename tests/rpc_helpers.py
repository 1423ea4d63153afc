"""RPC clients for tests, over HTTP (httpx) and WebSocket (trio-websocket), with one interface,
and an in-process dev node on trio's virtual clock serving them on an ephemeral loopback port.

Every wait is bounded by ``trio.fail_after``; on the virtual clock the node authors and
finalizes a block per virtual second, so waiting for blocks costs milliseconds.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from flockchain.chain.chain import Chain
from flockchain.chain.genesis import compute_genesis_header
from flockchain.db.memory import MemoryStore
from flockchain.keystore import ScryptParams, SessionKeystore
from flockchain.node.notifications import BlockFinalized, NewBestBlock
from flockchain.node.service import Node, NodeConfig
from flockchain.rpc.options import DEFAULT_OPTIONS, RpcOptions
from flockchain.rpc.server import DEFAULT_LIMITS, RpcLimits
from genesis.dev_accounts import dev_keypair
from genesis.spec import build_genesis_state, load_chain_spec
from runtime.construct import construct_runtime
from runtime_helpers import sign_transfer

ORIGIN_MS = 1_800_000_000_000  # the virtual clock's zero, as Unix time
TIMEOUT_S = 60  # virtual seconds any single wait may take
SPEC = load_chain_spec("dev")
KEYSTORE_PASSWORD = "correct horse battery staple"


class RpcFailure(Exception):
    """The node answered with an error object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')} ({error.get('data')})")
        self.error = error
        self.code = error.get("code")


class TrioClock:
    """Unix time on trio's clock (the test's ``MockClock``)."""

    def now_ms(self) -> int:
        return ORIGIN_MS + round(trio.current_time() * 1000)

    async def sleep_until_ms(self, deadline_ms: int) -> None:
        await trio.sleep_until((deadline_ms - ORIGIN_MS) / 1000)


def new_dev_node(
    keystore_dir: Path | None = None,
    *,
    limits: RpcLimits = DEFAULT_LIMITS,
    options: RpcOptions = DEFAULT_OPTIONS,
    password: str | None = KEYSTORE_PASSWORD,
) -> Node:
    chain = Chain(MemoryStore(), construct_runtime(), compute_genesis_header(SPEC), build_genesis_state(SPEC))
    keystore = None
    if keystore_dir is not None:
        keystore = SessionKeystore(keystore_dir, password, scrypt=ScryptParams(n=1 << 14))
    config = NodeConfig(
        SPEC.name,
        dict(SPEC.properties),
        rpc_port=0,
        chain_type=SPEC.chain_type,
        rpc_limits=limits,
        rpc_options=options,
        keystore=keystore,
    )
    return Node(config, chain, dev_keypair("alice"), TrioClock())


@dataclass
class RunningNode:
    node: Node
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def transfer(self, nonce: int, amount: int = 10**9) -> bytes:
        bob = dev_keypair("bob").public_key
        chain = self.node.chain
        return sign_transfer(
            chain.runtime, dev_keypair("alice"), bob, amount, nonce=nonce, genesis_hash=chain.genesis_hash
        )

    async def wait_for_finalized(self, number: int) -> None:
        """Until block ``number`` is final (the node's own events, not a client's)."""
        await self._wait_for(BlockFinalized, number, lambda: self.node.chain.finalized_header.number)

    async def wait_for_best(self, number: int) -> None:
        await self._wait_for(NewBestBlock, number, lambda: self.node.chain.head.number)

    async def _wait_for(self, kind: type, number: int, current: Any) -> None:
        feed = self.node.hub.open_feed()
        try:
            with trio.fail_after(TIMEOUT_S):
                if current() >= number:
                    return
                async for event in feed.receive:
                    if isinstance(event, kind) and event.header.number >= number:  # type: ignore[attr-defined]
                        return
        finally:
            feed.close()


async def start_dev_node(nursery: trio.Nursery, node: Node) -> RunningNode:
    return RunningNode(node, await nursery.start(node.run))


# --- clients ------------------------------------------------------------------------------


class HttpRpc:
    transport = "http"

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._ids = itertools.count(1)

    async def request(self, method: str, *params: Any) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        with trio.fail_after(TIMEOUT_S):
            response = await self.client.post("/", json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def call(self, method: str, *params: Any) -> Any:
        reply = await self.request(method, *params)
        if "error" in reply:
            raise RpcFailure(reply["error"])
        return reply["result"]


@asynccontextmanager
async def open_http(url: str) -> AsyncIterator[HttpRpc]:
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S) as client:
        yield HttpRpc(client)


class WsRpc:
    """Requests and replies by id; notifications by subscription id, each on its own channel."""

    transport = "ws"

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._replies: dict[int, trio.MemorySendChannel[dict[str, Any]]] = {}
        self._notifications: dict[str, tuple[trio.MemorySendChannel[Any], trio.MemoryReceiveChannel[Any]]] = {}
        self.close_reason: Any = None
        self.closed = trio.Event()

    async def read_messages(self) -> None:
        """Route each message; ends when the connection closes (``close_reason`` says how)."""
        try:
            while True:
                message = json.loads(await self.ws.get_message())
                if "id" in message and message["id"] in self._replies:
                    self._replies.pop(message["id"]).send_nowait(message)
                elif message.get("method") and isinstance(message.get("params"), dict):
                    self._channel(message["params"]["subscription"])[0].send_nowait(message)
        except ConnectionClosed as closed:
            self.close_reason = closed.reason
            self.closed.set()
            for send, _ in self._notifications.values():
                send.close()

    def _channel(self, subscription: str) -> tuple[trio.MemorySendChannel[Any], trio.MemoryReceiveChannel[Any]]:
        if subscription not in self._notifications:
            self._notifications[subscription] = trio.open_memory_channel[Any](math.inf)
        return self._notifications[subscription]

    async def send_raw(self, message: str | bytes) -> None:
        await self.ws.send_message(message)

    async def request(self, method: str, *params: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        send, receive = trio.open_memory_channel[dict[str, Any]](1)
        self._replies[request_id] = send
        await self.ws.send_message(
            json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
        )
        with trio.fail_after(TIMEOUT_S):
            return await receive.receive()

    async def call(self, method: str, *params: Any) -> Any:
        reply = await self.request(method, *params)
        if "error" in reply:
            raise RpcFailure(reply["error"])
        return reply["result"]

    async def next_notification(self, subscription: str) -> dict[str, Any]:
        """The next notification's full message (its method and params)."""
        with trio.fail_after(TIMEOUT_S):
            return await self._channel(subscription)[1].receive()  # type: ignore[no-any-return]

    async def next_result(self, subscription: str) -> Any:
        return (await self.next_notification(subscription))["params"]["result"]

    def pending_notifications(self, subscription: str) -> int:
        return self._channel(subscription)[1].statistics().current_buffer_used


@asynccontextmanager
async def open_ws(url: str, **options: Any) -> AsyncIterator[WsRpc]:
    async with open_websocket_url(url, **options) as ws, trio.open_nursery() as nursery:
        rpc = WsRpc(ws)
        nursery.start_soon(rpc.read_messages)
        yield rpc
        nursery.cancel_scope.cancel()

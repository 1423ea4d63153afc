"""A real `flockchain dev` node under the slow-client attack of ``tests/test_rpc_connections.py``:
it keeps serving a client from another address and keeps importing blocks, and logs no
traceback.

Marked slow: a node start costs a couple of seconds of imports. ``bench/attacks.py`` measures the
attacks at full scale.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
import trio
import trio.testing
from test_dev_node import BLOCK_TIMEOUT, IMPORTED, start
from test_rpc_connections import ATTACKER, HONEST, REQUEST_HEAD, connect, read_until_closed

pytestmark = pytest.mark.slow

SLOW_CLIENTS = 40  # more than the 16 one client address may hold
TIMEOUT = 30


async def test_node_serves_and_imports_while_slow_clients_hold_connections(tmp_path: Path) -> None:
    node = start(tmp_path / "base")
    replies: list[bytes] = []

    async def slow_client() -> None:
        stream = await connect(node.rpc_port, ATTACKER)
        try:
            await stream.send_all(REQUEST_HEAD + b'{"jsonrpc"')
        except trio.BrokenResourceError:
            pass  # refused before we could send
        replies.append(await read_until_closed(stream))

    transport = httpx.AsyncHTTPTransport(local_address=HONEST)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{node.rpc_port}", transport=transport) as honest:
            with trio.fail_after(TIMEOUT):
                async with trio.open_nursery() as attackers:
                    for _ in range(SLOW_CLIENTS):
                        attackers.start_soon(slow_client)
                    await trio.testing.wait_all_tasks_blocked()  # every slow client connected and waiting
                    for _ in range(2):  # blocks keep coming, and the other client is served
                        await trio.to_thread.run_sync(node.wait_for, IMPORTED, BLOCK_TIMEOUT)
                        reply = await honest.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader"})
                        assert reply.json()["result"]["number"]
        assert len(replies) == SLOW_CLIENTS
        assert all(reply.startswith((b"HTTP/1.1 408", b"HTTP/1.1 503")) or reply == b"" for reply in replies)
    finally:
        node.stop(signal.SIGINT)
    output = "".join(node.log) + node.remaining_output()
    assert "Traceback" not in output and "ERROR" not in output, output[-3000:]

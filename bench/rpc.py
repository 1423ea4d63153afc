"""RPC requests per second for ``chain_getHeader`` and ``state_getStorage``, with 1 and with 8
concurrent clients, over HTTP keep-alive and over WebSocket, against a real dev node.

    python bench/rpc.py [--requests 4000] [--rounds 3] [--in-process] [--json]

By default the node is a ``flockchain dev --tmp`` process (authoring a block every slot, as a
user runs it) and the clients run in this process: one trio task per client, each with its own
connection, sending one request at a time (HTTP over a raw keep-alive socket, so the figure is
the server's and not an HTTP library's). ``--in-process`` serves from this process instead (the
smoke test's mode: no subprocess; client and server then share one core). Each figure is the
median of ``--rounds`` rounds of ``--requests`` requests spread over the clients; the ratio
compares 8 clients with 1 in the same run. Bounded in count and time: a round that takes more
than ``ROUND_TIMEOUT_S`` fails.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio
from trio_websocket import open_websocket_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flockchain.chain.chain import Chain  # noqa: E402
from flockchain.chain.genesis import compute_genesis_header  # noqa: E402
from flockchain.db.memory import MemoryStore  # noqa: E402
from flockchain.node.service import Node, NodeConfig, SystemClock  # noqa: E402
from genesis.dev_accounts import dev_keypair  # noqa: E402
from genesis.spec import build_genesis_state, load_chain_spec  # noqa: E402
from runtime.construct import construct_runtime  # noqa: E402
from runtime.pallets import system  # noqa: E402

CLIENT_COUNTS = (1, 8)
TRANSPORTS = ("http", "ws")
START_TIMEOUT_S = 60
ROUND_TIMEOUT_S = 120
HTTP_REQUESTS_PER_CONNECTION = 1000  # Hypercorn's keep_alive_max_requests
ALICE_ACCOUNT_KEY = "0x" + system.Account.storage_key(dev_keypair("alice").public_key).hex()
METHODS = {"chain_getHeader": [], "state_getStorage": [ALICE_ACCOUNT_KEY]}


# --- clients ------------------------------------------------------------------------------


class HttpClient:
    """One keep-alive connection; one request at a time."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def call(self, body: bytes) -> bytes:
        head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        await self.stream.send_all(head % len(body) + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += await self.receive()
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        match = re.search(rb"(?i)content-length: *(\d+)", header)
        assert match is not None and header.startswith(b"HTTP/1.1 200"), header
        length = int(match.group(1))
        while len(rest) < length:
            rest += await self.receive()
        self.buffer = rest[length:]
        return rest[:length]

    async def receive(self) -> bytes:
        data = await self.stream.receive_some(65536)
        if not data:
            raise ConnectionError("the node closed the connection")
        return data


async def run_http_client(port: int, method: str, count: int) -> None:
    """``count`` requests on keep-alive connections (Hypercorn closes one after 1,000 requests:
    the client opens the next, as HTTP clients do)."""
    ids = itertools.count()
    done = 0
    while done < count:
        client = HttpClient(await trio.open_tcp_stream("127.0.0.1", port))
        async with client.stream:
            for _ in range(min(HTTP_REQUESTS_PER_CONNECTION, count - done)):
                request = {"jsonrpc": "2.0", "id": next(ids), "method": method, "params": METHODS[method]}
                assert b'"result"' in await client.call(json.dumps(request).encode())
                done += 1


async def run_ws_client(port: int, method: str, count: int) -> None:
    async with open_websocket_url(f"ws://127.0.0.1:{port}/") as ws:
        for index in range(count):
            await ws.send_message(
                json.dumps({"jsonrpc": "2.0", "id": index, "method": method, "params": METHODS[method]})
            )
            assert '"result"' in await ws.get_message()


CLIENTS = {"http": run_http_client, "ws": run_ws_client}


async def measure(port: int, transport: str, method: str, clients: int, requests: int) -> float:
    """Requests per second of ``clients`` concurrent clients sending ``requests`` in all."""
    per_client = max(1, requests // clients)
    started = time.perf_counter()
    with trio.fail_after(ROUND_TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            for _ in range(clients):
                nursery.start_soon(CLIENTS[transport], port, method, per_client)
    return per_client * clients / (time.perf_counter() - started)


async def measure_all(port: int, requests: int, rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for transport in TRANSPORTS:
        for method in METHODS:
            rates = {}
            for clients in CLIENT_COUNTS:
                samples = [await measure(port, transport, method, clients, requests) for _ in range(rounds)]
                rates[clients] = statistics.median(samples)
            figures[f"{transport} {method}"] = {
                "requests_per_s_1_client": round(rates[1]),
                "requests_per_s_8_clients": round(rates[8]),
                "ratio_8_to_1": round(rates[8] / rates[1], 2),
            }
    return figures


# --- the node -----------------------------------------------------------------------------


def get_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # type: ignore[no-any-return]


def start_node_process(port: int) -> subprocess.Popen[str]:
    """``flockchain dev --tmp`` on ``port``; returns once it listens."""
    command = [sys.executable, "-m", "flockchain", "dev", "--tmp", "--rpc-port", str(port), "--log", "warning"]
    root = str(Path(__file__).resolve().parent.parent)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            raise RuntimeError(f"the node exited with status {process.returncode}")
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the node did not listen on port {port} within {START_TIMEOUT_S} s")


async def measure_in_process(requests: int, rounds: int) -> dict[str, Any]:
    spec = load_chain_spec("dev")
    chain = Chain(MemoryStore(), construct_runtime(), compute_genesis_header(spec), build_genesis_state(spec))
    node = Node(NodeConfig(spec.name, dict(spec.properties), rpc_port=0), chain, dev_keypair("alice"), SystemClock())
    async with trio.open_nursery() as nursery:
        port = await nursery.start(node.run)
        figures = await measure_all(port, requests, rounds)
        nursery.cancel_scope.cancel()
    return figures


def run(requests: int = 4000, rounds: int = 3, *, in_process: bool = False) -> dict[str, Any]:
    if in_process:
        figures = trio.run(measure_in_process, requests, rounds)
    else:
        port = get_free_port()
        process = start_node_process(port)
        try:
            figures = trio.run(measure_all, port, requests, rounds)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {"node": "in process" if in_process else "flockchain dev process", "requests": requests, "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="per round, spread over the clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="serve from this process (no subprocess)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args.requests, args.rounds, in_process=args.in_process)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"RPC requests/s against a {report['node']} ({args.requests} requests per round, median of {args.rounds})")
    print(f"{'transport and method':32} {'1 client':>10} {'8 clients':>10} {'8 / 1':>7}")
    for name, row in report["figures"].items():
        print(
            f"{name:32} {row['requests_per_s_1_client']:>10} {row['requests_per_s_8_clients']:>10}"
            f" {row['ratio_8_to_1']:>7}"
        )


if __name__ == "__main__":
    main()

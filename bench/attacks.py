"""What an outsider's cheap attacks on the pool and the RPC port cost a `flockchain dev` node.

    python bench/attacks.py [--tree DIR] [--attacks pool-fill,pending-batch,pooled-fees,slow-bodies]
                            [--connections 1200] [--duration 20] [--json]

Starts ``flockchain dev --tmp`` from the checkout ``--tree`` (default: this one; pass a worktree
of older code to measure that code) on a free 127.0.0.1 port, with its soft limit of open files
at 1024 (a common default: the slow-body attack is about exhausting them), and funds 129 fresh
accounts with 0.02 FLOCK each. Then, one after another, each attack in a bounded loop:

- ``pool-fill``: 128 of the accounts submit 64 ``system.remark`` transactions of 3,000 bytes
  each with nonces 1..64 (nonce 0 never comes: none can be included, so nobody pays), then an
  honest transfer from //Ferdie is submitted.
- ``pending-batch``: one 611-byte batch of ten ``author_pendingExtrinsics`` calls; the reply is
  read and counted, not kept.
- ``pooled-fees``: the 129th account submits 64 transfers with nonces 0..63 and a 0.01 FLOCK tip
  each; it can pay for one. How many the pool took, and how many went into blocks.
- ``slow-bodies``: ``--connections`` connections from 127.0.0.1 each send a request's head and
  trickle its body a byte every two seconds for ``--duration`` seconds, reconnecting a second
  after the node closes one; meanwhile a client from 127.0.0.2 asks for the best header every
  half second on a fresh connection. Then all disconnect.

For each attack it reports the node's resident memory (VmRSS from ``/proc/<pid>/status``) just
before and its peak during the attack, and the peak of its open files (``/proc/<pid>/fd``),
both sampled every 100 ms; the longest gap between the timestamps of consecutive blocks from
just before the attack to a few seconds after it (the dev chain's slots are 1 s); and what the
attack achieved. It stops only the node it started, by PID. Needs the test extras (httpx).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flockchain.rpc.client import RpcError  # noqa: E402
from genesis.dev_accounts import dev_keypair  # noqa: E402
from runtime.accounts import FLOCK  # noqa: E402
from runtime.block import encode_extrinsic, sign_extrinsic  # noqa: E402
from runtime.construct import construct_runtime  # noqa: E402
from runtime.pallets.balances import TransferArgs  # noqa: E402
from runtime.pallets.system import Remark  # noqa: E402
from runtime.primitives.address import encode_address  # noqa: E402
from runtime.primitives.keys import Keypair  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = ("pool-fill", "pending-batch", "pooled-fees", "slow-bodies")
NODE_OPEN_FILES = 1024
ATTACKER, HONEST = "127.0.0.1", "127.0.0.2"  # both reach loopback; the node tells them apart
START_TIMEOUT_S = 60
CALL_TIMEOUT_S = 120  # a reply of hundreds of megabytes takes a while
SETTLE_TIMEOUT_S = 60  # for submitted transactions to leave the pool
RECOVERY_S = 4  # after an attack, before reading the blocks it spanned
FILL_ACCOUNTS, FILL_PER_ACCOUNT, REMARK_SIZE = 128, 64, 3000
FUNDING = 2 * FLOCK // 100  # 0.02 FLOCK
FUNDERS = ("bob", "charlie", "dave", "eve")  # 32 or 33 transfers each: under the pool's 64 per sender
FEE_ATTACK_TIP = FLOCK // 100
TRICKLE_INTERVAL_S, RECONNECT_DELAY_S, CONNECT_TIMEOUT_S = 2.0, 1.0, 5.0
PROBE_INTERVAL_S, PROBE_TIMEOUT_S = 0.5, 2.0
HELD_AFTER_S = 1.0  # a connection the node has not answered or closed within this is held
SLOW_HEAD = b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
RUNTIME = construct_runtime()


@dataclass
class Outcome:
    attack: str
    rss_before_mb: float
    rss_peak_mb: float
    open_files_peak: int
    longest_block_gap_s: float
    result: str


@dataclass
class Peaks:
    rss_kb: int
    open_files: int


# --- the node -----------------------------------------------------------------------------


def limit_open_files() -> None:
    """In the node's process, before it starts: the common default soft limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(NODE_OPEN_FILES, hard), hard))


def find_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevNode:
    """One ``flockchain dev --tmp`` process of ``tree``'s code; its output goes to ``log_path``."""

    def __init__(self, tree: Path, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flockchain", "dev", "--tmp", "--rpc-port", str(port)],
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree)},
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=limit_open_files,
            )

    def read_rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    def count_open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def stop(self) -> None:
        """Interrupt it as Ctrl-C would; kill it if it does not exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Rpc:
    """JSON-RPC calls from one loopback address, a fresh connection each (a held one would
    hide a node that no longer accepts connections)."""

    def __init__(self, port: int, source: str, timeout_s: float = CALL_TIMEOUT_S) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=source, limits=httpx.Limits(max_keepalive_connections=0))
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=timeout_s)

    async def send(self, payload: Any) -> Any:
        response = await self.client.post("/", json=payload)
        response.raise_for_status()
        return response.json()

    async def call(self, method: str, *params: Any) -> Any:
        reply = await self.send({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        if "error" in reply:
            error = reply["error"]
            raise RpcError(error.get("message", "error"), error.get("code"), error.get("data"))
        return reply["result"]

    async def batch(self, method: str, params: list[list[Any]]) -> list[dict[str, Any]]:
        """One batch of ``method`` calls; each reply, in order."""
        requests = [
            {"jsonrpc": "2.0", "id": index, "method": method, "params": args} for index, args in enumerate(params)
        ]
        replies = await self.send(requests)
        return sorted(replies, key=lambda reply: reply["id"]) if isinstance(replies, list) else [replies]


async def wait_until_serving(rpc: Rpc, node: DevNode) -> None:
    with trio.fail_after(START_TIMEOUT_S):
        while node.process.poll() is None:
            try:
                await rpc.call("system_name")
                return
            except httpx.TransportError:
                await trio.sleep(0.2)
    raise RuntimeError(f"the node exited ({node.process.returncode}); see {node.log_path}")


# --- transactions -------------------------------------------------------------------------


def sign(keypair: Keypair, genesis_hash: bytes, nonce: int, call: bytes, tip: int = 0) -> str:
    return "0x" + encode_extrinsic(sign_extrinsic(keypair, genesis_hash, nonce=nonce, call=call, tip=tip)).hex()


def transfer_call(dest: bytes, amount: int) -> bytes:
    return RUNTIME.encode_call(TransferArgs(dest, amount))


def remark_call(size: int) -> bytes:
    return RUNTIME.encode_call(Remark(bytes(size)))


async def wait_until_pool_drains(rpc: Rpc, senders: list[Keypair]) -> list[int]:
    """Each sender's nonce once none of its transactions is pooled any more (its next index
    stops moving for three blocks); bounded by SETTLE_TIMEOUT_S."""
    addresses = [[encode_address(sender.public_key)] for sender in senders]
    last: list[int] = []
    steady = 0
    with trio.move_on_after(SETTLE_TIMEOUT_S):
        while steady < 3:
            nonces = [reply["result"] for reply in await rpc.batch("system_accountNextIndex", addresses)]
            steady = steady + 1 if nonces == last else 0
            last = nonces
            await trio.sleep(1)
    return last


async def fund(rpc: Rpc, genesis_hash: bytes, recipients: list[Keypair]) -> None:
    """0.02 FLOCK to each recipient from the dev accounts, waiting until it is in blocks."""
    funders = [dev_keypair(name) for name in FUNDERS]
    for offset, funder in enumerate(funders):
        first = await rpc.call("system_accountNextIndex", encode_address(funder.public_key))
        mine = recipients[offset :: len(funders)]
        txs = [
            sign(funder, genesis_hash, first + i, transfer_call(who.public_key, FUNDING)) for i, who in enumerate(mine)
        ]
        await rpc.batch("author_submitExtrinsic", [[tx] for tx in txs])
    await wait_until_pool_drains(rpc, funders)


# --- measuring ----------------------------------------------------------------------------


async def sample(node: DevNode, peaks: Peaks) -> None:
    while True:
        peaks.rss_kb = max(peaks.rss_kb, node.read_rss_kb())
        peaks.open_files = max(peaks.open_files, node.count_open_files())
        await trio.sleep(0.1)


async def read_block_timestamps_ms(rpc: Rpc, first: int) -> list[int]:
    best = int((await rpc.call("chain_getHeader"))["number"], 16)
    hashes = await rpc.batch("chain_getBlockHash", [[number] for number in range(first, best + 1)])
    headers = await rpc.batch("chain_getHeader", [[reply["result"]] for reply in hashes])
    return [int(reply["result"]["timestamp"], 16) for reply in headers]


async def measure(name: str, node: DevNode, rpc: Rpc, attack: Callable[[], Awaitable[str]]) -> Outcome:
    """Run ``attack`` while sampling the node's memory and open files; then read the blocks it
    spanned."""
    first = int((await rpc.call("chain_getHeader"))["number"], 16)
    rss_before = node.read_rss_kb()
    peaks = Peaks(rss_before, node.count_open_files())
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample, node, peaks)
        result = await attack()
        await trio.sleep(RECOVERY_S)
        nursery.cancel_scope.cancel()
    timestamps = await read_block_timestamps_ms(rpc, first)
    gaps = [later - earlier for earlier, later in zip(timestamps, timestamps[1:])]
    gaps.append(time.time_ns() // 1_000_000 - timestamps[-1])  # still waiting for the next block
    print(f"  {name}: {result}", file=sys.stderr)
    return Outcome(name, rss_before / 1024, peaks.rss_kb / 1024, peaks.open_files, max(gaps) / 1000, result)


# --- the attacks --------------------------------------------------------------------------


async def attack_pool_fill(rpc: Rpc, attacker: Rpc, genesis_hash: bytes, fillers: list[Keypair]) -> str:
    remark = remark_call(REMARK_SIZE)
    pooled = 0
    for filler in fillers:
        txs = [sign(filler, genesis_hash, nonce, remark) for nonce in range(1, FILL_PER_ACCOUNT + 1)]
        replies = await attacker.batch("author_submitExtrinsic", [[tx] for tx in txs])
        pooled += sum("result" in reply for reply in replies)
    ferdie = dev_keypair("ferdie")
    nonce = await rpc.call("system_accountNextIndex", encode_address(ferdie.public_key))
    honest = sign(ferdie, genesis_hash, nonce, transfer_call(dev_keypair("alice").public_key, FLOCK))
    try:
        await rpc.call("author_submitExtrinsic", honest)
        verdict = "accepted"
    except RpcError as error:
        verdict = f"refused ({error.data})"
    return f"{pooled} of {len(fillers) * FILL_PER_ACCOUNT} futures pooled; an honest transfer {verdict}"


async def attack_pending_batch(port: int) -> str:
    requests = [{"jsonrpc": "2.0", "method": "author_pendingExtrinsics", "id": index} for index in range(10)]
    body = json.dumps(requests, separators=(",", ":")).encode()
    transport = httpx.AsyncHTTPTransport(local_address=ATTACKER)
    async with httpx.AsyncClient(transport=transport, timeout=CALL_TIMEOUT_S) as client:
        started = time.monotonic()
        size, head = 0, b""
        headers = {"content-type": "application/json"}
        async with client.stream("POST", f"http://127.0.0.1:{port}/", content=body, headers=headers) as response:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                head += chunk[: max(0, 10_000 - len(head))]
    reply = f"a {size / 1e6:,.1f} MB reply" if size > 10_000 else f"a {size}-byte reply, {describe_error(head)}"
    return f"{len(body)}-byte batch: {reply} in {time.monotonic() - started:.1f} s"


def describe_error(reply: bytes) -> str:
    """The error of a small JSON-RPC reply (a batch's first), as ``code message``."""
    value = json.loads(reply)
    error = (value[0] if isinstance(value, list) else value).get("error", {})
    return f"error {error.get('code')} {error.get('message', '')}".strip() if error else "results"


async def attack_pooled_fees(rpc: Rpc, genesis_hash: bytes, payer: Keypair) -> str:
    dest = dev_keypair("alice").public_key
    txs = [sign(payer, genesis_hash, nonce, transfer_call(dest, 1), tip=FEE_ATTACK_TIP) for nonce in range(64)]
    replies = await rpc.batch("author_submitExtrinsic", [[tx] for tx in txs])
    pooled = sum("result" in reply for reply in replies)
    (included,) = await wait_until_pool_drains(rpc, [payer])
    return f"64 transfers with a 0.01 FLOCK tip from 0.02 FLOCK: {pooled} pooled, {included} included"


@dataclass
class SlowStats:
    connected: int = 0
    failed_connects: int = 0
    closed_by_node: int = 0
    held_peak: int = 0  # connections open for at least HELD_AFTER_S at once
    probes_ok: int = 0
    probes_failed: int = 0
    opened_at: dict[int, float] = field(default_factory=dict)  # open connections by id: since when


async def hold_slow_connection(port: int, deadline: float, stats: SlowStats) -> None:
    """Keep one slow request going until ``deadline``: reconnect a second after the node closes it."""
    while trio.current_time() < deadline:
        sock = trio.socket.socket()
        try:
            with trio.fail_after(CONNECT_TIMEOUT_S):
                await sock.bind((ATTACKER, 0))
                await sock.connect(("127.0.0.1", port))
        except (OSError, trio.TooSlowError):
            sock.close()
            stats.failed_connects += 1
            await trio.sleep(RECONNECT_DELAY_S)
            continue
        stream = trio.SocketStream(sock)
        stats.connected += 1
        stats.opened_at[id(stream)] = trio.current_time()
        try:
            await trickle(stream, deadline)
            if trio.current_time() < deadline:
                stats.closed_by_node += 1
        finally:
            del stats.opened_at[id(stream)]
            await trio.aclose_forcefully(stream)
        await trio.sleep(RECONNECT_DELAY_S)


async def trickle(stream: trio.SocketStream, deadline: float) -> None:
    """Send the head, then a body byte every TRICKLE_INTERVAL_S until ``deadline`` or until the
    node answers or closes."""
    try:
        await stream.send_all(SLOW_HEAD)
        while trio.current_time() < deadline:
            with trio.move_on_after(TRICKLE_INTERVAL_S):
                await stream.receive_some()
                return  # an answer (408, 503) or the end of the connection
            await stream.send_all(b" ")
    except trio.BrokenResourceError:
        return


async def count_held(deadline: float, stats: SlowStats) -> None:
    while trio.current_time() < deadline:
        held_since = trio.current_time() - HELD_AFTER_S
        stats.held_peak = max(stats.held_peak, sum(since <= held_since for since in stats.opened_at.values()))
        await trio.sleep(0.25)


async def probe(port: int, deadline: float, stats: SlowStats) -> None:
    rpc = Rpc(port, HONEST, PROBE_TIMEOUT_S)
    while trio.current_time() < deadline:
        try:
            await rpc.call("chain_getHeader")
            stats.probes_ok += 1
        except (httpx.HTTPError, RpcError):
            stats.probes_failed += 1
        await trio.sleep(PROBE_INTERVAL_S)


async def attack_slow_bodies(node: DevNode, connections: int, duration_s: float) -> str:
    stats = SlowStats()
    log_before = node.log_size()
    deadline = trio.current_time() + duration_s
    async with trio.open_nursery() as nursery:
        nursery.start_soon(probe, node.port, deadline, stats)
        nursery.start_soon(count_held, deadline, stats)
        for _ in range(connections):
            nursery.start_soon(hold_slow_connection, node.port, deadline, stats)
    await trio.sleep(RECOVERY_S)  # the node logs what the disconnects cost
    log_kb = (node.log_size() - log_before) / 1024
    return (
        f"{connections} slow clients: the node held at most {stats.held_peak} at once, "
        f"{stats.closed_by_node} closed by the node, {stats.failed_connects} connects failed; "
        f"the other client served {stats.probes_ok} of {stats.probes_ok + stats.probes_failed}; log +{log_kb:,.0f} KiB"
    )


# --- the run ------------------------------------------------------------------------------


async def run(tree: Path, attacks: list[str], connections: int, duration_s: float, log_path: Path) -> list[Outcome]:
    node = DevNode(tree, find_free_port(), log_path)
    rpc = Rpc(node.port, HONEST)
    attacker = Rpc(node.port, ATTACKER)
    try:
        await wait_until_serving(rpc, node)
        genesis_hash = bytes.fromhex((await rpc.call("chain_getBlockHash", 0))[2:])
        accounts = [Keypair.from_seed(index.to_bytes(32, "big")) for index in range(1, FILL_ACCOUNTS + 2)]
        fillers, payer = accounts[:FILL_ACCOUNTS], accounts[FILL_ACCOUNTS]
        await fund(rpc, genesis_hash, accounts)
        runs: dict[str, Callable[[], Awaitable[str]]] = {
            "pool-fill": lambda: attack_pool_fill(rpc, attacker, genesis_hash, fillers),
            "pending-batch": lambda: attack_pending_batch(node.port),
            "pooled-fees": lambda: attack_pooled_fees(rpc, genesis_hash, payer),
            "slow-bodies": lambda: attack_slow_bodies(node, connections, duration_s),
        }
        return [await measure(name, node, rpc, runs[name]) for name in attacks]
    finally:
        node.stop()


def print_table(tree: Path, outcomes: list[Outcome]) -> None:
    print(f"`flockchain dev` from {tree}\n")
    print("| attack | RSS before → peak (MB) | open files, peak | longest block gap (s) | result |")
    print("|---|---|---|---|---|")
    for outcome in outcomes:
        rss = f"{outcome.rss_before_mb:,.0f} → {outcome.rss_peak_mb:,.0f}"
        gap = f"{outcome.longest_block_gap_s:.2f}"
        print(f"| {outcome.attack} | {rss} | {outcome.open_files_peak:,} | {gap} | {outcome.result} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose node to attack")
    parser.add_argument("--attacks", default=",".join(ATTACKS), help=f"comma-separated, from {', '.join(ATTACKS)}")
    parser.add_argument("--connections", type=int, default=1200, help="slow-body connections")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of slow bodies")
    parser.add_argument("--node-log", type=Path, help="keep the node's output here (default: a temporary file)")
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    args = parser.parse_args()
    attacks = args.attacks.split(",")
    if unknown := set(attacks) - set(ATTACKS):
        parser.error(f"unknown attacks: {', '.join(sorted(unknown))}")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the slow-body attack's own connections
    with tempfile.TemporaryDirectory(prefix="flockchain-attacks-") as work:
        log_path = args.node_log or Path(work) / "node.log"
        outcomes = trio.run(run, args.tree.resolve(), attacks, args.connections, args.duration, log_path)
    if args.json:
        print(json.dumps([asdict(outcome) for outcome in outcomes], indent=2))
    else:
        print_table(args.tree.resolve(), outcomes)


if __name__ == "__main__":
    main()

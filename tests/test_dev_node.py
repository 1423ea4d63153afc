"""`flockchain dev` as a user runs it: real processes on loopback, waiting on their log lines.

Marked slow: each node start costs a couple of seconds of imports.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flockchain.rpc.client import RpcClient
from genesis.dev_accounts import dev_keypair
from runtime.block import Justification, compute_extrinsic_hash
from runtime.primitives.address import encode_address

pytestmark = pytest.mark.slow

START_TIMEOUT = 60.0
BLOCK_TIMEOUT = 30.0
MAX_BLOCKS_TO_INCLUSION = 10
IMPORTED = re.compile(r"Imported #(\d+) \(0x([0-9a-f]+)…\) slot \d+, (\d+) transaction")
FINALIZED = re.compile(r"Finalized #(\d+) \(0x([0-9a-f]+)…\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevNode:
    """One `flockchain dev` process; its log lines arrive on a queue as they are printed."""

    def __init__(self, base_path: Path, rpc_port: int) -> None:
        self.rpc_port = rpc_port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flockchain", "dev", "--base-path", str(base_path), "--rpc-port", str(rpc_port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.rpc = RpcClient(f"http://127.0.0.1:{rpc_port}", timeout=10)

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def wait_for(self, pattern: re.Pattern[str] | str, timeout: float) -> re.Match[str]:
        """The first later log line matching ``pattern`` (fails on timeout or exit)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no log line matched {regex.pattern!r} in {timeout}s:\n{''.join(self.log[-20:])}")
            if not line:
                pytest.fail(f"node exited ({self.process.wait()}) before {regex.pattern!r}:\n{''.join(self.log[-20:])}")
            self.log.append(line)
            match = regex.search(line)
            if match:
                return match

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def remaining_output(self) -> str:
        """Everything printed after the last line read (call once the process exited)."""
        rest = []
        while line := self.lines.get(timeout=10):
            rest.append(line)
        return "".join(rest)


@pytest.fixture
def base_path(tmp_path: Path) -> Path:
    return tmp_path / "base"


def start(base_path: Path) -> DevNode:
    node = DevNode(base_path, free_port())
    node.wait_for("RPC listening", START_TIMEOUT)
    return node


def test_dev_chain_includes_a_cli_transfer_and_survives_kill_9(base_path: Path) -> None:
    node = start(base_path)
    try:
        node.wait_for(IMPORTED, BLOCK_TIMEOUT)
        bob = encode_address(dev_keypair("bob").public_key)
        submitted = subprocess.run(
            [
                sys.executable,
                "-m",
                "flockchain",
                "tx",
                "transfer",
                "--to",
                bob,
                "--amount",
                "2.5 FLOCK",
                "--rpc-url",
                f"http://127.0.0.1:{node.rpc_port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert submitted.returncode == 0, submitted.stderr
        xt_hash = bytes.fromhex(submitted.stdout.strip()[2:])
        for _ in range(MAX_BLOCKS_TO_INCLUSION):
            match = node.wait_for(IMPORTED, BLOCK_TIMEOUT)
            if int(match.group(3)) > 0:
                break
        else:
            pytest.fail(f"the transfer was not included within {MAX_BLOCKS_TO_INCLUSION} blocks")
        block_hash = node.rpc.call("chain_getBlockHash", int(match.group(1)))
        block = node.rpc.call("chain_getBlock", block_hash)["block"]
        hashes = [compute_extrinsic_hash(bytes.fromhex(xt[2:])) for xt in block["extrinsics"]]
        assert xt_hash in hashes
        # The one validator finalizes its own blocks (GRANDPA with a set of one).
        included_at = int(match.group(1))
        while int((finalized := node.wait_for(FINALIZED, BLOCK_TIMEOUT)).group(1)) < included_at:
            pass
        finalized_hash = node.rpc.call("chain_getBlockHash", int(finalized.group(1)))
        assert finalized_hash[2:].startswith(finalized.group(2))
        finalized_head = node.rpc.call("chain_getFinalizedHead")
        assert int(node.rpc.call("chain_getHeader", finalized_head)["number"], 16) >= included_at
        ((engine, proof),) = node.rpc.call("chain_getBlock", finalized_head)["justifications"]
        justification = Justification.decode(bytes.fromhex(proof[2:]))
        assert engine == "FRNK" and justification.target_hash.hex() == finalized_head[2:]
        head_before = int(node.rpc.call("chain_getHeader")["number"], 16)
        hash_before = node.rpc.call("chain_getBlockHash", head_before)
    finally:
        node.process.kill()  # SIGKILL: no chance to flush or close anything
        node.process.wait(timeout=30)

    restarted = start(base_path)
    try:
        assert restarted.rpc.call("chain_getBlockHash", head_before) == hash_before
        match = restarted.wait_for(IMPORTED, BLOCK_TIMEOUT)
        assert int(match.group(1)) > head_before
        assert restarted.stop(signal.SIGTERM) == 0
    finally:
        if restarted.process.poll() is None:
            restarted.process.kill()


def test_sigint_stops_cleanly_and_rerun_resumes(base_path: Path) -> None:
    node = start(base_path)
    number = int(node.wait_for(IMPORTED, BLOCK_TIMEOUT).group(1))
    assert node.stop(signal.SIGINT) == 0
    assert "shutting down" in node.remaining_output()
    again = start(base_path)
    try:
        assert int(again.wait_for(IMPORTED, BLOCK_TIMEOUT).group(1)) > number
    finally:
        again.stop(signal.SIGTERM)


def test_bad_transfer_input_is_refused_with_one_clear_line(base_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flockchain",
            "tx",
            "transfer",
            "--to",
            "not-an-address",
            "--amount",
            "1",
            "--rpc-url",
            f"http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr

"""Crash atomicity of state commits on LevelDB.

A writer process (``helpers/state_crash_writer.py``) commits a deterministic sequence of
versions, printing each once its write has returned. The test SIGKILLs it at random points
inside the commit cycle, reopens the store and checks that it holds exactly the last
reported version or the one after (killed after the write, before the print), with the
root and the values that version must have, and exactly the nodes its retained versions
reach (a torn write would leave orphans): never a partial version.
"""

import importlib.util
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flockchain.abc import KeyValueStore
from flockchain.db import LevelDBStore, MemoryStore, schema
from flockchain.state import StateTree
from flockchain.state.tree import InternalRecord, _decode_node, _decode_root

HELPER = Path(__file__).parent / "helpers" / "state_crash_writer.py"
SEED = 20_260_527
KILLS = 24
REPORT_TIMEOUT_S = 20.0


def load_writer():
    spec = importlib.util.spec_from_file_location("state_crash_writer", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class Expected:
    """The writer's versions recomputed in memory: root and full state of each."""

    def __init__(self, writer) -> None:
        self._writer = writer
        self._tree = StateTree(MemoryStore())
        self._model: dict[bytes, bytes] = {}
        self.roots: list[bytes] = []
        self.states: list[dict[bytes, bytes]] = []

    def version(self, version: int) -> tuple[bytes, dict[bytes, bytes]]:
        while len(self.roots) <= version:
            changes = self._writer.batch(SEED, len(self.roots))
            self.roots.append(self._tree.apply(changes))
            for key, value in changes.items():
                if value is None:
                    self._model.pop(key, None)
                else:
                    self._model[key] = value
            self.states.append(dict(self._model))
        return self.roots[version], self.states[version]


def reachable_node_keys(store: KeyValueStore, version: int) -> set[bytes]:
    """Every node key the stored tree of ``version`` uses."""
    found: set[bytes] = set()
    pending = [(_decode_root(store.get(schema.state_root_key(version))), 0, 0)]
    while pending:
        ref, depth, prefix = pending.pop()
        if ref is None:
            continue
        key = schema.state_node_key(ref.version, depth, prefix)
        found.add(key)
        record = _decode_node(store.get(key))
        if isinstance(record, InternalRecord):
            for nibble, child in enumerate(record.children):
                pending.append((child, depth + 4, prefix | nibble << (252 - depth)))
    return found


def assert_no_orphans(store: KeyValueStore) -> None:
    """Stored nodes are exactly those of the retained versions; no index entry runs ahead."""
    versions = [schema.parse_state_root_key(key) for key, _ in store.iterate(schema.STATE_ROOT)]
    latest = schema.decode_u64(store.get(schema.STATE_LATEST_VERSION))
    assert versions[-1] == latest
    stored = {key for key, _ in store.iterate(schema.STATE_NODE)}
    assert stored == set().union(*(reachable_node_keys(store, v) for v in versions))
    for key, _ in store.iterate(schema.STATE_STALE):
        assert schema.parse_state_stale_key(key) <= latest


class Reports:
    """Version numbers the writer prints, read from its pipe with timeouts (no sleeping)."""

    def __init__(self, stream) -> None:
        self._fd = stream.fileno()
        self._buffer = b""
        self.closed = False

    def read(self, timeout: float) -> list[int]:
        """Every complete line that arrives within ``timeout`` (at least the ones buffered)."""
        ready, _, _ = select.select([self._fd], [], [], max(timeout, 0.0))
        if ready:
            chunk = os.read(self._fd, 65536)
            self.closed = not chunk
            self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [int(line) for line in lines]

    def next(self, timeout: float) -> list[int]:
        """Wait for at least one more report."""
        deadline = time.monotonic() + timeout
        while True:
            versions = self.read(deadline - time.monotonic())
            if versions:
                return versions
            if self.closed or time.monotonic() >= deadline:
                raise AssertionError("the writer stopped reporting")

    def drain(self) -> list[int]:
        """Everything left once the writer is dead."""
        versions = []
        while not self.closed:
            versions += self.read(REPORT_TIMEOUT_S)
        return versions


@pytest.mark.slow
def test_killed_commits_leave_a_whole_version(tmp_path):
    writer = load_writer()
    expected = Expected(writer)
    rng = random.Random(SEED)
    database = tmp_path / "state"
    stderr_path = tmp_path / "writer.stderr"
    reported: int | None = None
    outcomes = {"reported": 0, "one_after": 0}

    for kill in range(KILLS):
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, str(HELPER), str(database), str(SEED)],
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        reports = Reports(process.stdout)
        try:
            # Let it report 1-4 versions, timing the cycle, then kill it a random fraction
            # of a cycle later, so kills land anywhere in apply, commit and the write.
            previous = time.monotonic()
            cycle = 0.0
            for _ in range(rng.randint(1, 4)):
                versions = reports.next(REPORT_TIMEOUT_S)
                reported = versions[-1]
                now = time.monotonic()
                cycle, previous = now - previous, now
            for version in reports.read(rng.uniform(0.0, 1.2) * cycle):
                reported = version
            process.send_signal(signal.SIGKILL)
        except BaseException:
            process.kill()
            raise
        finally:
            process.wait()
            for version in reports.drain():
                reported = version
            process.stdout.close()
        assert process.returncode == -signal.SIGKILL, stderr_path.read_text()
        assert reported is not None

        with LevelDBStore(database) as store:
            tree = StateTree(store, prune_depth=writer.PRUNE_DEPTH)
            assert tree.version in (reported, reported + 1), (kill, tree.version, reported)
            root, state = expected.version(tree.version)
            assert tree.root == root
            assert_no_orphans(store)
            for key in (b"account-%d" % i for i in range(writer.KEY_SPACE)):
                assert tree.get(key) == state.get(key)
            outcomes["reported" if tree.version == reported else "one_after"] += 1

    assert sum(outcomes.values()) == KILLS

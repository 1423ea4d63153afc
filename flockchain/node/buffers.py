"""What the engine holds aside until it can use it: orphans (parent unknown), early blocks (slot
not started) and commits whose blocks have not arrived; and the headers of blocks on forks that
finality abandoned (stale headers).

Each is bounded in count and per sending peer (blocks also in bytes), so no peer can make a node
hold more than its share; when full, a newcomer pushes out its own peer's oldest, then the oldest
of all. Held blocks are unchecked: a block gets its verdict when the engine imports it. A held
commit's signatures were checked: only its weight waits for the blocks its precommits name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from flockchain.node.inbox import PeerId
from runtime.block import Header, Justification


@dataclass(frozen=True)
class HeldBlock:
    data: bytes  # the encoded block, as the peer sent it
    header: Header
    hash: bytes
    peer: PeerId


class HeldBlocks:
    """Held blocks by hash, oldest first, within ``max_count``, ``max_bytes`` and ``max_per_peer``."""

    def __init__(self, *, max_count: int, max_bytes: int, max_per_peer: int) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.max_per_peer = max_per_peer
        self._blocks: dict[bytes, HeldBlock] = {}
        self._per_peer: Counter[PeerId] = Counter()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._blocks)

    def __contains__(self, block_hash: object) -> bool:
        return block_hash in self._blocks

    def add(self, held: HeldBlock) -> None:
        """Hold ``held`` (a block of more than ``max_bytes`` is not held)."""
        if held.hash in self._blocks or len(held.data) > self.max_bytes:
            return
        if self._per_peer[held.peer] >= self.max_per_peer:
            self.remove(next(h.hash for h in self._blocks.values() if h.peer == held.peer))
        while self._blocks and (len(self._blocks) >= self.max_count or self._bytes + len(held.data) > self.max_bytes):
            self.remove(next(iter(self._blocks)))
        self._blocks[held.hash] = held
        self._per_peer[held.peer] += 1
        self._bytes += len(held.data)

    def remove(self, block_hash: bytes) -> HeldBlock | None:
        held = self._blocks.pop(block_hash, None)
        if held is not None:
            self._per_peer[held.peer] -= 1
            if not self._per_peer[held.peer]:
                del self._per_peer[held.peer]
            self._bytes -= len(held.data)
        return held


class OrphanBlocks(HeldBlocks):
    """Blocks whose parent is unknown, until it is imported."""

    def pop_importable(self, is_known: Callable[[bytes], bool]) -> HeldBlock | None:
        """The lowest held block (then lowest hash) whose parent ``is_known``, no longer held."""
        ready = [held for held in self._blocks.values() if is_known(held.header.parent_hash)]
        if not ready:
            return None
        first = min(ready, key=lambda held: (held.header.number, held.hash))
        return self.remove(first.hash)

    def get_missing_ancestor(self, block_hash: bytes) -> bytes:
        """The first block on the way down from ``block_hash`` that is not held: the one to ask for."""
        cursor = block_hash
        while (held := self._blocks.get(cursor)) is not None:
            cursor = held.header.parent_hash
        return cursor

    def prune(self, finalized_number: int) -> list[HeldBlock]:
        """Drop (and return) the orphans at or below the last finalized height: they can never
        join the chain."""
        stale = [held for held in self._blocks.values() if held.header.number <= finalized_number]
        for held in stale:
            self.remove(held.hash)
        return stale


class EarlyBlocks(HeldBlocks):
    """Blocks whose slot has not started by the local clock, until it has. A held block's
    timestamp is its slot's start: import checked that before it found the block early."""

    def pop_due(self, now_ms: int) -> list[HeldBlock]:
        """The held blocks whose slot has started by ``now_ms``, earliest (then lowest hash) first."""
        due = sorted(
            (held for held in self._blocks.values() if held.header.timestamp <= now_ms),
            key=lambda held: (held.header.timestamp, held.hash),
        )
        for held in due:
            self.remove(held.hash)
        return due


@dataclass(frozen=True)
class HeldCommit:
    justification: Justification
    peer: PeerId
    since_ms: int


class HeldCommits:
    """Commits naming blocks we lack, oldest first, within ``max_count`` and ``max_per_peer``."""

    def __init__(self, *, max_count: int, max_per_peer: int) -> None:
        self.max_count = max_count
        self.max_per_peer = max_per_peer
        self._commits: dict[Justification, HeldCommit] = {}

    def __len__(self) -> int:
        return len(self._commits)

    def __contains__(self, justification: object) -> bool:
        return justification in self._commits

    def add(self, held: HeldCommit) -> None:
        if held.justification in self._commits:
            return
        own = [commit for commit, other in self._commits.items() if other.peer == held.peer]
        if len(own) >= self.max_per_peer:
            del self._commits[own[0]]
        elif len(self._commits) >= self.max_count:
            del self._commits[next(iter(self._commits))]
        self._commits[held.justification] = held

    def pop_all(self) -> list[HeldCommit]:
        """Every held commit, oldest first, no longer held (the engine holds again those still waiting)."""
        held = list(self._commits.values())
        self._commits.clear()
        return held


class StaleHeaders:
    """Headers (seals checked) of blocks on forks that finality abandoned, oldest first, within
    ``max_count`` and ``max_per_author``. An equivocation there is evidence like any other, and a
    commit for such a block conflicts with our finality: both need the header, not the block."""

    def __init__(self, *, max_count: int, max_per_author: int) -> None:
        self.max_count = max_count
        self.max_per_author = max_per_author
        self._headers: dict[bytes, Header] = {}
        self._by_slot: dict[tuple[int, bytes], Header] = {}  # (slot, author) -> the first such header held

    def __len__(self) -> int:
        return len(self._headers)

    def get(self, block_hash: bytes) -> Header | None:
        return self._headers.get(block_hash)

    def find(self, slot: int, author: bytes) -> Header | None:
        """A held header of ``author`` for ``slot``."""
        return self._by_slot.get((slot, author))

    def add(self, header: Header) -> None:
        block_hash = header.hash
        if block_hash in self._headers:
            return
        own = [held for held in self._headers.values() if held.author == header.author]
        if len(own) >= self.max_per_author:
            self._remove(own[0])
        elif len(self._headers) >= self.max_count:
            self._remove(next(iter(self._headers.values())))
        self._headers[block_hash] = header
        self._by_slot.setdefault((header.slot, header.author), header)

    def _remove(self, header: Header) -> None:
        del self._headers[header.hash]
        if self._by_slot.get((header.slot, header.author)) == header:
            del self._by_slot[(header.slot, header.author)]

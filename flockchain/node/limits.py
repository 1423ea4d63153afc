"""What the engine keeps or does on others' behalf, bounded per source: the blocks it wants
(named by votes and commits it lacks the blocks of) and the requests it answers.

Every bound is per source first (a voter's key, a peer), then in total, so that one Byzantine
voter or peer can use up only its own share: a newcomer pushes out its own source's oldest
entry, then the oldest of all.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Wanted:
    since_ms: int
    source: Hashable  # who named the block: a voter's key, or the peer that sent a commit


class WantedBlocks:
    """Blocks to ask every peer for until they arrive, by hash, oldest first."""

    def __init__(self, *, max_count: int, max_per_source: int, timeout_ms: int) -> None:
        self.max_count = max_count
        self.max_per_source = max_per_source
        self.timeout_ms = timeout_ms
        self._wanted: dict[bytes, Wanted] = {}

    def __len__(self) -> int:
        return len(self._wanted)

    def __contains__(self, block_hash: object) -> bool:
        return block_hash in self._wanted

    def add(self, block_hash: bytes, source: Hashable, now_ms: int) -> None:
        """Want ``block_hash`` (already wanted: nothing changes, the first source keeps it)."""
        if block_hash in self._wanted:
            return
        own = [wanted_hash for wanted_hash, wanted in self._wanted.items() if wanted.source == source]
        if len(own) >= self.max_per_source:
            del self._wanted[own[0]]
        elif len(self._wanted) >= self.max_count:
            del self._wanted[next(iter(self._wanted))]
        self._wanted[block_hash] = Wanted(now_ms, source)

    def get_lacking(self, now_ms: int, is_known: Callable[[bytes], bool]) -> list[bytes]:
        """The wanted blocks still lacking, oldest first; forgets the blocks that arrived and
        those wanted for longer than the timeout (no peer sends them)."""
        for block_hash, wanted in list(self._wanted.items()):
            if is_known(block_hash) or now_ms - wanted.since_ms > self.timeout_ms:
                del self._wanted[block_hash]
        return list(self._wanted)


class AnswerBudget:
    """How many requests each peer gets answered per window of ``window_ms``: a peer that asks
    for more (a flood: every answer can be 64 blocks) is ignored until its next window."""

    def __init__(self, *, per_window: int, window_ms: int, max_peers: int) -> None:
        self.per_window = per_window
        self.window_ms = window_ms
        self.max_peers = max_peers
        self._used: dict[Hashable, tuple[int, int]] = {}  # peer -> (window start, answers in it), oldest first

    def __len__(self) -> int:
        return len(self._used)

    def spend(self, peer: Hashable, now_ms: int) -> bool:
        """Whether ``peer``'s request may be answered now (and count it if so)."""
        start, used = self._used.pop(peer, (now_ms, 0))
        if now_ms - start >= self.window_ms:
            start, used = now_ms, 0
        allowed = used < self.per_window
        if len(self._used) >= self.max_peers:
            del self._used[next(iter(self._used))]
        self._used[peer] = (start, used + allowed)
        return allowed

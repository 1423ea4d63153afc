"""The simulated network: who reaches whom, when, how many times.

Everything random comes from one seeded ``random.Random``, drawn in a fixed order by the
event loop, so a seed always gives the same run. Latency is a base plus uniform jitter (jitter
reorders messages); a message may be lost or delivered twice; a partition splits listed nodes
into groups for a time window (nodes in no group, e.g. Byzantine bridges, reach everyone); a
crashed node receives nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    start_ms: int
    end_ms: int
    groups: tuple[frozenset[int], ...]

    def separates(self, src: int, dst: int, now_ms: int) -> bool:
        if not self.start_ms <= now_ms < self.end_ms:
            return False
        src_group = next((group for group in self.groups if src in group), None)
        dst_group = next((group for group in self.groups if dst in group), None)
        return src_group is not None and dst_group is not None and src_group is not dst_group


@dataclass(frozen=True)
class Crash:
    node: int
    at_ms: int
    restart_ms: int


@dataclass(frozen=True)
class FaultPlan:
    latency_ms: int = 40
    jitter_ms: int = 60
    loss_permille: int = 0
    duplicate_permille: int = 0
    partitions: tuple[Partition, ...] = ()
    crashes: tuple[Crash, ...] = ()

    def healed_ms(self) -> int:
        """When the last partition heals and the last crashed node is back (0: never faulty)."""
        ends = [p.end_ms for p in self.partitions] + [c.restart_ms for c in self.crashes]
        return max(ends, default=0)


class Network:
    def __init__(self, rng: random.Random, plan: FaultPlan) -> None:
        self._rng = rng
        self.plan = plan
        self.sent = 0
        self.sent_by: Counter[int] = Counter()  # messages each node sent (a copy per recipient)
        self.delivered = 0

    def delivery_times(self, src: int, dst: int, now_ms: int) -> list[int]:
        """When the copies of one message from ``src`` to ``dst`` arrive (none if it is lost or a
        partition separates them at sending time)."""
        self.sent += 1
        self.sent_by[src] += 1
        plan, rng = self.plan, self._rng
        if any(partition.separates(src, dst, now_ms) for partition in plan.partitions):
            return []
        if rng.randrange(1000) < plan.loss_permille:
            return []
        copies = 2 if rng.randrange(1000) < plan.duplicate_permille else 1
        return [now_ms + plan.latency_ms + rng.randrange(plan.jitter_ms + 1) for _ in range(copies)]

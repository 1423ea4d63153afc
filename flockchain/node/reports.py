"""Equivocation reports waiting to land on chain: kept until a finalized block carries them.

A report is the unsigned ``offences.report_equivocation_unsigned`` extrinsic built from evidence
this node saw or a peer gossiped, known by its offence: (kind, offender, time), the time being
the slot of two headers or the (set id, round, stage) of two votes, as the runtime's offence id.
Every block this node authors carries the reports still pending, and a report stays pending after
our block carries it, because that block may end on a fork that finality abandons: it leaves only
when a *finalized* block carries it. When the runtime refuses a report while we author on some
parent (already on that fork, out of its era, the offender no longer punishable), the report is
*parked* on that parent: finality then decides. If the parent becomes final, the refusal stands and
the report is dropped; if finality abandons it, the report is pending again.

Bounded: ``max_per_offender`` offences of one kind per offender (a newer one pushes out its
oldest: the newest are those still in their era), at most ``max_count`` in all (then the oldest
of all goes). Every report ever taken is remembered (the last ``max_seen``), so that a peer still
gossiping one we dropped (it landed, its refusal became final, or a newer one pushed it out) does
not make us take it back, relay it and drop it again, round and round: each report is taken once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from flockchain.node.messages import EquivocationMessage

OffenceKey = tuple[int, bytes, tuple[int, ...]]  # (offence kind, offender, time)


@dataclass(frozen=True)
class PendingReport:
    encoded: bytes  # the unsigned report extrinsic
    evidence: EquivocationMessage  # what we gossip
    parked_on: bytes | None = None  # the parent on which the runtime refused it, until finality decides


class PendingReports:
    def __init__(self, *, max_count: int, max_per_offender: int, max_seen: int) -> None:
        self.max_count = max_count
        self.max_per_offender = max_per_offender
        self.max_seen = max_seen
        self._reports: dict[OffenceKey, PendingReport] = {}  # oldest first
        self._seen: dict[bytes, None] = {}  # every encoded report taken, oldest first

    def __len__(self) -> int:
        return len(self._reports)

    def knows(self, key: OffenceKey, encoded: bytes | None = None) -> bool:
        """Whether a report of this offence is held (pending or parked), or ``encoded`` was ever taken."""
        return key in self._reports or (encoded is not None and encoded in self._seen)

    def add(self, key: OffenceKey, encoded: bytes, evidence: EquivocationMessage) -> bool:
        """Keep a report; whether it is new."""
        if self.knows(key, encoded):
            return False
        own = [held for held in self._reports if held[:2] == key[:2]]
        if len(own) >= self.max_per_offender:
            del self._reports[own[0]]
        elif len(self._reports) >= self.max_count:
            del self._reports[next(iter(self._reports))]
        self._reports[key] = PendingReport(encoded, evidence)
        self._seen[encoded] = None
        if len(self._seen) > self.max_seen:
            del self._seen[next(iter(self._seen))]
        return True

    def get_unparked(self) -> list[PendingReport]:
        """The reports a block may carry now, oldest first."""
        return [report for report in self._reports.values() if report.parked_on is None]

    def park(self, refused: Iterable[bytes], parent_hash: bytes) -> None:
        """The runtime refused these extrinsics in a block on ``parent_hash``."""
        refused = set(refused)
        for key, report in self._reports.items():
            if report.encoded in refused:
                self._reports[key] = replace(report, parked_on=parent_hash)

    def on_finalized(
        self, finalized_extrinsics: set[bytes], is_final: Callable[[bytes], bool], is_abandoned: Callable[[bytes], bool]
    ) -> None:
        """Drop the reports a newly finalized block carries and those parked on a final block;
        take back those parked on a block finality abandoned."""
        for key, report in list(self._reports.items()):
            if report.encoded in finalized_extrinsics or (report.parked_on is not None and is_final(report.parked_on)):
                del self._reports[key]
            elif report.parked_on is not None and is_abandoned(report.parked_on):
                self._reports[key] = replace(report, parked_on=None)

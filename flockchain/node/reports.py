"""Equivocation reports waiting to land on chain: kept until a finalized block carries them.

A report is the unsigned ``offences.report_equivocation_unsigned`` extrinsic built from evidence
this node saw or a peer gossiped. Every block this node authors carries the reports still
pending, and a report stays pending after our block carries it, because that block may end on a
fork that finality abandons: it leaves only when a *finalized* block carries it. When the runtime
refuses a report while we author on some parent (already on that fork, out of its era, the
offender no longer punishable), the report is *parked* on that parent: finality then decides. If
the parent becomes final, the refusal stands and the report is dropped; if finality abandons it,
the report is pending again.

Bounded: one report per (offence kind, offender), which is all the runtime slashes an offender
for in an era, and at most ``max_count`` in all. A newer report for a parked pair replaces it
(the offender equivocated again, perhaps in a later era).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from flockchain.node.messages import EquivocationMessage


@dataclass(frozen=True)
class PendingReport:
    encoded: bytes  # the unsigned report extrinsic
    evidence: EquivocationMessage  # what we gossip
    parked_on: bytes | None = None  # the parent on which the runtime refused it, until finality decides


class PendingReports:
    def __init__(self, *, max_count: int) -> None:
        self.max_count = max_count
        self._reports: dict[tuple[int, bytes], PendingReport] = {}  # (kind, offender) -> report

    def __len__(self) -> int:
        return len(self._reports)

    def add(self, kind: int, offender: bytes, encoded: bytes, evidence: EquivocationMessage) -> bool:
        """Keep a report; whether it is new (not when one for the pair is pending, or when full)."""
        key = (kind, offender)
        if self.has(kind, offender) or (key not in self._reports and len(self._reports) >= self.max_count):
            return False
        self._reports[key] = PendingReport(encoded, evidence)
        return True

    def has(self, kind: int, offender: bytes) -> bool:
        """Whether a report for the pair is pending and not parked (a new one would add nothing)."""
        held = self._reports.get((kind, offender))
        return held is not None and held.parked_on is None

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

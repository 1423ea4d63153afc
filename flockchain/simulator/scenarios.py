"""Fault scenarios by seed, and campaigns over many seeds.

Seed ``s`` runs fault kind ``s mod len(FAULT_KINDS)`` with parameters drawn from a generator
seeded by ``s``, so a campaign of ``k · len(FAULT_KINDS)`` seeds covers every kind ``k`` times
and any seed replays alone (``flockchain simulate --seed s``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from flockchain.simulator.genesis import SimGenesis, build_sim_genesis
from flockchain.simulator.network import Crash, FaultPlan, Partition
from flockchain.simulator.simulation import (
    EQUIVOCATE_BLOCKS,
    EQUIVOCATE_VOTES,
    SILENT,
    SimConfig,
    SimReport,
    run_simulation,
)

SECOND = 1_000


def _baseline(rng: random.Random, base: SimConfig) -> SimConfig:
    return base


def _loss_and_duplication(rng: random.Random, base: SimConfig) -> SimConfig:
    return replace(
        base, faults=FaultPlan(loss_permille=rng.randrange(50, 201), duplicate_permille=rng.randrange(50, 201))
    )


def _reordering(rng: random.Random, base: SimConfig) -> SimConfig:
    return replace(base, faults=FaultPlan(latency_ms=20, jitter_ms=rng.randrange(200, 601)))


def _partition(sizes: tuple[int, int]) -> Callable[[random.Random, SimConfig], SimConfig]:
    def make(rng: random.Random, base: SimConfig) -> SimConfig:
        nodes = list(range(base.validators))
        rng.shuffle(nodes)
        groups = (frozenset(nodes[: sizes[0]]), frozenset(nodes[sizes[0] :]))
        start = rng.randrange(5, 15) * SECOND
        end = start + rng.randrange(5, 16) * SECOND
        return replace(base, faults=FaultPlan(partitions=(Partition(start, end, groups),)))

    return make


def _crash_restart(rng: random.Random, base: SimConfig) -> SimConfig:
    start = rng.randrange(5, 20) * SECOND
    crash = Crash(rng.randrange(base.validators), start, start + rng.randrange(3, 15) * SECOND)
    return replace(base, faults=FaultPlan(crashes=(crash,)))


def _crash_across_a_set_change(rng: random.Random, base: SimConfig) -> SimConfig:
    """A validator sleeps through the era's end: idle for whole epochs, it is found unresponsive
    and chilled, the set changes without it, and on waking it must learn the change from peers."""
    start = rng.randrange(25, 33) * SECOND
    crash = Crash(rng.randrange(base.validators), start, start + rng.randrange(20, 26) * SECOND)
    return replace(base, slots=max(base.slots, 80), faults=FaultPlan(crashes=(crash,)))


def _byzantine(behaviour: str) -> Callable[[random.Random, SimConfig], SimConfig]:
    def make(rng: random.Random, base: SimConfig) -> SimConfig:
        return replace(base, behaviours=((rng.randrange(base.validators), behaviour),))

    return make


def _mixed(rng: random.Random, base: SimConfig) -> SimConfig:
    byzantine = rng.randrange(base.validators)
    crashed = (byzantine + 1 + rng.randrange(base.validators - 1)) % base.validators
    start = rng.randrange(5, 20) * SECOND
    faults = FaultPlan(
        loss_permille=rng.randrange(0, 101),
        duplicate_permille=rng.randrange(0, 101),
        jitter_ms=rng.randrange(50, 301),
        crashes=(Crash(crashed, start, start + rng.randrange(3, 10) * SECOND),),
    )
    return replace(base, faults=faults, behaviours=((byzantine, EQUIVOCATE_VOTES),))


FAULT_KINDS: tuple[tuple[str, Callable[[random.Random, SimConfig], SimConfig]], ...] = (
    ("baseline", _baseline),
    ("loss+duplication", _loss_and_duplication),
    ("reordering", _reordering),
    ("partition 2|2", _partition((2, 2))),
    ("partition 1|3", _partition((1, 3))),
    ("crash+restart", _crash_restart),
    ("crash across a set change", _crash_across_a_set_change),
    ("equivocating blocks", _byzantine(EQUIVOCATE_BLOCKS)),
    ("equivocating votes", _byzantine(EQUIVOCATE_VOTES)),
    ("silent validator", _byzantine(SILENT)),
    ("mixed", _mixed),
)


def get_fault_kind(seed: int) -> str:
    return FAULT_KINDS[seed % len(FAULT_KINDS)][0]


def make_scenario(seed: int, base: SimConfig | None = None) -> SimConfig:
    """The configuration seed ``seed`` runs (``base`` sets validators, slots and timing)."""
    _, make = FAULT_KINDS[seed % len(FAULT_KINDS)]
    return make(random.Random(seed), base or SimConfig())


@dataclass(frozen=True)
class CampaignResult:
    reports: tuple[SimReport, ...]

    @property
    def violations(self) -> int:
        return sum(len(report.violations) for report in self.reports)

    def lag_percentile(self, percent: int) -> int:
        lags = sorted(lag for report in self.reports for lag in report.finality_lags_ms)
        return lags[min(len(lags) - 1, (len(lags) * percent) // 100)] if lags else 0

    def summary(self) -> str:
        failed = sorted(report.seed for report in self.reports if report.violations)
        return (
            f"{len(self.reports)} seeds, {self.violations} violations"
            + (f" (seeds {', '.join(map(str, failed))})" if failed else "")
            + f"; finality lag p50 {self.lag_percentile(50)} ms, p99 {self.lag_percentile(99)} ms; "
            f"blocks {sum(r.blocks for r in self.reports)}, offences on chain {sum(r.offences for r in self.reports)}"
        )


def run_campaign(
    seeds: Iterable[int], base: SimConfig | None = None, on_report: Callable[[SimReport], None] | None = None
) -> CampaignResult:
    base = base or SimConfig()
    genesis: SimGenesis = build_sim_genesis(base.validators, base.epoch_length, base.era_length, base.slot_ms)
    reports = []
    for seed in seeds:
        report = run_simulation(seed, make_scenario(seed, base), genesis)
        if on_report is not None:
            on_report(report)
        reports.append(report)
    return CampaignResult(tuple(reports))

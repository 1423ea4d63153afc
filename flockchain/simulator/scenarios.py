"""Fault scenarios by seed, and campaigns over many seeds.

Seed ``s`` fixes everything. Its fault kind is ``FAULT_KINDS[s mod k]``, its number of validators
``VALIDATOR_COUNTS[(s div k) mod 4]`` and its stakes (equal, or drawn unequal) ``STAKE_MIXES[(s div
4k) mod 2]``, so that a campaign of ``8k`` seeds covers every kind with every size and stake mix;
the keys, the stakes, the Byzantine coalition and every timing come from ``random.Random(s)``. Any
seed replays alone (``flockchain simulate --seed s``).

Byzantine coalitions stay strictly below a third of the stake (``3 · weight < total``: GRANDPA
then tolerates them), chosen at random among the validators, and run one behaviour or a mix.
Coalitions that split votes or double-sign face a *targeted* partition: the honest validators
split in two along the coalition's line, the coalition on both sides. Runs last several eras
(epochs of 5 blocks, eras of 20), so sets change: equivocators and silent validators are chilled,
and the set-change kind keeps an honest validator down across a whole epoch, which always chills
it, so the set changes while it sleeps and it must catch up.

``make_attack_scenario`` is the simulator's self-test: coalitions at or above the quorum-overlap
bound (``2t − n`` of ``n`` equal validators with threshold ``t``: 2 of 4, 3 of 5, 3 of 7, 4 of 10)
that double-sign or split votes across a partition leaving each honest side, with the coalition,
a supermajority. The checker must report a safety violation in every such seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from consensus.grandpa.voter_set import compute_threshold
from flockchain.simulator.network import Crash, FaultPlan, Partition
from flockchain.simulator.simulation import (
    DOUBLE_SIGN,
    EQUIVOCATE_BLOCKS,
    EQUIVOCATE_VOTES,
    FLOOD,
    FUTURE_SLOTS,
    SILENT,
    SPLIT_VOTES,
    WITHHOLD_BLOCKS,
    SimConfig,
    SimReport,
    run_simulation,
)

SECOND = 1_000
VALIDATOR_COUNTS = (4, 5, 7, 10)
STAKE_MIXES = ("equal", "unequal")
MIN_STAKE, MAX_STAKE = 20_000, 400_000  # FLOCK, for unequal stakes
EQUAL_STAKE = 100_000
BASE = SimConfig(slots=90, epoch_length=5, era_length=20)
ATTACK_BEHAVIOURS = (DOUBLE_SIGN, SPLIT_VOTES)
MIXED_BEHAVIOURS = (
    EQUIVOCATE_BLOCKS,
    EQUIVOCATE_VOTES,
    SPLIT_VOTES,
    DOUBLE_SIGN,
    FUTURE_SLOTS,
    FLOOD,
    WITHHOLD_BLOCKS,
    SILENT,
)


@dataclass(frozen=True)
class Scenario:
    seed: int
    kind: str
    config: SimConfig

    @property
    def stake_mix(self) -> str:
        return "unequal" if len(set(self.config.stakes)) > 1 else "equal"

    def describe(self) -> str:
        coalition = ", ".join(f"{validator}: {behaviour}" for validator, behaviour in self.config.behaviours)
        return f"{self.kind}, {self.config.validators} validators, {self.stake_mix} stakes" + (
            f", coalition {{{coalition}}} with {self.coalition_permille()}‰ of the stake" if coalition else ""
        )

    def coalition_permille(self) -> int:
        stakes = self.config.stakes or (EQUAL_STAKE,) * self.config.validators
        weight = sum(stakes[validator] for validator, _ in self.config.behaviours)
        return 1000 * weight // sum(stakes)


# --- building blocks ---------------------------------------------------------------------------


def _draw_stakes(rng: random.Random, validators: int, mix: str) -> tuple[int, ...]:
    if mix == "equal":
        return (EQUAL_STAKE,) * validators
    return tuple(rng.randrange(MIN_STAKE, MAX_STAKE + 1, 1_000) for _ in range(validators))


def _draw_coalition(rng: random.Random, stakes: tuple[int, ...]) -> list[int]:
    """A random coalition strictly below a third of the stake (at least one member, at most as
    many as fit), in a random order."""
    total = sum(stakes)
    order = list(range(len(stakes)))
    rng.shuffle(order)
    size = rng.randrange(1, len(stakes))
    coalition: list[int] = []
    for validator in sorted(order, key=lambda v: (stakes[v] * 3 >= total, order.index(v))):
        if len(coalition) < size and 3 * (sum(stakes[v] for v in coalition) + stakes[validator]) < total:
            coalition.append(validator)
    return coalition


def _split_honest(rng: random.Random, validators: int, coalition: list[int]) -> tuple[list[int], list[int]]:
    honest = [validator for validator in range(validators) if validator not in coalition]
    rng.shuffle(honest)
    cut = rng.randrange(1, len(honest)) if len(honest) > 1 else 1
    return sorted(honest[:cut]), sorted(honest[cut:])


def _targeted_partition(config: SimConfig, sides: tuple[list[int], list[int]], start: int, end: int) -> Partition:
    """The honest validators split along ``sides``; a double-sign validator has one engine on each
    side; other Byzantine validators are in no group (they bridge it)."""
    first, second = set(sides[0]), set(sides[1])
    for validator, behaviour in config.behaviours:
        if behaviour == DOUBLE_SIGN:
            first.add(validator)
            second.add(config.second_node(validator))
    return Partition(start, end, (frozenset(first), frozenset(second)))


def _coalition(behaviour: str | None) -> Callable[[random.Random, SimConfig], SimConfig]:
    """A coalition below a third running ``behaviour`` (None: each member its own); coalitions
    that split votes or double-sign face a targeted partition."""

    def make(rng: random.Random, base: SimConfig) -> SimConfig:
        members = _draw_coalition(rng, base.stakes)
        behaviours = tuple(sorted((m, behaviour or rng.choice(MIXED_BEHAVIOURS)) for m in members))
        config = replace(base, behaviours=behaviours)
        faults = FaultPlan()
        if any(b in (SPLIT_VOTES, DOUBLE_SIGN) for _, b in behaviours):
            start = rng.randrange(5, 15) * SECOND
            sides = _split_honest(rng, base.validators, members)
            end = start + rng.randrange(8, 21) * SECOND
            faults = FaultPlan(partitions=(_targeted_partition(config, sides, start, end),))
        if behaviour is None:
            honest = [v for v in range(base.validators) if v not in members]
            start = rng.randrange(5, 20) * SECOND
            faults = replace(
                faults,
                loss_permille=rng.randrange(0, 101),
                duplicate_permille=rng.randrange(0, 101),
                jitter_ms=rng.randrange(50, 301),
                crashes=(Crash(rng.choice(honest), start, start + rng.randrange(3, 10) * SECOND),),
            )
        return replace(config, faults=faults)

    return make


def _baseline(rng: random.Random, base: SimConfig) -> SimConfig:
    return base


def _loss_and_duplication(rng: random.Random, base: SimConfig) -> SimConfig:
    return replace(
        base, faults=FaultPlan(loss_permille=rng.randrange(50, 201), duplicate_permille=rng.randrange(50, 201))
    )


def _reordering(rng: random.Random, base: SimConfig) -> SimConfig:
    return replace(base, faults=FaultPlan(latency_ms=20, jitter_ms=rng.randrange(200, 601)))


def _partition(rng: random.Random, base: SimConfig) -> SimConfig:
    sides = _split_honest(rng, base.validators, [])
    start = rng.randrange(5, 15) * SECOND
    end = start + rng.randrange(5, 21) * SECOND
    return replace(base, faults=FaultPlan(partitions=(Partition(start, end, tuple(map(frozenset, sides))),)))


def _crash_restart(rng: random.Random, base: SimConfig) -> SimConfig:
    start = rng.randrange(5, 20) * SECOND
    crash = Crash(rng.randrange(base.validators), start, start + rng.randrange(3, 15) * SECOND)
    return replace(base, faults=FaultPlan(crashes=(crash,)))


def _set_change(rng: random.Random, base: SimConfig) -> SimConfig:
    """A validator sleeps from early in the first era through its end: idle for whole epochs, it
    is found unresponsive and chilled, the set changes without it at the era's end, and on waking
    it must learn the change (and the later ones) from its peers."""
    start = rng.randrange(2, 5) * SECOND
    crash = Crash(rng.randrange(base.validators), start, start + rng.randrange(28, 36) * SECOND)
    return replace(base, faults=FaultPlan(crashes=(crash,)))


FAULT_KINDS: tuple[tuple[str, Callable[[random.Random, SimConfig], SimConfig]], ...] = (
    ("baseline", _baseline),
    ("loss+duplication", _loss_and_duplication),
    ("reordering", _reordering),
    ("partition", _partition),
    ("crash+restart", _crash_restart),
    ("set change", _set_change),
    ("equivocating blocks", _coalition(EQUIVOCATE_BLOCKS)),
    ("equivocating votes", _coalition(EQUIVOCATE_VOTES)),
    ("split votes", _coalition(SPLIT_VOTES)),
    ("double-signing clones", _coalition(DOUBLE_SIGN)),
    ("future slots", _coalition(FUTURE_SLOTS)),
    ("floods", _coalition(FLOOD)),
    ("withheld blocks", _coalition(WITHHOLD_BLOCKS)),
    ("silent", _coalition(SILENT)),
    ("mixed coalition", _coalition(None)),
)


def get_fault_kind(seed: int) -> str:
    return FAULT_KINDS[seed % len(FAULT_KINDS)][0]


def make_scenario(seed: int, base: SimConfig | None = None) -> Scenario:
    """What seed ``seed`` runs (``base`` sets slots and timing; the validators, stakes and keys
    come from the seed)."""
    kind, make = FAULT_KINDS[seed % len(FAULT_KINDS)]
    validators = VALIDATOR_COUNTS[seed // len(FAULT_KINDS) % len(VALIDATOR_COUNTS)]
    mix = STAKE_MIXES[seed // (len(FAULT_KINDS) * len(VALIDATOR_COUNTS)) % len(STAKE_MIXES)]
    rng = random.Random(seed)
    stakes = _draw_stakes(rng, validators, mix)
    config = replace(base or BASE, validators=validators, stakes=stakes, key_seed=seed + 1)
    return Scenario(seed, kind, make(rng, config))


def make_attack_scenario(seed: int, base: SimConfig | None = None) -> Scenario:
    """A coalition of ``2t − n`` of ``n`` equal validators (the quorum-overlap bound) that
    double-signs or splits votes across a partition giving each honest side, with the coalition,
    a supermajority: GRANDPA cannot stay safe, and the checker must say so."""
    base = base or replace(BASE, slots=40)
    rng = random.Random(seed)
    validators = VALIDATOR_COUNTS[seed % len(VALIDATOR_COUNTS)]
    behaviour = ATTACK_BEHAVIOURS[seed // len(VALIDATOR_COUNTS) % len(ATTACK_BEHAVIOURS)]
    size = 2 * compute_threshold(validators) - validators
    order = list(range(validators))
    rng.shuffle(order)
    members = sorted(order[:size])
    honest = order[size:]
    half = len(honest) // 2
    config = replace(
        base,
        validators=validators,
        stakes=(EQUAL_STAKE,) * validators,
        key_seed=seed + 1,
        behaviours=tuple((member, behaviour) for member in members),
    )
    start = rng.randrange(2, 5) * SECOND
    end = base.slots * base.slot_ms * 3 // 4  # healed before the end: the two finalities meet
    partition = _targeted_partition(config, (honest[:half], honest[half:]), start, end)
    return Scenario(seed, f"attack: {behaviour}", replace(config, faults=FaultPlan(partitions=(partition,))))


@dataclass(frozen=True)
class CampaignResult:
    scenarios: tuple[Scenario, ...]
    reports: tuple[SimReport, ...]

    @property
    def violations(self) -> int:
        return sum(len(report.violations) for report in self.reports)

    def lag_percentile(self, percent: int) -> int:
        lags = sorted(lag for report in self.reports for lag in report.finality_lags_ms)
        return lags[min(len(lags) - 1, (len(lags) * percent) // 100)] if lags else 0

    def summary(self) -> str:
        failed = sorted(report.seed for report in self.reports if report.violations)
        reports = self.reports
        return (
            f"{len(reports)} seeds, {self.violations} violations"
            + (f" (seeds {', '.join(map(str, failed))})" if failed else "")
            + f"; safety violations in {sum(r.safety_violated for r in reports)} seeds, "
            f"safety alarms in {sum(r.safety_alarms > 0 for r in reports)}; "
            f"finality lag p50 {self.lag_percentile(50)} ms, p99 {self.lag_percentile(99)} ms; "
            f"blocks {sum(r.blocks for r in reports)}; set changes in {sum(r.set_id > 0 for r in reports)} seeds; "
            f"equivocators seen {sum(r.equivocators_seen for r in reports)}, "
            f"landed {sum(r.equivocators_landed for r in reports)}, "
            f"exempt by the era rule {sum(r.equivocators_exempt for r in reports)}; "
            f"offences on chain {sum(r.offences for r in reports)}"
        )


def run_campaign(
    seeds: Iterable[int],
    base: SimConfig | None = None,
    on_report: Callable[[Scenario, SimReport], None] | None = None,
    *,
    attack: bool = False,
) -> CampaignResult:
    """Run each seed's scenario (``attack``: the self-test's, at or above the bound)."""
    make = make_attack_scenario if attack else make_scenario
    scenarios, reports = [], []
    for seed in seeds:
        scenario = make(seed, base)
        report = run_simulation(seed, scenario.config)
        if on_report is not None:
            on_report(scenario, report)
        scenarios.append(scenario)
        reports.append(report)
    return CampaignResult(tuple(scenarios), tuple(reports))

"""``flockchain simulate``: run the deterministic consensus simulator over seeds and report.

Each seed prints one line (its scenario: fault kind, validators, stake mix and Byzantine
coalition; then blocks, finalized height, set, finality lag percentiles, messages, offences,
equivocators seen and landed, safety alarms and any invariant violation); the exit status is 1 if
any seed broke an invariant, so a failing seed can be replayed alone with ``--seed``. ``--attack``
runs the self-test instead: coalitions at or above the quorum-overlap bound, whose safety
violations the checker must report (the exit status is then 1 unless every seed reports one).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from flockchain.simulator.scenarios import BASE, FAULT_KINDS, Scenario, get_fault_kind, run_campaign
from flockchain.simulator.simulation import SimReport


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("simulate", help="run the deterministic multi-node consensus simulator")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seeds", type=_positive, default=10, help="run N seeds from --first-seed (default 10)")
    which.add_argument("--seed", type=_non_negative, help="run this one seed (replay)")
    parser.add_argument("--first-seed", type=_non_negative, default=0, help="start --seeds here (default 0)")
    parser.add_argument(
        "--kind", choices=[name for name, _ in FAULT_KINDS], help="run only the seeds of this fault kind"
    )
    parser.add_argument("--slots", type=_at_least(10), help=f"slots per run (default {BASE.slots}; attacks 40)")
    parser.add_argument("--attack", action="store_true", help="the self-test: coalitions at or above a third")
    parser.add_argument("--json", action="store_true", help="print one JSON object per seed instead of text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    base = None if args.slots is None else replace(BASE, slots=args.slots)
    result = run_campaign(
        _select_seeds(args),
        base,
        on_report=lambda scenario, report: _print_report(scenario, report, args.json),
        attack=args.attack,
    )
    if not args.json:
        print(result.summary())
    if args.attack:
        return 0 if all(report.safety_violated for report in result.reports) else 1
    return 1 if result.violations else 0


def _select_seeds(args: argparse.Namespace) -> list[int]:
    if args.seed is not None:
        return [args.seed]
    seeds: list[int] = []
    seed = args.first_seed
    while len(seeds) < args.seeds:
        if args.kind is None or args.attack or get_fault_kind(seed) == args.kind:
            seeds.append(seed)
        seed += 1
    return seeds


def _print_report(scenario: Scenario, report: SimReport, as_json: bool) -> None:
    if as_json:
        fields = {
            "seed": report.seed,
            "faults": scenario.kind,
            "validators": scenario.config.validators,
            "stakes": list(scenario.config.stakes),
            "coalition": [list(member) for member in scenario.config.behaviours],
            "coalitionPermille": scenario.coalition_permille(),
            "blocks": report.blocks,
            "finalizedHeight": report.finalized_height,
            "setId": report.set_id,
            "finalityLagP50Ms": report.lag_percentile(50),
            "finalityLagP99Ms": report.lag_percentile(99),
            "finalityLagsMs": report.finality_lags_ms,
            "messages": report.messages,
            "offences": report.offences,
            "equivocatorsSeen": report.equivocators_seen,
            "equivocatorsLanded": report.equivocators_landed,
            "equivocatorsExempt": report.equivocators_exempt,
            "safetyAlarms": report.safety_alarms,
            "violations": report.violations,
            "finalStateRoot": "0x" + report.final_state_root.hex(),
        }
        print(json.dumps(fields), flush=True)
    else:
        print(f"[{scenario.describe()}] {report.summary()}", flush=True)


def _non_negative(text: str) -> int:
    return _at_least(0)(text)


def _positive(text: str) -> int:
    return _at_least(1)(text)


def _at_least(minimum: int):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse

"""``flockchain simulate``: run the deterministic consensus simulator over seeds and report.

Each seed prints one line (blocks, finalized height, finality lag percentiles, messages, offences
and any invariant violation); the exit status is 1 if any seed broke an invariant, so a failing
seed can be replayed alone with ``--seed``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from flockchain.simulator.scenarios import get_fault_kind, run_campaign
from flockchain.simulator.simulation import SimConfig, SimReport


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("simulate", help="run the deterministic multi-node consensus simulator")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seeds", type=_positive, default=10, help="run seeds 0..N-1 (default 10)")
    which.add_argument("--seed", type=_non_negative, help="run this one seed (replay)")
    parser.add_argument("--first-seed", type=_non_negative, default=0, help="start --seeds here (default 0)")
    parser.add_argument("--validators", type=_at_least(2), default=SimConfig.validators, help="validators (default 4)")
    parser.add_argument("--slots", type=_at_least(10), default=SimConfig.slots, help="slots per run (default 60)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per seed instead of text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    seeds = [args.seed] if args.seed is not None else range(args.first_seed, args.first_seed + args.seeds)
    base = replace(SimConfig(), validators=args.validators, slots=args.slots)
    result = run_campaign(seeds, base, on_report=lambda report: _print_report(report, args.json))
    if not args.json:
        print(result.summary())
    return 1 if result.violations else 0


def _print_report(report: SimReport, as_json: bool) -> None:
    if as_json:
        fields = {
            "seed": report.seed,
            "faults": get_fault_kind(report.seed),
            "blocks": report.blocks,
            "finalizedHeight": report.finalized_height,
            "finalityLagP50Ms": report.lag_percentile(50),
            "finalityLagP99Ms": report.lag_percentile(99),
            "messages": report.messages,
            "offences": report.offences,
            "violations": report.violations,
            "finalStateRoot": "0x" + report.final_state_root.hex(),
        }
        print(json.dumps(fields), flush=True)
    else:
        print(f"[{get_fault_kind(report.seed)}] {report.summary()}", flush=True)


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

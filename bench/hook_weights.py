"""What the heavy hooks declare as their weight ÷ what they cost, with a transfer as the ruler.

    python bench/hook_weights.py [--validators 100] [--delegators 2000] [--votes 256] [--rounds 5]

A block's hooks weigh their work in advance (``on_initialize``; ``runtime/framework/weights.py``)
and the executive counts it before any transaction. This measures, in one process and run:

- the cost of one signed transfer in a block (a block of transfers minus an empty block), which
  weighs ``TRANSFER_WEIGHT``: the ruler;
- an era's last block (every validator paid with its backers, the election over every
  candidate and delegation) minus an ordinary block, at the same state;
- governance's voting deadline with that many votes to unlock and a parameter change enacted.

For each heavy block it prints the weight declared (the block's recorded weight above an
ordinary block's), the weight measured (its time above an ordinary block's, in transfers, times
``TRANSFER_WEIGHT``) and declared ÷ measured: at or above 1 the hooks never run longer than
their weight says, relative to the calls. The median of ``--rounds`` timings is used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the in-memory state tests use

from runtime.accounts import FLOCK, TREASURY_ACCOUNT  # noqa: E402
from runtime.block import UnsignedExtrinsic, encode_extrinsic, sign_extrinsic  # noqa: E402
from runtime.construct import construct_runtime  # noqa: E402
from runtime.executive import Executive  # noqa: E402
from runtime.framework.pallet import BlockEnvironment, DispatchContext, Origin  # noqa: E402
from runtime.framework.storage import Overlay  # noqa: E402
from runtime.framework.weights import TRANSFER_WEIGHT  # noqa: E402
from runtime.pallets import balances, governance, staking, system  # noqa: E402
from runtime.pallets.timestamp import SetArgs  # noqa: E402
from runtime.primitives.address import encode_address  # noqa: E402
from runtime.primitives.hashing import TAG_GENESIS, tagged_hash  # noqa: E402
from runtime_helpers import DictState, named_keypair  # noqa: E402

GENESIS_HASH = tagged_hash(TAG_GENESIS, b"bench hook weights")
DEV_SPEC = Path(__file__).resolve().parent.parent / "genesis" / "specs" / "dev.json"
SLOT_MS = 1_000
ERA_LENGTH = 4  # blocks; an epoch is one block, so every block ends one
TRANSFERS = 200


class Bench:
    def __init__(self, validators: int, delegators: int) -> None:
        self.runtime = construct_runtime()
        self.executive = Executive(self.runtime, GENESIS_HASH)
        self.validators = [named_keypair(f"validator {i}").public_key for i in range(validators)]
        self.delegators = [named_keypair(f"delegator {i}").public_key for i in range(delegators)]
        self.sender = named_keypair("sender")
        accounts = [TREASURY_ACCOUNT, self.sender.public_key, *self.validators, *self.delegators]
        # The dev chain's parameters, with these validators, short eras and a quick governance.
        sections = json.loads(DEV_SPEC.read_text())["genesis"]["runtime"]
        sections["balances"]["balances"] = [[encode_address(who), 1_000_000 * FLOCK] for who in accounts]
        sections["session"].update(authorities=[encode_address(who) for who in self.validators], epochLengthBlocks=1)
        sections["staking"].update(
            eraLengthBlocks=ERA_LENGTH,
            validatorCount=validators,
            stakers=[[encode_address(who), 100_000 * FLOCK, 0] for who in self.validators],
        )
        # Only the author of each one-block epoch is active in it: no unresponsiveness offences.
        sections["offences"].update(minUnresponsivenessPerbill=0, maxUnresponsivenessPerbill=0)
        sections["governance"].update(flagPeriodBlocks=2, votingPeriodBlocks=2, enactmentDelayBlocks=0, quorum=1)
        self.state = DictState().apply(self.runtime.build_genesis(sections))

    def context(self, state: DictState, number: int) -> DispatchContext:
        env = BlockEnvironment(number, bytes(32), number, number * SLOT_MS, self.validators[0])
        return DispatchContext(self.runtime, Overlay(state), env, GENESIS_HASH)

    def dispatch(self, state: DictState, number: int, calls: list[tuple[bytes, object]]) -> DictState:
        """Apply calls straight to the state (setting up, not measured)."""
        ctx = self.context(state, number)
        for who, args in calls:
            call = self.runtime.decode_call(self.runtime.encode_call(args))  # type: ignore[arg-type]
            call.definition.handler(call.pallet, ctx, Origin.signed(who), call.args)
        return state.apply(ctx.state.changes)

    def next_block(self, state: DictState, extrinsics: tuple[bytes, ...] = ()) -> tuple[DictState, float]:
        number = system.Number.get(state) + 1
        timestamp = number * SLOT_MS
        author = self.validators[number % len(self.validators)]
        env = BlockEnvironment(number, bytes(32), number, timestamp, author)
        inherent = encode_extrinsic(UnsignedExtrinsic(self.runtime.encode_call(SetArgs(timestamp))))
        start = time.perf_counter()
        changes = self.executive.execute_block(state, env, (inherent, *extrinsics))
        elapsed = time.perf_counter() - start
        return state.apply(changes), elapsed

    def time_block(self, state: DictState, extrinsics: tuple[bytes, ...], rounds: int) -> tuple[float, int]:
        """Median time of the next block on ``state`` and the weight it records."""
        times = []
        for _ in range(rounds):
            after, elapsed = self.next_block(state, extrinsics)
            times.append(elapsed)
        return statistics.median(times), system.BlockWeight.get(after)

    def transfers(self, state: DictState) -> tuple[bytes, ...]:
        nonce = system.get_account(state, self.sender.public_key).nonce
        recipient = self.delegators[0] if self.delegators else self.validators[0]
        return tuple(
            encode_extrinsic(
                sign_extrinsic(
                    self.sender,
                    GENESIS_HASH,
                    nonce=nonce + i,
                    call=self.runtime.encode_call(balances.TransferArgs(recipient, FLOCK)),
                )
            )
            for i in range(TRANSFERS)
        )


def advance_to(bench: Bench, state: DictState, is_target: Callable[[int], bool]) -> DictState:
    """Run blocks until the next one is a target."""
    while not is_target(system.Number.get(state) + 1):
        state, _ = bench.next_block(state)
    return state


def run(*, validators: int, delegators: int, votes: int, rounds: int) -> dict[str, Any]:
    """The ruler and, for each heavy block, its time and its weight declared and measured."""
    bench = Bench(validators, delegators)
    per_validator = max(1, delegators // max(1, validators))

    def target(index: int) -> bytes:
        return bench.validators[(index // per_validator) % len(bench.validators)]

    state = bench.dispatch(
        bench.state,
        1,
        [
            (who, args)
            for index, who in enumerate(bench.delegators)
            for args in (
                staking.BondArgs(10 * FLOCK),
                staking.DelegateArgs((staking.Delegation(target(index), 10 * FLOCK),)),
            )
        ],
    )
    # Run into the next era, so the delegations are elected and exposed.
    state = advance_to(bench, state, lambda number: number > ERA_LENGTH and number % ERA_LENGTH == 1)

    empty, empty_weight = bench.time_block(state, (), rounds)
    full, _ = bench.time_block(state, bench.transfers(state), rounds)
    per_transfer = (full - empty) / TRANSFERS
    report: dict[str, Any] = {"transfer_us": per_transfer * 1e6, "ordinary_block_ms": empty * 1e3, "blocks": {}}

    def note(name: str, elapsed: float, weight: int) -> None:
        measured = (elapsed - empty) / per_transfer * TRANSFER_WEIGHT
        declared = weight - empty_weight
        report["blocks"][name] = {"ms": elapsed * 1e3, "declared": declared, "measured": measured}

    # Every validator earns a point, so the era's end pays all of them and their backers.
    era_end = advance_to(bench, state, lambda number: number % ERA_LENGTH == 0)
    ctx = bench.context(era_end, system.Number.get(era_end))
    for validator in staking.Elected.get(era_end):
        staking.RewardPoints.put(ctx.state, validator, 1)
    era_end = era_end.apply(ctx.state.changes)
    note(f"era end ({validators} validators, {delegators} delegations)", *bench.time_block(era_end, (), rounds))

    # Governance: a parameter change that passed its flag period, with that many votes.
    voters = bench.delegators[:votes]
    parameters = governance.get_parameters(state)
    change = bench.runtime.encode_call(governance.PARAMETERS.call_args(parameters))  # type: ignore[call-arg]
    number = system.Number.get(state) + 1
    proposal_args = governance.ProposeArgs(change, bytes(32), parameters.proposal_stake)
    state = bench.dispatch(state, number, [(bench.validators[0], proposal_args)])
    state = advance_to(bench, state, lambda n: n == number + parameters.flag_period_blocks + 1)
    state = bench.dispatch(
        state,
        system.Number.get(state) + 1,
        [(who, governance.VoteArgs(0, governance.VOTE_AYE, FLOCK)) for who in voters],
    )
    proposal = governance.Proposals.get(state, 0)
    state = advance_to(bench, state, lambda n: n == proposal.deadline)
    note(f"governance voting ends ({len(voters)} votes)", *bench.time_block(state, (), rounds))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validators", type=int, default=100)
    parser.add_argument("--delegators", type=int, default=2000)
    parser.add_argument("--votes", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(validators=args.validators, delegators=args.delegators, votes=args.votes, rounds=args.rounds)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"one transfer in a block: {report['transfer_us']:.0f} µs = {TRANSFER_WEIGHT} weight (the ruler)")
    print(f"an ordinary block: {report['ordinary_block_ms']:.2f} ms")
    for name, row in report["blocks"].items():
        print(
            f"{name}: {row['ms']:.1f} ms; declared {row['declared']:,} weight, measured {row['measured']:,.0f}; "
            f"declared ÷ measured {row['declared'] / row['measured']:.2f}"
        )


if __name__ == "__main__":
    main()

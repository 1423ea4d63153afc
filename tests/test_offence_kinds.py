"""Offences for any offender kind: a kind registered with its own handler (here a stand-in for
an ML market whose workers stake on hold) is reported through ``report_offence``, its slash is
deferred like a validator's, and applied through the handler to the held stake, with the
reporter paid from what was slashed — while validators keep their own kinds and handler.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from runtime.abc import StateReader
from runtime.accounts import CONSENSUS_REWARD_POOL_ACCOUNT, TREASURY_ACCOUNT
from runtime.construct import construct_runtime
from runtime.framework.pallet import DispatchContext
from runtime.framework.traits import OffenceKind
from runtime.pallets import balances, offences, session, staking
from runtime.primitives.arithmetic import Perbill
from runtime_helpers import finalize_hooks, named_keypair, new_test_ext

ALICE = named_keypair("alice").public_key
WORKER, HONEST, REPORTER = (named_keypair(name).public_key for name in ("worker", "honest worker", "reporter"))
WORKER_STAKE = b"ml/stake"
KIND_BAD_REVEAL = 100
ED = 1_000
ERA_LENGTH = 5
FRACTION = Perbill(250_000_000)  # a quarter of the stake


@dataclass
class WorkerStakes:
    """An offender handler over the currency's holds: a worker is punishable while it holds a
    stake; a slash takes from that hold."""

    def get_stakes(self, state: StateReader, offender: bytes, era: int) -> tuple[tuple[bytes, int], ...] | None:
        stake = BALANCES.get_held(state, offender, WORKER_STAKE)
        return ((offender, stake),) if stake else None

    def get_population(self, state: StateReader, era: int) -> int:
        return 2

    def on_offence(self, ctx: DispatchContext, offender: bytes) -> None:
        self.offended.append(offender)

    def slash(self, ctx: DispatchContext, offender: bytes, who: bytes, amount: int, dest: bytes) -> int:
        return BALANCES.slash_held(ctx, WORKER_STAKE, who, amount, dest)

    offended: list[bytes]


def fixed_fraction(state: StateReader, offenders: int, population: int) -> Perbill:
    return FRACTION


# A runtime whose offences pallet also knows the workers' kind (construct.py would register it
# for a real ML pallet, as it registers staking for validators).
RUNTIME = construct_runtime()
BALANCES: balances.Balances = RUNTIME.pallet("balances")  # type: ignore[assignment]
SESSION: session.Session = RUNTIME.pallet("session")  # type: ignore[assignment]
STAKING: staking.Staking = RUNTIME.pallet("staking")  # type: ignore[assignment]
OFFENCES: offences.Offences = RUNTIME.pallet("offences")  # type: ignore[assignment]
WORKERS = WorkerStakes([])
OFFENCES.configure(
    currency=BALANCES,
    session=SESSION,
    staking=STAKING,
    validators=STAKING,
    kinds=(OffenceKind(KIND_BAD_REVEAL, "ML reveal does not match its commit", WORKERS, fixed_fraction),),
)


@pytest.fixture
def workers() -> WorkerStakes:
    WORKERS.offended.clear()
    return WORKERS


def new_ext() -> DispatchContext:
    ctx = new_test_ext(
        runtime=RUNTIME,
        accounts=[(TREASURY_ACCOUNT, ED), (CONSENSUS_REWARD_POOL_ACCOUNT, ED)],
        endowed=(ALICE, WORKER, HONEST, REPORTER),
        balance=100_000,
        existential_deposit=ED,
        authorities=(ALICE,),
        stakers=((ALICE, 20_000, 0),),
        config={
            "staking": {
                "eraLengthBlocks": ERA_LENGTH,
                "bondingDurationEras": 2,
                "validatorCount": 1,
                "minValidatorBond": 10_000,
                "maxCommissionPerbill": 0,
                "maxCommissionChangePerbill": 0,
            },
            "offences": {
                "slashDeferEras": 0,
                "reporterRewardPerbill": 100_000_000,  # 10 %
                "minBlockEquivocationPerbill": 0,
                "minVoteEquivocationPerbill": 0,
                "minUnresponsivenessPerbill": 0,
                "maxUnresponsivenessPerbill": 0,
            },
        },
        author=ALICE,
    )
    BALANCES.hold(ctx, WORKER_STAKE, WORKER, 40_000)
    BALANCES.hold(ctx, WORKER_STAKE, HONEST, 40_000)
    return ctx


def end_era(ctx: DispatchContext) -> list[object]:
    events: list[object] = []
    for number in range(1, ERA_LENGTH + 1):
        events += finalize_hooks(ctx, ("staking", "session"), number, ALICE)
    return events


def test_a_worker_offence_is_reported_deferred_and_slashed_from_its_hold(workers: WorkerStakes) -> None:
    ctx = new_ext()
    issuance = BALANCES.get_total_issuance(ctx.state)
    OFFENCES.report_offence(ctx, KIND_BAD_REVEAL, WORKER, (7,), REPORTER)
    assert workers.offended == [WORKER]
    assert offences.OffenceRecorded(KIND_BAD_REVEAL, WORKER, 0, FRACTION.parts, 0) in [
        record.event for record in ctx.event_records()
    ]
    assert BALANCES.get_held(ctx.state, WORKER, WORKER_STAKE) == 40_000  # deferred to the era's end
    treasury_before = BALANCES.get_free_balance(ctx.state, TREASURY_ACCOUNT)
    reporter_before = BALANCES.get_free_balance(ctx.state, REPORTER)

    events = end_era(ctx)

    assert offences.SlashApplied(WORKER, KIND_BAD_REVEAL, 10_000) in events
    assert BALANCES.get_held(ctx.state, WORKER, WORKER_STAKE) == 30_000
    assert BALANCES.get_held(ctx.state, HONEST, WORKER_STAKE) == 40_000  # no effect on the honest worker
    assert BALANCES.get_free_balance(ctx.state, REPORTER) == reporter_before + 1_000
    assert BALANCES.get_free_balance(ctx.state, TREASURY_ACCOUNT) == treasury_before + 9_000
    assert BALANCES.get_total_issuance(ctx.state) == issuance
    assert staking.is_validating(ctx.state, ALICE)  # validators are untouched
    assert RUNTIME.try_state(ctx.state) == []


def test_a_worker_offence_is_punished_once_and_only_while_staked(workers: WorkerStakes) -> None:
    ctx = new_ext()
    OFFENCES.report_offence(ctx, KIND_BAD_REVEAL, WORKER, (7,), None)
    with pytest.raises(offences.DuplicateReport):
        OFFENCES.report_offence(ctx, KIND_BAD_REVEAL, WORKER, (7,), None)
    with pytest.raises(offences.NotPunishable):
        OFFENCES.report_offence(ctx, KIND_BAD_REVEAL, REPORTER, (7,), None)  # nothing on hold
    with pytest.raises(offences.UnknownKind):
        OFFENCES.report_offence(ctx, KIND_BAD_REVEAL + 1, WORKER, (7,), None)


def test_a_kind_id_cannot_be_registered_twice() -> None:
    kind = OffenceKind(offences.KIND_BLOCK_EQUIVOCATION, "a clash", WorkerStakes([]), fixed_fraction)
    with pytest.raises(ValueError, match="share an id"):
        offences.Offences().configure(
            currency=BALANCES, session=SESSION, staking=STAKING, validators=STAKING, kinds=(kind,)
        )

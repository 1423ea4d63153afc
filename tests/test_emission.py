"""The emission pallet: the decaying schedule in exact integers, pro rata payment per block,
the split between the reward pools, exhaustion of the reserve, genesis and invariants.

Worked numbers use D_0 = 1 FLOCK = 10^9 base units per day unless a test says otherwise; a
day is 86,400,000 ms, so one second of month 0 is worth 10^9 × 1,000 / 86,400,000 =
11,574.07... base units.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import genesis.spec
from runtime.accounts import (
    CONSENSUS_REWARD_POOL_ACCOUNT,
    EMISSION_RESERVE_ACCOUNT,
    FLOCK,
    ML_REWARD_POOL_ACCOUNT,
    TOTAL_SUPPLY,
    TREASURY_ACCOUNT,
)
from runtime.block import UnsignedExtrinsic, encode_extrinsic
from runtime.construct import PALLET_INDICES, construct_runtime
from runtime.errors import ArithmeticOverflow
from runtime.executive import Executive
from runtime.framework.pallet import BlockEnvironment, DispatchContext
from runtime.framework.runtime import GENESIS_ENVIRONMENT
from runtime.framework.storage import Overlay
from runtime.pallets import balances, emission, system, timestamp
from runtime.pallets.emission import DAY_MS, MONTH_MS, EmissionParameters
from runtime.primitives.address import encode_address
from runtime.primitives.arithmetic import PERBILL_ACCURACY, Perbill
from runtime_helpers import (
    BALANCES,
    TEST_AUTHORITY,
    TEST_GENESIS_HASH,
    DictState,
    build_genesis_state,
    compute_test_block_hash,
    execute_block,
)

RUNTIME = construct_runtime()
EXECUTIVE = Executive(RUNTIME, TEST_GENESIS_HASH)
EMISSION_INDEX = PALLET_INDICES["emission"]
ONE_THIRD = 333_333_333  # Perbill parts
TEN_PERCENT = 100_000_000
HALF = 500_000_000
T0 = 1_000  # timestamp of the first block in these tests: the schedule's time zero


def new_chain(
    *,
    daily: int = FLOCK,
    decay: int = 0,
    ml_share: int = 0,
    reserve: int = 1_000_000 * FLOCK,
    existential_deposit: int = 1,
    extra_balances: tuple[tuple[bytes, int], ...] = (),
) -> DictState:
    """A genesis state with the reserve, the treasury and an emission section; blocks may be
    1 ms apart (minimum period 1) so any sequence of times is possible."""
    return build_genesis_state(
        RUNTIME,
        [],
        config={
            "balances": {
                "existentialDeposit": existential_deposit,
                "balances": [
                    [encode_address(who), amount]
                    for who, amount in (
                        (TREASURY_ACCOUNT, 1_000 * FLOCK),
                        (EMISSION_RESERVE_ACCOUNT, reserve),
                        *extra_balances,
                    )
                ],
            },
            "timestamp": {"minimumPeriod": 1},
            "emission": {"dailyEmission": daily, "monthlyDecayPerbill": decay, "mlSharePerbill": ml_share},
        },
    )


def execute_block_at(state: DictState, now: int) -> DictState:
    """The next block with timestamp ``now`` (and only its timestamp inherent); every
    invariant of the runtime must hold after it."""
    number = system.Number.get(state) + 1
    env = BlockEnvironment(number, compute_test_block_hash(number - 1), number, now, TEST_AUTHORITY.public_key)
    inherent = encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(timestamp.SetArgs(now))))
    after = state.apply(EXECUTIVE.execute_block(state, env, (inherent,)))
    assert RUNTIME.try_state(after) == []
    return after


def emission_events(state: DictState) -> list[Any]:
    return [
        record.event
        for record in RUNTIME.decode_events(system.Events.get(state))
        if record.pallet_index == EMISSION_INDEX
    ]


def paid_in_block(state: DictState) -> int:
    return sum(event.amount for event in emission_events(state) if isinstance(event, emission.Emitted))


def free(state: DictState, who: bytes) -> int:
    return BALANCES.get_free_balance(state, who)


def schedule(daily: int, decay: int = 0, ml_share: int = 0) -> EmissionParameters:
    return EmissionParameters(daily, decay, ml_share)


# --- the first block and pro rata payment -------------------------------------------------


def test_first_block_starts_the_schedule_and_pays_nothing() -> None:
    state = execute_block_at(new_chain(), T0)
    assert emission.EmissionStart.get(state) == emission.PaidUntil.get(state) == T0
    assert emission_events(state) == []
    assert free(state, EMISSION_RESERVE_ACCOUNT) == 1_000_000 * FLOCK
    assert emission.TotalEmitted.get(state) == 0


def test_first_month_pays_the_daily_emission_per_day() -> None:
    """D_0 = 1 FLOCK/day: a block one day after the start pays exactly 10^9; the consensus
    pool gets it all (ml_share 0), and the reserve gives exactly that."""
    state = execute_block_at(execute_block_at(new_chain(), T0), T0 + DAY_MS)
    assert emission_events(state) == [emission.Emitted(FLOCK, FLOCK, 0)]
    assert free(state, CONSENSUS_REWARD_POOL_ACCOUNT) == FLOCK
    assert free(state, EMISSION_RESERVE_ACCOUNT) == 1_000_000 * FLOCK - FLOCK
    assert emission.TotalEmitted.get(state) == FLOCK


def test_block_time_proration_has_no_rounding_drift() -> None:
    """One-second blocks: E(k s) = floor(k × 11,574.07...). Seconds 1 to 13 pay 11,574 each;
    the 14th pays 11,575, because E(14 s) = floor(162,037.03) = 162,037. Flooring each block
    on its own would have paid 14 × 11,574 = 162,036 and lost a unit every 14 seconds."""
    state = execute_block_at(new_chain(), T0)
    payments = []
    for second in range(1, 15):
        state = execute_block_at(state, T0 + 1_000 * second)
        payments.append(paid_in_block(state))
    assert payments == [11_574] * 13 + [11_575]
    assert sum(payments) == emission.TotalEmitted.get(state) == 162_037
    assert emission.compute_emitted_by(schedule(FLOCK), 14_000) == 162_037


def test_an_emission_below_one_unit_is_paid_later_not_lost() -> None:
    """D_0 = 86,400 units/day is one unit per second: 400 ms blocks pay 0, 0, 1, 0, 1 (E at
    0.4 s steps floors to 0, 0, 1, 1, 2); no event for the empty blocks."""
    state = execute_block_at(new_chain(daily=86_400), T0)
    payments = []
    for step in range(1, 6):
        state = execute_block_at(state, T0 + 400 * step)
        payments.append(paid_in_block(state))
        if payments[-1] == 0:
            assert emission_events(state) == []
    assert payments == [0, 0, 1, 0, 1]


# --- the split ----------------------------------------------------------------------------


def test_split_rounds_the_ml_share_down_cumulatively() -> None:
    """ml_share = 333,333,333 parts (one third, rounded down). Block 2 pays 11,574: the ML
    pool gets floor(11,574 × 0.333333333) = 3,857, the consensus pool 7,717. Block 3 pays
    11,574 more: the ML total becomes floor(23,148 × 0.333333333) = 7,715, so its part is
    3,858 and the consensus part 7,716. The ML pool always holds floor(share × emitted)."""
    state = execute_block_at(new_chain(ml_share=ONE_THIRD), T0)
    state = execute_block_at(state, T0 + 1_000)
    assert emission_events(state) == [emission.Emitted(11_574, 7_717, 3_857)]
    state = execute_block_at(state, T0 + 2_000)
    assert emission_events(state) == [emission.Emitted(11_574, 7_716, 3_858)]
    assert free(state, ML_REWARD_POOL_ACCOUNT) == Perbill(ONE_THIRD).mul_floor(23_148) == 7_715
    assert free(state, CONSENSUS_REWARD_POOL_ACCOUNT) == 23_148 - 7_715


@given(
    share=st.integers(0, PERBILL_ACCURACY),
    amounts=st.lists(st.integers(0, 10**15), min_size=1, max_size=20),
)
def test_split_parts_add_up_and_the_ml_total_is_one_floor(share: int, amounts: list[int]) -> None:
    parameters = schedule(FLOCK, 0, share)
    emitted, ml_total = 0, 0
    for amount in amounts:
        consensus_part, ml_part = emission.compute_split(parameters, emitted, amount)
        assert consensus_part + ml_part == amount and consensus_part >= 0 and ml_part >= 0
        emitted, ml_total = emitted + amount, ml_total + ml_part
    assert ml_total == Perbill(share).mul_floor(emitted)


def test_a_part_too_small_to_open_a_pool_goes_to_the_treasury() -> None:
    """ED 1,000 and one unit per ms, split in halves: the first 1 s block's parts (500 each)
    cannot open the pools, so the treasury takes them; a 10 s block (5,000 each) opens both
    pools, and from then on any part goes to the pools."""
    state = execute_block_at(new_chain(daily=DAY_MS, ml_share=HALF, existential_deposit=1_000), T0)
    treasury_before = free(state, TREASURY_ACCOUNT)
    state = execute_block_at(state, T0 + 1_000)
    assert free(state, TREASURY_ACCOUNT) == treasury_before + 1_000
    assert not system.Account.contains(state, CONSENSUS_REWARD_POOL_ACCOUNT)
    state = execute_block_at(state, T0 + 11_000)
    assert (free(state, CONSENSUS_REWARD_POOL_ACCOUNT), free(state, ML_REWARD_POOL_ACCOUNT)) == (5_000, 5_000)
    state = execute_block_at(state, T0 + 11_200)
    assert (free(state, CONSENSUS_REWARD_POOL_ACCOUNT), free(state, ML_REWARD_POOL_ACCOUNT)) == (5_100, 5_100)
    assert free(state, TREASURY_ACCOUNT) == treasury_before + 1_000
    assert emission.TotalEmitted.get(state) == 11_200


# --- decay --------------------------------------------------------------------------------


def test_decay_is_applied_month_by_month_rounding_down() -> None:
    """D_0 = 999, d = 10%: D_1 = floor(899.1) = 899 = 999 − ceil(99.9); D_2 = floor(809.1) = 809;
    D_3 = floor(728.1) = 728. A full month pays 30 × D_m."""
    parameters = schedule(999, TEN_PERCENT)
    assert [emission.compute_daily_emission(parameters, month) for month in range(4)] == [999, 899, 809, 728]
    assert emission.compute_emitted_by(parameters, 2 * MONTH_MS) == 30 * (999 + 899)
    assert emission.compute_emitted_by(parameters, 2 * MONTH_MS + DAY_MS) == 30 * (999 + 899) + 809


@given(daily=st.integers(0, 2**64 - 1), decay=st.integers(0, PERBILL_ACCURACY))
def test_the_two_decay_formulas_agree(daily: int, decay: int) -> None:
    """floor(D × (1 − d)) is D − ceil(D × d): either way of writing the decay gives D_{m+1}."""
    next_daily = emission.compute_next_daily_emission(schedule(daily, decay), daily)
    assert next_daily == Perbill(decay).complement().mul_floor(daily) == daily - Perbill(decay).mul_ceil(daily)


def test_a_block_at_a_month_boundary_pays_the_next_days_at_the_decayed_rate() -> None:
    """D_0 = 1 FLOCK, d = 10%: a block at the end of month 0 pays 30 FLOCK in all; a block one
    day later pays D_1 = 0.9 FLOCK."""
    state = execute_block_at(new_chain(decay=TEN_PERCENT), T0)
    state = execute_block_at(state, T0 + MONTH_MS)
    assert emission.TotalEmitted.get(state) == 30 * FLOCK
    state = execute_block_at(state, T0 + MONTH_MS + DAY_MS)
    assert paid_in_block(state) == 900_000_000


def test_a_block_spanning_a_month_boundary() -> None:
    """D_0 = 1 FLOCK, d = 10%. A block 1 s before the end of month 0 has paid
    E = 30 × 10^9 − 11,575 = 29,999,988,425 (the last second is floor(11,574.07) short of
    it, rounded up). The next block, 2 s into month 1, pays the last second of month 0
    (11,575) and two seconds at D_1 = 0.9 FLOCK/day (floor(20,833.3) = 20,833): 32,408."""
    state = execute_block_at(new_chain(decay=TEN_PERCENT), T0)
    state = execute_block_at(state, T0 + MONTH_MS - 1_000)
    assert paid_in_block(state) == 29_999_988_425
    state = execute_block_at(state, T0 + MONTH_MS + 2_000)
    assert paid_in_block(state) == 11_575 + 20_833 == 32_408
    assert emission.TotalEmitted.get(state) == 30 * FLOCK + 20_833


def test_full_decay_stops_emission_after_month_zero() -> None:
    parameters = schedule(FLOCK, PERBILL_ACCURACY)
    assert emission.compute_emitted_by(parameters, 100 * MONTH_MS) == 30 * FLOCK


# --- the cumulative schedule (properties) -------------------------------------------------

parameters_strategy = st.builds(
    EmissionParameters,
    daily_emission=st.integers(0, 10**16),
    monthly_decay_parts=st.integers(0, PERBILL_ACCURACY),
    ml_share_parts=st.integers(0, PERBILL_ACCURACY),
)
# Gaps between blocks: mostly seconds, sometimes days or months (so spans cross months).
gap_strategy = st.one_of(st.integers(1, 10_000), st.integers(1, 3 * DAY_MS), st.integers(1, 3 * MONTH_MS))


@given(parameters=parameters_strategy, start=st.integers(0, 60 * MONTH_MS), gaps=st.lists(gap_strategy, max_size=30))
def test_payments_add_up_to_the_whole_span(parameters: EmissionParameters, start: int, gaps: list[int]) -> None:
    times = [start]
    for gap in gaps:
        times.append(times[-1] + gap)
    payments = [emission.compute_emission_between(parameters, a, b) for a, b in zip(times, times[1:])]
    assert all(payment >= 0 for payment in payments)
    assert sum(payments) == emission.compute_emission_between(parameters, times[0], times[-1])


@given(
    parameters=parameters_strategy,
    span=st.integers(0, 40 * MONTH_MS),
    cuts_a=st.lists(st.integers(0, 40 * MONTH_MS), max_size=20),
    cuts_b=st.lists(st.integers(0, 40 * MONTH_MS), max_size=20),
)
def test_payments_do_not_depend_on_how_time_is_cut(
    parameters: EmissionParameters, span: int, cuts_a: list[int], cuts_b: list[int]
) -> None:
    def total(cuts: list[int]) -> int:
        times = sorted({0, span, *(cut for cut in cuts if cut <= span)})
        return sum(emission.compute_emission_between(parameters, a, b) for a, b in zip(times, times[1:]))

    assert total(cuts_a) == total(cuts_b) == emission.compute_emitted_by(parameters, span)


@given(parameters=parameters_strategy, months=st.integers(0, 50))
def test_full_months_pay_thirty_days_of_each_months_rate(parameters: EmissionParameters, months: int) -> None:
    expected = sum(30 * emission.compute_daily_emission(parameters, month) for month in range(months))
    assert emission.compute_emitted_by(parameters, months * MONTH_MS) == expected


def test_time_running_backwards_is_refused() -> None:
    with pytest.raises(ArithmeticError):
        emission.compute_emission_between(schedule(FLOCK), 2_000, 1_000)


@settings(max_examples=40, deadline=None)
@given(
    parameters=parameters_strategy,
    reserve=st.integers(1, 10**15),
    gaps=st.lists(gap_strategy, min_size=1, max_size=12),
)
def test_blocks_pay_the_schedule_or_what_the_reserve_has(
    parameters: EmissionParameters, reserve: int, gaps: list[int]
) -> None:
    """Through real blocks: after each block the total paid is min(E(t − t0), reserve − ED),
    the pools received exactly that, and every invariant holds."""
    state = new_chain(
        daily=parameters.daily_emission,
        decay=parameters.monthly_decay_parts,
        ml_share=parameters.ml_share_parts,
        reserve=reserve,
    )
    state = execute_block_at(state, T0)
    now, paid = T0, 0
    for gap in gaps:
        now += gap
        state = execute_block_at(state, now)
        paid += paid_in_block(state)
        scheduled = emission.compute_emitted_by(parameters, now - T0)
        assert paid == emission.TotalEmitted.get(state) == min(scheduled, reserve - 1)
        assert free(state, CONSENSUS_REWARD_POOL_ACCOUNT) + free(state, ML_REWARD_POOL_ACCOUNT) == paid
        assert free(state, EMISSION_RESERVE_ACCOUNT) == reserve - paid
        assert emission.Exhausted.get(state) == (scheduled > 0 and scheduled >= reserve - 1)


@settings(max_examples=20, deadline=None)
@given(
    parameters=parameters_strategy,
    span=st.integers(1, 4 * MONTH_MS),
    cuts_a=st.lists(st.integers(1, 4 * MONTH_MS), max_size=8),
    cuts_b=st.lists(st.integers(1, 4 * MONTH_MS), max_size=8),
)
def test_blocks_cut_differently_end_in_the_same_balances(
    parameters: EmissionParameters, span: int, cuts_a: list[int], cuts_b: list[int]
) -> None:
    """Two chains over the same span with different block times: the reserve, both pools and
    the emitted total end equal, to the base unit (the split is cumulative too)."""

    def run(cuts: list[int]) -> tuple[int, ...]:
        state = new_chain(
            daily=parameters.daily_emission,
            decay=parameters.monthly_decay_parts,
            ml_share=parameters.ml_share_parts,
        )
        for offset in sorted({0, span, *(cut for cut in cuts if cut < span)}):
            state = execute_block_at(state, T0 + offset)
        return (
            emission.TotalEmitted.get(state),
            *(
                free(state, who)
                for who in (EMISSION_RESERVE_ACCOUNT, CONSENSUS_REWARD_POOL_ACCOUNT, ML_REWARD_POOL_ACCOUNT)
            ),
        )

    assert run(cuts_a) == run(cuts_b)


# --- exhaustion ---------------------------------------------------------------------------


def test_the_reserve_runs_out_and_emission_stops_for_good() -> None:
    """Reserve 100 FLOCK (+ ED 1), D_0 = 1 FLOCK, d = 10%: months 0, 1 and 2 pay 30, 27 and
    24.3 FLOCK (81.3 in all after day 90); month 3 pays D_3 = 0.729 FLOCK/day, so the schedule
    reaches 100 FLOCK during day 116 (81.3 + 25.65 × 0.729). With weekly blocks, week 16
    (day 112) pays in full and week 17 (day 119) finds the reserve short: it pays what is left
    above the ED and emits ReserveExhausted, once. Later blocks pay nothing, even after
    someone pays into the reserve."""
    alice = TEST_AUTHORITY.public_key
    reserve = 100 * FLOCK + 1
    chain = new_chain(decay=TEN_PERCENT, ml_share=HALF, reserve=reserve, extra_balances=((alice, 10 * FLOCK),))
    state = execute_block_at(chain, T0)
    exhausted_in = []
    for week in range(1, 30):
        now = T0 + week * 7 * DAY_MS
        state = execute_block_at(state, now)
        if any(isinstance(event, emission.ReserveExhausted) for event in emission_events(state)):
            exhausted_in.append(week)
            assert emission_events(state)[-1] == emission.ReserveExhausted(100 * FLOCK)
    assert exhausted_in == [17]
    assert emission.compute_emitted_by(emission.get_parameters(state), 16 * 7 * DAY_MS) < 100 * FLOCK
    assert emission.Exhausted.get(state)
    assert emission.TotalEmitted.get(state) == 100 * FLOCK == reserve - free(state, EMISSION_RESERVE_ACCOUNT)
    assert free(state, EMISSION_RESERVE_ACCOUNT) == 1  # the existential deposit stays
    assert free(state, CONSENSUS_REWARD_POOL_ACCOUNT) == free(state, ML_REWARD_POOL_ACCOUNT) == 50 * FLOCK

    ctx = DispatchContext(RUNTIME, Overlay(state), GENESIS_ENVIRONMENT, TEST_GENESIS_HASH)
    BALANCES.transfer(ctx, alice, EMISSION_RESERVE_ACCOUNT, 5 * FLOCK, keep_alive=True)
    donated = state.apply(ctx.state.changes)
    assert RUNTIME.try_state(donated) == []
    later = execute_block_at(donated, now + 30 * DAY_MS)
    assert emission_events(later) == []
    assert free(later, EMISSION_RESERVE_ACCOUNT) == 5 * FLOCK + 1
    assert emission.TotalEmitted.get(later) == 100 * FLOCK


def test_one_block_decades_later_pays_the_whole_reserve_at_once() -> None:
    state = execute_block_at(new_chain(daily=10 * FLOCK, decay=TEN_PERCENT, reserve=100 * FLOCK), T0)
    state = execute_block_at(state, T0 + 360 * MONTH_MS)
    assert emission_events(state) == [
        emission.Emitted(100 * FLOCK - 1, 100 * FLOCK - 1, 0),
        emission.ReserveExhausted(100 * FLOCK - 1),
    ]


def test_an_empty_reserve_pays_nothing_and_is_exhausted_at_once() -> None:
    """A chain whose reserve holds only the existential deposit: the first block with
    something due marks the schedule exhausted, and nothing moves."""
    state = execute_block_at(new_chain(reserve=1), T0)
    state = execute_block_at(state, T0 + 1_000)
    assert emission_events(state) == [emission.ReserveExhausted(0)]
    assert free(state, EMISSION_RESERVE_ACCOUNT) == 1


def test_the_shipped_dev_schedule_spends_the_whole_reserve_and_never_mints() -> None:
    """The dev spec (D_0 = 300,000 FLOCK/day, d = 0.75 %/month, half to ML) from its real
    genesis, one block a month: the reserve of 984,000,000 FLOCK is spent in month 227 (about
    19 years), so the block at the end of month 227 is the one that finds it short. The total
    issuance stays 10^18 at every block, and the pools end with every unit the reserve gave."""
    spec = genesis.spec.load_chain_spec("dev")
    state = DictState(genesis.spec.build_genesis_state(spec))
    existential_deposit = spec.runtime_genesis["balances"]["existentialDeposit"]
    reserve = free(state, EMISSION_RESERVE_ACCOUNT)
    assert reserve == 984_000_000 * FLOCK
    state = execute_block_at(state, T0)
    exhausted_in = []
    for month in range(1, 241):
        state = execute_block_at(state, T0 + month * MONTH_MS)
        assert balances.get_total_issuance(state) == TOTAL_SUPPLY
        if emission.ReserveExhausted in {type(event) for event in emission_events(state)}:
            exhausted_in.append(month)
    assert exhausted_in == [228]
    spent = reserve - existential_deposit
    assert emission.TotalEmitted.get(state) == spent == reserve - free(state, EMISSION_RESERVE_ACCOUNT)
    assert free(state, ML_REWARD_POOL_ACCOUNT) == free(state, CONSENSUS_REWARD_POOL_ACCOUNT) == spent // 2
    assert sum(info.total for _, info in system.Account.iter(state)) == TOTAL_SUPPLY


# --- genesis ------------------------------------------------------------------------------


def test_genesis_export_rebuilds_the_same_state() -> None:
    state = new_chain(daily=123_456_789, decay=7_500_000, ml_share=ONE_THIRD)
    exported = RUNTIME.export_genesis(state)
    assert exported["emission"] == {
        "dailyEmission": 123_456_789,
        "monthlyDecayPerbill": 7_500_000,
        "mlSharePerbill": ONE_THIRD,
    }
    rebuilt = DictState().apply(RUNTIME.build_genesis(exported))
    assert list(rebuilt.iter_prefix(b"")) == list(state.iter_prefix(b""))


@pytest.mark.parametrize("name", ["dev", "local"])
def test_shipped_specs_emit_from_the_whole_unallocated_supply(name: str) -> None:
    spec = genesis.spec.load_chain_spec(name)
    state = genesis.spec.read_genesis_state(genesis.spec.build_genesis_state(spec))
    assert (
        RUNTIME.export_genesis(state)["emission"]
        == spec.runtime_genesis["emission"]
        == {
            "dailyEmission": 300_000 * FLOCK,
            "monthlyDecayPerbill": 7_500_000,
            "mlSharePerbill": HALF,
        }
    )
    assert emission.ReserveAtStart.get(state) == 984_000_000 * FLOCK
    assert emission.IssuanceAtStart.get(state) == TOTAL_SUPPLY
    assert not emission.is_started(state)


def test_a_chain_without_an_emission_section_emits_nothing() -> None:
    """The test fixtures' default: blocks run as before emission existed (no events, no
    transfers); the schedule still records its start."""
    alice = TEST_AUTHORITY.public_key
    state = build_genesis_state(RUNTIME, [alice])
    assert emission.get_parameters(state) == emission.DEFAULT_PARAMETERS
    executive = Executive(RUNTIME, TEST_GENESIS_HASH)
    for _ in range(3):
        state = execute_block(executive, state)
        assert emission_events(state) == []
        assert RUNTIME.try_state(state) == []
    assert emission.EmissionStart.get(state) == 1_000
    assert emission.TotalEmitted.get(state) == 0


def test_genesis_refuses_a_fraction_above_one() -> None:
    with pytest.raises(ValueError, match="mlSharePerbill is 1000000001"):
        new_chain(ml_share=PERBILL_ACCURACY + 1)
    data = genesis.spec.load_chain_spec("dev").to_dict()
    data["genesis"]["runtime"]["emission"]["monthlyDecayPerbill"] = PERBILL_ACCURACY + 1
    with pytest.raises(genesis.spec.GenesisError, match="monthlyDecayPerbill is 1000000001"):
        genesis.spec.validate(data)
    del data["genesis"]["runtime"]["emission"]["monthlyDecayPerbill"]
    with pytest.raises(genesis.spec.GenesisError, match=r"genesis\.runtime\.emission\.monthlyDecayPerbill: missing"):
        genesis.spec.validate(data)


# --- invariants ---------------------------------------------------------------------------


def paying_chain() -> DictState:
    state = execute_block_at(new_chain(ml_share=HALF), T0)
    return execute_block_at(state, T0 + DAY_MS)


def test_invariants_catch_emission_beyond_the_schedule() -> None:
    overlay = Overlay(paying_chain())
    emission.TotalEmitted.put(overlay, FLOCK + 1)
    assert any("more than the" in problem for problem in RUNTIME.try_state(overlay))


def test_invariants_catch_an_unpaid_schedule() -> None:
    overlay = Overlay(paying_chain())
    emission.PaidUntil.put(overlay, T0 + 2 * DAY_MS)
    assert any("less than the" in problem and "not exhausted" in problem for problem in RUNTIME.try_state(overlay))


def test_invariants_catch_tokens_leaving_the_reserve_otherwise() -> None:
    overlay = Overlay(paying_chain())
    ctx = DispatchContext(RUNTIME, overlay, GENESIS_ENVIRONMENT, TEST_GENESIS_HASH)
    BALANCES.transfer(ctx, EMISSION_RESERVE_ACCOUNT, TREASURY_ACCOUNT, 1, keep_alive=True)
    assert any("less than the" in problem and "started with" in problem for problem in RUNTIME.try_state(overlay))


def test_invariants_catch_minting() -> None:
    overlay = Overlay(paying_chain())
    account = system.get_account(overlay, TREASURY_ACCOUNT)
    system.Account.put(overlay, TREASURY_ACCOUNT, system.AccountInfo(account.nonce, account.free + 1, 0, 0))
    balances.TotalIssuance.put(overlay, balances.get_total_issuance(overlay) + 1)
    problems = RUNTIME.try_state(overlay)
    assert any(problem.startswith("emission: total issuance") for problem in problems)


# --- boundaries a mutation pass found unguarded ----------------------------------------------

MS_PER_DAY = 86_400_000  # written out: the test must not share the pallet's constant
DAYS_PER_MONTH = 30


def reference_emitted_by(parameters: EmissionParameters, elapsed_ms: int) -> int:
    """The schedule from its definition, independently of the pallet: each month's daily rate
    ``D_(m+1) = D_m − ceil(D_m × d)``, whole months at 30 days each, the current month pro rata
    to the millisecond (one floor)."""
    daily, emitted, month_ms = parameters.daily_emission, 0, DAYS_PER_MONTH * MS_PER_DAY
    months, into_month = divmod(elapsed_ms, month_ms)
    for _ in range(months):
        emitted += DAYS_PER_MONTH * daily
        daily -= -(-daily * parameters.monthly_decay_parts // PERBILL_ACCURACY)  # ceil of the decay
    return emitted + daily * into_month // MS_PER_DAY


@settings(max_examples=200, deadline=None)
@given(parameters=parameters_strategy, elapsed=st.integers(0, 30 * 30 * MS_PER_DAY))
def test_the_schedule_matches_its_definition(parameters: EmissionParameters, elapsed: int) -> None:
    """Not a telescoping identity: an independent oracle of E (a halved pro-rata divisor, say,
    survived every property that only compares E with itself)."""
    assert emission.compute_emitted_by(parameters, elapsed) == reference_emitted_by(parameters, elapsed)


def test_one_day_of_the_first_month_pays_exactly_the_daily_rate() -> None:
    parameters = schedule(daily=7 * FLOCK)
    assert emission.compute_emitted_by(parameters, MS_PER_DAY) == 7 * FLOCK
    assert emission.compute_emitted_by(parameters, MS_PER_DAY // 2) == 7 * FLOCK // 2


@pytest.mark.parametrize(("reserve_above_due", "exhausted"), [(0, True), (1, False)])
def test_the_reserve_is_exhausted_exactly_when_what_is_due_reaches_what_it_has(
    reserve_above_due: int, exhausted: bool
) -> None:
    """The boundary ``due >= available``: a reserve that can pay exactly what is due pays it and
    is exhausted; one unit more and it is not."""
    daily = 5 * FLOCK
    state = new_chain(daily=daily, reserve=daily + 1 + reserve_above_due)  # the ED of 1 stays
    state = execute_block_at(execute_block_at(state, T0), T0 + MS_PER_DAY)
    assert paid_in_block(state) == daily
    assert emission.Exhausted.get(state) is exhausted
    assert (emission.ReserveExhausted(daily) in emission_events(state)) is exhausted


# --- boundaries the mutation pass found unpinned (docs/testing.md) -------------------------


def test_daily_emission_decays_from_one_unit_to_nothing_and_stays_there() -> None:
    assert emission.compute_daily_emission(schedule(1, TEN_PERCENT), 1) == 0
    assert emission.compute_daily_emission(schedule(0, TEN_PERCENT), 3) == 0
    assert emission.compute_daily_emission(schedule(1), 3) == 1


def test_time_going_back_is_refused_with_its_span() -> None:
    with pytest.raises(ArithmeticOverflow, match="^time went back 5 ms before the emission start$"):
        emission.compute_emitted_by(schedule(FLOCK), -5)
    with pytest.raises(ArithmeticOverflow, match=r"^the span 5\.\.3 ends before it starts$"):
        emission.compute_emission_between(schedule(FLOCK), 5, 3)


def test_a_due_of_one_unit_can_exhaust_the_reserve() -> None:
    """One unit per ms, a reserve of the ED + 1: the block 1 ms after the start pays the last
    unit and stops emission."""
    state = execute_block_at(new_chain(daily=DAY_MS, reserve=2), T0)
    state = execute_block_at(state, T0 + 1)
    assert emission_events(state) == [emission.Emitted(1, 1, 0), emission.ReserveExhausted(1)]
    assert emission.Exhausted.get(state)


def test_invariants_report_issuance_above_the_fixed_supply() -> None:
    state = new_chain()
    issuance = BALANCES.get_total_issuance(state)
    broken = Overlay(state)
    balances.TotalIssuance.put(broken, TOTAL_SUPPLY + 1)
    assert RUNTIME.pallet("emission").try_state(broken) == [
        f"total issuance is {TOTAL_SUPPLY + 1}, but was {issuance} at genesis",
        f"total issuance {TOTAL_SUPPLY + 1} exceeds the fixed supply {TOTAL_SUPPLY}",
    ]

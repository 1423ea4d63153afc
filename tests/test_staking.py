"""The staking pallet: bonding as a balances lock, unbonding and withdrawal after the bonding
duration, rebonding, validators' commission rules, delegation, the era election and era payouts,
genesis and invariants.

Unless a test says otherwise: ED = 1,000, an era is 5 blocks, the bonding duration 2 eras,
2 validator seats, a minimum validator bond of 10,000, commission at most 20 % and moving at
most 5 % within one era.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from genesis.dev_accounts import dev_keypair
from genesis.spec import build_genesis_state as build_spec_state
from genesis.spec import load_chain_spec
from runtime.accounts import CONSENSUS_REWARD_POOL_ACCOUNT, FLOCK, TREASURY_ACCOUNT
from runtime.block import encode_extrinsic, sign_extrinsic
from runtime.construct import PALLET_INDICES
from runtime.executive import Executive
from runtime.framework.pallet import DispatchContext, Origin
from runtime.framework.weights import CURRENCY_WEIGHT, READ_WEIGHT, WRITE_WEIGHT
from runtime.pallets import balances, offences, session, staking, system
from runtime.pallets.staking import (
    BondArgs,
    BondExtraArgs,
    ChillArgs,
    DelegateArgs,
    Delegation,
    RebondArgs,
    StakingLedger,
    UnbondArgs,
    UnlockChunk,
    ValidateArgs,
    WithdrawUnbondedArgs,
)
from runtime.primitives.address import encode_address
from runtime.primitives.keys import Keypair
from runtime_helpers import (
    BALANCES,
    RUNTIME,
    STAKING,
    TEST_GENESIS_HASH,
    DictState,
    assert_noop,
    build_genesis_state,
    dispatch,
    execute_block,
    finalize_hooks,
    get_round_robin_author,
    named_keypair,
    new_test_ext,
)

ALICE, BOB, CHARLIE, DAVE, EVE = (named_keypair(name).public_key for name in ("alice", "bob", "charlie", "dave", "eve"))
ED = 1_000
PERCENT = 10_000_000  # Perbill parts
ERA_LENGTH = 5
PARAMETERS = {
    "eraLengthBlocks": ERA_LENGTH,
    "bondingDurationEras": 2,
    "validatorCount": 2,
    "minValidatorBond": 10_000,
    "maxCommissionPerbill": 20 * PERCENT,
    "maxCommissionChangePerbill": 5 * PERCENT,
}


def staking_section(stakers: tuple[tuple[bytes, int, int], ...] = (), **overrides: int) -> dict[str, Any]:
    return {
        **PARAMETERS,
        **overrides,
        "stakers": [[encode_address(who), bonded, commission] for who, bonded, commission in stakers],
    }


def new_ext(
    *,
    stakers: tuple[tuple[bytes, int, int], ...] = (),
    authorities: tuple[bytes, ...] = (ALICE,),
    balance: int = 100_000,
    **overrides: int,
) -> DispatchContext:
    """Block 1 over a genesis where alice..eve hold ``balance`` each and the reward pool holds
    exactly the existential deposit (nothing to pay yet)."""
    return new_test_ext(
        accounts=[(TREASURY_ACCOUNT, ED), (CONSENSUS_REWARD_POOL_ACCOUNT, ED)],
        endowed=(ALICE, BOB, CHARLIE, DAVE, EVE),
        balance=balance,
        existential_deposit=ED,
        authorities=authorities,
        stakers=stakers,
        config={"staking": {**PARAMETERS, **overrides}},
        author=ALICE,
    )


def finalize(ctx: DispatchContext, number: int, author: bytes) -> list[Any]:
    """Staking's and session's ``on_finalize`` for block ``number`` by ``author``; the events."""
    return finalize_hooks(ctx, ("staking", "session"), number, author)


def run_era(ctx: DispatchContext, authors: list[bytes]) -> list[Any]:
    """Author the current era's ``ERA_LENGTH`` blocks in turn from ``authors``; the events."""
    first = staking.CurrentEra.get(ctx.state) * ERA_LENGTH + 1
    events = []
    for offset in range(ERA_LENGTH):
        events += finalize(ctx, first + offset, authors[offset % len(authors)])
    assert RUNTIME.try_state(ctx.state) == []
    return events


def fund_pool(ctx: DispatchContext, amount: int) -> None:
    BALANCES.transfer(ctx, EVE, CONSENSUS_REWARD_POOL_ACCOUNT, amount, keep_alive=True)


def free(ctx: DispatchContext, who: bytes) -> int:
    return BALANCES.get_free_balance(ctx.state, who)


def last_event(ctx: DispatchContext) -> Any:
    return ctx.event_records()[-1].event


# --- bonding ------------------------------------------------------------------------------


def test_bond_locks_without_moving_tokens() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(40_000))
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(40_000, ())
    assert BALANCES.get_lock(ctx.state, BOB, staking.STAKING_LOCK_ID) == 40_000
    assert free(ctx, BOB) == 100_000
    assert BALANCES.get_usable_balance(ctx.state, BOB) == 60_000
    assert staking.TotalBonded.get(ctx.state) == 40_000
    assert last_event(ctx) == staking.Bonded(BOB, 40_000)
    with pytest.raises(balances.LiquidityRestrictions):
        BALANCES.transfer(ctx.child(), BOB, CHARLIE, 60_001, keep_alive=False)
    dispatch(ctx, BOB, BondExtraArgs(10_000))
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(50_000, ())
    assert BALANCES.get_lock(ctx.state, BOB, staking.STAKING_LOCK_ID) == 50_000
    assert staking.TotalBonded.get(ctx.state) == 50_000
    assert RUNTIME.try_state(ctx.state) == []


def test_bond_refusals_leave_no_trace() -> None:
    ctx = new_ext()
    assert_noop(ctx, BOB, BondArgs(0), staking.BondTooSmall)
    assert_noop(ctx, BOB, BondArgs(ED - 1), staking.BondTooSmall)
    assert_noop(ctx, BOB, BondArgs(100_001), staking.InsufficientFunds)
    for args in (
        BondExtraArgs(1),
        UnbondArgs(1),
        WithdrawUnbondedArgs(),
        RebondArgs(1),
        ValidateArgs(0),
        DelegateArgs(()),
        ChillArgs(),
    ):
        assert_noop(ctx, BOB, args, staking.NotBonded)
    dispatch(ctx, BOB, BondArgs(ED))
    assert_noop(ctx, BOB, BondArgs(ED), staking.AlreadyBonded)
    assert_noop(ctx, BOB, BondExtraArgs(0), staking.ZeroAmount)
    assert_noop(ctx, BOB, BondExtraArgs(100_000 - ED + 1), staking.InsufficientFunds)


def test_bond_refused_when_the_account_has_too_many_locks() -> None:
    ctx = new_ext()
    for index in range(balances.MAX_LOCKS):
        BALANCES.set_lock(ctx, BOB, b"lock%04d" % index, 1)
    assert_noop(ctx, BOB, BondArgs(ED), balances.TooManyLocks)


# --- unbonding, withdrawal, rebonding -----------------------------------------------------


def test_unbond_then_withdraw_only_after_the_bonding_duration() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(50_000))
    dispatch(ctx, BOB, UnbondArgs(20_000))
    dispatch(ctx, BOB, UnbondArgs(5_000))  # the same era: merged into one chunk
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(25_000, (UnlockChunk(25_000, 2),))
    assert last_event(ctx) == staking.Unbonded(BOB, 5_000, 2)
    assert BALANCES.get_lock(ctx.state, BOB, staking.STAKING_LOCK_ID) == 50_000  # still locked while unlocking
    assert_noop(ctx, BOB, WithdrawUnbondedArgs(), staking.NothingToWithdraw)
    run_era(ctx, [ALICE])
    assert staking.CurrentEra.get(ctx.state) == 1
    assert_noop(ctx, BOB, WithdrawUnbondedArgs(), staking.NothingToWithdraw)
    run_era(ctx, [ALICE])
    dispatch(ctx, BOB, WithdrawUnbondedArgs())
    assert last_event(ctx) == staking.Withdrawn(BOB, 25_000)
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(25_000, ())
    assert BALANCES.get_lock(ctx.state, BOB, staking.STAKING_LOCK_ID) == 25_000
    assert free(ctx, BOB) == 100_000
    assert staking.TotalBonded.get(ctx.state) == 25_000
    assert RUNTIME.try_state(ctx.state) == []


def test_withdrawing_everything_ends_the_staker() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(50_000))
    dispatch(ctx, BOB, UnbondArgs(50_000))
    staking.CurrentEra.put(ctx.state, 2)
    dispatch(ctx, BOB, WithdrawUnbondedArgs())
    assert not staking.Ledger.contains(ctx.state, BOB)
    assert balances.Locks.get(ctx.state, BOB) == ()
    assert system.get_account(ctx.state, BOB).frozen == 0
    assert staking.TotalBonded.get(ctx.state) == 0
    assert RUNTIME.try_state(ctx.state) == []


def test_unbond_refusals() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(50_000))
    assert_noop(ctx, BOB, UnbondArgs(0), staking.ZeroAmount)
    assert_noop(ctx, BOB, UnbondArgs(50_001), staking.InsufficientActive)
    for era in range(staking.MAX_UNLOCKING_CHUNKS):
        staking.CurrentEra.put(ctx.state, era)
        dispatch(ctx, BOB, UnbondArgs(1))
    staking.CurrentEra.put(ctx.state, staking.MAX_UNLOCKING_CHUNKS)
    assert_noop(ctx, BOB, UnbondArgs(1), staking.TooManyUnlockChunks)
    assert RUNTIME.try_state(ctx.state) == []


def test_rebond_takes_the_newest_chunks_first() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(50_000))
    dispatch(ctx, BOB, UnbondArgs(1_000))  # chunk for era 2
    staking.CurrentEra.put(ctx.state, 1)
    dispatch(ctx, BOB, UnbondArgs(2_000))  # chunk for era 3
    assert_noop(ctx, BOB, RebondArgs(0), staking.ZeroAmount)
    assert_noop(ctx, BOB, RebondArgs(3_001), staking.NotEnoughUnlocking)
    dispatch(ctx, BOB, RebondArgs(2_500))
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(49_500, (UnlockChunk(500, 2),))
    assert last_event(ctx) == staking.Rebonded(BOB, 2_500)
    assert BALANCES.get_lock(ctx.state, BOB, staking.STAKING_LOCK_ID) == 50_000
    assert RUNTIME.try_state(ctx.state) == []


# --- validators and commission ------------------------------------------------------------


def test_validate_needs_the_minimum_bond_and_a_capped_commission() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(9_999))
    assert_noop(ctx, BOB, ValidateArgs(0), staking.InsufficientBond)
    dispatch(ctx, BOB, BondExtraArgs(1))
    assert_noop(ctx, BOB, ValidateArgs(20 * PERCENT + 1), staking.CommissionTooHigh)
    assert_noop(ctx, BOB, ValidateArgs(10**9 + 1), staking.CommissionTooHigh)
    dispatch(ctx, BOB, ValidateArgs(20 * PERCENT))
    assert staking.Validators.get(ctx.state, BOB) == staking.ValidatorPrefs(20 * PERCENT, 20 * PERCENT, 0, True)
    assert last_event(ctx) == staking.ValidatorPrefsSet(BOB, 20 * PERCENT)
    # A validator cannot unbond below the minimum; chilled, it can.
    assert_noop(ctx, BOB, UnbondArgs(1), staking.InsufficientBond)
    dispatch(ctx, BOB, ChillArgs())
    dispatch(ctx, BOB, UnbondArgs(1))
    assert RUNTIME.try_state(ctx.state) == []


def test_commission_moves_at_most_the_change_limit_per_era() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(10_000))
    dispatch(ctx, BOB, ValidateArgs(10 * PERCENT))
    dispatch(ctx, BOB, ValidateArgs(15 * PERCENT))  # +5 %: the limit
    assert_noop(ctx, BOB, ValidateArgs(15 * PERCENT + 1), staking.CommissionChangeTooLarge)
    assert_noop(ctx, BOB, ValidateArgs(20 * PERCENT), staking.CommissionChangeTooLarge)  # 10 % since the era began
    dispatch(ctx, BOB, ValidateArgs(5 * PERCENT))
    assert_noop(ctx, BOB, ValidateArgs(5 * PERCENT - 1), staking.CommissionChangeTooLarge)
    # Chilling and validating again does not reset the limit.
    dispatch(ctx, BOB, ChillArgs())
    assert_noop(ctx, BOB, ValidateArgs(0), staking.CommissionChangeTooLarge)
    # The next era measures from the commission it began with (5 %).
    staking.CurrentEra.put(ctx.state, 1)
    dispatch(ctx, BOB, ValidateArgs(0))
    assert staking.Validators.get(ctx.state, BOB) == staking.ValidatorPrefs(0, 5 * PERCENT, 1, True)
    assert_noop(ctx, BOB, ValidateArgs(10 * PERCENT + 1), staking.CommissionChangeTooLarge)
    dispatch(ctx, BOB, ValidateArgs(10 * PERCENT))


# --- delegation ---------------------------------------------------------------------------


def test_delegate_from_the_active_bond() -> None:
    ctx = new_ext()
    for validator in (BOB, CHARLIE):
        dispatch(ctx, validator, BondArgs(10_000))
        dispatch(ctx, validator, ValidateArgs(0))
    dispatch(ctx, DAVE, BondArgs(30_000))
    targets = (Delegation(BOB, 10_000), Delegation(CHARLIE, 20_000))
    dispatch(ctx, DAVE, DelegateArgs(targets))
    assert staking.Delegations.get(ctx.state, DAVE) == targets
    assert last_event(ctx) == staking.Delegated(DAVE, 2, 30_000)
    # Delegations are replaced, not added to.
    dispatch(ctx, DAVE, DelegateArgs((Delegation(BOB, 5_000),)))
    assert staking.Delegations.get(ctx.state, DAVE) == (Delegation(BOB, 5_000),)
    assert_noop(ctx, DAVE, UnbondArgs(25_001), staking.DelegationsExceedActive)
    dispatch(ctx, DAVE, UnbondArgs(25_000))
    dispatch(ctx, DAVE, ChillArgs())
    assert not staking.Delegations.contains(ctx.state, DAVE)
    assert last_event(ctx) == staking.Chilled(DAVE)
    assert_noop(ctx, DAVE, ChillArgs(), staking.AlreadyChilled)
    assert RUNTIME.try_state(ctx.state) == []


def test_delegate_refusals_leave_no_trace() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(10_000))
    dispatch(ctx, BOB, ValidateArgs(0))
    dispatch(ctx, CHARLIE, BondArgs(10_000))
    dispatch(ctx, DAVE, BondArgs(30_000))
    assert_noop(ctx, DAVE, DelegateArgs((Delegation(CHARLIE, 1),)), staking.NotAValidator)
    assert_noop(ctx, DAVE, DelegateArgs((Delegation(BOB, 1), Delegation(BOB, 1))), staking.DuplicateTarget)
    assert_noop(ctx, DAVE, DelegateArgs((Delegation(BOB, 0),)), staking.ZeroAmount)
    assert_noop(ctx, DAVE, DelegateArgs((Delegation(BOB, 30_001),)), staking.DelegationsExceedActive)
    assert_noop(ctx, BOB, DelegateArgs(()), staking.IsValidating)
    dispatch(ctx, DAVE, DelegateArgs((Delegation(BOB, 1),)))
    assert_noop(ctx, DAVE, ValidateArgs(0), staking.IsDelegating)
    # More targets than the codec carries can only reach the pallet directly; it refuses too.
    too_many = DelegateArgs(tuple(Delegation(bytes([index]) * 32, 1) for index in range(staking.MAX_DELEGATIONS + 1)))
    changes_before = dict(ctx.state.changes)
    with pytest.raises(staking.TooManyTargets):
        STAKING.delegate(ctx, Origin.signed(DAVE), too_many)  # type: ignore[attr-defined]
    assert ctx.state.changes == changes_before
    dispatch(ctx, BOB, ChillArgs())
    assert staking.Validators.get(ctx.state, BOB).active is False
    assert_noop(ctx, DAVE, DelegateArgs((Delegation(BOB, 1),)), staking.NotAValidator)


# --- the election -------------------------------------------------------------------------


def test_election_by_backing_with_tie_break_to_the_lower_account() -> None:
    """Bob, charlie and dave bond 15,000 each, alice 20,000, eve 15,000 but chilled: alice
    leads, then the lower of the tied accounts; a delegation of 1 lifts the other one."""
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    for validator in (BOB, CHARLIE, DAVE, EVE):
        dispatch(ctx, validator, BondArgs(15_000))
        dispatch(ctx, validator, ValidateArgs(0))
    dispatch(ctx, EVE, ChillArgs())
    tied = sorted((BOB, CHARLIE, DAVE))
    events = run_era(ctx, [ALICE])
    assert staking.Elected.get(ctx.state) == (ALICE, tied[0])
    assert session.get_authorities(ctx.state) == (ALICE, tied[0])
    assert staking.NewEra(1, 2) in events
    dispatch(ctx, EVE, ValidateArgs(0))
    dispatch(ctx, EVE, ChillArgs())
    dispatch(ctx, EVE, DelegateArgs((Delegation(tied[2], 1),)))
    run_era(ctx, [ALICE])
    assert staking.Elected.get(ctx.state) == (ALICE, tied[2])
    assert staking.Exposures.get(ctx.state, tied[2]) == staking.Exposure(
        15_001, 15_000, (staking.IndividualExposure(EVE, 1),), 0
    )
    assert staking.Exposures.get(ctx.state, ALICE) == staking.Exposure(20_000, 20_000, (), 0)


def test_election_skips_validators_below_the_minimum_and_keeps_the_set_if_nobody_qualifies() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    dispatch(ctx, BOB, BondArgs(15_000))
    dispatch(ctx, BOB, ValidateArgs(0))
    staking.PARAMETERS.storage.put(ctx.state, staking.StakingParameters(ERA_LENGTH, 2, 2, 16_000, 0, 0))
    run_era(ctx, [ALICE])
    assert staking.Elected.get(ctx.state) == (ALICE,)
    dispatch(ctx, ALICE, ChillArgs())
    events = run_era(ctx, [ALICE])
    assert staking.NewEra(2, 0) in events
    assert staking.Elected.get(ctx.state) == ()
    assert session.get_authorities(ctx.state) == (ALICE,)


# --- payouts ------------------------------------------------------------------------------


def test_worked_payout_example() -> None:
    """The module docstring's example: V = alice (10 % commission, own bond 1,000), bob
    delegates 3,000 and charlie 6,000; the pool holds 1,000,007 above its ED at the era's end
    and alice authored every block. Alice gets 100,000 + 90,000, bob 270,002, charlie 540,004;
    1 base unit stays in the pool."""
    ctx = new_ext(stakers=((ALICE, 1_000, 10 * PERCENT),), minValidatorBond=1_000, balance=10_000_000)
    dispatch(ctx, BOB, BondArgs(3_000))
    dispatch(ctx, BOB, DelegateArgs((Delegation(ALICE, 3_000),)))
    dispatch(ctx, CHARLIE, BondArgs(6_000))
    dispatch(ctx, CHARLIE, DelegateArgs((Delegation(ALICE, 6_000),)))
    events = run_era(ctx, [ALICE])  # era 0: alice alone is exposed; the pool is empty
    assert staking.EraPaid(0, 0, 0) in events
    assert staking.Exposures.get(ctx.state, ALICE) == staking.Exposure(
        10_000,
        1_000,
        tuple(
            sorted(
                (staking.IndividualExposure(BOB, 3_000), staking.IndividualExposure(CHARLIE, 6_000)),
                key=lambda backer: backer.who,
            )
        ),
        10 * PERCENT,
    )
    fund_pool(ctx, 1_000_007)
    before = {who: free(ctx, who) for who in (ALICE, BOB, CHARLIE)}
    events = run_era(ctx, [ALICE])
    assert {who: free(ctx, who) - before[who] for who in before} == {ALICE: 190_000, BOB: 270_002, CHARLIE: 540_004}
    assert free(ctx, CONSENSUS_REWARD_POOL_ACCOUNT) == ED + 1
    assert staking.EraPaid(1, 1_000_006, 1) in events
    assert staking.Rewarded(ALICE, 190_000) in events
    # Rewards are paid free, not bonded.
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(3_000, ())


def test_validators_share_the_pool_by_reward_points() -> None:
    """Era 0: alice authors 3 blocks, bob 1 and charlie (not elected) 1, which earns nothing:
    of 1,000, alice gets floor(1,000 × 3/4) = 750 and bob 250. Era 1: 3 to 2, so 600 and 400
    (no commission, no delegators)."""
    ctx = new_ext(stakers=((ALICE, 20_000, 0), (BOB, 20_000, 0)), authorities=(ALICE, BOB))
    fund_pool(ctx, 1_000)
    before = {who: free(ctx, who) for who in (ALICE, BOB, CHARLIE)}
    for number, author in zip(range(1, 6), (ALICE, BOB, ALICE, CHARLIE, ALICE), strict=True):
        finalize(ctx, number, author)
        if number == 4:
            assert dict(staking.RewardPoints.iter(ctx.state)) == {ALICE: 2, BOB: 1}
    assert {who: free(ctx, who) - before[who] for who in before} == {ALICE: 750, BOB: 250, CHARLIE: 0}
    assert dict(staking.RewardPoints.iter(ctx.state)) == {}  # cleared at the era's end
    fund_pool(ctx, 1_000)
    before = {who: free(ctx, who) for who in (ALICE, BOB)}
    run_era(ctx, [ALICE, BOB])
    assert {who: free(ctx, who) - before[who] for who in before} == {ALICE: 600, BOB: 400}
    assert RUNTIME.try_state(ctx.state) == []


def test_commission_is_floored_and_the_remainder_stays_in_the_pool() -> None:
    """R = 999 to one validator at 15 %: commission floor(149.85) = 149; the 850 left is
    shared 10,000 : 5,000 : 5,000 → 425, 212, 212 (1 unit of remainder)."""
    ctx = new_ext(stakers=((ALICE, 10_000, 15 * PERCENT),))
    for delegator in (BOB, CHARLIE):
        dispatch(ctx, delegator, BondArgs(5_000))
        dispatch(ctx, delegator, DelegateArgs((Delegation(ALICE, 5_000),)))
    run_era(ctx, [ALICE])
    fund_pool(ctx, 999)
    before = {who: free(ctx, who) for who in (ALICE, BOB, CHARLIE)}
    events = run_era(ctx, [ALICE])
    assert {who: free(ctx, who) - before[who] for who in before} == {ALICE: 574, BOB: 212, CHARLIE: 212}
    assert staking.EraPaid(1, 998, 1) in events
    assert free(ctx, CONSENSUS_REWARD_POOL_ACCOUNT) == ED + 1


def test_payout_pure_functions() -> None:
    payouts = staking.compute_validator_payouts(1_000, {ALICE: 2, BOB: 1}, {ALICE: 50 * PERCENT, BOB: 0})
    assert payouts == {ALICE: (666, 333), BOB: (333, 0)}
    assert staking.compute_validator_payouts(1_000, {}, {}) == {}
    exposure = staking.Exposure(3, 1, (staking.IndividualExposure(BOB, 2),), 0)
    assert staking.compute_exposure_shares(exposure, ALICE, 100) == [(ALICE, 33), (BOB, 66)]


# --- genesis ------------------------------------------------------------------------------


def test_genesis_bonds_validates_and_exposes_the_stakers() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 5 * PERCENT), (BOB, 30_000, 0)), authorities=(ALICE, BOB))
    assert staking.Ledger.get(ctx.state, ALICE) == StakingLedger(20_000, ())
    assert BALANCES.get_lock(ctx.state, BOB, staking.STAKING_LOCK_ID) == 30_000
    assert staking.TotalBonded.get(ctx.state) == 50_000
    assert staking.Elected.get(ctx.state) == (BOB, ALICE)
    assert session.get_authorities(ctx.state) == (ALICE, BOB)  # the spec's order until era 1
    assert staking.Exposures.get(ctx.state, ALICE) == staking.Exposure(20_000, 20_000, (), 5 * PERCENT)
    assert RUNTIME.try_state(ctx.state) == []


def test_genesis_export_round_trip() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 5 * PERCENT), (BOB, 30_000, 0)), authorities=(ALICE, BOB))
    state = ctx.state
    exported = RUNTIME.export_genesis(state)
    assert exported["staking"]["stakers"] == sorted(
        [[encode_address(ALICE), 20_000, 5 * PERCENT], [encode_address(BOB), 30_000, 0]],
        key=lambda staker: staking.decode_address(staker[0]),
    )
    rebuilt = DictState().apply(RUNTIME.build_genesis(exported))
    assert dict(rebuilt.iter_prefix(b"")) == dict(state.iter_prefix(b""))
    assert RUNTIME.export_genesis(rebuilt) == exported


@pytest.mark.parametrize(
    ("stakers", "authorities", "overrides", "message"),
    [
        (((BOB, 20_000, 0),), (ALICE,), {}, "must be the same set"),
        (((ALICE, 20_000, 0), (ALICE, 20_000, 0)), (ALICE,), {}, "twice"),
        (((ALICE, 9_999, 0),), (ALICE,), {}, "below the minimum validator bond"),
        (((ALICE, 100_001, 0),), (ALICE,), {}, "more than its genesis balance"),
        (((ALICE, 20_000, 20 * PERCENT + 1),), (ALICE,), {}, "above maxCommissionPerbill"),
        (((ALICE, 20_000, 0),), (ALICE,), {"eraLengthBlocks": 0}, "eraLengthBlocks must be at least 1"),
        (((ALICE, 20_000, 0),), (ALICE,), {"validatorCount": 0}, "validatorCount must be at least 1"),
        ((), (ALICE,), {"maxCommissionPerbill": 10**9 + 1}, "outside 0..1000000000"),
        (((ALICE, 20_000, 0), (BOB, 20_000, 0)), (ALICE, BOB), {"validatorCount": 1}, "must be the same set"),
    ],
)
def test_genesis_refuses_inconsistent_sections(
    stakers: tuple[tuple[bytes, int, int], ...], authorities: tuple[bytes, ...], overrides: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        new_ext(stakers=stakers, authorities=authorities, **overrides)


@pytest.mark.parametrize("name", ["dev", "local"])
def test_shipped_specs_elect_their_authorities(name: str) -> None:
    spec = load_chain_spec(name)
    state = DictState(build_spec_state(spec))
    assert set(staking.Elected.get(state)) == set(session.get_authorities(state))
    assert len(staking.Elected.get(state)) == len(spec.runtime_genesis["session"]["authorities"])


# --- invariants ---------------------------------------------------------------------------


def test_invariants_catch_broken_bookkeeping() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    dispatch(ctx, BOB, BondArgs(10_000))
    assert RUNTIME.try_state(ctx.state) == []
    staking.TotalBonded.put(ctx.state, 1)
    assert any("TotalBonded" in problem for problem in RUNTIME.try_state(ctx.state))
    staking.TotalBonded.put(ctx.state, 30_000)
    BALANCES.set_lock(ctx, BOB, staking.STAKING_LOCK_ID, 9_999)
    assert any("staking lock 9999" in problem for problem in RUNTIME.try_state(ctx.state))
    BALANCES.set_lock(ctx, BOB, staking.STAKING_LOCK_ID, 10_000)
    staking.Delegations.put(ctx.state, BOB, (Delegation(ALICE, 10_001),))
    assert any("delegates 10001" in problem for problem in RUNTIME.try_state(ctx.state))
    staking.Delegations.remove(ctx.state, BOB)
    staking.Exposures.remove(ctx.state, ALICE)
    assert any("exposure snapshot" in problem for problem in RUNTIME.try_state(ctx.state))


def test_error_codes_and_call_indices_are_stable() -> None:
    assert PALLET_INDICES["staking"] == 7
    assert [(error.__name__, error.code) for error in staking.Staking.ERRORS] == [
        (name, code)
        for code, name in enumerate(
            (
                "NotBonded",
                "AlreadyBonded",
                "InsufficientFunds",
                "BondTooSmall",
                "ZeroAmount",
                "InsufficientActive",
                "TooManyUnlockChunks",
                "NotEnoughUnlocking",
                "NothingToWithdraw",
                "InsufficientBond",
                "CommissionTooHigh",
                "CommissionChangeTooLarge",
                "IsDelegating",
                "IsValidating",
                "NotAValidator",
                "DuplicateTarget",
                "DelegationsExceedActive",
                "TooManyTargets",
                "AlreadyChilled",
                "BadParameters",
            )
        )
    ]
    assert {index: definition.name for index, definition in staking.Staking.CALLS.items()} == {
        0: "bond",
        1: "bond_extra",
        2: "unbond",
        3: "withdraw_unbonded",
        4: "rebond",
        5: "validate",
        6: "delegate",
        7: "chill",
        8: "set_parameters",
    }


# --- through blocks -----------------------------------------------------------------------


def sign_call(sender: Keypair, args: object, nonce: int) -> bytes:
    call = RUNTIME.encode_call(args)  # type: ignore[arg-type]
    return encode_extrinsic(sign_extrinsic(sender, TEST_GENESIS_HASH, nonce=nonce, call=call))


def test_blocks_follow_the_election_and_keep_every_invariant() -> None:
    """Through the executive: bob bonds and validates in block 1 with more than alice; from
    the block after the first era boundary, session's authorities are bob then alice."""
    alice, bob = named_keypair("alice"), named_keypair("bob")
    executive = Executive(RUNTIME, TEST_GENESIS_HASH)
    state = build_genesis_state(
        RUNTIME,
        [alice.public_key, bob.public_key],
        authorities=[alice.public_key],
        config={"staking": staking_section(((alice.public_key, 100 * FLOCK, 0),), validatorCount=2)},
    )
    state = execute_block(
        executive,
        state,
        [sign_call(bob, BondArgs(200 * FLOCK), 0), sign_call(bob, ValidateArgs(PERCENT), 1)],
        author=alice.public_key,
    )
    for _ in range(2 * ERA_LENGTH - 1):
        state = execute_block(executive, state, author=get_round_robin_author(state, system.Number.get(state) + 1))
        assert RUNTIME.try_state(state) == []
    assert staking.CurrentEra.get(state) == 2
    assert session.get_authorities(state) == (bob.public_key, alice.public_key)


def test_dev_chain_pays_the_consensus_pool_to_alice_at_the_first_era_end() -> None:
    """The shipped dev spec (20-block eras): emission fills the consensus pool, and block 20
    pays all of it above the ED to alice, the only exposed staker."""
    spec = load_chain_spec("dev")
    alice = dev_keypair("alice").public_key
    executive = Executive(RUNTIME, TEST_GENESIS_HASH)
    state = DictState(build_spec_state(spec))
    for _ in range(19):
        state = execute_block(executive, state, author=alice)
    pool_before = BALANCES.get_free_balance(state, CONSENSUS_REWARD_POOL_ACCOUNT)
    alice_before = BALANCES.get_free_balance(state, alice)
    state = execute_block(executive, state, author=alice)
    ed = balances.get_existential_deposit(state)
    assert BALANCES.get_free_balance(state, CONSENSUS_REWARD_POOL_ACCOUNT) == ed
    emitted = [
        record.event
        for record in RUNTIME.decode_events(system.Events.get(state))
        if isinstance(record.event, staking.EraPaid)
    ]
    assert len(emitted) == 1 and emitted[0].left_in_pool == 0
    assert emitted[0].paid > pool_before - ed  # block 20's own emission is paid too
    assert BALANCES.get_free_balance(state, alice) >= alice_before + emitted[0].paid
    assert RUNTIME.try_state(state) == []


def test_an_eras_end_weighs_its_election_and_every_delegation_it_reads() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    ordinary = STAKING.get_end_session_weight(ctx.state, ERA_LENGTH - 1)
    era_end = STAKING.get_end_session_weight(ctx.state, ERA_LENGTH)
    # Alice paid (a payout), her exposure kept, forgotten and elected again, herself a candidate.
    assert era_end - ordinary >= CURRENCY_WEIGHT + 3 * WRITE_WEIGHT + READ_WEIGHT
    dispatch(ctx, DAVE, BondArgs(10_000))
    dispatch(ctx, DAVE, DelegateArgs((Delegation(ALICE, 10_000),)))
    assert STAKING.get_end_session_weight(ctx.state, ERA_LENGTH) == era_end + READ_WEIGHT
    assert STAKING.get_end_session_weight(ctx.state, ERA_LENGTH - 1) == ordinary


# --- boundaries, history and invariants the mutation pass found unpinned (docs/testing.md) -


def test_history_keeps_exactly_the_last_history_depth_eras() -> None:
    """At the end of era e the runtime files e and forgets e - HISTORY_DEPTH: after 28 eras
    eras 0..27 are kept, after 29 eras era 0 is gone (and try_state agrees each era)."""
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    for _ in range(staking.HISTORY_DEPTH):
        run_era(ctx, [ALICE])
    assert sorted(era for era, _ in staking.ErasElected.iter(ctx.state)) == list(range(staking.HISTORY_DEPTH))
    run_era(ctx, [ALICE])
    kept = list(range(1, staking.HISTORY_DEPTH + 1))
    assert sorted(era for era, _ in staking.ErasElected.iter(ctx.state)) == kept
    assert sorted(key.era for key, _ in staking.ErasExposures.iter(ctx.state)) == kept
    assert staking.get_exposure_at(ctx.state, ALICE, 0) is None
    assert staking.get_exposure_at(ctx.state, ALICE, 1) == staking.Exposure(20_000, 20_000, (), 0)


def test_a_past_eras_elected_set_is_read_from_history() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    dispatch(ctx, BOB, BondArgs(15_000))
    dispatch(ctx, BOB, ValidateArgs(0))
    run_era(ctx, [ALICE])
    run_era(ctx, [ALICE])
    assert staking.get_elected_at(ctx.state, 0) == (ALICE,)
    assert staking.get_elected_at(ctx.state, 2) == (ALICE, BOB)
    assert STAKING.get_population(ctx.state, 0) == 1
    assert staking.get_elected_at(ctx.state, 5) == ()


def test_bonded_through_counts_active_and_chunks_until_they_mature() -> None:
    """Era 0, bonding duration 2: bob unbonds 4,000 of 10,000 (withdrawable from era 2). Through
    a block of era 1 all 10,000 stay locked; from era 2 on neither the chunk nor the active bond
    is (an active bond unbonded now would mature then too)."""
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(10_000))
    dispatch(ctx, BOB, UnbondArgs(4_000))
    assert STAKING.get_bonded_through(ctx.state, BOB, 2 * ERA_LENGTH) == 10_000  # last block of era 1
    assert STAKING.get_bonded_through(ctx.state, BOB, 2 * ERA_LENGTH + 1) == 0  # first block of era 2
    assert STAKING.get_bonded_through(ctx.state, CHARLIE, 1) == 0


def test_block_era_edges() -> None:
    assert [staking.compute_block_era(number, 5) for number in (0, 1, 5, 6, 10, 11)] == [0, 0, 0, 1, 1, 2]
    assert staking.compute_block_era(7, 1) == 6
    assert staking.compute_block_era(7, 0) == 0


def test_slashed_delegations_lower_only_the_offenders() -> None:
    delegations = (Delegation(ALICE, 100), Delegation(BOB, 100))
    assert staking.compute_slashed_delegations(delegations, ALICE, 30, 1_000) == (
        Delegation(ALICE, 70),
        Delegation(BOB, 100),
    )
    # The rest must fit the active bond: the last delegations shrink first.
    assert staking.compute_slashed_delegations(delegations, ALICE, 30, 120) == (
        Delegation(ALICE, 70),
        Delegation(BOB, 50),
    )


def test_rebonding_a_whole_chunk_leaves_no_empty_chunk() -> None:
    ledger = StakingLedger(0, (UnlockChunk(5, 1), UnlockChunk(5, 2)))
    assert staking.compute_rebonded(ledger, 5) == StakingLedger(5, (UnlockChunk(5, 1),))
    assert staking.compute_rebonded(ledger, 7) == StakingLedger(7, (UnlockChunk(3, 1),))


def test_election_exposes_the_largest_delegations_and_breaks_ties_by_account() -> None:
    """Over MAX_EXPOSED_DELEGATORS backers the smallest is left out; equal totals go to the
    lower account id whatever the commission."""
    backers = [
        staking.IndividualExposure(i.to_bytes(32, "big"), 1_000 + i) for i in range(staking.MAX_EXPOSED_DELEGATORS + 1)
    ]
    [(validator, exposure)] = staking.compute_election([(ALICE, 10, 0)], {ALICE: backers}, 1)
    assert validator == ALICE and len(exposure.others) == staking.MAX_EXPOSED_DELEGATORS
    assert backers[0] not in exposure.others and exposure.total == 10 + sum(b.value for b in backers[1:])
    low, high = sorted((ALICE, BOB))
    elected = staking.compute_election([(high, 10, 0), (low, 10, 5)], {}, 1)
    assert [who for who, _ in elected] == [low]


def test_payouts_with_a_single_point_or_a_unit_exposure() -> None:
    assert staking.compute_validator_payouts(1_000, {ALICE: 1}, {ALICE: 0}) == {ALICE: (1_000, 0)}
    assert staking.compute_exposure_shares(staking.Exposure(1, 1, (), 0), ALICE, 100) == [(ALICE, 100)]


def test_a_reward_the_payee_cannot_receive_stays_in_the_pool() -> None:
    ctx = new_ext()
    fund_pool(ctx, 10_000)
    nobody = named_keypair("nobody").public_key
    assert STAKING.pay_reward(ctx, nobody, ED - 1) == 0
    assert STAKING.pay_reward(ctx, nobody, 0) == 0
    assert free(ctx, nobody) == 0 and free(ctx, CONSENSUS_REWARD_POOL_ACCOUNT) == ED + 10_000


def test_validator_weight_is_the_exposure_or_zero() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    assert STAKING.get_validator_weight(ctx.state, ALICE) == 20_000
    assert STAKING.get_validator_weight(ctx.state, BOB) == 0


def test_points_mark_the_validator_active_in_the_epoch() -> None:
    """The stored marker is part of the state root: one byte pattern, the value 1."""
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    STAKING.award_point(ctx, ALICE)
    assert dict(staking.ActiveInEpoch.iter(ctx.state)) == {ALICE: 1}


def test_slash_of_a_single_unit_and_of_a_whole_account() -> None:
    """A slash of 1 takes 1; a validator without delegations keeps none stored; a slash of an
    account's whole balance (all of it bonded) empties and removes the account."""
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    assert STAKING.slash(ctx, ALICE, ALICE, 1, TREASURY_ACCOUNT) == 1
    assert staking.Ledger.get(ctx.state, ALICE) == StakingLedger(19_999, ())
    assert not staking.Delegations.contains(ctx.state, ALICE)
    dispatch(ctx, BOB, BondArgs(100_000))
    assert STAKING.slash(ctx, ALICE, BOB, 100_000, TREASURY_ACCOUNT) == 100_000
    assert not staking.Ledger.contains(ctx.state, BOB) and not system.Account.contains(ctx.state, BOB)
    assert RUNTIME.try_state(ctx.state) == []


def test_chill_offender_ignores_who_is_not_validating() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    dispatch(ctx, BOB, BondArgs(15_000))
    events = len(ctx.events)
    STAKING.on_offence(ctx, BOB)  # bonded, never validated
    STAKING.on_offence(ctx, CHARLIE)  # not even bonded
    STAKING.on_offence(ctx, ALICE)
    assert [record.event for record in ctx.event_records()[events:]] == [staking.Chilled(ALICE)]
    STAKING.on_offence(ctx, ALICE)  # chilled already: no second event
    assert len(ctx.events) == events + 1


def test_bond_extra_on_an_account_with_the_most_locks_replaces_the_staking_lock() -> None:
    ctx = new_ext()
    dispatch(ctx, BOB, BondArgs(ED))
    for index in range(balances.MAX_LOCKS - 1):
        BALANCES.set_lock(ctx, BOB, b"lock%04d" % index, 1)
    dispatch(ctx, BOB, BondExtraArgs(ED))
    assert BALANCES.get_lock(ctx.state, BOB, staking.STAKING_LOCK_ID) == 2 * ED


def full_message(text: str) -> str:
    """A ``match=`` pattern for exactly ``text``."""
    import re

    return f"^{re.escape(text)}$"


@pytest.mark.parametrize(
    ("stakers", "overrides", "message"),
    [
        (
            ((ALICE, 20_000, 0),),
            {"eraLengthBlocks": 0},
            "staking.eraLengthBlocks must be at least 1 when there are stakers",
        ),
        (
            ((ALICE, 20_000, 0),),
            {"validatorCount": 0},
            "staking.validatorCount must be at least 1 when there are stakers",
        ),
        (
            (),
            {"maxCommissionPerbill": 10**9 + 1},
            "staking.maxCommissionPerbill is 1000000001, outside 0..1000000000 (parts per 10^9)",
        ),
        (
            (),
            {"maxCommissionChangePerbill": 10**9 + 1},
            "staking.maxCommissionChangePerbill is 1000000001, outside 0..1000000000 (parts per 10^9)",
        ),
    ],
)
def test_genesis_messages_name_the_field(
    stakers: tuple[tuple[bytes, int, int], ...], overrides: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=full_message(message)):
        new_ext(stakers=stakers, **overrides)


def test_genesis_stake_limits_are_inclusive() -> None:
    """A staker may bond its whole balance, and exactly max(minValidatorBond, ED); a commission
    of exactly 100 % may be the cap. Below the existential deposit is refused even when the
    minimum validator bond is lower."""
    new_ext(stakers=((ALICE, 100_000, 0),))
    new_ext(stakers=((ALICE, ED, 0),), minValidatorBond=0, maxCommissionPerbill=10**9)
    with pytest.raises(ValueError, match="bonds 999, below the minimum validator bond"):
        new_ext(stakers=((ALICE, ED - 1, 0),), minValidatorBond=0)
    with pytest.raises(ValueError, match="bonds 0, below the minimum validator bond"):  # even with no ED
        new_test_ext(
            endowed=(ALICE,),
            existential_deposit=0,
            stakers=((ALICE, 0, 0),),
            authorities=(ALICE,),
            config={"staking": {**PARAMETERS, "minValidatorBond": 0}},
        )
    ctx = new_test_ext(
        endowed=(ALICE,),
        existential_deposit=1,
        stakers=((ALICE, 1, 0),),
        authorities=(ALICE,),
        config={"staking": {**PARAMETERS, "minValidatorBond": 0}},
    )
    assert staking.Ledger.get(ctx.state, ALICE) == StakingLedger(1, ())
    with pytest.raises(
        ValueError,
        match=full_message(
            f"staking.stakers elect {[encode_address(BOB)]}, but session.authorities are "
            f"{[encode_address(ALICE)]}: they must be the same set"
        ),
    ):
        new_ext(stakers=((BOB, 20_000, 0),))


def test_parameter_changes_are_checked_against_the_running_chain() -> None:
    ctx = new_ext()  # no stakers
    current = staking.get_parameters(ctx.state)
    STAKING.check_parameters(ctx.state, replace(current, validator_count=staking.MAX_VALIDATORS))
    for change, message in (
        ({"era_length_blocks": ERA_LENGTH + 1}, "staking.eraLengthBlocks cannot change on a running chain"),
        ({"validator_count": staking.MAX_VALIDATORS + 1}, "staking.validatorCount is 1001, above 1000"),
    ):
        with pytest.raises(ValueError, match=full_message(message)):
            STAKING.check_parameters(ctx.state, replace(current, **change))
    offences.PARAMETERS.storage.put(ctx.state, replace(offences.get_parameters(ctx.state), slash_defer_eras=2))
    with pytest.raises(
        ValueError,
        match=full_message(
            "staking.bondingDurationEras (2) must exceed offences.slashDeferEras (2): stake unbonded in an "
            "offence's era must still be there when it is slashed"
        ),
    ):
        STAKING.check_parameters(ctx.state, current)
    offences.PARAMETERS.storage.put(ctx.state, replace(offences.get_parameters(ctx.state), slash_defer_eras=0))
    offences.UnappliedSlashes.put(ctx.state, 3, (offences.UnappliedSlash(ALICE, 0, 0, 0, None, ()),))
    STAKING.check_parameters(ctx.state, replace(current, bonding_duration_eras=4))  # era 0 + 4 > 3
    with pytest.raises(
        ValueError,
        match=full_message(
            "staking.bondingDurationEras (3) would let stake unbonded now be withdrawn before the slash "
            "waiting for the end of era 3 applies"
        ),
    ):
        STAKING.check_parameters(ctx.state, replace(current, bonding_duration_eras=3))


# Invariants: each breach written straight into storage, one at a time, is reported exactly.


def staking_problems(ctx: DispatchContext) -> list[str]:
    return STAKING.try_state(ctx.state)


def test_invariants_report_each_broken_ledger() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    dispatch(ctx, BOB, BondArgs(10_000))
    assert staking_problems(ctx) == []
    charlie = encode_address(CHARLIE)
    staking.Ledger.put(ctx.state, CHARLIE, StakingLedger(0, ()))
    assert staking_problems(ctx) == [f"{charlie} keeps an empty ledger"]
    staking.Ledger.remove(ctx.state, CHARLIE)
    # (More than MAX_UNLOCKING_CHUNKS chunks cannot be stored: the codec refuses the list.)
    chunks = (*(UnlockChunk(300, era) for era in range(31)), UnlockChunk(700, 31))
    staking.Ledger.put(ctx.state, BOB, StakingLedger(0, chunks))
    assert staking_problems(ctx) == []
    staking.Validators.put(ctx.state, CHARLIE, staking.ValidatorPrefs(0, 0, 0, True))
    assert staking_problems(ctx) == [f"validator {charlie} has no ledger"]
    staking.Validators.remove(ctx.state, CHARLIE)
    staking.Delegations.put(ctx.state, CHARLIE, (Delegation(ALICE, 5),))
    assert staking_problems(ctx) == [f"{charlie} delegates 5, more than its active 0"]
    staking.Delegations.put(ctx.state, CHARLIE, (Delegation(ALICE, 0),))
    assert staking_problems(ctx) == [f"{charlie} delegates 0, more than its active 0"]
    staking.Delegations.remove(ctx.state, CHARLIE)
    staking.Delegations.put(ctx.state, ALICE, (Delegation(BOB, 20_001),))
    assert staking_problems(ctx) == [f"{encode_address(ALICE)} delegates 20001, more than its active 20000"]


def test_invariants_report_each_broken_exposure() -> None:
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    alice, bob = encode_address(ALICE), encode_address(BOB)
    staking.Exposures.put(ctx.state, ALICE, staking.Exposure(20_001, 20_000, (), 0))
    assert staking_problems(ctx) == [f"the exposure of {alice} does not add up"]
    staking.Exposures.put(ctx.state, ALICE, staking.Exposure(20_000, 20_000, (), 0))
    staking.RewardPoints.put(ctx.state, BOB, 1)
    assert staking_problems(ctx) == [f"{bob} has reward points but is not elected"]
    staking.RewardPoints.remove(ctx.state, BOB)
    staking.ActiveInEpoch.put(ctx.state, BOB, 1)
    assert staking_problems(ctx) == [f"{bob} is active in the epoch but not elected"]
    staking.ActiveInEpoch.remove(ctx.state, BOB)
    staking.IdleInEra.put(ctx.state, (BOB,))
    assert staking_problems(ctx) == ["a validator is idle in the era but not elected"]
    staking.IdleInEra.put(ctx.state, ())
    staking.Elected.put(ctx.state, (ALICE, ALICE))
    assert staking_problems(ctx) == ["the exposure snapshot does not match the elected set"]


def test_invariants_allow_exactly_max_validators_elected() -> None:
    """(More than MAX_VALIDATORS cannot be stored: the codec refuses the list.)"""
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    many = [ALICE, *(i.to_bytes(32, "big") for i in range(1, staking.MAX_VALIDATORS))]
    for who in many[1:]:
        staking.Exposures.put(ctx.state, who, staking.Exposure(0, 0, (), 0))
    staking.Elected.put(ctx.state, tuple(many))
    assert staking_problems(ctx) == []


def test_invariants_report_each_broken_history() -> None:
    """Kept eras are exactly the last HISTORY_DEPTH before the current one, each with the
    exposures of its set and no other."""
    ctx = new_ext(stakers=((ALICE, 20_000, 0),))
    run_era(ctx, [ALICE])
    run_era(ctx, [ALICE])  # current era 2; eras 0 and 1 kept
    alice, bob = encode_address(ALICE), encode_address(BOB)
    exposure = staking.Exposure(20_000, 20_000, (), 0)
    staking.ErasElected.put(ctx.state, 2, (ALICE,))
    staking.ErasExposures.put(ctx.state, staking.EraValidator(2, ALICE), exposure)
    assert staking_problems(ctx) == [f"era 2's elected set is kept, outside the last {staking.HISTORY_DEPTH} past eras"]
    staking.ErasElected.remove(ctx.state, 2)
    assert staking_problems(ctx) == [f"era 2 keeps the exposure of {alice}, not elected"]
    staking.ErasExposures.remove(ctx.state, staking.EraValidator(2, ALICE))
    staking.ErasElected.put(ctx.state, 1, (ALICE, BOB))
    assert staking_problems(ctx) == ["era 1 keeps no exposure of 1 of its elected validators"]
    staking.ErasElected.put(ctx.state, 1, (ALICE,))
    staking.ErasExposures.put(ctx.state, staking.EraValidator(1, BOB), exposure)
    assert staking_problems(ctx) == [f"era 1 keeps the exposure of {bob}, not elected"]

"""The staking pallet: bonding as a balances lock, unbonding and withdrawal after the bonding
duration, rebonding, validators' commission rules, delegation, the era election and era payouts,
genesis and invariants.

Unless a test says otherwise: ED = 1,000, an era is 5 blocks, the bonding duration 2 eras,
2 validator seats, a minimum validator bond of 10,000, commission at most 20 % and moving at
most 5 % within one era.
"""

from __future__ import annotations

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
from runtime.pallets import balances, session, staking, system
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

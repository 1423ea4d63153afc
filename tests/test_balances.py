"""balances: transfers, the existential deposit and dust, locks, named holds (hold, release,
transfer held funds, slash held funds to any destination), invariants and genesis — against the
composed runtime, and a hypothesis state machine over holds that checks issuance after each step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from runtime import api
from runtime.accounts import (
    BURN_ACCOUNT,
    CONSENSUS_REWARD_POOL_ACCOUNT,
    EMPTY_ACCOUNT,
    FLOCK,
    TREASURY_ACCOUNT,
    AccountInfo,
    compute_module_account,
)
from runtime.construct import PALLET_INDICES
from runtime.framework.pallet import DispatchContext, DispatchError, Origin
from runtime.framework.traits import (
    CURRENCY_ERRORS,
    ExistentialDeposit,
    InsufficientBalance,
    InsufficientHeld,
    KeepAlive,
    LiquidityRestrictions,
    TooManyHolds,
)
from runtime.pallets import balances, system
from runtime.primitives.address import encode_address
from runtime_helpers import BALANCES, RUNTIME, assert_noop, dispatch, named_keypair, new_test_ext

ALICE, BOB, CHARLIE = (named_keypair(name).public_key for name in ("alice", "bob", "charlie"))
ED = 10 * FLOCK // 1000  # a visible existential deposit for these tests
STAKE = b"test/stk"
BOND = b"test/bnd"
TASK_POOL = compute_module_account(b"test task pool")


def new_ext(**balance_of: int) -> DispatchContext:
    """Block 1; the treasury holds the ED and each named account its amount."""
    accounts = [
        (TREASURY_ACCOUNT, ED),
        *((named_keypair(name).public_key, amount) for name, amount in balance_of.items()),
    ]
    return new_test_ext(accounts=accounts, existential_deposit=ED, author=ALICE)


def account(ctx: DispatchContext, who: bytes) -> tuple[int, int]:
    """``(free, reserved)`` of ``who``."""
    info = system.get_account(ctx.state, who)
    return info.free, info.reserved


def free(ctx: DispatchContext, who: bytes) -> int:
    return system.get_account(ctx.state, who).free


def events(ctx: DispatchContext) -> list[object]:
    return [record.event for record in ctx.event_records()]


# --- transfers ----------------------------------------------------------------------------


def test_transfer_creates_account_and_emits_events() -> None:
    ctx = new_ext(alice=100 * ED)
    dispatch(ctx, Origin.signed(ALICE), balances.TransferArgs(BOB, 5 * ED))
    assert free(ctx, ALICE) == 95 * ED
    assert free(ctx, BOB) == 5 * ED
    assert [type(event) for event in events(ctx)] == [system.NewAccount, balances.Endowed, balances.Transfer]
    assert events(ctx)[-1] == balances.Transfer(ALICE, BOB, 5 * ED)
    assert RUNTIME.try_state(ctx.state) == []


def test_transfer_below_existential_deposit_to_new_account_fails() -> None:
    ctx = new_ext(alice=100 * ED)
    assert_noop(ctx, Origin.signed(ALICE), balances.TransferArgs(BOB, ED - 1), ExistentialDeposit)


def test_transfer_keep_alive_refuses_to_reap_sender() -> None:
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    assert_noop(ctx, Origin.signed(ALICE), balances.TransferKeepAliveArgs(BOB, 10 * ED - 1), KeepAlive)


def test_allow_death_transfer_reaps_sender_and_sends_dust_to_treasury() -> None:
    """Alice holds 10 ED and sends 10 ED - 1 with transfer (allow death): the 1 unit left is
    below the ED, so her account is removed and the unit goes to the treasury; issuance holds."""
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    dispatch(ctx, Origin.signed(ALICE), balances.TransferArgs(BOB, 10 * ED - 1))
    assert not system.is_account(ctx.state, ALICE)
    assert free(ctx, BOB) == 20 * ED - 1
    assert free(ctx, TREASURY_ACCOUNT) == ED + 1
    assert balances.DustLost(ALICE, 1) in events(ctx)
    assert RUNTIME.try_state(ctx.state) == []


def test_insufficient_balance() -> None:
    ctx = new_ext(alice=10 * ED)
    assert_noop(ctx, Origin.signed(ALICE), balances.TransferArgs(BOB, 11 * ED), InsufficientBalance)


# --- locks --------------------------------------------------------------------------------


def test_locks_overlap_freeze_free_balance_but_allow_fees() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.set_lock(ctx, ALICE, b"staking ", 8 * ED)
    BALANCES.set_lock(ctx, ALICE, b"vote    ", 5 * ED)
    assert system.get_account(ctx.state, ALICE).frozen == 8 * ED
    assert BALANCES.get_usable_balance(ctx.state, ALICE) == 2 * ED
    assert BALANCES.get_lock(ctx.state, ALICE, b"vote    ") == 5 * ED
    assert_noop(ctx, Origin.signed(ALICE), balances.TransferArgs(BOB, 3 * ED), LiquidityRestrictions)
    BALANCES.remove_lock(ctx, ALICE, b"staking ")
    assert system.get_account(ctx.state, ALICE).frozen == 5 * ED
    assert RUNTIME.try_state(ctx.state) == []


# --- holds ----------------------------------------------------------------------------------


def test_hold_and_release_move_funds_between_free_and_reserved() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 4 * ED)
    BALANCES.hold(ctx, BOND, ALICE, 1 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 1 * ED)
    assert account(ctx, ALICE) == (4 * ED, 6 * ED)
    assert (BALANCES.get_held(ctx.state, ALICE, STAKE), BALANCES.get_held(ctx.state, ALICE, BOND)) == (5 * ED, ED)
    assert balances.Held(ALICE, STAKE, ED) in events(ctx)
    BALANCES.release(ctx, STAKE, ALICE, 2 * ED)
    assert account(ctx, ALICE) == (6 * ED, 4 * ED)
    assert events(ctx)[-1] == balances.Released(ALICE, STAKE, 2 * ED)
    BALANCES.release(ctx, STAKE, ALICE, 3 * ED)
    BALANCES.release(ctx, BOND, ALICE, ED)
    assert account(ctx, ALICE) == (10 * ED, 0)
    assert balances.Holds.get(ctx.state, ALICE) == ()
    assert RUNTIME.try_state(ctx.state) == []


def refuses(ctx: DispatchContext, error: type[DispatchError], operation: Callable[[], object]) -> None:
    """``operation`` raises ``error`` and writes nothing, emits nothing."""
    changes, emitted = dict(ctx.state.changes), list(ctx.events)
    with pytest.raises(error):
        operation()
    assert (ctx.state.changes, ctx.events) == (changes, emitted)


def test_hold_needs_usable_funds_and_release_needs_the_hold() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.set_lock(ctx, ALICE, b"staking ", 7 * ED)
    refuses(ctx, InsufficientBalance, lambda: BALANCES.hold(ctx, STAKE, ALICE, 4 * ED))  # 3 ED are not locked
    refuses(ctx, InsufficientHeld, lambda: BALANCES.release(ctx, STAKE, ALICE, 1))
    BALANCES.hold(ctx, STAKE, ALICE, 3 * ED)
    refuses(ctx, InsufficientHeld, lambda: BALANCES.release(ctx, BOND, ALICE, 1))  # held under another reason
    refuses(ctx, InsufficientHeld, lambda: BALANCES.release(ctx, STAKE, ALICE, 3 * ED + 1))
    assert RUNTIME.try_state(ctx.state) == []


def test_an_account_carries_at_most_max_holds_reasons() -> None:
    ctx = new_ext(alice=100 * ED)
    for index in range(balances.MAX_HOLDS):
        BALANCES.hold(ctx, b"hold%04d" % index, ALICE, ED)
    refuses(ctx, TooManyHolds, lambda: BALANCES.hold(ctx, b"one more", ALICE, ED))
    BALANCES.hold(ctx, b"hold0000", ALICE, ED)  # an existing reason still grows


def test_held_funds_keep_an_account_alive_and_cannot_be_spent() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 10 * ED)
    assert account(ctx, ALICE) == (0, 10 * ED)
    assert system.is_account(ctx.state, ALICE)
    assert_noop(ctx, Origin.signed(ALICE), balances.TransferArgs(BOB, ED), InsufficientBalance)
    assert RUNTIME.try_state(ctx.state) == []


def test_transfer_held_to_free_or_onto_hold() -> None:
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 6 * ED)
    BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, 2 * ED, on_hold=False)
    assert account(ctx, ALICE) == (4 * ED, 4 * ED)
    assert account(ctx, BOB) == (12 * ED, 0)
    BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, 3 * ED, on_hold=True)
    assert account(ctx, BOB) == (12 * ED, 3 * ED)
    assert BALANCES.get_held(ctx.state, BOB, STAKE) == 3 * ED
    assert events(ctx)[-1] == balances.TransferredHeld(STAKE, ALICE, BOB, 3 * ED, True)
    refuses(ctx, InsufficientHeld, lambda: BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, 2 * ED, on_hold=False))
    assert RUNTIME.try_state(ctx.state) == []


def test_transfer_held_to_a_new_account_needs_the_existential_deposit() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 6 * ED)
    refuses(ctx, ExistentialDeposit, lambda: BALANCES.transfer_held(ctx, STAKE, ALICE, CHARLIE, ED - 1, on_hold=True))
    BALANCES.transfer_held(ctx, STAKE, ALICE, CHARLIE, ED, on_hold=True)
    assert account(ctx, CHARLIE) == (0, ED)
    assert RUNTIME.try_state(ctx.state) == []


@pytest.mark.parametrize(
    "dest", [TREASURY_ACCOUNT, CONSENSUS_REWARD_POOL_ACCOUNT, BOB, BURN_ACCOUNT, TASK_POOL], ids=lambda d: d.hex()[:8]
)
def test_slash_held_goes_where_the_caller_says_and_conserves_issuance(dest: bytes) -> None:
    """The treasury, a reward pool, a reporter, the burn account or a new task pool: the slashed
    amount leaves the holder's reserved balance and lands free at the destination."""
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    BALANCES.transfer(ctx, BOB, CONSENSUS_REWARD_POOL_ACCOUNT, ED, keep_alive=True)
    BALANCES.hold(ctx, STAKE, ALICE, 6 * ED)
    issuance = BALANCES.get_total_issuance(ctx.state)
    before = free(ctx, dest)
    assert BALANCES.slash_held(ctx, STAKE, ALICE, 2 * ED, dest) == 2 * ED
    assert account(ctx, ALICE) == (4 * ED, 4 * ED)
    assert free(ctx, dest) == before + 2 * ED
    assert events(ctx)[-1] == balances.SlashedHeld(ALICE, STAKE, 2 * ED, dest)
    assert BALANCES.get_total_issuance(ctx.state) == issuance
    assert RUNTIME.try_state(ctx.state) == []


def test_slash_held_takes_at_most_what_is_held_and_removes_an_emptied_account() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 10 * ED)
    assert BALANCES.slash_held(ctx, BOND, ALICE, ED, TREASURY_ACCOUNT) == 0  # nothing under that reason
    assert BALANCES.slash_held(ctx, STAKE, ALICE, 50 * ED, TREASURY_ACCOUNT) == 10 * ED
    assert not system.is_account(ctx.state, ALICE)
    assert system.KilledAccount(ALICE) in events(ctx)
    assert free(ctx, TREASURY_ACCOUNT) == 11 * ED
    assert RUNTIME.try_state(ctx.state) == []


def test_slash_held_leaving_dust_sends_it_to_the_dust_receiver() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 10 * ED - 1)  # one unit stays free
    BALANCES.slash_held(ctx, STAKE, ALICE, 10 * ED, BOB)
    assert not system.is_account(ctx.state, ALICE)
    assert balances.DustLost(ALICE, 1) in events(ctx)
    assert free(ctx, TREASURY_ACCOUNT) == ED + 1
    assert RUNTIME.try_state(ctx.state) == []


def test_slash_to_a_destination_that_cannot_receive_changes_nothing() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 6 * ED)
    refuses(ctx, ExistentialDeposit, lambda: BALANCES.slash_held(ctx, STAKE, ALICE, ED - 1, CHARLIE))


def test_invariants_catch_a_reserved_balance_that_is_not_its_holds() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 4 * ED)
    balances.Holds.put(ctx.state, ALICE, (balances.Hold(STAKE, 3 * ED),))
    assert any("not the sum of its holds" in problem for problem in RUNTIME.try_state(ctx.state))


class HoldsMachine(RuleBasedStateMachine):
    """Random holds, releases, held transfers and slashes among four accounts: every step either
    applies whole or raises a currency error and changes nothing; issuance never changes and
    every invariant holds after every step."""

    ACCOUNTS = (ALICE, BOB, CHARLIE, TREASURY_ACCOUNT)
    REASONS = (STAKE, BOND)

    def __init__(self) -> None:
        super().__init__()
        self.ctx = new_ext(alice=100 * ED, bob=100 * ED, charlie=100 * ED)
        self.issuance = BALANCES.get_total_issuance(self.ctx.state)

    def attempt(self, operation: Callable[..., object], *args: object, **kwargs: object) -> None:
        before = dict(self.ctx.state.changes)
        try:
            operation(self.ctx, *args, **kwargs)
        except DispatchError as error:
            assert isinstance(error, CURRENCY_ERRORS)
            assert dict(self.ctx.state.changes) == before, "a refused operation wrote something"

    amounts = st.integers(0, 60 * ED)
    accounts = st.sampled_from(ACCOUNTS)
    reasons = st.sampled_from(REASONS)

    @rule(who=accounts, reason=reasons, amount=amounts)
    def hold(self, who: bytes, reason: bytes, amount: int) -> None:
        self.attempt(BALANCES.hold, reason, who, amount)

    @rule(who=accounts, reason=reasons, amount=amounts)
    def release(self, who: bytes, reason: bytes, amount: int) -> None:
        self.attempt(BALANCES.release, reason, who, amount)

    @rule(source=accounts, dest=accounts, reason=reasons, amount=amounts, on_hold=st.booleans())
    def transfer_held(self, source: bytes, dest: bytes, reason: bytes, amount: int, on_hold: bool) -> None:
        self.attempt(BALANCES.transfer_held, reason, source, dest, amount, on_hold=on_hold)

    @rule(who=accounts, dest=st.sampled_from((*ACCOUNTS, BURN_ACCOUNT)), reason=reasons, amount=amounts)
    def slash_held(self, who: bytes, dest: bytes, reason: bytes, amount: int) -> None:
        held = BALANCES.get_held(self.ctx.state, who, reason)
        before = free(self.ctx, dest)
        try:
            slashed = BALANCES.slash_held(self.ctx, reason, who, amount, dest)
        except DispatchError as error:
            assert isinstance(error, CURRENCY_ERRORS)
            return
        assert slashed == min(amount, held)
        assert free(self.ctx, dest) >= before + slashed or dest == TREASURY_ACCOUNT  # dust may also land there

    @rule(source=accounts, dest=accounts, amount=amounts)
    def transfer(self, source: bytes, dest: bytes, amount: int) -> None:
        self.attempt(BALANCES.transfer, source, dest, amount, keep_alive=False)

    @invariant()
    def issuance_is_conserved_and_invariants_hold(self) -> None:
        assert BALANCES.get_total_issuance(self.ctx.state) == self.issuance
        assert sum(info.total for _, info in system.iter_accounts(self.ctx.state)) == self.issuance
        assert RUNTIME.try_state(self.ctx.state) == []


TestHoldsMachine = HoldsMachine.TestCase
TestHoldsMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


# --- invariants, errors and genesis ---------------------------------------------------------


def test_invariant_catches_issuance_drift() -> None:
    ctx = new_ext(alice=10 * ED)
    balances.TotalIssuance.put(ctx.state, 10 * ED + 1)
    assert any("total issuance" in problem for problem in RUNTIME.try_state(ctx.state))


def test_currency_errors_are_balances_errors_on_chain() -> None:
    """The currency's errors live in the interface, but carry balances' index and their codes."""
    assert [RUNTIME.error_index(error()) for error in CURRENCY_ERRORS] == [
        (PALLET_INDICES["balances"], code) for code in range(len(CURRENCY_ERRORS))
    ]


def test_balances_genesis_rejects_duplicates_and_dust() -> None:
    treasury = (TREASURY_ACCOUNT, ED)
    with pytest.raises(ValueError, match="twice"):
        RUNTIME.build_genesis(
            {
                "balances": {
                    "balances": [[encode_address(who), amount] for who, amount in (treasury, (ALICE, ED))] * 2
                },
                "session": {"authorities": [encode_address(ALICE)]},
            }
        )
    with pytest.raises(ValueError, match="treasury"):
        RUNTIME.build_genesis(
            {
                "balances": {"balances": [[encode_address(ALICE), ED]]},
                "session": {"authorities": [encode_address(ALICE)]},
            }
        )
    with pytest.raises(ValueError, match="existential"):
        new_ext(alice=ED - 1)


def test_a_genesis_account_has_only_a_free_balance() -> None:
    ctx = new_ext(alice=10 * ED)
    assert system.get_account(ctx.state, ALICE) == replace(EMPTY_ACCOUNT, free=10 * ED)


@settings(max_examples=200, deadline=None)
@given(
    free=st.integers(0, 10**6),
    reserved=st.integers(0, 10**6),
    frozen=st.integers(0, 2 * 10**6),
)
def test_the_fee_budget_is_exactly_what_a_keep_alive_withdrawal_allows(free: int, reserved: int, frozen: int) -> None:
    ctx = new_ext()
    info = AccountInfo(0, free, reserved, frozen)
    system.put_account(ctx, CHARLIE, info, system.get_account(ctx.state, CHARLIE))
    budget = api.get_fee_budget(ctx.state, CHARLIE)
    if budget:
        BALANCES.compute_withdrawn(ctx.state, info, budget, keep_alive=True)
    with pytest.raises(DispatchError):
        BALANCES.compute_withdrawn(ctx.state, info, budget + 1, keep_alive=True)


# --- boundaries and invariants the mutation pass found unpinned (docs/testing.md) ---------

U64_MAX = 2**64 - 1


def put_account(ctx: DispatchContext, who: bytes, **fields: int) -> None:
    """Write ``who``'s account straight into storage (to reach edges no transfer reaches)."""
    system.Account.put(ctx.state, who, replace(system.get_account(ctx.state, who), **fields))


def test_withdraw_and_deposit_edges() -> None:
    info = replace(EMPTY_ACCOUNT, free=10)
    assert balances.compute_withdrawn(info, 10, keep_alive=False, existential_deposit=1).free == 0
    with pytest.raises(KeepAlive):
        balances.compute_withdrawn(info, 10, keep_alive=True, existential_deposit=1)
    assert balances.compute_deposited(info, U64_MAX - 10, existential_deposit=1).free == U64_MAX
    with pytest.raises(balances.Overflow):
        balances.compute_deposited(info, U64_MAX - 9, existential_deposit=1)
    ctx = new_ext(alice=10 * ED)
    with pytest.raises(KeepAlive):
        BALANCES.check_withdraw(ctx.state, ALICE, 10 * ED, keep_alive=True)
    with pytest.raises(KeepAlive):
        BALANCES.compute_withdrawn(ctx.state, system.get_account(ctx.state, ALICE), 10 * ED, keep_alive=True)
    BALANCES.check_withdraw(ctx.state, ALICE, 10 * ED, keep_alive=False)


def test_a_lock_may_be_replaced_on_an_account_with_the_most_locks() -> None:
    ctx = new_ext(alice=10 * ED)
    for index in range(balances.MAX_LOCKS - 1):
        BALANCES.set_lock(ctx, ALICE, b"lock%04d" % index, 1)
    BALANCES.check_lock(ctx.state, ALICE, b"lock9999", 1)  # the last free place
    BALANCES.set_lock(ctx, ALICE, b"lock9999", 1)
    BALANCES.check_lock(ctx.state, ALICE, b"lock0000", 2)  # replacing one
    with pytest.raises(balances.TooManyLocks):
        BALANCES.check_lock(ctx.state, ALICE, b"lockNEW!", 1)


def test_release_up_to_the_largest_balance() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 10)
    put_account(ctx, ALICE, free=U64_MAX - 10)
    BALANCES.release(ctx, STAKE, ALICE, 10)
    assert account(ctx, ALICE) == (U64_MAX, 0)
    BALANCES.hold(ctx, STAKE, ALICE, 10)
    put_account(ctx, ALICE, free=U64_MAX - 9)
    refuses(ctx, balances.Overflow, lambda: BALANCES.release(ctx, STAKE, ALICE, 10))


def test_receiving_on_hold_up_to_the_largest_reserved_balance() -> None:
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 20)
    BALANCES.hold(ctx, STAKE, BOB, 10)
    put_account(ctx, BOB, reserved=U64_MAX - 10)
    balances.Holds.put(ctx.state, BOB, (balances.Hold(STAKE, U64_MAX - 10),))
    BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, 10, on_hold=True)
    assert account(ctx, BOB)[1] == U64_MAX
    refuses(ctx, balances.Overflow, lambda: BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, 1, on_hold=True))


def test_held_transfers_count_the_destinations_holds_only_when_held_there() -> None:
    """Bob holds MAX_HOLDS reasons, STAKE among them: he may receive STAKE on hold and anything
    free, but not BOND on hold; alice, slashed into bob, is paid free."""
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 6 * ED)
    BALANCES.hold(ctx, BOND, ALICE, 2 * ED)
    for index in range(balances.MAX_HOLDS - 1):
        BALANCES.hold(ctx, b"hold%04d" % index, BOB, 1)
    BALANCES.hold(ctx, STAKE, BOB, 1)
    BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, ED, on_hold=True)
    BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, ED, on_hold=False)
    assert BALANCES.slash_held(ctx, STAKE, ALICE, ED, BOB) == ED
    BALANCES.transfer_held(ctx, BOND, ALICE, BOB, ED, on_hold=False)  # a reason bob does not hold
    refuses(ctx, TooManyHolds, lambda: BALANCES.transfer_held(ctx, BOND, ALICE, BOB, ED, on_hold=True))
    assert BALANCES.get_held(ctx.state, BOB, STAKE) == ED + 1
    assert RUNTIME.try_state(ctx.state) == []


def test_held_transfer_and_slash_messages() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 6 * ED)
    with pytest.raises(InsufficientHeld, match="^a held amount cannot be transferred to its own holder$"):
        BALANCES.transfer_held(ctx, STAKE, ALICE, ALICE, ED, on_hold=False)
    with pytest.raises(InsufficientHeld, match="^a slash cannot pay the slashed account$"):
        BALANCES.slash_held(ctx, STAKE, ALICE, ED, ALICE)


def test_slashing_nothing_needs_no_receivable_destination() -> None:
    ctx = new_ext(alice=10 * ED)
    before = len(ctx.events)
    assert BALANCES.slash_held(ctx, STAKE, ALICE, ED, CHARLIE) == 0  # charlie has no account
    assert len(ctx.events) == before


def test_receiving_on_hold_endows_only_a_new_account() -> None:
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    BALANCES.hold(ctx, STAKE, ALICE, 6 * ED)
    BALANCES.transfer_held(ctx, STAKE, ALICE, BOB, ED, on_hold=True)
    assert not [event for event in events(ctx) if isinstance(event, balances.Endowed)]
    BALANCES.transfer_held(ctx, STAKE, ALICE, CHARLIE, ED, on_hold=True)
    assert [event for event in events(ctx) if isinstance(event, balances.Endowed)] == [balances.Endowed(CHARLIE, ED)]


def test_sending_a_whole_balance_leaves_no_dust_event() -> None:
    ctx = new_ext(alice=10 * ED)
    BALANCES.transfer(ctx, ALICE, BOB, 10 * ED, keep_alive=False)
    assert not system.is_account(ctx.state, ALICE)
    assert not [event for event in events(ctx) if isinstance(event, balances.DustLost)]


def test_genesis_reads_the_dust_receiver_and_needs_a_balances_list() -> None:
    ctx = new_test_ext(
        accounts=[(TREASURY_ACCOUNT, ED), (BOB, ED)],
        existential_deposit=ED,
        config={
            "balances": {
                "existentialDeposit": ED,
                "dustReceiver": encode_address(BOB),
                "balances": [[encode_address(TREASURY_ACCOUNT), ED], [encode_address(BOB), ED]],
            }
        },
    )
    assert balances.DustReceiver.get(ctx.state) == BOB
    with pytest.raises(ValueError, match="must be endowed at genesis"):
        RUNTIME.build_genesis(
            {"balances": {"existentialDeposit": ED}, "session": {"authorities": [encode_address(ALICE)]}}
        )


def balances_problems(ctx: DispatchContext) -> list[str]:
    return BALANCES.try_state(ctx.state)


def test_invariants_report_dust_but_not_a_held_or_frozen_small_account() -> None:
    """An account below the ED is dust unless something holds or freezes it; 1 unit is dust."""
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    issuance = BALANCES.get_total_issuance(ctx.state)
    put_account(ctx, ALICE, free=1)
    balances.TotalIssuance.put(ctx.state, issuance - 10 * ED + 1)
    assert balances_problems(ctx) == [f"account {ALICE.hex()} holds 1, below the existential deposit"]
    put_account(ctx, ALICE, free=ED - 1, frozen=1)
    balances.Locks.put(ctx.state, ALICE, (balances.BalanceLock(b"lock0000", 1),))
    balances.TotalIssuance.put(ctx.state, issuance - 10 * ED + ED - 1)
    assert balances_problems(ctx) == []
    balances.Locks.remove(ctx.state, ALICE)
    put_account(ctx, ALICE, free=0, reserved=ED - 1, frozen=0)
    balances.Holds.put(ctx.state, ALICE, (balances.Hold(STAKE, ED - 1),))
    assert balances_problems(ctx) == []
    put_account(ctx, ALICE, free=ED - 1, reserved=0)
    balances.Holds.remove(ctx.state, ALICE)
    assert balances_problems(ctx) == [f"account {ALICE.hex()} holds {ED - 1}, below the existential deposit"]
    put_account(ctx, ALICE, free=0)  # an empty account is system's invariant, not dust
    balances.TotalIssuance.put(ctx.state, issuance - 10 * ED)
    assert balances_problems(ctx) == []


def test_invariants_report_each_broken_lock_and_hold() -> None:
    ctx = new_ext(alice=10 * ED, bob=10 * ED)
    BALANCES.set_lock(ctx, ALICE, b"lock0000", ED)
    BALANCES.hold(ctx, STAKE, BOB, ED)
    BALANCES.hold(ctx, BOND, BOB, ED)
    assert balances_problems(ctx) == []
    put_account(ctx, ALICE, frozen=ED + 1)
    assert balances_problems(ctx) == [f"account {ALICE.hex()}: frozen {ED + 1} does not match its locks"]
    put_account(ctx, ALICE, frozen=ED)
    balances.Holds.put(ctx.state, BOB, (balances.Hold(STAKE, ED), balances.Hold(BOND, ED)))
    assert balances_problems(ctx) == [f"account {BOB.hex()}: holds are unsorted, repeated or empty"]
    balances.Holds.put(ctx.state, BOB, (balances.Hold(BOND, 2 * ED), balances.Hold(STAKE, 0)))
    assert balances_problems(ctx) == [f"account {BOB.hex()}: holds are unsorted, repeated or empty"]
    balances.Holds.remove(ctx.state, BOB)
    balances.Holds.put(ctx.state, CHARLIE, (balances.Hold(STAKE, 1),))
    assert balances_problems(ctx) == [
        f"account {BOB.hex()}: reserved {2 * ED} is not the sum of its holds",
        f"account {CHARLIE.hex()} holds funds but has no account",
    ]
    balances.Holds.put(ctx.state, BOB, (balances.Hold(BOND, ED), balances.Hold(STAKE, ED)))
    balances.Holds.remove(ctx.state, CHARLIE)
    balances.TotalIssuance.put(ctx.state, 1)
    assert balances_problems(ctx) == [f"accounts hold {21 * ED} but total issuance is 1"]

"""Per-pallet tests against the composed runtime: balances, system, treasury, timestamp, session,
transaction payment — calls, hooks, genesis build/export and invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest

from runtime.accounts import FLOCK, TREASURY_ACCOUNT
from runtime.construct import construct_runtime
from runtime.framework.pallet import ROOT, BadOrigin, BlockEnvironment, DispatchContext, Origin
from runtime.framework.storage import Overlay
from runtime.pallets import balances, session, system, timestamp, treasury
from runtime.pallets.system import Remark
from runtime.primitives.address import encode_address
from runtime_helpers import DictState, assert_noop, build_genesis_state, dispatch, named_keypair, sign_transfer

RUNTIME = construct_runtime()
ALICE, BOB, CHARLIE = named_keypair("alice"), named_keypair("bob"), named_keypair("charlie")
ED = 10 * FLOCK // 1000  # a visible existential deposit for these tests


def new_test_ext(**balance_of: int) -> DispatchContext:
    """A dispatch context at block 1 over a genesis state (FRAME's ``new_test_ext``)."""
    state = DictState().apply(
        RUNTIME.build_genesis(
            {
                "balances": {
                    "existentialDeposit": ED,
                    "balances": [
                        [encode_address(TREASURY_ACCOUNT), ED],
                        *(
                            [encode_address(named_keypair(name).public_key), amount]
                            for name, amount in balance_of.items()
                        ),
                    ],
                },
                "session": {"authorities": [encode_address(ALICE.public_key)]},
            }
        )
    )
    env = BlockEnvironment(1, bytes(32), 1, 1_000, ALICE.public_key)
    return DispatchContext(RUNTIME, Overlay(state), env, bytes(32))


def free(ctx: DispatchContext, who: bytes) -> int:
    return system.get_account(ctx.state, who).free


# --- balances -----------------------------------------------------------------------------


def test_transfer_creates_account_and_emits_events() -> None:
    ctx = new_test_ext(alice=100 * ED)
    dispatch(ctx, Origin.signed(ALICE.public_key), balances.TransferArgs(BOB.public_key, 5 * ED))
    assert free(ctx, ALICE.public_key) == 95 * ED
    assert free(ctx, BOB.public_key) == 5 * ED
    assert [type(e.event) for e in ctx.event_records()] == [system.NewAccount, balances.Endowed, balances.Transfer]
    assert balances.Transfer(ALICE.public_key, BOB.public_key, 5 * ED) == ctx.event_records()[-1].event
    assert RUNTIME.try_state(ctx.state) == []


def test_transfer_below_existential_deposit_to_new_account_fails() -> None:
    ctx = new_test_ext(alice=100 * ED)
    assert_noop(
        ctx, Origin.signed(ALICE.public_key), balances.TransferArgs(BOB.public_key, ED - 1), balances.ExistentialDeposit
    )


def test_transfer_keep_alive_refuses_to_reap_sender() -> None:
    ctx = new_test_ext(alice=10 * ED, bob=10 * ED)
    assert_noop(
        ctx,
        Origin.signed(ALICE.public_key),
        balances.TransferKeepAliveArgs(BOB.public_key, 10 * ED - 1),
        balances.KeepAlive,
    )


def test_allow_death_transfer_reaps_sender_and_sends_dust_to_treasury() -> None:
    """Alice holds 10 ED and sends 10 ED - 1 with transfer (allow death): the 1 unit left is
    below the ED, so her account is removed and the unit goes to the treasury; issuance holds."""
    ctx = new_test_ext(alice=10 * ED, bob=10 * ED)
    dispatch(ctx, Origin.signed(ALICE.public_key), balances.TransferArgs(BOB.public_key, 10 * ED - 1))
    assert not system.Account.contains(ctx.state, ALICE.public_key)
    assert free(ctx, BOB.public_key) == 20 * ED - 1
    assert free(ctx, TREASURY_ACCOUNT) == ED + 1
    assert balances.DustLost(ALICE.public_key, 1) in [e.event for e in ctx.event_records()]
    assert RUNTIME.try_state(ctx.state) == []


def test_insufficient_balance() -> None:
    ctx = new_test_ext(alice=10 * ED)
    assert_noop(
        ctx,
        Origin.signed(ALICE.public_key),
        balances.TransferArgs(BOB.public_key, 11 * ED),
        balances.InsufficientBalance,
    )


def test_reserve_and_unreserve() -> None:
    ctx = new_test_ext(alice=10 * ED)
    balances.reserve(ctx, ALICE.public_key, 4 * ED)
    info = system.get_account(ctx.state, ALICE.public_key)
    assert (info.free, info.reserved) == (6 * ED, 4 * ED)
    with pytest.raises(balances.InsufficientBalance):
        balances.reserve(ctx, ALICE.public_key, 7 * ED)
    with pytest.raises(balances.InsufficientBalance):
        balances.unreserve(ctx, ALICE.public_key, 5 * ED)
    balances.unreserve(ctx, ALICE.public_key, 4 * ED)
    assert system.get_account(ctx.state, ALICE.public_key) == replace(info, free=10 * ED, reserved=0)
    assert RUNTIME.try_state(ctx.state) == []


def test_locks_freeze_free_balance_but_allow_fees() -> None:
    ctx = new_test_ext(alice=10 * ED)
    balances.set_lock(ctx, ALICE.public_key, b"staking ", 8 * ED)
    balances.set_lock(ctx, ALICE.public_key, b"vote    ", 5 * ED)
    assert system.get_account(ctx.state, ALICE.public_key).frozen == 8 * ED
    assert balances.get_usable_balance(ctx.state, ALICE.public_key) == 2 * ED
    assert_noop(
        ctx,
        Origin.signed(ALICE.public_key),
        balances.TransferArgs(BOB.public_key, 3 * ED),
        balances.LiquidityRestrictions,
    )
    balances.remove_lock(ctx, ALICE.public_key, b"staking ")
    assert system.get_account(ctx.state, ALICE.public_key).frozen == 5 * ED
    assert RUNTIME.try_state(ctx.state) == []


def test_invariant_catches_issuance_drift() -> None:
    ctx = new_test_ext(alice=10 * ED)
    balances.TotalIssuance.put(ctx.state, 10 * ED + 1)
    assert any("total issuance" in problem for problem in RUNTIME.try_state(ctx.state))


def test_balances_genesis_rejects_duplicates_and_dust() -> None:
    with pytest.raises(ValueError, match="twice"):
        RUNTIME.build_genesis(
            {
                "balances": {
                    "balances": [[encode_address(TREASURY_ACCOUNT), ED], [encode_address(ALICE.public_key), ED]] * 2
                },
                "session": {"authorities": [encode_address(ALICE.public_key)]},
            }
        )
    with pytest.raises(ValueError, match="treasury"):
        RUNTIME.build_genesis(
            {
                "balances": {"balances": [[encode_address(ALICE.public_key), ED]]},
                "session": {"authorities": [encode_address(ALICE.public_key)]},
            }
        )
    with pytest.raises(ValueError, match="existential"):
        new_test_ext(alice=ED - 1)


# --- system -------------------------------------------------------------------------------


def test_remark_and_bad_origin() -> None:
    ctx = new_test_ext(alice=10 * ED)
    dispatch(ctx, Origin.signed(ALICE.public_key), Remark(b"hello"))
    assert ctx.event_records()[-1].event == system.Remarked(ALICE.public_key, 5)
    assert_noop(ctx, ROOT, balances.TransferArgs(BOB.public_key, ED), BadOrigin)


def test_on_initialize_records_parent_hash() -> None:
    ctx = new_test_ext(alice=10 * ED)
    ctx.block = BlockEnvironment(7, b"\x07" * 32, 7, 7_000, ALICE.public_key)
    RUNTIME.pallet("system").on_initialize(ctx)
    assert system.Number.get(ctx.state) == 7
    assert system.get_block_hash(ctx.state, 6) == b"\x07" * 32


# --- treasury -----------------------------------------------------------------------------


def test_treasury_spend_is_root_only_and_bounded() -> None:
    ctx = new_test_ext(alice=10 * ED)
    balances.transfer(ctx, ALICE.public_key, TREASURY_ACCOUNT, 5 * ED, keep_alive=True)
    assert_noop(ctx, Origin.signed(ALICE.public_key), treasury.SpendArgs(BOB.public_key, ED), BadOrigin)
    assert_noop(ctx, ROOT, treasury.SpendArgs(BOB.public_key, 6 * ED), treasury.InsufficientFunds)
    dispatch(ctx, ROOT, treasury.SpendArgs(BOB.public_key, 2 * ED))
    assert free(ctx, BOB.public_key) == 2 * ED
    assert ctx.event_records()[-1].event == treasury.Spent(BOB.public_key, 2 * ED)


# --- timestamp ----------------------------------------------------------------------------


def test_timestamp_minimum_period() -> None:
    ctx = new_test_ext(alice=10 * ED)
    timestamp.Now.put(ctx.state, 800)
    with pytest.raises(Exception, match="minimum period"):
        dispatch(ctx, Origin("none"), timestamp.SetArgs(1_000))
    timestamp.Now.put(ctx.state, 500)
    dispatch(ctx, Origin("none"), timestamp.SetArgs(1_000))
    assert timestamp.Now.get(ctx.state) == 1_000


# --- session ------------------------------------------------------------------------------


def test_session_authorities_and_genesis_checks() -> None:
    state = build_genesis_state(RUNTIME, [ALICE.public_key], authorities=[ALICE.public_key, BOB.public_key])
    assert session.get_authorities(state) == (ALICE.public_key, BOB.public_key)
    with pytest.raises(ValueError, match="at least one"):
        build_genesis_state(RUNTIME, [ALICE.public_key], authorities=[])
    with pytest.raises(ValueError, match="twice"):
        build_genesis_state(RUNTIME, [ALICE.public_key], authorities=[ALICE.public_key] * 2)
    with pytest.raises(ValueError, match="not a valid"):
        build_genesis_state(RUNTIME, [ALICE.public_key], authorities=[bytes(32)])


# --- genesis round trip -------------------------------------------------------------------


def test_genesis_export_import_round_trip() -> None:
    state = build_genesis_state(
        RUNTIME,
        [ALICE.public_key, BOB.public_key, CHARLIE.public_key],
        config={"transaction_payment": {"baseFee": 5, "lengthFee": 6, "weightFee": 7, "authorSharePerbill": 8}},
    )
    exported = RUNTIME.export_genesis(state)
    assert exported["transaction_payment"] == {"baseFee": 5, "lengthFee": 6, "weightFee": 7, "authorSharePerbill": 8}
    rebuilt = DictState().apply(RUNTIME.build_genesis(exported))
    assert dict(rebuilt.iter_prefix(b"")) == dict(state.iter_prefix(b""))
    assert RUNTIME.export_genesis(rebuilt) == exported


def test_unknown_genesis_section_rejected() -> None:
    with pytest.raises(ValueError, match="unknown pallets"):
        RUNTIME.build_genesis({"no_such_pallet": {}})


def test_transfer_through_a_block_matches_direct_dispatch() -> None:
    """The same transfer via a signed extrinsic moves exactly the same amount."""
    from runtime.executive import Executive
    from runtime_helpers import TEST_GENESIS_HASH, execute_block

    state = build_genesis_state(RUNTIME, [ALICE.public_key])
    after = execute_block(
        Executive(RUNTIME, TEST_GENESIS_HASH),
        state,
        [sign_transfer(RUNTIME, ALICE, BOB.public_key, 3 * FLOCK, nonce=0)],
    )
    assert system.get_account(after, BOB.public_key).free == 3 * FLOCK

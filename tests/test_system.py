"""system: remarks, origins, block bookkeeping; and the composed runtime's genesis as a whole
(export and rebuild, unknown sections) and a transfer through a real block."""

from __future__ import annotations

import pytest

from runtime.accounts import FLOCK
from runtime.executive import Executive
from runtime.framework.pallet import ROOT, BadOrigin, BlockEnvironment, Origin
from runtime.pallets import balances, system
from runtime.pallets.system import Remark
from runtime_helpers import (
    RUNTIME,
    TEST_GENESIS_HASH,
    DictState,
    assert_noop,
    build_genesis_state,
    dispatch,
    execute_block,
    named_keypair,
    new_test_ext,
    sign_transfer,
)

ALICE, BOB, CHARLIE = named_keypair("alice"), named_keypair("bob"), named_keypair("charlie")


def test_remark_and_bad_origin() -> None:
    ctx = new_test_ext(endowed=[ALICE.public_key])
    dispatch(ctx, Origin.signed(ALICE.public_key), Remark(b"hello"))
    assert ctx.event_records()[-1].event == system.Remarked(ALICE.public_key, 5)
    assert_noop(ctx, ROOT, balances.TransferArgs(BOB.public_key, FLOCK), BadOrigin)


def test_on_initialize_records_parent_hash() -> None:
    ctx = new_test_ext(endowed=[ALICE.public_key])
    ctx.block = BlockEnvironment(7, b"\x07" * 32, 7, 7_000, ALICE.public_key)
    RUNTIME.pallet("system").on_initialize(ctx)
    assert system.get_block_number(ctx.state) == 7
    assert system.get_block_hash(ctx.state, 6) == b"\x07" * 32


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


def test_a_parameters_section_needs_every_key_and_in_range_values() -> None:
    with pytest.raises(ValueError, match="transaction_payment.authorSharePerbill is missing"):
        build_genesis_state(config={"transaction_payment": {"baseFee": 5, "lengthFee": 6, "weightFee": 7}})
    with pytest.raises(ValueError, match="out of range"):
        build_genesis_state(
            config={"system": {"maxBlockWeight": -1, "maxBlockLength": 1, "blockHashCount": 1}},
        )


def test_transfer_through_a_block_matches_direct_dispatch() -> None:
    """The same transfer via a signed extrinsic moves exactly the same amount."""
    state = build_genesis_state(RUNTIME, [ALICE.public_key])
    after = execute_block(
        Executive(RUNTIME, TEST_GENESIS_HASH),
        state,
        [sign_transfer(RUNTIME, ALICE, BOB.public_key, 3 * FLOCK, nonce=0)],
    )
    assert system.get_account(after, BOB.public_key).free == 3 * FLOCK


# --- bookkeeping and invariants the mutation pass found unpinned (docs/testing.md) ----------


def test_a_block_starts_with_no_weight_and_no_length() -> None:
    executive = Executive(RUNTIME, TEST_GENESIS_HASH)
    state = build_genesis_state(RUNTIME, [ALICE.public_key])
    state = execute_block(executive, state, [sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)])
    assert system.BlockWeight.get(state) > 0 and system.BlockLength.get(state) > 0
    block = executive.initialize_block(state, BlockEnvironment(2, b"\x02" * 32, 2, 2_000, ALICE.public_key))
    assert (system.BlockWeight.get(block.ctx.state), system.BlockLength.get(block.ctx.state)) == (0, 0)


def test_try_state_reports_an_empty_account_and_more_frozen_than_held() -> None:
    from runtime.accounts import EMPTY_ACCOUNT, AccountInfo

    ctx = new_test_ext(endowed=[ALICE.public_key])
    pallet = RUNTIME.pallet("system")
    system.Account.put(ctx.state, BOB.public_key, EMPTY_ACCOUNT)
    assert pallet.try_state(ctx.state) == [f"empty account {BOB.public_key.hex()} was not removed"]
    system.Account.put(ctx.state, BOB.public_key, AccountInfo(0, 0, 0, 1))
    assert pallet.try_state(ctx.state) == [f"account {BOB.public_key.hex()} has more frozen than it holds"]
    system.Account.put(ctx.state, BOB.public_key, AccountInfo(0, 5, 0, 5))
    assert pallet.try_state(ctx.state) == []

"""treasury: spends are root-only (governance), bounded by what the treasury holds above its
existential deposit."""

from __future__ import annotations

from runtime.accounts import FLOCK, TREASURY_ACCOUNT
from runtime.framework.pallet import ROOT, BadOrigin, Origin
from runtime.pallets import system, treasury
from runtime_helpers import BALANCES, assert_noop, dispatch, named_keypair, new_test_ext

ALICE, BOB = named_keypair("alice").public_key, named_keypair("bob").public_key
ED = 10 * FLOCK // 1000


def test_treasury_spend_is_root_only_and_bounded() -> None:
    ctx = new_test_ext(accounts=[(TREASURY_ACCOUNT, ED), (ALICE, 10 * ED)], existential_deposit=ED)
    BALANCES.transfer(ctx, ALICE, TREASURY_ACCOUNT, 5 * ED, keep_alive=True)
    assert_noop(ctx, Origin.signed(ALICE), treasury.SpendArgs(BOB, ED), BadOrigin)
    assert_noop(ctx, ROOT, treasury.SpendArgs(BOB, 6 * ED), treasury.InsufficientFunds)
    dispatch(ctx, ROOT, treasury.SpendArgs(BOB, 2 * ED))
    assert system.get_account(ctx.state, BOB).free == 2 * ED
    assert ctx.event_records()[-1].event == treasury.Spent(BOB, 2 * ED)

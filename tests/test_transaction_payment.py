"""transaction_payment: the fee formula, paying a fee without dying, and where a block's fees
and tips go (the end-to-end path through blocks is in test_executive.py)."""

from __future__ import annotations

import pytest

from runtime.accounts import TREASURY_ACCOUNT
from runtime.framework.traits import KeepAlive
from runtime.pallets import system, transaction_payment
from runtime.pallets.transaction_payment import CollectedFees, FeeParameters
from runtime_helpers import RUNTIME, named_keypair, new_test_ext

ALICE, AUTHOR = named_keypair("alice").public_key, named_keypair("fresh author").public_key
PAYMENT: transaction_payment.TransactionPayment = RUNTIME.pallet("transaction_payment")  # type: ignore[assignment]
ED = 1_000


def test_the_fee_adds_base_length_and_weight_parts() -> None:
    assert transaction_payment.compute_fee(FeeParameters(7, 3, 2, 0), 10, 100) == 7 + 30 + 200


def test_a_fee_may_not_take_the_payer_below_the_existential_deposit() -> None:
    ctx = new_test_ext(accounts=[(ALICE, 10 * ED)], existential_deposit=ED)
    account = system.get_account(ctx.state, ALICE)
    assert PAYMENT.compute_paid(ctx.state, account, 9 * ED - 1, 1).free == ED
    with pytest.raises(KeepAlive):
        PAYMENT.compute_paid(ctx.state, account, 9 * ED, 1)


def test_an_author_share_too_small_to_open_the_authors_account_goes_to_the_treasury() -> None:
    """A fresh author key (no account, not a validator's signing key) would get 20 % of 1,000 =
    200 plus a tip of 100, below the ED: the treasury takes all 1,100."""
    ctx = new_test_ext(accounts=[(ALICE, 10 * ED)], existential_deposit=ED, author=AUTHOR)
    parameters = FeeParameters(0, 0, 0, 200_000_000)
    transaction_payment.PARAMETERS.storage.put(ctx.state, parameters)
    transaction_payment.BlockFees.put(ctx.state, CollectedFees(1_000, 100))
    treasury = system.get_account(ctx.state, TREASURY_ACCOUNT).free
    PAYMENT.pay_out(ctx)
    assert not system.is_account(ctx.state, AUTHOR)
    assert system.get_account(ctx.state, TREASURY_ACCOUNT).free == treasury + 1_100

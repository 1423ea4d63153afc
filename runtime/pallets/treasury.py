"""treasury: the chain's own funds. It receives its share of every fee (and dust); only the
root origin (governance) spends from it."""

from __future__ import annotations

from runtime.accounts import TREASURY_ACCOUNT
from runtime.framework.pallet import ORIGIN_ROOT, DispatchContext, DispatchError, Origin, Pallet, call
from runtime.pallets import balances
from runtime.primitives.codec import AccountId, Balance, Record, record

NAME = "treasury"

# --- events -------------------------------------------------------------------------------


@record
class Spent(Record):
    beneficiary: AccountId
    amount: Balance


# --- errors -------------------------------------------------------------------------------


class InsufficientFunds(DispatchError):
    """The treasury holds less than the spend (it always keeps the existential deposit)."""

    code = 0


# --- calls' arguments ---------------------------------------------------------------------


@record
class SpendArgs(Record):
    beneficiary: AccountId
    amount: Balance


class Treasury(Pallet):
    NAME = NAME
    EVENTS = (Spent,)
    ERRORS = (InsufficientFunds,)

    @call(0, SpendArgs, weight=100_000, origin=ORIGIN_ROOT)
    def spend(self, ctx: DispatchContext, origin: Origin, args: SpendArgs) -> None:
        try:
            balances.transfer(ctx, TREASURY_ACCOUNT, args.beneficiary, args.amount, keep_alive=True)
        except (balances.InsufficientBalance, balances.KeepAlive):
            raise InsufficientFunds() from None
        ctx.deposit_event(Spent(args.beneficiary, args.amount))

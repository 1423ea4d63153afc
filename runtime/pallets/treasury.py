"""treasury: the chain's own funds. It receives its share of every fee (and dust); only the
root origin (governance) spends from it."""

from __future__ import annotations

from runtime.accounts import TREASURY_ACCOUNT
from runtime.framework.pallet import ORIGIN_ROOT, DispatchContext, DispatchError, Origin, Pallet, call
from runtime.framework.traits import Currency, InsufficientBalance, KeepAlive
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

    def configure(self, *, currency: Currency) -> None:
        self.currency = currency

    @call(0, SpendArgs, weight=100_000, origin=ORIGIN_ROOT, governable=True)
    def spend(self, ctx: DispatchContext, origin: Origin, args: SpendArgs) -> None:
        """Governance: pay ``amount`` from the treasury to ``beneficiary``."""
        try:
            self.currency.transfer(ctx, TREASURY_ACCOUNT, args.beneficiary, args.amount, keep_alive=True)
        except (InsufficientBalance, KeepAlive):
            raise InsufficientFunds() from None
        ctx.deposit_event(Spent(args.beneficiary, args.amount))

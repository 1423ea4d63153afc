"""transaction_payment: what a transaction costs, and where the fee goes.

fee = base_fee + length_fee × encoded length + weight_fee × call weight (integers, no rounding).
The sender pays fee + tip before the call runs, and keeps paying it if the call fails. The
block's fees and tips are collected and paid out once, at the end of the block: the author
receives the tips and ``author_share`` of the fees (rounded down), the treasury the rest, so no
unit is created or lost (and each payee is written once per block, not once per transaction).
"""

from __future__ import annotations

from typing import Any

from runtime.abc import StateReader
from runtime.accounts import TREASURY_ACCOUNT, AccountInfo
from runtime.framework.pallet import DispatchContext, DispatchError, Pallet
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageValue
from runtime.framework.traits import Currency, ExistentialDeposit, SessionInterface
from runtime.pallets import system
from runtime.primitives.arithmetic import PERBILL_ACCURACY, Perbill
from runtime.primitives.codec import U32, AccountId, Balance, Record, record

NAME = "transaction_payment"

# --- config -------------------------------------------------------------------------------


@record
class FeeParameters(Record):
    base_fee: Balance
    length_fee: Balance  # per encoded byte
    weight_fee: Balance  # per weight unit
    author_share_parts: U32  # Perbill parts of the fee (not the tip) paid to the author

    @property
    def author_share(self) -> Perbill:
        return Perbill(self.author_share_parts)


DEFAULT_PARAMETERS = FeeParameters(base_fee=1_000_000, length_fee=1_000, weight_fee=1, author_share_parts=200_000_000)


class BadParameters(DispatchError):
    """The author's share is above 10^9 parts."""

    code = 0


PARAMETERS = PalletParameters(NAME, __name__, FeeParameters, DEFAULT_PARAMETERS, BadParameters)

# --- storage ------------------------------------------------------------------------------


@record
class CollectedFees(Record):
    fees: Balance
    tips: Balance


NOTHING_COLLECTED = CollectedFees(0, 0)

# Fees and tips paid in the current block: the executive sums them as it charges and notes
# them once (note_collected) before the finalize hooks; paid out and cleared in on_finalize.
BlockFees = StorageValue(NAME, "BlockFees", CollectedFees, NOTHING_COLLECTED)

# --- events -------------------------------------------------------------------------------


@record
class TransactionFeePaid(Record):
    who: AccountId
    fee: Balance
    tip: Balance


# --- pure computations and reads ---------------------------------------------------------


def compute_fee(parameters: FeeParameters, length: int, weight: int) -> int:
    return parameters.base_fee + parameters.length_fee * length + parameters.weight_fee * weight


def get_parameters(state: StateReader) -> FeeParameters:
    return PARAMETERS.get(state)


def get_fee(state: StateReader, length: int, weight: int) -> int:
    return compute_fee(PARAMETERS.get(state), length, weight)


def check_parameters(parameters: FeeParameters) -> None:
    """The author's share is a Perbill (ValueError)."""
    if parameters.author_share_parts > PERBILL_ACCURACY:
        raise ValueError(f"transaction_payment.authorSharePerbill is {parameters.author_share_parts}, above 10^9")


# --- the executive's side -----------------------------------------------------------------


def charge(ctx: DispatchContext, who: bytes, account: AccountInfo, paid: AccountInfo, fee: int, tip: int) -> None:
    """Write ``who``'s account as ``paid`` (``TransactionPayment.compute_paid`` of ``account``,
    as read) in one account write; the caller sums the block's fees for :func:`note_collected`."""
    system.put_account(ctx, who, paid, account)
    ctx.deposit_event(TransactionFeePaid(who, fee, tip))


def note_collected(ctx: DispatchContext, fees: int, tips: int) -> None:
    """Record the fees and tips the block's transactions paid, for ``pay_out``."""
    if fees or tips:
        BlockFees.put(ctx.state, CollectedFees(fees, tips))


# --- the pallet ---------------------------------------------------------------------------


class TransactionPayment(Pallet):
    NAME = NAME
    STORAGE = (PARAMETERS.storage, BlockFees)
    EVENTS = (TransactionFeePaid, PARAMETERS.event)
    ERRORS = (BadParameters,)

    def configure(self, *, currency: Currency, session: SessionInterface) -> None:
        """``currency`` charges fees; ``session`` names the validator behind a block's author key."""
        self.currency = currency
        self.session = session

    set_parameters = PARAMETERS.call(0, weight=100_000)

    def check_parameters(self, state: StateReader, parameters: FeeParameters) -> None:
        check_parameters(parameters)

    # --- charging -----------------------------------------------------------------------

    def compute_paid(self, state: StateReader, account: AccountInfo, fee: int, tip: int) -> AccountInfo:
        """``account`` after paying ``fee + tip`` and bumping its nonce; raises the currency's
        error that stops it paying and staying alive."""
        paid = self.currency.compute_withdrawn(state, account, fee + tip, keep_alive=True)
        return AccountInfo(paid.nonce + 1, paid.free, paid.reserved, paid.frozen)

    def pay_out(self, ctx: DispatchContext) -> None:
        """Pay the block's fees and tips to the author (the validator behind its session signing
        key, else the author key's own account) and the treasury."""
        collected = BlockFees.get(ctx.state)
        if collected == NOTHING_COLLECTED:
            return
        BlockFees.kill(ctx.state)
        total = collected.fees + collected.tips
        author_part = get_parameters(ctx.state).author_share.mul_floor(collected.fees) + collected.tips
        if author_part:
            try:
                payee = self.session.get_validator_of(ctx.state, ctx.block.author) or ctx.block.author
                self.currency.deposit(ctx, payee, author_part)
            except ExistentialDeposit:
                author_part = 0  # too little to open the author's account: the treasury takes it all
        if total - author_part:
            self.currency.deposit(ctx, TREASURY_ACCOUNT, total - author_part)

    # --- hooks, genesis -----------------------------------------------------------------

    def on_finalize(self, ctx: DispatchContext) -> None:
        self.pay_out(ctx)

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        parameters = PARAMETERS.from_genesis(config)
        check_parameters(parameters)
        PARAMETERS.storage.put(ctx.state, parameters)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return PARAMETERS.to_genesis(get_parameters(state))

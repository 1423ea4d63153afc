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
from runtime.accounts import TREASURY_ACCOUNT
from runtime.framework.pallet import ORIGIN_ROOT, DispatchContext, DispatchError, Origin, Pallet, call
from runtime.framework.storage import StorageValue
from runtime.pallets import balances, session, system
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

# --- storage ------------------------------------------------------------------------------


@record
class CollectedFees(Record):
    fees: Balance
    tips: Balance


NOTHING_COLLECTED = CollectedFees(0, 0)

Parameters = StorageValue(NAME, "Parameters", FeeParameters, DEFAULT_PARAMETERS)
# Fees and tips paid in the current block: the executive sums them as it charges and notes
# them once (note_collected) before the finalize hooks; paid out and cleared in on_finalize.
BlockFees = StorageValue(NAME, "BlockFees", CollectedFees, NOTHING_COLLECTED)

# --- events -------------------------------------------------------------------------------


@record
class TransactionFeePaid(Record):
    who: AccountId
    fee: Balance
    tip: Balance


@record
class ParametersSet(Record):
    parameters: FeeParameters


# --- errors -------------------------------------------------------------------------------


class BadParameters(DispatchError):
    """The author's share is above 10^9 parts."""

    code = 0


# --- calls' arguments ---------------------------------------------------------------------


@record
class SetParametersArgs(Record):
    parameters: FeeParameters


def compute_fee(parameters: FeeParameters, length: int, weight: int) -> int:
    return parameters.base_fee + parameters.length_fee * length + parameters.weight_fee * weight


def get_fee(state: StateReader, length: int, weight: int) -> int:
    return compute_fee(Parameters.get(state), length, weight)


def compute_paid(state: StateReader, account: system.AccountInfo, fee: int, tip: int) -> system.AccountInfo:
    """``account`` after paying ``fee + tip`` and bumping its nonce; raises the balances error
    that stops it paying and staying alive."""
    paid = balances.compute_withdrawn(
        account, fee + tip, keep_alive=True, existential_deposit=balances.get_existential_deposit(state)
    )
    return system.AccountInfo(paid.nonce + 1, paid.free, paid.reserved, paid.frozen)


def charge(
    ctx: DispatchContext, who: bytes, account: system.AccountInfo, paid: system.AccountInfo, fee: int, tip: int
) -> None:
    """Write ``who``'s account as ``paid`` (:func:`compute_paid` of ``account``, as read) in one
    account write; the caller sums the block's fees for :func:`note_collected`."""
    system.put_account(ctx, who, paid, account)
    ctx.deposit_event(TransactionFeePaid(who, fee, tip))


def note_collected(ctx: DispatchContext, fees: int, tips: int) -> None:
    """Record the fees and tips the block's transactions paid, for :func:`pay_out`."""
    if fees or tips:
        BlockFees.put(ctx.state, CollectedFees(fees, tips))


def pay_out(ctx: DispatchContext) -> None:
    """Pay the block's fees and tips to the author (the validator behind its session signing key,
    else the author key's own account) and the treasury."""
    collected = BlockFees.get(ctx.state)
    if collected == NOTHING_COLLECTED:
        return
    BlockFees.kill(ctx.state)
    total = collected.fees + collected.tips
    author_part = Parameters.get(ctx.state).author_share.mul_floor(collected.fees) + collected.tips
    if author_part:
        try:
            payee = session.get_validator_of(ctx.state, ctx.block.author) or ctx.block.author
            balances.deposit(ctx, payee, author_part)
        except balances.ExistentialDeposit:
            author_part = 0  # too little to open the author's account: the treasury takes it all
    if total - author_part:
        balances.deposit(ctx, TREASURY_ACCOUNT, total - author_part)


class TransactionPayment(Pallet):
    NAME = NAME
    STORAGE = (Parameters, BlockFees)
    EVENTS = (TransactionFeePaid, ParametersSet)
    ERRORS = (BadParameters,)

    @call(0, SetParametersArgs, weight=100_000, origin=ORIGIN_ROOT)
    def set_parameters(self, ctx: DispatchContext, origin: Origin, args: SetParametersArgs) -> None:
        """Governance: new fees, from the next transaction on."""
        if args.parameters.author_share_parts > PERBILL_ACCURACY:
            raise BadParameters()
        Parameters.put(ctx.state, args.parameters)
        ctx.deposit_event(ParametersSet(args.parameters))

    def on_finalize(self, ctx: DispatchContext) -> None:
        pay_out(ctx)

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        parameters = DEFAULT_PARAMETERS
        if config:
            parameters = FeeParameters(
                base_fee=config["baseFee"],
                length_fee=config["lengthFee"],
                weight_fee=config["weightFee"],
                author_share_parts=config["authorSharePerbill"],
            )
        Parameters.put(ctx.state, parameters)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        parameters = Parameters.get(state)
        return {
            "baseFee": parameters.base_fee,
            "lengthFee": parameters.length_fee,
            "weightFee": parameters.weight_fee,
            "authorSharePerbill": parameters.author_share_parts,
        }

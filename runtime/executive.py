"""The executive: drives a block through the runtime.

    initialize_block → apply_extrinsic (inherents first, then transactions) → finalize_block

and returns the block's state changes; the host turns them into the state root. The same
checks serve the transaction pool (``validate_transaction``) and block execution, so a
transaction the pool accepts is one a block may include.

A signed extrinsic goes through, before any write: decoding, origin, mortality and signature,
nonce, fee affordability, block resources. Then the fee and tip are charged and the nonce
bumped, in one account write; then the call runs in a child overlay that is kept only if it
succeeds. Importing a block (``execute_block``) checks every mortality and signature first,
then applies the extrinsics in order; the checks and their outcome are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from runtime.abc import StateReader
from runtime.accounts import AccountInfo
from runtime.block import SignedExtrinsic, UnsignedExtrinsic, compute_signing_payload_of_encoded, decode_extrinsic
from runtime.errors import (
    BadInherent,
    BadTransactionProof,
    CannotPayFees,
    EncodingError,
    ExhaustsResources,
    ExpiredTransaction,
    FutureTransaction,
    InvalidKey,
    InvalidSignature,
    MalformedTransaction,
    StaleTransaction,
)
from runtime.framework.pallet import (
    NONE,
    ORIGIN_NONE,
    ORIGIN_SIGNED,
    BlockEnvironment,
    DispatchContext,
    DispatchError,
    Origin,
)
from runtime.framework.runtime import Runtime, RuntimeCall, dispatch_in_child
from runtime.framework.storage import Overlay
from runtime.pallets import system, transaction_payment
from runtime.primitives.keys import DOMAIN_TRANSACTION, verify


@dataclass(frozen=True)
class ValidTransaction:
    """What the pool needs to order a valid transaction."""

    sender: bytes
    nonce: int
    priority: int  # the tip: higher pays more to be included first
    fee: int
    # Last block number the transaction is valid in (None: immortal).
    valid_until: int | None


class CheckedTransaction(NamedTuple):
    """A signed extrinsic that passed every check, with what its charge will write."""

    call: RuntimeCall
    fee: int
    account: AccountInfo  # the sender's account as read
    paid: AccountInfo  # the same after fee and tip, nonce bumped


# Signatures an importer checks ahead of applying the extrinsics that carry them.
SIGNATURE_RUN = 64


def check_block_budget(
    parameters: system.SystemParameters,
    hook_weight: int,
    decoded: list[SignedExtrinsic | UnsignedExtrinsic],
    calls: list[RuntimeCall],
    encoded: tuple[bytes, ...],
) -> None:
    """A block's extrinsics fit its weight and length budget, and its inherents all come before
    its signed transactions: what applying them would find, decided before any signature check.

    Inherents are mandatory (Substrate's ``DispatchClass::Mandatory``): their weight counts but
    never makes a block invalid, so hooks with much to do can never leave an author unable to
    set the time. A signed transaction needs the room left after the hooks, the inherents and
    the transactions before it; the last one needs the most, so checking the total is enough.
    """
    length = sum(map(len, encoded))
    if length > parameters.max_block_length:
        raise ExhaustsResources(f"the extrinsics take {length} bytes; a block allows {parameters.max_block_length}")
    first_signed = next((index for index, xt in enumerate(decoded) if isinstance(xt, SignedExtrinsic)), len(decoded))
    if any(isinstance(xt, UnsignedExtrinsic) for xt in decoded[first_signed:]):
        raise BadInherent("an inherent may not follow a signed transaction")
    weight = hook_weight + sum(call.definition.weight for call in calls)
    if first_signed < len(decoded) and weight > parameters.max_block_weight:
        raise ExhaustsResources(
            f"the hooks and extrinsics weigh {weight}; a block with transactions allows {parameters.max_block_weight}"
        )


@dataclass
class BlockInProgress:
    """A block being built or imported: its dispatch context and resource use so far."""

    ctx: DispatchContext
    parameters: system.SystemParameters
    weight: int = 0  # the hooks' (counted first), then each extrinsic's
    length: int = 0
    extrinsic_count: int = 0
    transactions: int = 0  # signed extrinsics applied so far (inherents come before them all)
    # Fees and tips charged so far (noted in state once, before the finalize hooks).
    fees: int = 0
    tips: int = 0


class Executive:
    def __init__(self, runtime: Runtime, genesis_hash: bytes) -> None:
        self.runtime = runtime
        self.genesis_hash = genesis_hash
        # Fees are this runtime's transaction extension (see the module docstring).
        self.payment: transaction_payment.TransactionPayment = runtime.pallet(transaction_payment.NAME)  # type: ignore[assignment]

    # --- block lifecycle ----------------------------------------------------------------

    def initialize_block(self, state: StateReader, env: BlockEnvironment) -> BlockInProgress:
        ctx = DispatchContext(self.runtime, Overlay(state), env, self.genesis_hash, system.PHASE_INITIALIZATION)
        hook_weight = sum(pallet.on_initialize(ctx) for pallet in self.runtime.hooked)
        return BlockInProgress(ctx, system.get_parameters(ctx.state), weight=hook_weight)

    def apply_extrinsic(self, block: BlockInProgress, encoded: bytes) -> bool:
        """Apply one extrinsic; True if its call succeeded, False if it failed (fee kept).

        Raises :class:`InvalidTransaction` if it may not be in this block at all: a block
        author drops it, a block importer rejects the block.
        """
        xt = self._decode(encoded)
        return self._apply(block, xt, encoded, self.runtime.decode_call(xt.call), signature_checked=False)

    def _apply(
        self,
        block: BlockInProgress,
        xt: SignedExtrinsic | UnsignedExtrinsic,
        encoded: bytes,
        call: RuntimeCall,
        *,
        signature_checked: bool,
    ) -> bool:
        ctx = block.ctx
        length = len(encoded)
        ctx.phase, ctx.extrinsic_index = system.PHASE_APPLY_EXTRINSIC, block.extrinsic_count
        if isinstance(xt, UnsignedExtrinsic):
            if block.transactions:
                raise BadInherent("an inherent may not follow a signed transaction")
            self._apply_inherent(block, call, length)
            return True
        checked = self._check_signed(
            ctx.state, xt, encoded, call, ctx.block.number, exact_nonce=True, check_signature=not signature_checked
        )
        weight = checked.call.definition.weight
        self._check_room(block, weight, length)
        self._reserve_resources(block, weight, length)
        transaction_payment.charge(ctx, xt.sender, checked.account, checked.paid, checked.fee, xt.tip)
        block.transactions += 1
        block.fees += checked.fee
        block.tips += xt.tip
        return self._dispatch(ctx, checked.call, Origin.signed(xt.sender), weight)

    def finalize_block(self, block: BlockInProgress) -> dict[bytes, bytes | None]:
        """Run the finalize hooks, store the block's events; the block's state changes."""
        ctx = block.ctx
        # Finalization events belong to no extrinsic (and must not keep the index of the last
        # extrinsic tried: an author tries some it then drops).
        ctx.phase, ctx.extrinsic_index = system.PHASE_FINALIZATION, 0
        transaction_payment.note_collected(ctx, block.fees, block.tips)
        for pallet in self.runtime.hooked:
            pallet.on_finalize(ctx)
        system.note_block_end(ctx, block.weight, block.length, self.runtime.encode_events(ctx.events))
        return ctx.state.changes

    def execute_block(
        self, state: StateReader, env: BlockEnvironment, extrinsics: tuple[bytes, ...]
    ) -> dict[bytes, bytes | None]:
        """Import path: every extrinsic must apply; any invalid one invalidates the block.

        The cheap checks come first (``check_block_budget``): a block over its weight or length
        budget, or with an inherent after a transaction, is refused before a single signature
        is checked. Then mortalities and signatures are checked in runs of
        ``SIGNATURE_RUN`` ahead of the extrinsics that carry them: the checks read only block
        hashes the block's extrinsics cannot change, so which blocks are valid is the same; a
        run keeps libsodium's code and tables in cache instead of letting each dispatch evict
        them; and an invalid transaction (a future nonce, say) costs an importer at most one
        run of signature checks, not the whole block's.
        """
        block = self.initialize_block(state, env)
        decoded = [self._decode(encoded) for encoded in extrinsics]
        calls = [self.runtime.decode_call(xt.call) for xt in decoded]
        check_block_budget(block.parameters, block.weight, decoded, calls, extrinsics)
        for start in range(0, len(decoded), SIGNATURE_RUN):
            run = range(start, min(start + SIGNATURE_RUN, len(decoded)))
            for index in run:
                xt = decoded[index]
                if isinstance(xt, SignedExtrinsic):
                    self._check_signature(block.ctx.state, xt, extrinsics[index], env.number, None)
            for index in run:
                self._apply(block, decoded[index], extrinsics[index], calls[index], signature_checked=True)
        return self.finalize_block(block)

    # --- the pool's view ----------------------------------------------------------------

    def validate_transaction(
        self, state: StateReader, encoded: bytes, next_block_number: int, best_hash: bytes | None = None
    ) -> ValidTransaction:
        """Whether ``encoded`` may enter the pool, given the state of the best block.

        ``best_hash`` is the hash of that best block: its state cannot hold it yet (a block
        learns its parent's hash when the next block starts), but a mortal transaction may be
        born at it. Nonces ahead of the account's are accepted as future transactions.
        """
        xt = self._decode(encoded)
        if not isinstance(xt, SignedExtrinsic):
            raise BadInherent("unsigned extrinsics are made by block authors, not submitted")
        call = self.runtime.decode_call(xt.call)
        checked = self._check_signed(
            state, xt, encoded, call, next_block_number, exact_nonce=False, best_hash=best_hash
        )
        period = xt.mortality.period
        return ValidTransaction(
            sender=xt.sender,
            nonce=xt.nonce,
            priority=xt.tip,
            fee=checked.fee,
            valid_until=xt.mortality.birth + period if period else None,
        )

    # --- the steps ----------------------------------------------------------------------

    def _decode(self, encoded: bytes) -> SignedExtrinsic | UnsignedExtrinsic:
        try:
            return decode_extrinsic(encoded)
        except EncodingError as exc:
            raise MalformedTransaction(f"extrinsic does not decode: {exc}") from None

    def _check_signed(
        self,
        state: StateReader,
        xt: SignedExtrinsic,
        encoded: bytes,
        call: RuntimeCall,
        block_number: int,
        *,
        exact_nonce: bool,
        best_hash: bytes | None = None,
        check_signature: bool = True,
    ) -> CheckedTransaction:
        if call.definition.origin != ORIGIN_SIGNED:
            raise MalformedTransaction(f"{call.pallet.NAME}.{call.definition.name} cannot be called by an account")
        if check_signature:  # else checked already, mortality with it (execute_block)
            self._check_signature(state, xt, encoded, block_number, best_hash)
        account = self._check_nonce(state, xt, exact_nonce)
        fee = transaction_payment.get_fee(state, len(encoded), call.definition.weight)
        try:
            paid = self.payment.compute_paid(state, account, fee, xt.tip)
        except DispatchError as exc:
            raise CannotPayFees(f"cannot pay fee {fee} + tip {xt.tip}: {exc}") from None
        return CheckedTransaction(call, fee, account, paid)

    def _check_signature(
        self, state: StateReader, xt: SignedExtrinsic, encoded: bytes, block_number: int, best_hash: bytes | None
    ) -> None:
        """``encoded``: the extrinsic's bytes, which ``xt`` was decoded from."""
        birth_hash = self._check_mortality(state, xt, block_number, best_hash)
        payload = compute_signing_payload_of_encoded(encoded, birth_hash)
        try:
            verify(xt.sender, DOMAIN_TRANSACTION, self.genesis_hash, payload, xt.signature)
        except (InvalidKey, InvalidSignature) as exc:
            raise BadTransactionProof(f"bad transaction signature: {exc}") from None

    def _check_mortality(
        self, state: StateReader, xt: SignedExtrinsic, block_number: int, best_hash: bytes | None
    ) -> bytes:
        """The hash the signature must cover: the birth block's, or genesis for immortal."""
        birth, period = xt.mortality.birth, xt.mortality.period
        if period == 0:
            return self.genesis_hash
        if not birth < block_number <= birth + period:
            raise ExpiredTransaction(f"valid in blocks {birth + 1}..{birth + period}, not in block {block_number}")
        if best_hash is not None and birth == block_number - 1:
            return best_hash
        birth_hash = system.get_block_hash(state, birth)
        if birth_hash is None:
            raise ExpiredTransaction(f"birth block {birth} is too old to check")
        return birth_hash

    def _check_nonce(self, state: StateReader, xt: SignedExtrinsic, exact: bool) -> AccountInfo:
        """The sender's account, if ``xt``'s nonce may be used now."""
        account = system.get_account(state, xt.sender)
        expected = account.nonce
        if xt.nonce < expected:
            raise StaleTransaction(f"nonce {xt.nonce} already used (next is {expected})")
        if exact and xt.nonce > expected:
            raise FutureTransaction(f"nonce {xt.nonce} is ahead of the next nonce {expected}")
        return account

    def _reserve_resources(self, block: BlockInProgress, weight: int, length: int) -> None:
        block.weight += weight
        block.length += length
        block.extrinsic_count += 1

    def _check_room(self, block: BlockInProgress, weight: int, length: int) -> None:
        parameters = block.parameters
        if block.weight + weight > parameters.max_block_weight or block.length + length > parameters.max_block_length:
            raise ExhaustsResources("the block has no room left for this extrinsic")

    def _check_length_room(self, block: BlockInProgress, length: int) -> None:
        if block.length + length > block.parameters.max_block_length:
            raise ExhaustsResources("the block has no room left for this inherent")

    def _apply_inherent(self, block: BlockInProgress, call: RuntimeCall, length: int) -> None:
        if call.definition.origin != ORIGIN_NONE:
            raise BadInherent(f"{call.pallet.NAME}.{call.definition.name} is not an inherent")
        # Room checked first and reserved only on success, the call in a child context: an
        # author drops a failing inherent (an equivocation report already on chain, say) and
        # its block must not keep a trace of it. Mandatory: only its length must fit.
        self._check_length_room(block, length)
        error = dispatch_in_child(block.ctx, call, NONE)
        if error is not None:
            raise BadInherent(f"inherent {call.pallet.NAME}.{call.definition.name} failed: {error}")
        self._reserve_resources(block, call.definition.weight, length)

    def _dispatch(self, ctx: DispatchContext, call: RuntimeCall, origin: Origin, weight: int) -> bool:
        error = dispatch_in_child(ctx, call, origin)
        if error is not None:
            pallet_index, code = self.runtime.error_index(error)
            ctx.deposit_event(system.ExtrinsicFailed(pallet_index, code, weight))
            return False
        ctx.deposit_event(system.ExtrinsicSuccess(weight))
        return True

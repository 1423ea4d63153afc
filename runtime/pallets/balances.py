"""balances: the FLOCK token. Transfers, the existential deposit, locks and named holds.

Balances are kept in ``system``'s account record (``free``, ``reserved``, ``frozen``). Other
pallets reach the token only through the :class:`~runtime.framework.traits.Currency` interface
this pallet provides (wired in ``runtime/construct.py``), never its storage:

* **locks** (``set_lock``): part of ``free`` that may not move (it may still pay fees and be
  held). Locks overlap: ``frozen`` is the largest one. Staking bonds with a lock.
* **holds** (``hold``, FRAME's ``fungible::hold``): funds moved out of ``free`` into
  ``reserved`` under a named reason (8 bytes, e.g. ``b"gov/prop"``). They count in the account's
  total (it stays alive) but cannot be spent; the holder ``release``\\ s them, moves them to
  another account (``transfer_held``), or slashes them (``slash_held``) to wherever the caller
  says: the treasury, a pool, a reporter, or the burn account. ``reserved`` is exactly the sum of
  an account's holds.

Total issuance never changes here: tokens only move between accounts (fees, dust, slashes and
burns included), so ``TotalIssuance == sum(free + reserved)`` over all accounts at every block.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from runtime.abc import StateReader
from runtime.accounts import EMPTY_ACCOUNT, TREASURY_ACCOUNT, AccountInfo
from runtime.framework.pallet import DispatchContext, Origin, Pallet, call, ensure_signed
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageMap, StorageValue
from runtime.framework.traits import (
    CURRENCY_ERRORS,
    ExistentialDeposit,
    InsufficientBalance,
    InsufficientHeld,
    KeepAlive,
    LiquidityRestrictions,
    Overflow,
    TooManyHolds,
    TooManyLocks,
)
from runtime.framework.weights import TRANSFER_WEIGHT
from runtime.pallets import system
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.arithmetic import U64_MAX, checked_add
from runtime.primitives.codec import AccountId, Balance, Boolean, FixedBytes, ListOf, Record, record

NAME = "balances"

# --- config -------------------------------------------------------------------------------

MAX_LOCKS = 16
MAX_HOLDS = 16
LockId = Annotated[bytes, FixedBytes(8)]
HoldReason = Annotated[bytes, FixedBytes(8)]


@record
class BalancesParameters(Record):
    # Smallest total an account may hold; below it the account is removed.
    existential_deposit: Balance


PARAMETERS = PalletParameters(NAME, __name__, BalancesParameters, BalancesParameters(1))

# --- storage ------------------------------------------------------------------------------


@record
class BalanceLock(Record):
    id: LockId
    amount: Balance


@record
class Hold(Record):
    """Funds of an account set aside for a reason another pallet names."""

    reason: HoldReason
    amount: Balance


TotalIssuance = StorageValue(NAME, "TotalIssuance", Balance, 0)
Locks = StorageMap(NAME, "Locks", AccountId, Annotated[tuple, ListOf(BalanceLock, MAX_LOCKS)], ())
# Named holds by reason (sorted); their sum is the account's ``reserved``.
Holds = StorageMap(NAME, "Holds", AccountId, Annotated[tuple, ListOf(Hold, MAX_HOLDS)], ())
# Where dust goes when an account is removed with less than the existential deposit.
DustReceiver = StorageValue(NAME, "DustReceiver", AccountId, TREASURY_ACCOUNT)

# --- events -------------------------------------------------------------------------------


@record
class Transfer(Record):
    source: AccountId
    dest: AccountId
    amount: Balance


@record
class Endowed(Record):
    account: AccountId
    amount: Balance


@record
class DustLost(Record):
    account: AccountId
    amount: Balance


@record
class Held(Record):
    account: AccountId
    reason: HoldReason
    amount: Balance


@record
class Released(Record):
    account: AccountId
    reason: HoldReason
    amount: Balance


@record
class TransferredHeld(Record):
    reason: HoldReason
    source: AccountId
    dest: AccountId
    amount: Balance
    on_hold: Boolean  # the dest holds it under the same reason (else it is free)


@record
class SlashedHeld(Record):
    account: AccountId
    reason: HoldReason
    amount: Balance
    dest: AccountId


# --- calls' arguments ---------------------------------------------------------------------


@record
class TransferArgs(Record):
    dest: AccountId
    amount: Balance


@record
class TransferKeepAliveArgs(Record):
    dest: AccountId
    amount: Balance


# --- pure computations --------------------------------------------------------------------


def compute_withdrawn(info: AccountInfo, amount: int, *, keep_alive: bool, existential_deposit: int) -> AccountInfo:
    """``info`` with ``amount`` taken from its free balance, or the error that forbids it."""
    if amount > info.free:
        raise InsufficientBalance()
    if info.free - amount < info.frozen:
        raise LiquidityRestrictions()
    if keep_alive and info.total - amount < existential_deposit:
        raise KeepAlive()
    return AccountInfo(info.nonce, info.free - amount, info.reserved, info.frozen)


def compute_deposited(info: AccountInfo, amount: int, *, existential_deposit: int) -> AccountInfo:
    """``info`` with ``amount`` added to its free balance, or the error that forbids it."""
    if info.total == 0 and amount < existential_deposit:
        raise ExistentialDeposit()
    if info.free + amount > U64_MAX:
        raise Overflow()
    return AccountInfo(info.nonce, info.free + amount, info.reserved, info.frozen)


def compute_usable(info: AccountInfo) -> int:
    """What may be transferred or held: free minus the largest lock."""
    return info.free - min(info.free, info.frozen)


def compute_changed_holds(holds: tuple[Hold, ...], reason: bytes, change: int) -> tuple[Hold, ...]:
    """``holds`` with ``change`` (negative: less) under ``reason``; a hold at zero is dropped;
    sorted by reason. The caller checks that a decrease is covered."""
    amount = next((hold.amount for hold in holds if hold.reason == reason), 0) + change
    others = [hold for hold in holds if hold.reason != reason]
    return tuple(sorted((*others, Hold(reason, amount)) if amount else others, key=lambda hold: hold.reason))


# --- state reads --------------------------------------------------------------------------


def get_existential_deposit(state: StateReader) -> int:
    return PARAMETERS.get(state).existential_deposit


def get_total_issuance(state: StateReader) -> int:
    return TotalIssuance.get(state)  # type: ignore[no-any-return]


def get_held(state: StateReader, who: bytes, reason: bytes) -> int:
    return next((hold.amount for hold in Holds.get(state, who) if hold.reason == reason), 0)


def get_total_held(state: StateReader, who: bytes) -> int:
    """What ``who`` has under named holds (its ``reserved``)."""
    return sum(hold.amount for hold in Holds.get(state, who))


def get_lock(state: StateReader, who: bytes, lock_id: bytes) -> int:
    return next((lock.amount for lock in Locks.get(state, who) if lock.id == lock_id), 0)


# --- the pallet ---------------------------------------------------------------------------


class Balances(Pallet):
    """The token, and the :class:`~runtime.framework.traits.Currency` other pallets use."""

    NAME = NAME
    STORAGE = (PARAMETERS.storage, TotalIssuance, Locks, Holds, DustReceiver)
    EVENTS = (Transfer, Endowed, DustLost, Held, Released, TransferredHeld, SlashedHeld)
    ERRORS = CURRENCY_ERRORS
    CONSTANTS = {"maxLocks": MAX_LOCKS, "maxHolds": MAX_HOLDS}

    # --- calls --------------------------------------------------------------------------

    @call(0, TransferArgs, weight=TRANSFER_WEIGHT)
    def transfer_allow_death(self, ctx: DispatchContext, origin: Origin, args: TransferArgs) -> None:
        """Transfer, allowing the sender's account to be removed if it drops below the ED."""
        self.transfer(ctx, ensure_signed(origin), args.dest, args.amount, keep_alive=False)

    @call(1, TransferKeepAliveArgs, weight=TRANSFER_WEIGHT)
    def transfer_keep_alive(self, ctx: DispatchContext, origin: Origin, args: TransferKeepAliveArgs) -> None:
        """Transfer, refusing to take the sender below the existential deposit."""
        self.transfer(ctx, ensure_signed(origin), args.dest, args.amount, keep_alive=True)

    # --- currency: reads ----------------------------------------------------------------

    def get_existential_deposit(self, state: StateReader) -> int:
        return get_existential_deposit(state)

    def get_total_issuance(self, state: StateReader) -> int:
        return get_total_issuance(state)

    def get_free_balance(self, state: StateReader, who: bytes) -> int:
        return system.get_account(state, who).free

    def get_usable_balance(self, state: StateReader, who: bytes) -> int:
        return compute_usable(system.get_account(state, who))

    def get_lock(self, state: StateReader, who: bytes, lock_id: bytes) -> int:
        return get_lock(state, who, lock_id)

    def get_held(self, state: StateReader, who: bytes, reason: bytes) -> int:
        return get_held(state, who, reason)

    # --- currency: checks ---------------------------------------------------------------

    def compute_withdrawn(self, state: StateReader, info: AccountInfo, amount: int, *, keep_alive: bool) -> AccountInfo:
        return compute_withdrawn(
            info, amount, keep_alive=keep_alive, existential_deposit=get_existential_deposit(state)
        )

    def check_withdraw(self, state: StateReader, who: bytes, amount: int, *, keep_alive: bool) -> None:
        self.compute_withdrawn(state, system.get_account(state, who), amount, keep_alive=keep_alive)

    def check_deposit(self, state: StateReader, who: bytes, amount: int) -> None:
        compute_deposited(system.get_account(state, who), amount, existential_deposit=get_existential_deposit(state))

    def check_lock(self, state: StateReader, who: bytes, lock_id: bytes, amount: int) -> None:
        if self.get_free_balance(state, who) < amount:
            raise InsufficientBalance()
        locks = Locks.get(state, who)
        if all(lock.id != lock_id for lock in locks) and len(locks) >= MAX_LOCKS:
            raise TooManyLocks()

    # --- currency: moving free funds ----------------------------------------------------

    def deposit(self, ctx: DispatchContext, who: bytes, amount: int) -> None:
        """Add ``amount`` (taken from elsewhere) to ``who``, creating the account if needed."""
        info = system.get_account(ctx.state, who)
        deposited = compute_deposited(info, amount, existential_deposit=get_existential_deposit(ctx.state))
        self._store_deposit(ctx, who, info, deposited)

    def transfer(self, ctx: DispatchContext, source: bytes, dest: bytes, amount: int, *, keep_alive: bool) -> None:
        """Move ``amount`` from ``source`` to ``dest``; every check before the first write."""
        existential_deposit = get_existential_deposit(ctx.state)
        source_info = system.get_account(ctx.state, source)
        withdrawn = compute_withdrawn(
            source_info, amount, keep_alive=keep_alive, existential_deposit=existential_deposit
        )
        if source != dest and amount:
            dest_info = system.get_account(ctx.state, dest)
            deposited = compute_deposited(dest_info, amount, existential_deposit=existential_deposit)
            self._settle(ctx, source, withdrawn, source_info, existential_deposit)
            self._store_deposit(ctx, dest, dest_info, deposited)
        ctx.deposit_event(Transfer(source, dest, amount))

    # --- currency: locks ----------------------------------------------------------------

    def set_lock(self, ctx: DispatchContext, who: bytes, lock_id: bytes, amount: int) -> None:
        """Lock ``amount`` of ``who``'s free balance under ``lock_id`` (replacing that lock)."""
        locks = tuple(lock for lock in Locks.get(ctx.state, who) if lock.id != lock_id)
        locks = tuple(sorted((*locks, BalanceLock(lock_id, amount)), key=lambda lock: lock.id))
        if len(locks) > MAX_LOCKS:
            raise TooManyLocks()
        self._store_locks(ctx, who, locks)

    def remove_lock(self, ctx: DispatchContext, who: bytes, lock_id: bytes) -> None:
        self._store_locks(ctx, who, tuple(lock for lock in Locks.get(ctx.state, who) if lock.id != lock_id))

    # --- currency: holds ----------------------------------------------------------------

    def hold(self, ctx: DispatchContext, reason: bytes, who: bytes, amount: int) -> None:
        """Move ``amount`` of ``who``'s usable free balance onto hold under ``reason``."""
        info = system.get_account(ctx.state, who)
        if amount > compute_usable(info):
            raise InsufficientBalance()
        holds = self._check_holds(ctx.state, who, reason, amount)
        self._store_holds(
            ctx, who, holds, replace(info, free=info.free - amount, reserved=info.reserved + amount), info
        )
        ctx.deposit_event(Held(who, reason, amount))

    def release(self, ctx: DispatchContext, reason: bytes, who: bytes, amount: int) -> None:
        """Return ``amount`` held under ``reason`` to ``who``'s free balance."""
        info = system.get_account(ctx.state, who)
        holds = self._check_holds(ctx.state, who, reason, -amount)
        if info.free + amount > U64_MAX:
            raise Overflow()
        self._store_holds(
            ctx, who, holds, replace(info, free=info.free + amount, reserved=info.reserved - amount), info
        )
        ctx.deposit_event(Released(who, reason, amount))

    def transfer_held(
        self, ctx: DispatchContext, reason: bytes, source: bytes, dest: bytes, amount: int, *, on_hold: bool
    ) -> None:
        """Move ``amount`` that ``source`` holds under ``reason`` to ``dest``: free, or held by
        ``dest`` under the same reason (``on_hold``)."""
        source_holds = self._check_holds(ctx.state, source, reason, -amount)
        if source == dest:
            raise InsufficientHeld("a held amount cannot be transferred to its own holder")
        self._check_receive(ctx.state, dest, amount, reason if on_hold else None)
        self._take_held(ctx, reason, source, source_holds, amount)
        self._give(ctx, dest, amount, reason if on_hold else None)
        ctx.deposit_event(TransferredHeld(reason, source, dest, amount, on_hold))

    def slash_held(self, ctx: DispatchContext, reason: bytes, who: bytes, amount: int, dest: bytes) -> int:
        """Take up to ``amount`` of what ``who`` holds under ``reason`` into ``dest``'s free
        balance; what was taken (0 if nothing is held)."""
        slashed = min(amount, get_held(ctx.state, who, reason))
        if slashed == 0:
            return 0
        if dest == who:
            raise InsufficientHeld("a slash cannot pay the slashed account")
        self._check_receive(ctx.state, dest, slashed, None)
        self._take_held(ctx, reason, who, self._check_holds(ctx.state, who, reason, -slashed), slashed)
        self._give(ctx, dest, slashed, None)
        ctx.deposit_event(SlashedHeld(who, reason, slashed, dest))
        return slashed

    # --- internals ----------------------------------------------------------------------

    def _check_holds(self, state: StateReader, who: bytes, reason: bytes, change: int) -> tuple[Hold, ...]:
        """``who``'s holds after ``change`` under ``reason``, or the error that forbids it."""
        holds = Holds.get(state, who)
        if change < 0 and get_held(state, who, reason) < -change:
            raise InsufficientHeld()
        changed = compute_changed_holds(holds, reason, change)
        if len(changed) > MAX_HOLDS:
            raise TooManyHolds()
        return changed

    def _check_receive(self, state: StateReader, dest: bytes, amount: int, reason: bytes | None) -> None:
        """``dest`` can receive ``amount``: free (``reason`` None) or on hold under ``reason``."""
        info = system.get_account(state, dest)
        if reason is None:
            compute_deposited(info, amount, existential_deposit=get_existential_deposit(state))
            return
        if info.total == 0 and amount < get_existential_deposit(state):
            raise ExistentialDeposit()
        if info.reserved + amount > U64_MAX:
            raise Overflow()
        self._check_holds(state, dest, reason, amount)

    def _take_held(self, ctx: DispatchContext, reason: bytes, who: bytes, holds: tuple[Hold, ...], amount: int) -> None:
        info = system.get_account(ctx.state, who)
        taken = replace(info, reserved=info.reserved - amount)
        self._store_holds(ctx, who, holds, taken, info)
        if 0 < taken.total < get_existential_deposit(ctx.state) and taken.reserved == 0 and taken.frozen == 0:
            self._settle(ctx, who, taken, taken, get_existential_deposit(ctx.state))

    def _give(self, ctx: DispatchContext, dest: bytes, amount: int, reason: bytes | None) -> None:
        info = system.get_account(ctx.state, dest)
        if reason is None:
            self._store_deposit(ctx, dest, info, replace(info, free=info.free + amount))
            return
        holds = compute_changed_holds(Holds.get(ctx.state, dest), reason, amount)
        self._store_holds(ctx, dest, holds, replace(info, reserved=info.reserved + amount), info)
        if info.total == 0:
            ctx.deposit_event(Endowed(dest, amount))

    def _store_holds(
        self, ctx: DispatchContext, who: bytes, holds: tuple[Hold, ...], info: AccountInfo, previous: AccountInfo
    ) -> None:
        if holds:
            Holds.put(ctx.state, who, holds)
        else:
            Holds.remove(ctx.state, who)
        system.put_account(ctx, who, info, previous)

    def _store_deposit(self, ctx: DispatchContext, who: bytes, previous: AccountInfo, info: AccountInfo) -> None:
        system.put_account(ctx, who, info, previous)
        if previous.total == 0 and info.total:
            ctx.deposit_event(Endowed(who, info.total))

    def _store_locks(self, ctx: DispatchContext, who: bytes, locks: tuple[BalanceLock, ...]) -> None:
        if locks:
            Locks.put(ctx.state, who, locks)
        else:
            Locks.remove(ctx.state, who)
        info = system.get_account(ctx.state, who)
        system.put_account(ctx, who, replace(info, frozen=max((lock.amount for lock in locks), default=0)), info)

    def _settle(
        self, ctx: DispatchContext, who: bytes, info: AccountInfo, previous: AccountInfo, existential_deposit: int
    ) -> None:
        """Store ``info``; if it fell below the existential deposit, remove it and send the dust
        to the dust receiver (which is never removed itself: it keeps whatever it holds)."""
        is_dust = 0 < info.total < existential_deposit and info.frozen == 0 and info.reserved == 0
        if is_dust and who != (receiver := DustReceiver.get(ctx.state)):
            dust = info.free
            system.put_account(ctx, who, replace(info, free=0), previous)
            receiver_info = system.get_account(ctx.state, receiver)
            system.put_account(
                ctx, receiver, replace(receiver_info, free=checked_add(receiver_info.free, dust)), receiver_info
            )
            ctx.deposit_event(DustLost(who, dust))
            return
        system.put_account(ctx, who, info, previous)

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """``{"existentialDeposit": n, "dustReceiver": address, "balances": [[address, amount], ...]}``."""
        parameters = PARAMETERS.from_genesis(config)
        PARAMETERS.storage.put(ctx.state, parameters)
        DustReceiver.put(ctx.state, decode_address(config.get("dustReceiver", encode_address(TREASURY_ACCOUNT))))
        total = 0
        for address, amount in config.get("balances", []):
            who = decode_address(address)
            if amount < parameters.existential_deposit:
                raise ValueError(f"genesis balance of {address} is below the existential deposit")
            if system.is_account(ctx.state, who):
                raise ValueError(f"genesis lists {address} twice")
            system.put_account(ctx, who, replace(EMPTY_ACCOUNT, free=amount), EMPTY_ACCOUNT)
            total = checked_add(total, amount)
        for receiver in {TREASURY_ACCOUNT, DustReceiver.get(ctx.state)}:
            if not system.is_account(ctx.state, receiver):
                # Fees and dust are paid into these accounts in any amount; they must exist.
                raise ValueError(
                    f"the treasury and dust receiver {encode_address(receiver)} must be endowed at genesis"
                )
        TotalIssuance.put(ctx.state, total)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return {
            **PARAMETERS.to_genesis(PARAMETERS.get(state)),
            "dustReceiver": encode_address(DustReceiver.get(state)),
            "balances": [[encode_address(who), info.free] for who, info in system.iter_accounts(state)],
        }

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        problems = []
        existential_deposit, dust_receiver = get_existential_deposit(state), DustReceiver.get(state)
        held = 0
        for who, info in system.iter_accounts(state):
            held += info.total
            if (
                0 < info.total < existential_deposit
                and info.reserved == 0
                and info.frozen == 0
                and who != dust_receiver
            ):
                problems.append(f"account {who.hex()} holds {info.total}, below the existential deposit")
            if info.reserved != get_total_held(state, who):
                problems.append(f"account {who.hex()}: reserved {info.reserved} is not the sum of its holds")
        for who, locks in Locks.iter(state):
            frozen = system.get_account(state, who).frozen
            if frozen != max(lock.amount for lock in locks):
                problems.append(f"account {who.hex()}: frozen {frozen} does not match its locks")
        for who, holds in Holds.iter(state):
            reasons = [hold.reason for hold in holds]
            if reasons != sorted(set(reasons)) or any(hold.amount == 0 for hold in holds):
                problems.append(f"account {who.hex()}: holds are unsorted, repeated or empty")
            if not system.is_account(state, who):
                problems.append(f"account {who.hex()} holds funds but has no account")
        issuance = get_total_issuance(state)
        if held != issuance:
            problems.append(f"accounts hold {held} but total issuance is {issuance}")
        return problems

"""balances: the FLOCK token. Transfers, the existential deposit, reserves and locks.

Other pallets use the functions in the "currency interface" section (withdraw, deposit,
reserve, unreserve, set_lock, remove_lock), never the storage directly. Total issuance never
changes here: tokens only move between accounts (fees, dust and spends included), so
``TotalIssuance == sum(free + reserved)`` over all accounts at every block.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from runtime.abc import StateReader
from runtime.accounts import TREASURY_ACCOUNT
from runtime.framework.pallet import DispatchContext, DispatchError, Origin, Pallet, call
from runtime.framework.storage import StorageMap, StorageValue
from runtime.pallets import system
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.arithmetic import U64_MAX, checked_add
from runtime.primitives.codec import AccountId, Balance, FixedBytes, ListOf, Record, record

NAME = "balances"
MAX_LOCKS = 16
MAX_HOLDS = 16

# --- config -------------------------------------------------------------------------------


@record
class BalancesParameters(Record):
    # Smallest total an account may hold; below it the account is removed.
    existential_deposit: Balance


# --- storage ------------------------------------------------------------------------------


@record
class BalanceLock(Record):
    id: Annotated[bytes, FixedBytes(8)]
    amount: Balance


Parameters = StorageValue(NAME, "Parameters", BalancesParameters, BalancesParameters(1))
TotalIssuance = StorageValue(NAME, "TotalIssuance", Balance, 0)
Locks = StorageMap(NAME, "Locks", AccountId, Annotated[tuple, ListOf(BalanceLock, MAX_LOCKS)], ())


@record
class Hold(Record):
    """Funds of an account set aside for a reason another pallet names (FRAME's holds)."""

    reason: Annotated[bytes, FixedBytes(8)]
    amount: Balance


# Named holds, by reason; their sum is part of the account's ``reserved``.
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
class Reserved(Record):
    account: AccountId
    amount: Balance


@record
class Unreserved(Record):
    account: AccountId
    amount: Balance


# --- errors -------------------------------------------------------------------------------


class InsufficientBalance(DispatchError):
    """The account's usable balance is too low."""

    code = 0


class ExistentialDeposit(DispatchError):
    """The amount would create an account below the existential deposit."""

    code = 1


class KeepAlive(DispatchError):
    """The transfer would remove the sending account, and it asked to be kept alive."""

    code = 2


class LiquidityRestrictions(DispatchError):
    """The balance is locked (e.g. staked) and cannot be moved."""

    code = 3


class TooManyLocks(DispatchError):
    """An account may carry at most MAX_LOCKS locks."""

    code = 4


class Overflow(DispatchError):
    """A balance would exceed the u64 range."""

    code = 5


# --- calls' arguments ---------------------------------------------------------------------


@record
class TransferArgs(Record):
    dest: AccountId
    amount: Balance


@record
class TransferKeepAliveArgs(Record):
    dest: AccountId
    amount: Balance


# --- currency interface (for other pallets) -----------------------------------------------


def get_existential_deposit(state: StateReader) -> int:
    return Parameters.get(state).existential_deposit


def get_total_issuance(state: StateReader) -> int:
    return TotalIssuance.get(state)  # type: ignore[no-any-return]


def get_total_held(state: StateReader, who: bytes) -> int:
    """What ``who`` has under named holds (part of its reserved balance)."""
    return sum(hold.amount for hold in Holds.get(state, who))


def get_free_balance(state: StateReader, who: bytes) -> int:
    return system.get_account(state, who).free


def get_usable_balance(state: StateReader, who: bytes) -> int:
    """What may be transferred or reserved: free minus the largest lock."""
    info = system.get_account(state, who)
    return info.free - min(info.free, info.frozen)


def compute_withdrawn(
    info: system.AccountInfo, amount: int, *, keep_alive: bool, existential_deposit: int
) -> system.AccountInfo:
    """``info`` with ``amount`` taken from its free balance, or the error that forbids it."""
    if amount > info.free:
        raise InsufficientBalance()
    if info.free - amount < info.frozen:
        raise LiquidityRestrictions()
    if keep_alive and info.total - amount < existential_deposit:
        raise KeepAlive()
    return system.AccountInfo(info.nonce, info.free - amount, info.reserved, info.frozen)


def compute_deposited(info: system.AccountInfo, amount: int, *, existential_deposit: int) -> system.AccountInfo:
    """``info`` with ``amount`` added to its free balance, or the error that forbids it."""
    if info.total == 0 and amount < existential_deposit:
        raise ExistentialDeposit()
    if info.free + amount > U64_MAX:
        raise Overflow()
    return system.AccountInfo(info.nonce, info.free + amount, info.reserved, info.frozen)


def check_withdraw(state: StateReader, who: bytes, amount: int, *, keep_alive: bool) -> None:
    """Every check of :func:`withdraw`, without writing (used to validate before charging)."""
    compute_withdrawn(
        system.get_account(state, who),
        amount,
        keep_alive=keep_alive,
        existential_deposit=get_existential_deposit(state),
    )


def withdraw(ctx: DispatchContext, who: bytes, amount: int, *, keep_alive: bool) -> None:
    """Take ``amount`` out of ``who``'s free balance (the caller puts it somewhere)."""
    existential_deposit = get_existential_deposit(ctx.state)
    info = system.get_account(ctx.state, who)
    withdrawn = compute_withdrawn(info, amount, keep_alive=keep_alive, existential_deposit=existential_deposit)
    _settle(ctx, who, withdrawn, info, existential_deposit)


def check_deposit(state: StateReader, who: bytes, amount: int) -> None:
    """Every check of :func:`deposit`, without writing."""
    compute_deposited(system.get_account(state, who), amount, existential_deposit=get_existential_deposit(state))


def deposit(ctx: DispatchContext, who: bytes, amount: int) -> None:
    """Add ``amount`` (taken from elsewhere) to ``who``, creating the account if needed."""
    info = system.get_account(ctx.state, who)
    _store_deposit(
        ctx, who, info, compute_deposited(info, amount, existential_deposit=get_existential_deposit(ctx.state))
    )


def transfer(ctx: DispatchContext, source: bytes, dest: bytes, amount: int, *, keep_alive: bool) -> None:
    """Move ``amount`` from ``source`` to ``dest``; every check before the first write."""
    existential_deposit = get_existential_deposit(ctx.state)
    source_info = system.get_account(ctx.state, source)
    withdrawn = compute_withdrawn(source_info, amount, keep_alive=keep_alive, existential_deposit=existential_deposit)
    if source != dest and amount:
        dest_info = system.get_account(ctx.state, dest)
        deposited = compute_deposited(dest_info, amount, existential_deposit=existential_deposit)
        _settle(ctx, source, withdrawn, source_info, existential_deposit)
        _store_deposit(ctx, dest, dest_info, deposited)
    ctx.deposit_event(Transfer(source, dest, amount))


def _store_deposit(ctx: DispatchContext, who: bytes, previous: system.AccountInfo, info: system.AccountInfo) -> None:
    system.put_account(ctx, who, info, previous)
    if previous.total == 0 and info.total:
        ctx.deposit_event(Endowed(who, info.total))


def reserve(ctx: DispatchContext, who: bytes, amount: int) -> None:
    """Move ``amount`` from free to reserved (still owned, no longer spendable)."""
    info = system.get_account(ctx.state, who)
    if amount > get_usable_balance(ctx.state, who):
        raise InsufficientBalance()
    system.put_account(ctx, who, replace(info, free=info.free - amount, reserved=info.reserved + amount), info)
    ctx.deposit_event(Reserved(who, amount))


def unreserve(ctx: DispatchContext, who: bytes, amount: int) -> None:
    info = system.get_account(ctx.state, who)
    if amount > info.reserved:
        raise InsufficientBalance()
    system.put_account(ctx, who, replace(info, free=info.free + amount, reserved=info.reserved - amount), info)
    ctx.deposit_event(Unreserved(who, amount))


def set_lock(ctx: DispatchContext, who: bytes, lock_id: bytes, amount: int) -> None:
    """Lock ``amount`` of ``who``'s free balance under ``lock_id`` (replacing that lock)."""
    locks = tuple(lock for lock in Locks.get(ctx.state, who) if lock.id != lock_id)
    locks = tuple(sorted((*locks, BalanceLock(lock_id, amount)), key=lambda lock: lock.id))
    if len(locks) > MAX_LOCKS:
        raise TooManyLocks()
    _store_locks(ctx, who, locks)


def remove_lock(ctx: DispatchContext, who: bytes, lock_id: bytes) -> None:
    _store_locks(ctx, who, tuple(lock for lock in Locks.get(ctx.state, who) if lock.id != lock_id))


def _store_locks(ctx: DispatchContext, who: bytes, locks: tuple[BalanceLock, ...]) -> None:
    if locks:
        Locks.put(ctx.state, who, locks)
    else:
        Locks.remove(ctx.state, who)
    info = system.get_account(ctx.state, who)
    system.put_account(ctx, who, replace(info, frozen=max((lock.amount for lock in locks), default=0)), info)


def _settle(
    ctx: DispatchContext, who: bytes, info: system.AccountInfo, previous: system.AccountInfo, existential_deposit: int
) -> None:
    """Store ``info``; if it fell below the existential deposit, remove it and keep the dust."""
    if 0 < info.total < existential_deposit and info.frozen == 0 and info.reserved == 0:
        dust = info.free
        receiver = DustReceiver.get(ctx.state)
        system.put_account(ctx, who, replace(info, free=0), previous)
        receiver_info = system.get_account(ctx.state, receiver)
        system.put_account(
            ctx, receiver, replace(receiver_info, free=checked_add(receiver_info.free, dust)), receiver_info
        )
        ctx.deposit_event(DustLost(who, dust))
        return
    system.put_account(ctx, who, info, previous)


# --- the pallet ---------------------------------------------------------------------------


class Balances(Pallet):
    NAME = NAME
    STORAGE = (Parameters, TotalIssuance, Locks, Holds, DustReceiver)
    EVENTS = (Transfer, Endowed, DustLost, Reserved, Unreserved)
    ERRORS = (InsufficientBalance, ExistentialDeposit, KeepAlive, LiquidityRestrictions, TooManyLocks, Overflow)

    # --- calls --------------------------------------------------------------------------

    @call(0, TransferArgs, weight=100_000)
    def transfer(self, ctx: DispatchContext, origin: Origin, args: TransferArgs) -> None:
        """Transfer, allowing the sender's account to be removed if it drops below the ED."""
        transfer(ctx, origin.account, args.dest, args.amount, keep_alive=False)  # type: ignore[arg-type]

    @call(1, TransferKeepAliveArgs, weight=100_000)
    def transfer_keep_alive(self, ctx: DispatchContext, origin: Origin, args: TransferKeepAliveArgs) -> None:
        """Transfer, refusing to take the sender below the existential deposit."""
        transfer(ctx, origin.account, args.dest, args.amount, keep_alive=True)  # type: ignore[arg-type]

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """``{"existentialDeposit": n, "dustReceiver": address, "balances": [[address, amount], ...]}``."""
        existential_deposit = config.get("existentialDeposit", 1)
        Parameters.put(ctx.state, BalancesParameters(existential_deposit))
        DustReceiver.put(ctx.state, decode_address(config.get("dustReceiver", encode_address(TREASURY_ACCOUNT))))
        total = 0
        for address, amount in config.get("balances", []):
            who = decode_address(address)
            if amount < existential_deposit:
                raise ValueError(f"genesis balance of {address} is below the existential deposit")
            if system.Account.contains(ctx.state, who):
                raise ValueError(f"genesis lists {address} twice")
            system.Account.put(ctx.state, who, replace(system.EMPTY_ACCOUNT, free=amount))
            total = checked_add(total, amount)
        for receiver in {TREASURY_ACCOUNT, DustReceiver.get(ctx.state)}:
            if not system.Account.contains(ctx.state, receiver):
                # Fees and dust are paid into these accounts in any amount; they must exist.
                raise ValueError(
                    f"the treasury and dust receiver {encode_address(receiver)} must be endowed at genesis"
                )
        TotalIssuance.put(ctx.state, total)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return {
            "existentialDeposit": get_existential_deposit(state),
            "dustReceiver": encode_address(DustReceiver.get(state)),
            "balances": [[encode_address(who), info.free] for who, info in system.Account.iter(state)],
        }

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        problems = []
        existential_deposit = get_existential_deposit(state)
        held = 0
        for who, info in system.Account.iter(state):
            held += info.total
            if 0 < info.total < existential_deposit and info.reserved == 0 and info.frozen == 0:
                problems.append(f"account {who.hex()} holds {info.total}, below the existential deposit")
        for who, locks in Locks.iter(state):
            frozen = system.get_account(state, who).frozen
            if frozen != max(lock.amount for lock in locks):
                problems.append(f"account {who.hex()}: frozen {frozen} does not match its locks")
        issuance = TotalIssuance.get(state)
        if held != issuance:
            problems.append(f"accounts hold {held} but total issuance is {issuance}")
        return problems

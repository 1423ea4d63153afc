"""system: accounts and nonces, block number and hashes, events, block resource accounting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from runtime.abc import StateReader
from runtime.accounts import EMPTY_ACCOUNT, AccountInfo
from runtime.framework.pallet import BadOrigin, DispatchContext, Origin, Pallet, call, ensure_signed
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageMap, StorageValue
from runtime.primitives.codec import (
    U8,
    U32,
    U64,
    AccountId,
    BlockNumber,
    Hash32,
    Record,
    VarBytes,
    record,
)
from runtime.primitives.hashing import ZERO_HASH

NAME = "system"

# --- config -------------------------------------------------------------------------------


@record
class SystemParameters(Record):
    max_block_weight: U64
    max_block_length: U32
    # How many recent block hashes are kept: the longest mortality a transaction may use.
    block_hash_count: U32


DEFAULT_PARAMETERS = SystemParameters(
    max_block_weight=2_000_000_000, max_block_length=4 * 1024 * 1024, block_hash_count=2400
)


# --- storage ------------------------------------------------------------------------------


PHASE_INITIALIZATION = 0
PHASE_APPLY_EXTRINSIC = 1
PHASE_FINALIZATION = 2


PARAMETERS = PalletParameters(NAME, __name__, SystemParameters, DEFAULT_PARAMETERS)
Account = StorageMap(NAME, "Account", AccountId, AccountInfo, EMPTY_ACCOUNT)
Number = StorageValue(NAME, "Number", BlockNumber, 0)
ParentHash = StorageValue(NAME, "ParentHash", Hash32, ZERO_HASH)
BlockHash = StorageMap(NAME, "BlockHash", BlockNumber, Hash32)
# The block's events, encoded by the runtime (``Runtime.encode_events``/``decode_events``).
Events = StorageValue(NAME, "Events", Annotated[bytes, VarBytes(64 * 1024 * 1024)], b"")
BlockWeight = StorageValue(NAME, "BlockWeight", U64, 0)
BlockLength = StorageValue(NAME, "BlockLength", U32, 0)


def get_parameters(state: StateReader) -> SystemParameters:
    return PARAMETERS.get(state)


def get_account(state: StateReader, who: bytes) -> AccountInfo:
    return Account.get(state, who)


def is_account(state: StateReader, who: bytes) -> bool:
    """Whether ``who`` has an account record (it holds or locks something)."""
    return Account.contains(state, who)


def iter_accounts(state: StateReader) -> Iterator[tuple[bytes, AccountInfo]]:
    """Every account, in storage-key order (genesis export and invariants, not block execution)."""
    return Account.iter(state)


def is_live(info: AccountInfo) -> bool:
    """Whether an account record exists: it holds or locks something."""
    return info.free != 0 or info.reserved != 0 or info.frozen != 0


def put_account(ctx: DispatchContext, who: bytes, info: AccountInfo, previous: AccountInfo) -> None:
    """Store ``info`` over ``previous`` (as just read); an account with nothing left is removed
    (its nonce with it)."""
    if not is_live(info):
        if is_live(previous):
            Account.remove(ctx.state, who)
            ctx.deposit_event(KilledAccount(who))
        return
    if not is_live(previous):
        ctx.deposit_event(NewAccount(who))
    Account.put(ctx.state, who, info)


def note_block_end(ctx: DispatchContext, weight: int, length: int, events: bytes) -> None:
    """What the executive records once a block is done: its resource use and its events."""
    BlockWeight.put(ctx.state, weight)
    BlockLength.put(ctx.state, length)
    Events.put(ctx.state, events)


def get_block_number(state: StateReader) -> int:
    """The number of the block being executed (or of the last one, after it)."""
    return Number.get(state)  # type: ignore[no-any-return]


def get_block_hash(state: StateReader, number: int) -> bytes | None:
    return BlockHash.get(state, number)


# --- events -------------------------------------------------------------------------------


@record
class ExtrinsicSuccess(Record):
    weight: U64


@record
class ExtrinsicFailed(Record):
    pallet_index: U8
    error_code: U8
    weight: U64


@record
class NewAccount(Record):
    account: AccountId


@record
class KilledAccount(Record):
    account: AccountId


@record
class Remarked(Record):
    sender: AccountId
    length: U32


# --- calls' arguments ---------------------------------------------------------------------


@record
class Remark(Record):
    data: Annotated[bytes, VarBytes(16 * 1024)]


class System(Pallet):
    NAME = NAME
    STORAGE = (PARAMETERS.storage, Account, Number, ParentHash, BlockHash, Events, BlockWeight, BlockLength)
    EVENTS = (ExtrinsicSuccess, ExtrinsicFailed, NewAccount, KilledAccount, Remarked)
    ERRORS = (BadOrigin,)

    # --- calls --------------------------------------------------------------------------

    @call(0, Remark, weight=10_000)
    def remark(self, ctx: DispatchContext, origin: Origin, args: Remark) -> None:
        """Put bytes on chain (they are in the block; only their length is in the event)."""
        ctx.deposit_event(Remarked(ensure_signed(origin), len(args.data)))

    # --- hooks --------------------------------------------------------------------------

    def on_initialize(self, ctx: DispatchContext) -> int:
        """A few writes every block: part of a block's fixed cost, not of its budget."""
        number, parent_hash = ctx.block.number, ctx.block.parent_hash
        Number.put(ctx.state, number)
        ParentHash.put(ctx.state, parent_hash)
        BlockHash.put(ctx.state, number - 1, parent_hash)
        oldest_kept = number - 1 - get_parameters(ctx.state).block_hash_count
        if oldest_kept >= 0:
            BlockHash.remove(ctx.state, oldest_kept)
        BlockWeight.put(ctx.state, 0)
        BlockLength.put(ctx.state, 0)
        return 0

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        PARAMETERS.storage.put(ctx.state, PARAMETERS.from_genesis(config))

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return PARAMETERS.to_genesis(get_parameters(state))

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        problems = []
        for who, info in Account.iter(state):
            if info.total == 0 and info.frozen == 0:
                problems.append(f"empty account {who.hex()} was not removed")
            if info.frozen > info.free + info.reserved:
                problems.append(f"account {who.hex()} has more frozen than it holds")
        return problems

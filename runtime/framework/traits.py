"""What pallets ask of each other (FRAME's traits, cosmos-sdk's expected keepers).

A pallet never imports another pallet (``system``, the base every pallet builds on, excepted) and
never reads another's storage: it names the small interface it needs here, and
``runtime/construct.py`` wires the pallet that provides it (FRAME's ``Config`` associated types).
``tests/test_pallet_boundaries.py`` enforces both rules.

The currency's errors live here too, with their stable codes: they are part of the interface (a
caller catches them), and the pallet that provides the currency declares them as its own, so on
chain they carry its index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from runtime.abc import StateReader
from runtime.accounts import AccountInfo
from runtime.framework.pallet import DispatchContext, DispatchError
from runtime.primitives.arithmetic import Perbill

# --- the currency (balances) ---------------------------------------------------------------


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


class InsufficientHeld(DispatchError):
    """The account holds less than that under this reason."""

    code = 6


class TooManyHolds(DispatchError):
    """An account may carry at most MAX_HOLDS holds."""

    code = 7


CURRENCY_ERRORS = (
    InsufficientBalance,
    ExistentialDeposit,
    KeepAlive,
    LiquidityRestrictions,
    TooManyLocks,
    Overflow,
    InsufficientHeld,
    TooManyHolds,
)


class Currency(Protocol):
    """The token: transfers, locks (funds that stay free but cannot move; they may overlap) and
    named holds (funds moved out of free, FRAME's ``fungible::hold``). Nothing here creates or
    destroys tokens: total issuance never changes. Every mutation checks before it writes and
    raises one of the errors above."""

    def get_existential_deposit(self, state: StateReader) -> int: ...

    def get_total_issuance(self, state: StateReader) -> int: ...

    def get_free_balance(self, state: StateReader, who: bytes) -> int: ...

    def get_usable_balance(self, state: StateReader, who: bytes) -> int:
        """What may be transferred or held: free minus the largest lock."""

    def compute_withdrawn(self, state: StateReader, info: AccountInfo, amount: int, *, keep_alive: bool) -> AccountInfo:
        """``info`` (as just read) with ``amount`` taken from its free balance, or the error."""

    def check_withdraw(self, state: StateReader, who: bytes, amount: int, *, keep_alive: bool) -> None: ...

    def check_deposit(self, state: StateReader, who: bytes, amount: int) -> None: ...

    def deposit(self, ctx: DispatchContext, who: bytes, amount: int) -> None:
        """Add ``amount`` that the caller took from elsewhere (e.g. fees withdrawn earlier)."""

    def transfer(self, ctx: DispatchContext, source: bytes, dest: bytes, amount: int, *, keep_alive: bool) -> None: ...

    # Locks.
    def get_lock(self, state: StateReader, who: bytes, lock_id: bytes) -> int: ...

    def check_lock(self, state: StateReader, who: bytes, lock_id: bytes, amount: int) -> None:
        """Whether ``set_lock(who, lock_id, amount)`` would succeed (the free balance covers it)."""

    def set_lock(self, ctx: DispatchContext, who: bytes, lock_id: bytes, amount: int) -> None: ...

    def remove_lock(self, ctx: DispatchContext, who: bytes, lock_id: bytes) -> None: ...

    # Holds.
    def get_held(self, state: StateReader, who: bytes, reason: bytes) -> int: ...

    def hold(self, ctx: DispatchContext, reason: bytes, who: bytes, amount: int) -> None: ...

    def release(self, ctx: DispatchContext, reason: bytes, who: bytes, amount: int) -> None: ...

    def transfer_held(
        self, ctx: DispatchContext, reason: bytes, source: bytes, dest: bytes, amount: int, *, on_hold: bool
    ) -> None:
        """Move ``amount`` held by ``source`` under ``reason`` to ``dest``: free, or held by
        ``dest`` under the same reason (``on_hold``)."""

    def slash_held(self, ctx: DispatchContext, reason: bytes, who: bytes, amount: int, dest: bytes) -> int:
        """Take up to ``amount`` of what ``who`` holds under ``reason`` into ``dest``'s free
        balance (the treasury, a pool, a reporter, or the burn account); what was taken."""


# --- time (timestamp) ----------------------------------------------------------------------


class Time(Protocol):
    def get_now(self, state: StateReader) -> int:
        """The current block's timestamp in milliseconds (once its inherent ran)."""


# --- sessions (session, staking) -----------------------------------------------------------


class SessionInterface(Protocol):
    """The current authority set, as other pallets see it (session provides it)."""

    def get_validators(self, state: StateReader) -> tuple[bytes, ...]:
        """The current set's validator accounts, in slot order."""

    def get_validator_of(self, state: StateReader, signing: bytes) -> bytes | None:
        """The current validator that authors and votes under session key ``signing``."""

    def get_key_owner(self, state: StateReader, signing: bytes) -> bytes | None:
        """The validator that ever enacted session key ``signing`` (a key has one owner
        forever), for evidence signed under a key since rotated away."""

    def get_authority_keys(self, state: StateReader) -> tuple[tuple[bytes, bytes, bytes], ...]:
        """``(validator, signing key, VRF key)`` of each current authority, in slot order."""

    def get_set_id(self, state: StateReader) -> int: ...

    def get_epoch_length(self, state: StateReader) -> int: ...


class SessionManager(Protocol):
    """Who decides the authority sets (staking): session asks it at every epoch's end (FRAME's
    ``SessionManager``)."""

    def is_staker(self, state: StateReader, who: bytes) -> bool:
        """Whether ``who`` may set session keys (it is bonded)."""

    def end_session(self, ctx: DispatchContext) -> list[bytes] | None:
        """The epoch ending in this block: the next set's validators, in slot order, or None to
        keep the current set's members."""

    def get_end_session_weight(self, state: StateReader, number: int) -> int:
        """The weight of ``end_session`` in block ``number`` (an epoch's last)."""


# --- staking, rewards and slashing (staking, offences) -------------------------------------


class StakingInterface(Protocol):
    """What other pallets read of staking, and the point it awards an authority's work."""

    def get_current_era(self, state: StateReader) -> int: ...

    def get_era_length(self, state: StateReader) -> int:
        """Blocks per era (0: eras never end)."""

    def get_era_of_block(self, state: StateReader, number: int) -> int:
        """The era block ``number`` belongs to."""

    def get_bonding_duration(self, state: StateReader) -> int: ...

    def get_bonded_through(self, state: StateReader, who: bytes, block_number: int) -> int:
        """What of ``who``'s bond stays locked at least through block ``block_number``, however
        it unbonds from now on (a chunk that matures by then can be withdrawn and moved)."""

    def get_validator_weight(self, state: StateReader, validator: bytes) -> int:
        """The validator's exposure in the current era (0: not elected)."""

    def award_point(self, ctx: DispatchContext, signing: bytes) -> None:
        """One reward point to the elected validator that signs under ``signing`` (a block it
        authored, a finality vote a block carried)."""


class SlashingInterface(Protocol):
    """What staking asks of the offences pallet."""

    def get_slash_defer_eras(self, state: StateReader) -> int: ...

    def get_last_pending_slash_era(self, state: StateReader) -> int | None:
        """The latest era at whose end a recorded slash still waits to apply (None: none)."""

    def on_era_end(self, ctx: DispatchContext, era: int, unresponsive: list[bytes]) -> None:
        """Called after ``era`` is paid, before the next election: ``unresponsive`` are the
        elected validators that went a whole epoch of it without a reward point."""

    def get_era_end_weight(self, state: StateReader, era: int, unresponsive: int) -> int:
        """The weight of ``on_era_end`` for ``era`` with that many unresponsive validators."""


class OffenderHandler(Protocol):
    """What the offences pallet needs of the pallet that holds a kind of offender's stake
    (staking for validators; an ML market for its workers)."""

    def get_stakes(self, state: StateReader, offender: bytes, era: int) -> tuple[tuple[bytes, int], ...] | None:
        """Who stood to lose what for an offence ``offender`` committed in ``era`` (its own stake
        first, then whoever backs it); None when it cannot be punished for it (e.g. it was not
        elected then, or that era is no longer known)."""

    def get_population(self, state: StateReader, era: int) -> int:
        """How many could have offended alike in ``era`` (the correlated fraction's ``n``)."""

    def on_offence(self, ctx: DispatchContext, offender: bytes) -> None:
        """The offence is recorded (e.g. chill the validator)."""

    def slash(self, ctx: DispatchContext, offender: bytes, who: bytes, amount: int, dest: bytes) -> int:
        """Take up to ``amount`` of ``who``'s stake behind ``offender`` into ``dest``; what was taken."""


@dataclass(frozen=True)
class OffenceKind:
    """A kind of offence the offences pallet records and slashes (registered in construct.py).

    ``compute_fraction(state, offenders, population)``: the share of each stake a slash takes,
    given how many distinct offenders of this kind the era has so far.
    """

    id: int  # stable: part of every OffenceId and event
    name: str
    handler: OffenderHandler
    compute_fraction: Callable[[StateReader, int, int], Perbill]


class OffenceReporter(Protocol):
    """How a pallet that proves a fault reports it (FRAME's ``ReportOffence``)."""

    def report_offence(
        self, ctx: DispatchContext, kind: int, offender: bytes, time: tuple[int, ...], reporter: bytes | None
    ) -> None:
        """Record the offence (checked: a punishable offender, not reported before) and defer
        its slash; raises the offences pallet's error otherwise."""


# --- ML markets (arena, alliance) ----------------------------------------------------------


class EpochRandomness(Protocol):
    """The current epoch's randomness (session's, from the blocks' VRF outputs): the ML markets
    seed each round's VRF roles, committees and spot checks with it."""

    def get_epoch_randomness(self, state: StateReader) -> bytes: ...


class MlTaskRegistry(Protocol):
    """What emission asks of an ML market (arena, alliance): the reward pool and the stake of
    each active task, so that the ML part of every block is spread over tasks by stake."""

    def get_task_stakes(self, state: StateReader) -> tuple[tuple[bytes, int], ...]:
        """``(task's reward account, total stake on the task)`` of every active task, in task
        order (at most the market's bound on active tasks)."""

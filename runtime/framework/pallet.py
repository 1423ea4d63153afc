"""What a pallet is: calls with stable indices, events, errors with stable codes, hooks,
genesis build/export and invariants (FRAME's shape, in plain Python).

A pallet is a class deriving from :class:`Pallet`. Its calls are methods marked with
:func:`call`, each taking an argument record; its events and errors are declared as tuples
whose positions are never reused. The composed runtime (``runtime/construct.py``) gives every
pallet an explicit index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from runtime.errors import FlockError
from runtime.framework.storage import Overlay, StorageMap, StorageValue
from runtime.primitives.codec import Record

if TYPE_CHECKING:
    from runtime.abc import StateReader
    from runtime.framework.runtime import Runtime


# --- origins ------------------------------------------------------------------------------

ORIGIN_SIGNED = "signed"
ORIGIN_ROOT = "root"
ORIGIN_NONE = "none"


class Origin(NamedTuple):
    """Who dispatches a call: a signed account, the root (governance), or nobody (inherent).
    (A named tuple: every transaction builds one.)"""

    kind: str
    account: bytes | None = None

    @classmethod
    def signed(cls, account: bytes) -> Origin:
        return cls(ORIGIN_SIGNED, account)


ROOT = Origin(ORIGIN_ROOT)
NONE = Origin(ORIGIN_NONE)


def ensure_signed(origin: Origin) -> bytes:
    """The account that signed, or :class:`BadOrigin` (FRAME's ``ensure_signed``)."""
    if origin.kind != ORIGIN_SIGNED or origin.account is None:
        raise BadOrigin()
    return origin.account


# --- errors -------------------------------------------------------------------------------


class DispatchError(FlockError):
    """A call failed; the extrinsic keeps its fee and records a failure event.

    Each pallet declares its errors as subclasses with a stable ``code``; the runtime adds the
    pallet index, so ``(pallet_index, code)`` names an error on chain.
    """

    code: ClassVar[int] = 0

    def __init__(self, message: str = "") -> None:
        super().__init__(message or (self.__doc__ or type(self).__name__).strip().splitlines()[0])


class BadOrigin(DispatchError):
    """The call was dispatched from an origin it does not accept."""

    code = 0


# --- calls --------------------------------------------------------------------------------

Handler = Callable[[Any, "DispatchContext", Origin, Any], None]


@dataclass(frozen=True)
class CallDef:
    index: int
    name: str
    args: type[Record]
    origin: str
    weight: int
    handler: Handler
    governable: bool = False  # governance may propose it (it then runs with the root origin)


def call(
    index: int, args: type[Record], *, weight: int, origin: str = ORIGIN_SIGNED, governable: bool = False
) -> Callable[[Handler], Handler]:
    """Mark a pallet method as the dispatchable with call index ``index``. ``governable``: a root
    call the DAO may propose (parameter changes, treasury spends, ...); no other call can be."""
    if governable and origin != ORIGIN_ROOT:
        raise TypeError("only a root call can be made by governance")

    def mark(handler: Handler) -> Handler:
        definition = CallDef(index, handler.__name__, args, origin, weight, handler, governable)
        handler._call_def = definition  # type: ignore[attr-defined]
        return handler

    return mark


# --- dispatch context ---------------------------------------------------------------------


@dataclass(frozen=True)
class BlockEnvironment:
    """What the runtime knows of the block being built or imported (from its header)."""

    number: int
    parent_hash: bytes
    slot: int
    timestamp: int
    author: bytes
    vrf_output: bytes = b""  # the author's primary slot-claim VRF output (empty for a secondary claim)


class EventRecord(NamedTuple):
    """An event with where it happened: block phase, extrinsic index, and its pallet's and
    its own index (the runtime encodes it; see ``Runtime.encode_event``)."""

    phase: int
    extrinsic_index: int
    pallet_index: int
    event_index: int
    event: Record


@dataclass(slots=True)
class DispatchContext:
    """Everything a call or hook may touch: state, block facts, and the event sink."""

    runtime: Runtime
    state: Overlay
    block: BlockEnvironment
    genesis_hash: bytes
    # Where in the block we are, recorded with each event.
    phase: int = 0
    extrinsic_index: int = 0
    # Each event's record, encoded when deposited: bytes, which the cyclic garbage collector
    # never scans, where records kept to the end of the block would be promoted and scanned.
    events: list[bytes] = field(default_factory=list)

    def deposit_event(self, event: Record) -> None:
        self.events.append(self.runtime.encode_event(self.phase, self.extrinsic_index, event))

    def event_records(self) -> list[EventRecord]:
        """The events deposited so far, decoded."""
        return [self.runtime.decode_event(encoded) for encoded in self.events]

    def child(self) -> DispatchContext:
        """A context whose writes and events are kept only if the call succeeds."""
        return DispatchContext(
            self.runtime, self.state.child(), self.block, self.genesis_hash, self.phase, self.extrinsic_index
        )

    def merge_child(self, child: DispatchContext) -> None:
        child.state.merge_into_parent()
        self.events.extend(child.events)


# --- the pallet base ----------------------------------------------------------------------


class Pallet:
    """Base of every pallet. Subclasses set ``NAME``, ``STORAGE``, ``EVENTS`` and ``ERRORS`` and
    mark calls. ``STORAGE`` lists every storage item the pallet owns (its metadata; no other
    pallet reads them)."""

    NAME: ClassVar[str]
    STORAGE: ClassVar[tuple[StorageValue[Any] | StorageMap[Any, Any], ...]] = ()
    EVENTS: ClassVar[tuple[type[Record], ...]] = ()
    ERRORS: ClassVar[tuple[type[DispatchError], ...]] = ()
    # Fixed numbers a client may need (list bounds, sizes, the codes of a field's values), by
    # name: part of the metadata.
    CONSTANTS: ClassVar[dict[str, int]] = {}
    CALLS: ClassVar[dict[int, CallDef]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        calls: dict[int, CallDef] = {}
        for attribute in vars(cls).values():
            definition = getattr(attribute, "_call_def", None)
            if definition is not None:
                if definition.index in calls:
                    raise TypeError(f"{cls.__name__}: call index {definition.index} used twice")
                calls[definition.index] = definition
        cls.CALLS = dict(sorted(calls.items()))
        codes = [error.code for error in cls.ERRORS]
        if len(set(codes)) != len(codes):
            raise TypeError(f"{cls.__name__}: an error code is used twice")
        names = [item.name for item in cls.STORAGE]
        if len(set(names)) != len(names) or any(item.pallet != cls.NAME for item in cls.STORAGE):
            raise TypeError(f"{cls.__name__}: a storage item is listed twice or belongs to another pallet")

    # Hooks: called for every pallet, in the runtime's hook order (``runtime/construct.py``).
    def on_initialize(self, ctx: DispatchContext) -> int:
        """Start of every block, before any extrinsic. Returns the weight of this pallet's hooks
        in this block, ``on_finalize``'s included (FRAME's ``on_initialize`` weight): the
        executive counts it against the block's budget before any transaction, so work the
        hooks must do leaves less room for transactions instead of making the block late."""
        return 0

    def on_finalize(self, ctx: DispatchContext) -> None:
        """End of every block, after the last extrinsic."""

    def on_parameters_change(self, ctx: DispatchContext, parameters: Any) -> None:
        """Governance set new parameters (checked); called before they are stored
        (``runtime/framework/parameters.py``)."""

    # Genesis.
    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """Write this pallet's genesis state from its chain-spec section."""

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        """This pallet's chain-spec section that rebuilds ``state`` exactly."""
        return {}

    # Invariants.
    def try_state(self, state: StateReader) -> list[str]:
        """What is wrong with this pallet's state (empty when all is well)."""
        return []

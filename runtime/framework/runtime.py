"""The composed runtime: pallets at explicit indices, the order their hooks run in, the call
codec, event and error tables, dispatch, genesis build/export and the invariants of all pallets
together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from runtime.abc import EmptyState, StateReader
from runtime.errors import ArithmeticOverflow, EncodingError, MalformedTransaction
from runtime.framework.pallet import (
    BlockEnvironment,
    CallDef,
    DispatchContext,
    DispatchError,
    EventRecord,
    Origin,
    Pallet,
)
from runtime.framework.storage import Overlay
from runtime.primitives.codec import (
    CodecType,
    ListOf,
    Record,
    UInt,
    decode_value,
    encode_list_of_encoded,
    encode_value,
    pack_primitive,
)
from runtime.primitives.hashing import ZERO_HASH

MAX_EVENTS_PER_BLOCK = 100_000
MAX_EVENTS_SIZE = 64 * 1024 * 1024

# Errors raised by the framework rather than a pallet: (255, BadOrigin.code) and overflow.
FRAMEWORK_ERROR_INDEX = 255
ARITHMETIC_ERROR_CODE = 1

GENESIS_ENVIRONMENT = BlockEnvironment(number=0, parent_hash=ZERO_HASH, slot=0, timestamp=0, author=bytes(32))


class RuntimeCall(NamedTuple):
    """A decoded call: which pallet, which dispatchable, with what arguments."""

    pallet_index: int
    pallet: Pallet
    definition: CallDef
    args: Record


def dispatch_in_child(
    ctx: DispatchContext, call: RuntimeCall, origin: Origin
) -> DispatchError | ArithmeticOverflow | None:
    """Run ``call`` in a child of ``ctx``: its writes and events are kept if it succeeds and
    dropped if it fails. Returns the failure (a dispatch error or an arithmetic overflow), or
    None. The executive dispatches every extrinsic this way, governance every enactment."""
    child = ctx.child()
    try:
        call.definition.handler(call.pallet, child, origin, call.args)
    except (DispatchError, ArithmeticOverflow) as error:
        return error
    ctx.merge_child(child)
    return None


class CallCodec(CodecType):
    """Calls as ``[pallet index, call index, *argument fields]``, resolved through a runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def to_primitive(self, call: RuntimeCall) -> list[Any]:
        return [call.pallet_index, call.definition.index, *call.definition.args.record_codec().to_primitive(call.args)]

    def from_primitive(self, primitive: Any) -> RuntimeCall:
        if (
            type(primitive) is not list
            or len(primitive) < 2
            or type(primitive[0]) is not int
            or type(primitive[1]) is not int
        ):
            raise EncodingError("a call is [pallet index, call index, arguments...]")
        pallet = self.runtime.pallets.get(primitive[0])
        definition = pallet.CALLS.get(primitive[1]) if pallet is not None else None
        if pallet is None or definition is None:
            raise EncodingError(f"no call {primitive[1]} in pallet {primitive[0]}")
        try:
            args = definition.args.record_codec().from_primitive(primitive[2:])
        except EncodingError as exc:
            raise EncodingError(f"bad arguments for {pallet.NAME}.{definition.name}: {exc}") from None
        return RuntimeCall(primitive[0], pallet, definition, args)


_EVENT_HEADER_TYPES = (UInt(8), UInt(32), UInt(8), UInt(8))


class EventCodec(CodecType):
    """Events as ``[phase, extrinsic index, pallet index, event index, *event fields]``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def to_primitive(self, record: EventRecord) -> list[Any]:
        return self.runtime.event_primitive(record.phase, record.extrinsic_index, record.event)

    def from_primitive(self, primitive: Any) -> EventRecord:
        if type(primitive) is not list or len(primitive) < 4:
            raise EncodingError("an event is [phase, extrinsic index, pallet index, event index, fields...]")
        header = [kind.from_primitive(value) for kind, value in zip(_EVENT_HEADER_TYPES, primitive)]
        pallet = self.runtime.pallets.get(header[2])
        if pallet is None or header[3] >= len(pallet.EVENTS):
            raise EncodingError(f"no event {header[3]} in pallet {header[2]}")
        event = pallet.EVENTS[header[3]].record_codec().from_primitive(primitive[4:])
        return EventRecord(*header, event)


class Runtime:
    """Pallets composed at explicit, stable indices (the indices are part of every call), their
    hooks run in ``hook_order`` (pallet names; default: index order). The two are separate:
    an index is permanent, while the order hooks run in is a property of the composition (e.g.
    session rotates epochs after staking has counted the block)."""

    def __init__(self, pallets: Iterable[tuple[int, Pallet]], hook_order: Iterable[str] | None = None) -> None:
        self.pallets: dict[int, Pallet] = {}
        self._call_codec = CallCodec(self)
        self._event_codec = EventCodec(self)
        self._events_codec = ListOf(self._event_codec, MAX_EVENTS_PER_BLOCK)
        self._by_name: dict[str, Pallet] = {}
        self._call_index: dict[type[Record], tuple[int, int]] = {}
        # Each event type's pallet index, event index and field encoder: one lookup per event.
        self._events: dict[type[Record], tuple[int, int, Callable[[Record], list[Any]]]] = {}
        self._error_index: dict[type[DispatchError], tuple[int, int]] = {}
        for index, pallet in sorted(pallets, key=lambda item: item[0]):
            self._register(index, pallet)
        names = list(self._by_name) if hook_order is None else list(hook_order)
        if sorted(names) != sorted(self._by_name):
            raise ValueError(f"the hook order {names} must name every pallet exactly once")
        # Every block runs each pallet's hooks in this order.
        self.hooked: tuple[Pallet, ...] = tuple(self._by_name[name] for name in names)

    def _register(self, index: int, pallet: Pallet) -> None:
        if index in self.pallets or pallet.NAME in self._by_name or not 0 <= index < 256:
            raise ValueError(f"pallet {pallet.NAME} at index {index} clashes or is out of range")
        self.pallets[index] = pallet
        self._by_name[pallet.NAME] = pallet
        for call_index, definition in pallet.CALLS.items():
            self._call_index[definition.args] = (index, call_index)
        for event_index, event in enumerate(pallet.EVENTS):
            self._events[event] = (index, event_index, event.record_codec().to_primitive)
        for error in pallet.ERRORS:
            self._error_index[error] = (index, error.code)

    def pallet(self, name: str) -> Pallet:
        return self._by_name[name]

    # --- calls --------------------------------------------------------------------------

    def encode_call(self, args: Record) -> bytes:
        """The canonical call bytes ``[pallet index, call index, *fields]`` for ``args``."""
        pallet_index, call_index = self._call_index[type(args)]
        return encode_value(
            self._call_codec,
            RuntimeCall(pallet_index, self.pallets[pallet_index], self.pallets[pallet_index].CALLS[call_index], args),
        )

    def decode_call(self, data: bytes) -> RuntimeCall:
        """Strictly decode call bytes; raises :class:`MalformedTransaction`."""
        try:
            return decode_value(self._call_codec, data)  # type: ignore[no-any-return]
        except EncodingError as exc:
            raise MalformedTransaction(f"call does not decode: {exc}") from None

    # --- events and errors --------------------------------------------------------------

    def event_primitive(self, phase: int, extrinsic_index: int, event: Record) -> list[Any]:
        pallet_index, event_index, fields = self._events[event.__class__]
        return [phase, extrinsic_index, pallet_index, event_index, *fields(event)]

    def encode_event(self, phase: int, extrinsic_index: int, event: Record) -> bytes:
        """The canonical bytes of ``event``'s record: an item of the block's event list."""
        return pack_primitive(self.event_primitive(phase, extrinsic_index, event))

    def encode_events(self, encoded: list[bytes]) -> bytes:
        """The block's event list from its items' bytes (:meth:`encode_event`)."""
        return encode_list_of_encoded(encoded, MAX_EVENTS_PER_BLOCK)

    def decode_event(self, data: bytes) -> EventRecord:
        return decode_value(self._event_codec, data)  # type: ignore[no-any-return]

    def decode_events(self, data: bytes) -> tuple[EventRecord, ...]:
        return decode_value(self._events_codec, data, max_size=MAX_EVENTS_SIZE)  # type: ignore[no-any-return]

    def error_index(self, error: DispatchError | ArithmeticOverflow) -> tuple[int, int]:
        """``(pallet index, code)`` of a failed call's error. Errors no pallet declares (bad
        origin, arithmetic overflow) use index 255 with the framework's own codes."""
        if isinstance(error, ArithmeticOverflow):
            return FRAMEWORK_ERROR_INDEX, ARITHMETIC_ERROR_CODE
        return self._error_index.get(type(error), (FRAMEWORK_ERROR_INDEX, error.code))

    # --- genesis and invariants ---------------------------------------------------------

    def build_genesis(self, config: dict[str, dict[str, Any]]) -> dict[bytes, bytes | None]:
        """The genesis state changes from the chain spec's per-pallet sections."""
        unknown = set(config) - set(self._by_name)
        if unknown:
            raise ValueError(f"genesis config names unknown pallets: {sorted(unknown)}")
        ctx = DispatchContext(self, Overlay(EmptyState()), GENESIS_ENVIRONMENT, ZERO_HASH)
        for pallet in self.pallets.values():
            pallet.build_genesis(ctx, config.get(pallet.NAME, {}))
        return ctx.state.changes

    def export_genesis(self, state: StateReader) -> dict[str, dict[str, Any]]:
        return {pallet.NAME: pallet.export_genesis(state) for pallet in self.pallets.values()}

    def try_state(self, state: StateReader) -> list[str]:
        return [f"{pallet.NAME}: {problem}" for pallet in self.pallets.values() for problem in pallet.try_state(state)]

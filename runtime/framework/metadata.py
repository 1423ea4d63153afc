"""The runtime's metadata: a JSON document that describes the runtime from its registry, and a
codec that encodes and decodes calls, events and storage from that document alone.

Substrate clients (polkadot.js, py-substrate-interface) build every transaction from the
metadata a node serves, so they keep working when the runtime changes. Ours is the same idea in
JSON (``docs/metadata.md`` has the layout): every pallet with its index, calls, events, errors,
storage items (with how their keys are derived) and constants; the framework's own errors; the
runtime version; and a table of the record types the rest names. The generator reads only the
registry's generic shape (``Runtime.pallets`` and each pallet's ``CALLS``, ``EVENTS``,
``ERRORS``, ``STORAGE``, ``CONSTANTS``), so a pallet needs nothing to appear in it.

The document is canonical JSON text (sorted keys, no spaces, ASCII), so two constructions of one
runtime, in any process, give the same bytes, and its blake2b-256 names it.

:class:`MetadataCodec` is the client's side: it knows no record class and no pallet, only the
document, and its call bytes are exactly the runtime's (``Runtime.encode_call``). Values are
plain Python: integers, booleans, ``bytes``, strings, lists (decoded as tuples), ``None`` for an
empty option, a dict of field values for a record, and ``{variant name: record}`` for a union.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple, Protocol

from runtime.errors import ArithmeticOverflow, EncodingError, FlockError
from runtime.framework.pallet import BadOrigin, CallDef, Pallet
from runtime.framework.runtime import (
    ARITHMETIC_ERROR_CODE,
    FRAMEWORK_ERROR_INDEX,
    MAX_EVENTS_PER_BLOCK,
    MAX_EVENTS_SIZE,
    Runtime,
)
from runtime.framework.storage import StorageMap, StorageValue
from runtime.primitives.codec import (
    DEFAULT_MAX_ENCODED_SIZE,
    Bool,
    CodecType,
    FixedBytes,
    ListOf,
    OptionOf,
    Primitive,
    Record,
    SInt,
    Text,
    TypeDescription,
    UInt,
    VarBytes,
    decode_value,
    encode_value,
)
from runtime.primitives.hashing import blake2b_256

# The layout of the document itself; a client refuses a layout it does not know.
METADATA_VERSION = 1

# An event record's fields before the event's own (``Runtime.encode_event``).
EVENT_HEADER = (("phase", UInt(8)), ("extrinsicIndex", UInt(32)), ("palletIndex", UInt(8)), ("eventIndex", UInt(8)))

# How a map's key follows its prefix: fixed-size byte keys as they are, others canonically encoded.
KEY_ENCODING_RAW = "raw"
KEY_ENCODING_CANONICAL = "canonical"


class MetadataError(FlockError):
    """A runtime the metadata cannot describe, or a document that is not metadata of a known layout."""


class MetadataCodecError(EncodingError):
    """A name, value or encoding the metadata does not accept; ``field`` says where, as a dotted
    path (``treasury.spend.amount``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field, self.problem = field, problem

    def within(self, outer: str) -> MetadataCodecError:
        """The same problem, its field named from ``outer`` down."""
        return MetadataCodecError(f"{outer}.{self.field}" if self.field else outer, self.problem)


# --- generation ---------------------------------------------------------------------------


class RuntimeVersionLike(Protocol):
    """What the metadata states of the runtime's version (``runtime.construct.RuntimeVersion``)."""

    @property
    def spec_name(self) -> str: ...

    @property
    def spec_version(self) -> int: ...

    @property
    def transaction_version(self) -> int: ...


def build_metadata(runtime: Runtime, version: RuntimeVersionLike) -> dict[str, Any]:
    """The metadata document of ``runtime`` (JSON values only)."""
    types = TypeTable()
    pallets = [describe_pallet(index, pallet, types) for index, pallet in sorted(runtime.pallets.items())]
    return {
        "metadataVersion": METADATA_VERSION,
        "runtimeVersion": {
            "specName": version.spec_name,
            "specVersion": version.spec_version,
            "transactionVersion": version.transaction_version,
        },
        "pallets": pallets,
        "frameworkErrors": describe_framework_errors(),
        "events": {
            "header": [{"name": name, "type": kind.describe(types.name_record)} for name, kind in EVENT_HEADER],
            "maxPerBlock": MAX_EVENTS_PER_BLOCK,
            "maxSize": MAX_EVENTS_SIZE,
        },
        "types": types.entries,
    }


def encode_metadata_json(document: Mapping[str, Any]) -> str:
    """The document's canonical text: sorted keys, no spaces, ASCII only."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def compute_metadata_hash(text: str) -> bytes:
    """blake2b-256 of the canonical text (untagged: it is compared, never signed)."""
    return blake2b_256(text.encode("ascii"))


class TypeTable:
    """The record types the document names, each written once: ``{name: {"fields": [...]}}``."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self._classes: dict[str, type[Record]] = {}

    def name_record(self, cls: type[Record]) -> str:
        """``cls``'s name in the table, entering it (and the records its fields name) on first use."""
        name = compute_type_name(cls)
        known = self._classes.get(name)
        if known is None:
            self._classes[name] = cls  # before its fields, so a record may name itself
            self.entries[name] = {"fields": cls.record_codec().describe_fields(self.name_record)}
        elif known is not cls:
            raise MetadataError(f"two record types are both named {name}")
        return name


def compute_type_name(cls: type[Record]) -> str:
    """The module path below ``runtime`` and the class's qualified name: unique, and stable
    while the class stays where it is (``pallets.governance.Proposal``, ``block.Header``)."""
    return f"{cls.__module__.removeprefix('runtime.')}.{cls.__qualname__}"


def describe_pallet(index: int, pallet: Pallet, types: TypeTable) -> dict[str, Any]:
    return {
        "index": index,
        "name": pallet.NAME,
        "calls": [describe_call(definition, types) for _, definition in sorted(pallet.CALLS.items())],
        "events": [describe_event(position, event, types) for position, event in enumerate(pallet.EVENTS)],
        "errors": [describe_error(error, error.code) for error in sorted(pallet.ERRORS, key=lambda error: error.code)],
        "storage": [describe_storage_item(item, types) for item in pallet.STORAGE],
        "constants": dict(pallet.CONSTANTS),
    }


def describe_call(definition: CallDef, types: TypeTable) -> dict[str, Any]:
    """A call; its doc is its handler's docstring. ``governable``: governance may propose it."""
    return {
        "index": definition.index,
        "name": definition.name,
        "args": definition.args.record_codec().describe_fields(types.name_record),
        "origin": definition.origin,
        "governable": definition.governable,
        "weight": definition.weight,
        "doc": inspect.cleandoc(definition.handler.__doc__ or ""),
    }


def describe_event(index: int, event: type[Record], types: TypeTable) -> dict[str, Any]:
    return {"index": index, "name": event.__name__, "fields": event.record_codec().describe_fields(types.name_record)}


def describe_error(error: type[Exception], code: int) -> dict[str, Any]:
    """An error with its message: its docstring's first line, as ``DispatchError`` words it."""
    doc = (error.__doc__ or error.__name__).strip().splitlines()[0]
    return {"code": code, "name": error.__name__, "doc": doc}


def describe_framework_errors() -> dict[str, Any]:
    """The errors no pallet declares, reported under the framework's pallet index."""
    return {
        "palletIndex": FRAMEWORK_ERROR_INDEX,
        "errors": [
            describe_error(BadOrigin, BadOrigin.code),
            describe_error(ArithmeticOverflow, ARITHMETIC_ERROR_CODE),
        ],
    }


def describe_storage_item(item: Any, types: TypeTable) -> dict[str, Any]:
    """A storage item with its key (a value) or its prefix and key encoding (a map), and its
    default as canonical bytes (null: an absent entry has no value)."""
    default = None if item.default is None else "0x" + encode_value(item.value_type, item.default).hex()
    described = {"name": item.name, "valueType": item.value_type.describe(types.name_record), "default": default}
    if isinstance(item, StorageMap):
        is_raw = isinstance(item.key_type, FixedBytes)
        return described | {
            "kind": "map",
            "prefix": "0x" + item.prefix.hex(),
            "keyType": item.key_type.describe(types.name_record),
            "keyEncoding": KEY_ENCODING_RAW if is_raw else KEY_ENCODING_CANONICAL,
        }
    if isinstance(item, StorageValue):
        return described | {"kind": "value", "key": "0x" + item.key.hex()}
    raise MetadataError(
        f"{item.pallet}.{item.name}: the metadata knows storage values and maps, not {type(item).__name__}"
    )


# --- the client's codec -------------------------------------------------------------------


class DecodedCall(NamedTuple):
    pallet: str
    call: str
    args: dict[str, Any]


class DecodedEvent(NamedTuple):
    phase: int
    extrinsic_index: int
    pallet: str
    name: str
    fields: dict[str, Any]


class StorageEntry(NamedTuple):
    """One storage item as the codec uses it."""

    key: bytes  # a value's key, or a map's prefix
    key_type: CodecType | None  # None: a value
    is_raw_key: bool
    value_type: CodecType
    default: bytes | None


class MetadataRecord(CodecType):
    """A record as the document describes it: a dict of field values <-> an array of fields."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fields: tuple[tuple[str, CodecType], ...] = ()

    def to_primitive(self, value: Any) -> Primitive:
        names = [name for name, _ in self.fields]
        if type(value) is not dict:
            raise MetadataCodecError("", f"expected an object with the fields {names}, got {type(value).__name__}")
        unknown = [key for key in value if key not in names]
        if unknown:
            raise MetadataCodecError(str(unknown[0]), f"unknown field (the fields are {names})")
        missing = [name for name in names if name not in value]
        if missing:
            raise MetadataCodecError(missing[0], f"missing (the fields are {names})")
        return [convert_field(name, kind.to_primitive, value[name]) for name, kind in self.fields]

    def from_primitive(self, primitive: Primitive) -> Any:
        if type(primitive) is not list or len(primitive) != len(self.fields):
            raise MetadataCodecError("", f"{self.name} needs an array of {len(self.fields)} fields")
        return {
            name: convert_field(name, kind.from_primitive, item) for (name, kind), item in zip(self.fields, primitive)
        }


class MetadataUnion(CodecType):
    """A tagged union of records: ``{variant name: record}`` <-> ``[tag, *fields]``."""

    def __init__(self, variants: list[tuple[int, str, MetadataRecord]]) -> None:
        self.by_name = {name: (tag, record) for tag, name, record in variants}
        self.by_tag = {tag: (name, record) for tag, name, record in variants}

    def to_primitive(self, value: Any) -> Primitive:
        if type(value) is not dict or len(value) != 1 or next(iter(value)) not in self.by_name:
            raise MetadataCodecError("", f"expected one of {sorted(self.by_name)} as {{name: fields}}")
        [(name, fields)] = value.items()
        tag, record = self.by_name[name]
        return [tag, *convert_field(name, record.to_primitive, fields)]

    def from_primitive(self, primitive: Primitive) -> Any:
        if (
            type(primitive) is not list
            or not primitive
            or type(primitive[0]) is not int
            or primitive[0] not in self.by_tag
        ):
            raise MetadataCodecError("", "expected [tag, fields...] with a known tag")
        name, record = self.by_tag[primitive[0]]
        return {name: convert_field(name, record.from_primitive, primitive[1:])}


class MetadataCallCodec(CodecType):
    """Calls as ``[pallet index, call index, *argument fields]``, from the document's tables."""

    def __init__(self, codec: MetadataCodec) -> None:
        self.codec = codec

    def to_primitive(self, value: DecodedCall) -> Primitive:
        pallet_index, call_index, arguments = self.codec.get_call_codec(value.pallet, value.call)
        try:
            return [pallet_index, call_index, *arguments.to_primitive(value.args)]
        except MetadataCodecError as exc:
            raise exc.within(f"{value.pallet}.{value.call}") from None

    def from_primitive(self, primitive: Primitive) -> Any:
        if (
            type(primitive) is not list
            or len(primitive) < 2
            or type(primitive[0]) is not int
            or type(primitive[1]) is not int
            or (primitive[0], primitive[1]) not in self.codec.calls
        ):
            raise MetadataCodecError("", "not [pallet index, call index, arguments...] of a known call")
        pallet, call, arguments = self.codec.calls[primitive[0], primitive[1]]
        return DecodedCall(pallet, call, convert_field(f"{pallet}.{call}", arguments.from_primitive, primitive[2:]))


class MetadataEventCodec(CodecType):
    """Event records as ``[phase, extrinsic index, pallet index, event index, *fields]``."""

    def __init__(self, codec: MetadataCodec, header: list[tuple[str, CodecType]]) -> None:
        self.codec, self.header = codec, header

    def from_primitive(self, primitive: Primitive) -> Any:
        if type(primitive) is not list or len(primitive) < len(self.header):
            raise MetadataCodecError("", "not [phase, extrinsic index, pallet index, event index, fields...]")
        phase, extrinsic_index, pallet_index, event_index = (
            convert_field(name, kind.from_primitive, item) for (name, kind), item in zip(self.header, primitive)
        )
        if (pallet_index, event_index) not in self.codec.events:
            raise MetadataCodecError("", f"no event {event_index} in pallet {pallet_index}")
        pallet, name, fields = self.codec.events[pallet_index, event_index]
        decoded = convert_field(f"{pallet}.{name}", fields.from_primitive, primitive[len(self.header) :])
        return DecodedEvent(phase, extrinsic_index, pallet, name, decoded)


def decode_strictly(codec_type: CodecType, data: bytes, what: str, max_size: int = DEFAULT_MAX_ENCODED_SIZE) -> Any:
    """Decode canonical bytes only; an error that names no field is named ``what``."""
    try:
        return decode_value(codec_type, data, max_size=max_size)
    except MetadataCodecError as exc:
        raise (exc if exc.field else MetadataCodecError(what, exc.problem)) from None
    except EncodingError as exc:
        raise MetadataCodecError(what, str(exc)) from None


def convert_field(name: str, convert: Callable[[Any], Any], value: Any) -> Any:
    """``convert(value)``, any error re-raised as a :class:`MetadataCodecError` under ``name``."""
    try:
        return convert(value)
    except MetadataCodecError as exc:
        raise exc.within(name) from None
    except EncodingError as exc:
        raise MetadataCodecError(name, str(exc)) from None


class MetadataCodec:
    """Encodes calls, decodes calls, events and storage values, and derives storage keys, from a
    metadata document alone (as a node serves it in ``state_getMetadata``)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if not isinstance(document, Mapping) or document.get("metadataVersion") != METADATA_VERSION:
            raise MetadataError(f"not a metadata document of version {METADATA_VERSION}")
        self.document = document
        self.hash = compute_metadata_hash(encode_metadata_json(document))
        self.records: dict[str, MetadataRecord] = {}
        self.calls: dict[tuple[int, int], tuple[str, str, MetadataRecord]] = {}
        self.call_indices: dict[tuple[str, str], tuple[int, int]] = {}
        self.events: dict[tuple[int, int], tuple[str, str, MetadataRecord]] = {}
        self.storage: dict[tuple[str, str], StorageEntry] = {}
        self.call_codec = MetadataCallCodec(self)
        try:
            self._read(document)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MetadataError(f"the metadata document is malformed ({type(exc).__name__}: {exc})") from None

    # --- reading the document ---------------------------------------------------------------

    def _read(self, document: Mapping[str, Any]) -> None:
        for pallet in document["pallets"]:
            index, name = pallet["index"], pallet["name"]
            for call in pallet["calls"]:
                self.calls[index, call["index"]] = (
                    name,
                    call["name"],
                    self.build_record(f"{name}.{call['name']}", call["args"]),
                )
                self.call_indices[name, call["name"]] = (index, call["index"])
            for event in pallet["events"]:
                self.events[index, event["index"]] = (
                    name,
                    event["name"],
                    self.build_record(event["name"], event["fields"]),
                )
            for item in pallet["storage"]:
                self.storage[name, item["name"]] = self.build_storage_entry(item)
        events = document["events"]
        header = [(field["name"], self.resolve(field["type"])) for field in events["header"]]
        self.event_codec = MetadataEventCodec(self, header)
        self.events_codec = ListOf(self.event_codec, events["maxPerBlock"])
        self.max_events_size: int = events["maxSize"]

    def build_record(self, name: str, fields: list[dict[str, Any]]) -> MetadataRecord:
        record = MetadataRecord(name)
        record.fields = tuple((field["name"], self.resolve(field["type"])) for field in fields)
        return record

    def build_storage_entry(self, item: Mapping[str, Any]) -> StorageEntry:
        is_map = item["kind"] == "map"
        return StorageEntry(
            key=bytes.fromhex(item["prefix" if is_map else "key"][2:]),
            key_type=self.resolve(item["keyType"]) if is_map else None,
            is_raw_key=is_map and item["keyEncoding"] == KEY_ENCODING_RAW,
            value_type=self.resolve(item["valueType"]),
            default=None if item["default"] is None else bytes.fromhex(item["default"][2:]),
        )

    def resolve(self, description: TypeDescription) -> CodecType:
        """The codec type a description names (a record by its name in the type table)."""
        if isinstance(description, str):
            return self.resolve_record(description)
        kind = description["kind"]
        if kind == "uint":
            return UInt(description["bits"])
        if kind == "int":
            return SInt(description["bits"])
        if kind == "bool":
            return Bool()
        if kind == "bytes":
            return FixedBytes(description["size"])
        if kind == "varBytes":
            return VarBytes(description["maxSize"])
        if kind == "text":
            return Text(description["maxSize"])
        if kind == "list":
            return ListOf(self.resolve(description["item"]), description["maxLen"])
        if kind == "option":
            return OptionOf(self.resolve(description["item"]))
        if kind == "oneOf":
            variants = description["variants"]
            return MetadataUnion([(item["tag"], item["name"], self.resolve_record(item["type"])) for item in variants])
        raise MetadataError(f"unknown type kind {kind!r}")

    def resolve_record(self, name: str) -> MetadataRecord:
        record = self.records.get(name)
        if record is None:
            record = self.records[name] = MetadataRecord(name)  # before its fields: a record may name itself
            record.fields = self.build_record(name, self.document["types"][name]["fields"]).fields
        return record

    # --- lookups ----------------------------------------------------------------------------

    def get_pallet(self, pallet: str) -> Mapping[str, Any]:
        """The pallet's metadata entry."""
        for entry in self.document["pallets"]:
            if entry["name"] == pallet:
                return entry
        names = [entry["name"] for entry in self.document["pallets"]]
        raise MetadataCodecError(pallet, f"no such pallet (the pallets are {names})")

    def get_constant(self, pallet: str, name: str) -> int:
        """A pallet's published constant (a bound, or the code of a field's value)."""
        constants = self.get_pallet(pallet)["constants"]
        if name not in constants:
            raise MetadataCodecError(f"{pallet}.{name}", f"no such constant (the constants are {sorted(constants)})")
        return constants[name]  # type: ignore[no-any-return]

    def get_call(self, pallet: str, call: str) -> Mapping[str, Any]:
        """The call's metadata entry: index, name, args (names and types), origin, weight, doc."""
        calls = self.get_pallet(pallet)["calls"]
        for entry in calls:
            if entry["name"] == call:
                return entry
        raise MetadataCodecError(f"{pallet}.{call}", f"no such call (the calls are {[c['name'] for c in calls]})")

    def get_call_codec(self, pallet: str, call: str) -> tuple[int, int, MetadataRecord]:
        """The call's pallet index, call index and argument record."""
        if type(pallet) is not str or type(call) is not str:
            raise MetadataCodecError("", f"a call is named by two strings, not {pallet!r} and {call!r}")
        if (pallet, call) not in self.call_indices:
            self.get_call(pallet, call)  # raises, naming what exists
        pallet_index, call_index = self.call_indices[pallet, call]
        return pallet_index, call_index, self.calls[pallet_index, call_index][2]

    def get_type(self, name: str) -> Mapping[str, Any]:
        """A record type's entry in the type table (its fields)."""
        if name not in self.document["types"]:
            raise MetadataCodecError(name, "no such type")
        return self.document["types"][name]

    def get_storage_entry(self, pallet: str, item: str) -> StorageEntry:
        entry = self.storage.get((pallet, item)) if type(pallet) is str and type(item) is str else None
        if entry is None:
            items = [entry["name"] for entry in self.get_pallet(pallet)["storage"]]
            raise MetadataCodecError(f"{pallet}.{item}", f"no such storage item (the items are {items})")
        return entry

    # --- calls and events -------------------------------------------------------------------

    def encode_call(self, pallet: str, call: str, args: Mapping[str, Any]) -> bytes:
        """The canonical call bytes, as ``Runtime.encode_call`` makes them for the same call."""
        return encode_value(
            self.call_codec, DecodedCall(pallet, call, dict(args) if isinstance(args, Mapping) else args)
        )

    def decode_call(self, data: bytes) -> DecodedCall:
        return decode_strictly(self.call_codec, data, "call")

    def decode_event(self, data: bytes) -> DecodedEvent:
        """One event record (an item of a block's event list)."""
        return decode_strictly(self.event_codec, data, "event")

    def decode_events(self, data: bytes) -> tuple[DecodedEvent, ...]:
        """A block's event list: the bytes the ``system.Events`` value holds."""
        return decode_strictly(self.events_codec, data, "events", self.max_events_size)

    # --- storage ----------------------------------------------------------------------------

    def get_storage_key(self, pallet: str, item: str, key: Any = None) -> bytes:
        """The state key of a storage value, or of a map's entry under ``key``."""
        entry = self.get_storage_entry(pallet, item)
        if entry.key_type is None:
            if key is not None:
                raise MetadataCodecError(f"{pallet}.{item}", "a storage value takes no key")
            return entry.key
        if key is None:
            raise MetadataCodecError(f"{pallet}.{item}", "a storage map needs a key")
        encode = entry.key_type.to_primitive if entry.is_raw_key else partial(encode_value, entry.key_type)
        return entry.key + convert_field(f"{pallet}.{item}.key", encode, key)

    def decode_storage_key(self, pallet: str, item: str, storage_key: bytes) -> Any:
        """The map key an entry's state key holds."""
        entry = self.get_storage_entry(pallet, item)
        if entry.key_type is None or type(storage_key) is not bytes or not storage_key.startswith(entry.key):
            raise MetadataCodecError(f"{pallet}.{item}", f"{storage_key!r} is not a key of this map")
        suffix, key_type = storage_key[len(entry.key) :], entry.key_type
        decode = key_type.from_primitive if entry.is_raw_key else partial(decode_value, key_type)
        return convert_field(f"{pallet}.{item}.key", decode, suffix)

    def decode_storage_value(self, pallet: str, item: str, raw: bytes | None) -> Any:
        """A stored value; for an absent one (None) the item's default, or None if it has none."""
        entry = self.get_storage_entry(pallet, item)
        if raw is None:
            raw = entry.default
        return None if raw is None else convert_field(f"{pallet}.{item}", partial(decode_value, entry.value_type), raw)


def to_json_value(value: Any) -> Any:
    """A decoded value as JSON: bytes as ``0x`` hex, tuples as lists."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {name: to_json_value(item) for name, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [to_json_value(item) for item in value]
    return value

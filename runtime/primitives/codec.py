"""Canonical encoding: typed records <-> msgpack arrays.

Every value on the consensus path has exactly one encoding, so that every node hashes and
signs the same bytes. A record is a frozen dataclass deriving from :class:`Record`; its fields
are encoded, in declaration order, as one msgpack array. Field types are declared with
``typing.Annotated`` and a codec type from this module::

    @dataclass(frozen=True)
    class Transfer(Record):
        dest: AccountId
        amount: Balance

Decoding is strict: it rejects maps, floats, extension types, wrong arity, integers outside
the field's range, wrong byte lengths, trailing bytes and input above a size limit. After a
successful decode the primitive value is packed again and compared with the input, so
non-minimal msgpack forms (a small integer in a wide format, say) are rejected too: for every
accepted ``b``, ``encode(decode(T, b)) == b``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Annotated, Any, ClassVar, TypeVar

import msgpack

from runtime.errors import EncodingError

# Largest encoding ``decode`` accepts unless the caller asks for a different limit.
DEFAULT_MAX_ENCODED_SIZE = 4 * 1024 * 1024

Primitive = Any
ToPrimitive = Callable[[Any], Primitive]
FromPrimitive = Callable[[Primitive], Any]
# A type as the runtime's metadata writes it (``docs/metadata.md``): a JSON object naming its
# kind and bounds, or the name of a record type in the metadata's type table.
TypeDescription = str | dict[str, Any]
# Gives a record type its name in the metadata's type table (and enters it there).
NameRecord = Callable[[type["Record"]], str]

R = TypeVar("R", bound="Record")


class CodecType:
    """A field type: validates a Python value and maps it to and from a msgpack primitive."""

    def to_primitive(self, value: Any) -> Primitive:
        raise NotImplementedError

    def from_primitive(self, primitive: Primitive) -> Any:
        raise NotImplementedError

    def invalid_source(self, name: str) -> str | None:
        """For a type whose valid values are their own primitives (both methods return them
        unchanged): Python source of a test, true exactly when the variable ``name`` holds an
        invalid value. Compiled record codecs inline it (see ``_compile_record_codec``)."""
        return None

    def describe(self, name_record: NameRecord) -> TypeDescription:
        """This type for the runtime's metadata, from which a client encodes and decodes it
        without this module (``runtime/framework/metadata.py``)."""
        raise NotImplementedError


class UInt(CodecType):
    """Unsigned integer of ``bits`` bits (at most 64: msgpack's widest integer)."""

    def __init__(self, bits: int) -> None:
        if not 0 < bits <= 64:
            raise ValueError("msgpack integers hold at most 64 bits")
        self.bits = bits
        self.limit = 1 << bits

    def to_primitive(self, value: Any) -> Primitive:
        if type(value) is not int or not 0 <= value < self.limit:
            raise EncodingError(f"expected u{self.bits}, got {value!r}")
        return value

    from_primitive = to_primitive

    def invalid_source(self, name: str) -> str:
        return f"type({name}) is not int or not 0 <= {name} < {self.limit}"

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "uint", "bits": self.bits}


class SInt(CodecType):
    """Signed two's-complement-range integer of ``bits`` bits (at most 64)."""

    def __init__(self, bits: int) -> None:
        if not 0 < bits <= 64:
            raise ValueError("msgpack integers hold at most 64 bits")
        self.bits = bits
        self.low = -(1 << (bits - 1))
        self.high = (1 << (bits - 1)) - 1

    def to_primitive(self, value: Any) -> Primitive:
        if type(value) is not int or not self.low <= value <= self.high:
            raise EncodingError(f"expected i{self.bits}, got {value!r}")
        return value

    from_primitive = to_primitive

    def invalid_source(self, name: str) -> str:
        return f"type({name}) is not int or not {self.low} <= {name} <= {self.high}"

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "int", "bits": self.bits}


class Bool(CodecType):
    def to_primitive(self, value: Any) -> Primitive:
        if type(value) is not bool:
            raise EncodingError(f"expected bool, got {value!r}")
        return value

    from_primitive = to_primitive

    def invalid_source(self, name: str) -> str:
        return f"type({name}) is not bool"

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "bool"}


class FixedBytes(CodecType):
    """Exactly ``size`` bytes (hashes, keys, signatures)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def to_primitive(self, value: Any) -> Primitive:
        if type(value) is not bytes or len(value) != self.size:
            raise EncodingError(f"expected {self.size} bytes, got {_describe(value)}")
        return value

    from_primitive = to_primitive

    def invalid_source(self, name: str) -> str:
        return f"type({name}) is not bytes or len({name}) != {self.size}"

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "bytes", "size": self.size}


class VarBytes(CodecType):
    """At most ``max_size`` bytes."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    def to_primitive(self, value: Any) -> Primitive:
        if type(value) is not bytes or len(value) > self.max_size:
            raise EncodingError(f"expected at most {self.max_size} bytes, got {_describe(value)}")
        return value

    from_primitive = to_primitive

    def invalid_source(self, name: str) -> str:
        return f"type({name}) is not bytes or len({name}) > {self.max_size}"

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "varBytes", "maxSize": self.max_size}


class Text(CodecType):
    """A UTF-8 string of at most ``max_size`` encoded bytes."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    def to_primitive(self, value: Any) -> Primitive:
        if type(value) is not str or len(value.encode("utf-8")) > self.max_size:
            raise EncodingError(f"expected text of at most {self.max_size} bytes, got {_describe(value)}")
        return value

    from_primitive = to_primitive

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "text", "maxSize": self.max_size}


class ListOf(CodecType):
    """A sequence of at most ``max_len`` items of one type; decodes to a tuple."""

    def __init__(self, item: Any, max_len: int) -> None:
        self.item = codec_type_of(item)
        self.max_len = max_len

    def to_primitive(self, value: Any) -> Primitive:
        if not isinstance(value, (tuple, list)) or len(value) > self.max_len:
            raise EncodingError(f"expected a sequence of at most {self.max_len} items, got {_describe(value)}")
        item = self.item.to_primitive
        return [item(element) for element in value]

    def from_primitive(self, primitive: Primitive) -> Any:
        if type(primitive) is not list or len(primitive) > self.max_len:
            raise EncodingError(f"expected an array of at most {self.max_len} items, got {_describe(primitive)}")
        item = self.item.from_primitive
        return tuple(item(element) for element in primitive)

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "list", "item": self.item.describe(name_record), "maxLen": self.max_len}


class OptionOf(CodecType):
    """``None`` (msgpack nil) or a value of one type."""

    def __init__(self, item: Any) -> None:
        self.item = codec_type_of(item)

    def to_primitive(self, value: Any) -> Primitive:
        return None if value is None else self.item.to_primitive(value)

    def from_primitive(self, primitive: Primitive) -> Any:
        return None if primitive is None else self.item.from_primitive(primitive)

    def describe(self, name_record: NameRecord) -> TypeDescription:
        return {"kind": "option", "item": self.item.describe(name_record)}


class OneOf(CodecType):
    """A tagged union of record types, encoded as ``[tag, field, field, ...]``.

    Tags are explicit and stable: reordering the Python declaration never changes an encoding.
    """

    def __init__(self, variants: dict[int, type[Record]]) -> None:
        self.by_tag = dict(variants)
        self.by_class = {cls: tag for tag, cls in variants.items()}
        if len(self.by_class) != len(self.by_tag):
            raise ValueError("a record type appears under two tags")

    def to_primitive(self, value: Any) -> Primitive:
        tag = self.by_class.get(type(value))
        if tag is None:
            raise EncodingError(f"{type(value).__name__} is not a variant of this union")
        return [tag, *type(value).record_codec().to_primitive(value)]

    def from_primitive(self, primitive: Primitive) -> Any:
        if type(primitive) is not list or not primitive:
            raise EncodingError(f"expected a tagged array, got {_describe(primitive)}")
        cls = self.by_tag.get(primitive[0]) if type(primitive[0]) is int else None
        if cls is None:
            raise EncodingError(f"unknown variant tag {primitive[0]!r}")
        return cls.record_codec().from_primitive(primitive[1:])

    def describe(self, name_record: NameRecord) -> TypeDescription:
        """Each variant with its tag, its class name (what a client calls it) and its record."""
        variants = sorted(self.by_tag.items())
        return {
            "kind": "oneOf",
            "variants": [{"tag": tag, "name": cls.__name__, "type": name_record(cls)} for tag, cls in variants],
        }


class RecordCodec(CodecType):
    """Encodes a record's fields, in declaration order, as an array of fixed arity."""

    def __init__(self, cls: type[Record]) -> None:
        hints = typing.get_type_hints(cls, include_extras=True)
        self.cls = cls
        self.names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
        self.types = tuple(codec_type_of(hints[name]) for name in self.names)
        # Records are encoded on every state write and event, and decoded on every extrinsic:
        # both directions are compiled per record type (see _compile_record_codec).
        self.to_primitive, self.from_primitive = _compile_record_codec(self)  # type: ignore[method-assign]

    def describe(self, name_record: NameRecord) -> TypeDescription:
        """The record's name: its fields are written once, in the metadata's type table."""
        return name_record(self.cls)

    def describe_fields(self, name_record: NameRecord) -> list[dict[str, TypeDescription]]:
        """The fields in encoding order, each ``{"name", "type"}``."""
        return [{"name": name, "type": kind.describe(name_record)} for name, kind in zip(self.names, self.types)]


def _compile_record_codec(codec: RecordCodec) -> tuple[ToPrimitive, FromPrimitive]:
    """``to_primitive`` and ``from_primitive`` for one record type, as straight-line code.

    The generic loop (one call per field through a bound method, a list comprehension, a
    zip) costs several times what the checks themselves do. Here a field whose type has an
    :meth:`~CodecType.invalid_source` is checked inline, and only a value failing that check
    goes through its type's method, which raises the usual error; other fields (nested
    records, lists, unions) go through their type's method. Fields are still handled in
    declaration order, so the results are exactly the generic ones: same values, same errors.
    """
    cls, count = codec.cls, len(codec.names)
    namespace: dict[str, Any] = {"cls": cls, "EncodingError": EncodingError, "_describe": _describe}
    variables = [f"f{index}" for index in range(count)]
    encode_lines, decode_lines = [], []
    for index, (variable, field_type) in enumerate(zip(variables, codec.types)):
        namespace[f"encode{index}"], namespace[f"decode{index}"] = field_type.to_primitive, field_type.from_primitive
        invalid = field_type.invalid_source(variable)
        guard = "" if invalid is None else f"if {invalid}:\n        "
        encode_lines.append(f"    {guard}{variable} = encode{index}({variable})\n")
        decode_lines.append(f"    {guard}{variable} = decode{index}({variable})\n")
    unpack_fields = "".join(f"    {variable} = value.{name}\n" for name, variable in zip(codec.names, variables))
    unpack_list = f"    {', '.join(variables)}, = primitive\n" if count else ""
    source = (
        "def to_primitive(value):\n"
        "    if type(value) is not cls:\n"
        '        raise EncodingError(f"expected {cls.__name__}, got {_describe(value)}")\n'
        + unpack_fields
        + "".join(encode_lines)
        + f"    return [{', '.join(variables)}]\n"
        "def from_primitive(primitive):\n"
        f"    if type(primitive) is not list or len(primitive) != {count}:\n"
        "        raise EncodingError(\n"
        f'            f"{{cls.__name__}} needs an array of {count} fields, got {{_describe(primitive)}}"\n'
        "        )\n" + unpack_list + "".join(decode_lines) + f"    return cls({', '.join(variables)})\n"
    )
    exec(compile(source, f"<record codec of {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    return namespace["to_primitive"], namespace["from_primitive"]


class Record:
    """Base of every encodable record: a frozen dataclass whose fields carry codec types,
    declared with :func:`record`."""

    _record_codec: ClassVar[RecordCodec | None] = None

    @classmethod
    def record_codec(cls) -> RecordCodec:
        # Built on first use, once per class, so records may refer to classes defined later.
        codec = cls.__dict__.get("_record_codec")
        if codec is None:
            codec = RecordCodec(cls)
            cls._record_codec = codec
        return codec

    def encode(self) -> bytes:
        """Canonical bytes of this record (its codec, resolved without ``codec_type_of``)."""
        return _pack(self.record_codec().to_primitive(self))

    @classmethod
    def decode(cls: type[R], data: bytes, *, max_size: int = DEFAULT_MAX_ENCODED_SIZE) -> R:
        return decode(cls, data, max_size=max_size)


def record(cls: type[R]) -> type[R]:
    """Declare a record type: a frozen dataclass (``@record`` over ``class X(Record)``).

    Equality, hashing, ``repr``, ``replace`` and immutability are the dataclass's own; only
    ``__init__`` is generated here. The dataclass one sets each field through
    ``object.__setattr__``, which makes building a record cost several times its fields;
    blocks build several records per transaction (the extrinsic, accounts, events), so this
    one fills the instance dictionary directly, then runs ``__post_init__`` if there is one.
    """
    cls = dataclass(frozen=True)(cls)
    names = [field.name for field in fields(cls)]  # type: ignore[arg-type]
    if any(name.startswith("__") for name in names):
        raise TypeError(f"{cls.__name__}: record field names may not start with '__'")
    source = (
        f"def __init__(__self, {', '.join(names)}):\n"
        "    __fields = __self.__dict__\n"
        + "".join(f"    __fields[{name!r}] = {name}\n" for name in names)
        + ("    __self.__post_init__()\n" if hasattr(cls, "__post_init__") else "")
        + ("    pass\n" if not names else "")
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<record init of {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


def codec_type_of(annotation: Any) -> CodecType:
    """The codec type of a field annotation: ``Annotated[..., CodecType]`` or a Record class."""
    if isinstance(annotation, CodecType):
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return annotation.record_codec()
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, CodecType):
            return meta
    raise TypeError(f"{annotation!r} carries no codec type")


def encode_value(codec_type: Any, value: Any) -> bytes:
    """Canonical bytes of ``value`` under ``codec_type`` (a CodecType, annotation or Record class)."""
    return _pack(codec_type_of(codec_type).to_primitive(value))


def value_encoder(codec_type: Any) -> Callable[[Any], bytes]:
    """:func:`encode_value` for one type, resolved once (for storage items: every write)."""
    to_primitive = codec_type_of(codec_type).to_primitive

    def encode(value: Any) -> bytes:
        return _pack(to_primitive(value))

    return encode


def decode_value(codec_type: Any, data: bytes, *, max_size: int = DEFAULT_MAX_ENCODED_SIZE) -> Any:
    """Strictly decode ``data`` as a value of ``codec_type``; raises :class:`EncodingError`."""
    if type(data) is not bytes:
        raise EncodingError(f"expected bytes to decode, got {type(data).__name__}")
    if len(data) > max_size:
        raise EncodingError(f"encoding of {len(data)} bytes exceeds the limit of {max_size}")
    primitive = _unpack(data)
    value = codec_type_of(codec_type).from_primitive(primitive)
    if _pack(primitive) != data:
        raise EncodingError("non-canonical encoding (a value is not in its shortest msgpack form)")
    return value


def encode_list_of_encoded(items: list[bytes], max_len: int) -> bytes:
    """The canonical bytes of a list whose items are already encoded (msgpack composes: an
    array is its header, then its items' bytes), for lists built up item by item."""
    if len(items) > max_len:
        raise EncodingError(f"expected a sequence of at most {max_len} items, got {len(items)}")
    return _PACKER.pack_array_header(len(items)) + b"".join(items)


def encode(record: Record) -> bytes:
    """Canonical bytes of a record (:meth:`Record.encode`)."""
    return record.encode()


def decode(cls: type[R], data: bytes, *, max_size: int = DEFAULT_MAX_ENCODED_SIZE) -> R:
    """Strictly decode a record of type ``cls``; raises :class:`EncodingError`."""
    return typing.cast(R, decode_value(cls, data, max_size=max_size))


# One packer for every encoding: ``msgpack.packb`` builds a new Packer per call, which costs
# more than packing a small record. ``pack`` runs in C without releasing the GIL and resets
# the packer after each call, so sharing it is safe.
_PACKER = msgpack.Packer(use_bin_type=True)
_pack = _PACKER.pack
# The canonical bytes of a value already in primitive form (what ``to_primitive`` returns).
pack_primitive = _pack


def _reject_ext(code: int, data: bytes) -> Any:
    raise EncodingError(f"msgpack extension type {code} is not allowed")


def _reject_map(pairs: Any) -> Any:
    raise EncodingError("msgpack maps are not allowed on the consensus path")


def _unpack(data: bytes) -> Primitive:
    try:
        primitive = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            object_pairs_hook=_reject_map,
            ext_hook=_reject_ext,
        )
    except EncodingError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        # ExtraData (trailing bytes), truncated input, bad UTF-8, over-deep nesting, ...
        raise EncodingError(f"malformed encoding: {exc.__class__.__name__}: {exc}") from None
    if isinstance(primitive, float):
        raise EncodingError("floats are not allowed on the consensus path")
    return primitive


def _describe(value: Any) -> str:
    if isinstance(value, (bytes, str, list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return repr(value) if isinstance(value, (int, bool, type(None))) else type(value).__name__


# Common field types, named for what they hold.
U8 = Annotated[int, UInt(8)]
U16 = Annotated[int, UInt(16)]
U32 = Annotated[int, UInt(32)]
U64 = Annotated[int, UInt(64)]
I64 = Annotated[int, SInt(64)]
Boolean = Annotated[bool, Bool()]
Hash32 = Annotated[bytes, FixedBytes(32)]
AccountId = Annotated[bytes, FixedBytes(32)]
Signature64 = Annotated[bytes, FixedBytes(64)]
Balance = U64  # base units; 1 FLOCK = 10**9 units and the whole supply (10**18) fits u64
BlockNumber = U32

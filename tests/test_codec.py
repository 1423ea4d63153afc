"""Canonical encoding: round trips, one encoding per value, strict rejection of malformed bytes."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, replace
from typing import Annotated

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import EncodingError
from runtime.primitives.codec import (
    I64,
    U8,
    U64,
    AccountId,
    Boolean,
    Hash32,
    ListOf,
    OneOf,
    OptionOf,
    Record,
    Text,
    VarBytes,
    decode,
    decode_value,
    encode,
    encode_list_of_encoded,
    encode_value,
    record,
)


@dataclass(frozen=True)
class Transfer(Record):
    dest: AccountId
    amount: U64


@dataclass(frozen=True)
class Remark(Record):
    data: Annotated[bytes, VarBytes(64)]


Call = Annotated[object, OneOf({0: Transfer, 7: Remark})]


@dataclass(frozen=True)
class Envelope(Record):
    """A record using every codec type, standing in for a transaction."""

    sender: AccountId
    nonce: U64
    tip: U64
    flag: Boolean
    delta: I64
    memo: Annotated[str, Text(32)]
    parent: Annotated[bytes | None, OptionOf(Hash32)]
    calls: Annotated[tuple, ListOf(Call, 4)]
    tags: Annotated[tuple, ListOf(U8, 8)]


transfers = st.builds(Transfer, st.binary(min_size=32, max_size=32), st.integers(0, 2**64 - 1))
remarks = st.builds(Remark, st.binary(max_size=64))
envelopes = st.builds(
    Envelope,
    sender=st.binary(min_size=32, max_size=32),
    nonce=st.integers(0, 2**64 - 1),
    tip=st.integers(0, 2**64 - 1),
    flag=st.booleans(),
    delta=st.integers(-(2**63), 2**63 - 1),
    memo=st.text(max_size=8),
    parent=st.none() | st.binary(min_size=32, max_size=32),
    calls=st.lists(transfers | remarks, max_size=4).map(tuple),
    tags=st.lists(st.integers(0, 255), max_size=8).map(tuple),
)


@given(envelopes)
def test_round_trip(value: Envelope) -> None:
    data = encode(value)
    assert decode(Envelope, data) == value
    assert encode(decode(Envelope, data)) == data


@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_canonically_or_raise(data: bytes) -> None:
    try:
        value = decode(Envelope, data)
    except EncodingError:
        return
    assert encode(value) == data


@given(envelopes, st.data())
def test_mutated_encodings_decode_canonically_or_raise(value: Envelope, data: st.DataObject) -> None:
    encoded = bytearray(encode(value))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] ^= data.draw(st.integers(1, 255))
    try:
        decoded = decode(Envelope, bytes(encoded))
    except EncodingError:
        return
    assert encode(decoded) == bytes(encoded)


@given(envelopes, st.binary(min_size=1, max_size=8))
def test_trailing_bytes_rejected(value: Envelope, tail: bytes) -> None:
    with pytest.raises(EncodingError):
        decode(Envelope, encode(value) + tail)


@given(envelopes, st.data())
def test_truncation_rejected(value: Envelope, data: st.DataObject) -> None:
    encoded = encode(value)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(EncodingError):
        decode(Envelope, encoded[:cut])


SENDER = bytes(range(32))


@pytest.mark.parametrize(
    "primitive, why",
    [
        ({"dest": SENDER, "amount": 1}, "map"),
        ([SENDER, 1.0], "float"),
        ([SENDER], "missing field"),
        ([SENDER, 1, 2], "extra field"),
        ([SENDER, -1], "negative u64"),
        ([SENDER, True], "bool for an integer"),
        ([SENDER[:31], 1], "short account"),
        ([SENDER.hex(), 1], "text for bytes"),
        ([SENDER, None], "nil for an integer"),
    ],
)
def test_malformed_records_rejected(primitive: object, why: str) -> None:
    with pytest.raises(EncodingError):
        decode(Transfer, msgpack.packb(primitive, use_bin_type=True))


def test_integer_out_of_range_rejected() -> None:
    too_big = msgpack.packb([SENDER, 1, 1, False, 2**63, "", None, [], []], use_bin_type=True)
    with pytest.raises(EncodingError, match="i64"):
        decode(Envelope, too_big)
    with pytest.raises(EncodingError, match="u8"):
        decode_value(Annotated[tuple, ListOf(U8, 8)], msgpack.packb([256]))


def test_non_minimal_integer_rejected() -> None:
    minimal = encode(Transfer(SENDER, 5))
    # The same array with 5 written as uint16 (0xcd 0x00 0x05) instead of a positive fixint.
    wide = minimal[:-1] + b"\xcd\x00\x05"
    assert msgpack.unpackb(wide) == msgpack.unpackb(minimal)
    with pytest.raises(EncodingError, match="non-canonical"):
        decode(Transfer, wide)


def test_extension_types_rejected() -> None:
    data = msgpack.packb([SENDER, msgpack.ExtType(1, b"x")], use_bin_type=True)
    with pytest.raises(EncodingError, match="extension"):
        decode(Transfer, data)


def test_oversize_input_rejected_before_parsing() -> None:
    data = encode(Remark(b"x" * 64))
    with pytest.raises(EncodingError, match="exceeds"):
        decode(Remark, data, max_size=len(data) - 1)
    assert decode(Remark, data, max_size=len(data)) == Remark(b"x" * 64)


def test_union_tags_are_explicit() -> None:
    assert encode_value(Call, Remark(b"")) == msgpack.packb([7, b""], use_bin_type=True)
    with pytest.raises(EncodingError, match="unknown variant"):
        decode_value(Call, msgpack.packb([1, b""], use_bin_type=True))


def test_encoding_refuses_invalid_values() -> None:
    with pytest.raises(EncodingError):
        encode(Transfer(SENDER, 2**64))
    with pytest.raises(EncodingError):
        encode(Remark(b"x" * 65))
    with pytest.raises(EncodingError):
        encode(Transfer(SENDER, 1.5))  # type: ignore[arg-type]


def test_field_order_is_declaration_order() -> None:
    assert encode(Transfer(SENDER, 9)) == msgpack.packb([SENDER, 9], use_bin_type=True)


@pytest.mark.parametrize("count", [0, 15, 16, 65_535, 65_536])
def test_a_list_of_encoded_items_is_the_lists_encoding(count: int) -> None:
    items = [i % 300 for i in range(count)]
    encoded = [encode_value(U64, item) for item in items]
    assert encode_list_of_encoded(encoded, count) == encode_value(ListOf(U64, count), items)
    with pytest.raises(EncodingError):
        encode_list_of_encoded([*encoded, encoded[0] if encoded else b"\x00"], count)


def test_record_declares_a_frozen_dataclass_with_a_fast_init() -> None:
    @record
    class Pair(Record):
        first: U8
        second: Hash32

    pair = Pair(1, second=bytes(32))
    assert pair == Pair(1, bytes(32)) and hash(pair) == hash(Pair(1, bytes(32)))
    assert replace(pair, first=2).first == 2
    assert decode(Pair, encode(pair)) == pair
    with pytest.raises(FrozenInstanceError):
        pair.first = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        Pair(1)  # type: ignore[call-arg]


# --- bounds and messages the mutation pass found unpinned (docs/testing.md) -----------------


def exactly(text: str) -> str:
    import re

    return f"^{re.escape(text)}$"


def test_signed_integer_bounds_are_inclusive() -> None:
    assert decode_value(I64, encode_value(I64, -(2**63))) == -(2**63)
    assert decode_value(I64, encode_value(I64, 2**63 - 1)) == 2**63 - 1
    for bad in (2**63, -(2**63) - 1, True, "1"):
        with pytest.raises(EncodingError, match=exactly(f"expected i64, got {bad!r}")):
            encode_value(I64, bad)


def test_scalar_messages_describe_what_they_got() -> None:
    with pytest.raises(EncodingError, match=exactly("expected bool, got 1")):
        encode_value(Boolean, 1)
    bounded = Annotated[bytes, VarBytes(2)]
    assert encode_value(bounded, b"ab") == encode_value(bounded, b"ab")
    with pytest.raises(EncodingError, match=exactly("expected at most 2 bytes, got bytes of length 3")):
        encode_value(bounded, b"abc")
    with pytest.raises(EncodingError, match=exactly("expected at most 2 bytes, got None")):
        encode_value(bounded, None)
    text = Annotated[str, Text(3)]
    assert decode_value(text, encode_value(text, "aé")) == "aé"  # 3 bytes in UTF-8
    for bad, shown in (("aéb", "str of length 3"), (b"ab", "bytes of length 2"), (3.5, "float")):
        with pytest.raises(EncodingError, match=exactly(f"expected text of at most 3 bytes, got {shown}")):
            encode_value(text, bad)


def test_type_descriptions_of_ints_text_and_options() -> None:
    from runtime.primitives.codec import SInt, codec_type_of

    names: list[str] = []

    def name_record(cls: type) -> str:
        names.append(cls.__name__)
        return cls.__name__

    assert SInt(16).describe(name_record) == {"kind": "int", "bits": 16}
    assert Text(9).describe(name_record) == {"kind": "text", "maxSize": 9}
    option = codec_type_of(Annotated[object, OptionOf(Transfer)])
    assert option.describe(name_record) == {"kind": "option", "item": "Transfer"}
    assert names == ["Transfer"]  # the item's record is named through the caller's table


def test_decoding_messages() -> None:
    with pytest.raises(EncodingError, match=exactly("expected bytes to decode, got bytearray")):
        decode_value(U8, bytearray(b"\x01"))
    with pytest.raises(EncodingError, match=exactly("msgpack maps are not allowed on the consensus path")):
        decode_value(U8, msgpack.packb({"a": 2}))
    with pytest.raises(
        EncodingError, match=exactly("non-canonical encoding (a value is not in its shortest msgpack form)")
    ):
        decode_value(U64, b"\xcc\x01")
    with pytest.raises(EncodingError, match=exactly("expected a sequence of at most 1 items, got 2")):
        encode_list_of_encoded([b"\x01", b"\x02"], 1)
    with pytest.raises(EncodingError, match="exceeds the limit of 3"):
        Transfer.decode(encode(Transfer(bytes(32), 1)), max_size=3)

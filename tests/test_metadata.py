"""The runtime's metadata: complete (every call, event, error and storage item of the composed
runtime, at its index), canonical (the same text in every construction and process, a hash that
follows every change), and enough for a client: a codec built on the JSON document alone
encodes every call as the runtime does and decodes its events and storage."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime import api
from runtime.accounts import FLOCK
from runtime.construct import PALLET_INDICES, RUNTIME_VERSION, construct_runtime
from runtime.errors import ArithmeticOverflow, MalformedTransaction
from runtime.executive import Executive
from runtime.framework.metadata import (
    METADATA_VERSION,
    DecodedCall,
    MetadataCodec,
    MetadataCodecError,
    MetadataError,
    build_metadata,
    compute_metadata_hash,
    encode_metadata_json,
    to_json_value,
)
from runtime.framework.pallet import BadOrigin, DispatchContext, Origin, Pallet, call
from runtime.framework.runtime import ARITHMETIC_ERROR_CODE, FRAMEWORK_ERROR_INDEX, Runtime
from runtime.framework.storage import StorageMap
from runtime.pallets import balances, governance, system, transaction_payment
from runtime.primitives.codec import (
    U32,
    U64,
    ListOf,
    OneOf,
    OptionOf,
    Record,
    RecordCodec,
    TypeDescription,
    encode_value,
    pack_primitive,
    record,
)
from runtime_helpers import TEST_GENESIS_HASH, build_genesis_state, execute_block, named_keypair, sign_transfer

RUNTIME = construct_runtime()
DOCUMENT = api.get_metadata()
CODEC = MetadataCodec(DOCUMENT)
ALICE, BOB = named_keypair("alice"), named_keypair("bob")
ALL_CALLS = [
    (pallet.NAME, definition.name) for pallet in RUNTIME.pallets.values() for definition in pallet.CALLS.values()
]
ALL_STORAGE = [(pallet.NAME, item) for pallet in RUNTIME.pallets.values() for item in pallet.STORAGE]


def get_pallet_entry(name: str) -> dict[str, Any]:
    [entry] = [pallet for pallet in DOCUMENT["pallets"] if pallet["name"] == name]
    return entry


# --- completeness -------------------------------------------------------------------------


def test_every_pallet_call_event_error_and_storage_item_is_described_at_its_index() -> None:
    assert [(entry["index"], entry["name"]) for entry in DOCUMENT["pallets"]] == [
        (index, pallet.NAME) for index, pallet in RUNTIME.pallets.items()
    ]
    for pallet in RUNTIME.pallets.values():
        entry = get_pallet_entry(pallet.NAME)
        assert [
            (call["index"], call["name"], call["origin"], call["governable"], call["weight"]) for call in entry["calls"]
        ] == [
            (definition.index, definition.name, definition.origin, definition.governable, definition.weight)
            for definition in pallet.CALLS.values()
        ]
        for described, definition in zip(entry["calls"], pallet.CALLS.values()):
            assert [argument["name"] for argument in described["args"]] == list(definition.args.record_codec().names)
            assert described["doc"] == inspect.cleandoc(definition.handler.__doc__ or "")
        assert [(event["index"], event["name"]) for event in entry["events"]] == [
            (position, event.__name__) for position, event in enumerate(pallet.EVENTS)
        ]
        assert sorted((error["code"], error["name"]) for error in entry["errors"]) == sorted(
            (error.code, error.__name__) for error in pallet.ERRORS
        )
        assert [item["name"] for item in entry["storage"]] == [item.name for item in pallet.STORAGE]
        assert entry["constants"] == pallet.CONSTANTS


def test_calls_events_and_errors_carry_their_types_and_messages() -> None:
    [transfer] = [call for call in get_pallet_entry("balances")["calls"] if call["name"] == "transfer_allow_death"]
    assert transfer["args"] == [
        {"name": "dest", "type": {"kind": "bytes", "size": 32}},
        {"name": "amount", "type": {"kind": "uint", "bits": 64}},
    ]
    assert transfer["origin"] == "signed" and transfer["weight"] == balances.Balances.CALLS[0].weight
    fee_paid = get_pallet_entry("transaction_payment")["events"][0]
    assert fee_paid["fields"][1] == {"name": "fee", "type": {"kind": "uint", "bits": 64}}
    errors = {error["name"]: error for error in get_pallet_entry("balances")["errors"]}
    assert errors["InsufficientBalance"]["doc"] == str(balances.InsufficientBalance())
    [set_fees] = get_pallet_entry("transaction_payment")["calls"]
    assert set_fees["args"] == [{"name": "parameters", "type": "pallets.transaction_payment.FeeParameters"}]
    assert [field["name"] for field in DOCUMENT["types"]["pallets.transaction_payment.FeeParameters"]["fields"]] == [
        "base_fee",
        "length_fee",
        "weight_fee",
        "author_share_parts",
    ]


def test_storage_items_say_how_their_keys_are_derived_and_their_defaults() -> None:
    storage = {item["name"]: item for item in get_pallet_entry("system")["storage"]}
    account = storage["Account"]
    assert account["kind"] == "map" and account["keyEncoding"] == "raw"
    assert account["prefix"] == "0x" + system.Account.prefix.hex()
    assert account["valueType"] == "accounts.AccountInfo"
    assert account["default"] == "0x" + encode_value(system.AccountInfo, system.EMPTY_ACCOUNT).hex()
    assert storage["Number"] == {
        "name": "Number",
        "kind": "value",
        "key": "0x" + system.Number.key.hex(),
        "valueType": {"kind": "uint", "bits": 32},
        "default": "0x00",
    }
    proposals = {item["name"]: item for item in get_pallet_entry("governance")["storage"]}["Proposals"]
    assert proposals["keyEncoding"] == "canonical" and proposals["default"] is None


def test_the_framework_errors_and_the_runtime_version_are_described() -> None:
    assert DOCUMENT["frameworkErrors"] == {
        "palletIndex": FRAMEWORK_ERROR_INDEX,
        "errors": [
            {"code": BadOrigin.code, "name": "BadOrigin", "doc": str(BadOrigin())},
            {"code": ARITHMETIC_ERROR_CODE, "name": "ArithmeticOverflow", "doc": ArithmeticOverflow.__doc__},
        ],
    }
    assert DOCUMENT["runtimeVersion"] == {
        "specName": RUNTIME_VERSION.spec_name,
        "specVersion": RUNTIME_VERSION.spec_version,
        "transactionVersion": RUNTIME_VERSION.transaction_version,
    }
    assert DOCUMENT["metadataVersion"] == METADATA_VERSION


# --- canonical text and hash --------------------------------------------------------------


def test_the_text_is_canonical_and_the_same_in_every_construction() -> None:
    first = encode_metadata_json(build_metadata(construct_runtime(), RUNTIME_VERSION))
    second = encode_metadata_json(build_metadata(construct_runtime(), RUNTIME_VERSION))
    assert first == second == api.get_metadata_json()
    assert first == json.dumps(json.loads(first), sort_keys=True, separators=(",", ":"))
    assert api.get_metadata_hash() == compute_metadata_hash(first) == CODEC.hash


def test_the_text_is_the_same_in_another_process() -> None:
    script = "import sys; from runtime import api; sys.stdout.write(api.get_metadata_json())"
    environment = dict(os.environ, PYTHONHASHSEED="12345")
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environment)
    assert other.stdout == api.get_metadata_json()


@record
class PayArgs32(Record):
    amount: U32


@record
class PayArgs64(Record):
    amount: U64


class ToyPallet32(Pallet):
    NAME = "toy"

    @call(0, PayArgs32, weight=10)
    def pay(self, ctx: DispatchContext, origin: Origin, args: PayArgs32) -> None:
        """Pay an amount."""


class ToyPallet64(Pallet):
    NAME = "toy"

    @call(0, PayArgs64, weight=10)
    def pay(self, ctx: DispatchContext, origin: Origin, args: PayArgs64) -> None:
        """Pay an amount."""


def compute_toy_hash(pallet: Pallet) -> bytes:
    return compute_metadata_hash(encode_metadata_json(build_metadata(Runtime([(0, pallet)]), RUNTIME_VERSION)))


def test_the_hash_changes_when_an_argument_type_changes() -> None:
    assert compute_toy_hash(ToyPallet32()) == compute_toy_hash(ToyPallet32())
    assert compute_toy_hash(ToyPallet32()) != compute_toy_hash(ToyPallet64())


def test_a_document_of_another_layout_is_refused() -> None:
    with pytest.raises(MetadataError, match="version"):
        MetadataCodec(dict(DOCUMENT, metadataVersion=METADATA_VERSION + 1))
    with pytest.raises(MetadataError, match="malformed"):
        MetadataCodec({"metadataVersion": METADATA_VERSION, "pallets": [{"index": 0}]})


# --- the client codec: calls --------------------------------------------------------------


def value_strategy(description: TypeDescription) -> st.SearchStrategy[Any]:
    """Client values of a described type (sizes kept small)."""
    if isinstance(description, str):
        fields = DOCUMENT["types"][description]["fields"]
        return st.fixed_dictionaries({field["name"]: value_strategy(field["type"]) for field in fields})
    kind = description["kind"]
    if kind == "uint":
        return st.integers(0, 2 ** description["bits"] - 1)
    if kind == "int":
        return st.integers(-(2 ** (description["bits"] - 1)), 2 ** (description["bits"] - 1) - 1)
    if kind == "bool":
        return st.booleans()
    if kind == "bytes":
        return st.binary(min_size=description["size"], max_size=description["size"])
    if kind == "varBytes":
        return st.binary(max_size=min(description["maxSize"], 40))
    if kind == "list":
        return st.lists(value_strategy(description["item"]), max_size=min(description["maxLen"], 3))
    if kind == "option":
        return st.none() | value_strategy(description["item"])
    assert kind == "oneOf", kind
    return st.one_of([variant_strategy(variant["name"], variant["type"]) for variant in description["variants"]])


def variant_strategy(name: str, record_name: str) -> st.SearchStrategy[dict[str, Any]]:
    return value_strategy(record_name).map(lambda fields: {name: fields})


def to_record(codec_type: Any, value: Any) -> Any:
    """The runtime's Python value (records, tuples) for a client value, built from the runtime's
    own codec types: independent of the client codec."""
    if isinstance(codec_type, RecordCodec):
        return codec_type.cls(*(to_record(kind, value[name]) for name, kind in zip(codec_type.names, codec_type.types)))
    if isinstance(codec_type, OneOf):
        [(name, fields)] = value.items()
        [variant] = [cls for cls in codec_type.by_tag.values() if cls.__name__ == name]
        return to_record(variant.record_codec(), fields)
    if isinstance(codec_type, ListOf):
        return tuple(to_record(codec_type.item, item) for item in value)
    if isinstance(codec_type, OptionOf):
        return None if value is None else to_record(codec_type.item, value)
    return value


@pytest.mark.parametrize(("pallet", "call_name"), ALL_CALLS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_client_call_bytes_are_the_runtimes(pallet: str, call_name: str, data: st.DataObject) -> None:
    arguments = CODEC.get_call(pallet, call_name)["args"]
    args = data.draw(st.fixed_dictionaries({item["name"]: value_strategy(item["type"]) for item in arguments}))
    encoded = CODEC.encode_call(pallet, call_name, args)
    [definition] = [item for item in RUNTIME.pallet(pallet).CALLS.values() if item.name == call_name]
    assert encoded == RUNTIME.encode_call(to_record(definition.args.record_codec(), args))
    decoded = CODEC.decode_call(encoded)
    assert (decoded.pallet, decoded.call) == (pallet, call_name)
    assert to_json_value(decoded.args) == to_json_value(args)


@pytest.mark.parametrize(
    ("pallet", "call_name", "args", "field", "problem"),
    [
        ("nope", "transfer", {}, "nope", "no such pallet"),
        ("balances", "nope", {}, "balances.nope", "no such call"),
        ("balances", "transfer_allow_death", {"dest": bytes(32)}, "balances.transfer_allow_death.amount", "missing"),
        (
            "balances",
            "transfer_allow_death",
            {"dest": bytes(32), "amount": 1, "memo": 1},
            "balances.transfer_allow_death.memo",
            "unknown field",
        ),
        (
            "balances",
            "transfer_allow_death",
            {"dest": bytes(32), "amount": 2**64},
            "balances.transfer_allow_death.amount",
            "expected u64",
        ),
        (
            "balances",
            "transfer_allow_death",
            {"dest": bytes(32), "amount": "1"},
            "balances.transfer_allow_death.amount",
            "expected u64",
        ),
        (
            "balances",
            "transfer_allow_death",
            {"dest": bytes(31), "amount": 1},
            "balances.transfer_allow_death.dest",
            "expected 32 bytes",
        ),
        ("balances", "transfer_allow_death", [bytes(32), 1], "balances.transfer_allow_death", "expected an object"),
        (
            "transaction_payment",
            "set_parameters",
            {"parameters": {"base_fee": 1, "length_fee": 1, "weight_fee": 1, "author_share_parts": -1}},
            "transaction_payment.set_parameters.parameters.author_share_parts",
            "expected u32",
        ),
        (
            "offences",
            "report_equivocation",
            {"evidence": {"Nope": {}}},
            "offences.report_equivocation.evidence",
            "one of",
        ),
    ],
)
def test_bad_call_input_is_one_error_naming_the_field(
    pallet: str, call_name: str, args: Any, field: str, problem: str
) -> None:
    with pytest.raises(MetadataCodecError, match=problem) as raised:
        CODEC.encode_call(pallet, call_name, args)
    assert raised.value.field == field
    assert str(raised.value).startswith(field)


def test_decoding_accepts_only_the_canonical_bytes_of_a_known_call() -> None:
    encoded = RUNTIME.encode_call(balances.TransferArgs(BOB.public_key, 5))
    assert CODEC.decode_call(encoded) == DecodedCall(
        "balances", "transfer_allow_death", {"dest": BOB.public_key, "amount": 5}
    )
    wide = encoded[:-1] + b"\xcc\x05"  # 5 as a uint8 format: valid msgpack, not the shortest form
    with pytest.raises(MetadataCodecError, match="non-canonical"):
        CODEC.decode_call(wide)
    with pytest.raises(MetadataCodecError, match="known call"):
        CODEC.decode_call(bytes([0x92, 99, 0]))


PRIMITIVES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.binary(max_size=33) | st.text(max_size=3),
    lambda children: st.lists(children, max_size=5),
    max_leaves=20,
)
CALL_INDICES = [(index, call) for index, pallet in RUNTIME.pallets.items() for call in pallet.CALLS]


@settings(max_examples=300, deadline=None)
@given(head=st.sampled_from(CALL_INDICES) | st.tuples(PRIMITIVES, PRIMITIVES), rest=st.lists(PRIMITIVES, max_size=4))
def test_client_and_runtime_accept_the_same_call_bytes(head: tuple[Any, Any], rest: list[Any]) -> None:
    data = pack_primitive([*head, *rest])
    try:
        by_runtime: Any = RUNTIME.decode_call(data)
    except MalformedTransaction:
        by_runtime = None
    try:
        by_client: Any = CODEC.decode_call(data)
    except MetadataCodecError:
        by_client = None
    assert (by_runtime is None) == (by_client is None)
    if by_client is not None:
        assert CODEC.encode_call(by_client.pallet, by_client.call, by_client.args) == data


def test_a_union_tag_must_be_an_integer() -> None:
    """msgpack ``true`` equals 1 in Python: the runtime refuses it as a tag, so must the client."""
    index = PALLET_INDICES["offences"]
    for tag in (True, [0], None):
        data = pack_primitive([index, 0, [tag, [], []]])
        with pytest.raises(MalformedTransaction):
            RUNTIME.decode_call(data)
        with pytest.raises(MetadataCodecError, match="known tag"):
            CODEC.decode_call(data)
    with pytest.raises(MetadataCodecError, match="known call"):
        CODEC.decode_call(pack_primitive([True, 0, bytes(32), 1]))


# --- the client codec: events and storage -------------------------------------------------


def test_client_decodes_a_blocks_events_as_the_runtime_does() -> None:
    genesis = build_genesis_state(RUNTIME, [ALICE.public_key])
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, 10 * FLOCK, nonce=0)
    after = execute_block(Executive(RUNTIME, TEST_GENESIS_HASH), genesis, [xt])
    raw = after.get(CODEC.get_storage_key("system", "Events"))
    events = CODEC.decode_events(CODEC.decode_storage_value("system", "Events", raw))
    expected = RUNTIME.decode_events(system.Events.get(after))
    assert [(event.phase, event.extrinsic_index) for event in events] == [
        (record.phase, record.extrinsic_index) for record in expected
    ]
    assert [(event.pallet, event.name) for event in events] == [
        (RUNTIME.pallets[record.pallet_index].NAME, type(record.event).__name__) for record in expected
    ]
    transfer = next(event for event in events if event.name == "Transfer")
    assert transfer.fields == {"source": ALICE.public_key, "dest": BOB.public_key, "amount": 10 * FLOCK}
    assert CODEC.decode_event(RUNTIME.encode_event(1, 2, balances.Transfer(ALICE.public_key, BOB.public_key, 3))) == (
        1,
        2,
        "balances",
        "Transfer",
        {"source": ALICE.public_key, "dest": BOB.public_key, "amount": 3},
    )


@pytest.mark.parametrize(("pallet", "item"), ALL_STORAGE, ids=[f"{p}.{i.name}" for p, i in ALL_STORAGE])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_client_storage_keys_and_defaults_are_the_runtimes(pallet: str, item: Any, data: st.DataObject) -> None:
    described = next(entry for entry in get_pallet_entry(pallet)["storage"] if entry["name"] == item.name)
    default = CODEC.decode_storage_value(pallet, item.name, None)
    assert (default is None) == (item.default is None)
    if default is not None:
        assert to_record(item.value_type, default) == item.default
    if not isinstance(item, StorageMap):
        assert CODEC.get_storage_key(pallet, item.name) == item.key
        return
    key = data.draw(value_strategy(described["keyType"]))
    storage_key = CODEC.get_storage_key(pallet, item.name, key)
    assert storage_key == item.storage_key(to_record(item.key_type, key))
    assert to_json_value(CODEC.decode_storage_key(pallet, item.name, storage_key)) == to_json_value(key)


def test_client_decodes_stored_values() -> None:
    state = build_genesis_state(RUNTIME, [ALICE.public_key])
    raw = state.get(CODEC.get_storage_key("system", "Account", ALICE.public_key))
    assert raw is not None
    account = system.get_account(state, ALICE.public_key)
    assert CODEC.decode_storage_value("system", "Account", raw) == {
        "nonce": account.nonce,
        "free": account.free,
        "reserved": account.reserved,
        "frozen": account.frozen,
    }
    fees = CODEC.decode_storage_value(
        "transaction_payment", "Parameters", state.get(transaction_payment.PARAMETERS.storage.key)
    )
    assert to_record(transaction_payment.PARAMETERS.storage.value_type, fees) == transaction_payment.PARAMETERS.get(
        state
    )
    with pytest.raises(MetadataCodecError, match="system.Account"):
        CODEC.decode_storage_value("system", "Account", raw + b"\x00")
    with pytest.raises(MetadataCodecError, match="takes no key"):
        CODEC.get_storage_key("system", "Number", 1)
    with pytest.raises(MetadataCodecError, match="needs a key"):
        CODEC.get_storage_key("governance", "Proposals")
    with pytest.raises(MetadataCodecError, match="governance.Proposals.key"):
        CODEC.get_storage_key("governance", "Proposals", -1)
    with pytest.raises(MetadataCodecError, match="no such storage item"):
        CODEC.get_storage_key("governance", "Nope")
    assert CODEC.get_storage_key("governance", "Proposals", 7) == governance.get_proposal_storage_key(7)


# --- fees ---------------------------------------------------------------------------------


def test_fee_info_is_the_fee_the_executive_charges() -> None:
    genesis = build_genesis_state(RUNTIME, [ALICE.public_key])
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, tip=3)
    info = api.compute_fee_info(genesis, xt)
    after = execute_block(Executive(RUNTIME, TEST_GENESIS_HASH), genesis, [xt])
    paid = [record.event for record in RUNTIME.decode_events(system.Events.get(after))]
    assert transaction_payment.TransactionFeePaid(ALICE.public_key, info.partial_fee, 3) in paid
    assert (info.weight, info.dispatch_class) == (balances.Balances.CALLS[0].weight, api.DISPATCH_CLASS_NORMAL)
    inherent = api.build_timestamp_inherent(1_000)
    assert api.compute_fee_info(genesis, inherent) == api.FeeInfo(
        RUNTIME.pallet("timestamp").CALLS[0].weight, api.DISPATCH_CLASS_MANDATORY, 0
    )

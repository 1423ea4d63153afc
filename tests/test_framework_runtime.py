"""runtime/framework/runtime.py: the call and event codecs refuse what is not a call or an
event of this runtime by name, and errors no pallet declares get the framework's index."""

from __future__ import annotations

import re

import pytest

from runtime.errors import EncodingError, MalformedTransaction
from runtime.framework.pallet import ROOT, BadOrigin, DispatchError, Origin, ensure_signed
from runtime.framework.runtime import FRAMEWORK_ERROR_INDEX
from runtime.pallets import balances, system
from runtime.primitives.codec import pack_primitive
from runtime_helpers import RUNTIME, named_keypair

ALICE = named_keypair("alice").public_key


def refused_call(primitive: object) -> str:
    with pytest.raises(MalformedTransaction) as refused:
        RUNTIME.decode_call(pack_primitive(primitive))
    return str(refused.value)


def test_calls_that_are_not_this_runtimes_are_refused_by_name() -> None:
    shape = "call does not decode: a call is [pallet index, call index, arguments...]"
    for bad in ([2], 5, [True, 0], [2, "0"]):
        assert refused_call(bad) == shape
    assert refused_call([2, 99]) == "call does not decode: no call 99 in pallet 2"
    assert refused_call([77, 0]) == "call does not decode: no call 0 in pallet 77"
    assert refused_call([2, 0, b"short", 1]).startswith("call does not decode: bad arguments for balances.")
    call = RUNTIME.decode_call(RUNTIME.encode_call(balances.TransferArgs(ALICE, 5)))
    assert (call.pallet_index, call.pallet.NAME, call.args) == (2, "balances", balances.TransferArgs(ALICE, 5))


def test_events_that_are_not_this_runtimes_are_refused_by_name() -> None:
    record = RUNTIME.decode_event(RUNTIME.encode_event(1, 2, system.Remarked(ALICE, 3)))
    assert (record.phase, record.extrinsic_index, record.event) == (1, 2, system.Remarked(ALICE, 3))
    header = "an event is [phase, extrinsic index, pallet index, event index, fields...]"
    for bad in ([1, 2, 0], "event"):
        with pytest.raises(EncodingError, match=f"^{re.escape(header)}$"):
            RUNTIME.decode_event(pack_primitive(bad))
    remark = RUNTIME.event_primitive(1, 2, system.Remarked(ALICE, 3))
    assert RUNTIME.decode_event(pack_primitive(remark[:4] + remark[4:])).event == system.Remarked(ALICE, 3)
    events_of_system = len(RUNTIME.pallet("system").EVENTS)
    for pallet_index, event_index in ((0, events_of_system), (77, 0)):
        with pytest.raises(EncodingError, match=f"^no event {event_index} in pallet {pallet_index}$"):
            RUNTIME.decode_event(pack_primitive([1, 2, pallet_index, event_index]))
    with pytest.raises(EncodingError):
        RUNTIME.decode_event(pack_primitive([1, 2, 0, events_of_system - 1]))  # too few fields, not "no event"


def test_errors_no_pallet_declares_use_the_framework_index() -> None:
    class Stray(DispatchError):
        code = 5

    assert RUNTIME.error_index(Stray()) == (FRAMEWORK_ERROR_INDEX, 5)
    assert RUNTIME.error_index(balances.InsufficientBalance()) == (2, balances.InsufficientBalance.code)


def test_only_a_signed_origin_with_an_account_is_signed() -> None:
    assert ensure_signed(Origin.signed(ALICE)) == ALICE
    for origin in (ROOT, Origin("signed")):
        with pytest.raises(BadOrigin):
            ensure_signed(origin)


def test_an_error_without_a_message_says_its_first_doc_line() -> None:
    class Documented(DispatchError):
        """First line.

        More."""

    class Undocumented(DispatchError):
        pass

    assert str(Documented()) == "First line."
    assert str(Undocumented()) == "Undocumented"

"""The RPC port's policy (unsafe methods by interface, CORS origins), its command-line options,
and ``grandpa_proveFinality`` over a chain with many authority-set changes."""

from __future__ import annotations

from typing import Any

import pytest

from flockchain.cli import build_parser
from flockchain.cli.rpc_options import get_rpc_settings
from flockchain.rpc.grandpa import MAX_SET_CHANGES_PER_PROOF, FinalityMethods
from flockchain.rpc.options import (
    ALLOW_ANY_ORIGIN,
    DEFAULT_CORS,
    InvalidCorsOrigin,
    InvalidRpcOption,
    MethodsPolicy,
    UnsafeRpcExternal,
    is_origin_match,
    parse_cors,
    resolve_deny_unsafe,
)
from runtime.abc import StateReader
from runtime.block import Header
from runtime.pallets import session
from runtime.primitives.codec import encode_value


@pytest.mark.parametrize(
    ("policy", "host", "denied"),
    [
        (MethodsPolicy.AUTO, "127.0.0.1", False),
        (MethodsPolicy.AUTO, "::1", False),
        (MethodsPolicy.AUTO, "0.0.0.0", True),
        (MethodsPolicy.AUTO, "10.1.2.3", True),
        (MethodsPolicy.SAFE, "127.0.0.1", True),
        (MethodsPolicy.UNSAFE, "127.0.0.1", False),
    ],
)
def test_which_interfaces_get_unsafe_methods(policy: MethodsPolicy, host: str, denied: bool) -> None:
    assert resolve_deny_unsafe(policy, host) is denied


def test_unsafe_methods_on_an_external_interface_must_be_asked_for_twice() -> None:
    with pytest.raises(UnsafeRpcExternal, match="--unsafe-rpc-external"):
        resolve_deny_unsafe(MethodsPolicy.UNSAFE, "0.0.0.0")
    assert resolve_deny_unsafe(MethodsPolicy.UNSAFE, "0.0.0.0", unsafe_external=True) is False


@pytest.mark.parametrize(
    ("pattern", "origin", "matches"),
    [
        ("http://localhost:*", "http://localhost", True),
        ("http://localhost:*", "http://localhost:3000", True),
        ("http://localhost:*", "http://localhost:3000x", False),
        ("http://localhost:*", "http://localhost.evil.example", False),
        ("http://localhost:*", "https://localhost:3000", False),
        ("https://polkadot.js.org", "https://polkadot.js.org", True),
        ("https://polkadot.js.org", "https://polkadot.js.org:443", False),
    ],
)
def test_origin_patterns(pattern: str, origin: str, matches: bool) -> None:
    assert is_origin_match(pattern, origin) is matches


def test_cors_lists_parse_and_bad_origins_are_refused() -> None:
    assert parse_cors("all") is ALLOW_ANY_ORIGIN
    policy = parse_cors("http://localhost:*, https://app.example:8443,null")
    assert policy.is_allowed("http://localhost:9000") and policy.is_allowed("null")
    assert not policy.is_allowed("https://app.example")
    assert DEFAULT_CORS.is_allowed("https://polkadot.js.org") and not DEFAULT_CORS.is_allowed("https://evil.example")
    for bad in ("localhost", "http://host/path", "http://host:port", ""):
        with pytest.raises(InvalidCorsOrigin):
            parse_cors(bad)


def parse_dev(*flags: str) -> Any:
    return get_rpc_settings(build_parser().parse_args(["dev", "--tmp", *flags]))


def test_the_dev_command_takes_substrates_rpc_options() -> None:
    default = parse_dev()
    assert (default.host, default.port, default.options.deny_unsafe) == ("127.0.0.1", 9944, False)
    assert default.options.cors is ALLOW_ANY_ORIGIN  # a development chain, as with Substrate's --dev
    external = parse_dev("--rpc-external", "--rpc-port", "9955", "--rpc-cors", "https://app.example")
    assert (external.host, external.port, external.options.deny_unsafe) == ("0.0.0.0", 9955, True)
    assert external.options.cors.is_allowed("https://app.example")
    limits = parse_dev(
        "--rpc-max-connections",
        "7",
        "--rpc-max-request-size",
        "2",
        "--rpc-max-response-size",
        "3",
        "--rpc-max-batch-request-len",
        "5",
        "--rpc-max-subscriptions-per-connection",
        "9",
        "--rpc-message-buffer-capacity-per-connection",
        "11",
    ).limits
    assert (limits.max_connections, limits.max_body_size, limits.max_reply_size, limits.max_batch_size) == (
        7,
        2 * 1024 * 1024,
        3 * 1024 * 1024,
        5,
    )
    assert (limits.max_subscriptions_per_connection, limits.max_buffered_messages) == (9, 11)
    assert parse_dev("--unsafe-rpc-external", "--rpc-methods", "unsafe").options.deny_unsafe is False
    with pytest.raises(UnsafeRpcExternal):
        parse_dev("--rpc-external", "--rpc-methods", "unsafe")
    with pytest.raises(InvalidRpcOption, match="--rpc-max-connections must be at least 1"):
        parse_dev("--rpc-max-connections", "0")


# --- grandpa_proveFinality over many set changes --------------------------------------------


class SetState(StateReader):
    def __init__(self, set_id: int) -> None:
        self.values = {session.SetId.key: encode_value(session.SetId.value_type, set_id)}

    def get(self, key: bytes) -> bytes | None:
        return self.values.get(key)

    def iter_prefix(self, prefix: bytes) -> Any:
        raise AssertionError("not needed")

    def prove(self, key: bytes) -> bytes:
        return b"a proof"


class ChangingSets:
    """A finalized chain of ``length`` blocks where every ``every``-th block ended a set; the
    node still proves only the finalized block's state (older states are pruned)."""

    def __init__(self, length: int, every: int) -> None:
        self.headers: dict[bytes, Header] = {}
        parent = bytes(32)
        for number in range(length + 1):
            header = Header(parent, number, number, number, bytes(32), bytes(32), bytes(32), (), bytes(64))
            self.headers[header.hash] = header
            parent = header.hash
        self.by_number = {header.number: block_hash for block_hash, header in self.headers.items()}
        self.finalized = parent
        self.set_changes = {set_id: self.by_number[(set_id + 1) * every] for set_id in range(length // every)}

    def finalized_hash(self) -> bytes:
        return self.finalized

    def get_header(self, block_hash: bytes) -> Header | None:
        return self.headers.get(block_hash)

    def get_set_change(self, set_id: int) -> bytes | None:
        return self.set_changes.get(set_id)

    def get_justification(self, block_hash: bytes) -> bytes | None:
        return b"justification of %d" % self.headers[block_hash].number

    def provable_state(self, block_hash: bytes) -> Any:
        return SetState(len(self.set_changes)) if block_hash == self.finalized else None


async def test_prove_finality_answers_the_set_changes_from_a_block_on() -> None:
    node = ChangingSets(length=100, every=10)  # blocks 10, 20, ..., 100 ended sets 0..9
    proof = await FinalityMethods(node).grandpa_prove_finality(35)  # type: ignore[arg-type]
    assert [change["setId"] for change in proof["setChanges"]] == [3, 4, 5, 6, 7, 8, 9]
    first = proof["setChanges"][0]
    assert Header.decode(bytes.fromhex(first["header"][2:])).number == 40
    assert first["justification"] == "0x" + b"justification of 40".hex()
    assert first["nextAuthorities"] is None  # that state is pruned: only a header digest will tell
    assert proof["complete"] is True and proof["finalized"]["block"] == "0x" + node.finalized.hex()
    assert [c["setId"] for c in (await FinalityMethods(node).grandpa_prove_finality(40))["setChanges"]][0] == 3  # type: ignore[arg-type]
    assert (await FinalityMethods(node).grandpa_prove_finality("0x29"))["setChanges"][0]["setId"] == 4  # type: ignore[arg-type]


async def test_prove_finality_pages_when_there_are_too_many_set_changes() -> None:
    node = ChangingSets(length=2 * (MAX_SET_CHANGES_PER_PROOF + 10), every=2)
    proof = await FinalityMethods(node).grandpa_prove_finality(0)  # type: ignore[arg-type]
    assert len(proof["setChanges"]) == MAX_SET_CHANGES_PER_PROOF
    assert proof["complete"] is False and proof["finalized"] is None
    last = Header.decode(bytes.fromhex(proof["setChanges"][-1]["header"][2:])).number
    rest = await FinalityMethods(node).grandpa_prove_finality(last + 1)  # type: ignore[arg-type]
    assert rest["setChanges"][0]["setId"] == MAX_SET_CHANGES_PER_PROOF and rest["complete"] is True

"""The RPC port: the JSON-RPC protocol without a server, then every method and limit over HTTP.

The HTTP tests serve an in-memory fake node on an ephemeral loopback port in the test's own
nursery and talk to it with httpx; every wait is bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import json
import socket
import tracemalloc
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from flockchain.rpc.api import NodeApi, NodeHealth
from flockchain.rpc.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    OVERSIZED_REQUEST,
    OVERSIZED_RESPONSE,
    PARSE_ERROR,
    TOO_BIG_BATCH_REQUEST,
    TOO_BIG_BATCH_RESPONSE,
    Dispatcher,
    InvalidParams,
    RpcError,
)
from flockchain.rpc.methods import INVALID_TRANSACTION, MAX_PENDING_PAGE_SIZE, get_node_version
from flockchain.rpc.registry import METHODS, build_dispatcher
from flockchain.rpc.server import RpcLimits, RpcPortUnavailable, serve_rpc
from runtime.block import (
    Block,
    ConsensusDigest,
    DigestItem,
    Header,
    PreRuntimeDigest,
    compute_extrinsic_hash,
    compute_extrinsics_root,
)
from runtime.errors import BadTransactionProof, FlockError, MalformedTransaction
from runtime.primitives.address import encode_address
from runtime.primitives.codec import encode_value

TIMEOUT = 10  # seconds any single wait may take before the test fails
TEST_LIMITS = RpcLimits(max_body_size=4096, max_batch_size=10, max_reply_size=64 * 1024)
CHAIN_LENGTH = 3
UNKNOWN_HASH = "0x" + "ee" * 32
REJECTED_PREFIX = b"\xff"  # the fake node refuses these with a reason
INTERNAL_FAILURE_PREFIX = b"\xee"  # the fake node crashes on these
STALLING_PREFIX = b"\xbb"  # the fake node never answers these
ALICE = b"\xa1" * 32


# --- a fake node --------------------------------------------------------------------------


def make_block(number: int, parent_hash: bytes) -> Block:
    """A block with made-up but well-typed fields; block 1 carries two digests."""
    extrinsics = tuple(bytes([number, index]) * 3 for index in range(number))
    slot = 100 + number
    digests: tuple = (PreRuntimeDigest(b"test", bytes([number % 4]) + slot.to_bytes(8, "big")),)
    if number == 1:
        digests += (ConsensusDigest(b"auth", b"\x01\x02"),)
    header = Header(
        parent_hash=parent_hash,
        number=number,
        slot=slot,
        timestamp=1_700_000_000_000 + 6000 * number,
        state_root=bytes([0x10 + number]) * 32,
        extrinsics_root=compute_extrinsics_root(extrinsics),
        author=b"\xab" * 32,
        digests=digests,
        seal=b"\x5c" * 64,
    )
    return Block(header, extrinsics)


def make_chain(length: int) -> list[Block]:
    blocks: list[Block] = []
    for number in range(length):
        blocks.append(make_block(number, blocks[-1].hash if blocks else bytes(32)))
    return blocks


class FakeNode:
    """An in-memory chain and pool; refuses, crashes on or stalls on marked extrinsics.

    Conforms to ``NodeApi`` by shape, as the node's adapter does: plain attributes for the
    chain spec's fields, a plain tuple for health.
    """

    def __init__(self) -> None:
        self.chain_name = "Flockchain Test"
        self.properties = {"tokenSymbol": "FLOCK", "tokenDecimals": 12, "ss58Format": 42}
        self.chain = make_chain(CHAIN_LENGTH)
        self.blocks = {block.hash: block for block in self.chain}
        self.pool: list[bytes] = []
        self.nonces = {ALICE: 5}
        self.current_health: tuple[int, bool, bool] = (3, False, True)
        self.submission_stalled = trio.Event()

    def best_hash(self) -> bytes:
        return self.chain[-1].hash

    def finalized_hash(self) -> bytes:
        return self.chain[-2].hash

    def get_header(self, block_hash: bytes) -> Header | None:
        block = self.blocks.get(block_hash)
        return None if block is None else block.header

    def get_block(self, block_hash: bytes) -> Block | None:
        return self.blocks.get(block_hash)

    def get_canonical_hash(self, number: int) -> bytes | None:
        return self.chain[number].hash if number < len(self.chain) else None

    def get_justification(self, block_hash: bytes) -> bytes | None:
        return b"proof of " + block_hash[:4] if block_hash == self.finalized_hash() else None

    async def submit_extrinsic(self, encoded: bytes) -> bytes:
        if not encoded:
            raise MalformedTransaction()
        if encoded.startswith(REJECTED_PREFIX):
            raise BadTransactionProof("Transaction has a bad signature")
        if encoded.startswith(INTERNAL_FAILURE_PREFIX):
            raise RuntimeError("secret internal detail")
        if encoded.startswith(STALLING_PREFIX):
            self.submission_stalled.set()
            await trio.sleep_forever()
        self.pool.append(encoded)
        return compute_extrinsic_hash(encoded)

    def pending_extrinsics(self) -> list[bytes]:
        return list(self.pool)

    def account_next_index(self, account: bytes) -> int:
        return self.nonces.get(account, 0)

    def health(self) -> tuple[int, bool, bool]:
        return self.current_health


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


# --- fixtures and client helpers ----------------------------------------------------------


@pytest.fixture
def node() -> FakeNode:
    return FakeNode()


@pytest.fixture
async def rpc_url(nursery: trio.Nursery, node: FakeNode) -> str:
    api: NodeApi = node  # mypy checks the fake against the interface here
    with trio.fail_after(TIMEOUT):
        port = await nursery.start(partial(serve_rpc, limits=TEST_LIMITS), api, "127.0.0.1", 0)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def client(rpc_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rpc_url, timeout=TIMEOUT) as http_client:
        yield http_client


def make_request(method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params is not None:
        request["params"] = params
    return request


async def post(client: httpx.AsyncClient, payload: Any = None, *, content: Any = None) -> httpx.Response:
    with trio.fail_after(TIMEOUT):
        if content is not None:
            return await client.post("/", content=content, headers={"content-type": "application/json"})
        return await client.post("/", json=payload)


async def rpc(client: httpx.AsyncClient, method: str, *params: Any) -> dict[str, Any]:
    """The whole response object of one call with positional params."""
    response = await post(client, make_request(method, list(params)))
    assert response.status_code == 200
    return response.json()


async def call(client: httpx.AsyncClient, method: str, *params: Any) -> Any:
    reply = await rpc(client, method, *params)
    assert "error" not in reply, reply
    return reply["result"]


async def call_error(client: httpx.AsyncClient, method: str, *params: Any) -> dict[str, Any]:
    reply = await rpc(client, method, *params)
    assert "result" not in reply, reply
    assert reply["id"] == 1
    return reply["error"]


# --- the protocol, without a server -------------------------------------------------------


def make_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher(max_batch_size=5)

    async def add(a: int, b: int = 0) -> int:
        return a + b

    async def fail() -> None:
        raise KeyError("secret internal detail")

    async def refuse() -> None:
        raise InvalidParams("nope")

    async def not_json() -> object:
        return object()

    for name, handler in {"add": add, "fail": fail, "refuse": refuse, "not_json": not_json}.items():
        dispatcher.register(name, handler)
    return dispatcher


async def handle(message: str | bytes) -> Any:
    reply = await make_dispatcher().handle_message(message)
    return None if reply is None else json.loads(reply)


async def test_single_call_with_positional_and_named_params() -> None:
    reply = await handle('{"jsonrpc":"2.0","method":"add","params":[2,3],"id":7}')
    assert reply == {"jsonrpc": "2.0", "result": 5, "id": 7}
    assert (await handle('{"jsonrpc":"2.0","method":"add","params":{"a":2},"id":"x"}'))["result"] == 2


@pytest.mark.parametrize("message", ["{", "", "[1,", b"\xff\xfe\x00", '{"a":NaN}', "[" * 100_000 + "]" * 100_000])
async def test_unparsable_message_is_parse_error_with_null_id(message: str | bytes) -> None:
    reply = await handle(message)
    assert reply["error"]["code"] == PARSE_ERROR
    assert reply["id"] is None


@pytest.mark.parametrize(
    "request_value, echoed_id",
    [
        ({"jsonrpc": "2.0", "method": 1, "id": 3}, 3),
        ({"jsonrpc": "1.0", "method": "add", "id": 3}, 3),
        ({"method": "add", "params": [1], "id": 3}, 3),
        ({"jsonrpc": "2.0", "method": "add", "params": 5, "id": 3}, 3),
        ({"jsonrpc": "2.0", "method": "add", "id": [1]}, None),
        ({"jsonrpc": "2.0", "method": "add", "id": True}, None),
        ({"jsonrpc": "2.0", "method": "add", "id": 1.5}, None),
        ("a string", None),
        (17, None),
    ],
)
async def test_malformed_request_is_invalid_request(request_value: Any, echoed_id: Any) -> None:
    reply = await handle(json.dumps(request_value))
    assert reply["error"]["code"] == INVALID_REQUEST
    assert reply["id"] == echoed_id


async def test_unknown_method_is_method_not_found() -> None:
    reply = await handle('{"jsonrpc":"2.0","method":"nope","id":1}')
    assert reply["error"] == {"code": METHOD_NOT_FOUND, "message": "Method not found", "data": "nope"}


@pytest.mark.parametrize("params", ["[]", "[1,2,3]", '{"c":1}', '{"a":1,"b":2,"c":3}'])
async def test_params_that_do_not_fit_are_invalid_params(params: str) -> None:
    reply = await handle(f'{{"jsonrpc":"2.0","method":"add","params":{params},"id":1}}')
    assert reply["error"]["code"] == INVALID_PARAMS


async def test_method_raising_rpc_error_chooses_the_error() -> None:
    reply = await handle('{"jsonrpc":"2.0","method":"refuse","id":1}')
    assert reply["error"] == {"code": INVALID_PARAMS, "message": "Invalid params", "data": "nope"}


@pytest.mark.parametrize("method", ["fail", "not_json"])
async def test_unexpected_failure_is_internal_error_without_details(method: str) -> None:
    reply = await handle(f'{{"jsonrpc":"2.0","method":"{method}","id":1}}')
    assert reply == {"jsonrpc": "2.0", "error": {"code": INTERNAL_ERROR, "message": "Internal error"}, "id": 1}


async def test_notifications_get_no_reply_even_when_they_fail() -> None:
    assert await handle('{"jsonrpc":"2.0","method":"add","params":[1]}') is None
    assert await handle('{"jsonrpc":"2.0","method":"fail"}') is None
    assert await handle('{"jsonrpc":"2.0","method":"nope"}') is None
    assert await handle('[{"jsonrpc":"2.0","method":"add","params":[1]},{"jsonrpc":"2.0","method":"nope"}]') is None


async def test_batch_answers_each_request_in_order_and_skips_notifications() -> None:
    batch = [
        make_request("add", [1, 1], 1),
        {"jsonrpc": "2.0", "method": "add", "params": [5]},
        make_request("nope", [], "b"),
        {"bad": True},
        make_request("add", [2, 2], 3),
    ]
    reply = await handle(json.dumps(batch))
    assert [(item["id"], item.get("result"), item.get("error", {}).get("code")) for item in reply] == [
        (1, 2, None),
        ("b", None, METHOD_NOT_FOUND),
        (None, None, INVALID_REQUEST),
        (3, 4, None),
    ]


async def test_empty_batch_is_one_invalid_request() -> None:
    reply = await handle("[]")
    assert reply["error"]["code"] == INVALID_REQUEST and reply["id"] is None


async def test_batch_over_the_limit_is_one_error() -> None:
    reply = await handle(json.dumps([make_request("add", [1], i) for i in range(6)]))
    assert reply["error"]["code"] == TOO_BIG_BATCH_REQUEST and reply["id"] is None


async def test_reply_over_the_limit_is_an_error_with_the_request_id() -> None:
    dispatcher = Dispatcher(max_reply_size=1000)

    async def big() -> str:
        return "x" * 2000

    dispatcher.register("big", big)
    reply = await dispatcher.handle_message(json.dumps(make_request("big", [], 9)))
    assert reply is not None and len(reply) <= 1000
    error = {"code": OVERSIZED_RESPONSE, "message": "Response is too big", "data": "Exceeded max limit of 1000"}
    assert json.loads(reply) == {"jsonrpc": "2.0", "error": error, "id": 9}


async def test_batch_stops_once_its_replies_exceed_the_limit() -> None:
    """The batch's replies together are bounded too: past the limit the batch is one error, and
    the calls after the one that crossed it never run."""
    dispatcher = Dispatcher(max_reply_size=1000)
    calls: list[int] = []

    async def medium(number: int) -> str:
        calls.append(number)
        return "x" * 400

    dispatcher.register("medium", medium)
    reply = await dispatcher.handle_message(json.dumps([make_request("medium", [i], i) for i in range(10)]))
    assert reply is not None and len(reply) <= 1000
    error = {"code": TOO_BIG_BATCH_RESPONSE, "message": "The batch response was too large"}
    assert json.loads(reply) == {"jsonrpc": "2.0", "error": {**error, "data": "Exceeded max limit of 1000"}, "id": None}
    assert calls == [0, 1, 2]


async def test_batch_over_its_cost_is_refused_before_any_call_runs() -> None:
    dispatcher = Dispatcher(max_batch_cost=100)
    calls: list[str] = []

    async def cheap() -> None:
        calls.append("cheap")

    async def dear() -> None:
        calls.append("dear")

    dispatcher.register("cheap", cheap)
    dispatcher.register("dear", dear, cost=40)
    within = [make_request("dear", [], 1), make_request("dear", [], 2), *[make_request("cheap", [], 3)] * 20]
    assert len(json.loads(await dispatcher.handle_message(json.dumps(within)) or "")) == 22
    calls.clear()
    reply = await dispatcher.handle_message(json.dumps([make_request("dear", [], i) for i in range(3)]))
    assert json.loads(reply or "")["error"] == {
        "code": TOO_BIG_BATCH_REQUEST,
        "message": "The batch request was too large",
        "data": "Exceeded max cost of 100",
    }
    assert calls == []


def test_registering_a_name_twice_is_refused() -> None:
    dispatcher = make_dispatcher()
    with pytest.raises(ValueError):
        dispatcher.register("add", make_dispatcher().call)


def test_rpc_errors_are_flock_errors() -> None:
    assert issubclass(RpcError, FlockError) and issubclass(RpcPortUnavailable, FlockError)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["jsonrpc", "method", "params", "id", "x"]), children, max_size=5)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
async def test_any_json_gets_a_well_formed_reply_or_none(value: Any) -> None:
    reply = await handle(json.dumps(value))
    replies = reply if isinstance(reply, list) else [] if reply is None else [reply]
    for item in replies:
        assert item["jsonrpc"] == "2.0" and "id" in item
        assert ("result" in item) != ("error" in item)


# --- chain methods over HTTP --------------------------------------------------------------


def expected_header_json(header: Header) -> dict[str, Any]:
    """Written out field by field, independently of the server's encoder."""
    return {
        "parentHash": to_hex(header.parent_hash),
        "number": hex(header.number),
        "stateRoot": to_hex(header.state_root),
        "extrinsicsRoot": to_hex(header.extrinsics_root),
        "digest": {"logs": [to_hex(encode_value(DigestItem, item)) for item in header.digests]},
        "slot": hex(header.slot),
        "timestamp": hex(header.timestamp),
        "author": to_hex(header.author),
        "seal": to_hex(header.seal),
    }


async def test_get_header_defaults_to_the_best_block(client: httpx.AsyncClient, node: FakeNode) -> None:
    header = await call(client, "chain_getHeader")
    assert header == expected_header_json(node.chain[-1].header)
    assert header["number"] == "0x2" and header["slot"] == "0x66"
    assert header["timestamp"] == hex(1_700_000_012_000)
    assert header["author"] == "0x" + "ab" * 32


async def test_get_header_by_hash(client: httpx.AsyncClient, node: FakeNode) -> None:
    genesis, block_one = node.chain[0], node.chain[1]
    assert (await call(client, "chain_getHeader", to_hex(genesis.hash)))["number"] == "0x0"
    header = await call(client, "chain_getHeader", to_hex(block_one.hash).upper().replace("0X", "0x"))
    assert header == expected_header_json(block_one.header)
    assert len(header["digest"]["logs"]) == 2
    assert header["parentHash"] == to_hex(genesis.hash)


async def test_unknown_block_is_null(client: httpx.AsyncClient) -> None:
    assert await call(client, "chain_getHeader", UNKNOWN_HASH) is None
    assert await call(client, "chain_getBlock", UNKNOWN_HASH) is None
    assert await call(client, "chain_getBlockHash", CHAIN_LENGTH) is None


async def test_get_block(client: httpx.AsyncClient, node: FakeNode) -> None:
    block = node.chain[2]
    signed_block = await call(client, "chain_getBlock", to_hex(block.hash))
    assert signed_block == {
        "block": {"header": expected_header_json(block.header), "extrinsics": [to_hex(xt) for xt in block.extrinsics]},
        "justifications": None,
    }
    assert signed_block["block"]["extrinsics"] == ["0x020002000200", "0x020102010201"]
    assert await call(client, "chain_getBlock") == signed_block


async def test_get_block_serves_the_justification_of_a_finalized_block(
    client: httpx.AsyncClient, node: FakeNode
) -> None:
    finalized = node.finalized_hash()
    signed_block = await call(client, "chain_getBlock", to_hex(finalized))
    assert signed_block["justifications"] == [["FRNK", to_hex(b"proof of " + finalized[:4])]]


async def test_get_block_hash(client: httpx.AsyncClient, node: FakeNode) -> None:
    assert await call(client, "chain_getBlockHash") == to_hex(node.best_hash())
    assert await call(client, "chain_getBlockHash", None) == to_hex(node.best_hash())
    assert await call(client, "chain_getBlockHash", 0) == to_hex(node.chain[0].hash)
    assert await call(client, "chain_getBlockHash", "0x1") == to_hex(node.chain[1].hash)
    assert await call(client, "chain_getBlockHash", "0x01") == to_hex(node.chain[1].hash)


@pytest.mark.parametrize("number", [-1, 1.0, True, "1", "0x", "0xg", 2**32, [1]])
async def test_get_block_hash_refuses_bad_numbers(client: httpx.AsyncClient, number: Any) -> None:
    assert (await call_error(client, "chain_getBlockHash", number))["code"] == INVALID_PARAMS


@pytest.mark.parametrize("block_hash", ["0x1234", "ab" * 32, "0x" + "a" * 63, "0x" + "zz" * 32, 5, "0x" + "ab" * 33])
async def test_malformed_hash_is_invalid_params(client: httpx.AsyncClient, block_hash: Any) -> None:
    assert (await call_error(client, "chain_getHeader", block_hash))["code"] == INVALID_PARAMS
    assert (await call_error(client, "chain_getBlock", block_hash))["code"] == INVALID_PARAMS


async def test_get_finalized_head(client: httpx.AsyncClient, node: FakeNode) -> None:
    assert await call(client, "chain_getFinalizedHead") == to_hex(node.chain[1].hash)


async def test_named_params_use_substrate_names(client: httpx.AsyncClient, node: FakeNode) -> None:
    response = await post(client, make_request("chain_getHeader", {"hash": to_hex(node.chain[0].hash)}))
    assert response.json()["result"]["number"] == "0x0"


# --- author methods -----------------------------------------------------------------------


async def test_submit_extrinsic_returns_its_hash_and_pools_it(client: httpx.AsyncClient) -> None:
    first, second = b"\x01\x02\x03", b"\x0a\x0b"
    assert await call(client, "author_pendingExtrinsics") == []
    assert await call(client, "author_submitExtrinsic", to_hex(first)) == to_hex(compute_extrinsic_hash(first))
    assert await call(client, "author_submitExtrinsic", "0x0A0B") == to_hex(compute_extrinsic_hash(second))
    assert await call(client, "author_pendingExtrinsics") == ["0x010203", "0x0a0b"]


def fill_pool(node: FakeNode, count: int, size: int = 150) -> list[bytes]:
    node.pool = [index.to_bytes(4, "big") * (size // 4) for index in range(count)]
    return list(node.pool)


async def page_through(client: httpx.AsyncClient, page_size: int, between_pages: Any = None) -> list[str]:
    """Every extrinsic ``author_pendingExtrinsics`` pages out, following the cursor to the end."""
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = await call(client, "author_pendingExtrinsics", page_size, cursor)
        assert len(page["extrinsics"]) <= page_size
        seen += page["extrinsics"]
        cursor = page["nextKey"]
        if cursor is None:
            return seen
        if between_pages is not None:
            between_pages()
    pytest.fail("the cursor never reached the end")


async def test_pending_extrinsics_pages_with_a_stable_cursor(client: httpx.AsyncClient, node: FakeNode) -> None:
    """Every extrinsic pending throughout is paged out exactly once, whatever leaves or enters
    the pool between pages."""
    pooled = fill_pool(node, 45)
    assert sorted(await page_through(client, 10)) == sorted(map(to_hex, pooled))
    churn = iter(range(100, 200))

    def change_pool() -> None:
        node.pool.remove(node.pool[len(node.pool) // 2])
        node.pool.append(next(churn).to_bytes(4, "big") * 30)

    seen = await page_through(client, 10, change_pool)
    assert len(seen) == len(set(seen))
    assert set(map(to_hex, node.pool)) & set(map(to_hex, pooled)) <= set(seen)


async def test_pending_extrinsics_page_ends_before_the_reply_limit(client: httpx.AsyncClient, node: FakeNode) -> None:
    pooled = fill_pool(node, 20, size=TEST_LIMITS.max_reply_size // 8)
    page = await call(client, "author_pendingExtrinsics", MAX_PENDING_PAGE_SIZE)
    assert 1 <= len(page["extrinsics"]) < 4 and page["nextKey"] is not None
    assert sorted(await page_through(client, MAX_PENDING_PAGE_SIZE)) == sorted(map(to_hex, pooled))


@pytest.mark.parametrize(
    "params",
    [[0], [MAX_PENDING_PAGE_SIZE + 1], ["10"], [True], [1.5], [10, "0x00"], [10, 5], {"count": 10, "startKey": "x"}],
)
async def test_pending_extrinsics_refuses_bad_pages(client: httpx.AsyncClient, params: Any) -> None:
    response = await post(client, make_request("author_pendingExtrinsics", params))
    assert response.json()["error"]["code"] == INVALID_PARAMS


async def test_pending_extrinsics_without_params_over_the_reply_limit_is_an_error(
    client: httpx.AsyncClient, node: FakeNode
) -> None:
    fill_pool(node, 1000)
    error = await call_error(client, "author_pendingExtrinsics")
    assert error["code"] == OVERSIZED_RESPONSE and "startKey" in error["data"]


async def test_batch_of_pending_extrinsics_has_a_bounded_reply(node: FakeNode) -> None:
    """The attack: a 648-byte batch of ``author_pendingExtrinsics`` against a full pool asked
    for a reply of hundreds of megabytes. Each call's reply and the batch's are bounded, and
    so is what answering allocates."""
    fill_pool(node, 8192)
    limits = RpcLimits()
    dispatcher = build_dispatcher(node, max_reply_size=limits.max_reply_size, max_batch_cost=limits.max_batch_cost)
    batch = json.dumps([make_request("author_pendingExtrinsics", None, i) for i in range(10)], separators=(",", ":"))
    assert len(batch) <= 648
    tracemalloc.start()
    try:
        reply = await dispatcher.handle_message(batch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reply is not None and len(reply) <= limits.max_reply_size
    assert peak < 3 * limits.max_reply_size
    fill_pool(node, 100_000)  # more than any pool holds: the error costs no more
    assert json.loads(await dispatcher.handle_message(batch) or "")[0]["error"]["code"] == OVERSIZED_RESPONSE


async def test_refused_transaction_is_error_1010_with_reason(client: httpx.AsyncClient, node: FakeNode) -> None:
    error = await call_error(client, "author_submitExtrinsic", to_hex(REJECTED_PREFIX + b"\x00"))
    assert error == {
        "code": INVALID_TRANSACTION,
        "message": "Invalid Transaction",
        "data": "Transaction has a bad signature",
    }
    assert node.pool == []


async def test_refusal_without_message_gives_the_error_description(client: httpx.AsyncClient) -> None:
    error = await call_error(client, "author_submitExtrinsic", "0x")
    assert error["code"] == 1010
    assert error["data"] == "Bytes that do not decode as an extrinsic, or a call the runtime does not know."


@pytest.mark.parametrize("extrinsic", ["0x123", "123456", "0x12 34", 1234, None])
async def test_malformed_extrinsic_hex_is_invalid_params(client: httpx.AsyncClient, extrinsic: Any) -> None:
    assert (await call_error(client, "author_submitExtrinsic", extrinsic))["code"] == INVALID_PARAMS


async def test_missing_param_is_invalid_params(client: httpx.AsyncClient) -> None:
    assert (await call_error(client, "author_submitExtrinsic"))["code"] == INVALID_PARAMS


async def test_node_failure_is_internal_error_without_details(client: httpx.AsyncClient) -> None:
    response = await post(client, make_request("author_submitExtrinsic", [to_hex(INTERNAL_FAILURE_PREFIX)]))
    assert response.status_code == 200
    assert response.json()["error"] == {"code": INTERNAL_ERROR, "message": "Internal error"}
    assert "secret" not in response.text and "Traceback" not in response.text


# --- system methods -----------------------------------------------------------------------


async def test_system_methods(client: httpx.AsyncClient) -> None:
    assert await call(client, "system_health") == {"peers": 3, "isSyncing": False, "shouldHavePeers": True}
    assert await call(client, "system_chain") == "Flockchain Test"
    assert await call(client, "system_name") == "flockchain"
    assert await call(client, "system_version") == get_node_version()
    assert await call(client, "system_properties") == {"tokenSymbol": "FLOCK", "tokenDecimals": 12, "ss58Format": 42}


async def test_account_next_index_takes_hex_or_ss58(client: httpx.AsyncClient) -> None:
    assert await call(client, "system_accountNextIndex", to_hex(ALICE)) == 5
    assert await call(client, "system_accountNextIndex", encode_address(ALICE)) == 5
    assert await call(client, "system_accountNextIndex", encode_address(ALICE, prefix=0)) == 5
    assert await call(client, "system_accountNextIndex", to_hex(bytes(32))) == 0


@pytest.mark.parametrize("account", ["0x1234", "not an address", encode_address(ALICE)[:-1] + "x", 5, None])
async def test_account_next_index_refuses_bad_accounts(client: httpx.AsyncClient, account: Any) -> None:
    assert (await call_error(client, "system_accountNextIndex", account))["code"] == INVALID_PARAMS


async def test_rpc_methods_lists_every_method_sorted(client: httpx.AsyncClient) -> None:
    names = (await call(client, "rpc_methods"))["methods"]
    assert names == sorted([*(entry.name for entry in METHODS), "rpc_methods"])
    assert {"chain_getHeader", "state_getStorage", "author_submitAndWatchExtrinsic", "rpc_methods"} <= set(names)


# --- protocol errors and limits over HTTP -------------------------------------------------


async def test_http_parse_error(client: httpx.AsyncClient) -> None:
    response = await post(client, content=b'{"jsonrpc": "2.0", "method"')
    assert response.status_code == 200
    assert response.json() == {"jsonrpc": "2.0", "error": {"code": PARSE_ERROR, "message": "Parse error"}, "id": None}


async def test_http_invalid_request_and_unknown_method(client: httpx.AsyncClient) -> None:
    assert (await post(client, {"jsonrpc": "2.0", "id": 4})).json()["error"]["code"] == INVALID_REQUEST
    assert (await call_error(client, "chain_nope"))["code"] == METHOD_NOT_FOUND
    assert (await call_error(client, "system_name", 1))["code"] == INVALID_PARAMS


async def test_http_batch(client: httpx.AsyncClient, node: FakeNode) -> None:
    batch = [
        make_request("chain_getBlockHash", [0], 1),
        {"jsonrpc": "2.0", "method": "author_submitExtrinsic", "params": ["0x01"]},
        make_request("author_submitExtrinsic", ["0x02"], 2),
        make_request("author_pendingExtrinsics", [], 3),
        make_request("nope", [], 4),
    ]
    replies = (await post(client, batch)).json()
    assert [reply["id"] for reply in replies] == [1, 2, 3, 4]
    assert replies[0]["result"] == to_hex(node.chain[0].hash)
    assert replies[2]["result"] == ["0x01", "0x02"]  # the batch ran in order, the notification too
    assert replies[3]["error"]["code"] == METHOD_NOT_FOUND


async def test_http_notifications_get_no_content(client: httpx.AsyncClient, node: FakeNode) -> None:
    response = await post(client, {"jsonrpc": "2.0", "method": "author_submitExtrinsic", "params": ["0x07"]})
    assert response.status_code == 204 and response.content == b""
    response = await post(client, [{"jsonrpc": "2.0", "method": "system_name"}] * 2)
    assert response.status_code == 204 and response.content == b""
    assert node.pool == [b"\x07"]


async def test_http_batch_over_the_limit(client: httpx.AsyncClient) -> None:
    def batch(size: int) -> list[dict[str, Any]]:
        return [make_request("system_name", [], i) for i in range(size)]

    reply = (await post(client, batch(TEST_LIMITS.max_batch_size + 1))).json()
    assert reply["error"]["code"] == TOO_BIG_BATCH_REQUEST and reply["id"] is None
    assert len((await post(client, batch(TEST_LIMITS.max_batch_size))).json()) == TEST_LIMITS.max_batch_size


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    big_extrinsic = "0x" + "00" * TEST_LIMITS.max_body_size
    response = await post(client, make_request("author_submitExtrinsic", [big_extrinsic]))
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": OVERSIZED_REQUEST,
        "message": "Request is too big",
        "data": "Exceeded max limit of 4096",
    }


async def test_oversized_body_without_declared_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b" " * 1000  # whitespace: valid JSON padding, so only the size can be wrong

    response = await post(client, content=chunks())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413


async def test_body_at_the_limit_is_served(client: httpx.AsyncClient) -> None:
    body = json.dumps(make_request("system_name", [])).encode()
    response = await post(client, content=body.ljust(TEST_LIMITS.max_body_size))
    assert response.status_code == 200 and response.json()["result"] == "flockchain"


async def test_get_on_rpc_path_is_not_allowed(client: httpx.AsyncClient) -> None:
    with trio.fail_after(TIMEOUT):
        assert (await client.get("/")).status_code == 405


# --- health endpoints ---------------------------------------------------------------------


async def test_health_endpoint(client: httpx.AsyncClient, node: FakeNode) -> None:
    with trio.fail_after(TIMEOUT):
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"peers": 3, "isSyncing": False, "shouldHavePeers": True}
        node.current_health = (0, True, True)
        assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize(
    "health, status",
    [
        (NodeHealth(peers=3, is_syncing=False, should_have_peers=True), 200),
        (NodeHealth(peers=0, is_syncing=False, should_have_peers=False), 200),
        (NodeHealth(peers=0, is_syncing=False, should_have_peers=True), 503),
        (NodeHealth(peers=3, is_syncing=True, should_have_peers=True), 503),
    ],
)
async def test_readiness_endpoint(client: httpx.AsyncClient, node: FakeNode, health: tuple, status: int) -> None:
    node.current_health = health
    with trio.fail_after(TIMEOUT):
        assert (await client.get("/health/readiness")).status_code == status


# --- startup and shutdown -----------------------------------------------------------------


def is_port_listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_shutdown_by_cancellation_frees_the_port(node: FakeNode) -> None:
    """Cancel with an idle keep-alive connection and a request in flight: the server task
    returns promptly, the client sees the connection close, and the port can be served again."""
    client_errors: list[Exception] = []

    async def stalled_request(http_client: httpx.AsyncClient) -> None:
        try:
            await http_client.post("/", json=make_request("author_submitExtrinsic", [to_hex(STALLING_PREFIX)]))
        except httpx.TransportError as error:
            client_errors.append(error)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as client_nursery:
            async with trio.open_nursery() as server_nursery:
                port = await server_nursery.start(serve_rpc, node, "127.0.0.1", 0)
                assert is_port_listening(port)
                http_client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
                assert await call(http_client, "system_name") == "flockchain"  # leaves a keep-alive connection
                client_nursery.start_soon(stalled_request, http_client)
                await node.submission_stalled.wait()
                server_nursery.cancel_scope.cancel()
        await http_client.aclose()
        assert len(client_errors) == 1
        assert not is_port_listening(port)
        async with trio.open_nursery() as server_nursery:
            assert await server_nursery.start(serve_rpc, node, "127.0.0.1", port) == port
            server_nursery.cancel_scope.cancel()


async def test_port_in_use_raises_a_clear_error(node: FakeNode) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:
                with pytest.raises(RpcPortUnavailable, match=f"127.0.0.1:{port}"):
                    await nursery.start(serve_rpc, node, "127.0.0.1", port)

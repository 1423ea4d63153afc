"""Every limit of the RPC port, and bad input to every new method, against a running dev node:
each gets a clear JSON-RPC error, HTTP status or WebSocket close, and the node keeps serving.
And a property: no request body and no WebSocket frame crashes the server or leaks a
subscription.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rpc_helpers import RpcFailure, RunningNode, new_dev_node, open_http, open_ws, start_dev_node
from trio_websocket import ConnectionClosed, ConnectionRejected, open_websocket_url

from flockchain.node.notifications import BlockFinalized, NotificationHub
from flockchain.rpc.options import CorsPolicy, RpcOptions
from flockchain.rpc.registry import METHODS
from flockchain.rpc.server import RpcLimits
from runtime.pallets import system

TIMEOUT_S = 60
KEY = "0x" + system.Account.storage_key(b"\x01" * 32).hex()


async def start(nursery: trio.Nursery, tmp_path: Path, **limits: Any) -> RunningNode:
    node = new_dev_node(tmp_path / "keystore", limits=RpcLimits(**limits))
    return await start_dev_node(nursery, node)


# --- per-connection limits over WebSocket ---------------------------------------------------


async def test_a_message_over_the_size_limit_closes_the_websocket_with_1009(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start(nursery, tmp_path, max_body_size=1024)
    async with open_websocket_url(running.ws_url) as ws:
        await ws.send_message("x" * 2048)
        with pytest.raises(ConnectionClosed) as closed, trio.fail_after(TIMEOUT_S):
            await ws.get_message()
    assert closed.value.reason.code == 1009
    async with open_http(running.url) as rpc:
        assert await rpc.call("system_name") == "flockchain"


async def test_batches_over_websocket_keep_the_batch_limits_and_order(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start(nursery, tmp_path, max_batch_size=3)
    async with open_websocket_url(running.ws_url) as ws:
        batch = [{"jsonrpc": "2.0", "id": index, "method": "system_name"} for index in range(3)]
        await ws.send_message(json.dumps(batch))
        with trio.fail_after(TIMEOUT_S):
            assert [reply["id"] for reply in json.loads(await ws.get_message())] == [0, 1, 2]
        await ws.send_message(json.dumps(batch + batch[:1]))
        with trio.fail_after(TIMEOUT_S):
            error = json.loads(await ws.get_message())["error"]
        assert error == {
            "code": -32010,
            "message": "The batch request was too large",
            "data": "Exceeded max limit of 3",
        }
        await ws.send_message(b"\xff not json")
        with trio.fail_after(TIMEOUT_S):
            assert json.loads(await ws.get_message())["error"]["code"] == -32700


async def test_websocket_connections_count_against_the_connection_limits(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start(nursery, tmp_path, max_connections_per_client=2)
    async with open_ws(running.ws_url) as first, open_ws(running.ws_url) as second:
        with pytest.raises(ConnectionRejected) as refused:
            async with open_websocket_url(running.ws_url):
                pass
        assert refused.value.status_code == 503
        assert await first.call("system_name") == await second.call("system_name")
    await trio.testing.wait_all_tasks_blocked()  # the server has seen both close
    async with open_ws(running.ws_url) as again:  # places are given back when connections close
        assert await again.call("system_name") == "flockchain"


async def test_subscriptions_per_connection_are_limited(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start(nursery, tmp_path, max_subscriptions_per_connection=2, max_watched_keys_per_connection=3)
    async with open_ws(running.ws_url) as rpc:
        await rpc.call("state_subscribeStorage", [KEY, KEY])
        with pytest.raises(RpcFailure) as too_many_keys:
            await rpc.call("state_subscribeStorage", [KEY, KEY])
        assert too_many_keys.value.error == {
            "code": -32006,
            "message": "Too many subscriptions on the connection",
            "data": "Exceeded max limit of 3 watched storage keys",
        }
        await rpc.call("chain_subscribeNewHeads")
        with pytest.raises(RpcFailure) as too_many:
            await rpc.call("chain_subscribeAllHeads")
        assert too_many.value.code == -32006 and too_many.value.error["data"] == "Exceeded max limit of 2"
        with pytest.raises(RpcFailure) as too_many_watches:
            await rpc.call("author_submitAndWatchExtrinsic", "0x" + running.transfer(0).hex())
        assert too_many_watches.value.code == -32006
    assert running.node.hub.watched_count == 0  # the refused watch left nothing behind


async def test_a_subscriber_whose_outbox_overflows_is_closed_with_a_reason(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start(nursery, tmp_path, max_buffered_messages=4)
    async with open_ws(running.ws_url) as rpc:
        for _ in range(6):  # each block brings six notifications at once: more than the outbox holds
            await rpc.call("chain_subscribeNewHeads")
        with trio.fail_after(TIMEOUT_S):
            await rpc.closed.wait()
    assert rpc.close_reason.code == 1008
    assert rpc.close_reason.reason == "too slow: 4 messages were waiting to be sent"
    assert running.node.hub.feed_count == 0


async def test_a_client_that_stops_reading_is_dropped_and_its_subscriptions_end(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start(nursery, tmp_path)
    async with open_websocket_url(running.ws_url, message_queue_size=1) as ws:
        with contextlib.suppress(ConnectionClosed):  # the node may drop it while it still sends
            for index in range(64):  # replies and notifications pile up: the client reads none
                await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": index, "method": "chain_subscribeNewHeads"}))
        feed = running.node.hub.open_feed()
        with trio.fail_after(TIMEOUT_S):
            async for event in feed.receive:  # the node goes on; the session ends by itself
                if running.node.hub.feed_count == 1 and isinstance(event, BlockFinalized):
                    break
        feed.close()
    assert running.node.metrics.rpc_subscriptions._value.get() == 0  # noqa: SLF001


def test_a_feed_that_falls_behind_is_closed() -> None:
    hub = NotificationHub(feed_capacity=2)
    feed = hub.open_feed()
    events = [BlockFinalized(bytes([index]) * 32, None) for index in range(3)]  # type: ignore[arg-type]
    hub.publish(events)
    assert feed.overflowed and hub.feed_count == 0
    assert [feed.receive.receive_nowait(), feed.receive.receive_nowait()] == events[:2]
    with pytest.raises(trio.EndOfChannel):
        feed.receive.receive_nowait()


# --- CORS -----------------------------------------------------------------------------------


async def test_an_origin_the_cors_policy_does_not_allow_is_refused(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    options = RpcOptions(cors=CorsPolicy(("http://localhost:*", "https://polkadot.js.org")))
    running = await start_dev_node(nursery, new_dev_node(tmp_path, options=options))
    body = {"jsonrpc": "2.0", "id": 1, "method": "system_name"}
    async with httpx.AsyncClient(base_url=running.url) as client:
        refused = await client.post("/", json=body, headers={"origin": "https://evil.example"})
        assert refused.status_code == 403
        allowed = await client.post("/", json=body, headers={"origin": "http://localhost:3000"})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
        preflight = await client.options(
            "/", headers={"origin": "https://polkadot.js.org", "access-control-request-method": "POST"}
        )
        assert preflight.status_code == 204 and "POST" in preflight.headers["access-control-allow-methods"]
        assert (await client.post("/", json=body)).status_code == 200  # no origin: not a browser
    with pytest.raises(ConnectionRejected) as rejected:
        async with open_websocket_url(running.ws_url, extra_headers=[(b"origin", b"https://evil.example")]):
            pass
    assert rejected.value.status_code == 403


# --- bad params of every new method ---------------------------------------------------------

BAD_PARAMS: list[tuple[str, list[Any]]] = [
    ("state_getStorage", ["0xabc"]),
    ("state_getStorage", ["0x" + "00" * 1025]),
    ("state_getStorage", [KEY, "0x1234"]),
    ("state_getStorageHash", [5]),
    ("state_getStorageSize", [None]),
    ("state_getKeysPaged", ["0x", 0]),
    ("state_getKeysPaged", ["0x", 1001]),
    ("state_getKeysPaged", ["0x", True]),
    ("state_getKeysPaged", ["0x", 10, "zz"]),
    ("state_queryStorageAt", [[]]),
    ("state_queryStorageAt", [[KEY] * 257]),
    ("state_queryStorageAt", [KEY]),
    ("state_getReadProof", [["0xgg"]]),
    ("state_subscribeStorage", [[]]),
    ("author_removeExtrinsic", [{"hash": "0x00"}]),
    ("author_removeExtrinsic", [[{"hash": "0x00"}]]),
    ("author_removeExtrinsic", [[{"hash": None}]]),
    ("author_removeExtrinsic", [[{"hash": "0x" + "00" * 32, "extrinsic": "0x00"}]]),
    ("author_removeExtrinsic", [[{"hash": "0x" + "00" * 32}] * 257]),
    ("author_hasKey", ["0x" + "00" * 32, "aura"]),
    ("author_hasKey", ["0x00", "babe"]),
    ("author_submitAndWatchExtrinsic", ["not hex"]),
    ("author_unwatchExtrinsic", [7]),
    ("chain_unsubscribeNewHeads", [None]),
    ("chain_unsubscribeFinalizedHeads", [{}]),
    ("chain_unsubscribeAllHeads", [[]]),
    ("state_unsubscribeStorage", [1]),
    ("state_unsubscribeRuntimeVersion", [False]),
    ("grandpa_proveFinality", ["ten"]),
    ("grandpa_proveFinality", [-1]),
    ("grandpa_roundState", [1]),
    ("flock_validators", ["0x12"]),
    ("flock_mlTasks", ["bitcoin"]),
    ("flock_mlTask", ["arena", -1]),
    ("flock_mlTask", ["arena", "0"]),
    ("flock_mlRound", ["alliance", 0, 2**32]),
    ("flock_mlSubmissions", ["arena", 0]),
    ("flock_mlScores", ["arena", 0, None]),
    ("flock_modelProvenance", [1.5]),
    ("system_chainType", ["extra"]),
]


def test_bad_params_cover_every_new_method_with_params() -> None:
    covered = {name for name, _ in BAD_PARAMS}
    new_with_params = {
        entry.name
        for entry in METHODS
        if entry.example and entry.name.split("_")[0] in ("state", "flock", "grandpa", "author")
    } - {"author_submitExtrinsic", "author_pendingExtrinsics", "state_getMetadata"}
    assert new_with_params <= covered


async def test_bad_params_are_invalid_params_with_a_reason(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start(nursery, tmp_path)
    async with open_ws(running.ws_url) as rpc:
        for method, params in BAD_PARAMS:
            reply = await rpc.request(method, *params)
            assert reply["error"]["code"] == -32602, (method, params, reply)
            assert reply["error"]["data"], (method, params)
    assert running.node.hub.watched_count == 0 and running.node.hub.feed_count == 0


# --- no frame crashes the server or leaks a subscription -------------------------------------

METHOD_NAMES = sorted({entry.name for entry in METHODS} | {"rpc_methods", "no_such_method", ""})
JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20)
HEXES = st.sampled_from([KEY, "0x", "0x00", "0x" + "ab" * 32, "0X12", "0xzz"])
PARAMS = st.lists(JSON_LEAVES | HEXES | st.lists(HEXES, max_size=3), max_size=4)
REQUESTS = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "1.0"]), "method": st.sampled_from(METHOD_NAMES), "params": PARAMS},
    optional={"id": JSON_LEAVES},
)
FRAMES = st.one_of(
    REQUESTS.map(json.dumps),
    st.lists(REQUESTS, max_size=4).map(json.dumps),
    st.text(max_size=64),
    st.binary(max_size=64),
)
SENTINEL_ID = "sentinel"


def is_sentinel_reply(message: Any) -> bool:
    return isinstance(message, dict) and message.get("id") == SENTINEL_ID


async def exercise_server(frames: list[str | bytes], bodies: list[bytes]) -> None:
    """Send every frame on one WebSocket and every body as a POST, then check that the node
    still answers and holds no subscription and no watch."""
    async with trio.open_nursery() as nursery:
        running = await start_dev_node(nursery, new_dev_node(limits=RpcLimits(max_body_size=4096)))
        async with open_websocket_url(running.ws_url) as ws:
            try:
                for frame in frames:
                    await ws.send_message(frame)
                await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": SENTINEL_ID, "method": "system_name"}))
                with trio.fail_after(TIMEOUT_S):
                    while not is_sentinel_reply(json.loads(await ws.get_message())):
                        pass
            except ConnectionClosed as closed:
                assert closed.reason.code in (1008, 1009), closed.reason  # dropped for a reason, never a crash
        async with httpx.AsyncClient(base_url=running.url) as client:
            for body in bodies:
                assert (await client.post("/", content=body)).status_code in (200, 204, 413)
            reply = await client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "system_name"})
            assert reply.json()["result"] == "flockchain"
        await trio.testing.wait_all_tasks_blocked()  # the server has seen the WebSocket close
        assert running.node.hub.feed_count == running.node.hub.watched_count == 0
        assert running.node.metrics.rpc_subscriptions._value.get() == 0  # noqa: SLF001
        nursery.cancel_scope.cancel()


BODIES = st.binary(max_size=80) | REQUESTS.map(lambda request: json.dumps(request).encode())


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(frames=st.lists(FRAMES, max_size=6), bodies=st.lists(BODIES, max_size=3))
def test_no_frame_or_body_crashes_the_server_or_leaks_a_subscription(
    frames: list[str | bytes], bodies: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        trio.run(exercise_server, frames, bodies, clock=trio.testing.MockClock(autojump_threshold=0))
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]

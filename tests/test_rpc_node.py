"""Every RPC method against a running in-process dev node, over HTTP and over WebSocket, and the
subscriptions over WebSocket: new and finalized heads arrive, a transfer's watch goes ready →
inBlock → finalized, unsubscribing stops delivery.

The node runs on trio's virtual clock (a block per virtual second, milliseconds of real time)
and serves on an ephemeral 127.0.0.1 port; every wait is bounded (``rpc_helpers.TIMEOUT_S``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from rpc_helpers import (
    SPEC,
    HttpRpc,
    RpcFailure,
    RunningNode,
    WsRpc,
    new_dev_node,
    open_http,
    open_ws,
    start_dev_node,
)

from consensus.authority_sets import get_voter_set
from consensus.grandpa.justification import verify_justification
from flockchain.rpc.methods import encode_record_json
from flockchain.rpc.options import RpcOptions
from flockchain.rpc.registry import METHODS
from flockchain.state import verify_proof
from flockchain.state.proof import hash_value
from genesis.dev_accounts import dev_keypair
from runtime import api
from runtime.abc import StateReader
from runtime.block import Justification, compute_extrinsic_hash
from runtime.pallets import system
from runtime.primitives.address import encode_address

ALICE = dev_keypair("alice").public_key
BOB = dev_keypair("bob").public_key
ALICE_KEY = system.Account.storage_key(ALICE)
BOB_KEY = system.Account.storage_key(BOB)
ABSENT_KEY = system.Account.storage_key(b"\x07" * 32)
Rpc = HttpRpc | WsRpc


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def from_hex(text: str) -> bytes:
    assert text.startswith("0x")
    return bytes.fromhex(text[2:])


@pytest.fixture
async def running(nursery: trio.Nursery, tmp_path: Path) -> RunningNode:
    """A dev node that has finalized a few blocks; tests ask for ``autojump_clock`` themselves."""
    node = await start_dev_node(nursery, new_dev_node(tmp_path / "keystore"))
    await node.wait_for_finalized(3)
    return node


async def open_rpc(transport: str, node: RunningNode) -> AsyncIterator[Rpc]:
    if transport == "http":
        async with open_http(node.url) as rpc:
            yield rpc
    else:
        async with open_ws(node.ws_url) as rpc:
            yield rpc


class ProvenState(StateReader):
    """The values a ``flock_*`` answer proved, each checked against the state root: a read over
    it gives what the node's read gave only if every key it needs was proven."""

    def __init__(self, state_root: bytes, entries: list[dict[str, Any]]) -> None:
        self.values: dict[bytes, bytes | None] = {}
        for entry in entries:
            key, value = from_hex(entry["key"]), None if entry["value"] is None else from_hex(entry["value"])
            verify_proof(state_root, key, value, from_hex(entry["proof"]))
            self.values[key] = value

    def get(self, key: bytes) -> bytes | None:
        assert key in self.values, f"the read needs 0x{key.hex()}, which the answer did not prove"
        return self.values[key]

    def iter_prefix(self, prefix: bytes) -> Any:
        raise AssertionError("a proven read never scans")


def check_proven(answer: dict[str, Any], node: RunningNode, read: Callable[[StateReader], Any]) -> Any:
    """Verify every proof against the stated block's root and re-run ``read`` over the proven
    values: it must give the answer's value."""
    header = node.node.chain.get_header(from_hex(answer["at"]))
    assert header is not None and answer["stateRoot"] == to_hex(header.state_root)
    state = ProvenState(header.state_root, answer["storage"])
    assert encode_record_json(read(state)) == answer["value"]
    return answer["value"]


# --- every method, over either transport ----------------------------------------------------


async def check_chain(rpc: Rpc, node: RunningNode) -> None:
    chain = node.node.chain
    first = chain.blocks.get_canonical_hash(1)
    assert first is not None
    assert await rpc.call("chain_getBlockHash", 1) == to_hex(first)
    assert await rpc.call("chain_getBlockHash", "0x1") == to_hex(first)
    assert await rpc.call("chain_getBlockHash", 10**6) is None
    header = await rpc.call("chain_getHeader", to_hex(first))
    assert header["number"] == "0x1" and header["parentHash"] == to_hex(chain.genesis_hash)
    assert int((await rpc.call("chain_getHeader"))["number"], 16) >= 3
    block = await rpc.call("chain_getBlock", to_hex(first))
    assert block["block"]["header"] == header and block["block"]["extrinsics"]
    finalized = await rpc.call("chain_getFinalizedHead")
    assert int((await rpc.call("chain_getHeader", finalized))["number"], 16) >= 3


async def check_state(rpc: Rpc, node: RunningNode) -> None:
    at = await rpc.call("chain_getFinalizedHead")
    state = node.node.chain.state_at(from_hex(at))
    alice = state.get(ALICE_KEY)
    assert alice is not None
    assert await rpc.call("state_getStorage", to_hex(ALICE_KEY), at) == to_hex(alice)
    assert await rpc.call("state_getStorage", to_hex(ABSENT_KEY), at) is None
    assert await rpc.call("state_getStorageHash", to_hex(ALICE_KEY), at) == to_hex(hash_value(alice))
    assert await rpc.call("state_getStorageSize", to_hex(ALICE_KEY), at) == len(alice)
    prefix = to_hex(system.Account.prefix)
    first_page = await rpc.call("state_getKeysPaged", prefix, 3, None, at)
    second_page = await rpc.call("state_getKeysPaged", prefix, 3, first_page[-1], at)
    everything = await rpc.call("state_getKeysPaged", prefix, 1000, None, at)
    assert first_page + second_page == everything[:6] and everything == sorted(everything)
    assert to_hex(ALICE_KEY) in everything and all(key.startswith(prefix) for key in everything)
    assert await rpc.call("state_queryStorageAt", [to_hex(ALICE_KEY), to_hex(ABSENT_KEY)], at) == [
        {"block": at, "changes": [[to_hex(ALICE_KEY), to_hex(alice)], [to_hex(ABSENT_KEY), None]]}
    ]
    proof = await rpc.call("state_getReadProof", [to_hex(ALICE_KEY), to_hex(ABSENT_KEY)], at)
    root = node.node.chain.get_header(from_hex(at)).state_root  # type: ignore[union-attr]
    assert proof["at"] == at
    verify_proof(root, ALICE_KEY, alice, from_hex(proof["proof"][0]))
    verify_proof(root, ABSENT_KEY, None, from_hex(proof["proof"][1]))
    assert (await rpc.call("state_getMetadata"))["metadataVersion"] == 1
    assert (await rpc.call("state_getRuntimeVersion"))["specName"] == api.get_runtime_version().spec_name


async def check_author(rpc: Rpc, node: RunningNode) -> None:
    future = node.transfer(nonce=50)  # a nonce far ahead: it waits in the pool
    future_hash = to_hex(compute_extrinsic_hash(future))
    assert await rpc.call("author_submitExtrinsic", to_hex(future)) == future_hash
    assert to_hex(future) in await rpc.call("author_pendingExtrinsics")
    page = await rpc.call("author_pendingExtrinsics", 10, None)
    assert to_hex(future) in page["extrinsics"]
    assert await rpc.call("author_removeExtrinsic", [{"hash": future_hash}]) == [future_hash]
    assert await rpc.call("author_removeExtrinsic", [{"extrinsic": to_hex(future)}]) == []
    assert to_hex(future) not in await rpc.call("author_pendingExtrinsics")
    keys = from_hex(await rpc.call("author_rotateKeys"))
    assert len(keys) == 64
    assert await rpc.call("author_hasKey", to_hex(keys[:32]), "babe") is True
    assert await rpc.call("author_hasKey", to_hex(keys[:32]), "gran") is True
    assert await rpc.call("author_hasKey", to_hex(BOB), "babe") is False
    info = await rpc.call("payment_queryInfo", to_hex(future))
    assert info["class"] == "normal" and int(info["partialFee"]) > 0 and info["weight"] > 0


async def check_system(rpc: Rpc, node: RunningNode) -> None:
    assert await rpc.call("system_health") == {"peers": 0, "isSyncing": False, "shouldHavePeers": False}
    assert await rpc.call("system_chain") == SPEC.name
    assert await rpc.call("system_chainType") == "Development"
    assert await rpc.call("system_name") == "flockchain"
    assert isinstance(await rpc.call("system_version"), str)
    assert await rpc.call("system_properties") == SPEC.properties
    assert await rpc.call("system_nodeRoles") == ["Authority"]
    assert await rpc.call("system_localPeerId") is None
    assert await rpc.call("system_peers") == []
    sync = await rpc.call("system_syncState")
    assert sync["startingBlock"] == 0 and sync["currentBlock"] == sync["highestBlock"] >= 3
    assert await rpc.call("system_accountNextIndex", encode_address(ALICE)) >= 0
    methods = (await rpc.call("rpc_methods"))["methods"]
    assert methods == sorted(methods) and "author_submitAndWatchExtrinsic" in methods


async def check_finality(rpc: Rpc, node: RunningNode) -> None:
    proof = await rpc.call("grandpa_proveFinality", 1)
    assert proof["complete"] is True and proof["setChanges"] == []  # one validator: the set never changes
    finalized = proof["finalized"]
    justification = Justification.decode(from_hex(finalized["justification"]))
    assert to_hex(justification.target_hash) == finalized["block"]
    chain = node.node.chain
    verify_justification(justification, get_voter_set(chain.state_at(chain.finalized_hash)), chain.genesis_hash, chain)
    assert await rpc.call("grandpa_proveFinality", 10**6) is None
    rounds = await rpc.call("grandpa_roundState")
    assert rounds["setId"] == 0 and rounds["best"]["round"] >= 1
    assert rounds["best"]["totalWeight"] >= rounds["best"]["thresholdWeight"] > 0


async def check_flock(rpc: Rpc, node: RunningNode) -> None:
    at = await rpc.call("chain_getFinalizedHead")
    validators = check_proven(await rpc.call("flock_validators", at), node, api.get_staking)
    assert [validator["validator"] for validator in validators["validators"]] == [to_hex(ALICE)]
    check_proven(await rpc.call("flock_eraRewards", at), node, api.get_era_rewards)
    assert check_proven(await rpc.call("flock_unappliedSlashes", at), node, api.get_unapplied_slashes) == []
    emission = check_proven(await rpc.call("flock_emission", at), node, api.get_emission)
    assert emission["started"] is True and emission["issued"] > 0
    for market in api.ML_MARKETS:
        assert (
            check_proven(
                await rpc.call("flock_mlTasks", market, at), node, lambda s, m=market: api.get_ml_active_tasks(s, m)
            )
            == []
        )
        assert (
            check_proven(
                await rpc.call("flock_mlTask", market, 0, at), node, lambda s, m=market: api.get_ml_task(s, m, 0)
            )
            is None
        )
        for method, read in (
            ("flock_mlSubmissions", api.get_ml_work),
            ("flock_mlScores", api.get_ml_attestations),
            ("flock_mlRound", api.get_ml_round),
        ):
            answer = await rpc.call(method, market, 0, 0, at)
            check_proven(answer, node, lambda s, m=market, r=read: r(s, m, 0, 0))  # type: ignore[misc]
    assert (
        check_proven(await rpc.call("flock_modelProvenance", 0, at), node, lambda s: api.get_model_provenance(s, 0))
        == []
    )
    proposals = await rpc.call("flock_proposals", at)
    assert proposals["proposals"] == [] and proposals["openProposalIds"]["value"] == []


CHECKS: dict[Callable[[Rpc, RunningNode], Awaitable[None]], tuple[str, ...]] = {
    check_chain: ("chain_getBlockHash", "chain_getHeader", "chain_getBlock", "chain_getFinalizedHead"),
    check_state: (
        "state_getStorage",
        "state_getStorageHash",
        "state_getStorageSize",
        "state_getKeysPaged",
        "state_queryStorageAt",
        "state_getReadProof",
        "state_getMetadata",
        "state_getRuntimeVersion",
    ),
    check_author: (
        "author_submitExtrinsic",
        "author_pendingExtrinsics",
        "author_removeExtrinsic",
        "author_rotateKeys",
        "author_hasKey",
        "payment_queryInfo",
    ),
    check_system: (
        "system_health",
        "system_chain",
        "system_chainType",
        "system_name",
        "system_version",
        "system_properties",
        "system_nodeRoles",
        "system_localPeerId",
        "system_peers",
        "system_syncState",
        "system_accountNextIndex",
        "rpc_methods",
    ),
    check_finality: ("grandpa_proveFinality", "grandpa_roundState"),
    check_flock: (
        "flock_validators",
        "flock_eraRewards",
        "flock_unappliedSlashes",
        "flock_emission",
        "flock_mlTasks",
        "flock_mlTask",
        "flock_mlSubmissions",
        "flock_mlScores",
        "flock_mlRound",
        "flock_modelProvenance",
        "flock_proposals",
    ),
}
# Tested over WebSocket below (over HTTP they answer that they need a WebSocket).
SUBSCRIPTION_METHODS = {entry.name for entry in METHODS if entry.needs_session}


def test_every_method_is_checked() -> None:
    checked = {name for names in CHECKS.values() for name in names}
    assert checked | SUBSCRIPTION_METHODS == {entry.name for entry in METHODS} | {"rpc_methods"}
    assert not checked & SUBSCRIPTION_METHODS


@pytest.mark.parametrize("transport", ["http", "ws"])
async def test_every_method_answers_over(
    transport: str, autojump_clock: trio.testing.MockClock, running: RunningNode
) -> None:
    async for rpc in open_rpc(transport, running):
        for check in CHECKS:
            await check(rpc, running)


# --- subscriptions over WebSocket -----------------------------------------------------------


async def test_new_and_finalized_heads_arrive(autojump_clock: trio.testing.MockClock, running: RunningNode) -> None:
    async with open_ws(running.ws_url) as rpc:
        new_heads = await rpc.call("chain_subscribeNewHeads")
        finalized_heads = await rpc.call("chain_subscribeFinalizedHeads")
        all_heads = await rpc.call("chain_subscribeAllHeads")
        first_best = int((await rpc.next_result(new_heads))["number"], 16)
        first_final = int((await rpc.next_result(finalized_heads))["number"], 16)
        assert first_final >= 3 and first_best >= first_final
        bests = [int((await rpc.next_result(new_heads))["number"], 16) for _ in range(3)]
        assert bests == sorted(bests) and bests[0] > first_best
        finals = [int((await rpc.next_result(finalized_heads))["number"], 16) for _ in range(3)]
        assert finals == list(range(first_final + 1, first_final + 4))  # each block, in order
        imported = [await rpc.next_result(all_heads) for _ in range(3)]
        assert [int(header["number"], 16) for header in imported[1:]] == [
            int(imported[0]["number"], 16) + 1,
            int(imported[0]["number"], 16) + 2,
        ]


async def test_a_watched_transfer_goes_ready_in_block_finalized(
    autojump_clock: trio.testing.MockClock, running: RunningNode
) -> None:
    async with open_ws(running.ws_url) as rpc:
        storage = await rpc.call("state_subscribeStorage", [to_hex(BOB_KEY)])
        initial = await rpc.next_result(storage)
        bob_before = initial["changes"][0][1]
        transfer = running.transfer(nonce=0)
        watch = await rpc.call("author_submitAndWatchExtrinsic", to_hex(transfer))
        statuses = [await rpc.next_result(watch) for _ in range(3)]
        assert statuses[0] == "ready"
        block = statuses[1]["inBlock"]
        assert statuses[2] == {"finalized": block}
        included = running.node.chain.blocks.get_block(from_hex(block))
        assert included is not None and transfer in included.extrinsics
        changed = await rpc.next_result(storage)  # Bob's balance changed in that block
        assert changed["block"] == block and changed["changes"][0][0] == to_hex(BOB_KEY)
        assert changed["changes"][0][1] != bob_before
        assert running.node.hub.watched_count == 0  # a final status ends the watch
        assert await rpc.call("author_unwatchExtrinsic", watch) is False


async def test_unsubscribing_stops_delivery(autojump_clock: trio.testing.MockClock, running: RunningNode) -> None:
    async with open_ws(running.ws_url) as rpc:
        stopped = await rpc.call("chain_subscribeNewHeads")
        kept = await rpc.call("chain_subscribeNewHeads")
        await rpc.next_result(stopped)
        assert await rpc.call("chain_unsubscribeFinalizedHeads", stopped) is False  # not that kind
        assert await rpc.call("chain_unsubscribeNewHeads", stopped) is True
        delivered = rpc.pending_notifications(stopped)  # all sent before the reply have arrived
        for _ in range(4):
            await rpc.next_result(kept)
        assert rpc.pending_notifications(stopped) == delivered
        assert await rpc.call("chain_unsubscribeNewHeads", stopped) is False
        assert await rpc.call("chain_unsubscribeNewHeads", kept) is True
        assert running.node.hub.feed_count == 0  # no subscription left: the feed is closed


async def test_every_unsubscribe_method_ends_its_subscription(
    autojump_clock: trio.testing.MockClock, running: RunningNode
) -> None:
    async with open_ws(running.ws_url) as rpc:
        pairs = [
            ("chain_subscribeNewHeads", "chain_unsubscribeNewHeads", ()),
            ("chain_subscribeFinalizedHeads", "chain_unsubscribeFinalizedHeads", ()),
            ("chain_subscribeAllHeads", "chain_unsubscribeAllHeads", ()),
            ("state_subscribeStorage", "state_unsubscribeStorage", ([to_hex(ALICE_KEY)],)),
            ("state_subscribeRuntimeVersion", "state_unsubscribeRuntimeVersion", ()),
        ]
        for subscribe, unsubscribe, params in pairs:
            subscription = await rpc.call(subscribe, *params)
            assert await rpc.call(unsubscribe, subscription) is True
            assert await rpc.call(unsubscribe, subscription) is False
        version = await rpc.call("state_subscribeRuntimeVersion")
        assert (await rpc.next_result(version))["specName"] == api.get_runtime_version().spec_name
        future = running.transfer(nonce=60)
        watch = await rpc.call("author_submitAndWatchExtrinsic", to_hex(future))
        assert await rpc.next_result(watch) == "future"
        assert await rpc.call("author_unwatchExtrinsic", watch) is True
        assert running.node.hub.watched_count == 0


async def test_a_refused_watch_is_error_1010_and_leaves_no_watch(
    autojump_clock: trio.testing.MockClock, running: RunningNode
) -> None:
    async with open_ws(running.ws_url) as rpc:
        transfer = running.transfer(nonce=0)
        corrupt = transfer[:-1] + bytes([transfer[-1] ^ 1])  # a broken signature
        reply = await rpc.request("author_submitAndWatchExtrinsic", to_hex(corrupt))
        assert reply["error"]["code"] == 1010
        assert running.node.hub.watched_count == 0 and running.node.hub.feed_count == 0


async def test_a_removed_watched_transaction_is_invalid(
    autojump_clock: trio.testing.MockClock, running: RunningNode
) -> None:
    async with open_ws(running.ws_url) as rpc:
        future = running.transfer(nonce=70)
        watch = await rpc.call("author_submitAndWatchExtrinsic", to_hex(future))
        assert await rpc.next_result(watch) == "future"
        await rpc.call("author_removeExtrinsic", [{"extrinsic": to_hex(future)}])
        assert await rpc.next_result(watch) == "invalid"
        assert await rpc.call("author_unwatchExtrinsic", watch) is False  # a final status ended it


async def test_over_http_a_subscription_needs_a_websocket(
    autojump_clock: trio.testing.MockClock, running: RunningNode
) -> None:
    async with open_http(running.url) as rpc:
        for name in sorted(SUBSCRIPTION_METHODS):
            reply = await rpc.request(name)
            assert reply["error"]["code"] == -32601
            assert reply["error"]["message"] == "Subscriptions need a WebSocket connection"


# --- policy, health and metrics --------------------------------------------------------------


async def test_unsafe_methods_are_refused_when_denied(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start_dev_node(nursery, new_dev_node(tmp_path, options=RpcOptions(deny_unsafe=True)))
    unsafe = sorted(entry.name for entry in METHODS if entry.unsafe)
    assert unsafe == ["author_hasKey", "author_removeExtrinsic", "author_rotateKeys", "system_peers"]
    async for rpc in open_rpc("ws", running):
        for name in unsafe:
            with pytest.raises(RpcFailure) as refused:
                await rpc.call(name, *next(entry.example for entry in METHODS if entry.name == name))
            assert refused.value.error == {
                "code": -32601,
                "message": "RPC call is unsafe to be called externally",
                "data": name,
            }
        assert await rpc.call("system_name") == "flockchain"
    assert list(tmp_path.iterdir()) == []  # nothing was written to the keystore


async def test_rotate_keys_without_a_password_says_the_keystore_is_locked(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery, tmp_path: Path
) -> None:
    running = await start_dev_node(nursery, new_dev_node(tmp_path / "keystore", password=None))
    async with open_http(running.url) as rpc:
        with pytest.raises(RpcFailure) as locked:
            await rpc.call("author_rotateKeys")
    assert locked.value.code == 5002 and "--password-filename" in locked.value.error["data"]


async def test_health_readiness_and_metrics(autojump_clock: trio.testing.MockClock, running: RunningNode) -> None:
    async with httpx.AsyncClient(base_url=running.url) as client, open_http(running.url) as rpc:
        assert (await client.get("/health")).json() == {"peers": 0, "isSyncing": False, "shouldHavePeers": False}
        assert (await client.get("/health/readiness")).status_code == 200  # a dev node wants no peers
        await rpc.call("chain_getHeader")
        await rpc.request("no_suchMethod")
        await rpc.request("chain_getBlockHash", "not a number")
        metrics = (await client.get("/metrics")).text
    head, finalized = running.node.chain.head.number, running.node.chain.finalized_header.number
    lines = set(metrics.splitlines())
    assert f'flockchain_block_height{{status="best"}} {float(head)}' in lines
    assert f'flockchain_block_height{{status="finalized"}} {float(finalized)}' in lines
    assert f"flockchain_finality_lag_blocks {float(head - finalized)}" in lines
    assert 'flockchain_rpc_calls_total{method="chain_getHeader",outcome="ok"} 1.0' in lines
    assert 'flockchain_rpc_calls_total{method="unknown",outcome="-32601"} 1.0' in lines
    assert 'flockchain_rpc_calls_total{method="chain_getBlockHash",outcome="-32602"} 1.0' in lines
    assert f"flockchain_blocks_authored_total {float(head)}" in lines
    assert 'flockchain_pool_transactions{status="ready"} 0.0' in lines
    assert "flockchain_peers 0.0" in lines
    assert any(line.startswith('flockchain_block_import_seconds_count{origin="authored"}') for line in lines)
    assert "# TYPE flockchain_gossip_messages_total counter" in lines

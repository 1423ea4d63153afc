"""``state_getMetadata``, ``state_getRuntimeVersion`` and ``payment_queryInfo`` over a node whose
state is a real genesis state (the RPC's protocol and HTTP are ``tests/test_rpc.py``'s)."""

from __future__ import annotations

import json
from typing import Any

from flockchain.db.memory import MemoryStore
from flockchain.rpc.jsonrpc import INVALID_PARAMS
from flockchain.rpc.registry import build_dispatcher
from flockchain.state import StateTree
from flockchain.state.reader import ProvableTreeState
from genesis.dev_accounts import dev_keypair
from runtime import api
from runtime.accounts import FLOCK
from runtime.block import Block, Header, compute_extrinsic_hash, compute_extrinsics_root
from runtime.construct import RUNTIME_VERSION, construct_runtime
from runtime.executive import Executive
from runtime.framework.metadata import compute_metadata_hash, encode_metadata_json
from runtime.pallets import balances, system, transaction_payment
from runtime_helpers import build_genesis_state, sign_transfer

RUNTIME = construct_runtime()
ALICE, BOB = dev_keypair("alice"), dev_keypair("bob")  # the CLI signs as //Alice by default
UNKNOWN_HASH = "0x" + "ee" * 32


class StateNode:
    """A chain of its genesis block over a real state tree where //Alice holds funds, and a pool
    that keeps every extrinsic the runtime would accept. An account's next index is its nonce
    in the state (the pool is not counted), so two signings with the same key and call give the
    same extrinsic."""

    chain_name = "Metadata Test"
    properties: dict[str, Any] = {"ss58Format": 42}

    def __init__(self) -> None:
        state = build_genesis_state(RUNTIME, [ALICE.public_key])
        self.tree = StateTree(MemoryStore())
        self.tree.apply(dict(state.iter_prefix(b"")))
        self.tree.commit(0)
        self.header = Header(
            bytes(32), 0, 0, 0, self.tree.root_at(0), compute_extrinsics_root(()), bytes(32), (), bytes(64)
        )
        self.block_hash = self.header.hash
        self.executive = Executive(RUNTIME, self.block_hash)
        self.pool: list[bytes] = []

    @property
    def state(self) -> ProvableTreeState:
        return ProvableTreeState(self.tree, 0)

    def best_hash(self) -> bytes:
        return self.block_hash

    def finalized_hash(self) -> bytes:
        return self.block_hash

    def get_header(self, block_hash: bytes) -> Header | None:
        return self.header if block_hash == self.block_hash else None

    def get_block(self, block_hash: bytes) -> Block | None:
        return Block(self.header, ()) if block_hash == self.block_hash else None

    def get_canonical_hash(self, number: int) -> bytes | None:
        return self.block_hash if number == 0 else None

    def get_justification(self, block_hash: bytes) -> bytes | None:
        return None

    async def submit_extrinsic(self, encoded: bytes) -> bytes:
        self.executive.validate_transaction(self.state, encoded, 1, self.block_hash)
        self.pool.append(encoded)
        return compute_extrinsic_hash(encoded)

    def pending_extrinsics(self) -> list[bytes]:
        return list(self.pool)

    def account_next_index(self, account: bytes) -> int:
        return system.get_account(self.state, account).nonce

    def health(self) -> tuple[int, bool, bool]:
        return 0, False, False

    def provable_state(self, block_hash: bytes) -> ProvableTreeState | None:
        return self.state if block_hash == self.block_hash else None


async def rpc(node: StateNode, method: str, *params: Any) -> dict[str, Any]:
    request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    reply = await build_dispatcher(node).handle_message(json.dumps(request))
    assert reply is not None
    return json.loads(reply)


async def call(node: StateNode, method: str, *params: Any) -> Any:
    reply = await rpc(node, method, *params)
    assert "error" not in reply, reply
    return reply["result"]


async def test_state_get_metadata_is_the_runtimes_document() -> None:
    node = StateNode()
    document = await call(node, "state_getMetadata")
    assert document == await call(node, "state_getMetadata", "0x" + node.block_hash.hex())
    assert encode_metadata_json(document) == api.get_metadata_json()
    assert compute_metadata_hash(encode_metadata_json(document)) == api.get_metadata_hash()
    assert await call(node, "state_getMetadata", UNKNOWN_HASH) is None
    assert {"state_getMetadata", "state_getRuntimeVersion", "payment_queryInfo"} <= set(
        (await call(node, "rpc_methods"))["methods"]
    )


async def test_state_get_runtime_version_has_substrates_shape() -> None:
    node = StateNode()
    assert await call(node, "state_getRuntimeVersion") == {
        "specName": RUNTIME_VERSION.spec_name,
        "implName": "flockchain",
        "authoringVersion": 0,
        "specVersion": RUNTIME_VERSION.spec_version,
        "implVersion": 0,
        "apis": [],
        "transactionVersion": RUNTIME_VERSION.transaction_version,
    }
    assert await call(node, "state_getRuntimeVersion", UNKNOWN_HASH) is None


async def test_payment_query_info_is_the_fee_a_block_would_charge() -> None:
    node = StateNode()
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, genesis_hash=node.block_hash)
    weight = balances.Balances.CALLS[0].weight
    assert await call(node, "payment_queryInfo", "0x" + xt.hex()) == {
        "weight": weight,
        "class": "normal",
        "partialFee": str(transaction_payment.get_fee(node.state, len(xt), weight)),
    }
    assert await call(node, "payment_queryInfo", "0x" + xt.hex(), UNKNOWN_HASH) is None
    error = (await rpc(node, "payment_queryInfo", "0x1234"))["error"]
    assert error["code"] == INVALID_PARAMS and "does not decode" in error["data"]

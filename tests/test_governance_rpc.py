"""``flock_proposals``: open governance proposals with state proofs a light client checks
against the block's state root, over a real state tree."""

from __future__ import annotations

import pytest

from flockchain.db.memory import MemoryStore
from flockchain.rpc.methods import NodeMethods, parse_hex_bytes
from flockchain.rpc.registry import build_dispatcher
from flockchain.state import StateTree, verify_proof
from flockchain.state.reader import ProvableTreeState
from runtime.block import Header
from runtime.construct import construct_runtime
from runtime.errors import InvalidProof
from runtime.pallets import governance, transaction_payment
from runtime.primitives.address import encode_address
from runtime.primitives.codec import decode_value
from runtime.primitives.hashing import blake2b_256
from runtime_helpers import at_block, build_genesis_state, dispatch, named_keypair

RUNTIME = construct_runtime()
BOB = named_keypair("bob").public_key
DESCRIPTION = blake2b_256(b"cheaper fees")
FEES = transaction_payment.FeeParameters(base_fee=7, length_fee=0, weight_fee=0, author_share_parts=0)


class ProvingNode:
    """What ``flock_proposals`` needs of the node: one block whose state holds a proposal."""

    def __init__(self) -> None:
        state = build_genesis_state(RUNTIME, [BOB])
        ctx = at_block(state, 1, BOB)
        call = RUNTIME.encode_call(transaction_payment.PARAMETERS.call_args(FEES))
        dispatch(ctx, BOB, governance.ProposeArgs(call, DESCRIPTION, 10_000))
        self.tree = StateTree(MemoryStore())
        self.tree.apply(dict(state.iter_prefix(b"")) | ctx.state.changes)
        self.tree.commit(1)
        self.header = Header(bytes(32), 1, 1, 1_000, self.tree.root_at(1), bytes(32), BOB, (), bytes(64))
        self.block_hash = self.header.hash

    def best_hash(self) -> bytes:
        return self.block_hash

    def get_header(self, block_hash: bytes) -> Header | None:
        return self.header if block_hash == self.block_hash else None

    def provable_state(self, block_hash: bytes) -> ProvableTreeState | None:
        return ProvableTreeState(self.tree, 1) if block_hash == self.block_hash else None


def check_proven(root: bytes, entry: dict) -> bytes | None:
    """Verify one ``{"key", "value", "proof"}`` entry against ``root``; its value."""
    value = None if entry["value"] is None else parse_hex_bytes(entry["value"], "value")
    verify_proof(root, parse_hex_bytes(entry["key"], "key"), value, parse_hex_bytes(entry["proof"], "proof"))
    return value


async def test_flock_proposals_lists_open_proposals_with_proofs_under_the_state_root() -> None:
    node = ProvingNode()
    result = await NodeMethods(node).flock_proposals()  # type: ignore[arg-type]
    root = node.header.state_root
    assert result["stateRoot"] == "0x" + root.hex()
    assert result["nextProposalId"]["value"] == 1
    check_proven(root, result["nextProposalId"]["storage"])
    parameters = check_proven(root, result["parameters"])
    assert decode_value(governance.PARAMETERS.storage.value_type, parameters) == governance.DEFAULT_PARAMETERS
    [proposal] = result["proposals"]
    assert {key: proposal[key] for key in ("id", "proposer", "callName", "descriptionHash", "stake", "status")} == {
        "id": 0,
        "proposer": encode_address(BOB),
        "callName": "transaction_payment.set_parameters",
        "descriptionHash": "0x" + DESCRIPTION.hex(),
        "stake": 10_000,
        "status": "flagging",
    }
    stored = decode_value(governance.Proposals.value_type, check_proven(root, proposal["storage"]))
    assert stored.call == RUNTIME.encode_call(transaction_payment.PARAMETERS.call_args(FEES))


async def test_a_tampered_value_fails_its_proof() -> None:
    node = ProvingNode()
    result = await NodeMethods(node).flock_proposals()  # type: ignore[arg-type]
    entry = dict(result["proposals"][0]["storage"])
    entry["value"] = entry["value"][:-2] + ("00" if not entry["value"].endswith("00") else "01")
    with pytest.raises(InvalidProof):
        check_proven(node.header.state_root, entry)


async def test_unknown_block_is_null_and_the_method_is_listed() -> None:
    node = ProvingNode()
    assert await NodeMethods(node).flock_proposals("0x" + "11" * 32) is None  # type: ignore[arg-type]
    dispatcher = build_dispatcher(node)  # type: ignore[arg-type]
    assert "flock_proposals" in dispatcher.method_names


async def test_the_listing_comes_with_a_proof_of_the_open_proposal_index() -> None:
    """A client proves the index governance keeps, so it can tell a listing that leaves a
    proposal out: the listed ids must be exactly the proven ones."""
    node = ProvingNode()
    result = await NodeMethods(node).flock_proposals()  # type: ignore[arg-type]
    raw = check_proven(node.header.state_root, result["openProposalIds"]["storage"])
    assert raw is not None and governance.decode_open_proposal_ids(raw) == (0,)
    assert result["openProposalIds"]["value"] == [0]
    assert [proposal["id"] for proposal in result["proposals"]] == [0]

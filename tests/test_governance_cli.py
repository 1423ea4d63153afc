"""``flockchain gov``: calls built from JSON, refusals as one clear line, and ``show`` checking
the node's proofs against the state root of the header it fetched."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
import trio
from test_governance_rpc import DESCRIPTION, FEES, ProvingNode

from flockchain.cli import gov, main
from flockchain.rpc.methods import NodeMethods, encode_header_json
from runtime.construct import construct_runtime
from runtime.pallets import governance, offences, transaction_payment, treasury
from runtime.primitives.address import encode_address
from runtime.primitives.codec import decode_value, encode_value
from runtime_helpers import named_keypair

RUNTIME = construct_runtime()
BOB = named_keypair("bob").public_key
FEES_JSON = json.dumps(
    {"parameters": {"base_fee": 7, "length_fee": 0, "weight_fee": 0, "author_share_parts": 0}},
)


def propose_encoded(capsys: pytest.CaptureFixture[str], call: str, arguments: str) -> bytes:
    assert main(["gov", "propose", call, arguments, "--stake", "1 FLOCK", "--description", "x", "--encode-only"]) == 0
    return bytes.fromhex(capsys.readouterr().out.strip()[2:])


def test_propose_builds_the_call_from_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert propose_encoded(capsys, "transaction_payment.set_parameters", FEES_JSON) == RUNTIME.encode_call(
        transaction_payment.PARAMETERS.call_args(FEES)
    )
    assert propose_encoded(
        capsys, "offences.cancel_deferred_slash", '{"era": 3, "indices": [0, 2]}'
    ) == RUNTIME.encode_call(offences.CancelDeferredSlashArgs(3, (0, 2)))
    spend = json.dumps({"beneficiary": encode_address(BOB), "amount": "2.5 FLOCK"})
    assert propose_encoded(capsys, "treasury.spend", spend) == RUNTIME.encode_call(
        treasury.SpendArgs(BOB, 2_500_000_000)
    )


@pytest.mark.parametrize(
    ("call", "arguments", "message"),
    [
        (
            "balances.transfer_allow_death",
            '{"dest": "0x' + "00" * 32 + '", "amount": 1}',
            "governance may not call balances.transfer_allow_death",
        ),
        ("emission.nope", "{}", "no call 'emission.nope'"),
        ("treasury.spend", '{"amount": 1}', r"missing fields \['beneficiary'\]"),
        ("treasury.spend", '{"beneficiary": "0x' + "00" * 32 + '", "amount": 1, "x": 1}', r"unknown fields \['x'\]"),
        ("treasury.spend", '{"beneficiary": "0x' + "00" * 32 + '", "amount": -1}', "expected u64"),
        ("treasury.spend", "{not json", "not JSON"),
    ],
)
def test_propose_refuses_bad_calls_in_one_line(
    capsys: pytest.CaptureFixture[str], call: str, arguments: str, message: str
) -> None:
    assert main(["gov", "propose", call, arguments, "--stake", "1", "--description", "x", "--encode-only"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert re.search(message, error)


class FakeRpc:
    """Answers ``show``'s three calls from a :class:`ProvingNode`; ``tamper`` edits the answer."""

    def __init__(self, node: ProvingNode, tamper: Any = None) -> None:
        self.node, self.tamper = node, tamper

    def call(self, method: str, *params: Any) -> Any:
        if method == "chain_getBlockHash":
            return "0x" + self.node.block_hash.hex()
        if method == "chain_getHeader":
            return encode_header_json(self.node.header)
        assert method == "flock_proposals"
        result = trio.run(NodeMethods(self.node).flock_proposals, *params)  # type: ignore[arg-type]
        if self.tamper:
            self.tamper(result)
        return result


def test_show_prints_the_verified_proposals(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    node = ProvingNode()
    monkeypatch.setattr(gov, "RpcClient", lambda url: FakeRpc(node))
    assert main(["gov", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)
    [proposal] = shown["proposals"]
    assert proposal["id"] == 0
    assert proposal["call"]["name"] == "transaction_payment.set_parameters"
    assert proposal["descriptionHash"] == "0x" + DESCRIPTION.hex()
    assert proposal["status"] == "flagging"
    assert main(["gov", "show", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["proposals"] == []


def test_show_refuses_an_answer_that_does_not_match_the_state_root(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    def raise_the_stake(result: dict[str, Any]) -> None:
        storage = result["proposals"][0]["storage"]
        proposal = decode_value(governance.Proposals.value_type, bytes.fromhex(storage["value"][2:]))
        forged = replace(proposal, stake=proposal.stake + 1)
        storage["value"] = "0x" + encode_value(governance.Proposals.value_type, forged).hex()

    node = ProvingNode()
    monkeypatch.setattr(gov, "RpcClient", lambda url: FakeRpc(node, raise_the_stake))
    assert main(["gov", "show"]) == 1
    assert "does not match the state root" in capsys.readouterr().err

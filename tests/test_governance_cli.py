"""``flockchain gov``: calls built from JSON and the node's metadata, refusals as one clear line,
and ``show`` checking the node's proofs against the state root of the header it fetched, at the
keys the metadata derives."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
import trio
from test_governance_rpc import DESCRIPTION, FEES, ProvingNode

from flockchain.cli import gov, main
from flockchain.rpc.client import RpcError
from flockchain.rpc.registry import build_dispatcher
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


class FakeRpc:
    """Answers the CLI's calls from a :class:`ProvingNode` through the node's own RPC methods;
    ``tamper`` edits a ``flock_proposals`` answer."""

    def __init__(self, node: ProvingNode, tamper: Any = None) -> None:
        self.dispatcher, self.tamper = build_dispatcher(node), tamper  # type: ignore[arg-type]

    def call(self, method: str, *params: Any) -> Any:
        request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        answer = trio.run(self.dispatcher.handle_message, request)
        assert answer is not None
        reply = json.loads(answer)
        if "error" in reply:
            raise RpcError(reply["error"]["message"], reply["error"]["code"], reply["error"].get("data"))
        if method == "flock_proposals" and self.tamper:
            self.tamper(reply["result"])
        return reply["result"]


@pytest.fixture
def proving_node(monkeypatch: Any) -> ProvingNode:
    """The node every ``gov`` command here talks to (``show`` tests may tamper with its answers)."""
    proving = ProvingNode()
    monkeypatch.setattr(gov, "RpcClient", lambda url: FakeRpc(proving))
    return proving


def propose_encoded(capsys: pytest.CaptureFixture[str], call: str, arguments: str) -> bytes:
    assert main(["gov", "propose", call, arguments, "--stake", "1 FLOCK", "--description", "x", "--encode-only"]) == 0
    return bytes.fromhex(capsys.readouterr().out.strip()[2:])


@pytest.mark.usefixtures("proving_node")
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


@pytest.mark.usefixtures("proving_node")
@pytest.mark.parametrize(
    ("call", "arguments", "message"),
    [
        (
            "balances.transfer_allow_death",
            '{"dest": "0x' + "00" * 32 + '", "amount": 1}',
            "governance may not call balances.transfer_allow_death \\(it may call: alliance.set_parameters, "
            "arena.set_parameters, emission.set_parameters, ",
        ),
        ("emission.nope", "{}", "no call 'emission.nope': no such call"),
        ("nope", "{}", "no call 'nope': no such pallet"),
        ("treasury.spend", '{"amount": 1}', "treasury.spend.beneficiary: missing"),
        (
            "treasury.spend",
            '{"beneficiary": "0x' + "00" * 32 + '", "amount": 1, "x": 1}',
            "treasury.spend.x: unknown field",
        ),
        (
            "treasury.spend",
            '{"beneficiary": "0x' + "00" * 32 + '", "amount": -1}',
            "treasury.spend.amount: expected u64",
        ),
        ("treasury.spend", '{"beneficiary": "5Nope", "amount": 1}', "treasury.spend.beneficiary: "),
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


@pytest.mark.usefixtures("proving_node")
def test_show_prints_the_verified_proposals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gov", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)
    [proposal] = shown["proposals"]
    assert proposal["id"] == 0
    assert proposal["call"] == {
        "name": "transaction_payment.set_parameters",
        "arguments": {"parameters": {"base_fee": 7, "length_fee": 0, "weight_fee": 0, "author_share_parts": 0}},
    }
    assert proposal["descriptionHash"] == "0x" + DESCRIPTION.hex()
    assert proposal["status"] == "flagging"
    assert main(["gov", "show", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["proposals"] == []


def raise_the_stake(result: dict[str, Any]) -> None:
    storage = result["proposals"][0]["storage"]
    proposal = decode_value(governance.Proposals.value_type, bytes.fromhex(storage["value"][2:]))
    forged = replace(proposal, stake=proposal.stake + 1)
    storage["value"] = "0x" + encode_value(governance.Proposals.value_type, forged).hex()


def hide_the_proposals(result: dict[str, Any]) -> None:
    result["proposals"] = []


def prove_another_key(result: dict[str, Any]) -> None:
    result["openProposalIds"]["storage"] = result["nextProposalId"]["storage"]


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (raise_the_stake, "does not match the state root"),
        (hide_the_proposals, r"the node lists proposals \[\], but the proven index of open ones is \[0\]"),
        (prove_another_key, "where governance.OpenProposalIds is"),
    ],
)
def test_show_refuses_an_answer_its_proofs_do_not_back(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any, proving_node: ProvingNode, tamper: Any, message: str
) -> None:
    monkeypatch.setattr(gov, "RpcClient", lambda url: FakeRpc(proving_node, tamper))
    assert main(["gov", "show"]) == 1
    assert re.search(message, capsys.readouterr().err)

"""``flockchain tx call``, ``tx transfer`` and the signed ``gov`` commands, built on the metadata
the node serves, against an in-process RPC server on a loopback port (the CLI runs in a worker
thread, as a user's process would block on its HTTP calls)."""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any

import pytest
import trio
from test_governance_cli import FEES_JSON
from test_governance_rpc import FEES
from test_rpc_metadata import BOB, RUNTIME, StateNode

from flockchain.cli import main
from flockchain.rpc.server import serve_rpc
from runtime import api
from runtime.accounts import FLOCK
from runtime.block import compute_extrinsic_hash, decode_extrinsic
from runtime.pallets import balances, governance, session, staking, system, transaction_payment
from runtime.primitives.address import encode_address
from runtime.primitives.hashing import blake2b_256

TIMEOUT = 30  # seconds any one CLI run may take
BOB_ADDRESS = encode_address(BOB.public_key)


@pytest.fixture
def node() -> StateNode:
    return StateNode()


@pytest.fixture
async def rpc_url(nursery: trio.Nursery, node: StateNode) -> str:
    with trio.fail_after(TIMEOUT):
        port = await nursery.start(serve_rpc, node, "127.0.0.1", 0)
    return f"http://127.0.0.1:{port}"


async def run_cli(capsys: pytest.CaptureFixture[str], rpc_url: str, *argv: str) -> tuple[int, str, str]:
    """``flockchain ARGV --rpc-url URL``: its status, standard output and standard error."""
    with trio.fail_after(TIMEOUT):
        status = await trio.to_thread.run_sync(partial(main, [*argv, "--rpc-url", rpc_url]))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


async def dry_run(capsys: pytest.CaptureFixture[str], rpc_url: str, *argv: str) -> dict[str, Any]:
    status, out, err = await run_cli(capsys, rpc_url, *argv, "--dry-run")
    assert status == 0, err
    return json.loads(out)


async def test_tx_call_builds_the_call_and_extrinsic_tx_transfer_builds(
    capsys: pytest.CaptureFixture[str], rpc_url: str, node: StateNode
) -> None:
    by_call = await dry_run(
        capsys, rpc_url, "tx", "call", "balances", "transfer_allow_death", f"dest={BOB_ADDRESS}", "amount=2.5 FLOCK"
    )
    by_transfer = await dry_run(capsys, rpc_url, "tx", "transfer", "--to", BOB_ADDRESS, "--amount", "2.5 FLOCK")
    assert by_call == by_transfer
    call = RUNTIME.encode_call(balances.TransferArgs(BOB.public_key, 2_500_000_000))
    assert by_call["call"] == "0x" + call.hex()
    extrinsic = bytes.fromhex(by_call["extrinsic"][2:])
    assert decode_extrinsic(extrinsic).call == call
    info = api.compute_fee_info(node.state, extrinsic)
    assert (by_call["weight"], by_call["fee"]) == (info.weight, info.partial_fee)
    assert node.pool == []  # a dry run submits nothing


async def test_tx_call_submits_what_its_dry_run_printed(
    capsys: pytest.CaptureFixture[str], rpc_url: str, node: StateNode
) -> None:
    argv = ("tx", "call", "balances", "transfer_keep_alive", f"dest=0x{BOB.public_key.hex()}", "amount=1000")
    printed = await dry_run(capsys, rpc_url, *argv)
    status, out, err = await run_cli(capsys, rpc_url, *argv)
    assert status == 0, err
    assert node.pool == [bytes.fromhex(printed["extrinsic"][2:])]
    assert out.strip() == "0x" + compute_extrinsic_hash(node.pool[0]).hex()


async def test_arguments_are_read_by_their_type(capsys: pytest.CaptureFixture[str], rpc_url: str) -> None:
    targets = json.dumps(
        [{"validator": BOB_ADDRESS, "amount": "100 FLOCK"}, {"validator": "0x" + "11" * 32, "amount": 5}]
    )
    delegate = await dry_run(capsys, rpc_url, "tx", "call", "staking", "delegate", f"targets={targets}")
    expected = staking.DelegateArgs(
        (staking.Delegation(BOB.public_key, 100 * FLOCK), staking.Delegation(b"\x11" * 32, 5))
    )
    assert delegate["call"] == "0x" + RUNTIME.encode_call(expected).hex()
    keys = json.dumps({"signing": BOB_ADDRESS, "vrf": "0x" + "22" * 32})
    set_keys = await dry_run(capsys, rpc_url, "tx", "call", "session", "set_keys", f"keys={keys}")
    expected_keys = session.SetKeysArgs(session.SessionKeys(BOB.public_key, b"\x22" * 32))
    assert set_keys["call"] == "0x" + RUNTIME.encode_call(expected_keys).hex()
    remark = await dry_run(capsys, rpc_url, "tx", "call", "system", "remark", "data=0xdeadbeef")
    assert remark["call"] == "0x" + RUNTIME.encode_call(system.Remark(b"\xde\xad\xbe\xef")).hex()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("balances", "nope"),
            r"balances.nope: no such call \(the calls are \['transfer_allow_death', 'transfer_keep_alive'\]\)",
        ),
        (("nope", "transfer"), "nope: no such pallet"),
        (("balances", "transfer_allow_death", f"dest={BOB_ADDRESS}"), "balances.transfer_allow_death.amount: missing"),
        (
            ("balances", "transfer_allow_death", f"dest={BOB_ADDRESS}", "amount=1", "memo=x"),
            "balances.transfer_allow_death.memo: unknown field",
        ),
        (
            ("balances", "transfer_allow_death", f"dest={BOB_ADDRESS}", "amount=-1"),
            "balances.transfer_allow_death.amount: expected u64",
        ),
        (
            ("balances", "transfer_allow_death", f"dest={BOB_ADDRESS}", "amount=1.5"),
            "balances.transfer_allow_death.amount: '1.5'",
        ),
        (("balances", "transfer_allow_death", "dest=5Nope", "amount=1"), "balances.transfer_allow_death.dest: "),
        (
            ("balances", "transfer_allow_death", "dest=0x1234", "amount=1"),
            "balances.transfer_allow_death.dest: expected 32 bytes",
        ),
        (("balances", "transfer_allow_death", BOB_ADDRESS), "write each argument as NAME=VALUE"),
        (("staking", "delegate", "targets=[{"), "staking.delegate.targets: expected JSON"),
        (("treasury", "spend", f"beneficiary={BOB_ADDRESS}", "amount=1"), "needs the root origin"),
        (("timestamp", "set", "now=1"), "needs the none origin"),
    ],
)
async def test_bad_calls_are_refused_in_one_line_naming_the_field(
    capsys: pytest.CaptureFixture[str], rpc_url: str, node: StateNode, argv: tuple[str, ...], message: str
) -> None:
    status, _, err = await run_cli(capsys, rpc_url, "tx", "call", *argv, "--dry-run")
    assert status == 1
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(message, err), err
    assert node.pool == []


# --- governance calls -----------------------------------------------------------------------


async def test_gov_propose_flag_and_vote_sign_the_runtimes_calls(
    capsys: pytest.CaptureFixture[str], rpc_url: str
) -> None:
    proposal = ("transaction_payment.set_parameters", FEES_JSON, "--stake", "2 FLOCK", "--description", "cheaper fees")
    proposed = await dry_run(capsys, rpc_url, "gov", "propose", *proposal)
    inner = RUNTIME.encode_call(transaction_payment.PARAMETERS.call_args(FEES))
    expected = governance.ProposeArgs(inner, blake2b_256(b"cheaper fees"), 2_000_000_000)
    assert proposed["call"] == "0x" + RUNTIME.encode_call(expected).hex()
    flagged = await dry_run(capsys, rpc_url, "gov", "flag", "3", "--deposit", "5")
    assert flagged["call"] == "0x" + RUNTIME.encode_call(governance.FlagArgs(3, 5)).hex()
    for choice, code in [
        ("aye", governance.VOTE_AYE),
        ("nay", governance.VOTE_NAY),
        ("abstain", governance.VOTE_ABSTAIN),
    ]:
        voted = await dry_run(capsys, rpc_url, "gov", "vote", "3", choice, "--amount", "1 FLOCK")
        assert voted["call"] == "0x" + RUNTIME.encode_call(governance.VoteArgs(3, code, 1_000_000_000)).hex()

"""``flockchain gov``: propose, flag and vote on governance proposals, and show the open ones
(checking the node's state proofs against the block's state root).

A proposal's call is named ``pallet.call`` with its arguments as a JSON object whose keys are
the call's field names (nested records as objects, account ids as SS58 or ``0x`` hex, amounts as
integers or e.g. ``"2.5 FLOCK"``)::

    flockchain gov propose transaction_payment.set_parameters \\
        '{"parameters": {"base_fee": 500000, "length_fee": 1000, "weight_fee": 1,
                         "author_share_parts": 200000000}}' \\
        --stake "100 FLOCK" --description "halve the base fee"
"""

from __future__ import annotations

import argparse
import json
import typing
from dataclasses import fields
from typing import Any

from flockchain.cli.tx import add_signing_arguments, parse_amount, submit_call
from flockchain.rpc.client import DEFAULT_RPC_URL, RpcClient
from flockchain.state import verify_proof
from runtime.construct import construct_runtime
from runtime.errors import EncodingError, FlockError, InvalidProof, MalformedTransaction
from runtime.framework.runtime import Runtime
from runtime.pallets import governance
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.codec import Record, decode_value
from runtime.primitives.hashing import blake2b_256

VOTE_CHOICES = {"aye": governance.VOTE_AYE, "nay": governance.VOTE_NAY, "abstain": governance.VOTE_ABSTAIN}


class BadProposal(FlockError, ValueError):
    """A proposal's call or arguments that do not make a call of this runtime."""


class ProofMismatch(FlockError):
    """The node's answer does not verify against the block's state root."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gov", help="DAO governance: propose, flag, vote, show")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    propose = actions.add_parser("propose", help="propose a call for the DAO (with a stake)")
    propose.add_argument("call", help="pallet.call, e.g. emission.set_parameters")
    propose.add_argument("arguments", help="the call's arguments as a JSON object (field names as keys)")
    propose.add_argument("--stake", required=True, help="base units, or e.g. '100 FLOCK'")
    description = propose.add_mutually_exclusive_group(required=True)
    description.add_argument("--description", help="text whose blake2b-256 hash goes on chain")
    description.add_argument("--description-hash", help="0x-hex blake2b-256 of a description published elsewhere")
    propose.add_argument("--encode-only", action="store_true", help="print the encoded call; submit nothing")
    add_signing_arguments(propose)
    propose.set_defaults(handler=run_propose)

    flag = actions.add_parser("flag", help="flag a proposal in its flag period (bond + deposit weigh)")
    flag.add_argument("proposal_id", type=int)
    flag.add_argument("--deposit", default="0", help="free funds held for the flag period (default 0: bond only)")
    add_signing_arguments(flag)
    flag.set_defaults(handler=run_flag)

    vote = actions.add_parser("vote", help="vote in a proposal's voting period")
    vote.add_argument("proposal_id", type=int)
    vote.add_argument("choice", choices=sorted(VOTE_CHOICES))
    vote.add_argument("--amount", required=True, help="free funds held for the voting period: the vote's weight")
    add_signing_arguments(vote)
    vote.set_defaults(handler=run_vote)

    show = actions.add_parser("show", help="the open proposals (state proofs checked)")
    show.add_argument("proposal_id", type=int, nargs="?", help="only this proposal")
    show.add_argument("--at", help="block hash (default: the best block)")
    show.add_argument("--rpc-url", default=DEFAULT_RPC_URL)
    show.set_defaults(handler=run_show)


# --- building a call from JSON ------------------------------------------------------------


def build_call(runtime: Runtime, name: str, arguments: Any) -> bytes:
    """The encoded call ``pallet.call`` with ``arguments`` (a JSON object)."""
    pallet_name, _, call_name = name.partition(".")
    try:
        calls = runtime.pallet(pallet_name).CALLS.values()
    except KeyError:
        calls = []
    definition = next((candidate for candidate in calls if candidate.name == call_name), None)
    if definition is None:
        raise BadProposal(f"no call {name!r} in this runtime (write pallet.call, e.g. emission.set_parameters)")
    if not definition.governable:
        allowed = ", ".join(
            sorted(
                f"{pallet.NAME}.{candidate.name}"
                for pallet in runtime.pallets.values()
                for candidate in pallet.CALLS.values()
                if candidate.governable
            )
        )
        raise BadProposal(f"governance may not call {name} (it may call: {allowed})")
    try:
        return runtime.encode_call(parse_record(definition.args, arguments, name))
    except EncodingError as exc:  # a value out of its field's range
        raise BadProposal(f"{name}: {exc}") from None


def parse_record(record: type[Record], value: Any, where: str) -> Record:
    if type(value) is not dict:
        raise BadProposal(f"{where}: expected a JSON object with the fields {[f.name for f in fields(record)]}")
    names = [field.name for field in fields(record)]
    unknown, missing = set(value) - set(names), [name for name in names if name not in value]
    if unknown:
        raise BadProposal(f"{where}: unknown fields {sorted(unknown)} (the fields are {names})")
    if missing:
        raise BadProposal(f"{where}: missing fields {missing}")
    hints = typing.get_type_hints(record, include_extras=True)
    return record(**{name: parse_value(hints[name], value[name], f"{where}.{name}") for name in names})


def parse_value(hint: Any, value: Any, where: str) -> Any:
    base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
    if isinstance(base, type) and issubclass(base, Record):
        return parse_record(base, value, where)
    if base is bytes and isinstance(value, str):
        return bytes.fromhex(value[2:]) if value.startswith("0x") else decode_address(value, prefix=None)
    if base is int and isinstance(value, str):
        return parse_amount(value)
    if base is tuple and isinstance(value, list):
        return tuple(value)
    return value


# --- the commands -------------------------------------------------------------------------


def run_propose(args: argparse.Namespace) -> int:
    runtime = construct_runtime()
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        raise BadProposal(f"the arguments are not JSON: {exc}") from None
    call = build_call(runtime, args.call, arguments)
    if args.encode_only:
        print("0x" + call.hex())
        return 0
    if args.description is not None:
        description_hash = blake2b_256(args.description.encode())
    else:
        description_hash = bytes.fromhex(args.description_hash.removeprefix("0x"))
    propose = governance.ProposeArgs(call, description_hash, parse_amount(args.stake))
    print(submit_call(args, runtime.encode_call(propose)))
    return 0


def run_flag(args: argparse.Namespace) -> int:
    flag = governance.FlagArgs(args.proposal_id, parse_amount(args.deposit))
    print(submit_call(args, construct_runtime().encode_call(flag)))
    return 0


def run_vote(args: argparse.Namespace) -> int:
    vote = governance.VoteArgs(args.proposal_id, VOTE_CHOICES[args.choice], parse_amount(args.amount))
    print(submit_call(args, construct_runtime().encode_call(vote)))
    return 0


def run_show(args: argparse.Namespace) -> int:
    rpc = RpcClient(args.rpc_url)
    at = args.at or rpc.call("chain_getBlockHash")
    header = rpc.call("chain_getHeader", at)
    result = rpc.call("flock_proposals", at)
    if header is None or result is None:
        raise FlockError(f"the node cannot prove the state of block {at}")
    runtime = construct_runtime()
    proposals = get_verified_proposals(bytes.fromhex(header["stateRoot"][2:]), result)
    shown = [
        describe_proposal(runtime, proposal_id, proposal)
        for proposal_id, proposal in proposals
        if args.proposal_id in (None, proposal_id)
    ]
    print(json.dumps({"at": at, "stateRoot": header["stateRoot"], "proposals": shown}, indent=2))
    return 0


def get_verified_proposals(state_root: bytes, result: dict[str, Any]) -> list[tuple[int, governance.Proposal]]:
    """The proposals of a ``flock_proposals`` answer, decoded from entries that verify under
    ``state_root`` (the root of a header this client fetched, not one the answer states)."""
    verify_entry(state_root, result["parameters"])
    verify_entry(state_root, result["nextProposalId"]["storage"])
    proposals = []
    for proposal in result["proposals"]:
        key, value = verify_entry(state_root, proposal["storage"])
        if value is None:
            raise ProofMismatch(f"the node lists proposal {proposal['id']} but proves it absent")
        proposals.append((governance.Proposals.decode_key(key), decode_value(governance.Proposals.value_type, value)))
    return proposals


def verify_entry(state_root: bytes, entry: dict[str, Any]) -> tuple[bytes, bytes | None]:
    key = bytes.fromhex(entry["key"][2:])
    value = None if entry["value"] is None else bytes.fromhex(entry["value"][2:])
    try:
        verify_proof(state_root, key, value, bytes.fromhex(entry["proof"][2:]))
    except InvalidProof as exc:
        raise ProofMismatch(f"the node's answer does not match the state root: {exc}") from None
    return key, value


def describe_proposal(runtime: Runtime, proposal_id: int, proposal: governance.Proposal) -> dict[str, Any]:
    try:
        decoded = runtime.decode_call(proposal.call)
        call = {"name": f"{decoded.pallet.NAME}.{decoded.definition.name}", "arguments": repr(decoded.args)}
    except MalformedTransaction:
        call = {"name": "undecodable", "arguments": "0x" + proposal.call.hex()}
    return {
        "id": proposal_id,
        "proposer": encode_address(proposal.proposer),
        "call": call,
        "descriptionHash": "0x" + proposal.description_hash.hex(),
        "stake": proposal.stake,
        "status": {0: "flagging", 1: "voting", 2: "approved"}.get(proposal.status, "unknown"),
        "deadline": proposal.deadline,
        "flagWeight": proposal.flag_weight,
        "votes": {"aye": proposal.aye, "nay": proposal.nay, "abstain": proposal.abstain},
    }

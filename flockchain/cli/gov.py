"""``flockchain gov``: propose, flag and vote on governance proposals, and show the open ones
(checking the node's state proofs against the block's state root).

Everything is built on the metadata the node serves (``docs/metadata.md``), never on local
runtime code. A proposal's call is named ``pallet.call`` with its arguments as a JSON object
whose keys are the call's field names (nested records as objects, account ids as SS58 or ``0x``
hex, amounts as integers or e.g. ``"2.5 FLOCK"``, bytes as ``0x`` hex)::

    flockchain gov propose transaction_payment.set_parameters \\
        '{"parameters": {"base_fee": 500000, "length_fee": 1000, "weight_fee": 1,
                         "author_share_parts": 200000000}}' \\
        --stake "100 FLOCK" --description "halve the base fee"
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from flockchain.cli.tx import add_signing_arguments, fetch_codec, parse_amount, parse_record, send_call
from flockchain.rpc.client import DEFAULT_RPC_URL, RpcClient
from flockchain.state import verify_proof
from runtime.errors import FlockError, InvalidProof
from runtime.framework.metadata import MetadataCodec, MetadataCodecError, to_json_value
from runtime.primitives.address import encode_address
from runtime.primitives.hashing import blake2b_256

PALLET = "governance"
# The governance pallet's codes for a vote's choice and a proposal's status (the metadata
# types them as integers; what they mean is the pallet's).
VOTE_CHOICES = ("aye", "nay", "abstain")  # their codes are the governance pallet's constants
STATUSES = ("flagging", "voting", "approved")


class BadProposal(FlockError, ValueError):
    """A proposal's call or arguments that do not make a call governance may propose."""


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
    propose.add_argument("--encode-only", action="store_true", help="print the proposed call; sign nothing")
    add_signing_arguments(propose)
    propose.set_defaults(handler=run_propose)

    flag = actions.add_parser("flag", help="flag a proposal in its flag period (bond + deposit weigh)")
    flag.add_argument("proposal_id", type=int)
    flag.add_argument("--deposit", default="0", help="free funds held for the flag period (default 0: bond only)")
    add_signing_arguments(flag)
    flag.set_defaults(handler=run_flag)

    vote = actions.add_parser("vote", help="vote in a proposal's voting period")
    vote.add_argument("proposal_id", type=int)
    vote.add_argument("choice", choices=VOTE_CHOICES)
    vote.add_argument("--amount", required=True, help="free funds held for the voting period: the vote's weight")
    add_signing_arguments(vote)
    vote.set_defaults(handler=run_vote)

    show = actions.add_parser("show", help="the open proposals (state proofs checked)")
    show.add_argument("proposal_id", type=int, nargs="?", help="only this proposal")
    show.add_argument("--at", help="block hash (default: the best block)")
    show.add_argument("--rpc-url", default=DEFAULT_RPC_URL)
    show.set_defaults(handler=run_show)


# --- building a call from JSON ------------------------------------------------------------


def build_proposed_call(codec: MetadataCodec, name: str, arguments: Any) -> bytes:
    """The encoded call ``pallet.call`` with ``arguments`` (a JSON object), which must be one the
    metadata marks governable (governance runs it with the root origin)."""
    pallet, _, call = name.partition(".")
    try:
        entry = codec.get_call(pallet, call)
    except MetadataCodecError as exc:
        raise BadProposal(
            f"no call {name!r}: {exc.problem} (write pallet.call, e.g. emission.set_parameters)"
        ) from None
    if not entry["governable"]:
        raise BadProposal(f"governance may not call {name} (it may call: {', '.join(get_governable_calls(codec))})")
    return codec.encode_call(pallet, call, parse_record(codec, entry["args"], arguments, name))


def get_governable_calls(codec: MetadataCodec) -> list[str]:
    """``pallet.call`` of every call governance may propose, sorted."""
    return sorted(
        f"{pallet['name']}.{call['name']}"
        for pallet in codec.document["pallets"]
        for call in pallet["calls"]
        if call["governable"]
    )


# --- the commands -------------------------------------------------------------------------


def run_propose(args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        raise BadProposal(f"the arguments are not JSON: {exc}") from None
    rpc = RpcClient(args.rpc_url)
    codec = fetch_codec(rpc)
    call = build_proposed_call(codec, args.call, arguments)
    if args.encode_only:
        print("0x" + call.hex())
        return 0
    if args.description is not None:
        description_hash = blake2b_256(args.description.encode())
    else:
        description_hash = bytes.fromhex(args.description_hash.removeprefix("0x"))
    propose = {"call": call, "description_hash": description_hash, "stake": parse_amount(args.stake)}
    return send_call(args, rpc, codec.encode_call(PALLET, "propose", propose))


def run_flag(args: argparse.Namespace) -> int:
    rpc = RpcClient(args.rpc_url)
    flag = {"proposal_id": args.proposal_id, "deposit": parse_amount(args.deposit)}
    return send_call(args, rpc, fetch_codec(rpc).encode_call(PALLET, "flag", flag))


def run_vote(args: argparse.Namespace) -> int:
    rpc = RpcClient(args.rpc_url)
    codec = fetch_codec(rpc)
    choice = codec.get_constant(PALLET, "vote" + args.choice.capitalize())
    vote = {"proposal_id": args.proposal_id, "choice": choice, "amount": parse_amount(args.amount)}
    return send_call(args, rpc, codec.encode_call(PALLET, "vote", vote))


def run_show(args: argparse.Namespace) -> int:
    rpc = RpcClient(args.rpc_url)
    codec = fetch_codec(rpc)
    at = args.at or rpc.call("chain_getBlockHash")
    header = rpc.call("chain_getHeader", at)
    result = rpc.call("flock_proposals", at)
    if header is None or result is None:
        raise FlockError(f"the node cannot prove the state of block {at}")
    proposals = get_verified_proposals(codec, bytes.fromhex(header["stateRoot"][2:]), result)
    shown = [
        describe_proposal(codec, proposal_id, proposal)
        for proposal_id, proposal in proposals
        if args.proposal_id in (None, proposal_id)
    ]
    print(json.dumps({"at": at, "stateRoot": header["stateRoot"], "proposals": shown}, indent=2))
    return 0


# --- checking the node's answer -----------------------------------------------------------


def get_verified_proposals(
    codec: MetadataCodec, state_root: bytes, result: dict[str, Any]
) -> list[tuple[int, dict[str, Any]]]:
    """The proposals of a ``flock_proposals`` answer, decoded from entries that verify under
    ``state_root`` (the root of a header this client fetched, not one the answer states), at the
    keys the metadata derives; the listed proposals must be exactly the proven index of open ones."""
    verify_item(codec, state_root, result["parameters"], "Parameters")
    verify_item(codec, state_root, result["nextProposalId"]["storage"], "NextProposalId")
    index = verify_item(codec, state_root, result["openProposalIds"]["storage"], "OpenProposalIds")
    open_ids = list(codec.decode_storage_value(PALLET, "OpenProposalIds", index))
    listed = [proposal["id"] for proposal in result["proposals"]]
    if listed != open_ids:
        raise ProofMismatch(f"the node lists proposals {listed}, but the proven index of open ones is {open_ids}")
    proposals = []
    for proposal_id, proposal in zip(open_ids, result["proposals"]):
        value = verify_item(codec, state_root, proposal["storage"], "Proposals", proposal_id)
        if value is None:
            raise ProofMismatch(f"the node lists proposal {proposal_id} but proves it absent")
        proposals.append((proposal_id, codec.decode_storage_value(PALLET, "Proposals", value)))
    return proposals


def verify_item(
    codec: MetadataCodec, state_root: bytes, entry: dict[str, Any], item: str, key: Any = None
) -> bytes | None:
    """The value of a proven governance storage entry, which must be the one at ``item`` (and ``key``)."""
    expected = codec.get_storage_key(PALLET, item, key)
    if entry["key"] != "0x" + expected.hex():
        raise ProofMismatch(f"the node proves key {entry['key']} where {PALLET}.{item} is 0x{expected.hex()}")
    value = None if entry["value"] is None else bytes.fromhex(entry["value"][2:])
    try:
        verify_proof(state_root, expected, value, bytes.fromhex(entry["proof"][2:]))
    except InvalidProof as exc:
        raise ProofMismatch(f"the node's answer does not match the state root: {exc}") from None
    return value


def describe_proposal(codec: MetadataCodec, proposal_id: int, proposal: dict[str, Any]) -> dict[str, Any]:
    try:
        decoded = codec.decode_call(proposal["call"])
        call = {"name": f"{decoded.pallet}.{decoded.call}", "arguments": to_json_value(decoded.args)}
    except MetadataCodecError:
        call = {"name": "undecodable", "arguments": "0x" + proposal["call"].hex()}
    return {
        "id": proposal_id,
        "proposer": encode_address(proposal["proposer"]),
        "call": call,
        "descriptionHash": "0x" + proposal["description_hash"].hex(),
        "stake": proposal["stake"],
        "status": next(
            (
                name
                for name in STATUSES
                if codec.get_constant(PALLET, "status" + name.capitalize()) == proposal["status"]
            ),
            "unknown",
        ),
        "deadline": proposal["deadline"],
        "flagWeight": proposal["flag_weight"],
        "votes": {"aye": proposal["aye"], "nay": proposal["nay"], "abstain": proposal["abstain"]},
    }

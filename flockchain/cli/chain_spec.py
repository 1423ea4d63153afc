"""``flockchain chain-spec``: print, inspect and validate chain specs.

``build`` prints a spec in canonical JSON (``--raw`` adds the genesis storage and hash, as
Substrate's ``build-spec --raw`` does), ``inspect`` summarises what the genesis holds, and
``validate`` checks a spec file before anyone starts a node with it.
"""

from __future__ import annotations

import argparse

from flockchain.chain.genesis import compute_genesis_header, compute_genesis_header_from_state, to_raw_json
from genesis.dev_accounts import find_dev_name
from genesis.spec import ChainSpec, build_genesis_state, load_chain_spec, read_genesis_state
from runtime import api
from runtime.accounts import FLOCK
from runtime.primitives.address import encode_address

_CHAIN_HELP = "dev, local, or the path of a chain spec JSON file"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chain-spec", help="print, inspect or validate a chain spec")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    build = actions.add_parser("build", help="print a chain spec as canonical JSON")
    build.add_argument("--chain", default="dev", help=f"{_CHAIN_HELP} (default dev)")
    build.add_argument("--raw", action="store_true", help="add the genesis storage (genesis.raw.top) and genesisHash")
    build.set_defaults(handler=run_build)

    inspect = actions.add_parser("inspect", help="summarise a chain spec and its genesis block")
    inspect.add_argument("--chain", default="dev", help=f"{_CHAIN_HELP} (default dev)")
    inspect.set_defaults(handler=run_inspect)

    validate = actions.add_parser("validate", help="check a chain spec: prints ok, or the error and exits 1")
    validate.add_argument("--chain", required=True, help=_CHAIN_HELP)
    validate.set_defaults(handler=run_validate)


def run_build(args: argparse.Namespace) -> int:
    spec = load_chain_spec(args.chain)
    print(to_raw_json(spec) if args.raw else spec.to_json(), end="")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    print("\n".join(summarise(load_chain_spec(args.chain))))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    compute_genesis_header(load_chain_spec(args.chain))  # a pinned genesis hash must match
    print("ok")
    return 0


def summarise(spec: ChainSpec) -> list[str]:
    """The lines ``inspect`` prints, read from the built genesis state rather than the JSON."""
    state = build_genesis_state(spec)
    reader = read_genesis_state(state)
    header = compute_genesis_header_from_state(state)
    authorities = [_describe_account(authority.signing_key) for authority in api.get_babe_epoch(reader).authorities]
    issuance = api.get_total_issuance(reader)
    properties = spec.properties
    rows = [
        ("Name", spec.name),
        ("ID", spec.id),
        ("Chain type", spec.chain_type),
        ("Genesis hash", "0x" + header.hash.hex()),
        ("State root", "0x" + header.state_root.hex()),
        ("Authorities", authorities[0]),
        *(("", authority) for authority in authorities[1:]),
        ("Total supply", f"{format_amount(issuance)} {properties['tokenSymbol']} ({issuance} base units)"),
        (
            "Token",
            f"{properties['tokenSymbol']}, {properties['tokenDecimals']} decimals, "
            f"SS58 format {properties['ss58Format']}",
        ),
        ("Boot nodes", ", ".join(spec.boot_nodes) or "(none)"),
    ]
    return [f"{label + ':' if label else '':<15}{value}" for label, value in rows]


def _describe_account(account: bytes) -> str:
    name = find_dev_name(account)
    return encode_address(account) + (f" (//{name.capitalize()})" if name else "")


def format_amount(units: int) -> str:
    """Base units as FLOCK, exactly: ``1500000000`` → ``1.5``."""
    whole, fraction = divmod(units, FLOCK)
    return f"{whole}.{fraction:09d}".rstrip("0") if fraction else str(whole)

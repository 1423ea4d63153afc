"""``flockchain tx``: sign a transaction with a keystore or dev key and submit it over RPC."""

from __future__ import annotations

import argparse
import getpass
import re
from pathlib import Path

from flockchain.keystore import load_key
from flockchain.rpc.client import DEFAULT_RPC_URL, RpcClient
from genesis.dev_accounts import dev_keypair
from runtime.block import IMMORTAL, Mortality, encode_extrinsic, sign_extrinsic
from runtime.construct import construct_runtime
from runtime.errors import FlockError
from runtime.pallets.balances import TransferArgs, TransferKeepAliveArgs
from runtime.primitives.address import decode_address
from runtime.primitives.keys import Keypair

FLOCK_DECIMALS = 9
DEFAULT_MORTALITY = 64
_AMOUNT = re.compile(r"^\s*(\d+)(?:\.(\d{1,9}))?\s*(FLOCK)?\s*$", re.IGNORECASE)


class BadAmount(FlockError, ValueError):
    """An amount that is not base units or a FLOCK amount with at most 9 decimals."""


def parse_amount(text: str) -> int:
    """``"1000"`` is base units; ``"1.5 FLOCK"`` is 1.5 × 10^9 units (exact, no floats)."""
    match = _AMOUNT.match(text)
    if match is None or (match.group(2) and not match.group(3)):
        raise BadAmount(f"{text!r}: give base units (e.g. 1500000000) or FLOCK (e.g. '1.5 FLOCK')")
    whole, fraction, unit = match.groups()
    if not unit:
        return int(whole)
    return int(whole) * 10**FLOCK_DECIMALS + int((fraction or "").ljust(FLOCK_DECIMALS, "0"))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tx", help="sign and submit a transaction")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    transfer = actions.add_parser("transfer", help="transfer FLOCK to an account")
    transfer.add_argument("--to", required=True, help="recipient (SS58 address or 0x-hex account id)")
    transfer.add_argument("--amount", required=True, help="base units, or e.g. '2.5 FLOCK'")
    transfer.add_argument("--keep-alive", action="store_true", help="refuse to take the sender below the ED")
    add_signing_arguments(transfer)
    transfer.set_defaults(handler=run_transfer)


def add_signing_arguments(parser: argparse.ArgumentParser) -> None:
    """The signer, tip, mortality and node of a transaction (read by :func:`submit_call`)."""
    parser.add_argument("--from", dest="sender", default="//Alice", help="dev key (//Alice …) or keystore file")
    parser.add_argument("--password-file", type=Path, help="password for a keystore file (else prompted)")
    parser.add_argument("--tip", default="0", help="tip to the block author (base units or e.g. '0.1 FLOCK')")
    parser.add_argument(
        "--mortality", type=int, default=DEFAULT_MORTALITY, help="blocks the tx stays valid (0: immortal)"
    )
    parser.add_argument("--rpc-url", default=DEFAULT_RPC_URL)


def load_signer(source: str, password_file: Path | None) -> Keypair:
    if source.startswith("//"):
        return dev_keypair(source[2:].lower())
    password = password_file.read_text().rstrip("\n") if password_file else getpass.getpass("keystore password: ")
    return load_key(Path(source), password)


def run_transfer(args: argparse.Namespace) -> int:
    dest = decode_address(args.to, prefix=None)
    amount = parse_amount(args.amount)
    call_args = TransferKeepAliveArgs(dest, amount) if args.keep_alive else TransferArgs(dest, amount)
    print(submit_call(args, construct_runtime().encode_call(call_args)))
    return 0


def submit_call(args: argparse.Namespace, call: bytes) -> str:
    """Sign ``call`` as :func:`add_signing_arguments` say, submit it; the extrinsic's hash."""
    signer = load_signer(args.sender, args.password_file)
    tip = parse_amount(args.tip)
    rpc = RpcClient(args.rpc_url)
    genesis_hash = bytes.fromhex(rpc.call("chain_getBlockHash", 0)[2:])
    nonce = rpc.call("system_accountNextIndex", "0x" + signer.public_key.hex())
    mortality, birth_hash = IMMORTAL, None
    if args.mortality:
        birth_number = int(rpc.call("chain_getHeader")["number"], 16)
        birth_hash = bytes.fromhex(rpc.call("chain_getBlockHash", birth_number)[2:])
        mortality = Mortality(birth_number, args.mortality)
    xt = sign_extrinsic(
        signer,
        genesis_hash,
        nonce=nonce,
        call=call,
        tip=tip,
        mortality=mortality,
        birth_hash=birth_hash,
    )
    return str(rpc.call("author_submitExtrinsic", "0x" + encode_extrinsic(xt).hex()))

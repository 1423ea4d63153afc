"""``flockchain tx``: build a call from the node's metadata, sign it with a keystore or dev key,
and submit it over RPC, or with ``--dry-run`` print it and its fee and submit nothing.

The CLI knows the runtime only through the metadata the node serves (``state_getMetadata``,
``docs/metadata.md``), as polkadot.js does: any call is named by pallet and call, with its
arguments as ``NAME=VALUE`` read by the argument's type::

    flockchain tx call balances transfer_allow_death dest=5FHneW46… amount='2.5 FLOCK'
    flockchain tx call staking delegate targets='[{"validator": "5Grw…", "amount": "100 FLOCK"}]'

Account ids are SS58 or ``0x`` hex, integers are base units or FLOCK amounts (``'2.5 FLOCK'``),
bytes are ``0x`` hex, booleans ``true``/``false``, and records, lists and unions are JSON (inside
which the same forms hold; a union is ``{"VariantName": {fields}}``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flockchain.keystore import load_key
from flockchain.rpc.client import DEFAULT_RPC_URL, RpcClient
from genesis.dev_accounts import dev_keypair
from runtime.block import IMMORTAL, Mortality, encode_extrinsic, sign_extrinsic
from runtime.errors import FlockError
from runtime.framework.metadata import MetadataCodec, MetadataCodecError
from runtime.framework.pallet import ORIGIN_ROOT, ORIGIN_SIGNED
from runtime.primitives.address import ACCOUNT_ID_SIZE, decode_address
from runtime.primitives.codec import TypeDescription
from runtime.primitives.keys import Keypair

FLOCK_DECIMALS = 9
DEFAULT_MORTALITY = 64
_AMOUNT = re.compile(r"^\s*(\d+)(?:\.(\d{1,9}))?\s*(FLOCK)?\s*$", re.IGNORECASE)
_INTEGER = re.compile(r"^\s*-?\d+\s*$")
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
# Types whose command-line value is JSON; other types are read from their text.
JSON_KINDS = frozenset({"list", "oneOf"})


class BadAmount(FlockError, ValueError):
    """An amount that is not base units or a FLOCK amount with at most 9 decimals."""


class UnsignableCall(FlockError, ValueError):
    """A call no account may sign: it needs the root origin (governance) or is an inherent."""


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

    call = actions.add_parser("call", help="any signed call of the runtime, by name (from the node's metadata)")
    call.add_argument("pallet", help="the pallet's name, e.g. balances")
    call.add_argument("call", help="the call's name, e.g. transfer_allow_death")
    call.add_argument("arguments", nargs="*", metavar="ARG=VALUE", help="one per argument of the call")
    add_signing_arguments(call)
    call.set_defaults(handler=run_call)


def add_signing_arguments(parser: argparse.ArgumentParser) -> None:
    """The signer, tip, mortality and node of a transaction (read by :func:`send_call`)."""
    parser.add_argument("--from", dest="sender", default="//Alice", help="dev key (//Alice …) or keystore file")
    parser.add_argument("--password-file", type=Path, help="password for a keystore file (else prompted)")
    parser.add_argument("--tip", default="0", help="tip to the block author (base units or e.g. '0.1 FLOCK')")
    parser.add_argument(
        "--mortality", type=int, default=DEFAULT_MORTALITY, help="blocks the tx stays valid (0: immortal)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the call, the signed tx and its fee; submit nothing"
    )
    parser.add_argument("--rpc-url", default=DEFAULT_RPC_URL)


def load_signer(source: str, password_file: Path | None) -> Keypair:
    if source.startswith("//"):
        return dev_keypair(source[2:].lower())
    password = password_file.read_text().rstrip("\n") if password_file else getpass.getpass("keystore password: ")
    return load_key(Path(source), password)


# --- the commands -------------------------------------------------------------------------


def run_transfer(args: argparse.Namespace) -> int:
    rpc = RpcClient(args.rpc_url)
    name = "transfer_keep_alive" if args.keep_alive else "transfer_allow_death"
    call = build_call(fetch_codec(rpc), "balances", name, {"dest": args.to, "amount": args.amount})
    return send_call(args, rpc, call)


def run_call(args: argparse.Namespace) -> int:
    rpc = RpcClient(args.rpc_url)
    call = build_call(fetch_codec(rpc), args.pallet, args.call, parse_assignments(args.arguments))
    return send_call(args, rpc, call)


def fetch_codec(rpc: RpcClient) -> MetadataCodec:
    """The runtime's calls, types and storage, from the metadata the node serves."""
    return MetadataCodec(rpc.call("state_getMetadata"))


def build_call(codec: MetadataCodec, pallet: str, call: str, texts: Mapping[str, str]) -> bytes:
    """The encoded signed call ``pallet.call`` with its arguments read from text."""
    entry = codec.get_call(pallet, call)
    if entry["origin"] != ORIGIN_SIGNED:
        how = "propose it with `flockchain gov propose`" if entry["origin"] == ORIGIN_ROOT else "block authors make it"
        raise UnsignableCall(f"{pallet}.{call} needs the {entry['origin']} origin, not an account's: {how}")
    types = {argument["name"]: argument["type"] for argument in entry["args"]}
    values = {
        name: parse_argument(codec, types[name], text, f"{pallet}.{call}.{name}") if name in types else text
        for name, text in texts.items()
    }
    return codec.encode_call(pallet, call, values)


def parse_assignments(arguments: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` words as a dict (the value may hold ``=``)."""
    texts: dict[str, str] = {}
    for word in arguments:
        name, equals, text = word.partition("=")
        if not equals or not name:
            raise MetadataCodecError(word, "write each argument as NAME=VALUE")
        if name in texts:
            raise MetadataCodecError(name, "given twice")
        texts[name] = text
    return texts


# --- values by type -----------------------------------------------------------------------


def parse_argument(codec: MetadataCodec, kind: TypeDescription, text: str, field: str) -> Any:
    """A command-line value of type ``kind``: JSON for a record, list or union, text otherwise."""
    if isinstance(kind, str) or kind["kind"] in JSON_KINDS:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetadataCodecError(field, f"expected JSON ({exc})") from None
        return parse_json_value(codec, kind, value, field)
    if kind["kind"] == "option":
        return None if text == "null" else parse_argument(codec, kind["item"], text, field)
    return parse_text(kind, text, field)


def parse_json_value(codec: MetadataCodec, kind: TypeDescription, value: Any, field: str) -> Any:
    """A JSON value read as ``kind``: strings inside it are read as text of their type; other
    values go to the codec as they are, which checks their type and range."""
    if isinstance(kind, str):
        return parse_record(codec, codec.get_type(kind)["fields"], value, field)
    if kind["kind"] == "list" and isinstance(value, list):
        return [parse_json_value(codec, kind["item"], item, f"{field}[{index}]") for index, item in enumerate(value)]
    if kind["kind"] == "option":
        return None if value is None else parse_json_value(codec, kind["item"], value, field)
    if kind["kind"] == "oneOf" and isinstance(value, dict) and len(value) == 1:
        [(name, fields)] = value.items()
        variant = next((item for item in kind["variants"] if item["name"] == name), None)
        return value if variant is None else {name: parse_json_value(codec, variant["type"], fields, f"{field}.{name}")}
    if isinstance(value, str):
        return parse_text(kind, value, field)
    return value


def parse_record(codec: MetadataCodec, fields: list[dict[str, Any]], value: Any, field: str) -> Any:
    """A JSON object's known fields read by their types (unknown ones are left for the codec to refuse)."""
    if not isinstance(value, dict):
        return value
    types = {item["name"]: item["type"] for item in fields}
    return {
        name: parse_json_value(codec, types[name], item, f"{field}.{name}") if name in types else item
        for name, item in value.items()
    }


def parse_text(kind: dict[str, Any], text: str, field: str) -> Any:
    """A scalar from its text: integer or amount, boolean, account id, hex bytes, or text."""
    try:
        return read_text(kind, text)
    except ValueError as exc:  # BadAmount and InvalidKey too
        raise MetadataCodecError(field, str(exc)) from None


def read_text(kind: dict[str, Any], text: str) -> Any:
    if kind["kind"] in ("uint", "int"):
        return int(text) if _INTEGER.match(text) else parse_amount(text)
    if kind["kind"] == "bool":
        if text.strip().lower() not in ("true", "false"):
            raise ValueError(f"expected true or false, got {text!r}")
        return text.strip().lower() == "true"
    if kind["kind"] == "bytes" and kind["size"] == ACCOUNT_ID_SIZE and not text.startswith("0x"):
        return decode_address(text, prefix=None)
    if kind["kind"] in ("bytes", "varBytes"):
        if not _HEX.match(text):
            raise ValueError(f"expected 0x-hex bytes, got {text!r}")
        return bytes.fromhex(text[2:])
    return text


# --- signing and sending ------------------------------------------------------------------


def send_call(args: argparse.Namespace, rpc: RpcClient, call: bytes) -> int:
    """Sign ``call`` as :func:`add_signing_arguments` say; submit it and print its hash, or with
    ``--dry-run`` print it, the signed extrinsic and its fee (``payment_queryInfo``)."""
    extrinsic = "0x" + sign_call(args, rpc, call).hex()
    if not args.dry_run:
        print(rpc.call("author_submitExtrinsic", extrinsic))
        return 0
    info = rpc.call("payment_queryInfo", extrinsic)
    report = {
        "call": "0x" + call.hex(),
        "extrinsic": extrinsic,
        "weight": info["weight"],
        "fee": int(info["partialFee"]),
    }
    print(json.dumps(report, indent=2))
    return 0


def sign_call(args: argparse.Namespace, rpc: RpcClient, call: bytes) -> bytes:
    """The encoded extrinsic carrying ``call``, signed with the sender's next nonce."""
    signer = load_signer(args.sender, args.password_file)
    tip = parse_amount(args.tip)
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
    return encode_extrinsic(xt)

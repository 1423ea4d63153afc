"""``flockchain key``: generate and inspect account keys, as Substrate's ``subkey`` does.

``generate`` makes a fresh ed25519 key (optionally into an encrypted keystore file);
``inspect`` shows what can be derived from a secret seed, a public key, an SS58 address, a
dev key name (``//Alice``) or a keystore file. The VRF key shown is the one derived from the
same seed (``Keypair.derive_vrf_seed``), which slot claims and ML role draws use.
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path

from flockchain.keystore import KeystoreError, load_key, read_password_file, save_key
from genesis.dev_accounts import check_dev_key_allowed, dev_keypair, find_dev_name
from genesis.spec import load_chain_spec
from runtime.errors import FlockError, InvalidKey
from runtime.primitives import vrf
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.keys import PUBLIC_KEY_SIZE, Keypair, is_valid_public_key

_LABELS = {
    "secretSeed": "Secret seed",
    "publicKey": "Public key (hex)",
    "ss58Address": "SS58 address",
    "vrfPublicKey": "VRF public key",
    "devKey": "Well-known dev key",
    "keystoreFile": "Keystore file",
}


class KeyInputError(FlockError, ValueError):
    """Input to ``flockchain key`` that names no key."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("key", help="generate and inspect keys (like subkey)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    generate = actions.add_parser("generate", help="a fresh ed25519 key pair")
    _add_output_type(generate)
    generate.add_argument("--keystore", type=Path, metavar="DIR", help="also write an encrypted keystore file here")
    generate.add_argument("--password-file", type=Path, help="keystore password (else prompted twice)")
    generate.set_defaults(handler=run_generate)

    inspect = actions.add_parser("inspect", help="what a seed, public key, address, dev name or keystore file gives")
    inspect.add_argument(
        "key",
        metavar="KEY",
        help="0x secret seed, 0x public key (with --public), SS58 address, //Alice, or keystore file",
    )
    inspect.add_argument("--public", action="store_true", help="the input is a public key: show public data only")
    inspect.add_argument("--password-file", type=Path, help="password of a keystore file (else prompted)")
    inspect.add_argument(
        "--chain", metavar="SPEC", help="refuse the well-known dev keys unless this chain is for development"
    )
    _add_output_type(inspect)
    inspect.set_defaults(handler=run_inspect)


def _add_output_type(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-type", choices=("text", "json"), default="text")


def run_generate(args: argparse.Namespace) -> int:
    if args.password_file is not None and args.keystore is None:
        raise KeyInputError("--password-file is the keystore's password: give --keystore DIR too")
    keypair = Keypair.generate()
    info = describe(keypair.public_key, keypair)
    if args.keystore is not None:
        password = _password(args.password_file, confirm=True)
        info["keystoreFile"] = str(save_key(args.keystore, keypair, password))
    print(render(info, args.output_type))
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    public_key, keypair = resolve_key(args.key, public=args.public, password_file=args.password_file)
    if args.chain is not None:
        check_dev_key_allowed(public_key, load_chain_spec(args.chain).chain_type)
    print(render(describe(public_key, None if args.public else keypair), args.output_type))
    return 0


def resolve_key(text: str, *, public: bool, password_file: Path | None) -> tuple[bytes, Keypair | None]:
    """The public key named by ``text``, and the key pair when the input holds the secret."""
    if text.startswith("//"):
        keypair = dev_keypair(text)
        return keypair.public_key, keypair
    if text.startswith("0x"):
        return _resolve_hex(text, public)
    if _is_file(text):
        keypair = load_key(Path(text), _password(password_file, confirm=False))
        return keypair.public_key, keypair
    try:
        return decode_address(text), None
    except InvalidKey:
        raise KeyInputError(
            f"{text!r} is not a 0x-hex seed or public key, an SS58 address, a dev key (//Alice) or a keystore file"
        ) from None


def _is_file(text: str) -> bool:
    """Whether ``text`` names a file; a name the system cannot look up (too long) names none."""
    try:
        return Path(text).is_file()
    except OSError:
        return False


def _resolve_hex(text: str, public: bool) -> tuple[bytes, Keypair | None]:
    """32 bytes of hex: a secret seed, or a public key with ``--public`` (subkey's convention)."""
    try:
        data = bytes.fromhex(text[2:])
    except ValueError:
        raise KeyInputError(f"{text!r} is not valid hex") from None
    if len(data) != PUBLIC_KEY_SIZE:
        raise KeyInputError(f"a seed or public key is {PUBLIC_KEY_SIZE} bytes, got {len(data)}")
    if not public:
        keypair = Keypair.from_seed(data)
        return keypair.public_key, keypair
    if not is_valid_public_key(data):
        raise KeyInputError(f"{text} is not a valid ed25519 public key")
    return data, None


def describe(public_key: bytes, keypair: Keypair | None) -> dict[str, str]:
    """What can be derived: secrets only when the key pair is known."""
    info = {}
    if keypair is not None:
        info["secretSeed"] = _hex(keypair.seed)
    info["publicKey"] = _hex(public_key)
    info["ss58Address"] = encode_address(public_key)
    if keypair is not None:
        info["vrfPublicKey"] = _hex(vrf.public_key(keypair.derive_vrf_seed()))
    dev_name = find_dev_name(public_key)
    if dev_name is not None:
        info["devKey"] = f"//{dev_name.capitalize()}"
    return info


def render(info: dict[str, str], output_type: str) -> str:
    if output_type == "json":
        return json.dumps(info, indent=2)
    width = max(len(_LABELS[field]) for field in info) + 2
    return "\n".join(f"{_LABELS[field] + ':':<{width}}{value}" for field, value in info.items())


def _password(password_file: Path | None, *, confirm: bool) -> str:
    if password_file is not None:
        return read_password_file(password_file)
    try:
        password = getpass.getpass("keystore password: ")
        if confirm and getpass.getpass("repeat the password: ") != password:
            raise KeystoreError("the passwords differ")
    except EOFError:
        raise KeystoreError("no password: the input ended (give --password-file when there is no terminal)") from None
    return password


def _hex(data: bytes) -> str:
    return "0x" + data.hex()

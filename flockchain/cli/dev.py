"""``flockchain dev``: a single-node development chain, authoring and finalizing every slot.

The flags are named as Substrate names them (``--base-path``, ``--tmp``, the RPC options of
:mod:`flockchain.cli.rpc_options`, ``--password-filename`` for the keystore).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from flockchain.cli.rpc_options import add_rpc_arguments, get_rpc_settings
from flockchain.keystore import read_password_file
from flockchain.node.launch import base_path_or_temporary, run_node
from genesis.dev_accounts import dev_keypair
from genesis.spec import load_chain_spec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dev", help="run a single-node development chain (the quick start)")
    place = parser.add_mutually_exclusive_group()
    place.add_argument("--base-path", "-d", type=Path, help="data directory (default ~/.local/share/flockchain)")
    place.add_argument("--tmp", action="store_true", help="use a throwaway data directory, deleted on exit")
    parser.add_argument(
        "--password-filename",
        type=Path,
        help="the keystore's password, for author_rotateKeys (without it the keystore stays locked)",
    )
    parser.add_argument("--log", default="info", choices=("debug", "info", "warning"), help="log level")
    add_rpc_arguments(parser, development=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = load_chain_spec("dev")
    rpc = get_rpc_settings(args)
    password = None if args.password_filename is None else read_password_file(args.password_filename)
    with base_path_or_temporary(args.base_path, args.tmp) as base_path:
        run_node(spec, base_path, dev_keypair("alice"), rpc=rpc, keystore_password=password)
    return 0

"""``flockchain purge-chain``: delete a chain's database, as Substrate's ``purge-chain`` does.

Only ``<base path>/chains/<chain id>/db`` goes; keystores and other chains stay. It asks first
unless ``-y`` is given. A node refuses a database of another chain or of an older state
layout (``GenesisMismatch``, ``UnsupportedStateFormat``), and this is the way out.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from flockchain.node.launch import DEFAULT_BASE_PATH, get_database_path
from genesis.spec import load_chain_spec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("purge-chain", help="delete a chain's database (asks first)")
    parser.add_argument("--chain", default="dev", help="dev, local, or a chain spec JSON file (default dev)")
    parser.add_argument("--base-path", "-d", type=Path, help=f"data directory (default {DEFAULT_BASE_PATH})")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    database = get_database_path(args.base_path or DEFAULT_BASE_PATH, load_chain_spec(args.chain))
    if not database.exists():
        print(f'"{database}" did not exist.')
        return 0
    if not args.yes:
        print(f'Are you sure to remove "{database}"? [y/N]: ', end="", flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Aborted")
            return 1
    shutil.rmtree(database)
    print(f'"{database}" removed.')
    return 0

"""The ``flockchain`` command: one module per subcommand, each with ``register(subparsers)``.

Every subcommand's handler returns an exit status; errors of the project's own tree are
printed as one clear line (no traceback) and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from runtime.errors import FlockError

SUBCOMMAND_MODULES = ("dev", "purge_chain", "key", "chain_spec", "tx", "simulate", "gov")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flockchain", description="A proof-of-stake chain for decentralised machine learning."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        import_module(f"flockchain.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except FlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

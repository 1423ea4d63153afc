"""Open a node from a chain spec and a base path, and run it until a signal stops it."""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trio

from flockchain.chain.chain import Chain
from flockchain.chain.genesis import compute_genesis_header
from flockchain.db.leveldb import LevelDBStore
from flockchain.keystore import SessionKeystore
from flockchain.node.service import Clock, Node, NodeConfig, SystemClock
from flockchain.rpc.server import RpcSettings
from genesis.spec import ChainSpec, build_genesis_state
from runtime.construct import construct_runtime
from runtime.primitives.keys import Keypair

log = logging.getLogger("flockchain.node")

DEFAULT_BASE_PATH = Path.home() / ".local" / "share" / "flockchain"


def get_database_path(base_path: Path, spec: ChainSpec) -> Path:
    """Where a chain's database lives, as Substrate lays it out: ``chains/<id>/db``."""
    return base_path / "chains" / spec.id / "db"


def get_keystore_path(base_path: Path, spec: ChainSpec) -> Path:
    """Where the node's session keys live, as Substrate lays it out: ``chains/<id>/keystore``."""
    return base_path / "chains" / spec.id / "keystore"


@contextmanager
def open_chain(spec: ChainSpec, base_path: Path) -> Iterator[Chain]:
    path = get_database_path(base_path, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = LevelDBStore(str(path))
    try:
        yield Chain(
            store,
            construct_runtime(),
            compute_genesis_header(spec),
            build_genesis_state(spec),
        )
    finally:
        store.close()


@contextmanager
def base_path_or_temporary(base_path: Path | None, temporary: bool) -> Iterator[Path]:
    """``--tmp`` makes a throwaway base path, removed when the node stops."""
    if not temporary:
        yield base_path or DEFAULT_BASE_PATH
        return
    path = Path(tempfile.mkdtemp(prefix="flockchain-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def run_until_signalled(node: Node) -> None:
    """Run the node; SIGINT or SIGTERM cancels it cleanly (the database closes after)."""
    async with trio.open_nursery() as nursery:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            await nursery.start(node.run)
            async for received in signals:
                log.info("received %s, shutting down", signal.Signals(received).name)
                nursery.cancel_scope.cancel()
                break


def run_node(
    spec: ChainSpec,
    base_path: Path,
    author: Keypair | None,
    *,
    rpc: RpcSettings,
    keystore_password: str | None = None,
    clock: Clock | None = None,
) -> None:
    with open_chain(spec, base_path) as chain:
        head = chain.head
        log.info("chain %s (%s), genesis 0x%s", spec.name, spec.id, chain.genesis_hash.hex())
        log.info("database %s, best #%d (0x%s)", get_database_path(base_path, spec), head.number, chain.head_hash.hex())
        config = NodeConfig(
            spec.name,
            dict(spec.properties),
            rpc.port,
            rpc.host,
            chain_type=spec.chain_type,
            rpc_limits=rpc.limits,
            rpc_options=rpc.options,
            keystore=SessionKeystore(get_keystore_path(base_path, spec), keystore_password),
        )
        trio.run(run_until_signalled, Node(config, chain, author, clock or SystemClock()))

"""Block 0 of a chain spec: the genesis state's root and header, and the raw spec that pins them.

Chain specs are data (``genesis/``); computing the authenticated state root takes the state tree,
which lives here in the node. A spec that pins a ``genesisHash`` is checked whenever its header
is computed: a spec, or a runtime, that drifted is refused before a node opens its database.
"""

from __future__ import annotations

from collections.abc import Mapping

from flockchain.db.memory import MemoryStore
from flockchain.state.tree import StateTree
from genesis.spec import ChainSpec, GenesisError, build_genesis_state
from runtime.block import Header, compute_extrinsics_root
from runtime.primitives.hashing import HASH_SIZE, ZERO_HASH
from runtime.primitives.keys import SIGNATURE_SIZE


def compute_state_root(state: Mapping[bytes, bytes]) -> bytes:
    """The root of the authenticated state tree holding exactly ``state``."""
    return StateTree(MemoryStore()).apply(state)


def compute_genesis_header_from_state(state: Mapping[bytes, bytes]) -> Header:
    """Block 0: no parent, no extrinsics, no author, no seal; only the state root varies."""
    return Header(
        parent_hash=ZERO_HASH,
        number=0,
        slot=0,
        timestamp=0,
        state_root=compute_state_root(state),
        extrinsics_root=compute_extrinsics_root(()),
        author=bytes(HASH_SIZE),
        digests=(),
        seal=bytes(SIGNATURE_SIZE),
    )


def compute_genesis_header(spec: ChainSpec) -> Header:
    """``spec``'s genesis header; a :class:`GenesisError` if the spec pins another hash."""
    header = compute_genesis_header_from_state(build_genesis_state(spec))
    pinned = spec.pinned_genesis_hash
    if pinned is not None and pinned != header.hash:
        raise GenesisError(
            f"genesisHash: the spec pins 0x{pinned.hex()}, but its genesis builds to 0x{header.hash.hex()}"
        )
    return header


def compute_genesis_hash(spec: ChainSpec) -> bytes:
    """The chain's identity: every signature covers it, so nothing replays across chains."""
    return compute_genesis_header(spec).hash


def to_raw_json(spec: ChainSpec) -> str:
    """The raw spec (``chain-spec build --raw``): the storage and the genesis hash pinned."""
    return spec.to_raw_json(compute_genesis_hash(spec))

"""What the RPC server needs from the node: a small interface the node implements.

The server depends on this interface only, not on the chain store or the transaction pool, so
it is tested against an in-memory fake and the node adapts its services to it in one place.
It is a Protocol: the node's adapter conforms by shape (plain attributes or properties both
do), and mypy checks it where the adapter is passed to ``serve_rpc``. Reads are synchronous
(local database lookups); submission is async because the pool validates against state,
which may take a while and must not block other requests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from flockchain.node.notifications import EventFeed
from runtime.block import Block, Header


class NodeHealth(NamedTuple):
    """Substrate's ``system_health``: whether the node is connected and caught up.

    ``NodeApi.health`` may return this or any ``(peers, is_syncing, should_have_peers)`` tuple.
    """

    peers: int
    is_syncing: bool
    should_have_peers: bool


class SyncState(NamedTuple):
    """Substrate's ``system_syncState``: block numbers."""

    starting_block: int
    current_block: int
    highest_block: int


class PeerInfo(NamedTuple):
    """Substrate's ``system_peers`` entry."""

    peer_id: str
    roles: str
    best_hash: bytes
    best_number: int


@dataclass(frozen=True)
class VoteTally:
    """One stage of a GRANDPA round: the weight that voted, and the voters still missing."""

    current_weight: int
    missing: tuple[bytes, ...]


@dataclass(frozen=True)
class RoundState:
    """A GRANDPA round as ``grandpa_roundState`` reports it."""

    round: int
    total_weight: int
    threshold_weight: int
    prevotes: VoteTally
    precommits: VoteTally


@dataclass(frozen=True)
class FinalityRounds:
    """The voter's current (best) round and the one before it, if still running, in its set."""

    set_id: int
    best: RoundState
    background: tuple[RoundState, ...]


class ProvableState(Protocol):
    """The state after one block, as the RPC reads it: values, and for each key a proof of its
    value (or of its absence) under that block's state root (``flockchain.state.verify_proof``)."""

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key`` (None: absent)."""

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, value)`` under ``prefix``, in key order."""

    def prove(self, key: bytes) -> bytes:
        """The encoded ``flockchain.state.StateProof`` of ``key`` under the block's state root."""


class NodeApi(Protocol):
    """The node as the RPC methods see it. Hashes are 32 raw bytes."""

    @property
    def chain_name(self) -> str:
        """The chain spec's name (``system_chain``)."""

    @property
    def properties(self) -> Mapping[str, Any]:
        """The chain spec's properties, JSON values only (``system_properties``)."""

    def best_hash(self) -> bytes:
        """Hash of the head of the best chain."""

    def finalized_hash(self) -> bytes:
        """Hash of the last finalized block."""

    def get_header(self, block_hash: bytes) -> Header | None:
        """The header of a block this node stores, or None."""

    def get_block(self, block_hash: bytes) -> Block | None:
        """A block this node stores (header and body), or None."""

    def get_canonical_hash(self, number: int) -> bytes | None:
        """Hash of the best chain's block at height ``number``, or None above the head."""

    def get_justification(self, block_hash: bytes) -> bytes | None:
        """The encoded finality justification stored with the block, if any."""

    async def submit_extrinsic(self, encoded: bytes) -> bytes:
        """Validate and pool an encoded extrinsic; returns its hash.

        Raises a :class:`runtime.errors.InvalidTransaction` subclass saying why it was refused.
        """

    def pending_extrinsics(self) -> list[bytes]:
        """Encoded extrinsics waiting in the pool."""

    def account_next_index(self, account: bytes) -> int:
        """The nonce the account's next transaction must carry, counting those in the pool."""

    def health(self) -> tuple[int, bool, bool]:
        """``(peers, is_syncing, should_have_peers)``, e.g. a :class:`NodeHealth`."""

    def provable_state(self, block_hash: bytes) -> ProvableState | None:
        """The state after ``block_hash`` with proofs, or None when this node cannot prove it
        (an unknown block, or one whose state version was pruned)."""

    # --- network and roles (trivial until the network lands) -----------------------------

    @property
    def chain_type(self) -> str:
        """The chain spec's type: ``Development``, ``Local`` or ``Live``."""

    def node_roles(self) -> list[str]:
        """Substrate's roles: ``["Authority"]`` for a validator, else ``["Full"]``."""

    def local_peer_id(self) -> str | None:
        """The node's libp2p peer id (None: it has no network)."""

    def peers(self) -> list[PeerInfo]:
        """The connected peers."""

    def sync_state(self) -> SyncState:
        """Where block sync started, where it is, and the highest block peers announced."""

    # --- the pool and the keystore (unsafe methods) ---------------------------------------

    def remove_extrinsics(self, hashes: list[bytes]) -> list[bytes]:
        """Take these transactions out of the pool; the hashes of those that were in it."""

    def rotate_keys(self) -> bytes:
        """Generate new session keys into the node's keystore; their public keys, encoded as
        ``session.set_keys`` takes them. Raises a ``FlockError`` when the keystore is unusable."""

    def has_key(self, public_key: bytes, key_type: str) -> bool:
        """Whether the keystore holds the secret of ``public_key`` for ``key_type``."""

    # --- subscriptions --------------------------------------------------------------------

    def open_event_feed(self) -> EventFeed:
        """A bounded feed of the node's events (``flockchain.node.notifications``)."""

    def watch_transaction(self, tx_hash: bytes) -> None:
        """Publish the statuses of ``tx_hash`` on event feeds from now on."""

    def unwatch_transaction(self, tx_hash: bytes) -> None:
        """One watcher of ``tx_hash`` is done."""

    # --- finality -------------------------------------------------------------------------

    def get_set_change(self, set_id: int) -> bytes | None:
        """The finalized block that ended authority set ``set_id``, if it has ended."""

    def finality_rounds(self) -> FinalityRounds:
        """The finality voter's rounds."""

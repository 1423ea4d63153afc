"""What the node tells its RPC subscribers, and how it keeps a slow one from costing it memory.

After each event the consensus engine handles, the service asks :class:`ChainFollower` how the
chain moved (blocks imported, the best chain's route, blocks finalized) and
:class:`TransactionTracker` what became of the transactions someone watches, and publishes the
resulting :data:`NodeEvent` records on the :class:`NotificationHub`. The hub hands each event to
every open :class:`EventFeed` without waiting: a feed is a bounded queue, and one that is full
belongs to a subscriber that does not keep up, so it is closed (``overflowed``) rather than
allowed to grow or to slow the consensus task down. The RPC server opens one feed per WebSocket
connection that holds subscriptions and turns its events into notifications.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import trio

from flockchain.chain.chain import Chain
from flockchain.txpool import RemovalReason
from runtime.block import Header, compute_extrinsic_hash

DEFAULT_FEED_CAPACITY = 256  # events a subscriber may be behind before it is dropped


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockImported:
    """A block joined the block tree (on the best chain or a fork)."""

    block_hash: bytes
    header: Header


@dataclass(frozen=True)
class NewBestBlock:
    """The head of the best chain is now this block."""

    block_hash: bytes
    header: Header


@dataclass(frozen=True)
class BlockFinalized:
    """This block is final (one event per block, in order, when finality skips ahead)."""

    block_hash: bytes
    header: Header


class TxStatusKind(StrEnum):
    """Substrate's ``TransactionStatus`` variants, as ``author_extrinsicUpdate`` names them."""

    FUTURE = "future"
    READY = "ready"
    BROADCAST = "broadcast"  # sent to peers: only once the node has a network
    IN_BLOCK = "inBlock"
    RETRACTED = "retracted"
    FINALIZED = "finalized"
    USURPED = "usurped"
    DROPPED = "dropped"
    INVALID = "invalid"


FINAL_TX_STATUSES = frozenset(
    {TxStatusKind.FINALIZED, TxStatusKind.USURPED, TxStatusKind.DROPPED, TxStatusKind.INVALID}
)


@dataclass(frozen=True)
class TransactionStatus:
    """A watched transaction's new status; ``subject`` is the block (in, retracted from,
    finalized in) or the transaction that usurped it."""

    tx_hash: bytes
    kind: TxStatusKind
    subject: bytes | None = None

    @property
    def is_final(self) -> bool:
        """Nothing follows a final status: the watch ends."""
        return self.kind in FINAL_TX_STATUSES


NodeEvent = BlockImported | NewBestBlock | BlockFinalized | TransactionStatus


# --- the hub ------------------------------------------------------------------------------


class EventFeed:
    """One subscriber's queue of node events, at most ``capacity`` long.

    The subscriber reads ``receive``; when it falls ``capacity`` events behind the feed is
    closed and ``overflowed`` set, so the reader sees the end of the channel and knows why.
    """

    def __init__(self, hub: NotificationHub, capacity: int) -> None:
        self._hub = hub
        self.capacity = capacity
        self._send, self.receive = trio.open_memory_channel[NodeEvent](capacity)
        self.overflowed = False

    def offer(self, event: NodeEvent) -> None:
        """Queue ``event`` without waiting; a full queue closes the feed."""
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            self.overflowed = True
            self._detach()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._detach()

    def close(self) -> None:
        """The subscriber is done: the hub forgets the feed and sends it nothing more (its
        reader still gets what was queued, then the end of the channel)."""
        self._detach()

    def _detach(self) -> None:
        self._hub.remove_feed(self)
        self._send.close()


class NotificationHub:
    """Node events to every open feed; the set of transactions someone watches."""

    def __init__(self, *, feed_capacity: int = DEFAULT_FEED_CAPACITY) -> None:
        if feed_capacity < 1:
            raise ValueError("a feed holds at least one event")
        self.feed_capacity = feed_capacity
        self._feeds: set[EventFeed] = set()
        self._watch_counts: dict[bytes, int] = {}

    @property
    def feed_count(self) -> int:
        return len(self._feeds)

    def open_feed(self) -> EventFeed:
        feed = EventFeed(self, self.feed_capacity)
        self._feeds.add(feed)
        return feed

    def remove_feed(self, feed: EventFeed) -> None:
        self._feeds.discard(feed)

    def publish(self, events: Iterable[NodeEvent]) -> None:
        """Offer each event to each feed, in order; never waits."""
        for event in events:
            for feed in list(self._feeds):
                feed.offer(event)

    def watch_transaction(self, tx_hash: bytes) -> None:
        """Someone wants the statuses of ``tx_hash`` (counted: several may watch one)."""
        self._watch_counts[tx_hash] = self._watch_counts.get(tx_hash, 0) + 1

    def unwatch_transaction(self, tx_hash: bytes) -> None:
        count = self._watch_counts.get(tx_hash, 0) - 1
        if count > 0:
            self._watch_counts[tx_hash] = count
        else:
            self._watch_counts.pop(tx_hash, None)

    def is_watched(self, tx_hash: bytes) -> bool:
        return tx_hash in self._watch_counts

    @property
    def watched_count(self) -> int:
        return len(self._watch_counts)


# --- how the chain moved ------------------------------------------------------------------


@dataclass(frozen=True)
class ChainMoves:
    """How the chain changed since the follower last looked."""

    imported: tuple[tuple[bytes, Header], ...] = ()  # lowest first
    retracted: tuple[bytes, ...] = ()  # left the best chain, highest first
    enacted: tuple[bytes, ...] = ()  # joined it, lowest first
    best: tuple[bytes, Header] | None = None  # the new head, when it changed
    finalized: tuple[tuple[bytes, Header], ...] = ()  # newly final, lowest first


NO_MOVES = ChainMoves()


class ChainFollower:
    """Remembers the block tree as it last saw it (the headers of the last finalized block and
    its descendants), so that it can say how the chain moved even when finality has since
    deleted a retracted fork."""

    def __init__(self, chain: Chain) -> None:
        self._best = chain.head_hash
        self._finalized = chain.finalized_hash
        self._headers = self._get_tree_headers(chain)

    def is_behind(self, chain: Chain) -> bool:
        """Whether the best or the finalized block moved since the follower last looked."""
        return chain.head_hash != self._best or chain.finalized_hash != self._finalized

    def follow(self, chain: Chain) -> ChainMoves:
        """The moves since the last call (or since the follower was made)."""
        tree = self._get_tree_headers(chain)
        finalized = self._get_newly_finalized(chain)
        known = self._headers
        imported = {block_hash: header for block_hash, header in tree.items() if block_hash not in known}
        imported.update((block_hash, header) for block_hash, header in finalized if block_hash not in known)
        retracted, enacted = self._get_route(chain, self._best, chain.head_hash)
        best = None if chain.head_hash == self._best else (chain.head_hash, chain.head)
        self._best, self._finalized, self._headers = chain.head_hash, chain.finalized_hash, tree
        ordered = sorted(imported.items(), key=lambda item: (item[1].number, item[0]))
        return ChainMoves(tuple(ordered), retracted, enacted, best, finalized)

    def _get_tree_headers(self, chain: Chain) -> dict[bytes, Header]:
        hashes = [chain.finalized_hash, *chain.unfinalized_hashes()]
        return {block_hash: header for block_hash in hashes if (header := chain.get_header(block_hash)) is not None}

    def _get_header(self, chain: Chain, block_hash: bytes) -> Header:
        header = self._headers.get(block_hash) or chain.get_header(block_hash)
        assert header is not None, "the follower knows every block it has seen in the tree"
        return header

    def _get_newly_finalized(self, chain: Chain) -> tuple[tuple[bytes, Header], ...]:
        """The blocks from after the last finalized one seen up to the new one, lowest first."""
        if chain.finalized_hash == self._finalized:
            return ()
        stop = self._get_header(chain, self._finalized).number
        blocks: list[tuple[bytes, Header]] = []
        cursor = chain.finalized_hash
        header = self._get_header(chain, cursor)
        while header.number > stop:
            blocks.append((cursor, header))
            cursor = header.parent_hash
            header = self._get_header(chain, cursor)
        return tuple(reversed(blocks))

    def _get_route(self, chain: Chain, old: bytes, new: bytes) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """(retracted highest first, enacted lowest first) from head ``old`` to head ``new``."""
        retracted: list[bytes] = []
        enacted: list[bytes] = []
        down, up = old, new
        down_header, up_header = self._get_header(chain, down), self._get_header(chain, up)
        while down != up:
            if down_header.number >= up_header.number:
                retracted.append(down)
                down = down_header.parent_hash
                down_header = self._get_header(chain, down)
            else:
                enacted.append(up)
                up = up_header.parent_hash
                up_header = self._get_header(chain, up)
        return tuple(retracted), tuple(reversed(enacted))


# --- what became of watched transactions ----------------------------------------------------


@dataclass
class _PoolChange:
    tx_hash: bytes
    is_ready: bool | None  # None: it left the pool
    reason: RemovalReason | None = None
    replaced_by: bytes | None = None


_DROPPED_REASONS = {
    RemovalReason.EVICTED: TxStatusKind.DROPPED,
    RemovalReason.EXPIRED: TxStatusKind.DROPPED,
    RemovalReason.UNPAYABLE: TxStatusKind.DROPPED,
    RemovalReason.INVALID: TxStatusKind.INVALID,
    # The node took it out and no block of the new best chain holds it: an author found it invalid.
    RemovalReason.REMOVED: TxStatusKind.INVALID,
}


@dataclass
class TransactionTracker:
    """The pool's listener for watched transactions; after each engine event, their statuses.

    ``hub`` says which transactions are watched; statuses of the others are not kept.
    """

    hub: NotificationHub
    _changes: list[_PoolChange] = field(default_factory=list)
    _in_block: dict[bytes, bytes] = field(default_factory=dict)  # watched tx -> best-chain block holding it
    _ready: dict[bytes, bool] = field(default_factory=dict)  # watched tx in the pool -> readiness last reported

    def on_status(self, tx_hash: bytes, is_ready: bool) -> None:
        if self.hub.is_watched(tx_hash):
            self._changes.append(_PoolChange(tx_hash, is_ready))

    def on_removed(self, tx_hash: bytes, reason: RemovalReason, replaced_by: bytes | None = None) -> None:
        if self.hub.is_watched(tx_hash):
            self._changes.append(_PoolChange(tx_hash, None, reason, replaced_by))

    def compute_statuses(self, chain: Chain, moves: ChainMoves) -> list[TransactionStatus]:
        """The statuses since the last call, in the order they happened: retractions, then the
        pool's changes, then inclusions in the new best chain, then finality."""
        changes, self._changes = self._changes, []
        if not self.hub.watched_count and not self._in_block:
            return []
        statuses = self._get_retractions(moves.retracted)
        included = self._get_inclusions(chain, moves.enacted)
        statuses += self._get_pool_statuses(changes, included)
        for tx_hash, block_hash in included.items():
            self._in_block[tx_hash] = block_hash
            self._ready.pop(tx_hash, None)
            statuses.append(TransactionStatus(tx_hash, TxStatusKind.IN_BLOCK, block_hash))
        statuses += self._get_finalizations({block_hash for block_hash, _ in moves.finalized})
        self._in_block = {tx: block for tx, block in self._in_block.items() if self.hub.is_watched(tx)}
        self._ready = {tx: ready for tx, ready in self._ready.items() if self.hub.is_watched(tx)}
        return statuses

    def _get_pool_statuses(self, changes: list[_PoolChange], included: dict[bytes, bytes]) -> list[TransactionStatus]:
        """Each watched transaction's pool changes, the readiness it settled on in each run of
        them (including a block's predecessor makes its successors future for a moment, until
        the pool learns the new nonces) when that differs from the last one reported."""
        by_tx: dict[bytes, list[_PoolChange]] = {}
        for change in changes:
            if change.tx_hash not in included:  # its inclusion says more than the bookkeeping around it
                by_tx.setdefault(change.tx_hash, []).append(change)
        statuses = []
        for tx_hash, tx_changes in by_tx.items():
            for index, change in enumerate(tx_changes):
                is_last_of_run = index + 1 == len(tx_changes) or tx_changes[index + 1].is_ready is None
                if change.is_ready is None:
                    self._ready.pop(tx_hash, None)
                    statuses.append(describe_removal(change))
                elif is_last_of_run and self._ready.get(tx_hash) != change.is_ready:
                    self._ready[tx_hash] = change.is_ready
                    kind = TxStatusKind.READY if change.is_ready else TxStatusKind.FUTURE
                    statuses.append(TransactionStatus(tx_hash, kind))
        return statuses

    def _get_retractions(self, retracted: tuple[bytes, ...]) -> list[TransactionStatus]:
        left = set(retracted)
        statuses = []
        for tx_hash, block_hash in list(self._in_block.items()):
            if block_hash in left:
                del self._in_block[tx_hash]
                statuses.append(TransactionStatus(tx_hash, TxStatusKind.RETRACTED, block_hash))
        return statuses

    def _get_inclusions(self, chain: Chain, enacted: tuple[bytes, ...]) -> dict[bytes, bytes]:
        """Watched transactions in the blocks that joined the best chain, and their block."""
        included: dict[bytes, bytes] = {}
        for block_hash in enacted:
            block = chain.blocks.get_block(block_hash)
            for tx_hash in map(compute_extrinsic_hash, () if block is None else block.extrinsics):
                if self.hub.is_watched(tx_hash):
                    included[tx_hash] = block_hash
        return included

    def _get_finalizations(self, finalized: set[bytes]) -> list[TransactionStatus]:
        statuses = []
        for tx_hash, block_hash in list(self._in_block.items()):
            if block_hash in finalized:
                del self._in_block[tx_hash]
                statuses.append(TransactionStatus(tx_hash, TxStatusKind.FINALIZED, block_hash))
        return statuses


def describe_removal(change: _PoolChange) -> TransactionStatus:
    if change.reason is RemovalReason.REPLACED:
        return TransactionStatus(change.tx_hash, TxStatusKind.USURPED, change.replaced_by)
    assert change.reason is not None
    return TransactionStatus(change.tx_hash, _DROPPED_REASONS[change.reason])

"""What the node tells subscribers: the pool's listener, and watched transactions' statuses as
the best chain moves (a re-org retracts, a replacement usurps, eviction drops), without a chain
that re-orgs: the moves are given by hand."""

from __future__ import annotations

from dataclasses import dataclass

from flockchain.node.notifications import (
    ChainMoves,
    NotificationHub,
    TransactionStatus,
    TransactionTracker,
    TxStatusKind,
)
from flockchain.txpool import RemovalReason, TransactionPool
from runtime.block import compute_extrinsic_hash
from runtime.errors import StaleTransaction
from runtime.executive import ValidTransaction

BLOCK_A, BLOCK_B, BLOCK_C = (bytes([index]) * 32 for index in (0xA, 0xB, 0xC))


def tx(sender: int, nonce: int, tip: int = 0) -> bytes:
    """A fake transaction: the pool below reads sender, nonce and tip from its bytes."""
    return bytes([sender, nonce, tip])


class FakeAccounts:
    def __init__(self) -> None:
        self.nonces: dict[bytes, int] = {}

    def validate(self, encoded: bytes) -> ValidTransaction:
        sender = bytes([encoded[0]]) * 32
        if encoded[1] < self.nonces.get(sender, 0):
            raise StaleTransaction("used nonce")
        return ValidTransaction(sender, encoded[1], encoded[2], 0, None)

    def get_nonce(self, who: bytes) -> int:
        return self.nonces.get(who, 0)


class Recorder:
    def __init__(self) -> None:
        self.heard: list[tuple] = []

    def on_status(self, tx_hash: bytes, is_ready: bool) -> None:
        self.heard.append(("status", tx_hash, is_ready))

    def on_removed(self, tx_hash: bytes, reason: RemovalReason, replaced_by: bytes | None = None) -> None:
        self.heard.append(("removed", tx_hash, reason, replaced_by))


def h(encoded: bytes) -> bytes:
    return compute_extrinsic_hash(encoded)


def test_the_pool_tells_its_listener_every_status_change() -> None:
    accounts, recorder = FakeAccounts(), Recorder()
    pool = TransactionPool(accounts.validate, accounts.get_nonce, max_future_per_sender=1)
    pool.set_listener(recorder)
    pool.submit(tx(1, 1))  # a gap: future
    pool.submit(tx(1, 0))  # closes it: ready, and its successor turns ready
    pool.submit(tx(1, 1, tip=5))  # replaces nonce 1
    pool.submit(tx(1, 4))  # future
    pool.submit(tx(1, 3))  # the sender's one future place: a lower nonce pushes out its highest
    accounts.nonces[bytes([1]) * 32] = 1  # nonce 0 was included
    pool.on_new_head(accounts.validate, accounts.get_nonce, [h(tx(1, 0))])
    assert recorder.heard == [
        ("status", h(tx(1, 1)), False),
        ("status", h(tx(1, 0)), True),
        ("status", h(tx(1, 1)), True),
        ("removed", h(tx(1, 1)), RemovalReason.REPLACED, h(tx(1, 1, tip=5))),
        ("status", h(tx(1, 1, tip=5)), True),
        ("status", h(tx(1, 4)), False),
        ("removed", h(tx(1, 4)), RemovalReason.EVICTED, None),
        ("status", h(tx(1, 3)), False),
        ("removed", h(tx(1, 0)), RemovalReason.REMOVED, None),
        # Until the pool learns the new nonce, the successor of what a block included looks future.
        ("status", h(tx(1, 1, tip=5)), False),
        ("status", h(tx(1, 1, tip=5)), True),
    ]


@dataclass
class FakeBlock:
    extrinsics: tuple[bytes, ...]


class FakeBlocks:
    def __init__(self, blocks: dict[bytes, FakeBlock]) -> None:
        self.blocks = blocks

    def get_block(self, block_hash: bytes) -> FakeBlock | None:
        return self.blocks.get(block_hash)


class FakeChain:
    def __init__(self, blocks: dict[bytes, FakeBlock]) -> None:
        self.blocks = FakeBlocks(blocks)


def test_a_watched_transaction_is_retracted_by_a_reorg_and_included_again() -> None:
    hub = NotificationHub()
    tracker = TransactionTracker(hub)
    watched, other = tx(1, 0), tx(2, 0)
    hub.watch_transaction(h(watched))
    chain = FakeChain({BLOCK_A: FakeBlock((other, watched)), BLOCK_B: FakeBlock(()), BLOCK_C: FakeBlock((watched,))})
    tracker.on_status(h(watched), True)
    tracker.on_status(h(other), True)  # not watched: not reported
    assert tracker.compute_statuses(chain, ChainMoves()) == [TransactionStatus(h(watched), TxStatusKind.READY)]  # type: ignore[arg-type]
    tracker.on_removed(h(watched), RemovalReason.REMOVED)  # the pool drops what the new block holds
    statuses = tracker.compute_statuses(chain, ChainMoves(enacted=(BLOCK_A,)))  # type: ignore[arg-type]
    assert statuses == [TransactionStatus(h(watched), TxStatusKind.IN_BLOCK, BLOCK_A)]
    tracker.on_status(h(watched), True)  # a re-org: A leaves, the pool takes it back
    statuses = tracker.compute_statuses(chain, ChainMoves(retracted=(BLOCK_A,), enacted=(BLOCK_B,)))  # type: ignore[arg-type]
    assert statuses == [
        TransactionStatus(h(watched), TxStatusKind.RETRACTED, BLOCK_A),
        TransactionStatus(h(watched), TxStatusKind.READY),
    ]
    tracker.on_removed(h(watched), RemovalReason.REMOVED)
    finalized = ((BLOCK_C, None),)
    statuses = tracker.compute_statuses(chain, ChainMoves(enacted=(BLOCK_C,), finalized=finalized))  # type: ignore[arg-type]
    assert statuses == [
        TransactionStatus(h(watched), TxStatusKind.IN_BLOCK, BLOCK_C),
        TransactionStatus(h(watched), TxStatusKind.FINALIZED, BLOCK_C),
    ]
    assert all(status.is_final == (status.kind is TxStatusKind.FINALIZED) for status in statuses)


def test_a_successor_that_looks_future_for_a_moment_is_not_reported() -> None:
    hub = NotificationHub()
    tracker = TransactionTracker(hub)
    hub.watch_transaction(h(tx(1, 1)))
    tracker.on_status(h(tx(1, 1)), True)
    assert tracker.compute_statuses(FakeChain({}), ChainMoves()) == [  # type: ignore[arg-type]
        TransactionStatus(h(tx(1, 1)), TxStatusKind.READY)
    ]
    tracker.on_status(h(tx(1, 1)), False)  # its predecessor was included ...
    tracker.on_status(h(tx(1, 1)), True)  # ... and the pool learned the new nonce
    assert tracker.compute_statuses(FakeChain({}), ChainMoves()) == []  # type: ignore[arg-type]


def test_watched_transactions_that_leave_the_pool_are_usurped_dropped_or_invalid() -> None:
    hub = NotificationHub()
    tracker = TransactionTracker(hub)
    usurped, evicted, expired, invalid, taken_out = (tx(index, 0) for index in range(5))
    for encoded in (usurped, evicted, expired, invalid, taken_out):
        hub.watch_transaction(h(encoded))
    tracker.on_removed(h(usurped), RemovalReason.REPLACED, h(tx(0, 0, tip=1)))
    tracker.on_removed(h(evicted), RemovalReason.EVICTED)
    tracker.on_removed(h(expired), RemovalReason.EXPIRED)
    tracker.on_removed(h(invalid), RemovalReason.INVALID)
    tracker.on_removed(h(taken_out), RemovalReason.REMOVED)  # and no new block holds it
    assert tracker.compute_statuses(FakeChain({}), ChainMoves()) == [  # type: ignore[arg-type]
        TransactionStatus(h(usurped), TxStatusKind.USURPED, h(tx(0, 0, tip=1))),
        TransactionStatus(h(evicted), TxStatusKind.DROPPED),
        TransactionStatus(h(expired), TxStatusKind.DROPPED),
        TransactionStatus(h(invalid), TxStatusKind.INVALID),
        TransactionStatus(h(taken_out), TxStatusKind.INVALID),
    ]


def test_watches_are_counted() -> None:
    hub = NotificationHub()
    hub.watch_transaction(BLOCK_A)
    hub.watch_transaction(BLOCK_A)
    hub.unwatch_transaction(BLOCK_A)
    assert hub.is_watched(BLOCK_A)
    hub.unwatch_transaction(BLOCK_A)
    assert not hub.is_watched(BLOCK_A) and hub.watched_count == 0

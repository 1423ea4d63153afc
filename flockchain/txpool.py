"""The transaction pool: signed transactions waiting for a block (DESIGN §6).

A transaction enters only if the runtime would accept it on the best state
(``Executive.validate_transaction``), except that its nonce may be ahead of the account's.
Per sender, transactions are kept by nonce: those that run without a gap from the account's
next nonce are *ready* (a block author may include them in that order), the rest are *future*
and wait for the gap to close. On every new head the node hands the pool fresh bindings to the
new best state; the pool drops what was included, re-validates the rest and re-sorts ready
from future.

Future transactions cost their sender nothing until the gap closes, and may never be included,
so they get a small place of their own: at most ``max_future_per_sender`` per sender and
``max_future_count`` (and ``max_future_bytes``) in all, never at a ready transaction's expense,
and each is dropped ``future_lifetime`` new heads after it entered (as Ethereum's pools drop
queued transactions after a lifetime). Whatever a sender pools, ready or future, must be payable
together: the sum of their fees and tips may not exceed what the sender can pay on the best state
and stay alive (``get_fee_budget``), or a block would include the first and fail the rest.

When the pool is full a newcomer gets in only by pushing others out: a ready newcomer pushes out
future transactions first, any of them, and then ready ones of strictly lower priority; a future
newcomer pushes out only future ones of strictly lower priority. Only the highest-nonce
transaction of a sender is ever pushed out (a sender's own lower nonce pushes out its highest
when the sender is at one of its limits), so eviction never leaves a gap behind a transaction
that stays. Everything here is plain deterministic Python: the node's one writer task calls it,
and equal inputs give equal pools.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from runtime.block import compute_extrinsic_hash
from runtime.errors import InvalidTransaction
from runtime.executive import ValidTransaction

MAX_COUNT = 8192
MAX_BYTES = 32 * 1024 * 1024
MAX_PER_SENDER = 64
# Futures get a tenth of the pool, as in Substrate's pool, and a sender a handful of them.
MAX_FUTURE_COUNT = 512
MAX_FUTURE_BYTES = 2 * 1024 * 1024
MAX_FUTURE_PER_SENDER = 16
FUTURE_LIFETIME = 60  # new heads: a minute at the dev chain's 1-second slots

# All three read the current best state; the node rebinds them on each new head.
Validate = Callable[[bytes], ValidTransaction]
GetNonce = Callable[[bytes], int]
GetFeeBudget = Callable[[bytes], int]  # what an account can pay in fees and tips and stay alive


# --- errors -------------------------------------------------------------------------------
# They extend InvalidTransaction so that RPC reports a refusal by the pool like one by the
# runtime (code 1010), with the message saying which.


class PoolError(InvalidTransaction):
    """The pool refuses a transaction the runtime might accept."""


class AlreadyInPool(PoolError):
    """The same transaction (same hash) is already in the pool."""


class ReplacementUnderpriced(PoolError):
    """The pool holds a transaction with the same sender and nonce and at least this tip."""


class PooledFeesUnpayable(PoolError):
    """The sender cannot pay the fees and tips of its pooled transactions and this one together."""


class PoolFull(PoolError):
    """The pool is at a limit and the transaction does not out-bid what it would push out."""


class TooManyFromSender(PoolFull):
    """The sender already has as many transactions (or future ones) pooled as one sender may."""


# --- what the pool tells a listener ---------------------------------------------------------


class RemovalReason(StrEnum):
    """Why a transaction left the pool."""

    REMOVED = "removed"  # the node took it out: a block included it, or an author found it invalid
    REPLACED = "replaced"  # the same sender and nonce with a higher tip took its place
    EVICTED = "evicted"  # pushed out to make room for a better-paying one
    INVALID = "invalid"  # no longer valid on the new best state
    EXPIRED = "expired"  # a future transaction that waited ``future_lifetime`` heads
    UNPAYABLE = "unpayable"  # its sender can no longer pay for everything it pooled


class PoolListener(Protocol):
    """Told of every change of a pooled transaction's status, as it happens (the node turns
    them into ``author_submitAndWatchExtrinsic`` statuses)."""

    def on_status(self, tx_hash: bytes, is_ready: bool) -> None:
        """``tx_hash`` entered the pool, or turned ready or future."""

    def on_removed(self, tx_hash: bytes, reason: RemovalReason, replaced_by: bytes | None = None) -> None:
        """``tx_hash`` left the pool (``replaced_by``: the transaction that took its place)."""


# --- bookkeeping --------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolStatus:
    ready: int
    future: int
    bytes: int  # encoded size of every pooled transaction


@dataclass(eq=False)
class _Entry:
    """One pooled transaction and what the runtime said of it at the last validation."""

    hash: bytes
    encoded: bytes
    valid: ValidTransaction
    arrival: int  # order of entry into the pool: breaks priority ties, oldest first
    entered_at_head: int  # the pool's count of new heads when it entered

    @property
    def sender(self) -> bytes:
        return self.valid.sender

    @property
    def nonce(self) -> int:
        return self.valid.nonce

    @property
    def priority(self) -> int:
        return self.valid.priority

    @property
    def cost(self) -> int:
        """What including it takes from the sender before its call runs: fee and tip."""
        return self.valid.fee + self.valid.priority

    @property
    def size(self) -> int:
        return len(self.encoded)


@dataclass(eq=False)
class _SenderQueue:
    """One sender's transactions by nonce; the first ``ready_count`` from the account's next
    nonce on are ready, the rest (``future_count`` of them, ``future_bytes`` long) future."""

    account_nonce: int
    by_nonce: dict[int, _Entry] = field(default_factory=dict)
    ready_count: int = 0
    future_count: int = 0
    future_bytes: int = 0

    def update_ready(self) -> None:
        """Ready transactions are those that run without a gap from the account's nonce."""
        nonce = self.account_nonce
        while nonce in self.by_nonce:
            nonce += 1
        self.ready_count = nonce - self.account_nonce
        future = self.future_entries()
        self.future_count, self.future_bytes = len(future), sum(entry.size for entry in future)

    def is_ready_nonce(self, nonce: int) -> bool:
        """Whether a transaction with ``nonce`` is (or, newly pooled, would be) ready."""
        return nonce <= self.account_nonce + self.ready_count

    def ready_entries(self) -> list[_Entry]:
        return [self.by_nonce[self.account_nonce + offset] for offset in range(self.ready_count)]

    def future_entries(self) -> list[_Entry]:
        first_future = self.account_nonce + self.ready_count
        return [entry for nonce, entry in self.by_nonce.items() if nonce >= first_future]

    def by_descending_nonce(self) -> list[_Entry]:
        return [self.by_nonce[nonce] for nonce in sorted(self.by_nonce, reverse=True)]


@dataclass(frozen=True)
class _Usage:
    """What the pool would hold: all transactions, and the future ones among them."""

    count: int
    bytes: int
    future_count: int
    future_bytes: int

    def changed(self, entry: _Entry, is_future: bool, sign: int) -> _Usage:
        """With ``entry`` added (``sign`` 1) or taken out (-1)."""
        future = sign if is_future else 0
        return _Usage(
            self.count + sign,
            self.bytes + sign * entry.size,
            self.future_count + future,
            self.future_bytes + future * entry.size,
        )


# (is ready, priority, -arrival, transaction, its sender's queue, the rest of its sender's in
# eviction order): futures first, then lowest priority, newest first among equals.
_Candidate = tuple[bool, int, int, _Entry, _SenderQueue, Iterator[_Entry]]


# --- the pool -----------------------------------------------------------------------------


class TransactionPool:
    """Signed transactions valid on the best state, ready or waiting for a nonce gap to close."""

    def __init__(
        self,
        validate: Validate,
        get_nonce: GetNonce,
        *,
        get_fee_budget: GetFeeBudget | None = None,
        max_count: int = MAX_COUNT,
        max_bytes: int = MAX_BYTES,
        max_per_sender: int = MAX_PER_SENDER,
        max_future_count: int = MAX_FUTURE_COUNT,
        max_future_bytes: int = MAX_FUTURE_BYTES,
        max_future_per_sender: int = MAX_FUTURE_PER_SENDER,
        future_lifetime: int = FUTURE_LIFETIME,
    ) -> None:
        """``get_fee_budget`` None: each transaction's fee and tip is checked alone (by the
        runtime), not together with its sender's others."""
        limits = (max_count, max_bytes, max_per_sender, max_future_count, max_future_bytes, max_future_per_sender)
        if min(*limits, future_lifetime) < 1:
            raise ValueError("pool limits must be positive")
        self._validate = validate
        self._get_nonce = get_nonce
        self._get_fee_budget = get_fee_budget
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.max_per_sender = max_per_sender
        self.max_future_count = max_future_count
        self.max_future_bytes = max_future_bytes
        self.max_future_per_sender = max_future_per_sender
        self.future_lifetime = future_lifetime
        self._heads = 0  # new heads seen
        self._entries: dict[bytes, _Entry] = {}  # in arrival order
        self._senders: dict[bytes, _SenderQueue] = {}
        self._bytes = 0
        self._future_count = 0  # the senders' future counts and bytes, summed
        self._future_bytes = 0
        self._arrivals = itertools.count()
        self._listener: PoolListener | None = None

    def set_listener(self, listener: PoolListener | None) -> None:
        """Tell ``listener`` of every status change from now on (None: nobody)."""
        self._listener = listener

    # --- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._entries

    def status(self) -> PoolStatus:
        return PoolStatus(ready=len(self._entries) - self._future_count, future=self._future_count, bytes=self._bytes)

    def pending(self) -> list[bytes]:
        """Every pooled transaction, ready or future, in arrival order."""
        return [entry.encoded for entry in self._entries.values()]

    def ready(self) -> list[bytes]:
        """Ready transactions in the order a block author should try them.

        Repeatedly the highest-priority one among each sender's next ready transaction (ties:
        earliest arrival), so a sender's nonces come out in order and never with a gap.
        """
        chains = [queue.ready_entries() for queue in self._senders.values() if queue.ready_count]
        heap = [(-chain[0].priority, chain[0].arrival, index, 0) for index, chain in enumerate(chains)]
        heapq.heapify(heap)
        order = []
        while heap:
            _, _, index, position = heapq.heappop(heap)
            chain = chains[index]
            order.append(chain[position].encoded)
            if position + 1 < len(chain):
                successor = chain[position + 1]
                heapq.heappush(heap, (-successor.priority, successor.arrival, index, position + 1))
        return order

    def next_nonce(self, who: bytes) -> int:
        """The nonce ``who``'s next transaction should use: after its ready pooled ones."""
        queue = self._senders.get(who)
        if queue is None:
            return self._get_nonce(who)
        return queue.account_nonce + queue.ready_count

    # --- writing ------------------------------------------------------------------------

    def submit(self, encoded: bytes) -> bytes:
        """Validate and pool ``encoded``; returns its hash.

        Raises the runtime's :class:`InvalidTransaction` subclass, or a :class:`PoolError`.
        Every check comes before the first change: a refused transaction changes nothing.
        """
        tx_hash = compute_extrinsic_hash(encoded)
        if tx_hash in self._entries:
            raise AlreadyInPool(f"transaction 0x{tx_hash.hex()} is already in the pool")
        entry = _Entry(tx_hash, encoded, self._validate(encoded), next(self._arrivals), self._heads)
        replaced = self._check_replacement(entry)
        outgoing = [replaced] if replaced is not None else []
        outgoing += self._plan_sender_eviction(entry, replaced)
        outgoing += self._plan_evictions(entry, outgoing)
        for old in outgoing:
            if old is replaced:
                self._discard(old, RemovalReason.REPLACED, replaced_by=tx_hash)
            else:
                self._discard(old, RemovalReason.EVICTED)
        self._insert(entry)
        return tx_hash

    def remove(self, hashes: Iterable[bytes]) -> None:
        """Drop these transactions (e.g. a block author found them invalid); unknown hashes
        are ignored. A dropped transaction's successors become future (the future limits are
        enforced on the next head: the engine removes a new head's transactions before it
        tells the pool of the head, when their successors only look future)."""
        for tx_hash in hashes:
            entry = self._entries.get(tx_hash)
            if entry is not None:
                self._discard(entry, RemovalReason.REMOVED)

    def on_new_head(
        self,
        validate: Validate,
        get_nonce: GetNonce,
        included_hashes: Iterable[bytes],
        *,
        get_fee_budget: GetFeeBudget | None = None,
    ) -> None:
        """Follow a new best block: drop what it included, drop what no longer validates on
        its state (used nonce, expired, cannot pay), re-sort ready from future, drop future
        transactions older than ``future_lifetime`` heads, and bring every sender back within
        what it can pay and the future limits. ``get_fee_budget`` None keeps the one bound."""
        self._validate, self._get_nonce = validate, get_nonce
        self._get_fee_budget = get_fee_budget or self._get_fee_budget
        self._heads += 1
        self.remove(included_hashes)
        for sender, queue in self._senders.items():
            before = get_readiness(queue) if self._listener is not None else None
            queue.account_nonce = get_nonce(sender)
            self._update_ready(queue, before)
        for entry in list(self._entries.values()):
            try:
                entry.valid = validate(entry.encoded)
            except InvalidTransaction:
                self._discard(entry, RemovalReason.INVALID)
        self._drop_expired_futures()
        self._drop_unpayable()
        self._drop_excess_futures()

    # --- admission ----------------------------------------------------------------------

    def _check_replacement(self, entry: _Entry) -> _Entry | None:
        """The pooled transaction ``entry`` replaces (same sender and nonce), if any; only a
        strictly higher tip may replace one, so a replacement cannot be used to spam."""
        queue = self._senders.get(entry.sender)
        current = queue.by_nonce.get(entry.nonce) if queue is not None else None
        if current is not None and entry.priority <= current.priority:
            raise ReplacementUnderpriced(
                f"nonce {entry.nonce} is already pooled with tip {current.priority}; "
                f"a replacement needs a higher tip than that, not {entry.priority}"
            )
        return current

    def _plan_sender_eviction(self, entry: _Entry, replaced: _Entry | None) -> list[_Entry]:
        """What of the sender's own must go for ``entry`` to fit the sender's limits: its count,
        its future queue and what it can pay. A lower nonce pushes out the sender's highest,
        one at a time: the lower one is the one that can become ready first."""
        queue = self._senders.get(entry.sender)
        if queue is None:
            queue = _SenderQueue(self._get_nonce(entry.sender))
        kept = [old for old in queue.by_descending_nonce() if old is not replaced]
        budget = None if self._get_fee_budget is None else self._get_fee_budget(entry.sender)
        is_future = not queue.is_ready_nonce(entry.nonce)
        outgoing: list[_Entry] = []
        while (excess := self._find_sender_excess(queue, entry, kept, budget, is_future)) is not None:
            if not kept or kept[0].nonce < entry.nonce:
                raise excess
            outgoing.append(kept.pop(0))
        return outgoing

    def _find_sender_excess(
        self, queue: _SenderQueue, entry: _Entry, kept: list[_Entry], budget: int | None, is_future: bool
    ) -> PoolError | None:
        """The sender's limit that ``entry`` beside ``kept`` breaks, as the error to refuse it with."""
        if len(kept) >= self.max_per_sender:
            return TooManyFromSender(f"the sender already has {self.max_per_sender} transactions in the pool")
        if is_future and sum(not queue.is_ready_nonce(old.nonce) for old in kept) >= self.max_future_per_sender:
            return TooManyFromSender(
                f"the sender already has {self.max_future_per_sender} future transactions (waiting for a "
                "lower nonce) in the pool"
            )
        cost = entry.cost + sum(old.cost for old in kept)
        if budget is not None and cost > budget:
            return PooledFeesUnpayable(
                f"the sender cannot pay for its pooled transactions and this one together: their fees and "
                f"tips come to {cost}, and it can pay {budget} and stay alive"
            )
        return None

    def _plan_evictions(self, entry: _Entry, outgoing: list[_Entry]) -> list[_Entry]:
        """What else must go for ``entry`` to fit the pool's limits, and the future limits if
        it is future.

        Futures first, then lowest priority (ties: newest first), each a sender's highest
        remaining nonce; a future one only for a ready newcomer or one of strictly higher
        priority, a ready one only for a ready newcomer of strictly higher priority; else
        :class:`PoolFull`.
        """
        if entry.size > self.max_bytes:
            raise PoolFull(f"a transaction of {entry.size} bytes exceeds the pool's {self.max_bytes} bytes")
        is_future = self._is_future(entry)
        usage = _Usage(len(self._entries), self._bytes, self._future_count, self._future_bytes)
        for old in outgoing:
            usage = usage.changed(old, self._is_future(old), -1)
        usage = usage.changed(entry, is_future, 1)
        evicted: list[_Entry] = []
        candidates = self._iter_eviction_candidates((entry.sender, entry.nonce), {old.hash for old in outgoing})
        while self._is_over_limits(usage, is_future):
            victim = next(candidates, None)
            if victim is None or not self._may_push_out(entry, is_future, victim):
                outbid = f"tip {entry.priority} does not out-bid what it would push out"
                raise PoolFull(f"{self._describe_full(usage, is_future)} and {outbid}")
            evicted.append(victim)
            usage = usage.changed(victim, self._is_future(victim), -1)
        return evicted

    def _is_over_limits(self, usage: _Usage, is_future: bool) -> bool:
        """Over the pool's limits, or (a future newcomer) the future ones."""
        over_pool = usage.count > self.max_count or usage.bytes > self.max_bytes
        return over_pool or (is_future and self._is_over_future_limits(usage))

    def _is_over_future_limits(self, usage: _Usage) -> bool:
        return usage.future_count > self.max_future_count or usage.future_bytes > self.max_future_bytes

    def _describe_full(self, usage: _Usage, is_future: bool) -> str:
        if is_future and self._is_over_future_limits(usage):
            return f"future transactions are at their limit ({self.max_future_count}, {self.max_future_bytes} bytes)"
        return f"the pool is full ({self.max_count} transactions, {self.max_bytes} bytes)"

    def _may_push_out(self, entry: _Entry, is_future: bool, victim: _Entry) -> bool:
        """A future transaction may never be included, so any ready newcomer may take its place;
        otherwise only a strictly higher tip may, and a future newcomer never takes a ready one's."""
        if self._is_future(victim):
            return not is_future or victim.priority < entry.priority
        return not is_future and victim.priority < entry.priority

    def _is_future(self, entry: _Entry) -> bool:
        """Whether ``entry`` (pooled, or about to be) is future on the pool's view of nonces."""
        queue = self._senders.get(entry.sender)
        if queue is None:
            return entry.nonce > self._get_nonce(entry.sender)
        return not queue.is_ready_nonce(entry.nonce)

    def _iter_eviction_candidates(self, floor: tuple[bytes, int] | None, leaving: set[bytes]) -> Iterator[_Entry]:
        """Pooled transactions in eviction order: a heap merge over senders, each sender from
        its highest nonce down, futures before ready ones. ``floor`` is a newcomer's sender and
        nonce: its own lower nonces are never offered, as pushing one out would leave the
        newcomer behind a gap."""
        heap: list[_Candidate] = []
        for sender, queue in self._senders.items():
            lowest = floor[1] if floor is not None and sender == floor[0] else -1
            tails = iter([old for old in queue.by_descending_nonce() if old.nonce > lowest and old.hash not in leaving])
            self._push_candidate(heap, queue, tails)
        while heap:
            *_, victim, queue, tails = heapq.heappop(heap)
            yield victim
            self._push_candidate(heap, queue, tails)

    @staticmethod
    def _push_candidate(heap: list[_Candidate], queue: _SenderQueue, tails: Iterator[_Entry]) -> None:
        candidate = next(tails, None)
        if candidate is not None:
            is_ready = queue.is_ready_nonce(candidate.nonce)
            heapq.heappush(heap, (is_ready, candidate.priority, -candidate.arrival, candidate, queue, tails))

    # --- following the head -------------------------------------------------------------

    def _drop_expired_futures(self) -> None:
        oldest_kept = self._heads - self.future_lifetime
        for entry in [entry for queue in self._senders.values() for entry in queue.future_entries()]:
            if entry.entered_at_head < oldest_kept:
                self._discard(entry, RemovalReason.EXPIRED)

    def _drop_unpayable(self) -> None:
        """A sender's highest nonces, until it can pay for what stays (its balance may have
        fallen in the new block)."""
        if self._get_fee_budget is None:
            return
        for sender, queue in list(self._senders.items()):
            budget = self._get_fee_budget(sender)
            excess = sum(entry.cost for entry in queue.by_nonce.values()) - budget
            for entry in queue.by_descending_nonce():
                if excess <= 0:
                    break
                excess -= entry.cost
                self._discard(entry, RemovalReason.UNPAYABLE)

    def _drop_excess_futures(self) -> None:
        """Back within the future limits: a removed or invalid transaction turns its successors
        into futures. Each sender's highest futures first, then the pool's cheapest."""
        for queue in list(self._senders.values()):
            for entry in queue.by_descending_nonce()[: max(0, queue.future_count - self.max_future_per_sender)]:
                self._discard(entry, RemovalReason.EVICTED)
        victims = self._iter_eviction_candidates(None, set())
        while self._is_over_future_limits(_Usage(0, 0, self._future_count, self._future_bytes)):
            self._discard(next(victims), RemovalReason.EVICTED)

    # --- storage ------------------------------------------------------------------------

    def _update_ready(self, queue: _SenderQueue, before: dict[bytes, bool] | None = None) -> None:
        """Re-sort ``queue``'s ready from future, keeping the pool's future totals; a listener
        hears of each transaction whose readiness changed (``before``: the queue's readiness
        before a change made to it, taken here when not given)."""
        if self._listener is not None and before is None:
            before = get_readiness(queue)
        self._future_count -= queue.future_count
        self._future_bytes -= queue.future_bytes
        queue.update_ready()
        self._future_count += queue.future_count
        self._future_bytes += queue.future_bytes
        if self._listener is not None and before is not None:
            for tx_hash, is_ready in get_readiness(queue).items():
                if before.get(tx_hash) != is_ready:
                    self._listener.on_status(tx_hash, is_ready)

    def _insert(self, entry: _Entry) -> None:
        queue = self._senders.get(entry.sender)
        if queue is None:
            queue = self._senders[entry.sender] = _SenderQueue(self._get_nonce(entry.sender))
        before = get_readiness(queue) if self._listener is not None else None
        queue.by_nonce[entry.nonce] = entry
        self._update_ready(queue, before)
        self._entries[entry.hash] = entry
        self._bytes += entry.size

    def _discard(self, entry: _Entry, reason: RemovalReason, *, replaced_by: bytes | None = None) -> None:
        del self._entries[entry.hash]
        self._bytes -= entry.size
        queue = self._senders[entry.sender]
        before = get_readiness(queue) if self._listener is not None else None
        del queue.by_nonce[entry.nonce]
        if self._listener is not None:
            self._listener.on_removed(entry.hash, reason, replaced_by)
        self._update_ready(queue, before)
        if not queue.by_nonce:
            del self._senders[entry.sender]


def get_readiness(queue: _SenderQueue) -> dict[bytes, bool]:
    """Whether each of ``queue``'s transactions is ready, by hash, in nonce order."""
    return {queue.by_nonce[nonce].hash: queue.is_ready_nonce(nonce) for nonce in sorted(queue.by_nonce)}

"""The transaction pool: signed transactions waiting for a block (DESIGN §6).

A transaction enters only if the runtime would accept it on the best state
(``Executive.validate_transaction``), except that its nonce may be ahead of the account's.
Per sender, transactions are kept by nonce: those that run without a gap from the account's
next nonce are *ready* (a block author may include them in that order), the rest are *future*
and wait for the gap to close. On every new head the node hands the pool fresh bindings to the
new best state; the pool drops what was included, re-validates the rest and re-sorts ready
from future. A transaction still future more than ``future_lifetime`` new heads after it
entered is dropped (as Ethereum's pools drop queued transactions after a lifetime): nothing
else would ever remove one, and a full pool of them would keep out only newcomers that cannot
out-bid them.

When the pool is full a newcomer gets in only by out-bidding (strictly higher priority) the
transactions it pushes out, and only the highest-nonce transaction of a sender is ever pushed
out, so eviction never leaves a gap behind a transaction that stays. Everything here is plain
deterministic Python: the node's one writer task calls it, and equal inputs give equal pools.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from runtime.block import compute_extrinsic_hash
from runtime.errors import InvalidTransaction
from runtime.executive import ValidTransaction

MAX_COUNT = 8192
MAX_BYTES = 32 * 1024 * 1024
MAX_PER_SENDER = 64
FUTURE_LIFETIME = 600  # new heads: 10 minutes at the dev chain's 1-second slots

# Both read the current best state; the node rebinds them on each new head.
Validate = Callable[[bytes], ValidTransaction]
GetNonce = Callable[[bytes], int]


# --- errors -------------------------------------------------------------------------------
# They extend InvalidTransaction so that RPC reports a refusal by the pool like one by the
# runtime (code 1010), with the message saying which.


class PoolError(InvalidTransaction):
    """The pool refuses a transaction the runtime might accept."""


class AlreadyInPool(PoolError):
    """The same transaction (same hash) is already in the pool."""


class ReplacementUnderpriced(PoolError):
    """The pool holds a transaction with the same sender and nonce and at least this tip."""


class PoolFull(PoolError):
    """The pool is at a limit and the transaction does not out-bid what it would push out."""


class TooManyFromSender(PoolFull):
    """The sender already has as many transactions pooled as one sender may."""


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
    def size(self) -> int:
        return len(self.encoded)


@dataclass(eq=False)
class _SenderQueue:
    """One sender's transactions by nonce; the first ``ready_count`` from the account's next
    nonce on are ready."""

    account_nonce: int
    by_nonce: dict[int, _Entry] = field(default_factory=dict)
    ready_count: int = 0

    def update_ready(self) -> None:
        """Ready transactions are those that run without a gap from the account's nonce."""
        nonce = self.account_nonce
        while nonce in self.by_nonce:
            nonce += 1
        self.ready_count = nonce - self.account_nonce

    def ready_entries(self) -> list[_Entry]:
        return [self.by_nonce[self.account_nonce + offset] for offset in range(self.ready_count)]

    def future_entries(self) -> list[_Entry]:
        first_future = self.account_nonce + self.ready_count
        return [entry for nonce, entry in self.by_nonce.items() if nonce >= first_future]

    def by_descending_nonce(self) -> list[_Entry]:
        return [self.by_nonce[nonce] for nonce in sorted(self.by_nonce, reverse=True)]


# (priority, -arrival, transaction, the rest of its sender's in eviction order): lowest
# priority out first, newest first among equals.
_Candidate = tuple[int, int, _Entry, Iterator[_Entry]]


# --- the pool -----------------------------------------------------------------------------


class TransactionPool:
    """Signed transactions valid on the best state, ready or waiting for a nonce gap to close."""

    def __init__(
        self,
        validate: Validate,
        get_nonce: GetNonce,
        *,
        max_count: int = MAX_COUNT,
        max_bytes: int = MAX_BYTES,
        max_per_sender: int = MAX_PER_SENDER,
        future_lifetime: int = FUTURE_LIFETIME,
    ) -> None:
        if min(max_count, max_bytes, max_per_sender, future_lifetime) < 1:
            raise ValueError("pool limits must be positive")
        self._validate = validate
        self._get_nonce = get_nonce
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.max_per_sender = max_per_sender
        self.future_lifetime = future_lifetime
        self._heads = 0  # new heads seen
        self._entries: dict[bytes, _Entry] = {}  # in arrival order
        self._senders: dict[bytes, _SenderQueue] = {}
        self._bytes = 0
        self._arrivals = itertools.count()

    # --- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._entries

    def status(self) -> PoolStatus:
        ready = sum(queue.ready_count for queue in self._senders.values())
        return PoolStatus(ready=ready, future=len(self._entries) - ready, bytes=self._bytes)

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
        outgoing = [replaced] if replaced is not None else self._plan_sender_eviction(entry)
        outgoing += self._plan_evictions(entry, outgoing)
        for old in outgoing:
            self._discard(old)
        self._insert(entry)
        return tx_hash

    def remove(self, hashes: Iterable[bytes]) -> None:
        """Drop these transactions (e.g. a block author found them invalid); unknown hashes
        are ignored. A dropped transaction's successors become future."""
        for tx_hash in hashes:
            entry = self._entries.get(tx_hash)
            if entry is not None:
                self._discard(entry)

    def on_new_head(self, validate: Validate, get_nonce: GetNonce, included_hashes: Iterable[bytes]) -> None:
        """Follow a new best block: drop what it included, drop what no longer validates on
        its state (used nonce, expired, cannot pay), re-sort ready from future, and drop
        future transactions older than ``future_lifetime`` heads."""
        self._validate, self._get_nonce = validate, get_nonce
        self._heads += 1
        self.remove(included_hashes)
        for sender, queue in self._senders.items():
            queue.account_nonce = get_nonce(sender)
            queue.update_ready()
        for entry in list(self._entries.values()):
            try:
                entry.valid = validate(entry.encoded)
            except InvalidTransaction:
                self._discard(entry)
        oldest_kept = self._heads - self.future_lifetime
        for entry in [entry for queue in self._senders.values() for entry in queue.future_entries()]:
            if entry.entered_at_head < oldest_kept:
                self._discard(entry)

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

    def _plan_sender_eviction(self, entry: _Entry) -> list[_Entry]:
        """At the per-sender limit, a lower nonce pushes out the sender's highest: the lower
        one is the one that can become ready first."""
        queue = self._senders.get(entry.sender)
        if queue is None or len(queue.by_nonce) < self.max_per_sender:
            return []
        highest = queue.by_descending_nonce()[0]
        if entry.nonce > highest.nonce:
            raise TooManyFromSender(f"the sender already has {self.max_per_sender} transactions in the pool")
        return [highest]

    def _plan_evictions(self, entry: _Entry, outgoing: list[_Entry]) -> list[_Entry]:
        """What else must go for ``entry`` to fit the count and byte limits.

        Lowest priority first (ties: newest first), each a sender's highest remaining nonce,
        and every one of strictly lower priority than ``entry``; else :class:`PoolFull`.
        """
        if entry.size > self.max_bytes:
            raise PoolFull(f"a transaction of {entry.size} bytes exceeds the pool's {self.max_bytes} bytes")
        count = len(self._entries) - len(outgoing) + 1
        size = self._bytes - sum(old.size for old in outgoing) + entry.size
        evicted: list[_Entry] = []
        candidates = self._iter_eviction_candidates(entry, outgoing)
        while count > self.max_count or size > self.max_bytes:
            victim = next(candidates, None)
            if victim is None or victim.priority >= entry.priority:
                raise PoolFull(
                    f"the pool is full ({self.max_count} transactions, {self.max_bytes} bytes) "
                    f"and tip {entry.priority} does not out-bid what it would push out"
                )
            evicted.append(victim)
            count -= 1
            size -= victim.size
        return evicted

    def _iter_eviction_candidates(self, entry: _Entry, outgoing: list[_Entry]) -> Iterator[_Entry]:
        """Pooled transactions in eviction order: a heap merge over senders, each sender from
        its highest nonce down. ``entry``'s own lower nonces are never offered: pushing one
        out would leave ``entry`` behind a gap."""
        leaving = {old.hash for old in outgoing}
        heap: list[_Candidate] = []
        for sender, queue in self._senders.items():
            floor = entry.nonce if sender == entry.sender else -1
            tails = iter([old for old in queue.by_descending_nonce() if old.nonce > floor and old.hash not in leaving])
            self._push_candidate(heap, tails)
        while heap:
            _, _, victim, tails = heapq.heappop(heap)
            yield victim
            self._push_candidate(heap, tails)

    @staticmethod
    def _push_candidate(heap: list[_Candidate], tails: Iterator[_Entry]) -> None:
        candidate = next(tails, None)
        if candidate is not None:
            heapq.heappush(heap, (candidate.priority, -candidate.arrival, candidate, tails))

    # --- storage ------------------------------------------------------------------------

    def _insert(self, entry: _Entry) -> None:
        queue = self._senders.get(entry.sender)
        if queue is None:
            queue = self._senders[entry.sender] = _SenderQueue(self._get_nonce(entry.sender))
        queue.by_nonce[entry.nonce] = entry
        queue.update_ready()
        self._entries[entry.hash] = entry
        self._bytes += entry.size

    def _discard(self, entry: _Entry) -> None:
        del self._entries[entry.hash]
        self._bytes -= entry.size
        queue = self._senders[entry.sender]
        del queue.by_nonce[entry.nonce]
        if queue.by_nonce:
            queue.update_ready()
        else:
            del self._senders[entry.sender]

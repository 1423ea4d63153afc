"""Interfaces of the node layer, py-evm style: small abstract classes that backends implement.

The node keeps everything it persists in one ordered key-value store. Writes go through a
:class:`WriteBatch` so that one logical step (importing a block: its state nodes, its header,
the canonical index, the head pointer) lands on disk as a single atomic write: after a crash
the store holds either all of it or none of it.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import NamedTuple


class WriteBatch:
    """Ordered puts and deletes, applied to a store by :meth:`KeyValueStore.write` atomically.

    Operations apply in the order they were added, so a later operation on a key wins, as
    in LevelDB's own write batch. Several writers (state tree, chain store) may add to the
    same batch before it is written once.

    Consecutive puts (or deletes) are kept as one *run* of keys and values, so a backend can
    apply a run with one C-level loop: a block's commit adds thousands of puts.
    """

    __slots__ = ("_runs",)

    def __init__(self) -> None:
        # (keys, values) for a run of puts, (keys, None) for a run of deletes.
        self._runs: list[tuple[list[bytes], list[bytes] | None]] = []

    def put(self, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value``."""
        runs = self._runs
        if runs and runs[-1][1] is not None:
            keys, values = runs[-1]
            keys.append(key)
            values.append(value)  # type: ignore[union-attr]
        else:
            runs.append(([key], [value]))

    def put_all(self, keys: list[bytes], values: list[bytes]) -> None:
        """:meth:`put` each ``keys[i]``, ``values[i]`` in order. The batch keeps both lists:
        the caller must not change them afterwards."""
        if len(keys) != len(values):
            raise ValueError("put_all needs as many values as keys")
        if keys:
            self._runs.append((keys, values))

    def delete(self, key: bytes) -> None:
        """Remove ``key``; deleting an absent key is not an error."""
        runs = self._runs
        if runs and runs[-1][1] is None:
            runs[-1][0].append(key)
        else:
            runs.append(([key], None))

    def runs(self) -> Iterator[tuple[list[bytes], list[bytes] | None]]:
        """The operations in order, as runs: ``(keys, values)`` puts, ``(keys, None)`` deletes."""
        return iter(self._runs)

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    def __iter__(self) -> Iterator[tuple[bytes, bytes | None]]:
        """Yield ``(key, value)`` in order; ``value`` is None for a delete."""
        for keys, values in self._runs:
            if values is None:
                for key in keys:
                    yield key, None
            else:
                yield from zip(keys, values)


class IterationBounds(NamedTuple):
    """The key range an :meth:`KeyValueStore.iterate` call covers (``lower`` is inclusive)."""

    lower: bytes
    upper: bytes | None  # None: no upper bound
    upper_inclusive: bool

    def is_empty(self) -> bool:
        """True when no key can lie in the range."""
        if self.upper is None:
            return False
        return self.lower > self.upper or (self.lower == self.upper and not self.upper_inclusive)


def prefix_successor(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix`` (None if there is none)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def iteration_bounds(prefix: bytes, start: bytes | None, reverse: bool) -> IterationBounds:
    """Translate ``iterate``'s arguments into one key range, shared by every backend.

    ``start`` is an inclusive position to begin from in the direction of travel: the lowest
    key yielded going forward, the highest going in reverse.
    """
    upper = prefix_successor(prefix)
    if start is None:
        return IterationBounds(prefix, upper, False)
    if not reverse:
        return IterationBounds(max(prefix, start), upper, False)
    if upper is not None and start >= upper:
        return IterationBounds(prefix, upper, False)
    return IterationBounds(prefix, start, True)


class KeyValueStore(ABC):
    """An ordered byte-string key-value store with atomic batch writes.

    Keys iterate in unsigned byte order. Do not write while an iterator is open: LevelDB
    yields a snapshot but the memory store refuses, so callers collect changes in a
    :class:`WriteBatch` and write once iteration is done.
    """

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""

    @abstractmethod
    def iterate(
        self, prefix: bytes = b"", *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(key, value)`` for keys starting with ``prefix``, in byte order.

        ``start`` (inclusive) is where to begin: the lowest key when going forward, the
        highest when ``reverse`` is true.
        """

    @abstractmethod
    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Apply every operation of ``batch``, in order, as one atomic write.

        ``sync``: return only once the write is on stable storage, so that it survives the
        machine losing power, not just the process being killed (slashing protection needs
        that; a block the node can fetch again does not). A store without a disk ignores it.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the store; further use raises :class:`~flockchain.errors.StorageError`."""

    def __enter__(self) -> "KeyValueStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

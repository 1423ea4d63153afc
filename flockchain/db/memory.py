"""An in-memory :class:`~flockchain.abc.KeyValueStore`, for tests and throwaway nodes."""

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from flockchain.abc import KeyValueStore, WriteBatch, iteration_bounds
from flockchain.errors import StorageError


class MemoryStore(KeyValueStore):
    """A dict plus a lazily maintained sorted key list.

    The sorted list is brought up to date only when someone iterates, by merging the keys
    added since (one timsort over two sorted runs) and filtering the removed ones, so a
    stream of writes between iterations costs dict operations only.
    """

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []  # sorted; exact once _added and _removed are folded in
        self._added: set[bytes] = set()  # in _data, not in _keys
        self._removed: set[bytes] = set()  # in _keys, not in _data
        self._generation = 0  # bumped by every write, so open iterators can refuse to go on
        self._closed = False

    def get(self, key: bytes) -> bytes | None:
        self._check_open()
        return self._data.get(key)

    def iterate(
        self, prefix: bytes = b"", *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        self._check_open()
        bounds = iteration_bounds(prefix, start, reverse)
        if bounds.is_empty():
            return iter(())
        keys = self._sorted_keys()
        lo = bisect_left(keys, bounds.lower)
        if bounds.upper is None:
            hi = len(keys)
        elif bounds.upper_inclusive:
            hi = bisect_right(keys, bounds.upper)
        else:
            hi = bisect_left(keys, bounds.upper)
        indices = range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)
        return self._yield(keys, indices, self._generation)

    def _yield(self, keys: list[bytes], indices: range, generation: int) -> Iterator[tuple[bytes, bytes]]:
        for index in indices:
            if self._generation != generation or self._closed:
                raise StorageError("memory store written or closed while an iterator was open")
            key = keys[index]
            yield key, self._data[key]

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """``sync`` changes nothing: memory has no disk to wait for."""
        self._check_open()
        ops = list(batch)
        for key, value in ops:  # validate first: a batch that cannot apply must change nothing
            if type(key) is not bytes or (value is not None and type(value) is not bytes):
                raise TypeError("keys and values must be bytes")
        self._generation += 1
        data, added, removed = self._data, self._added, self._removed
        for key, value in ops:
            if value is not None:
                if key not in data:
                    if key in removed:
                        removed.discard(key)
                    else:
                        added.add(key)
                data[key] = value
            elif key in data:
                del data[key]
                if key in added:
                    added.discard(key)
                else:
                    removed.add(key)

    def close(self) -> None:
        self._closed = True
        self._generation += 1

    def _sorted_keys(self) -> list[bytes]:
        if self._removed:
            removed = self._removed
            self._keys = [key for key in self._keys if key not in removed]
            self._removed = set()
        if self._added:
            self._keys.extend(sorted(self._added))
            self._keys.sort()
            self._added = set()
        return self._keys

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("memory store is closed")

"""A :class:`~flockchain.abc.KeyValueStore` on LevelDB, through plyvel."""

import resource
from collections import deque
from collections.abc import Iterator
from os import PathLike

import plyvel

from flockchain.abc import IterationBounds, KeyValueStore, WriteBatch, iteration_bounds
from flockchain.errors import StorageError

# plyvel reports a closed database with RuntimeError, everything else with plyvel.Error.
_PLYVEL_ERRORS = (plyvel.Error, RuntimeError)

LEVELDB_DEFAULT_OPEN_FILES = 1000  # LevelDB's own default table cache
MIN_OPEN_FILES = 64


def compute_max_open_files(soft_limit: int) -> int:
    """LevelDB's table files may use at most half of the process's open-file limit, so that
    RPC connections and peers keep the other half (with LevelDB's default of 1,000 and the common
    soft limit of 1,024, a busy node ran out of descriptors and failed to accept or to read)."""
    if soft_limit == resource.RLIM_INFINITY:
        return LEVELDB_DEFAULT_OPEN_FILES
    return max(MIN_OPEN_FILES, min(LEVELDB_DEFAULT_OPEN_FILES, soft_limit // 2))


class LevelDBStore(KeyValueStore):
    """LevelDB via plyvel; a :class:`WriteBatch` becomes one LevelDB write batch (atomic).

    ``sync=True`` makes every write wait for the OS to flush it, so it also survives a power
    loss; without it a write survives the process being killed (it is in the OS's buffers
    once ``write`` returns) but not the machine going down. ``write(batch, sync=True)`` asks
    that of one write (the signing record's).

    Tables are written uncompressed: what the node stores is mostly hashes, keys and
    signatures, which Snappy barely shrinks, and compressing them while LevelDB flushes and
    compacts cost about 15% of a block import's CPU (docs/decisions.md). Stores written with
    compression still open: each table block records how it was written.
    """

    def __init__(self, path: str | PathLike[str], *, create_if_missing: bool = True, sync: bool = False) -> None:
        try:
            soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
            self._db = plyvel.DB(
                str(path),
                create_if_missing=create_if_missing,
                compression=None,
                max_open_files=compute_max_open_files(soft_limit),
            )
        except _PLYVEL_ERRORS as exc:
            raise StorageError(f"cannot open LevelDB at {path}: {exc}") from exc
        self._sync = sync

    def get(self, key: bytes) -> bytes | None:
        try:
            return self._db.get(key)
        except _PLYVEL_ERRORS as exc:
            raise StorageError(f"LevelDB read failed: {exc}") from exc

    def iterate(
        self, prefix: bytes = b"", *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        bounds = iteration_bounds(prefix, start, reverse)
        if bounds.is_empty():
            return iter(())
        try:
            if not reverse:
                return self._yield(
                    self._db.iterator(
                        start=bounds.lower,
                        stop=bounds.upper,
                        include_stop=bounds.upper_inclusive,
                    )
                )
            # plyvel's ranged reverse iterators skip keys near the end of the database, so in
            # reverse seek a raw LevelDB iterator and apply the bounds here.
            return self._yield_reverse(self._db.raw_iterator(), bounds)
        except _PLYVEL_ERRORS as exc:
            raise StorageError(f"LevelDB iteration failed: {exc}") from exc

    @staticmethod
    def _yield(iterator: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        with iterator:  # type: ignore[attr-defined]  # plyvel iterators are context managers
            try:
                yield from iterator
            except _PLYVEL_ERRORS as exc:
                raise StorageError(f"LevelDB iteration failed: {exc}") from exc

    @staticmethod
    def _yield_reverse(raw, bounds: IterationBounds) -> Iterator[tuple[bytes, bytes]]:
        lower, upper, inclusive = bounds
        try:
            if upper is None:
                raw.seek_to_last()
            else:
                raw.seek(upper)  # the first key >= upper, if any
                if not raw.valid():
                    raw.seek_to_last()
                elif raw.key() > upper or not inclusive:
                    raw.prev()
            while raw.valid():
                key = raw.key()
                if key < lower:
                    return
                yield key, raw.value()
                raw.prev()
        except _PLYVEL_ERRORS as exc:
            raise StorageError(f"LevelDB iteration failed: {exc}") from exc
        finally:
            raw.close()

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        try:
            leveldb_batch = self._db.write_batch(sync=self._sync or sync)
            for keys, values in batch.runs():  # each run in one C-level loop (deque drains map)
                if values is None:
                    deque(map(leveldb_batch.delete, keys), 0)
                else:
                    deque(map(leveldb_batch.put, keys, values), 0)
            leveldb_batch.write()
        except _PLYVEL_ERRORS as exc:
            raise StorageError(f"LevelDB write failed: {exc}") from exc

    def compact(self) -> None:
        """Compact the whole keyspace now.

        After a bulk load (a state built from genesis or a snapshot), LevelDB would otherwise
        compact in the background and stall later writes for seconds while it does.
        """
        try:
            self._db.compact_range()
        except _PLYVEL_ERRORS as exc:
            raise StorageError(f"LevelDB compaction failed: {exc}") from exc

    def close(self) -> None:
        self._db.close()

"""A :class:`~flockchain.abc.KeyValueStore` on LevelDB, through plyvel."""

from collections.abc import Iterator
from os import PathLike

import plyvel

from flockchain.abc import KeyValueStore, WriteBatch, iteration_bounds
from flockchain.errors import StorageError

# plyvel reports a closed database with RuntimeError, everything else with plyvel.Error.
_PLYVEL_ERRORS = (plyvel.Error, RuntimeError)


class LevelDBStore(KeyValueStore):
    """LevelDB via plyvel; a :class:`WriteBatch` becomes one LevelDB write batch (atomic).

    ``sync=True`` makes each write wait for the OS to flush it, so it also survives a power
    loss; without it a write survives the process being killed (it is in the OS's buffers
    once ``write`` returns) but not the machine going down.
    """

    def __init__(
        self, path: str | PathLike[str], *, create_if_missing: bool = True, sync: bool = False
    ) -> None:
        try:
            self._db = plyvel.DB(str(path), create_if_missing=create_if_missing)
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
            if reverse and bounds.upper is None:
                # plyvel yields nothing for a reverse range with no stop whose start is the
                # last key, so walk down from the end and stop below the range ourselves.
                iterator = self._db.iterator(reverse=True)
                return self._yield(iterator, stop_below=bounds.lower)
            iterator = self._db.iterator(
                start=bounds.lower or None,
                stop=bounds.upper,
                include_stop=bounds.upper_inclusive,
                reverse=reverse,
            )
        except _PLYVEL_ERRORS as exc:
            raise StorageError(f"LevelDB iteration failed: {exc}") from exc
        return self._yield(iterator)

    @staticmethod
    def _yield(
        iterator: Iterator[tuple[bytes, bytes]], stop_below: bytes = b""
    ) -> Iterator[tuple[bytes, bytes]]:
        with iterator:  # type: ignore[attr-defined]  # plyvel iterators are context managers
            try:
                for key, value in iterator:
                    if key < stop_below:
                        return
                    yield key, value
            except _PLYVEL_ERRORS as exc:
                raise StorageError(f"LevelDB iteration failed: {exc}") from exc

    def write(self, batch: WriteBatch) -> None:
        try:
            leveldb_batch = self._db.write_batch(sync=self._sync)
            put, delete = leveldb_batch.put, leveldb_batch.delete
            for key, value in batch:
                if value is None:
                    delete(key)
                else:
                    put(key, value)
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

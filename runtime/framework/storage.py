"""Runtime storage: layered overlays over the committed state, and typed storage items.

The runtime never touches a database. It reads through a :class:`StateReader` (the node gives
it the authenticated state tree) and writes into an :class:`Overlay`. A block runs in one
overlay; each extrinsic's call runs in a child overlay that is merged on success and dropped on
failure, so a failed call changes nothing but what was written before it (fee, nonce).

Storage keys (documented for RPC users in ``docs/storage.md``)::

    StorageValue:  blake2b_128(pallet) ‖ blake2b_128(item)
    StorageMap:    blake2b_128(pallet) ‖ blake2b_128(item) ‖ encoded key

where ``encoded key`` is the raw bytes for fixed-size byte keys (account ids, hashes) and the
canonical encoding otherwise, so keys are readable back from storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, Generic, TypeVar

from runtime.abc import StateReader
from runtime.primitives.codec import CodecType, FixedBytes, codec_type_of, decode_value, value_encoder

V = TypeVar("V")
K = TypeVar("K")


_DELETED = None


class Overlay(StateReader):
    """Uncommitted writes over a parent reader; ``None`` marks a deletion."""

    __slots__ = ("parent", "changes")

    def __init__(self, parent: StateReader) -> None:
        self.parent = parent
        self.changes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        changes = self.changes
        if key in changes:
            return changes[key]
        return self.parent.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.changes[key] = value

    def delete(self, key: bytes) -> None:
        self.changes[key] = _DELETED

    def child(self) -> Overlay:
        return Overlay(self)

    def merge_into_parent(self) -> None:
        """Apply this overlay's writes to its parent overlay."""
        parent = self.parent
        if not isinstance(parent, Overlay):
            raise TypeError("only a child overlay can be merged into its parent")
        parent.changes.update(self.changes)

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Live (key, value) pairs under ``prefix``, in key order, writes included."""
        merged = dict(self.parent.iter_prefix(prefix))
        for key, value in self.changes.items():
            if key.startswith(prefix):
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
        return iter(sorted(merged.items()))


def compute_prefix(pallet: str, item: str) -> bytes:
    return _hash128(pallet.encode()) + _hash128(item.encode())


def _hash128(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class StorageValue(Generic[V]):
    """One value under a fixed key; reads return ``default`` when absent."""

    def __init__(self, pallet: str, name: str, value_type: Any, default: V | None = None) -> None:
        self.pallet, self.name = pallet, name
        self.key = compute_prefix(pallet, name)
        self.value_type = codec_type_of(value_type)
        self.default = default
        self._encode = value_encoder(self.value_type)

    def get(self, state: StateReader) -> V:
        raw = state.get(self.key)
        return self.default if raw is None else _decode_trusted(self.value_type, raw)  # type: ignore[return-value]

    def exists(self, state: StateReader) -> bool:
        return state.get(self.key) is not None

    def put(self, state: Overlay, value: V) -> None:
        state.set(self.key, self._encode(value))

    def kill(self, state: Overlay) -> None:
        state.delete(self.key)


class StorageMap(Generic[K, V]):
    """Values keyed by ``key_type`` under one prefix; reads return ``default`` when absent."""

    def __init__(self, pallet: str, name: str, key_type: Any, value_type: Any, default: V | None = None) -> None:
        self.pallet, self.name = pallet, name
        self.prefix = compute_prefix(pallet, name)
        self.key_type = codec_type_of(key_type)
        self.value_type = codec_type_of(value_type)
        self.default = default
        self._encode = value_encoder(self.value_type)
        # Fixed-size byte keys (account ids, hashes) are their own encoding: checked inline on
        # every access (accounts are read and written several times per transaction).
        self._key_size = self.key_type.size if isinstance(self.key_type, FixedBytes) else None
        self._encode_key: Callable[[K], bytes] = value_encoder(self.key_type)

    def storage_key(self, key: K) -> bytes:
        if type(key) is bytes and len(key) == self._key_size:
            return self.prefix + key
        if self._key_size is not None:
            self.key_type.to_primitive(key)  # raises the codec's error
        return self.prefix + self._encode_key(key)

    def decode_key(self, storage_key: bytes) -> K:
        suffix = storage_key[len(self.prefix) :]
        if isinstance(self.key_type, FixedBytes):
            return self.key_type.from_primitive(suffix)  # type: ignore[no-any-return]
        return decode_value(self.key_type, suffix)  # type: ignore[no-any-return]

    def get(self, state: StateReader, key: K) -> V:
        is_own_encoding = type(key) is bytes and len(key) == self._key_size
        raw = state.get(self.prefix + key if is_own_encoding else self.storage_key(key))  # type: ignore[operator]
        return self.default if raw is None else _decode_trusted(self.value_type, raw)  # type: ignore[return-value]

    def contains(self, state: StateReader, key: K) -> bool:
        return state.get(self.storage_key(key)) is not None

    def put(self, state: Overlay, key: K, value: V) -> None:
        is_own_encoding = type(key) is bytes and len(key) == self._key_size
        state.set(self.prefix + key if is_own_encoding else self.storage_key(key), self._encode(value))  # type: ignore[operator]

    def remove(self, state: Overlay, key: K) -> None:
        state.delete(self.storage_key(key))

    def iter(self, state: StateReader) -> Iterator[tuple[K, V]]:
        """Every entry, in storage-key order (for genesis export, invariants and RPC)."""
        for storage_key, raw in state.iter_prefix(self.prefix):
            yield self.decode_key(storage_key), _decode_trusted(self.value_type, raw)


@lru_cache(maxsize=1 << 16)
def _decode_trusted(value_type: CodecType, raw: bytes) -> Any:
    """Decode a stored value. Decoded values are immutable, so one object may serve every read
    of the same bytes: a block reads the same accounts and parameters many times.

    State holds only what the runtime itself encoded, and the state root commits to it; a
    value that fails to decode means a corrupt database, which must stop the node.
    """
    return decode_value(value_type, raw)

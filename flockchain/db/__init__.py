"""Storage backends behind :class:`flockchain.abc.KeyValueStore`, and the key schema."""

from flockchain.db.leveldb import LevelDBStore
from flockchain.db.memory import MemoryStore

__all__ = ["LevelDBStore", "MemoryStore"]

"""The ``state_*`` storage reads, with Substrate's names and shapes, over the node's state tree.

Storage keys are the runtime's raw keys (a pallet's prefix, the item's name and the encoded map
key, as the metadata document describes them); values are the canonical msgpack the runtime
stored. ``hash`` names the block whose state (after it) is read; left out, the best block. A
block whose state this node no longer holds (pruned) reads as unknown: ``null``.

Our state tree proves one key at a time (``flockchain.state.verify_proof``), so
``state_getReadProof`` answers one proof per key, in the order the keys were asked, where
Substrate answers a set of trie nodes.
"""

from __future__ import annotations

from typing import Any

from flockchain.rpc.api import NodeApi
from flockchain.rpc.jsonrpc import InvalidParams
from flockchain.rpc.methods import (
    ResolvedBlock,
    parse_hex_bytes,
    resolve_block,
    to_hex,
)
from flockchain.state.proof import hash_value

MAX_KEYS_PER_CALL = 256  # keys one call may read, prove or subscribe to
MAX_KEYS_PAGE = 1000  # Substrate's most keys per state_getKeysPaged page
MAX_STORAGE_KEY_SIZE = 1024  # bytes: the runtime's keys are a few dozen


def parse_storage_key(value: Any, what: str = "key") -> bytes:
    key = parse_hex_bytes(value, what)
    if len(key) > MAX_STORAGE_KEY_SIZE:
        raise InvalidParams(f"{what} is {len(key)} bytes, more than a storage key's {MAX_STORAGE_KEY_SIZE}")
    return key


def parse_storage_keys(value: Any) -> list[bytes]:
    """A list of 1 to MAX_KEYS_PER_CALL storage keys."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_KEYS_PER_CALL:
        raise InvalidParams(f"keys must be an array of 1 to {MAX_KEYS_PER_CALL} hex storage keys")
    return [parse_storage_key(key, f"keys[{index}]") for index, key in enumerate(value)]


def parse_keys_count(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= MAX_KEYS_PAGE:
        raise InvalidParams(f"count must be an integer in 1..{MAX_KEYS_PAGE}")
    return value


def encode_changes_json(block: ResolvedBlock, keys: list[bytes]) -> dict[str, Any]:
    """Substrate's ``StorageChangeSet``: the block and each key with its value (null: absent)."""
    changes = []
    for key in keys:
        value = block.state.get(key)
        changes.append([to_hex(key), None if value is None else to_hex(value)])
    return {"block": to_hex(block.hash), "changes": changes}


class StateMethods:
    """One async handler per ``state_*`` read; parameter names follow Substrate's."""

    def __init__(self, node: NodeApi) -> None:
        self._node = node

    async def state_get_storage(self, key: Any, hash: Any = None) -> str | None:
        """The value stored under ``key`` after block ``hash``, or null when absent (or when the
        node does not hold that block's state)."""
        storage_key = parse_storage_key(key)
        block = resolve_block(self._node, hash)
        value = None if block is None else block.state.get(storage_key)
        return None if value is None else to_hex(value)

    async def state_get_storage_hash(self, key: Any, hash: Any = None) -> str | None:
        """The hash the state tree commits to for the value under ``key`` (blake2b-256
        personalised ``flock/state-val``), or null when absent."""
        storage_key = parse_storage_key(key)
        block = resolve_block(self._node, hash)
        value = None if block is None else block.state.get(storage_key)
        return None if value is None else to_hex(hash_value(value))

    async def state_get_storage_size(self, key: Any, hash: Any = None) -> int | None:
        """The size in bytes of the value under ``key``, or null when absent."""
        storage_key = parse_storage_key(key)
        block = resolve_block(self._node, hash)
        value = None if block is None else block.state.get(storage_key)
        return None if value is None else len(value)

    async def state_get_keys_paged(
        self, prefix: Any, count: Any, startKey: Any = None, hash: Any = None
    ) -> list[str] | None:
        """Up to ``count`` (1 to 1000) keys that start with ``prefix`` (null: any), in key order,
        after ``startKey`` (null: from the first): a page; the next page starts after its last
        key."""
        key_prefix = b"" if prefix is None else parse_storage_key(prefix, "prefix")
        page_count = parse_keys_count(count)
        start_key = None if startKey is None else parse_storage_key(startKey, "startKey")
        block = resolve_block(self._node, hash)
        if block is None:
            return None
        page: list[str] = []
        for key, _ in block.state.iter_prefix(key_prefix):
            if start_key is not None and key <= start_key:
                continue
            page.append(to_hex(key))
            if len(page) == page_count:
                break
        return page

    async def state_query_storage_at(self, keys: Any, hash: Any = None) -> list[dict[str, Any]] | None:
        """``[{"block", "changes": [[key, value | null], ...]}]``: the values of ``keys`` (1 to
        256) after block ``hash``."""
        storage_keys = parse_storage_keys(keys)
        block = resolve_block(self._node, hash)
        return None if block is None else [encode_changes_json(block, storage_keys)]

    async def state_get_read_proof(self, keys: Any, hash: Any = None) -> dict[str, Any] | None:
        """``{"at", "proof": ["0x<StateProof>", ...]}``: one proof per key (1 to 256), in the
        order asked, of its value or its absence under block ``at``'s state root;
        ``flockchain.state.verify_proof(stateRoot, key, value, proof)`` checks each."""
        storage_keys = parse_storage_keys(keys)
        block = resolve_block(self._node, hash)
        if block is None:
            return None
        return {"at": to_hex(block.hash), "proof": [to_hex(block.state.prove(key)) for key in storage_keys]}

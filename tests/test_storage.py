"""runtime/framework/storage.py: storage keys are derived, and pinned (they are consensus: the
state root commits to them), and overlays merge only into overlays."""

from __future__ import annotations

import hashlib

import pytest

from runtime.abc import EmptyState
from runtime.framework.storage import Overlay, StorageMap, StorageValue, compute_prefix
from runtime.primitives.codec import U32, AccountId


def blake2b_128(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def test_keys_are_hashes_of_the_pallet_and_item_names() -> None:
    assert compute_prefix("system", "Number") == blake2b_128(b"system") + blake2b_128(b"Number")
    value = StorageValue("test", "Value", U32, 0)
    assert value.key == blake2b_128(b"test") + blake2b_128(b"Value")
    accounts = StorageMap("test", "Accounts", AccountId, U32, 0)
    assert accounts.storage_key(b"\x07" * 32) == blake2b_128(b"test") + blake2b_128(b"Accounts") + b"\x07" * 32


def test_items_built_in_a_test_read_and_write_through_an_overlay() -> None:
    state = Overlay(EmptyState())
    value = StorageValue("test", "Value", U32, 7)
    accounts = StorageMap("test", "Accounts", AccountId, U32, 0)
    assert value.get(state) == 7 and not value.exists(state)
    value.put(state, 9)
    accounts.put(state, b"\x01" * 32, 3)
    assert (value.get(state), accounts.get(state, b"\x01" * 32), accounts.get(state, b"\x02" * 32)) == (9, 3, 0)
    assert list(accounts.iter(state)) == [(b"\x01" * 32, 3)]
    value.kill(state)
    assert value.get(state) == 7


def test_only_a_child_overlay_merges() -> None:
    with pytest.raises(TypeError, match="^only a child overlay can be merged into its parent$"):
        Overlay(EmptyState()).merge_into_parent()

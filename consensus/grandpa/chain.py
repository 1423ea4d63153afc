"""What the voter asks of the block tree: pure queries, answered by the node (or a test double).

Convention for ``ancestry(base, block)``: the hashes from ``block`` back towards ``base``, **block
first, base excluded**; ``[]`` when ``block == base``; ``None`` when ``block`` is unknown or neither
``base`` nor a descendant of it. So ``len(ancestry) == number(block) − number(base)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

BlockRef = tuple[bytes, int]  # (hash, number)
AncestryFn = Callable[[bytes, bytes], "list[bytes] | None"]


class BlockTree(Protocol):
    def ancestry(self, base: bytes, block: bytes) -> list[bytes] | None:
        """``block``, its parent, ... down to the child of ``base`` (see the module docstring)."""
        ...

    def best_chain_containing(self, base: bytes) -> BlockRef | None:
        """Head of the best chain containing ``base``; ``None`` if ``base`` is unknown or not viable."""
        ...


def get_ancestry_fn(tree: BlockTree | AncestryFn) -> AncestryFn:
    """Justifications accept a tree or a bare ancestry callable (a light client has no tree)."""
    return tree.ancestry if hasattr(tree, "ancestry") else tree  # type: ignore[union-attr,return-value]


def is_descendant_or_equal(ancestry: AncestryFn, base: BlockRef, block: BlockRef) -> bool:
    """Whether ``block >= base``; the numbers must agree with the path length, so lying numbers fail."""
    if block[1] < base[1]:
        return False
    path = ancestry(base[0], block[0])
    return path is not None and len(path) == block[1] - base[1]


class DictBlockTree:
    """An in-memory block tree for tests and simulations: best chain = highest, then lowest hash."""

    def __init__(self, genesis_hash: bytes) -> None:
        self._parent: dict[bytes, bytes | None] = {genesis_hash: None}
        self._number: dict[bytes, int] = {genesis_hash: 0}
        self._children: dict[bytes, list[bytes]] = {genesis_hash: []}

    def add_block(self, block_hash: bytes, parent_hash: bytes) -> None:
        if block_hash in self._parent:
            return
        if parent_hash not in self._parent:
            raise KeyError("unknown parent")
        self._parent[block_hash] = parent_hash
        self._number[block_hash] = self._number[parent_hash] + 1
        self._children[block_hash] = []
        self._children[parent_hash].append(block_hash)

    def get_number(self, block_hash: bytes) -> int:
        return self._number[block_hash]

    def ancestry(self, base: bytes, block: bytes) -> list[bytes] | None:
        if base not in self._number or block not in self._number:
            return None
        path: list[bytes] = []
        cursor: bytes | None = block
        while cursor is not None and self._number[cursor] > self._number[base]:
            path.append(cursor)
            cursor = self._parent[cursor]
        return path if cursor == base else None

    def best_chain_containing(self, base: bytes) -> BlockRef | None:
        if base not in self._number:
            return None
        best = (base, self._number[base])
        stack = [base]
        while stack:
            block = stack.pop()
            candidate = (block, self._number[block])
            if (candidate[1], _invert(candidate[0])) > (best[1], _invert(best[0])):
                best = candidate
            stack.extend(self._children[block])
        return best


def _invert(block_hash: bytes) -> bytes:
    """Orders hashes descending, so that a max() picks the lowest hash on ties."""
    return bytes(255 - b for b in block_hash)

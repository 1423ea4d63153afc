"""The runtime's view of the node's state: a :class:`runtime.abc.StateReader` over the tree."""

from __future__ import annotations

from collections.abc import Iterator

from flockchain.state.tree import StateTree
from runtime.abc import StateReader


class TreeStateReader(StateReader):
    """Reads one version of the state tree (None: the latest, staged changes included)."""

    __slots__ = ("_tree", "_version")

    def __init__(self, tree: StateTree, version: int | None = None) -> None:
        self._tree = tree
        self._version = version

    def get(self, key: bytes) -> bytes | None:
        return self._tree.get(key, self._version)

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self._tree.iter_prefix(prefix, self._version)


class ProvableTreeState(TreeStateReader):
    """One committed version of the tree, with a proof for any key under its root (the RPC's
    ``ProvableState``)."""

    __slots__ = ()

    def prove(self, key: bytes) -> bytes:
        return self._tree.prove(key, self._version).encode()

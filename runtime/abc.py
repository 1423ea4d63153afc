"""Interfaces the runtime needs from its host (py-evm style: every interface in one place)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator


class StateReader(ABC):
    """Read access to one version of the key-value state."""

    __slots__ = ()

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None when absent."""

    @abstractmethod
    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order.

        Not on the block-execution hot path: for genesis export, invariants and RPC.
        """


class EmptyState(StateReader):
    """The state before genesis."""

    __slots__ = ()

    def get(self, key: bytes) -> bytes | None:
        return None

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return iter(())

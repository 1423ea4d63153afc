"""Errors raised by the node layer.

They extend the project's one exception tree (:mod:`runtime.errors`), so a caller can catch
:class:`FlockError` for anything raised on purpose, or a narrow class to react to one cause.
``InvalidProof`` and ``EncodingError`` are re-exported because the state tree raises them.
"""

from runtime.errors import EncodingError, FlockError, InvalidProof

__all__ = [
    "CorruptDatabase",
    "EncodingError",
    "FlockError",
    "InvalidProof",
    "InvalidVersion",
    "StateError",
    "StorageError",
    "UnknownVersion",
    "UnsupportedStateFormat",
    "VersionPruned",
]


class StorageError(FlockError):
    """The key-value store failed: it could not be opened, read or written, or is closed."""


class CorruptDatabase(StorageError):
    """The store holds a record that breaks an invariant the node relies on.

    Raised instead of guessing: a node that finds its own database inconsistent must stop, not
    serve or build on state it cannot vouch for.
    """


class UnsupportedStateFormat(StorageError):
    """The store's state tree was written in a layout this node does not read (an older node's
    database: ``flockchain purge-chain`` deletes it)."""


class StateError(FlockError):
    """A request the authenticated state cannot serve."""


class UnknownVersion(StateError, LookupError):
    """The state version was never committed (or was reverted)."""


class VersionPruned(UnknownVersion):
    """The state version was committed but has since been pruned away."""


class InvalidVersion(StateError, ValueError):
    """A commit or revert named a version that breaks ordering (versions strictly increase)."""


class GenesisMismatch(FlockError):
    """The database or a genesis header belongs to another chain than the chain spec's."""


class InvalidBlock(FlockError):
    """A block the chain refuses; the subclass names the first rule it breaks."""


class MalformedBlock(InvalidBlock):
    """The bytes do not decode as a block."""


class OversizedBlock(InvalidBlock):
    """The encoded block is larger than the limit (checked before decoding)."""


class UnknownParent(InvalidBlock):
    """The parent block is not in the store."""


class BelowFinalized(InvalidBlock):
    """The block is on a fork that does not contain the last finalized block."""


class WrongExtrinsicsRoot(InvalidBlock):
    """The header's extrinsics root is not the root of the block's extrinsics."""


class WrongTimestamp(InvalidBlock):
    """The header's timestamp is not the start of its slot (``slot × slot duration``): one clock for
    every node, so a block's time says nothing its slot does not."""


class FutureBlock(InvalidBlock):
    """The block's slot has not started yet by the local clock.

    ``slot_start_ms`` is when it does: the node keeps a block that is only slightly early aside
    until then, and refuses one further ahead (it would strand honest authors behind it).
    """

    def __init__(self, message: str, slot_start_ms: int) -> None:
        super().__init__(message)
        self.slot_start_ms = slot_start_ms


class WrongAuthor(InvalidBlock):
    """The header's author may not author in that slot."""


class BadSeal(InvalidBlock):
    """The author's seal on the header does not verify."""


class InvalidBlockExecution(InvalidBlock):
    """An extrinsic or hook of the block fails the runtime's rules."""


class WrongStateRoot(InvalidBlock):
    """Executing the block gives another state root than its header claims."""


class UnknownBlock(FlockError, LookupError):
    """A block the chain does not hold (or no longer can act on: before the last finalized one)."""


class NotSlotAuthor(FlockError):
    """Our key may not author the requested slot on that parent (or the claim given is not ours
    for it)."""

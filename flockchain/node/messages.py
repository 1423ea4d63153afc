"""What engines send each other, and where it goes.

Messages are plain frozen records (``BlockAnnounce``, ``VoteMessage``, ``CommitMessage``,
``BlockRequest``, ``SetChangeRequest``, ``EquivocationMessage``, ``CatchUpMessage``); the engine
answers each event with ``Outgoing`` items (``Broadcast`` to every peer, ``Reply`` to the sender)
and the network layer decides how they travel.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.block import Header, SignedFinalityVote

MAX_BLOCKS_PER_RESPONSE = 64


@dataclass(frozen=True)
class BlockAnnounce:
    data: bytes  # an encoded block


@dataclass(frozen=True)
class VoteMessage:
    vote: SignedFinalityVote


@dataclass(frozen=True)
class CommitMessage:
    justification: bytes  # an encoded Justification


@dataclass(frozen=True)
class BlockRequest:
    block_hash: bytes  # send this block and up to MAX_BLOCKS_PER_RESPONSE - 1 ancestors


@dataclass(frozen=True)
class SetChangeRequest:
    """Send the justification that ended authority set ``set_id`` (a node that missed a set
    change cannot follow the next set's votes or commits without it)."""

    set_id: int


@dataclass(frozen=True)
class EquivocationMessage:
    """Evidence of an equivocation (two headers for one slot by one author, or two votes for one
    round and stage by one voter), gossiped so that whoever authors next puts its report on
    chain: the node that saw it may be cut off, or not author for a long time."""

    first: Header | SignedFinalityVote
    second: Header | SignedFinalityVote


@dataclass(frozen=True)
class CatchUpMessage:
    """The votes of our last completed round ``round`` of set ``set_id``, sent to a voter whose
    votes show it two or more rounds behind: no voter re-sends the votes of rounds that ended."""

    set_id: int
    round: int
    votes: tuple[SignedFinalityVote, ...]


Message = (
    BlockAnnounce | VoteMessage | CommitMessage | BlockRequest | SetChangeRequest | EquivocationMessage | CatchUpMessage
)


@dataclass(frozen=True)
class Broadcast:
    message: Message


@dataclass(frozen=True)
class Reply:
    """Send ``messages`` to the peer whose message caused them."""

    messages: tuple[Message, ...]


Outgoing = Broadcast | Reply

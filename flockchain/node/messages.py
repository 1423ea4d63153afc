"""What engines send each other, and where it goes.

Messages are plain frozen records (``BlockAnnounce``, ``VoteMessage``, ``CommitMessage``,
``BlockRequest``, ``SetChangeRequest``); the engine answers each event with ``Outgoing`` items
(``Broadcast`` to every peer, ``Reply`` to the sender) and the network layer decides how they
travel.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.block import SignedFinalityVote

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


Message = BlockAnnounce | VoteMessage | CommitMessage | BlockRequest | SetChangeRequest


@dataclass(frozen=True)
class Broadcast:
    message: Message


@dataclass(frozen=True)
class Reply:
    """Send ``messages`` to the peer whose message caused them."""

    messages: tuple[Message, ...]


Outgoing = Broadcast | Reply

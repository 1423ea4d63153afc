"""The consensus task's inbox: the events the engine handles one at a time, and what handling one
gives back (:meth:`flockchain.node.engine.ConsensusEngine.handle`).

Every input that can change the chain is an event: a slot started, the timer ticked, a peer sent a
message, the local RPC submitted a transaction. The trio node reads them from one bounded channel
in the one task that writes the database; the simulator delivers them from its event loop. A
peer's message gets a verdict, as gossip validation does in consensus-specs' p2p spec: *accept*
(new and valid), *ignore* (nothing wrong with the sender, nothing to use now: a duplicate, a
stale or held block, ...) or *reject* (it breaks a rule: the typed error's class name and
message). The network layer scores peers from verdicts, so they are small frozen records.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from enum import StrEnum

from flockchain.node.messages import Message, Outgoing
from runtime.errors import FlockError, InvalidTransaction

PeerId = Hashable  # opaque to the engine: ints in the simulator, the network layer's peer ids on the wire


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotStarted:
    """Slot ``slot`` began by the local clock: author on the head if we won it."""

    slot: int


@dataclass(frozen=True)
class TimerTick:
    """Time passed: the finality voter's timers, held blocks whose slot came, re-requests and
    re-sends."""


@dataclass(frozen=True)
class PeerMessage:
    peer: PeerId
    message: Message


@dataclass(frozen=True)
class SubmitTransaction:
    """A transaction from this node's RPC: the pool's answer comes back in the outcome."""

    encoded: bytes


Event = SlotStarted | TimerTick | PeerMessage | SubmitTransaction


# --- verdicts -------------------------------------------------------------------------------


class IgnoreReason(StrEnum):
    DUPLICATE = "duplicate"  # already imported, counted or held
    ALREADY_FINAL = "already final"
    STALE = "stale"  # conflicts with finality, or belongs to an authority set that has ended
    ORPHAN = "orphan"  # its parent is unknown: held, and the parent asked of the sender
    EARLY = "early"  # its slot has not started: held until it does
    AWAITING_BLOCKS = "awaiting blocks"  # it names blocks we lack: they are asked for
    LATER_SET = "later set"  # from an authority set we have not reached: the change is asked for
    NOT_FOUND = "not found"  # a request for something we do not hold
    AHEAD = "ahead"  # a vote for a round further ahead than votes are buffered
    SURPLUS = "surplus"  # a voter's vote beyond the two a stage keeps of it (an equivocator's third)
    RATE_LIMITED = "rate limited"  # a request beyond what the peer gets answered per second
    CONFLICTING = "conflicting finality"  # a valid commit for a fork our finality abandoned: the safety alarm


@dataclass(frozen=True)
class Accept:
    """New and valid: the engine used it, and relays what gossip carries on."""


@dataclass(frozen=True)
class Ignore:
    reason: IgnoreReason


@dataclass(frozen=True)
class Reject:
    """The message breaks ``rule`` (a typed error's class name, e.g. ``WrongStateRoot``)."""

    rule: str
    message: str

    @classmethod
    def from_error(cls, error: FlockError) -> Reject:
        return cls(type(error).__name__, str(error))


Verdict = Accept | Ignore | Reject

ACCEPT = Accept()


@dataclass(frozen=True)
class PeerVerdict:
    """A verdict on a block ``peer`` sent earlier that was held (orphan, early) until this event."""

    peer: PeerId
    verdict: Verdict


# --- outcome --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    outgoing: tuple[Outgoing, ...] = ()
    verdict: Verdict | None = None  # a peer message's
    resolved: tuple[PeerVerdict, ...] = ()  # held blocks this event imported or refused
    answer: bytes | InvalidTransaction | None = None  # a submission's: its hash, or why the pool refused it

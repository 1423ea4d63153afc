"""Equivocation evidence as nodes pass it around: two things one key signed that conflict.

Two headers for one slot sealed by one author, or two different finality votes signed by one
voter for one ``(set id, round, stage)``. A node checks evidence a peer sends before it keeps or
relays it: the checks here are the runtime's (``offences`` checks them again, with its era and
punishability rules, when a block carries the report), so a node only gossips what proves an
offence by itself. Pure: signatures and equality, no state.
"""

from __future__ import annotations

from runtime import api
from runtime.block import Header, SignedFinalityVote, verify_finality_vote, verify_seal
from runtime.errors import FlockError, InvalidKey, InvalidSignature


class InvalidEvidence(FlockError):
    """Two signed things that prove no equivocation."""


class NotAnEquivocation(InvalidEvidence):
    """The two are the same, of different kinds, by different keys, or for different slots or votes."""


class BadEvidenceSignature(InvalidEvidence):
    """A seal or vote signature does not verify under the key it names."""


def get_offence_key(first: Header | SignedFinalityVote) -> tuple[int, bytes, tuple[int, ...]]:
    """The offence an equivocation with ``first`` as one half proves, as the runtime knows it:
    (kind, the signing key, time: the slot of two headers, the set, round and stage of two votes)."""
    if isinstance(first, Header):
        return api.OFFENCE_BLOCK_EQUIVOCATION, first.author, (first.slot,)
    vote = first.vote
    return api.OFFENCE_VOTE_EQUIVOCATION, first.voter, (vote.set_id, vote.round, vote.stage)


def check_evidence(first: object, second: object, genesis_hash: bytes) -> None:
    """Raise an :class:`InvalidEvidence` unless ``first`` and ``second`` prove an equivocation."""
    if isinstance(first, Header) and isinstance(second, Header):
        check_block_equivocation(first, second, genesis_hash)
    elif isinstance(first, SignedFinalityVote) and isinstance(second, SignedFinalityVote):
        check_vote_equivocation(first, second, genesis_hash)
    else:
        raise NotAnEquivocation("evidence is two headers or two finality votes")


def check_block_equivocation(first: Header, second: Header, genesis_hash: bytes) -> None:
    if first.hash == second.hash or first.slot != second.slot or first.author != second.author:
        raise NotAnEquivocation("two different headers for one slot by one author")
    try:
        verify_seal(first, genesis_hash)
        verify_seal(second, genesis_hash)
    except (InvalidKey, InvalidSignature) as error:
        raise BadEvidenceSignature(f"header seal: {error}") from error


def check_vote_equivocation(first: SignedFinalityVote, second: SignedFinalityVote, genesis_hash: bytes) -> None:
    if first.vote == second.vote or first.voter != second.voter or _get_vote_time(first) != _get_vote_time(second):
        raise NotAnEquivocation("two different votes for one set, round and stage by one voter")
    try:
        verify_finality_vote(first, genesis_hash)
        verify_finality_vote(second, genesis_hash)
    except (InvalidKey, InvalidSignature) as error:
        raise BadEvidenceSignature(f"vote signature: {error}") from error


def _get_vote_time(signed: SignedFinalityVote) -> tuple[int, int, int]:
    return signed.vote.set_id, signed.vote.round, signed.vote.stage

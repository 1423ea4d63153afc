"""The finality voter set a block's state fixes (the slot lottery's comes from ``babe.epochs``)."""

from __future__ import annotations

from consensus.grandpa.voter_set import VoterSet
from runtime import api
from runtime.abc import StateReader


def get_voter_set(state: StateReader) -> VoterSet:
    """The voters that finalize the children of the block whose post-state is ``state``: the
    current authorities' signing keys, weighted by their slot-lottery stakes, under the
    session's set id (``runtime.api.get_finality_authorities``)."""
    authorities = api.get_finality_authorities(state)
    return VoterSet(authorities.set_id, authorities.voters)

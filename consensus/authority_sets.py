"""The finality voter set a block's state fixes (the slot lottery's comes from ``babe.epochs``)."""

from __future__ import annotations

from consensus.babe.epochs import get_epoch
from consensus.grandpa.voter_set import VoterSet
from runtime.abc import StateReader
from runtime.pallets import session


def get_voter_set(state: StateReader) -> VoterSet:
    """The voters that finalize the children of the block whose post-state is ``state``: the
    current authorities' signing keys, weighted by their slot-lottery stakes, under the
    session's set id."""
    epoch = get_epoch(state)
    voters = tuple((authority.account, authority.stake) for authority in epoch.authorities)
    return VoterSet(session.SetId.get(state), voters)

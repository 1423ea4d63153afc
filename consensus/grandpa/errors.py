"""Errors of the finality gadget: why a vote or a justification is refused."""

from runtime.errors import FlockError


class GrandpaError(FlockError):
    """Root of the finality gadget's errors."""


class InvalidVoterSet(GrandpaError, ValueError):
    """A voter set that is empty, has a non-positive weight, a duplicate or malformed key."""


class InvalidVote(GrandpaError):
    """A vote that cannot count in the round it names."""


class UnknownVoter(InvalidVote):
    """The signer is not in the voter set."""


class WrongSetId(InvalidVote):
    """The vote is for another authority set than the round's."""


class WrongRound(InvalidVote):
    """The vote is for another round than the one it was given to."""


class WrongStage(InvalidVote):
    """The vote's stage is not the one expected (prevote, precommit or primary proposal)."""


class BadVoteSignature(InvalidVote):
    """The vote's signature does not verify under the voter's key."""


class InvalidJustification(GrandpaError):
    """A commit/justification that does not prove its target final."""


class JustificationWrongSet(InvalidJustification):
    """The justification, or one of its precommits, names another authority set."""


class JustificationMixedRounds(InvalidJustification):
    """A precommit is for another round than the justification's (or is not a precommit)."""


class JustificationUnknownVoter(InvalidJustification):
    """A precommit is signed by a key outside the voter set."""


class JustificationBadSignature(InvalidJustification):
    """A precommit's signature does not verify."""


class JustificationMalformed(InvalidJustification):
    """Duplicate precommits, or more than two precommits from one voter."""


class InsufficientWeight(InvalidJustification):
    """The precommits for the target or its descendants weigh no more than 2/3 of the set."""

"""Errors of the slot lottery: why a block's slot claim is refused."""

from runtime.errors import EncodingError, FlockError


class BabeError(FlockError):
    """Root of the slot lottery's errors."""


class InvalidSlotClaim(BabeError):
    """A header whose slot claim does not give its author the right to author in that slot."""


class InvalidPreDigest(InvalidSlotClaim, EncodingError):
    """No, several or a malformed ``BABE`` pre-runtime digest, or one for another slot than the header's."""


class WrongAuthorityIndex(InvalidSlotClaim):
    """The authority index is outside the set, or names another account than the header's author."""


class BadVrfProof(InvalidSlotClaim):
    """The VRF proof does not verify under the authority's VRF key, or proves another output."""


class ThresholdExceeded(InvalidSlotClaim):
    """A primary claim whose VRF output is not below the authority's threshold."""


class WrongSecondaryAuthor(InvalidSlotClaim):
    """A secondary claim by an authority other than the slot's secondary author."""

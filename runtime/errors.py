"""The project's one exception tree.

Every error the project raises on purpose derives from :class:`FlockError`. Narrow subclasses
carry what a caller needs to react; the node layer (``flockchain``) extends this tree rather
than starting its own.
"""


class FlockError(Exception):
    """Root of every error flockchain raises deliberately."""


class EncodingError(FlockError, ValueError):
    """Bytes that are not the canonical encoding of a value of the expected type."""


class CryptoError(FlockError):
    """A cryptographic check failed."""


class InvalidKey(CryptoError, ValueError):
    """A public or secret key that is malformed, non-canonical or of small order."""


class InvalidSignature(CryptoError):
    """A signature that does not verify for the given key, domain and message."""


class InvalidVrfProof(CryptoError):
    """A VRF proof that is malformed or does not verify for the given key and input."""


class InvalidProof(CryptoError):
    """A Merkle (list or state) proof that does not prove the claimed statement."""


class ArithmeticOverflow(FlockError, ArithmeticError):
    """Checked integer arithmetic left its range (overflow, underflow or division by zero)."""


class InvalidTransaction(FlockError):
    """A transaction that may not be included in a block; says why in its message."""


class MalformedTransaction(InvalidTransaction, EncodingError):
    """Bytes that do not decode as an extrinsic, or a call the runtime does not know."""


class BadTransactionProof(InvalidTransaction):
    """The transaction's signature does not verify (wrong key, chain, birth block or payload)."""


class StaleTransaction(InvalidTransaction):
    """The nonce was already used: a replay or a duplicate."""


class FutureTransaction(InvalidTransaction):
    """The nonce is ahead of the account's next nonce (valid later, not now)."""


class ExpiredTransaction(InvalidTransaction):
    """Outside its mortality window, or signed on another fork."""


class CannotPayFees(InvalidTransaction):
    """The sender cannot pay the fee and tip and stay above the existential deposit."""


class ExhaustsResources(InvalidTransaction):
    """The transaction does not fit in the block's weight or length budget."""


class BadInherent(InvalidTransaction):
    """An unsigned extrinsic that is not a valid inherent at its place in the block."""


class BlockExecutionError(FlockError):
    """A block breaks a rule of the runtime (e.g. a mandatory inherent is missing)."""


class UnprovableRead(FlockError):
    """A read that a state proof cannot back: it scanned storage (a scan's completeness cannot
    be proven key by key), so the answer must come from an index the pallet keeps instead."""

"""Accounts: the record every account keeps, and the accounts owned by the runtime itself (no key
can sign for them)."""

from runtime.primitives.codec import U32, Balance, Record, record
from runtime.primitives.hashing import TAG_ACCOUNT, tagged_hash


@record
class AccountInfo(Record):
    """An account's nonce and balances (``system`` stores it; the currency moves what is in it).

    ``reserved`` is what the account holds under named holds; ``frozen`` is the largest lock on
    ``free``: it may pay fees and be held, not moved.
    """

    nonce: U32
    free: Balance
    reserved: Balance
    frozen: Balance

    @property
    def total(self) -> int:
        return self.free + self.reserved


EMPTY_ACCOUNT = AccountInfo(0, 0, 0, 0)


def compute_module_account(name: bytes) -> bytes:
    """A deterministic account id for a pallet's funds: a hash, so no secret key matches it."""
    return tagged_hash(TAG_ACCOUNT, b"module/" + name)


TREASURY_ACCOUNT = compute_module_account(b"treasury")
# Tokens not allocated at genesis: the emission schedule pays from here (never mints).
EMISSION_RESERVE_ACCOUNT = compute_module_account(b"emission-reserve")
# Where emission pays: the staking pallet pays validators and delegators from the consensus
# pool at era end; the ML markets pay tasks from the ML pool (see docs/economics.md).
CONSENSUS_REWARD_POOL_ACCOUNT = compute_module_account(b"consensus-reward-pool")
ML_REWARD_POOL_ACCOUNT = compute_module_account(b"ml-reward-pool")
# Where burned tokens go: no key controls it, nothing ever leaves it (total issuance is fixed,
# so burning is a transfer to here, never a destruction).
BURN_ACCOUNT = compute_module_account(b"burn")

# 1 FLOCK = 10^9 base units; the supply is fixed at 10^9 FLOCK forever.
FLOCK = 10**9
TOTAL_SUPPLY = 10**9 * FLOCK

"""runtime/accounts.py: module accounts are derived, not chosen, and the derivation is pinned
(an account id is consensus: every implementation must derive the same bytes)."""

from __future__ import annotations

from runtime.accounts import TREASURY_ACCOUNT, compute_module_account
from runtime.primitives.hashing import tagged_hash


def test_a_module_account_is_the_tagged_hash_of_its_name() -> None:
    assert compute_module_account(b"treasury") == TREASURY_ACCOUNT
    assert TREASURY_ACCOUNT == tagged_hash(b"flock/account", b"module/treasury")
    assert compute_module_account(b"pool") == tagged_hash(b"flock/account", b"module/pool")

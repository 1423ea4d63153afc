"""The transaction pool against the real runtime: admission, ready/future, ordering,
replace-by-fee, limits and eviction, and following new heads.

Each test runs the composed runtime's executive over a genesis state (tests/runtime_helpers.py);
new heads are real blocks executed on that state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flockchain.txpool import (
    FUTURE_LIFETIME,
    MAX_COUNT,
    MAX_FUTURE_COUNT,
    MAX_FUTURE_PER_SENDER,
    AlreadyInPool,
    GetFeeBudget,
    GetNonce,
    PooledFeesUnpayable,
    PoolError,
    PoolFull,
    PoolStatus,
    ReplacementUnderpriced,
    TooManyFromSender,
    TransactionPool,
    Validate,
)
from runtime.block import (
    Mortality,
    SignedExtrinsic,
    UnsignedExtrinsic,
    compute_extrinsic_hash,
    decode_extrinsic,
    encode_extrinsic,
)
from runtime.construct import construct_runtime
from runtime.errors import (
    BadInherent,
    BadTransactionProof,
    CannotPayFees,
    ExpiredTransaction,
    InvalidTransaction,
    MalformedTransaction,
    StaleTransaction,
)
from runtime.executive import Executive, ValidTransaction
from runtime.pallets import balances, system
from runtime.pallets.timestamp import SetArgs
from runtime.primitives.hashing import blake2b_256
from runtime.primitives.keys import Keypair
from runtime_helpers import (
    TEST_GENESIS_HASH,
    DictState,
    build_genesis_state,
    execute_block,
    named_keypair,
    sign_transfer,
)

RUNTIME = construct_runtime()
EXECUTIVE = Executive(RUNTIME, TEST_GENESIS_HASH)
SENDERS = [named_keypair(name) for name in ("alice", "bob", "carol", "dave")]
ALICE, BOB, CAROL, DAVE = SENDERS
POOR = named_keypair("poor")  # never endowed
DEST = named_keypair("dest").public_key
GENESIS = build_genesis_state(RUNTIME, [keypair.public_key for keypair in SENDERS])


@cache
def transfer(sender: Keypair, nonce: int, tip: int = 0, amount: int = 1_000_000) -> bytes:
    """Cached: signing is the slow part of the property test."""
    return sign_transfer(RUNTIME, sender, DEST, amount, nonce=nonce, tip=tip)


def get_fee_budget(state: DictState, who: bytes) -> int:
    """What ``who`` can pay in fees and tips and stay alive: the executive's withdrawal rules
    (no more than the free balance above the largest lock, the total kept at the deposit)."""
    account = system.get_account(state, who)
    existential_deposit = balances.get_existential_deposit(state)
    return max(0, min(account.free - account.frozen, account.free + account.reserved - existential_deposit))


def bindings(state: DictState) -> tuple[Validate, GetNonce, GetFeeBudget]:
    """What the node hands the pool for a best state: validation for the next block, nonces,
    fee budgets."""
    next_number = system.Number.get(state) + 1
    return (
        lambda encoded: EXECUTIVE.validate_transaction(state, encoded, next_number),
        lambda who: system.get_account(state, who).nonce,
        lambda who: get_fee_budget(state, who),
    )


def new_pool(state: DictState = GENESIS, **limits: int) -> TransactionPool:
    validate, get_nonce, fee_budget = bindings(state)
    return TransactionPool(validate, get_nonce, get_fee_budget=fee_budget, **limits)


def follow(pool: TransactionPool, state: DictState, included: list[bytes]) -> DictState:
    """Execute a block of ``included`` on ``state`` and tell the pool; the new state."""
    new_state = execute_block(EXECUTIVE, state, included)
    validate, get_nonce, fee_budget = bindings(new_state)
    hashes = [compute_extrinsic_hash(encoded) for encoded in included]
    pool.on_new_head(validate, get_nonce, hashes, get_fee_budget=fee_budget)
    return new_state


def sender_and_nonce(encoded: bytes) -> tuple[bytes, int]:
    xt = decode_extrinsic(encoded)
    assert isinstance(xt, SignedExtrinsic)
    return xt.sender, xt.nonce


# --- admission ----------------------------------------------------------------------------


def test_valid_transfer_is_ready() -> None:
    pool = new_pool()
    encoded = transfer(ALICE, 0)
    assert pool.submit(encoded) == compute_extrinsic_hash(encoded)
    assert compute_extrinsic_hash(encoded) in pool
    assert pool.ready() == pool.pending() == [encoded]
    assert pool.status() == PoolStatus(ready=1, future=0, bytes=len(encoded))
    assert pool.next_nonce(ALICE.public_key) == 1


def _bad_signature() -> bytes:
    xt = decode_extrinsic(transfer(ALICE, 0))
    assert isinstance(xt, SignedExtrinsic)
    return encode_extrinsic(replace(xt, signature=bytes(64)))


def _other_chain() -> bytes:
    return sign_transfer(RUNTIME, ALICE, DEST, 1, nonce=0, genesis_hash=blake2b_256(b"another chain"))


def _inherent() -> bytes:
    return encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(SetArgs(1_000))))


REFUSED = {
    "bad signature": (_bad_signature, BadTransactionProof),
    "another genesis hash": (_other_chain, BadTransactionProof),
    "malformed bytes": (lambda: b"\x00\x01garbage", MalformedTransaction),
    "cannot pay the fee": (lambda: sign_transfer(RUNTIME, POOR, DEST, 1, nonce=0), CannotPayFees),
    "tip beyond the balance": (lambda: transfer(ALICE, 0, tip=10**18), CannotPayFees),
    "inherent": (_inherent, BadInherent),
}


@pytest.mark.parametrize("make, error", REFUSED.values(), ids=REFUSED.keys())
def test_invalid_transaction_is_refused_and_not_stored(make: Callable[[], bytes], error: type) -> None:
    pool = new_pool()
    with pytest.raises(error):
        pool.submit(make())
    assert len(pool) == 0
    assert pool.status() == PoolStatus(0, 0, 0)


def test_used_nonce_is_refused() -> None:
    state = execute_block(EXECUTIVE, GENESIS, [transfer(ALICE, 0)])
    pool = new_pool(state)
    with pytest.raises(StaleTransaction):
        pool.submit(transfer(ALICE, 0, tip=1))
    assert len(pool) == 0


def test_duplicate_is_refused() -> None:
    pool = new_pool()
    pool.submit(transfer(ALICE, 0))
    with pytest.raises(AlreadyInPool) as raised:
        pool.submit(transfer(ALICE, 0))
    assert isinstance(raised.value, InvalidTransaction)  # so RPC reports it as code 1010
    assert len(pool) == 1


# --- ready and future ---------------------------------------------------------------------


def test_future_nonce_waits_until_the_gap_closes() -> None:
    pool = new_pool()
    pool.submit(transfer(ALICE, 1))
    pool.submit(transfer(ALICE, 3))
    assert pool.ready() == []
    assert pool.status() == PoolStatus(ready=0, future=2, bytes=pool.status().bytes)
    assert pool.next_nonce(ALICE.public_key) == 0
    pool.submit(transfer(ALICE, 0))
    assert pool.ready() == [transfer(ALICE, 0), transfer(ALICE, 1)]
    assert (pool.status().ready, pool.status().future) == (2, 1)
    pool.submit(transfer(ALICE, 2))
    assert [sender_and_nonce(encoded)[1] for encoded in pool.ready()] == [0, 1, 2, 3]
    assert pool.next_nonce(ALICE.public_key) == 4


def test_ready_orders_by_tip_across_senders_and_by_nonce_within_one() -> None:
    pool = new_pool()
    alice_0, alice_1 = transfer(ALICE, 0, tip=1), transfer(ALICE, 1, tip=100)
    bob_0, carol_0 = transfer(BOB, 0, tip=50), transfer(CAROL, 0, tip=50)
    for encoded in (alice_0, alice_1, bob_0, carol_0):
        pool.submit(encoded)
    # Alice's tip-100 transaction must wait for her tip-1 one; Bob came before Carol.
    assert pool.ready() == [bob_0, carol_0, alice_0, alice_1]


def test_pending_lists_ready_and_future_in_arrival_order() -> None:
    pool = new_pool()
    arrivals = [transfer(BOB, 2), transfer(ALICE, 0), transfer(BOB, 0)]
    for encoded in arrivals:
        pool.submit(encoded)
    assert pool.pending() == arrivals


# --- replace-by-fee -----------------------------------------------------------------------


def test_higher_tip_replaces_the_same_nonce() -> None:
    pool = new_pool()
    pool.submit(transfer(ALICE, 0, tip=5))
    pool.submit(transfer(ALICE, 1))
    pool.submit(transfer(ALICE, 0, tip=6))
    assert compute_extrinsic_hash(transfer(ALICE, 0, tip=5)) not in pool
    assert pool.ready() == [transfer(ALICE, 0, tip=6), transfer(ALICE, 1)]
    assert pool.status().bytes == sum(len(encoded) for encoded in pool.pending())


@pytest.mark.parametrize("tip", [4, 5])
def test_replacement_without_a_higher_tip_is_refused(tip: int) -> None:
    pool = new_pool()
    pool.submit(transfer(ALICE, 0, tip=5))
    with pytest.raises(ReplacementUnderpriced, match="higher tip"):
        pool.submit(transfer(ALICE, 0, tip=tip, amount=2))
    assert pool.pending() == [transfer(ALICE, 0, tip=5)]


# --- limits and eviction ------------------------------------------------------------------


def test_full_pool_evicts_the_lowest_priority_last_nonce() -> None:
    pool = new_pool(max_count=3)
    for encoded in (transfer(ALICE, 0, tip=5), transfer(ALICE, 1, tip=1), transfer(BOB, 0, tip=3)):
        pool.submit(encoded)
    pool.submit(transfer(CAROL, 0, tip=2))
    assert pool.pending() == [transfer(ALICE, 0, tip=5), transfer(BOB, 0, tip=3), transfer(CAROL, 0, tip=2)]
    for tip in (1, 2):  # lower than, and equal to, the cheapest: refused
        with pytest.raises(PoolFull):
            pool.submit(transfer(DAVE, 0, tip=tip))
    assert len(pool) == 3


def test_eviction_never_leaves_a_gap() -> None:
    pool = new_pool(max_count=2)
    pool.submit(transfer(ALICE, 0, tip=0))
    pool.submit(transfer(ALICE, 1, tip=9))
    # Alice's tip-0 transaction is the cheapest, but her tip-9 one depends on it.
    with pytest.raises(PoolFull):
        pool.submit(transfer(BOB, 0, tip=5))
    pool.submit(transfer(BOB, 0, tip=10))
    assert pool.pending() == [transfer(ALICE, 0, tip=0), transfer(BOB, 0, tip=10)]


def test_newcomer_does_not_evict_its_own_predecessor() -> None:
    pool = new_pool(max_count=2)
    pool.submit(transfer(ALICE, 0, tip=0))
    pool.submit(transfer(BOB, 0, tip=3))
    pool.submit(transfer(ALICE, 1, tip=5))  # evicts Bob's, not Alice's nonce 0
    assert pool.ready() == [transfer(ALICE, 0, tip=0), transfer(ALICE, 1, tip=5)]


def test_byte_limit_evicts_until_the_newcomer_fits() -> None:
    size = len(transfer(ALICE, 0, tip=1))
    pool = new_pool(max_bytes=2 * size + 2)
    pool.submit(transfer(ALICE, 0, tip=1))
    pool.submit(transfer(BOB, 0, tip=2))
    with pytest.raises(PoolFull):
        pool.submit(transfer(CAROL, 0, tip=1))
    pool.submit(transfer(CAROL, 0, tip=3))
    assert pool.pending() == [transfer(BOB, 0, tip=2), transfer(CAROL, 0, tip=3)]
    assert pool.status().bytes <= pool.max_bytes


def test_transaction_larger_than_the_pool_is_refused() -> None:
    pool = new_pool(max_bytes=100)
    with pytest.raises(PoolFull, match="exceeds"):
        pool.submit(transfer(ALICE, 0, tip=10**6))
    assert len(pool) == 0


def test_per_sender_limit() -> None:
    pool = new_pool(max_per_sender=2)
    pool.submit(transfer(ALICE, 0))
    pool.submit(transfer(ALICE, 1))
    with pytest.raises(TooManyFromSender):
        pool.submit(transfer(ALICE, 2, tip=10**6))
    pool.submit(transfer(BOB, 0))
    pool.submit(transfer(ALICE, 1, tip=1))  # a replacement does not add one
    assert len(pool) == 3


def test_per_sender_limit_keeps_the_lowest_nonces() -> None:
    pool = new_pool(max_per_sender=2)
    pool.submit(transfer(ALICE, 1))
    pool.submit(transfer(ALICE, 2))
    pool.submit(transfer(ALICE, 0))  # fills the gap, pushing out nonce 2
    assert pool.ready() == [transfer(ALICE, 0), transfer(ALICE, 1)]
    assert len(pool) == 2


def test_pool_errors_are_invalid_transactions() -> None:
    for error in (AlreadyInPool, ReplacementUnderpriced, PoolFull, TooManyFromSender, PooledFeesUnpayable):
        assert issubclass(error, PoolError) and issubclass(error, InvalidTransaction)


# --- what a sender can pay ----------------------------------------------------------------


def cost_of(encoded: bytes, state: DictState = GENESIS) -> int:
    valid = bindings(state)[0](encoded)
    return valid.fee + valid.priority


def test_sender_cannot_pool_more_fees_and_tips_than_it_can_pay() -> None:
    """The attack: 64 ready transactions whose tips each fit the balance but together exceed
    it, so all but one fail in the block. The pool admits only what the sender can pay for
    together, and every one of them then applies."""
    budget = get_fee_budget(GENESIS, ALICE.public_key)
    tip = budget // 10
    pool = new_pool()
    for nonce in range(64):
        try:
            pool.submit(transfer(ALICE, nonce, tip=tip))
        except PooledFeesUnpayable:
            break
    affordable = budget // cost_of(transfer(ALICE, 0, tip=tip))
    assert len(pool) == affordable == nonce
    execute_block(EXECUTIVE, GENESIS, pool.ready())  # each must apply


def test_future_transactions_count_against_what_the_sender_can_pay() -> None:
    budget = get_fee_budget(GENESIS, ALICE.public_key)
    pool = new_pool()
    pool.submit(transfer(ALICE, 3, tip=budget // 2))
    with pytest.raises(PooledFeesUnpayable, match="cannot pay"):
        pool.submit(transfer(ALICE, 5, tip=budget // 2))
    pool.submit(transfer(BOB, 5, tip=budget // 2))  # another sender's budget is its own
    assert len(pool) == 2


def test_lower_nonce_pushes_out_the_highest_when_the_sender_cannot_pay_both() -> None:
    budget = get_fee_budget(GENESIS, ALICE.public_key)
    pool = new_pool()
    pool.submit(transfer(ALICE, 1, tip=budget // 2))
    pool.submit(transfer(ALICE, 0, tip=budget // 2))  # nonce 0 can run first: it stays
    assert pool.pending() == [transfer(ALICE, 0, tip=budget // 2)]


def test_replacement_counts_only_the_new_tip() -> None:
    budget = get_fee_budget(GENESIS, ALICE.public_key)
    pool = new_pool()
    pool.submit(transfer(ALICE, 0, tip=budget // 2))
    pool.submit(transfer(ALICE, 0, tip=budget // 2 + 1))
    assert pool.pending() == [transfer(ALICE, 0, tip=budget // 2 + 1)]


def test_new_head_drops_the_highest_nonces_the_sender_can_no_longer_pay() -> None:
    budget = get_fee_budget(GENESIS, BOB.public_key)
    pool = new_pool()
    for nonce in range(3):
        pool.submit(transfer(BOB, nonce, tip=budget // 4))
    # A block carries another nonce 0 of Bob's that spends half his balance: of the two
    # remaining, he can now pay only for nonce 1.
    state = follow(pool, GENESIS, [transfer(BOB, 0, amount=budget // 2)])
    assert pool.pending() == [transfer(BOB, 1, tip=budget // 4)]
    assert cost_of(transfer(BOB, 1, tip=budget // 4), state) <= get_fee_budget(state, BOB.public_key)


# --- removal and new heads ----------------------------------------------------------------


def test_remove_turns_successors_into_futures() -> None:
    pool = new_pool()
    for nonce in range(3):
        pool.submit(transfer(ALICE, nonce))
    pool.remove([compute_extrinsic_hash(transfer(ALICE, 1)), b"\x00" * 32])
    assert pool.ready() == [transfer(ALICE, 0)]
    assert pool.status() == PoolStatus(ready=1, future=1, bytes=pool.status().bytes)


def test_new_head_drops_included_and_stale_and_promotes() -> None:
    pool = new_pool()
    for encoded in (transfer(ALICE, 0), transfer(ALICE, 1), transfer(BOB, 1), transfer(CAROL, 0)):
        pool.submit(encoded)
    # The block also carries transactions that never passed through this pool: Bob's nonce 0
    # (closing his gap) and another Carol nonce 0 (making the pooled one stale).
    follow(pool, GENESIS, [transfer(ALICE, 0), transfer(BOB, 0), transfer(CAROL, 0, amount=7)])
    assert pool.pending() == [transfer(ALICE, 1), transfer(BOB, 1)]
    assert pool.status() == PoolStatus(ready=2, future=0, bytes=sum(map(len, pool.pending())))
    assert pool.next_nonce(CAROL.public_key) == 1


def test_new_head_drops_what_can_no_longer_pay() -> None:
    pool = new_pool()
    pool.submit(transfer(BOB, 0))
    pool.submit(transfer(BOB, 1))
    # A block carries another nonce 0 of Bob's, leaving him less than any fee.
    free = system.get_account(GENESIS, BOB.public_key).free
    fee = EXECUTIVE.validate_transaction(GENESIS, sign_transfer(RUNTIME, BOB, DEST, free // 2, nonce=0), 1).fee
    follow(pool, GENESIS, [sign_transfer(RUNTIME, BOB, DEST, free - fee - 100_000, nonce=0)])
    assert len(pool) == 0


def test_mortal_transaction_is_dropped_after_its_window() -> None:
    state = execute_block(EXECUTIVE, GENESIS)  # block 1 records the hash of block 0
    birth_hash = system.get_block_hash(state, 0)
    mortal = sign_transfer(RUNTIME, ALICE, DEST, 1_000_000, nonce=0, mortality=Mortality(0, 4), birth_hash=birth_hash)
    pool = new_pool(state)
    pool.submit(mortal)
    assert pool.ready() == [mortal]
    for _ in range(2):  # blocks 2 and 3: block 4 may still include it
        state = follow(pool, state, [])
    assert pool.ready() == [mortal]
    follow(pool, state, [])
    assert len(pool) == 0
    with pytest.raises(ExpiredTransaction):
        bindings(execute_block(EXECUTIVE, state))[0](mortal)


def test_future_transaction_expires_unless_its_gap_closes() -> None:
    pool = new_pool(future_lifetime=2)
    pool.submit(transfer(ALICE, 0))  # ready: never expires
    pool.submit(transfer(BOB, 1))  # future, and stays so
    pool.submit(transfer(CAROL, 1))  # future until Carol's nonce 0 is submitted
    state = GENESIS
    for _ in range(2):  # two new heads: still within the lifetime
        state = follow(pool, state, [])
    assert len(pool) == 3
    pool.submit(transfer(CAROL, 0))
    pool.submit(transfer(DAVE, 1))  # future, entered late: its lifetime starts now
    state = follow(pool, state, [])
    assert pool.ready() == [transfer(ALICE, 0), transfer(CAROL, 0), transfer(CAROL, 1)]
    assert pool.pending() == [transfer(ALICE, 0), transfer(CAROL, 1), transfer(CAROL, 0), transfer(DAVE, 1)]
    for _ in range(2):
        state = follow(pool, state, [])
    assert transfer(DAVE, 1) not in pool.pending()
    assert pool.status() == PoolStatus(ready=3, future=0, bytes=sum(map(len, pool.pending())))


def test_pool_limits_must_be_positive() -> None:
    limits = ("max_count", "max_bytes", "max_per_sender", "max_future_count", "max_future_bytes")
    for limit in (*limits, "max_future_per_sender", "future_lifetime"):
        with pytest.raises(ValueError):
            new_pool(**{limit: 0})


# --- the laws, on random submissions ------------------------------------------------------

LIMITS = {
    "max_count": 6,
    "max_bytes": 5 * len(transfer(ALICE, 0)),
    "max_per_sender": 3,
    "max_future_count": 3,
    "max_future_bytes": 2 * len(transfer(ALICE, 0)),
    "max_future_per_sender": 2,
}
submissions = st.tuples(st.integers(0, len(SENDERS) - 1), st.integers(0, 4), st.integers(0, 3))
# Each round: some submissions, then a block of the first n ready transactions.
rounds = st.tuples(st.lists(submissions, max_size=10), st.integers(0, 3))


def check_laws(pool: TransactionPool, state: DictState) -> None:
    ready = [sender_and_nonce(encoded) for encoded in pool.ready()]
    expected: dict[bytes, int] = {}
    for sender, nonce in ready:
        # Each sender's ready nonces run in order from the account's nonce, with no gap.
        assert nonce == expected.get(sender, system.get_account(state, sender).nonce)
        expected[sender] = nonce + 1
    status = pool.status()
    assert status.ready == len(ready) and status.ready + status.future == len(pool)
    assert len(pool) <= LIMITS["max_count"] and status.bytes <= LIMITS["max_bytes"]
    assert status.bytes == sum(map(len, pool.pending()))
    per_sender: dict[bytes, int] = {}
    for encoded in pool.pending():
        sender, _ = sender_and_nonce(encoded)
        per_sender[sender] = per_sender.get(sender, 0) + 1
    assert max(per_sender.values(), default=0) <= LIMITS["max_per_sender"]
    future = [encoded for encoded in pool.pending() if encoded not in pool.ready()]
    assert status.future <= LIMITS["max_future_count"] and sum(map(len, future)) <= LIMITS["max_future_bytes"]
    future_senders = [sender_and_nonce(encoded)[0] for encoded in future]
    assert all(future_senders.count(sender) <= LIMITS["max_future_per_sender"] for sender in future_senders)
    costs: dict[bytes, int] = {}
    for encoded in pool.pending():
        sender, _ = sender_and_nonce(encoded)
        costs[sender] = costs.get(sender, 0) + cost_of(encoded, state)
    assert all(cost <= get_fee_budget(state, sender) for sender, cost in costs.items())


@settings(max_examples=100, deadline=None)
@given(st.lists(rounds, max_size=5))
def test_ready_order_and_limits_hold_for_any_submissions(steps: list[tuple[list[tuple[int, int, int]], int]]) -> None:
    state = GENESIS
    pool = new_pool(state, **LIMITS)
    for submitted, block_size in steps:
        for sender, nonce, tip in submitted:
            ready_before = set(pool.ready())
            encoded = transfer(SENDERS[sender], nonce, tip)
            try:
                pool.submit(encoded)
            except (PoolError, StaleTransaction):
                pass
            check_laws(pool, state)
            # Eviction leaves no gap: what was ready and stays is still ready.
            assert ready_before & set(pool.pending()) <= set(pool.ready())
            if encoded in pool.pending() and encoded not in pool.ready():
                assert ready_before <= set(pool.ready())  # a future newcomer pushed out no ready one
        state = follow(pool, state, pool.ready()[:block_size])
        check_laws(pool, state)


# --- attacks at the pool's real limits (a fake runtime: thousands of transactions) -------
# These run at the default limits, so they cannot sign and verify each transaction: a fake
# transaction is its sender, nonce and tip in plain bytes, and every account pays any fee.

FAKE_FEE = 1_000


def fake_transaction(sender: int, nonce: int, tip: int = 0) -> bytes:
    return sender.to_bytes(32, "big") + nonce.to_bytes(4, "big") + tip.to_bytes(8, "big") + bytes(100)


def fake_validate(encoded: bytes) -> ValidTransaction:
    nonce, tip = int.from_bytes(encoded[32:36], "big"), int.from_bytes(encoded[36:44], "big")
    return ValidTransaction(sender=encoded[:32], nonce=nonce, priority=tip, fee=FAKE_FEE, valid_until=None)


def fake_pool() -> TransactionPool:
    """A pool at the default limits over the fake runtime, every account at nonce 0."""
    return TransactionPool(fake_validate, lambda who: 0)


def submit_all(pool: TransactionPool, transactions: list[bytes]) -> int:
    """Submit each; how many the pool accepted."""
    accepted = 0
    for encoded in transactions:
        try:
            pool.submit(encoded)
        except PoolError:
            continue
        accepted += 1
    return accepted


def test_future_transactions_cannot_fill_the_pool() -> None:
    """The attack: 128 accounts each pool 64 transactions with nonces that can never be used,
    filling every place for free. Futures have their own small bound, so an honest transfer
    from another account still gets in without out-bidding anyone."""
    pool = fake_pool()
    attack = [fake_transaction(sender, nonce) for sender in range(1, 129) for nonce in range(1, 65)]
    submit_all(pool, attack)
    honest = fake_transaction(1_000, 0)
    pool.submit(honest)
    assert honest in pool.ready()
    assert pool.status().future <= MAX_FUTURE_COUNT


def test_future_transaction_never_pushes_out_a_ready_one() -> None:
    pool = fake_pool()
    ready = [fake_transaction(sender, nonce) for sender in range(1, 129) for nonce in range(64)]
    assert submit_all(pool, ready) == MAX_COUNT
    with pytest.raises(PoolFull):
        pool.submit(fake_transaction(1_000, 1, tip=10**9))
    assert pool.status() == PoolStatus(ready=MAX_COUNT, future=0, bytes=pool.status().bytes)


def test_future_queue_of_one_sender_is_small_and_keeps_its_lowest_nonces() -> None:
    pool = fake_pool()
    for nonce in range(64, 0, -1):  # highest first: each lower one pushes out the highest
        pool.submit(fake_transaction(1, nonce))
    assert pool.status().future == MAX_FUTURE_PER_SENDER
    assert pool.next_nonce((1).to_bytes(32, "big")) == 0
    pool.submit(fake_transaction(1, 0))
    assert pool.next_nonce((1).to_bytes(32, "big")) == MAX_FUTURE_PER_SENDER + 1


def test_future_transaction_expires_within_a_short_lifetime() -> None:
    pool = fake_pool()
    pool.submit(fake_transaction(1, 1))
    for _ in range(FUTURE_LIFETIME):
        pool.on_new_head(fake_validate, lambda who: 0, [])
    assert len(pool) == 1
    pool.on_new_head(fake_validate, lambda who: 0, [])
    assert len(pool) == 0
    assert FUTURE_LIFETIME <= 64  # about a minute of the dev chain's 1-second slots

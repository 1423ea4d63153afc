"""The executive: block lifecycle, fees, nonces, mortality, replay and failure semantics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.accounts import FLOCK, TREASURY_ACCOUNT
from runtime.block import (
    Justification,
    Mortality,
    SignedExtrinsic,
    UnsignedExtrinsic,
    compute_signing_payload,
    compute_signing_payload_of_encoded,
    decode_extrinsic,
    encode_extrinsic,
)
from runtime.construct import construct_runtime
from runtime.errors import (
    BadInherent,
    BadTransactionProof,
    BlockExecutionError,
    CannotPayFees,
    ExhaustsResources,
    ExpiredTransaction,
    FutureTransaction,
    MalformedTransaction,
    StaleTransaction,
)
from runtime.executive import Executive
from runtime.framework.pallet import BlockEnvironment
from runtime.framework.weights import TRANSFER_WEIGHT
from runtime.pallets import balances, finality, system, transaction_payment
from runtime.pallets.timestamp import SetArgs
from runtime.pallets.treasury import SpendArgs
from runtime_helpers import (
    TEST_AUTHORITY,
    TEST_GENESIS_HASH,
    DictState,
    build_genesis_state,
    compute_test_block_hash,
    execute_block,
    named_keypair,
    sign_transfer,
)

ALICE, BOB = named_keypair("alice"), named_keypair("bob")
RUNTIME = construct_runtime()


@pytest.fixture
def executive() -> Executive:
    return Executive(RUNTIME, TEST_GENESIS_HASH)


@pytest.fixture
def genesis() -> DictState:
    return build_genesis_state(RUNTIME, [ALICE.public_key, BOB.public_key])


def free(state: DictState, who: bytes) -> int:
    return system.get_account(state, who).free


def events_of(state: DictState) -> list[object]:
    return [record.event for record in RUNTIME.decode_events(system.Events.get(state))]


def fee_of(state: DictState, encoded: bytes) -> int:
    return transaction_payment.get_fee(state, len(encoded), RUNTIME.pallet("balances").CALLS[0].weight)


def test_transfer_charges_fee_and_splits_it(executive: Executive, genesis: DictState) -> None:
    """Alice sends 10 FLOCK with a tip of 7: she pays amount + fee + tip; the author gets the tip
    and 20 % of the fee (rounded down), the treasury the rest; issuance is unchanged."""
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, 10 * FLOCK, nonce=0, tip=7)
    fee = fee_of(genesis, xt)
    after = execute_block(executive, genesis, [xt])
    author_part = fee * 200_000_000 // 1_000_000_000 + 7
    assert free(after, ALICE.public_key) == free(genesis, ALICE.public_key) - 10 * FLOCK - fee - 7
    assert free(after, BOB.public_key) == free(genesis, BOB.public_key) + 10 * FLOCK
    assert free(after, TEST_AUTHORITY.public_key) == author_part
    assert free(after, TREASURY_ACCOUNT) == free(genesis, TREASURY_ACCOUNT) + fee + 7 - author_part
    assert system.get_account(after, ALICE.public_key).nonce == 1
    assert balances.get_total_issuance(after) == balances.get_total_issuance(genesis)
    assert RUNTIME.try_state(after) == []
    assert balances.Transfer(ALICE.public_key, BOB.public_key, 10 * FLOCK) in events_of(after)
    assert transaction_payment.TransactionFeePaid(ALICE.public_key, fee, 7) in events_of(after)


def test_failed_call_keeps_only_fee_nonce_and_failure_event(executive: Executive, genesis: DictState) -> None:
    too_much = free(genesis, ALICE.public_key) * 2
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, too_much, nonce=0)
    after = execute_block(executive, genesis, [xt])
    assert free(after, ALICE.public_key) == free(genesis, ALICE.public_key) - fee_of(genesis, xt)
    assert free(after, BOB.public_key) == free(genesis, BOB.public_key)
    assert system.get_account(after, ALICE.public_key).nonce == 1
    failures = [e for e in events_of(after) if isinstance(e, system.ExtrinsicFailed)]
    assert failures == [system.ExtrinsicFailed(2, balances.InsufficientBalance.code, 100_000)]
    assert not [e for e in events_of(after) if isinstance(e, balances.Transfer)]


def test_replay_is_rejected(executive: Executive, genesis: DictState) -> None:
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    after = execute_block(executive, genesis, [xt])
    with pytest.raises(StaleTransaction, match="already used"):
        execute_block(executive, after, [xt])
    with pytest.raises(StaleTransaction):
        executive.validate_transaction(after, xt, 2)


def test_other_genesis_hash_is_rejected(executive: Executive, genesis: DictState) -> None:
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, genesis_hash=b"\x01" * 32)
    with pytest.raises(BadTransactionProof, match="signature"):
        executive.validate_transaction(genesis, xt, 1)
    with pytest.raises(BadTransactionProof):
        execute_block(executive, genesis, [xt])


def test_nonce_ahead_is_future_for_the_pool_and_invalid_in_a_block(executive: Executive, genesis: DictState) -> None:
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=3)
    assert executive.validate_transaction(genesis, xt, 1).nonce == 3
    with pytest.raises(FutureTransaction):
        execute_block(executive, genesis, [xt])


def test_mortality_window_and_birth_hash(executive: Executive, genesis: DictState) -> None:
    state = genesis
    for _ in range(3):
        state = execute_block(executive, state)  # blocks 1..3
    birth_hash = compute_test_block_hash(2)
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, mortality=Mortality(2, 4), birth_hash=birth_hash)
    assert executive.validate_transaction(state, xt, 4).valid_until == 6
    with pytest.raises(ExpiredTransaction):
        executive.validate_transaction(state, xt, 7)
    wrong_fork = sign_transfer(
        RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, mortality=Mortality(2, 4), birth_hash=b"\x09" * 32
    )
    with pytest.raises(BadTransactionProof):
        executive.validate_transaction(state, wrong_fork, 4)
    after = execute_block(executive, state, [xt])
    assert free(after, BOB.public_key) == free(state, BOB.public_key) + FLOCK


def test_cannot_pay_fee(executive: Executive) -> None:
    poor = named_keypair("poor")
    state = build_genesis_state(RUNTIME, [poor.public_key], balance=1_000)
    xt = sign_transfer(RUNTIME, poor, BOB.public_key, 1, nonce=0)
    with pytest.raises(CannotPayFees, match="fee"):
        executive.validate_transaction(state, xt, 1)


def test_unknown_and_non_signed_calls_are_malformed(executive: Executive, genesis: DictState) -> None:
    spend = RUNTIME.encode_call(SpendArgs(ALICE.public_key, 1))
    from runtime.block import sign_extrinsic

    root_only = encode_extrinsic(sign_extrinsic(ALICE, TEST_GENESIS_HASH, nonce=0, call=spend))
    with pytest.raises(MalformedTransaction, match="cannot be called by an account"):
        executive.validate_transaction(genesis, root_only, 1)
    unknown = encode_extrinsic(sign_extrinsic(ALICE, TEST_GENESIS_HASH, nonce=0, call=b"\x93\x63\x00\x01"))
    with pytest.raises(MalformedTransaction, match="no call"):
        executive.validate_transaction(genesis, unknown, 1)
    with pytest.raises(MalformedTransaction):
        executive.validate_transaction(genesis, b"\x92\x00", 1)


def test_inherents(executive: Executive, genesis: DictState) -> None:
    env = BlockEnvironment(1, compute_test_block_hash(0), 1, 1_000, TEST_AUTHORITY.public_key)
    with pytest.raises(BlockExecutionError, match="no timestamp"):
        executive.execute_block(genesis, env, ())
    wrong_time = encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(SetArgs(999))))
    with pytest.raises(BadInherent, match="differs"):
        executive.execute_block(genesis, env, (wrong_time,))
    right = encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(SetArgs(1_000))))
    with pytest.raises(BadInherent, match="must be the block's first extrinsic"):
        executive.execute_block(genesis, env, (right, right))
    with pytest.raises(BadInherent, match="not an inherent"):
        executive.execute_block(
            genesis, env, (encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(SpendArgs(ALICE.public_key, 1)))),)
        )
    with pytest.raises(BadInherent, match="unsigned"):
        executive.validate_transaction(genesis, right, 1)


def build_state_with_max_weight(max_block_weight: int) -> DictState:
    return build_genesis_state(
        RUNTIME,
        [ALICE.public_key],
        config={"system": {"maxBlockWeight": max_block_weight, "maxBlockLength": 1 << 20, "blockHashCount": 10}},
    )


def test_block_weight_limit_counts_the_hooks_first(executive: Executive) -> None:
    # An empty block weighs its hooks (block 1 of a test chain ends an epoch) and its inherent.
    empty = system.BlockWeight.get(execute_block(executive, build_state_with_max_weight(10**9)))
    assert empty > 1_000  # the timestamp inherent weighs 1_000: the hooks count too
    state = build_state_with_max_weight(empty + TRANSFER_WEIGHT + TRANSFER_WEIGHT // 2)
    first = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    second = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=1)
    with pytest.raises(ExhaustsResources):
        execute_block(executive, state, [first, second])
    assert system.BlockWeight.get(execute_block(executive, state, [first])) == empty + TRANSFER_WEIGHT


def test_hooks_over_the_budget_leave_room_for_inherents_only(executive: Executive) -> None:
    """Inherents are mandatory: however much the hooks must do, an author can still set the
    time; only transactions lose their room."""
    state = build_state_with_max_weight(1)
    after = execute_block(executive, state)
    assert system.BlockWeight.get(after) > 1
    transfer = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    with pytest.raises(ExhaustsResources):
        execute_block(executive, state, [transfer])


def test_block_hashes_are_kept_for_block_hash_count(executive: Executive) -> None:
    state = build_genesis_state(
        RUNTIME,
        [ALICE.public_key],
        config={"system": {"maxBlockWeight": 10**9, "maxBlockLength": 1 << 20, "blockHashCount": 3}},
    )
    for _ in range(6):
        state = execute_block(executive, state)
    kept = [n for n in range(6) if system.get_block_hash(state, n) is not None]
    assert kept == [3, 4, 5]  # the last blockHashCount blocks
    assert system.get_block_hash(state, 5) == compute_test_block_hash(5)


def test_decoded_extrinsic_round_trip() -> None:
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    decoded = decode_extrinsic(xt)
    assert isinstance(decoded, SignedExtrinsic) and encode_extrinsic(decoded) == xt


def test_transaction_born_at_the_best_block_validates_with_its_hash(executive: Executive, genesis: DictState) -> None:
    """The best block's state does not hold its own hash yet; the pool passes it in."""
    state = execute_block(executive, execute_block(executive, genesis))  # best block is #2
    best_hash = compute_test_block_hash(2)
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, mortality=Mortality(2, 8), birth_hash=best_hash)
    with pytest.raises(ExpiredTransaction, match="too old"):
        executive.validate_transaction(state, xt, 3)
    assert executive.validate_transaction(state, xt, 3, best_hash).valid_until == 10
    assert free(execute_block(executive, state, [xt]), BOB.public_key) == free(state, BOB.public_key) + FLOCK


@settings(max_examples=200, deadline=None)
@given(
    nonce=st.integers(0, 2**32 - 1),
    tip=st.integers(0, 2**64 - 1),
    birth=st.integers(0, 2**32 - 1),
    period=st.integers(0, 2**32 - 1),
    call=st.binary(max_size=300),
    signature=st.binary(min_size=64, max_size=64),
    birth_hash=st.binary(min_size=32, max_size=32),
)
def test_signing_payload_from_the_encoded_extrinsic_is_the_records(
    nonce: int, tip: int, birth: int, period: int, call: bytes, signature: bytes, birth_hash: bytes
) -> None:
    """Import slices the payload out of the extrinsic's bytes; signing encodes the record."""
    xt = SignedExtrinsic(ALICE.public_key, nonce, tip, Mortality(birth, period), call, signature)
    encoded = encode_extrinsic(xt)
    assert decode_extrinsic(encoded) == xt
    assert compute_signing_payload_of_encoded(encoded, birth_hash) == compute_signing_payload(xt, birth_hash)


def test_signing_payload_of_encoded_refuses_what_is_not_a_signed_extrinsic() -> None:
    with pytest.raises(ValueError):
        compute_signing_payload_of_encoded(encode_extrinsic(UnsignedExtrinsic(b"\x90")), bytes(32))
    with pytest.raises(ValueError):
        compute_signing_payload_of_encoded(sign_transfer(RUNTIME, ALICE, BOB.public_key, 1, nonce=0), bytes(31))


def test_an_inherent_after_a_signed_transaction_is_refused(executive: Executive, genesis: DictState) -> None:
    """Inherents (the timestamp, reports, finality notes) come first, transactions after."""
    env = BlockEnvironment(1, compute_test_block_hash(0), 1, 1_000, TEST_AUTHORITY.public_key)
    timestamp = encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(SetArgs(1_000))))
    transfer = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    with pytest.raises(BadInherent, match="may not follow a signed transaction"):
        executive.execute_block(genesis, env, (transfer, timestamp))
    with pytest.raises(BadInherent, match="may not follow a signed transaction"):
        executive.execute_block(genesis, env, (timestamp, transfer, timestamp))
    block = executive.initialize_block(genesis, env)
    executive.apply_extrinsic(block, timestamp)
    executive.apply_extrinsic(block, transfer)
    with pytest.raises(BadInherent, match="may not follow a signed transaction"):
        executive.apply_extrinsic(block, timestamp)  # an author's block is held to it too


def count_verifies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the signature verifications the executive performs."""
    import runtime.executive as executive_module

    calls = [0]
    real = executive_module.verify

    def counting(*args: object, **kwargs: object) -> None:
        calls[0] += 1
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(executive_module, "verify", counting)
    return calls


def test_a_block_over_its_budget_is_refused_before_any_signature_is_checked(
    executive: Executive, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = build_genesis_state(
        RUNTIME,
        [ALICE.public_key],
        config={"system": {"maxBlockWeight": 1_000_000, "maxBlockLength": 1 << 20, "blockHashCount": 10}},
    )
    transfers = [sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=nonce) for nonce in range(12)]
    verifies = count_verifies(monkeypatch)
    with pytest.raises(ExhaustsResources, match="a block with transactions allows 1000000"):
        execute_block(executive, state, transfers)
    assert verifies[0] == 0


def test_a_block_of_future_nonces_costs_at_most_one_run_of_signature_checks(
    executive: Executive, genesis: DictState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sealed block of transactions that can never apply (every nonce ahead of its account's)
    is refused after the first run of signature checks, not after all of them."""
    from runtime.executive import SIGNATURE_RUN

    future = [sign_transfer(RUNTIME, ALICE, BOB.public_key, 1, nonce=nonce) for nonce in range(1, 3 * SIGNATURE_RUN)]
    verifies = count_verifies(monkeypatch)
    with pytest.raises(FutureTransaction):
        execute_block(executive, genesis, future)
    assert verifies[0] == SIGNATURE_RUN - 1  # the first run also holds the timestamp inherent
    assert len(future) > 2 * SIGNATURE_RUN


def test_a_nonce_exactly_one_ahead_is_invalid_in_a_block(executive: Executive, genesis: DictState) -> None:
    """The boundary of the nonce rule: one ahead is already a future transaction (accepting it
    would let the same signed bytes replay in the next block)."""
    ahead = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=1)
    with pytest.raises(FutureTransaction):
        execute_block(executive, genesis, [ahead])
    current = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    after = execute_block(executive, genesis, [current])
    with pytest.raises(StaleTransaction):
        execute_block(executive, after, [current])


# --- boundaries and bookkeeping the mutation pass found unpinned (docs/testing.md) ---------


def timestamp_inherent(number: int) -> bytes:
    return encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(SetArgs(number * 1_000))))


def block_env(number: int) -> BlockEnvironment:
    return BlockEnvironment(
        number, compute_test_block_hash(number - 1), number, number * 1_000, TEST_AUTHORITY.public_key
    )


def test_a_block_filled_exactly_to_its_weight_and_length_budget_is_valid(executive: Executive) -> None:
    """Both limits are inclusive: a block that uses all of its budget, and not one unit more."""
    transfer = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    exact_length = len(timestamp_inherent(1)) + len(transfer)
    budget = {"maxBlockWeight": 10**9, "maxBlockLength": exact_length, "blockHashCount": 10}
    hooks = executive.initialize_block(
        build_genesis_state(RUNTIME, [ALICE.public_key], config={"system": budget}), block_env(1)
    ).weight  # what the hooks of block 1 weigh, counted first
    exact = {**budget, "maxBlockWeight": hooks + 101_000}
    after = execute_block(
        executive, build_genesis_state(RUNTIME, [ALICE.public_key], config={"system": exact}), [transfer]
    )
    assert (system.BlockWeight.get(after), system.BlockLength.get(after)) == (hooks + 101_000, exact_length)
    for over in ({"maxBlockWeight": hooks + 100_999}, {"maxBlockLength": exact_length - 1}):
        state = build_genesis_state(RUNTIME, [ALICE.public_key], config={"system": {**exact, **over}})
        with pytest.raises(ExhaustsResources):
            execute_block(executive, state, [transfer])
        block = executive.initialize_block(state, block_env(1))  # an author's block is held to it too
        executive.apply_extrinsic(block, timestamp_inherent(1))
        with pytest.raises(ExhaustsResources, match="^the block has no room left for this extrinsic$"):
            executive.apply_extrinsic(block, transfer)


def test_an_author_counts_the_whole_block_against_its_budget(executive: Executive, genesis: DictState) -> None:
    """Weight, length, extrinsics and transactions add up over the block (the author's view):
    the room check adds the next extrinsic to what the block already holds."""
    transfers = [sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=nonce) for nonce in range(2)]
    inherent = timestamp_inherent(1)
    block = executive.initialize_block(genesis, block_env(1))
    hooks = block.weight
    assert executive.apply_extrinsic(block, inherent) is True
    assert [executive.apply_extrinsic(block, xt) for xt in transfers] == [True, True]
    assert (block.weight, block.length) == (hooks + 201_000, len(inherent) + sum(map(len, transfers)))
    assert (block.extrinsic_count, block.transactions) == (3, 2)
    assert [r.extrinsic_index for r in block.ctx.event_records()][-1] == 2
    # The timestamp and one transfer fit; a second does not, by weight alone or by length alone
    # (and only counting what the block already holds).
    one_in = len(inherent) + len(transfers[0])
    for limits in (
        {"maxBlockWeight": hooks + 101_500, "maxBlockLength": 1 << 20},
        {"maxBlockWeight": 10**9, "maxBlockLength": one_in + len(transfers[1]) // 2},
    ):
        tight = build_genesis_state(RUNTIME, [ALICE.public_key], config={"system": {**limits, "blockHashCount": 10}})
        block = executive.initialize_block(tight, block_env(1))
        executive.apply_extrinsic(block, inherent)
        assert executive.apply_extrinsic(block, transfers[0]) is True
        with pytest.raises(ExhaustsResources):
            executive.apply_extrinsic(block, transfers[1])


def test_apply_extrinsic_reports_whether_the_call_succeeded(executive: Executive, genesis: DictState) -> None:
    block = executive.initialize_block(genesis, block_env(1))
    assert executive.apply_extrinsic(block, timestamp_inherent(1)) is True
    too_much = sign_transfer(RUNTIME, ALICE, BOB.public_key, free(genesis, ALICE.public_key) * 2, nonce=0)
    assert executive.apply_extrinsic(block, too_much) is False
    assert executive.apply_extrinsic(block, sign_transfer(RUNTIME, ALICE, BOB.public_key, 1, nonce=1)) is True


def test_finalization_events_carry_extrinsic_index_zero(executive: Executive, genesis: DictState) -> None:
    after = execute_block(executive, genesis, [sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)])
    records = RUNTIME.decode_events(system.Events.get(after))
    finalization = [r for r in records if r.phase == system.PHASE_FINALIZATION]
    assert finalization and {r.extrinsic_index for r in finalization} == {0}
    assert {r.extrinsic_index for r in records if r.phase == system.PHASE_APPLY_EXTRINSIC} == {1}


def test_a_mortal_transaction_is_not_valid_in_its_birth_block(executive: Executive, genesis: DictState) -> None:
    """Mortality(birth, period) is valid in blocks birth+1 .. birth+period, both ends included,
    on the import path, the author's path and in the pool."""
    state = genesis
    for _ in range(4):
        state = execute_block(executive, state)  # blocks 1..4: block 3's hash is known
    xt = sign_transfer(
        RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, mortality=Mortality(3, 4), birth_hash=compute_test_block_hash(3)
    )
    with pytest.raises(ExpiredTransaction, match="^valid in blocks 4..7, not in block 3$"):
        executive.validate_transaction(state, xt, 3)
    with pytest.raises(ExpiredTransaction, match="^valid in blocks 4..7, not in block 8$"):
        executive.validate_transaction(state, xt, 8)
    assert executive.validate_transaction(state, xt, 7).valid_until == 7
    block = executive.initialize_block(state, block_env(5))
    executive.apply_extrinsic(block, timestamp_inherent(5))
    assert executive.apply_extrinsic(block, xt) is True  # the author checks mortality against its block number


def test_an_immortal_transaction_has_no_last_block(executive: Executive, genesis: DictState) -> None:
    xt = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    assert executive.validate_transaction(genesis, xt, 1).valid_until is None


def test_error_messages_name_what_is_wrong(executive: Executive, genesis: DictState) -> None:
    with pytest.raises(MalformedTransaction, match="^extrinsic does not decode: "):
        executive.validate_transaction(genesis, b"\x92\x00", 1)
    with pytest.raises(FutureTransaction, match="^nonce 3 is ahead of the next nonce 0$"):
        execute_block(executive, genesis, [sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=3)])
    with pytest.raises(BadInherent, match="^unsigned extrinsics are made by block authors, not submitted$"):
        executive.validate_transaction(genesis, timestamp_inherent(1), 1)
    with pytest.raises(BlockExecutionError, match="^the block has no timestamp inherent$"):
        executive.execute_block(genesis, block_env(1), ())
    wrong_set = Justification(1, 0, compute_test_block_hash(0), 0, ())
    note = encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(finality.NoteFinalityArgs(wrong_set))))
    with pytest.raises(BadInherent, match="^inherent finality.note_finality failed: "):
        executive.execute_block(genesis, block_env(1), (timestamp_inherent(1), note))
    transfer = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0)
    with pytest.raises(BadInherent, match="^an inherent may not follow a signed transaction$"):
        executive.execute_block(genesis, block_env(1), (transfer, timestamp_inherent(1)))
    block = executive.initialize_block(genesis, block_env(1))
    executive.apply_extrinsic(block, timestamp_inherent(1))
    executive.apply_extrinsic(block, transfer)
    with pytest.raises(BadInherent, match="^an inherent may not follow a signed transaction$"):
        executive.apply_extrinsic(block, timestamp_inherent(1))


def test_each_signature_of_an_imported_block_is_checked_once(
    executive: Executive, genesis: DictState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs of SIGNATURE_RUN checks cover the block once: no run re-checks an earlier one's."""
    from runtime.executive import SIGNATURE_RUN

    transfers = [sign_transfer(RUNTIME, ALICE, BOB.public_key, 1, nonce=nonce) for nonce in range(SIGNATURE_RUN + 2)]
    verifies = count_verifies(monkeypatch)
    execute_block(executive, genesis, transfers)
    assert verifies[0] == len(transfers)


def test_block_codec_edges_and_messages() -> None:
    """Extrinsics and blocks are refused above their size limits; a mortal transaction needs its
    birth hash; the signing payload of anything else is refused by name."""
    from runtime.block import (
        MAX_BLOCK_SIZE,
        MAX_EXTRINSIC_SIZE,
        compute_extrinsics_root,
        decode_block,
        sign_extrinsic,
    )
    from runtime.errors import EncodingError
    from runtime.primitives.merkle import compute_merkle_root

    with pytest.raises(EncodingError, match=f"exceeds the limit of {MAX_EXTRINSIC_SIZE}"):
        decode_extrinsic(b"\x00" * (MAX_EXTRINSIC_SIZE + 1))
    with pytest.raises(EncodingError, match=f"exceeds the limit of {MAX_BLOCK_SIZE}"):
        decode_block(b"\x00" * (MAX_BLOCK_SIZE + 1))
    with pytest.raises(ValueError, match="^a mortal transaction signs the hash of its birth block$"):
        sign_extrinsic(ALICE, TEST_GENESIS_HASH, nonce=0, call=b"\x90", mortality=Mortality(1, 4))
    assert sign_extrinsic(ALICE, TEST_GENESIS_HASH, nonce=0, call=b"\x90").tip == 0
    with pytest.raises(ValueError, match="^not the canonical bytes of a signed extrinsic, or not a 32-byte hash$"):
        compute_signing_payload_of_encoded(encode_extrinsic(UnsignedExtrinsic(b"\x90")), bytes(32))
    assert compute_extrinsics_root([b"a", b"b"]) == compute_merkle_root([b"a", b"b"]) != compute_extrinsics_root([])

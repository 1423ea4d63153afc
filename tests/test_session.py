"""The session pallet: session keys queued by ``set_keys`` and enacted at the next epoch
boundary, the authority set rotating per epoch (``SetId`` rising exactly when it changes),
staking's election enacted at the epoch boundary that ends its era, genesis and invariants.

Unless a test says otherwise: an epoch is 3 blocks, an era 2 epochs (6 blocks), alice and bob
are the genesis validators (signing with their account keys), 2 validator seats.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from genesis.spec import (
    GenesisError,
    authority_entry,
    build_genesis_state,
    export_runtime_genesis,
    load_chain_spec,
    validate,
)
from runtime.accounts import TREASURY_ACCOUNT
from runtime.framework.pallet import DispatchContext
from runtime.pallets import session, staking
from runtime.pallets.session import Authority, SessionKeys, SetKeysArgs
from runtime.pallets.staking import BondArgs, ValidateArgs
from runtime.primitives import vrf
from runtime.primitives.address import encode_address
from runtime.primitives.keys import Keypair
from runtime_helpers import (
    BALANCES,
    OFFENCES,
    RUNTIME,
    SESSION,
    DictState,
    assert_noop,
    at_block,
    dispatch,
    finalize_hooks,
    get_round_robin_author,
    named_keypair,
    new_test_ext,
)
from runtime_helpers import build_genesis_state as build_test_state

ALICE_KEY, BOB_KEY, CHARLIE_KEY, DAVE_KEY = (named_keypair(name) for name in ("alice", "bob", "charlie", "dave"))
ALICE, BOB, CHARLIE, DAVE = (key.public_key for key in (ALICE_KEY, BOB_KEY, CHARLIE_KEY, DAVE_KEY))
ED = 1_000
EPOCH_LENGTH = 3
ERA_LENGTH = 2 * EPOCH_LENGTH


def session_keys(name: str) -> tuple[Keypair, SessionKeys]:
    """A fresh signing key pair and its session keys (VRF key derived from it)."""
    keypair = named_keypair(f"session {name}")
    return keypair, SessionKeys(keypair.public_key, vrf.public_key(keypair.derive_vrf_seed()))


def genesis_config(**session_overrides: Any) -> dict[str, Any]:
    """This module's chain-spec sections (the genesis tests change them)."""
    accounts = [(TREASURY_ACCOUNT, ED), *((who, 100_000) for who in (ALICE, BOB, CHARLIE, DAVE))]
    return {
        "balances": {
            "existentialDeposit": ED,
            "balances": [[encode_address(who), amount] for who, amount in accounts],
        },
        "session": {
            "epochLengthBlocks": EPOCH_LENGTH,
            "authorities": [authority_entry(ALICE_KEY), authority_entry(BOB_KEY)],
            **session_overrides,
        },
        "staking": {
            "eraLengthBlocks": ERA_LENGTH,
            "bondingDurationEras": 2,
            "validatorCount": 2,
            "minValidatorBond": 10_000,
            "maxCommissionPerbill": 0,
            "maxCommissionChangePerbill": 0,
            "stakers": [[encode_address(ALICE), 20_000, 0], [encode_address(BOB), 20_000, 0]],
        },
    }


def new_ext() -> DispatchContext:
    return new_test_ext(config=genesis_config(), author=ALICE)


def finalize(ctx: DispatchContext, number: int, author: bytes) -> list[Any]:
    """Staking's and session's ``on_finalize`` (session ends the epoch, and through staking the
    era, when due); their events."""
    events = finalize_hooks(ctx, ("staking", "session"), number, author)
    assert RUNTIME.try_state(ctx.state) == []
    return events


def run_blocks(ctx: DispatchContext, first: int, last: int) -> list[Any]:
    """Blocks ``first..last``, each by the current slot author; all their events."""
    events = []
    for number in range(first, last + 1):
        events += finalize(ctx, number, get_round_robin_author(ctx.state, number))
    return events


# --- set_keys -----------------------------------------------------------------------------


def test_set_keys_is_queued_then_enacted_at_the_next_epoch() -> None:
    ctx = new_ext()
    signing, keys = session_keys("alice 2")
    dispatch(ctx, ALICE, SetKeysArgs(keys))
    assert ctx.event_records()[-1].event == session.KeysQueued(ALICE, keys)
    assert session.QueuedKeys.get(ctx.state, ALICE) == keys
    assert session.get_authorities(ctx.state) == (ALICE, BOB)
    run_blocks(ctx, 1, EPOCH_LENGTH - 1)
    assert session.get_authorities(ctx.state) == (ALICE, BOB)  # not before the epoch ends
    events = run_blocks(ctx, EPOCH_LENGTH, EPOCH_LENGTH)
    assert session.NewEpoch(1, 1, 2) in events
    assert session.get_authorities(ctx.state) == (signing.public_key, BOB)
    assert session.get_current_authorities(ctx.state)[0] == Authority(ALICE, keys)
    assert session.get_keys(ctx.state, ALICE) == keys
    assert session.QueuedKeys.get(ctx.state, ALICE) is None
    assert session.get_validator_of(ctx.state, signing.public_key) == ALICE
    assert session.get_validator_of(ctx.state, ALICE) is None
    # A block sealed by the new signing key earns alice a reward point.
    points = staking.RewardPoints.get(ctx.state, ALICE)
    finalize(ctx, EPOCH_LENGTH + 1, signing.public_key)
    assert staking.RewardPoints.get(ctx.state, ALICE) == points + 1


def test_set_keys_again_replaces_the_queued_keys() -> None:
    ctx = new_ext()
    _, first = session_keys("first")
    _, second = session_keys("second")
    dispatch(ctx, BOB, SetKeysArgs(first))
    dispatch(ctx, BOB, SetKeysArgs(second))
    run_blocks(ctx, 1, EPOCH_LENGTH)
    assert session.get_keys(ctx.state, BOB) == second
    # the key bob queued first and dropped is free again
    dispatch(ctx, ALICE, SetKeysArgs(first))


def test_duplicate_signing_key_is_refused() -> None:
    ctx = new_ext()
    _, keys = session_keys("shared")
    # another validator's signing key in the current set
    assert_noop(ctx, CHARLIE, SetKeysArgs(SessionKeys(ALICE, keys.vrf)), session.NotAStaker)
    dispatch(ctx, CHARLIE, BondArgs(15_000))
    assert_noop(ctx, CHARLIE, SetKeysArgs(SessionKeys(ALICE, keys.vrf)), session.DuplicateSigningKey)
    # another validator's queued key
    dispatch(ctx, BOB, SetKeysArgs(keys))
    assert_noop(ctx, CHARLIE, SetKeysArgs(keys), session.DuplicateSigningKey)
    # and once enacted
    run_blocks(ctx, 1, EPOCH_LENGTH)
    assert_noop(ctx, CHARLIE, SetKeysArgs(keys), session.DuplicateSigningKey)
    assert_noop(ctx, ALICE, SetKeysArgs(keys), session.DuplicateSigningKey)
    # a bonded account's own key, while it has no session keys of its own
    assert_noop(ctx, ALICE, SetKeysArgs(SessionKeys(CHARLIE, keys.vrf)), session.DuplicateSigningKey)
    # a validator may keep (re-queue) its own keys
    dispatch(ctx, ALICE, SetKeysArgs(session.get_keys(ctx.state, ALICE)))


def test_invalid_keys_are_refused_without_a_state_change() -> None:
    ctx = new_ext()
    _, keys = session_keys("valid")
    assert_noop(ctx, ALICE, SetKeysArgs(SessionKeys(bytes(32), keys.vrf)), session.InvalidSigningKey)
    assert_noop(ctx, ALICE, SetKeysArgs(SessionKeys(TREASURY_ACCOUNT, keys.vrf)), session.InvalidSigningKey)
    assert_noop(ctx, ALICE, SetKeysArgs(SessionKeys(keys.signing, bytes(32))), session.InvalidVrfKey)
    assert_noop(ctx, DAVE, SetKeysArgs(keys), session.NotAStaker)
    assert list(session.QueuedKeys.iter(ctx.state)) == []


# --- epochs and the set id ----------------------------------------------------------------


def test_set_id_rises_exactly_when_the_set_changes() -> None:
    ctx = new_ext()
    # two epochs, one era: the election re-orders alice and bob, which is no change of the set
    events = run_blocks(ctx, 1, 2 * EPOCH_LENGTH)
    assert [event for event in events if isinstance(event, session.NewEpoch)] == [
        session.NewEpoch(1, 0, 2),
        session.NewEpoch(2, 0, 2),
    ]
    assert session.CurrentEpoch.get(ctx.state) == 2
    _, keys = session_keys("bob 2")
    dispatch(ctx, BOB, SetKeysArgs(keys))
    run_blocks(ctx, 2 * EPOCH_LENGTH + 1, 3 * EPOCH_LENGTH)
    assert session.SetId.get(ctx.state) == 1
    assert session.SetIdSince.get(ctx.state) == 3
    # re-queueing the same keys is no change
    dispatch(ctx, BOB, SetKeysArgs(keys))
    run_blocks(ctx, 3 * EPOCH_LENGTH + 1, 5 * EPOCH_LENGTH)
    assert session.SetId.get(ctx.state) == 1
    assert session.CurrentEpoch.get(ctx.state) == 5


def test_election_result_is_enacted_at_the_epoch_boundary_ending_its_era() -> None:
    """Charlie bonds more than alice and bob mid-era: the election at the era's last block
    writes NextAuthorities, and that block's epoch rotation makes it current (the new era's
    first block is authored by the set elected for it), with the keys charlie set."""
    ctx = new_ext()
    signing, keys = session_keys("charlie")
    dispatch(ctx, CHARLIE, BondArgs(30_000))
    dispatch(ctx, CHARLIE, ValidateArgs(0))
    dispatch(ctx, CHARLIE, SetKeysArgs(keys))
    run_blocks(ctx, 1, EPOCH_LENGTH)  # an epoch ends inside the era: no election yet
    assert session.get_authorities(ctx.state) == (ALICE, BOB)
    assert session.get_keys(ctx.state, CHARLIE) == keys
    assert session.SetId.get(ctx.state) == 0
    run_blocks(ctx, EPOCH_LENGTH + 1, ERA_LENGTH - 1)
    assert session.get_authorities(ctx.state) == (ALICE, BOB)
    events = run_blocks(ctx, ERA_LENGTH, ERA_LENGTH)
    assert staking.NewEra(1, 2) in events
    assert staking.Elected.get(ctx.state) == (CHARLIE, min(ALICE, BOB))
    assert session.get_validators(ctx.state) == (CHARLIE, min(ALICE, BOB))
    assert session.get_authorities(ctx.state) == (signing.public_key, min(ALICE, BOB))
    assert session.NextAuthorities.get(ctx.state) == session.CurrentAuthorities.get(ctx.state)
    assert session.SetId.get(ctx.state) == 1
    assert get_round_robin_author(ctx.state, ERA_LENGTH + 2) == signing.public_key
    run_blocks(ctx, ERA_LENGTH + 1, 2 * ERA_LENGTH)  # the same set is re-elected
    assert session.SetId.get(ctx.state) == 1
    assert staking.RewardPoints.get(ctx.state, CHARLIE) == 0  # paid out at the era end
    assert staking.Elected.get(ctx.state) == (CHARLIE, min(ALICE, BOB))


def test_an_election_without_anybody_keeps_the_set() -> None:
    ctx = new_ext()
    for who in (ALICE, BOB):
        dispatch(ctx, who, staking.ChillArgs())
    run_blocks(ctx, 1, ERA_LENGTH)
    assert staking.Elected.get(ctx.state) == ()
    assert session.get_authorities(ctx.state) == (ALICE, BOB)
    assert session.SetId.get(ctx.state) == 0


# --- genesis ------------------------------------------------------------------------------


def test_genesis_round_trip_is_exact() -> None:
    _, keys = session_keys("genesis")
    config = genesis_config()
    config["session"]["authorities"][1] = [encode_address(BOB), encode_address(keys.signing), "0x" + keys.vrf.hex()]
    config["session"]["primaryProbability"] = [1, 3]
    changes = RUNTIME.build_genesis(config)
    state = DictState().apply(changes)
    exported = RUNTIME.export_genesis(state)
    assert exported["session"] == config["session"]
    assert session.get_authorities(state) == (ALICE, keys.signing)
    assert session.get_validators(state) == (ALICE, BOB)
    assert RUNTIME.build_genesis(exported) == changes
    for name in ("dev", "local"):
        spec = load_chain_spec(name)
        assert export_runtime_genesis(build_genesis_state(spec)) == spec.runtime_genesis


def test_dev_spec_signs_with_alice() -> None:
    from genesis.dev_accounts import dev_keypair

    state = DictState(build_genesis_state(load_chain_spec("dev")))
    alice = dev_keypair("alice")
    assert session.get_authorities(state) == (alice.public_key,)
    assert session.get_keys(state, alice.public_key).vrf == vrf.public_key(alice.derive_vrf_seed())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["session"].update(epochLengthBlocks=0), "epochLengthBlocks must be at least 1"),
        (lambda c: c["session"].update(epochLengthBlocks=4), r"eraLengthBlocks \(6\) must be a whole number"),
        (
            lambda c: c["session"]["authorities"][1].__setitem__(1, encode_address(ALICE)),
            "a signing key for two authorities",
        ),
        (lambda c: c["session"]["authorities"][1].__setitem__(2, "0x" + "00" * 32), "VRF key is not a valid"),
        (lambda c: c["session"]["authorities"][1].__setitem__(2, "0x00"), "not 0x and 64 hex digits"),
        (lambda c: c["session"]["authorities"][1].pop(), r"expected \[validator, signing key, VRF key\]"),
    ],
)
def test_invalid_genesis_is_refused(mutate: Any, message: str) -> None:
    config = genesis_config()
    mutate(config)
    with pytest.raises(ValueError, match=message):
        RUNTIME.build_genesis(config)


def test_spec_validation_of_session_keys() -> None:
    data = load_chain_spec("local").to_dict()
    authorities = data["genesis"]["runtime"]["session"]["authorities"]
    for index, value, message in (
        (1, authorities[0][0], r"authorities\[1\]\[1\]: signing key \w+ is used by two authorities"),
        (2, "0x" + "AB" * 32, r"authorities\[1\]\[2\]: expected a VRF public key as 0x and 64 lowercase"),
        (2, "0x" + "00" * 32, r"authorities\[1\]\[2\]: 0x0+ is not a valid VRF public key"),
    ):
        broken = copy.deepcopy(data)
        broken["genesis"]["runtime"]["session"]["authorities"][1][index] = value
        with pytest.raises(GenesisError, match=message):
            validate(broken)
    broken = copy.deepcopy(data)
    broken["genesis"]["runtime"]["session"]["authorities"][1] = authorities[1][0]
    with pytest.raises(GenesisError, match=r"authorities\[1\]: expected \[validator SS58 address"):
        validate(broken)


# --- invariants ---------------------------------------------------------------------------


def test_try_state_catches_broken_sets() -> None:
    ctx = new_ext()
    current = session.CurrentAuthorities.get(ctx.state)
    session.CurrentAuthorities.put(ctx.state, (current[0], Authority(BOB, current[0].keys)))
    assert "session: the current set uses a signing key twice" in RUNTIME.try_state(ctx.state)
    session.CurrentAuthorities.put(ctx.state, ())
    assert "session: the authority set is empty" in RUNTIME.try_state(ctx.state)
    session.CurrentAuthorities.put(ctx.state, current)
    session.SetId.put(ctx.state, 1)
    assert "session: SetId rose more often than epochs ended" in RUNTIME.try_state(ctx.state)
    session.SetId.put(ctx.state, 0)
    session.QueuedKeys.put(ctx.state, CHARLIE, SessionKeys(bytes(32), bytes(32)))
    assert any("malformed session keys" in problem for problem in RUNTIME.try_state(ctx.state))


def test_fees_go_to_the_validator_behind_the_signing_key() -> None:
    from runtime.pallets import transaction_payment

    ctx = new_ext()
    signing, keys = session_keys("alice fees")
    dispatch(ctx, ALICE, SetKeysArgs(keys))
    run_blocks(ctx, 1, EPOCH_LENGTH)
    before = BALANCES.get_free_balance(ctx.state, ALICE)
    transaction_payment.BlockFees.put(ctx.state, transaction_payment.CollectedFees(0, 2 * ED))  # tips: all the author's
    block = at_block(ctx.state, 4, signing.public_key)
    RUNTIME.pallet("transaction_payment").pay_out(block)  # type: ignore[attr-defined]
    assert BALANCES.get_free_balance(ctx.state, ALICE) == before + 2 * ED
    assert BALANCES.get_free_balance(ctx.state, signing.public_key) == 0


def test_an_equivocation_under_a_signing_key_is_the_validators_offence() -> None:
    from runtime.block import ZERO_SIGNATURE, Header, seal_header
    from runtime.pallets import offences

    ctx = new_ext()
    signing, keys = session_keys("alice equivocates")
    dispatch(ctx, ALICE, SetKeysArgs(keys))
    run_blocks(ctx, 1, EPOCH_LENGTH)

    def header(root: int) -> Header:
        unsealed = Header(bytes(32), 4, 4, 4_000, bytes([root]) * 32, bytes(32), signing.public_key, (), ZERO_SIGNATURE)
        return seal_header(unsealed, signing, bytes(32))

    proven = OFFENCES.check_block_equivocation(ctx.state, offences.BlockEquivocation(header(1), header(2)), bytes(32))
    assert proven.offence.offender == ALICE


def test_session_authorities_and_genesis_checks() -> None:
    state = build_test_state(authorities=[ALICE, BOB])
    assert session.get_authorities(state) == (ALICE, BOB)
    with pytest.raises(ValueError, match="at least one"):
        build_test_state(authorities=[])
    with pytest.raises(ValueError, match="twice"):
        build_test_state(authorities=[ALICE] * 2)
    with pytest.raises(ValueError, match="not a valid"):
        build_test_state(authorities=[bytes(32)])


def test_a_signing_key_belongs_to_its_validator_for_good() -> None:
    """Once enacted, a signing key names its validator forever: evidence signed under it after a
    rotation still finds the offender, and no other validator may ever take it up."""
    ctx = new_ext()
    old, old_keys = session_keys("alice first")
    dispatch(ctx, ALICE, SetKeysArgs(old_keys))
    run_blocks(ctx, 1, EPOCH_LENGTH)
    _, new_keys = session_keys("alice second")
    dispatch(ctx, ALICE, SetKeysArgs(new_keys))
    run_blocks(ctx, EPOCH_LENGTH + 1, 2 * EPOCH_LENGTH)
    assert session.get_keys(ctx.state, ALICE) == new_keys
    assert SESSION.get_validator_of(ctx.state, old.public_key) is None  # no longer in the set
    assert SESSION.get_key_owner(ctx.state, old.public_key) == ALICE
    assert_noop(ctx, BOB, SetKeysArgs(old_keys), session.DuplicateSigningKey)


# --- boundaries and invariants the mutation pass found unpinned (docs/testing.md) ---------


def full_message(text: str) -> str:
    """A ``match=`` pattern for exactly ``text``."""
    import re

    return f"^{re.escape(text)}$"


def test_epoch_randomness_is_the_tagged_hash_of_the_spec() -> None:
    """At the end of epoch 0 the runtime computes epoch 2's randomness: the tagged hash of
    epoch 0's randomness, the target epoch as 8 big-endian bytes and the epoch's VRF outputs
    digest (pinned as bytes, independent of compute_epoch_randomness)."""
    from runtime.primitives.hashing import tagged_hash

    tag = b"flock/babe-rand"
    ctx = new_ext()
    run_blocks(ctx, 1, EPOCH_LENGTH)
    expected = tagged_hash(tag, bytes(32) + bytes([0, 0, 0, 0, 0, 0, 0, 2]) + bytes(32))
    assert session.NextRandomness.get(ctx.state) == expected
    assert session.compute_epoch_randomness(b"\x01" * 32, 258, b"\x02" * 32) == tagged_hash(
        tag, b"\x01" * 32 + b"\x00\x00\x00\x00\x00\x00\x01\x02" + b"\x02" * 32
    )


def test_two_validators_with_one_signing_key_make_one_authority() -> None:
    ctx = new_ext()
    session.ValidatorKeys.put(ctx.state, BOB, session.get_keys(ctx.state, ALICE))
    authorities = session.compute_authorities(ctx.state, [ALICE, BOB, CHARLIE])
    assert [authority.validator for authority in authorities] == [ALICE, CHARLIE]


def test_a_signing_key_in_the_next_set_is_taken() -> None:
    ctx = new_ext()
    signing, keys = session_keys("unrecorded")
    session.NextAuthorities.put(ctx.state, (Authority(BOB, keys),))
    assert session.is_signing_key_taken(ctx.state, signing.public_key, ALICE, signing_is_staker=False)
    assert not session.is_signing_key_taken(ctx.state, signing.public_key, BOB, signing_is_staker=False)


def genesis_with_session(**overrides: Any) -> Any:
    config = genesis_config(**overrides)
    del config["staking"]
    return RUNTIME.build_genesis(config)


def test_genesis_epoch_length_and_probability_bounds() -> None:
    genesis_with_session(epochLengthBlocks=2**32 - 1)
    with pytest.raises(ValueError, match=full_message("session.epochLengthBlocks must be at least 1, got 4294967296")):
        genesis_with_session(epochLengthBlocks=2**32)
    for good in ([0, 1], [1, 1_000], [2**64 - 2, 2**64 - 1]):
        genesis_with_session(primaryProbability=good)
    for bad in ([1, 1], [0, 2**64], [1, 0], [-1, 1], [0.5, 1], [1], "1/2"):
        with pytest.raises(
            ValueError,
            match=full_message(f"session.primaryProbability must be [numerator, denominator] in [0, 1): {bad!r}"),
        ):
            genesis_with_session(primaryProbability=bad)


def test_genesis_authority_messages() -> None:
    config = genesis_config()
    del config["session"]["authorities"], config["staking"]
    with pytest.raises(ValueError, match=full_message("genesis needs at least one authority")):
        RUNTIME.build_genesis(config)
    alice = encode_address(ALICE)
    for authorities, message in (
        ([alice, alice], "genesis lists an authority twice"),
        (
            [authority_entry(ALICE_KEY), [encode_address(BOB), alice, authority_entry(ALICE_KEY)[2]]],
            "genesis uses a signing key for two authorities",
        ),
        (
            [[alice, encode_address(bytes(32)), authority_entry(ALICE_KEY)[2]]],
            f"authority {alice}: the signing key is not a valid ed25519 key",
        ),
        ([[alice, alice, "0x" + "00" * 32]], f"authority {alice}: the VRF key is not a valid public key"),
        ([encode_address(bytes(32))], f"authority {encode_address(bytes(32))} is not a valid ed25519 key"),
        (
            [[alice, alice, "ab" + "00" * 32]],
            "session.authorities: the VRF key 'ab" + "00" * 32 + "' is not 0x and 64 hex digits",
        ),
    ):
        with pytest.raises(ValueError, match=full_message(message)):
            genesis_with_session(authorities=authorities)


def test_genesis_takes_at_most_max_authorities() -> None:
    from runtime.block import MAX_AUTHORITIES

    keys = [named_keypair(f"authority {index}").public_key for index in range(MAX_AUTHORITIES + 1)]
    genesis_with_session(authorities=[encode_address(who) for who in keys[:-1]])
    with pytest.raises(ValueError, match=full_message(f"genesis lists more than {MAX_AUTHORITIES} authorities")):
        genesis_with_session(authorities=[encode_address(who) for who in keys])


def test_try_state_reports_each_broken_set_or_key_exactly() -> None:
    ctx = new_ext()
    current = session.CurrentAuthorities.get(ctx.state)
    problems = lambda: SESSION.try_state(ctx.state)  # noqa: E731
    assert problems() == []
    session.NextAuthorities.put(ctx.state, (current[0], Authority(CHARLIE, current[0].keys)))
    assert problems() == ["the next set uses a signing key twice"]
    session.NextAuthorities.put(ctx.state, (current[0], Authority(ALICE, current[1].keys)))
    assert problems() == ["the next set lists a validator twice"]
    session.NextAuthorities.put(ctx.state, current)
    _, charlie_keys = session_keys("charlie")
    session.QueuedKeys.put(ctx.state, CHARLIE, SessionKeys(charlie_keys.signing, bytes(32)))
    assert problems() == [f"{encode_address(CHARLIE)} has malformed session keys"]
    session.QueuedKeys.put(ctx.state, CHARLIE, charlie_keys)
    session.QueuedKeys.put(ctx.state, DAVE, charlie_keys)
    assert problems() == ["two validators queued the same signing key"]
    session.QueuedKeys.remove(ctx.state, DAVE)
    session.KeyOwners.put(ctx.state, current[0].keys.signing, BOB)
    assert problems() == [f"{encode_address(ALICE)}'s enacted signing key is not recorded as its own"]
    session.KeyOwners.put(ctx.state, current[0].keys.signing, ALICE)
    session.EpochLength.put(ctx.state, 0)
    assert problems() == ["the epoch length is 0"]

"""The offences pallet and staking's slashing: equivocation evidence, the correlated slash
fraction, deferral, cancellation by root, application to an exposure (own bond, delegations,
unlocking chunks), the reporter's reward, chilling, unresponsiveness, genesis and invariants.

Unless a test says otherwise: ED = 1,000, an era is 5 blocks, the bonding duration 2 eras, ten
validators (alice and nine others) each bonding 20,000 at genesis and all elected; slashes wait
1 era, the reporter gets 10 %, a block equivocation slashes at least 10 % and a vote
equivocation at least 5 %; unresponsiveness is off.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from genesis.spec import build_genesis_state as build_spec_state
from genesis.spec import load_chain_spec
from runtime.accounts import CONSENSUS_REWARD_POOL_ACCOUNT, FLOCK, TREASURY_ACCOUNT
from runtime.block import (
    VOTE_STAGE_PRECOMMIT,
    ZERO_SIGNATURE,
    FinalityVote,
    Header,
    encode_extrinsic,
    seal_header,
    sign_extrinsic,
    sign_finality_vote,
)
from runtime.construct import PALLET_INDICES
from runtime.executive import Executive
from runtime.framework.pallet import ROOT, BadOrigin, DispatchContext, Origin
from runtime.pallets import offences, session, staking, system
from runtime.pallets.offences import (
    BlockEquivocation,
    CancelDeferredSlashArgs,
    OffenceId,
    OffencesParameters,
    ReportEquivocationArgs,
    StakeSlash,
    UnappliedSlash,
    VoteEquivocation,
)
from runtime.pallets.staking import BondArgs, DelegateArgs, Delegation, StakingLedger, UnbondArgs, UnlockChunk
from runtime.primitives.address import encode_address
from runtime.primitives.arithmetic import PERBILL_ACCURACY, Perbill
from runtime.primitives.keys import Keypair
from runtime_helpers import (
    BALANCES,
    OFFENCES,
    RUNTIME,
    TEST_GENESIS_HASH,
    DictState,
    assert_noop,
    build_genesis_state,
    dispatch,
    execute_block,
    finalize_hooks,
    named_keypair,
    new_test_ext,
)

ALICE_KEY = named_keypair("alice")
VALIDATOR_KEYS = (ALICE_KEY, *(named_keypair(f"validator-{index}") for index in range(1, 10)))
VALIDATORS = tuple(key.public_key for key in VALIDATOR_KEYS)
ALICE, V1, V2 = VALIDATORS[:3]
BOB, CHARLIE, DAVE = (named_keypair(name).public_key for name in ("bob", "charlie", "dave"))
ED = 1_000
PERCENT = 10_000_000  # Perbill parts
ERA_LENGTH = 5
OWN_BOND = 20_000
BALANCE = 100_000
STAKING_SECTION = {
    "eraLengthBlocks": ERA_LENGTH,
    "bondingDurationEras": 2,
    "validatorCount": 10,
    "minValidatorBond": 10_000,
    "maxCommissionPerbill": 20 * PERCENT,
    "maxCommissionChangePerbill": 5 * PERCENT,
}
OFFENCES_SECTION = {
    "slashDeferEras": 1,
    "reporterRewardPerbill": 10 * PERCENT,
    "minBlockEquivocationPerbill": 10 * PERCENT,
    "minVoteEquivocationPerbill": 5 * PERCENT,
    "minUnresponsivenessPerbill": 0,
    "maxUnresponsivenessPerbill": 0,
}


def new_ext(validators: tuple[bytes, ...] = VALIDATORS, **offences_overrides: int) -> DispatchContext:
    """Block 1 over a genesis where ``validators`` bond 20,000 each and are all elected, bob,
    charlie and dave hold 100,000 each, and the treasury and reward pool hold the ED."""
    return new_test_ext(
        accounts=[(TREASURY_ACCOUNT, ED), (CONSENSUS_REWARD_POOL_ACCOUNT, ED)],
        endowed=(*validators, BOB, CHARLIE, DAVE),
        balance=BALANCE,
        existential_deposit=ED,
        authorities=validators,
        stakers=tuple((who, OWN_BOND, 0) for who in validators),
        config={
            "staking": {**STAKING_SECTION, "validatorCount": len(validators)},
            "offences": {**OFFENCES_SECTION, **offences_overrides},
        },
        author=ALICE,
    )


def run_era(ctx: DispatchContext, authors: tuple[bytes, ...] = VALIDATORS) -> list[Any]:
    """Author the current era's blocks in turn from ``authors`` (staking's and session's hooks,
    which end epochs and eras); the events."""
    first = staking.CurrentEra.get(ctx.state) * ERA_LENGTH + 1
    events = []
    for offset in range(ERA_LENGTH):
        events += finalize_hooks(ctx, ("staking", "session"), first + offset, authors[offset % len(authors)])
    assert RUNTIME.try_state(ctx.state) == []
    return events


def make_header(author: Keypair, number: int, *, slot: int | None = None, root: int = 1) -> Header:
    """A header for block ``number`` (slot = number unless given) sealed by ``author``."""
    header = Header(
        parent_hash=bytes(32),
        number=number,
        slot=number if slot is None else slot,
        timestamp=number * 1_000,
        state_root=bytes([root]) * 32,
        extrinsics_root=bytes(32),
        author=author.public_key,
        digests=(),
        seal=ZERO_SIGNATURE,
    )
    return seal_header(header, author, TEST_GENESIS_HASH)


def block_equivocation(author: Keypair, number: int) -> ReportEquivocationArgs:
    return ReportEquivocationArgs(
        BlockEquivocation(make_header(author, number, root=1), make_header(author, number, root=2))
    )


def free(ctx: DispatchContext, who: bytes) -> int:
    return BALANCES.get_free_balance(ctx.state, who)


def events_of(ctx: DispatchContext) -> list[Any]:
    return [record.event for record in ctx.event_records()]


# --- the worked example -------------------------------------------------------------------


def test_worked_example_slash_with_two_delegators_and_an_unbonding_chunk() -> None:
    """``docs/economics.md``'s example. Ten validators are elected, so one offender has a
    correlated fraction of (3/10)² = 9 %, below the 10 % minimum: the fraction is 10 %.

    Alice bonds 20,000; bob bonds 30,000 and delegates 20,000 to her, charlie bonds and
    delegates 10,000: from era 1 her exposure is 20,000 + 20,000 + 10,000. In era 1 bob unbonds
    10,000 (a chunk for era 3), then dave reports alice's block equivocation at block 6. The
    slash (alice 2,000, bob 2,000, charlie 1,000) waits one era and applies at the end of era 2.
    Bob's 2,000 comes pro rata from his ledger of 20,000 active + 10,000 unlocking: the chunk
    loses floor(2,000 × 10,000 / 30,000) = 666, the active bond 1,334. The treasury receives
    5,000 and pays dave 10 % of it, 500."""
    ctx = new_ext()
    dispatch(ctx, Origin.signed(BOB), BondArgs(30_000))
    dispatch(ctx, Origin.signed(BOB), DelegateArgs((Delegation(ALICE, 20_000),)))
    dispatch(ctx, Origin.signed(CHARLIE), BondArgs(10_000))
    dispatch(ctx, Origin.signed(CHARLIE), DelegateArgs((Delegation(ALICE, 10_000),)))
    run_era(ctx)
    assert staking.Exposures.get(ctx.state, ALICE).total == 50_000
    dispatch(ctx, Origin.signed(BOB), UnbondArgs(10_000))
    treasury_before = free(ctx, TREASURY_ACCOUNT)

    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 6))
    assert events_of(ctx)[-1] == offences.OffenceRecorded(offences.KIND_BLOCK_EQUIVOCATION, ALICE, 1, 10 * PERCENT, 2)
    assert offences.UnappliedSlashes.get(ctx.state, 2) == (
        UnappliedSlash(
            ALICE,
            offences.KIND_BLOCK_EQUIVOCATION,
            1,
            10 * PERCENT,
            DAVE,
            (
                StakeSlash(ALICE, 20_000, 2_000),
                *sorted((StakeSlash(BOB, 20_000, 2_000), StakeSlash(CHARLIE, 10_000, 1_000)), key=lambda s: s.who),
            ),
        ),
    )
    run_era(ctx)  # era 1 ends: not due yet; alice, chilled, is not elected for era 2
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(20_000, (UnlockChunk(10_000, 3),))
    assert ALICE not in staking.Elected.get(ctx.state)

    events = run_era(ctx)  # era 2 ends: the slash applies
    assert staking.Ledger.get(ctx.state, ALICE) == StakingLedger(18_000, ())
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(18_666, (UnlockChunk(9_334, 3),))
    assert staking.Ledger.get(ctx.state, CHARLIE) == StakingLedger(9_000, ())
    assert staking.Delegations.get(ctx.state, BOB) == (Delegation(ALICE, 18_000),)
    assert staking.Delegations.get(ctx.state, CHARLIE) == (Delegation(ALICE, 9_000),)
    assert {who: free(ctx, who) for who in (ALICE, BOB, CHARLIE, DAVE)} == {
        ALICE: 98_000,
        BOB: 98_000,
        CHARLIE: 99_000,
        DAVE: 100_500,
    }
    assert {who: BALANCES.get_lock(ctx.state, who, staking.STAKING_LOCK_ID) for who in (ALICE, BOB, CHARLIE)} == {
        ALICE: 18_000,
        BOB: 28_000,
        CHARLIE: 9_000,
    }
    assert free(ctx, TREASURY_ACCOUNT) == treasury_before + 4_500
    assert staking.TotalBonded.get(ctx.state) == 10 * OWN_BOND + 40_000 - 5_000
    assert offences.SlashApplied(ALICE, offences.KIND_BLOCK_EQUIVOCATION, 5_000) in events
    assert offences.ReporterRewarded(DAVE, 500) in events
    assert staking.Slashed(BOB, 2_000) in events
    assert offences.UnappliedSlashes.get(ctx.state, 2) == ()


# --- fractions ----------------------------------------------------------------------------


def test_correlated_fraction_is_three_k_over_n_squared_rounded_down_and_capped_at_one() -> None:
    assert offences.compute_correlated_fraction(1, 10) == Perbill(9 * PERCENT)
    assert offences.compute_correlated_fraction(2, 10) == Perbill(36 * PERCENT)
    assert offences.compute_correlated_fraction(3, 10) == Perbill(81 * PERCENT)
    assert offences.compute_correlated_fraction(4, 10) == Perbill(PERBILL_ACCURACY)
    assert offences.compute_correlated_fraction(1, 3) == Perbill(PERBILL_ACCURACY)
    assert offences.compute_correlated_fraction(1, 7) == Perbill(183_673_469)  # 9/49, rounded down
    assert offences.compute_correlated_fraction(1, 1_000) == Perbill(9_000)


def test_minimum_fraction_per_kind_and_the_unresponsiveness_cap() -> None:
    parameters = OffencesParameters(0, 0, 10 * PERCENT, 5 * PERCENT, PERCENT // 10, PERCENT)
    fraction = offences.compute_slash_fraction
    assert fraction(offences.KIND_BLOCK_EQUIVOCATION, 1, 10, parameters) == Perbill(10 * PERCENT)
    assert fraction(offences.KIND_VOTE_EQUIVOCATION, 1, 10, parameters) == Perbill(9 * PERCENT)
    assert fraction(offences.KIND_BLOCK_EQUIVOCATION, 2, 10, parameters) == Perbill(36 * PERCENT)
    assert fraction(offences.KIND_UNRESPONSIVENESS, 1, 1_000, parameters) == Perbill(PERCENT // 10)
    assert fraction(offences.KIND_UNRESPONSIVENESS, 1, 2, parameters) == Perbill(PERCENT)


def test_a_second_offender_in_the_era_raises_the_first_ones_fraction() -> None:
    """Two of ten validators equivocate in era 0: (3 × 2 / 10)² = 36 % for both."""
    ctx = new_ext()
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[1], 3))
    slashes = offences.UnappliedSlashes.get(ctx.state, 1)
    assert [(slash.offender, slash.fraction_parts) for slash in slashes] == [(ALICE, 36 * PERCENT), (V1, 36 * PERCENT)]
    assert slashes[0].stakes == (StakeSlash(ALICE, OWN_BOND, 7_200),)
    # A second equivocation of alice's in the same era does not add a slash, nor raise k.
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 4))
    assert offences.UnappliedSlashes.get(ctx.state, 1) == slashes
    assert RUNTIME.try_state(ctx.state) == []


# --- deferral and cancellation ------------------------------------------------------------


def test_slash_waits_the_defer_eras_and_applies_at_the_end_of_the_due_era() -> None:
    ctx = new_ext(slashDeferEras=1)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 3))  # era 0, applies at the end of era 1
    events = run_era(ctx)
    assert not any(isinstance(event, offences.SlashApplied) for event in events)
    assert staking.Ledger.get(ctx.state, ALICE) == StakingLedger(OWN_BOND, ())
    events = run_era(ctx)
    assert offences.SlashApplied(ALICE, offences.KIND_BLOCK_EQUIVOCATION, 2_000) in events
    assert staking.Ledger.get(ctx.state, ALICE) == StakingLedger(OWN_BOND - 2_000, ())
    assert list(offences.UnappliedSlashes.iter(ctx.state)) == []


def test_without_deferral_the_slash_applies_at_the_end_of_the_offence_era() -> None:
    ctx = new_ext(slashDeferEras=0)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 3))
    events = run_era(ctx)
    assert offences.SlashApplied(ALICE, offences.KIND_BLOCK_EQUIVOCATION, 2_000) in events


def test_root_cancels_a_deferred_slash_and_nobody_else_can() -> None:
    ctx = new_ext()
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[1], 3))
    assert_noop(ctx, Origin.signed(DAVE), CancelDeferredSlashArgs(1, (0,)), BadOrigin)
    assert_noop(ctx, ROOT, CancelDeferredSlashArgs(1, (2,)), offences.NoSuchSlash)
    assert_noop(ctx, ROOT, CancelDeferredSlashArgs(1, (0, 0)), offences.NoSuchSlash)
    assert_noop(ctx, ROOT, CancelDeferredSlashArgs(0, (0,)), offences.NoSuchSlash)
    dispatch(ctx, ROOT, CancelDeferredSlashArgs(1, (0,)))
    assert events_of(ctx)[-1] == offences.SlashCancelled(1, ALICE, offences.KIND_BLOCK_EQUIVOCATION)
    assert [slash.offender for slash in offences.UnappliedSlashes.get(ctx.state, 1)] == [V1]
    run_era(ctx)
    run_era(ctx)
    assert staking.Ledger.get(ctx.state, ALICE) == StakingLedger(OWN_BOND, ())
    assert staking.Ledger.get(ctx.state, V1) == StakingLedger(OWN_BOND - 7_200, ())
    # The cancelled offence stays recorded: it cannot be reported again.
    assert_noop(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2), offences.OutsideSlashingWindow)
    assert offences.Reports.contains(ctx.state, OffenceId(offences.KIND_BLOCK_EQUIVOCATION, ALICE, (2,)))


# --- reports ------------------------------------------------------------------------------


def test_duplicate_report_is_refused_without_a_trace() -> None:
    ctx = new_ext()
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    assert_noop(ctx, Origin.signed(BOB), block_equivocation(ALICE_KEY, 2), offences.DuplicateReport)
    # Another pair of headers for the same slot is the same offence.
    other_pair = BlockEquivocation(make_header(ALICE_KEY, 2, root=3), make_header(ALICE_KEY, 2, root=4))
    assert_noop(ctx, Origin.signed(BOB), ReportEquivocationArgs(other_pair), offences.DuplicateReport)


def test_invalid_block_evidence_is_refused_without_a_trace() -> None:
    ctx = new_ext()
    header = make_header(ALICE_KEY, 2)
    cases = [
        (BlockEquivocation(header, header), offences.IdenticalEvidence),
        (BlockEquivocation(header, make_header(ALICE_KEY, 3, slot=3)), offences.DifferentTimes),
        (BlockEquivocation(header, make_header(VALIDATOR_KEYS[1], 2)), offences.DifferentOffenders),
        (
            BlockEquivocation(make_header(ALICE_KEY, 6), make_header(ALICE_KEY, 6, root=2)),
            offences.OutsideSlashingWindow,
        ),
        (
            BlockEquivocation(make_header(named_keypair("dave"), 2), make_header(named_keypair("dave"), 2, root=2)),
            offences.NotPunishable,
        ),
    ]
    forged = seal_header(make_header(ALICE_KEY, 2, root=2), VALIDATOR_KEYS[1], TEST_GENESIS_HASH)  # author alice
    cases.append((BlockEquivocation(header, forged), offences.BadSignature))
    other_chain = seal_header(make_header(ALICE_KEY, 2, root=2), ALICE_KEY, bytes(32))
    cases.append((BlockEquivocation(header, other_chain), offences.BadSignature))
    for evidence, error in cases:
        assert_noop(ctx, Origin.signed(DAVE), ReportEquivocationArgs(evidence), error)
    assert list(offences.Reports.iter(ctx.state)) == []


def test_vote_equivocation_is_recorded_and_invalid_votes_refused() -> None:
    ctx = new_ext()
    vote = FinalityVote(set_id=0, round=3, stage=VOTE_STAGE_PRECOMMIT, target_hash=bytes([1]) * 32, target_number=2)
    other = FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([2]) * 32, 3)
    first = sign_finality_vote(vote, ALICE_KEY, TEST_GENESIS_HASH)
    second = sign_finality_vote(other, ALICE_KEY, TEST_GENESIS_HASH)
    next_round = sign_finality_vote(
        FinalityVote(0, 4, VOTE_STAGE_PRECOMMIT, bytes(32), 3), ALICE_KEY, TEST_GENESIS_HASH
    )
    for evidence, error in [
        (VoteEquivocation(first, first), offences.IdenticalEvidence),
        (VoteEquivocation(first, next_round), offences.DifferentTimes),
        (
            VoteEquivocation(first, sign_finality_vote(other, VALIDATOR_KEYS[1], TEST_GENESIS_HASH)),
            offences.DifferentOffenders,
        ),
        (VoteEquivocation(first, sign_finality_vote(other, ALICE_KEY, bytes(32))), offences.BadSignature),
    ]:
        assert_noop(ctx, Origin.signed(DAVE), ReportEquivocationArgs(evidence), error)
    dispatch(ctx, Origin.signed(DAVE), ReportEquivocationArgs(VoteEquivocation(first, second)))
    assert events_of(ctx)[-1] == offences.OffenceRecorded(offences.KIND_VOTE_EQUIVOCATION, ALICE, 0, 9 * PERCENT, 1)
    assert offences.Reports.get(ctx.state, OffenceId(offences.KIND_VOTE_EQUIVOCATION, ALICE, (0, 3, 1))) == 0
    assert_noop(
        ctx, Origin.signed(DAVE), ReportEquivocationArgs(VoteEquivocation(second, first)), offences.DuplicateReport
    )


def test_reporter_reward_is_a_fraction_of_what_was_slashed() -> None:
    """20 % of alice's 20,000 is 4,000 slashed; dave gets 25 % of it."""
    ctx = new_ext(reporterRewardPerbill=25 * PERCENT, minBlockEquivocationPerbill=20 * PERCENT)
    treasury = free(ctx, TREASURY_ACCOUNT)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    run_era(ctx)
    events = run_era(ctx)
    assert offences.ReporterRewarded(DAVE, 1_000) in events
    assert free(ctx, DAVE) == BALANCE + 1_000
    assert free(ctx, TREASURY_ACCOUNT) == treasury + 3_000


# --- chilling and unresponsiveness --------------------------------------------------------


def test_offender_is_chilled_out_of_the_next_election_until_it_validates_again() -> None:
    ctx = new_ext()
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    assert staking.Chilled(ALICE) in events_of(ctx)
    assert not staking.is_validating(ctx.state, ALICE)
    run_era(ctx)
    assert ALICE not in staking.Elected.get(ctx.state)
    assert len(staking.Elected.get(ctx.state)) == 9
    dispatch(ctx, Origin.signed(ALICE), staking.ValidateArgs(0))
    run_era(ctx)
    assert ALICE in staking.Elected.get(ctx.state)


def test_an_elected_validator_without_a_block_in_the_era_is_unresponsive() -> None:
    """Alice and v1 are elected, only alice authors in era 0: v1's (3/2)² is capped at 1 %,
    v1 is chilled before the era-1 election and loses 200 of 20,000 at the end of era 1."""
    ctx = new_ext((ALICE, V1), minUnresponsivenessPerbill=PERCENT // 10, maxUnresponsivenessPerbill=PERCENT)
    events = run_era(ctx, (ALICE,))
    assert offences.OffenceRecorded(offences.KIND_UNRESPONSIVENESS, V1, 0, PERCENT, 1) in events
    assert staking.Elected.get(ctx.state) == (ALICE,)
    events = run_era(ctx, (ALICE,))
    assert offences.SlashApplied(V1, offences.KIND_UNRESPONSIVENESS, 200) in events
    assert not any(isinstance(event, offences.ReporterRewarded) for event in events)
    assert staking.Ledger.get(ctx.state, V1) == StakingLedger(OWN_BOND - 200, ())


def test_a_whole_epoch_without_a_point_is_unresponsive_even_if_the_era_had_blocks() -> None:
    """This test chain's epochs are one block long: v1 authors blocks 1-4 of era 0 and alice
    block 5, so each went at least one epoch without a block or a finality vote. With epochs as
    long as the era, one block each is enough."""
    overrides = {"minUnresponsivenessPerbill": PERCENT // 10, "maxUnresponsivenessPerbill": PERCENT}
    ctx = new_ext((ALICE, V1), **overrides)
    events = run_era(ctx, (V1, V1, V1, V1, ALICE))
    recorded = {e.offender for e in events if isinstance(e, offences.OffenceRecorded)}
    assert recorded == {ALICE, V1}
    ctx = new_ext((ALICE, V1), **overrides)
    session.EpochLength.put(ctx.state, ERA_LENGTH)
    events = run_era(ctx, (V1, ALICE, ALICE, ALICE, ALICE))
    assert not any(isinstance(event, offences.OffenceRecorded) for event in events)
    assert staking.IdleInEra.get(ctx.state) == () and not list(staking.ActiveInEpoch.iter(ctx.state))


def test_unresponsiveness_is_off_when_its_cap_is_zero() -> None:
    ctx = new_ext((ALICE, V1))
    events = run_era(ctx, (ALICE,))
    assert not any(isinstance(event, offences.OffenceRecorded) for event in events)
    assert set(staking.Elected.get(ctx.state)) == {ALICE, V1}


# --- slashing a ledger --------------------------------------------------------------------


def test_slashed_ledger_is_pro_rata_and_exact() -> None:
    ledger = StakingLedger(20_000, (UnlockChunk(10_000, 3),))
    assert staking.compute_slashed_ledger(ledger, 2_000) == StakingLedger(18_666, (UnlockChunk(9_334, 3),))
    assert staking.compute_slashed_ledger(ledger, 30_000) == StakingLedger(0, ())
    # Rounding the active bond cannot cover comes from the newest chunk.
    tiny = StakingLedger(1, (UnlockChunk(5, 2), UnlockChunk(5, 3)))
    slashed = staking.compute_slashed_ledger(tiny, 10)
    assert slashed.total == 1 and slashed.active == 0
    delegations = (Delegation(ALICE, 5_000), Delegation(V1, 5_000))
    assert staking.compute_slashed_delegations(delegations, ALICE, 1_000, 8_000) == (
        Delegation(ALICE, 4_000),
        Delegation(V1, 4_000),
    )


def test_a_slash_takes_at_most_what_the_ledger_still_holds() -> None:
    """Alice equivocates both a block and a vote in era 0, each at 100 %: the first slash takes
    her whole bond of 20,000 and ends her ledger, the second finds nothing left to take."""
    ctx = new_ext(minBlockEquivocationPerbill=PERBILL_ACCURACY, minVoteEquivocationPerbill=PERBILL_ACCURACY)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    votes = [FinalityVote(0, 1, VOTE_STAGE_PRECOMMIT, bytes([target]) * 32, 2) for target in (1, 2)]
    first, second = (sign_finality_vote(vote, ALICE_KEY, TEST_GENESIS_HASH) for vote in votes)
    dispatch(ctx, Origin.signed(DAVE), ReportEquivocationArgs(VoteEquivocation(first, second)))
    run_era(ctx)
    events = run_era(ctx)
    assert offences.SlashApplied(ALICE, offences.KIND_BLOCK_EQUIVOCATION, OWN_BOND) in events
    assert offences.SlashApplied(ALICE, offences.KIND_VOTE_EQUIVOCATION, 0) in events
    assert [event for event in events if isinstance(event, staking.Slashed)] == [staking.Slashed(ALICE, OWN_BOND)]
    assert not staking.Ledger.contains(ctx.state, ALICE)
    assert BALANCES.get_lock(ctx.state, ALICE, staking.STAKING_LOCK_ID) == 0
    assert free(ctx, ALICE) == BALANCE - OWN_BOND


# --- genesis and invariants ---------------------------------------------------------------


def test_genesis_export_round_trip() -> None:
    ctx = new_ext()
    exported = RUNTIME.export_genesis(ctx.state)
    assert exported["offences"] == OFFENCES_SECTION
    rebuilt = DictState().apply(RUNTIME.build_genesis(exported))
    assert dict(rebuilt.iter_prefix(b"")) == dict(ctx.state.iter_prefix(b""))
    assert RUNTIME.export_genesis(rebuilt) == exported


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slashDeferEras": 2}, "must be below staking.bondingDurationEras"),
        ({"reporterRewardPerbill": PERBILL_ACCURACY + 1}, "outside 0..1000000000"),
        ({"minUnresponsivenessPerbill": 2, "maxUnresponsivenessPerbill": 1}, "exceeds maxUnresponsivenessPerbill"),
    ],
)
def test_genesis_refuses_bad_parameters(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        new_ext(**overrides)


@pytest.mark.parametrize("name", ["dev", "local"])
def test_shipped_specs_carry_the_offences_section(name: str) -> None:
    state = DictState(build_spec_state(load_chain_spec(name)))
    parameters = offences.get_parameters(state)
    assert parameters.slash_defer_eras < staking.get_parameters(state).bonding_duration_eras
    assert parameters.max_unresponsiveness_parts > 0


def test_invariants_catch_malformed_slashes() -> None:
    ctx = new_ext()
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    assert RUNTIME.try_state(ctx.state) == []
    (slash,) = offences.UnappliedSlashes.get(ctx.state, 1)
    too_much = replace(slash, stakes=(StakeSlash(ALICE, OWN_BOND, OWN_BOND + 1),))
    offences.UnappliedSlashes.put(ctx.state, 1, (too_much,))
    assert any("takes 20001 of 20000" in problem for problem in RUNTIME.try_state(ctx.state))
    offences.UnappliedSlashes.put(ctx.state, 1, (slash, slash))
    assert any("two slashes" in problem for problem in RUNTIME.try_state(ctx.state))
    offences.UnappliedSlashes.remove(ctx.state, 1)
    staking.CurrentEra.put(ctx.state, 2)
    offences.UnappliedSlashes.put(ctx.state, 1, (slash,))
    assert any("never applied" in problem for problem in RUNTIME.try_state(ctx.state))


def test_error_codes_and_call_indices_are_stable() -> None:
    assert PALLET_INDICES["offences"] == 8
    assert [(error.__name__, error.code) for error in offences.Offences.ERRORS] == [
        (name, code)
        for code, name in enumerate(
            (
                "IdenticalEvidence",
                "DifferentTimes",
                "DifferentOffenders",
                "BadSignature",
                "NotPunishable",
                "OutsideSlashingWindow",
                "DuplicateReport",
                "NoSuchSlash",
                "BadParameters",
                "UnknownKind",
                "TooManySlashes",
            )
        )
    ]
    assert {index: definition.name for index, definition in offences.Offences.CALLS.items()} == {
        0: "report_equivocation",
        1: "cancel_deferred_slash",
        2: "report_equivocation_unsigned",
        3: "set_parameters",
    }


# --- through blocks -----------------------------------------------------------------------


def test_a_report_through_a_block_keeps_every_invariant() -> None:
    """Dave's signed report of alice's equivocation at block 1 applies in block 1; the slash
    lands at the end of era 1 (block 10) and every block keeps the invariants."""
    alice, dave = ALICE_KEY, named_keypair("dave")
    executive = Executive(RUNTIME, TEST_GENESIS_HASH)
    state = build_genesis_state(
        RUNTIME,
        [alice.public_key, dave.public_key],
        authorities=[alice.public_key],
        config={
            "staking": {**STAKING_SECTION, "stakers": [[encode_address(alice.public_key), 100 * FLOCK, 0]]},
            "offences": OFFENCES_SECTION,
        },
    )
    call = RUNTIME.encode_call(block_equivocation(alice, 1))
    report = encode_extrinsic(sign_extrinsic(dave, TEST_GENESIS_HASH, nonce=0, call=call))
    state = execute_block(executive, state, [report], author=alice.public_key)
    events = RUNTIME.decode_events(system.Events.get(state))
    assert any(record.event == system.ExtrinsicSuccess(1_000_000) for record in events)
    assert offences.UnappliedSlashes.get(state, 1)[0].fraction_parts == PERBILL_ACCURACY  # (3/1)², capped
    for _ in range(2 * ERA_LENGTH - 1):
        state = execute_block(executive, state, author=alice.public_key)
        assert RUNTIME.try_state(state) == []
    assert staking.Ledger.get(state, alice.public_key) is None
    assert list(offences.UnappliedSlashes.iter(state)) == []


def test_a_slash_rounds_up_what_the_chain_takes() -> None:
    """ceil(fraction × stake), never floor: a third of 10 takes 4 (a mutant rounding down was
    only caught after minutes of hypothesis shrinking through try_state)."""
    third = Perbill(333_333_334)
    assert offences.compute_stake_slashes(((ALICE, 10), (BOB, 9), (CHARLIE, 0)), third) == (
        offences.StakeSlash(ALICE, 10, 4),
        offences.StakeSlash(BOB, 9, 4),
        offences.StakeSlash(CHARLIE, 0, 0),
    )
    assert offences.compute_stake_slashes(((ALICE, 10),), Perbill(PERBILL_ACCURACY)) == (
        offences.StakeSlash(ALICE, 10, 10),
    )


# --- the slashing window (an audit found evidence and stake escaping) --------------------------


def test_evidence_from_a_past_era_in_the_window_slashes_that_eras_exposure() -> None:
    """Bonding 3 eras, slashes deferred 1: evidence may be 2 eras old. Bob delegates to V1 only
    after era 0: a report in era 1 of V1's equivocation in era 0 slashes era 0's exposure (V1's
    own bond alone), not era 1's (which bob backs)."""
    ctx = new_ext(slashDeferEras=1)
    staking.PARAMETERS.storage.put(ctx.state, replace(staking.get_parameters(ctx.state), bonding_duration_eras=3))
    dispatch(ctx, Origin.signed(BOB), BondArgs(30_000))
    dispatch(ctx, Origin.signed(BOB), DelegateArgs((Delegation(V1, 30_000),)))
    run_era(ctx)
    assert staking.Exposures.get(ctx.state, V1).total == OWN_BOND + 30_000  # era 1 counts bob
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[1], 3))  # block 3: era 0
    [slash] = offences.UnappliedSlashes.get(ctx.state, 2)
    assert (slash.offender, slash.offence_era) == (V1, 0)
    assert [stake.who for stake in slash.stakes] == [V1]  # era 0's exposure: bob backed nothing then
    run_era(ctx)
    run_era(ctx)
    assert staking.Ledger.get(ctx.state, BOB) == StakingLedger(30_000, ())
    assert staking.Ledger.get(ctx.state, V1).total < OWN_BOND
    # Era 0 has left the window (3 − 1 = 2 eras: eras 2 and 3 now): too old to report.
    assert_noop(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[2], 4), offences.OutsideSlashingWindow)
    assert RUNTIME.try_state(ctx.state) == []


def test_one_slash_per_offender_kind_and_era_even_once_applied() -> None:
    """A second equivocation in the same era, reported after the first's slash applied, is
    recorded (never reported twice) but takes nothing more."""
    ctx = new_ext(slashDeferEras=0)
    staking.PARAMETERS.storage.put(ctx.state, replace(staking.get_parameters(ctx.state), bonding_duration_eras=3))
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[1], 2))
    run_era(ctx)  # the slash applies at the end of era 0
    after_first = staking.Ledger.get(ctx.state, V1).total
    assert after_first < OWN_BOND
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[1], 3))  # another slot of era 0
    assert offences.Reports.contains(ctx.state, OffenceId(offences.KIND_BLOCK_EQUIVOCATION, V1, (3,)))
    run_era(ctx)
    assert staking.Ledger.get(ctx.state, V1).total == after_first
    assert RUNTIME.try_state(ctx.state) == []


def test_a_pending_slash_cannot_be_escaped_by_shortening_the_bonding_duration() -> None:
    """The audit's escape: with a slash waiting for the end of era 1, governance sets the deferral
    to 0, then the bonding duration to 1, and a delegator unbonds and withdraws before the slash
    applies. The second change is now refused: it would let exposed stake leave in time."""
    ctx = new_ext(slashDeferEras=1)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[1], 2))
    assert offences.UnappliedSlashes.get(ctx.state, 1)
    dispatch(ctx, ROOT, offences.PARAMETERS.call_args(replace(offences.get_parameters(ctx.state), slash_defer_eras=0)))
    shorter = staking.PARAMETERS.call_args(replace(staking.get_parameters(ctx.state), bonding_duration_eras=1))
    assert_noop(ctx, ROOT, shorter, staking.BadParameters)
    run_era(ctx)
    run_era(ctx)  # the slash has applied: now the duration may shrink
    dispatch(ctx, ROOT, shorter)


# --- boundaries and invariants the mutation pass found unpinned (docs/testing.md) ---------


def full_message(text: str) -> str:
    """A ``match=`` pattern for exactly ``text``."""
    import re

    return f"^{re.escape(text)}$"


@pytest.mark.parametrize(
    "field",
    [
        "reporterRewardPerbill",
        "minBlockEquivocationPerbill",
        "minVoteEquivocationPerbill",
        "minUnresponsivenessPerbill",
        "maxUnresponsivenessPerbill",
    ],
)
def test_genesis_messages_name_the_perbill_field(field: str) -> None:
    with pytest.raises(
        ValueError, match=full_message(f"offences.{field} is 1000000001, outside 0..1000000000 (parts per 10^9)")
    ):
        new_ext(**{field: PERBILL_ACCURACY + 1})


def test_unresponsiveness_minimum_may_equal_its_cap() -> None:
    new_ext(minUnresponsivenessPerbill=5, maxUnresponsivenessPerbill=5)
    with pytest.raises(
        ValueError, match=full_message("offences.minUnresponsivenessPerbill exceeds maxUnresponsivenessPerbill")
    ):
        new_ext(minUnresponsivenessPerbill=6, maxUnresponsivenessPerbill=5)


def test_correlated_fraction_edges() -> None:
    assert offences.compute_correlated_fraction(0, 1).parts == 0
    assert offences.compute_correlated_fraction(1, 0).parts == PERBILL_ACCURACY


def test_is_reported_reads_the_recorded_offences() -> None:
    ctx = new_ext()
    offence = OffenceId(offences.KIND_BLOCK_EQUIVOCATION, ALICE, (2,))
    assert not offences.is_reported(ctx.state, offence)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    assert offences.is_reported(ctx.state, offence)


def test_the_slashing_window_is_at_least_the_current_era() -> None:
    """Bonding 2, deferral 1: a window of 1 era; evidence from the era before is too old."""
    ctx = new_ext(slashDeferEras=1)
    assert OFFENCES.get_slashing_window(ctx.state) == 1
    run_era(ctx)
    assert_noop(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 3), offences.OutsideSlashingWindow)


def test_evidence_straddling_the_window_is_refused_and_counts_in_the_first_ones_era() -> None:
    """Two headers for one slot with numbers in different eras: both must be in the window (bonding
    3, deferral 1: the current era and the one before), and the offence is the first's era's."""
    ctx = new_ext(slashDeferEras=1)
    staking.PARAMETERS.storage.put(ctx.state, replace(staking.get_parameters(ctx.state), bonding_duration_eras=3))
    run_era(ctx)  # era 1 now; eras 0 and 1 in the window
    future = ERA_LENGTH * 2 + 1  # a block of era 2
    for first, second in ((7, future), (future, 7)):
        evidence = BlockEquivocation(
            make_header(ALICE_KEY, first, slot=7), make_header(ALICE_KEY, second, slot=7, root=2)
        )
        assert_noop(ctx, Origin.signed(DAVE), ReportEquivocationArgs(evidence), offences.OutsideSlashingWindow)
    for first, second in ((future, 7), (7, future)):
        vote = FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([1]) * 32, first)
        other = FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([2]) * 32, second)
        evidence = VoteEquivocation(
            sign_finality_vote(vote, ALICE_KEY, TEST_GENESIS_HASH),
            sign_finality_vote(other, ALICE_KEY, TEST_GENESIS_HASH),
        )
        assert_noop(ctx, Origin.signed(DAVE), ReportEquivocationArgs(evidence), offences.OutsideSlashingWindow)
    evidence = BlockEquivocation(make_header(ALICE_KEY, 3, slot=7), make_header(ALICE_KEY, 7, slot=7, root=2))
    dispatch(ctx, Origin.signed(DAVE), ReportEquivocationArgs(evidence))
    assert events_of(ctx)[-1].era == 0  # block 3 is in era 0, block 7 in era 1


def test_a_vote_equivocation_punishes_the_validator_owning_the_signing_key() -> None:
    """Votes are signed with session keys: with keys distinct from the validators' accounts, the
    offender is the key's owner."""
    signing = [named_keypair(f"signing-{index}") for index in range(len(VALIDATORS))]
    authorities = [
        [encode_address(validator), encode_address(key.public_key), "0x" + key.public_key.hex()]
        for validator, key in zip(VALIDATORS, signing, strict=True)
    ]
    ctx = new_test_ext(
        accounts=[(TREASURY_ACCOUNT, ED), (CONSENSUS_REWARD_POOL_ACCOUNT, ED)],
        endowed=(*VALIDATORS, DAVE),
        balance=BALANCE,
        existential_deposit=ED,
        authorities=authorities,
        stakers=tuple((who, OWN_BOND, 0) for who in VALIDATORS),
        config={"staking": {**STAKING_SECTION}, "offences": OFFENCES_SECTION},
        author=ALICE,
    )
    vote = FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([1]) * 32, 2)
    other = FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([2]) * 32, 3)
    evidence = VoteEquivocation(
        sign_finality_vote(vote, signing[1], TEST_GENESIS_HASH),
        sign_finality_vote(other, signing[1], TEST_GENESIS_HASH),
    )
    dispatch(ctx, Origin.signed(DAVE), ReportEquivocationArgs(evidence))
    assert events_of(ctx)[-1] == offences.OffenceRecorded(offences.KIND_VOTE_EQUIVOCATION, V1, 0, 9 * PERCENT, 1)


def test_another_pallets_report_is_checked_against_the_current_era() -> None:
    ctx = new_ext()
    run_era(ctx)
    OFFENCES.report_offence(ctx, offences.KIND_BLOCK_EQUIVOCATION, V1, (7,), DAVE)
    assert events_of(ctx)[-1] == offences.OffenceRecorded(offences.KIND_BLOCK_EQUIVOCATION, V1, 1, 10 * PERCENT, 2)
    with pytest.raises(offences.NotPunishable):
        OFFENCES.report_offence(ctx, offences.KIND_BLOCK_EQUIVOCATION, BOB, (7,), DAVE)


def filler(count: int, era: int) -> tuple[tuple[offences.UnappliedSlash, ...], tuple[offences.KindOffender, ...]]:
    """``count`` unresponsiveness slashes of made-up offenders in ``era``, and their entries."""
    offenders = [(1_000_000 + index).to_bytes(32, "big") for index in range(count)]
    slashes = tuple(offences.UnappliedSlash(who, offences.KIND_UNRESPONSIVENESS, era, 0, None, ()) for who in offenders)
    return slashes, tuple(offences.KindOffender(offences.KIND_UNRESPONSIVENESS, who) for who in offenders)


def test_at_most_max_slashes_per_era_wait_and_are_recorded() -> None:
    """Either list reaching MAX_SLASHES_PER_ERA refuses a further slash; one below admits it."""
    limit = offences.MAX_SLASHES_PER_ERA
    for waiting, recorded in ((limit, 0), (0, limit), (limit - 1, limit - 1)):
        ctx = new_ext(slashDeferEras=1)
        slashes, entries = filler(max(waiting, recorded), 0)
        if waiting:
            offences.UnappliedSlashes.put(ctx.state, 1, slashes[:waiting])
        if recorded:
            offences.SlashedInEra.put(ctx.state, 0, entries[:recorded])
        if waiting == limit or recorded == limit:
            assert_noop(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2), offences.TooManySlashes)
        else:
            dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
            assert len(offences.UnappliedSlashes.get(ctx.state, 1)) == limit


def test_a_new_offender_raises_only_the_waiting_slashes_of_its_kind_and_era() -> None:
    """A vote equivocation and a block equivocation of era 0 keep their fractions when two block
    equivocations of era 1 come in (of the 8 validators elected for era 1, the two era-0
    offenders chilled: (3 × 2 / 8)² = 56.25 %)."""
    ctx = new_ext(slashDeferEras=1, minBlockEquivocationPerbill=0, minVoteEquivocationPerbill=0)
    staking.PARAMETERS.storage.put(ctx.state, replace(staking.get_parameters(ctx.state), bonding_duration_eras=3))
    vote = FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([1]) * 32, 2)
    other = FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([2]) * 32, 3)
    votes = VoteEquivocation(
        sign_finality_vote(vote, ALICE_KEY, TEST_GENESIS_HASH), sign_finality_vote(other, ALICE_KEY, TEST_GENESIS_HASH)
    )
    dispatch(ctx, Origin.signed(DAVE), ReportEquivocationArgs(votes))  # vote, era 0: 9 %
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[1], 2))  # block, era 0: 9 %
    run_era(ctx)
    for index in (2, 3):  # block, era 1: two offenders
        dispatch(ctx, Origin.signed(DAVE), block_equivocation(VALIDATOR_KEYS[index], ERA_LENGTH + 2))
    fractions = {
        (slash.kind, slash.offence_era, slash.offender): slash.fraction_parts
        for _, slashes in offences.UnappliedSlashes.iter(ctx.state)
        for slash in slashes
    }
    assert fractions == {
        (offences.KIND_VOTE_EQUIVOCATION, 0, ALICE): 9 * PERCENT,
        (offences.KIND_BLOCK_EQUIVOCATION, 0, V1): 9 * PERCENT,
        (offences.KIND_BLOCK_EQUIVOCATION, 1, VALIDATORS[2]): 562_500_000,
        (offences.KIND_BLOCK_EQUIVOCATION, 1, VALIDATORS[3]): 562_500_000,
    }


def test_no_reward_event_when_the_reward_rounds_to_zero() -> None:
    ctx = new_ext(slashDeferEras=0, reporterRewardPerbill=0)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    events = run_era(ctx)
    assert any(isinstance(event, offences.SlashApplied) for event in events)
    assert not any(isinstance(event, offences.ReporterRewarded) for event in events)


def test_unresponsiveness_skips_who_has_no_stake_or_is_recorded_already() -> None:
    ctx = new_ext(minUnresponsivenessPerbill=PERCENT, maxUnresponsivenessPerbill=PERCENT)
    OFFENCES.record_unresponsive(ctx, 0, [BOB])  # not elected: nothing at stake
    OFFENCES.record_unresponsive(ctx, 0, [V1])
    OFFENCES.record_unresponsive(ctx, 0, [V1])  # recorded already
    recorded = [event for event in events_of(ctx) if isinstance(event, offences.OffenceRecorded)]
    assert [event.offender for event in recorded] == [V1]


def test_an_era_leaves_the_slashed_record_as_it_leaves_the_window() -> None:
    """Window 2 (bonding 3, deferral 1): era 0's record goes at the end of era 1, not before."""
    ctx = new_ext(slashDeferEras=1)
    staking.PARAMETERS.storage.put(ctx.state, replace(staking.get_parameters(ctx.state), bonding_duration_eras=3))
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    run_era(ctx)
    assert [era for era, _ in offences.SlashedInEra.iter(ctx.state)] == [0]
    run_era(ctx)
    assert list(offences.SlashedInEra.iter(ctx.state)) == []


def offences_problems(ctx: DispatchContext) -> list[str]:
    return OFFENCES.try_state(ctx.state)


def test_invariants_report_each_malformed_slash_exactly() -> None:
    ctx = new_ext(slashDeferEras=1)
    dispatch(ctx, Origin.signed(DAVE), block_equivocation(ALICE_KEY, 2))
    (slash,) = offences.UnappliedSlashes.get(ctx.state, 1)
    where = f"the slash of {ALICE.hex()} (kind 0, era 0)"
    for broken, problem in (
        (replace(slash, fraction_parts=PERBILL_ACCURACY + 1), f"{where} is malformed"),
        (replace(slash, stakes=()), f"{where} does not start with the offender's own stake"),
        (replace(slash, stakes=(StakeSlash(BOB, 10, 1),)), f"{where} does not start with the offender's own stake"),
        (
            replace(slash, stakes=(StakeSlash(ALICE, OWN_BOND, 1),)),
            f"{where} takes 1 of 20000 exposed by {ALICE.hex()}",
        ),
    ):
        offences.UnappliedSlashes.put(ctx.state, 1, (broken,))
        assert offences_problems(ctx) == [problem]
    # An unknown kind is also missing from its era's record.
    offences.UnappliedSlashes.put(ctx.state, 1, (replace(slash, kind=9),))
    assert offences_problems(ctx) == [
        f"a waiting slash of {ALICE.hex()} is not recorded for its era",
        f"the slash of {ALICE.hex()} (kind 9, era 0) is malformed",
    ]
    # An offence in the era it applies at the end of (no deferral) is well formed.
    offences.UnappliedSlashes.put(ctx.state, 0, (slash,))
    offences.UnappliedSlashes.remove(ctx.state, 1)
    assert offences_problems(ctx) == []
    offences.UnappliedSlashes.put(ctx.state, 0, (replace(slash, offence_era=1),))
    assert offences_problems(ctx) == [
        f"a waiting slash of {ALICE.hex()} is not recorded for its era",
        f"the slash of {ALICE.hex()} (kind 0, era 1) is malformed",
    ]


def test_invariants_report_a_waiting_slash_missing_from_its_eras_record() -> None:
    """From the oldest era of the window on, a waiting slash must be in its era's record."""
    ctx = new_ext(slashDeferEras=1)
    staking.PARAMETERS.storage.put(ctx.state, replace(staking.get_parameters(ctx.state), bonding_duration_eras=3))
    run_era(ctx)  # era 1: the window holds eras 0 and 1
    OFFENCES.report_offence(ctx, offences.KIND_BLOCK_EQUIVOCATION, V1, (7,), None)
    (slash,) = offences.UnappliedSlashes.get(ctx.state, 2)
    assert offences_problems(ctx) == []
    in_oldest = replace(slash, offence_era=0, stakes=())
    offences.UnappliedSlashes.put(ctx.state, 2, (in_oldest,))
    problems = offences_problems(ctx)
    assert f"a waiting slash of {V1.hex()} is not recorded for its era" in problems
    staking.CurrentEra.put(ctx.state, 2)  # era 0 has left the window: no record needed
    offences.UnappliedSlashes.put(ctx.state, 2, (replace(slash, offence_era=0),))
    offences.SlashedInEra.remove(ctx.state, 1)
    assert offences_problems(ctx) == []

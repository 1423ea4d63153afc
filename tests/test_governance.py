"""The governance pallet: proposals, flags, votes, enactment with the root origin, the
parameter-change calls of the other pallets, genesis and invariants.

Unless a test says otherwise: ED = 1,000; ten validators (alice and nine others) bond 20,000
each of their 100,000; bob, charlie and dave hold 100,000; the treasury 100,000. Governance:
a stake of at least 5,000, a 2-block flag period with a threshold of 50,000 (a flagged stake is
burned), a 3-block voting period with a quorum of 30,000 and an approval threshold of 50 %, an
enactment delay of 1 block and a proposal reward of 1,000. A proposal made in block 1 can be
flagged in blocks 1–3, voted on in blocks 4–6, and is enacted at the end of block 7.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from test_offences import OFFENCES_SECTION, STAKING_SECTION, block_equivocation

from genesis.spec import build_genesis_state as build_spec_state
from genesis.spec import load_chain_spec
from runtime.accounts import (
    BURN_ACCOUNT,
    CONSENSUS_REWARD_POOL_ACCOUNT,
    EMISSION_RESERVE_ACCOUNT,
    FLOCK,
    ML_REWARD_POOL_ACCOUNT,
    TREASURY_ACCOUNT,
)
from runtime.block import encode_extrinsic, sign_extrinsic
from runtime.construct import PALLET_INDICES
from runtime.executive import Executive
from runtime.framework.pallet import ROOT, BadOrigin, DispatchContext
from runtime.framework.traits import InsufficientBalance, LiquidityRestrictions
from runtime.framework.weights import CURRENCY_WEIGHT, READ_WEIGHT
from runtime.pallets import balances, emission, governance, offences, staking, system, transaction_payment, treasury
from runtime.pallets.balances import TransferArgs
from runtime.pallets.governance import (
    HOLD_FLAG,
    HOLD_PROPOSAL,
    VOTE_ABSTAIN,
    VOTE_AYE,
    VOTE_LOCK_ID,
    VOTE_NAY,
    FlagArgs,
    GovernanceParameters,
    ProposeArgs,
    VoteArgs,
)
from runtime.pallets.offences import CancelDeferredSlashArgs
from runtime.pallets.staking import BondArgs, UnbondArgs
from runtime.primitives.address import encode_address
from runtime.primitives.arithmetic import PERBILL_ACCURACY
from runtime.primitives.hashing import blake2b_256
from runtime_helpers import (
    BALANCES,
    GOVERNANCE,
    RUNTIME,
    STAKING,
    TEST_AUTHORITY,
    TEST_GENESIS_HASH,
    DictState,
    assert_noop,
    at_block,
    build_genesis_state,
    dispatch,
    execute_block,
    finalize_hooks,
    named_keypair,
    new_test_ext,
)

EXECUTIVE = Executive(RUNTIME, TEST_GENESIS_HASH)
ALICE_KEY = named_keypair("alice")
VALIDATOR_KEYS = (ALICE_KEY, *(named_keypair(f"validator-{index}") for index in range(1, 10)))
VALIDATORS = tuple(key.public_key for key in VALIDATOR_KEYS)
ALICE, V1, V2 = VALIDATORS[:3]
BOB_KEY, CHARLIE_KEY, DAVE_KEY = (named_keypair(name) for name in ("bob", "charlie", "dave"))
BOB, CHARLIE, DAVE = (key.public_key for key in (BOB_KEY, CHARLIE_KEY, DAVE_KEY))
ED = 1_000
PERCENT = 10_000_000  # Perbill parts
OWN_BOND = 20_000
BALANCE = 100_000
STAKE = 5_000
DESCRIPTION = blake2b_256(b"lower the fees")
GOVERNANCE_SECTION = {
    "proposalStake": STAKE,
    "flagPeriodBlocks": 2,
    "flagThreshold": 50_000,
    "flaggedStakeToTreasury": False,
    "votingPeriodBlocks": 3,
    "quorum": 30_000,
    "approvalThresholdPerbill": 50 * PERCENT,
    "enactmentDelayBlocks": 1,
    "proposalReward": 1_000,
}
NEW_FEES = transaction_payment.FeeParameters(base_fee=7, length_fee=0, weight_fee=0, author_share_parts=0)


def new_ext(**governance_overrides: Any) -> DispatchContext:
    """Block 1 over the genesis the module docstring describes."""
    return new_test_ext(
        accounts=[(TREASURY_ACCOUNT, BALANCE), (CONSENSUS_REWARD_POOL_ACCOUNT, ED)],
        endowed=(*VALIDATORS, BOB, CHARLIE, DAVE),
        balance=BALANCE,
        existential_deposit=ED,
        authorities=VALIDATORS,
        stakers=tuple((who, OWN_BOND, 0) for who in VALIDATORS),
        config={
            "staking": {**STAKING_SECTION, "eraLengthBlocks": 10},  # governance can cancel a slash in time
            "offences": OFFENCES_SECTION,
            "governance": {**GOVERNANCE_SECTION, **governance_overrides},
        },
        author=ALICE,
    )


def held(ctx: DispatchContext, who: bytes, reason: bytes) -> int:
    return BALANCES.get_held(ctx.state, who, reason)


def vote_lock(ctx: DispatchContext, who: bytes) -> int:
    return BALANCES.get_lock(ctx.state, who, VOTE_LOCK_ID)


def finish_blocks(ctx: DispatchContext, until: int) -> tuple[DispatchContext, list[Any]]:
    """Governance's end of the current block and of every block up to ``until``; the context of
    block ``until + 1`` and the events. Every invariant holds after each block."""
    events = []
    for number in range(ctx.block.number, until + 1):
        block = ctx if number == ctx.block.number else at_block(ctx.state, number)
        already = len(block.events)
        GOVERNANCE.on_finalize(block)
        events += [record.event for record in block.event_records()[already:]]
        assert RUNTIME.try_state(ctx.state) == []
    return at_block(ctx.state, until + 1), events


def propose(ctx: DispatchContext, call: Any, who: bytes = BOB, stake: int = STAKE) -> int:
    proposal_id = governance.NextProposalId.get(ctx.state)
    dispatch(ctx, who, ProposeArgs(RUNTIME.encode_call(call), DESCRIPTION, stake))
    return proposal_id


def to_voting(ctx: DispatchContext, call: Any, who: bytes = BOB) -> tuple[DispatchContext, int]:
    """Propose ``call`` in the current block and run to the first block of its voting period."""
    proposal_id = propose(ctx, call, who)
    ctx, _ = finish_blocks(ctx, governance.Proposals.get(ctx.state, proposal_id).deadline)
    return ctx, proposal_id


def free(ctx: DispatchContext, who: bytes) -> int:
    return BALANCES.get_free_balance(ctx.state, who)


def usable(ctx: DispatchContext, who: bytes) -> int:
    return BALANCES.get_usable_balance(ctx.state, who)


def events_of(ctx: DispatchContext) -> list[Any]:
    return [record.event for record in ctx.event_records()]


# --- the lifecycle ------------------------------------------------------------------------


def test_an_approved_proposal_is_enacted_after_the_delay_and_rewarded() -> None:
    """Bob proposes new fees in block 1; flagging ends with block 3, voting (blocks 4–6) ends
    with block 6: 40,000 aye, 10,000 nay, 5,000 abstaining. The fees change at the end of
    block 7; bob gets his stake back when voting ends and the reward when it is enacted."""
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    assert events_of(ctx)[-1] == governance.Proposed(proposal_id, BOB, STAKE, DESCRIPTION, 3)
    assert free(ctx, BOB) == BALANCE - STAKE
    assert held(ctx, BOB, HOLD_PROPOSAL) == STAKE
    ctx, events = finish_blocks(ctx, 3)
    assert events == [governance.VotingStarted(proposal_id, 6)]

    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 40_000))
    dispatch(ctx, DAVE, VoteArgs(proposal_id, VOTE_NAY, 10_000))
    dispatch(ctx, V1, VoteArgs(proposal_id, VOTE_ABSTAIN, 5_000))
    assert usable(ctx, CHARLIE) == BALANCE - 40_000
    assert [vote_lock(ctx, who) for who in (CHARLIE, DAVE, V1)] == [40_000, 10_000, 5_000]
    ctx, events = finish_blocks(ctx, 6)
    assert events[-1] == governance.Approved(proposal_id, 7)
    assert {who: free(ctx, who) for who in (BOB, CHARLIE, DAVE, V1)} == {
        BOB: BALANCE,
        CHARLIE: BALANCE,
        DAVE: BALANCE,
        V1: BALANCE,
    }
    assert (held(ctx, BOB, HOLD_PROPOSAL), vote_lock(ctx, CHARLIE)) == (0, 0)
    assert transaction_payment.PARAMETERS.get(ctx.state) == transaction_payment.DEFAULT_PARAMETERS

    ctx, events = finish_blocks(ctx, 7)
    assert transaction_payment.PARAMETERS.get(ctx.state) == NEW_FEES
    assert events == [
        transaction_payment.PARAMETERS.event(NEW_FEES),
        governance.Enacted(proposal_id),
        balances.Transfer(TREASURY_ACCOUNT, BOB, 1_000),
        governance.ProposerRewarded(proposal_id, BOB, 1_000),
    ]
    assert free(ctx, BOB) == BALANCE + 1_000
    assert governance.Outcomes.get(ctx.state, proposal_id) == governance.OUTCOME_ENACTED
    assert not governance.Proposals.contains(ctx.state, proposal_id)
    _, events = finish_blocks(ctx, 20)
    assert events == []  # nothing runs twice


def test_a_flagged_proposal_is_rejected_and_its_stake_burned() -> None:
    """Charlie deposits 35,000 with his flag; alice flags with her 20,000 bond alone: 55,000
    reaches the threshold of 50,000. The deposits go back, bob's stake is burned."""
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, FlagArgs(proposal_id, 35_000))
    dispatch(ctx, ALICE, FlagArgs(proposal_id, 0))
    assert events_of(ctx)[-1] == governance.ProposalFlaggedBy(proposal_id, ALICE, OWN_BOND)
    assert free(ctx, CHARLIE) == BALANCE - 35_000
    assert governance.Proposals.get(ctx.state, proposal_id).flag_weight == 55_000
    ctx, events = finish_blocks(ctx, 3)
    assert governance.RejectedByFlags(proposal_id, 55_000, False) in events
    assert governance.Outcomes.get(ctx.state, proposal_id) == governance.OUTCOME_FLAGGED
    assert free(ctx, CHARLIE) == BALANCE
    assert free(ctx, BOB) == BALANCE - STAKE
    assert free(ctx, BURN_ACCOUNT) == STAKE
    assert (held(ctx, BOB, HOLD_PROPOSAL), held(ctx, CHARLIE, HOLD_FLAG)) == (0, 0)
    assert_noop(ctx, DAVE, VoteArgs(proposal_id, VOTE_AYE, 40_000), governance.NoSuchProposal)


def test_a_flagged_stake_goes_to_the_treasury_when_the_parameter_says_so() -> None:
    ctx = new_ext(flaggedStakeToTreasury=True)
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, FlagArgs(proposal_id, 50_000))
    treasury_before = free(ctx, TREASURY_ACCOUNT)
    ctx, events = finish_blocks(ctx, 3)
    assert governance.RejectedByFlags(proposal_id, 50_000, True) in events
    assert free(ctx, TREASURY_ACCOUNT) == treasury_before + STAKE
    assert free(ctx, BURN_ACCOUNT) == 0


def test_flags_below_the_threshold_are_returned_and_voting_starts() -> None:
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, FlagArgs(proposal_id, 29_999))
    dispatch(ctx, ALICE, FlagArgs(proposal_id, 0))
    ctx, events = finish_blocks(ctx, 3)
    assert events[-1] == governance.VotingStarted(proposal_id, 6)
    assert free(ctx, CHARLIE) == BALANCE
    assert governance.Flags.get(ctx.state, proposal_id) == ()


def test_a_proposal_below_quorum_fails_and_returns_stake_and_votes() -> None:
    ctx = new_ext()
    ctx, proposal_id = to_voting(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 20_000))
    dispatch(ctx, DAVE, VoteArgs(proposal_id, VOTE_ABSTAIN, 9_999))
    ctx, events = finish_blocks(ctx, 6)
    assert events[-1] == governance.QuorumNotReached(proposal_id, 29_999)
    assert governance.Outcomes.get(ctx.state, proposal_id) == governance.OUTCOME_NO_QUORUM
    assert {who: free(ctx, who) for who in (BOB, CHARLIE, DAVE)} == {BOB: BALANCE, CHARLIE: BALANCE, DAVE: BALANCE}
    assert transaction_payment.PARAMETERS.get(ctx.state) == transaction_payment.DEFAULT_PARAMETERS
    _, events = finish_blocks(ctx, 10)
    assert events == []


def test_a_proposal_rejected_by_vote_is_not_enacted() -> None:
    """20,000 aye against 20,000 nay: not more than half of aye + nay (abstentions count
    towards the quorum only)."""
    ctx = new_ext()
    ctx, proposal_id = to_voting(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 20_000))
    dispatch(ctx, DAVE, VoteArgs(proposal_id, VOTE_NAY, 20_000))
    dispatch(ctx, V1, VoteArgs(proposal_id, VOTE_ABSTAIN, 50_000))
    ctx, events = finish_blocks(ctx, 10)
    assert governance.RejectedByVote(proposal_id, 20_000, 20_000) in events
    assert governance.Outcomes.get(ctx.state, proposal_id) == governance.OUTCOME_REJECTED
    assert free(ctx, BOB) == BALANCE
    assert transaction_payment.PARAMETERS.get(ctx.state) == transaction_payment.DEFAULT_PARAMETERS


def test_approval_is_aye_strictly_above_the_threshold_share() -> None:
    parameters = GovernanceParameters(1, 1, 0, False, 1, 0, 50 * PERCENT, 0, 0)
    assert not governance.is_approved(parameters, 1, 1)
    assert governance.is_approved(parameters, 2, 1)
    assert not governance.is_approved(parameters, 0, 0)
    assert governance.is_approved(replace(parameters, approval_threshold_parts=0), 1, 10**6)
    assert not governance.is_approved(replace(parameters, approval_threshold_parts=PERBILL_ACCURACY), 10**6, 0)


def test_an_enacted_cancellation_of_a_deferred_slash() -> None:
    """Dave reports alice's equivocation in era 0: her slash waits for the end of era 1. The
    DAO cancels it before then; the staking era-end applies nothing for her."""
    ctx = new_ext()
    dispatch(ctx, DAVE, block_equivocation(ALICE_KEY, 1))
    assert len(offences.UnappliedSlashes.get(ctx.state, 1)) == 1
    ctx, proposal_id = to_voting(ctx, CancelDeferredSlashArgs(1, (0,)))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 40_000))
    ctx, events = finish_blocks(ctx, 7)
    assert offences.SlashCancelled(1, ALICE, offences.KIND_BLOCK_EQUIVOCATION) in events
    assert governance.Enacted(proposal_id) in events
    assert offences.UnappliedSlashes.get(ctx.state, 1) == ()
    ledger_before = staking.Ledger.get(ctx.state, ALICE)
    for number in range(8, 11):  # the rest of era 1: it ends at block 10
        STAKING.on_finalize(at_block(ctx.state, number))
    assert staking.Ledger.get(ctx.state, ALICE) == ledger_before
    assert RUNTIME.try_state(ctx.state) == []


def test_a_failing_enacted_call_is_recorded_by_an_event_not_a_failed_block() -> None:
    """A treasury spend of more than the treasury holds: the call fails at enactment, the
    proposal is closed as failed, nothing is spent and nobody is rewarded."""
    ctx = new_ext()
    ctx, proposal_id = to_voting(ctx, treasury.SpendArgs(DAVE, 10 * BALANCE))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 40_000))
    treasury_before = free(ctx, TREASURY_ACCOUNT)
    ctx, events = finish_blocks(ctx, 7)
    assert events[-1] == governance.EnactmentFailed(
        proposal_id, PALLET_INDICES["treasury"], treasury.InsufficientFunds.code
    )
    assert governance.Outcomes.get(ctx.state, proposal_id) == governance.OUTCOME_ENACTMENT_FAILED
    assert free(ctx, TREASURY_ACCOUNT) == treasury_before
    assert free(ctx, DAVE) == BALANCE


def test_an_enacted_treasury_spend_and_a_validator_count_change() -> None:
    ctx = new_ext(proposalReward=0)
    spend = propose(ctx, treasury.SpendArgs(DAVE, 10_000))
    new_staking = replace(staking.get_parameters(ctx.state), validator_count=5)
    count = propose(ctx, staking.PARAMETERS.call_args(new_staking), who=CHARLIE)
    ctx, _ = finish_blocks(ctx, 3)
    dispatch(ctx, V1, VoteArgs(spend, VOTE_AYE, 40_000))
    dispatch(ctx, V2, VoteArgs(count, VOTE_AYE, 40_000))
    ctx, events = finish_blocks(ctx, 7)
    assert [event for event in events if isinstance(event, governance.Enacted)] == [
        governance.Enacted(spend),
        governance.Enacted(count),
    ]
    assert free(ctx, DAVE) == BALANCE + 10_000
    assert staking.get_parameters(ctx.state).validator_count == 5
    assert len(staking.Elected.get(ctx.state)) == 10  # the new count applies from the next election
    for number in range(8, 11):
        finalize_hooks(ctx, ("staking", "session"), number, ALICE)
    assert len(staking.Elected.get(ctx.state)) == 5
    assert RUNTIME.try_state(ctx.state) == []


def test_governance_may_change_its_own_parameters() -> None:
    ctx = new_ext()
    new_parameters = replace(governance.get_parameters(ctx.state), quorum=1)
    ctx, proposal_id = to_voting(ctx, governance.PARAMETERS.call_args(new_parameters))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 40_000))
    ctx, events = finish_blocks(ctx, 7)
    assert governance.PARAMETERS.event(new_parameters) in events
    assert governance.get_parameters(ctx.state) == new_parameters


# --- bad input: refused with a clear error, nothing changed -------------------------------


@pytest.mark.parametrize(
    "call",
    [
        TransferArgs(BOB, 1),
        BondArgs(10_000),
        offences.ReportEquivocationUnsignedArgs(block_equivocation(ALICE_KEY, 1).evidence),
    ],
    ids=["balances.transfer", "staking.bond", "offences.report_equivocation_unsigned"],
)
def test_proposing_a_call_governance_may_not_make_is_refused(call: Any) -> None:
    ctx = new_ext()
    with pytest.raises(governance.CallNotAllowed, match="governance may not call"):
        dispatch(ctx, BOB, ProposeArgs(RUNTIME.encode_call(call), DESCRIPTION, STAKE))
    assert_noop(ctx, BOB, ProposeArgs(RUNTIME.encode_call(call), DESCRIPTION, STAKE), governance.CallNotAllowed)


def test_proposing_bytes_that_are_no_call_is_refused() -> None:
    ctx = new_ext()
    assert_noop(ctx, BOB, ProposeArgs(b"\x93\x63\x00\x01", DESCRIPTION, STAKE), governance.UndecodableCall)


def test_proposing_with_too_small_a_stake_or_locked_funds_is_refused() -> None:
    ctx = new_ext()
    fees = RUNTIME.encode_call(transaction_payment.PARAMETERS.call_args(NEW_FEES))
    assert_noop(ctx, BOB, ProposeArgs(fees, DESCRIPTION, STAKE - 1), governance.StakeTooLow)
    assert_noop(ctx, BOB, ProposeArgs(fees, DESCRIPTION, BALANCE + 1), governance.InsufficientBalance)
    # Alice's 20,000 bond is locked by staking: she can stake at most her other 80,000.
    assert_noop(ctx, ALICE, ProposeArgs(fees, DESCRIPTION, 90_000), governance.FundsLockedElsewhere)


def test_a_stake_stays_in_its_owners_account_on_hold() -> None:
    """A proposal may hold all of its proposer's free funds: they stay in the account (alive),
    held, and cannot be spent until the proposal is decided."""
    ctx = new_ext()
    propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES), stake=BALANCE)
    info = system.get_account(ctx.state, BOB)
    assert (info.free, info.reserved) == (0, BALANCE)
    assert_noop(ctx, BOB, balances.TransferArgs(CHARLIE, 1), InsufficientBalance)


def test_voting_twice_is_refused() -> None:
    ctx = new_ext()
    ctx, proposal_id = to_voting(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 10_000))
    assert_noop(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_NAY, 10_000), governance.AlreadyVoted)
    assert_noop(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 5_000), governance.AlreadyVoted)


def test_bonded_tokens_vote_and_one_lock_covers_every_open_vote() -> None:
    """V1 holds 100,000 of which 20,000 are bonded. Locks overlap (as Substrate's do): its whole
    free balance may vote, bond included, on each open proposal; one vote lock, the largest
    vote, covers them all, and falls as each voting period ends. Locked tokens cannot move, so
    they cannot vote again in another account's name."""
    ctx = new_ext()
    first = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    second = propose(ctx, treasury.SpendArgs(DAVE, 1), who=CHARLIE)
    ctx, _ = finish_blocks(ctx, 3)
    assert usable(ctx, V1) == 80_000
    assert_noop(ctx, V1, VoteArgs(first, VOTE_AYE, BALANCE + 1), governance.InsufficientBalance)
    dispatch(ctx, V1, VoteArgs(first, VOTE_AYE, BALANCE))  # the 20,000 bonded vote too
    dispatch(ctx, V1, VoteArgs(second, VOTE_NAY, 30_000))  # the same tokens, another proposal
    assert vote_lock(ctx, V1) == BALANCE
    assert free(ctx, V1) == BALANCE and usable(ctx, V1) == 0
    assert_noop(ctx, V1, TransferArgs(DAVE, ED), LiquidityRestrictions)
    proposals = [governance.Proposals.get(ctx.state, proposal_id) for proposal_id in (first, second)]
    assert [(proposal.aye, proposal.nay) for proposal in proposals] == [(BALANCE, 0), (0, 30_000)]
    ctx, _ = finish_blocks(ctx, 6)  # both voting periods end together here
    assert vote_lock(ctx, V1) == 0 and usable(ctx, V1) == 80_000


def test_flagging_after_the_flag_period_is_refused() -> None:
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    ctx, _ = finish_blocks(ctx, 2)
    dispatch(ctx, CHARLIE, FlagArgs(proposal_id, 1_000))  # block 3: the last of the flag period
    ctx, _ = finish_blocks(ctx, 3)
    assert_noop(ctx, DAVE, FlagArgs(proposal_id, 1_000), governance.FlagPeriodOver)
    assert_noop(ctx, ALICE, FlagArgs(proposal_id, 0), governance.FlagPeriodOver)


def test_other_bad_flags_and_votes_are_refused() -> None:
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    assert_noop(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 10_000), governance.NotVoting)
    assert_noop(ctx, CHARLIE, FlagArgs(proposal_id + 1, 1_000), governance.NoSuchProposal)
    assert_noop(ctx, CHARLIE, FlagArgs(proposal_id, 0), governance.NothingToFlagWith)  # no bond, no deposit
    assert_noop(ctx, CHARLIE, FlagArgs(proposal_id, ED - 1), governance.AmountTooSmall)
    dispatch(ctx, CHARLIE, FlagArgs(proposal_id, 1_000))
    assert_noop(ctx, CHARLIE, FlagArgs(proposal_id, 1_000), governance.AlreadyFlagged)
    ctx, _ = finish_blocks(ctx, 3)
    assert_noop(ctx, DAVE, VoteArgs(proposal_id, 3, 10_000), governance.BadVote)
    assert_noop(ctx, DAVE, VoteArgs(proposal_id, VOTE_AYE, ED - 1), governance.AmountTooSmall)


def test_only_the_root_origin_changes_parameters() -> None:
    ctx = new_ext()
    for args in (
        transaction_payment.PARAMETERS.call_args(NEW_FEES),
        emission.PARAMETERS.call_args(emission.DEFAULT_PARAMETERS),
        staking.PARAMETERS.call_args(staking.get_parameters(ctx.state)),
        offences.PARAMETERS.call_args(offences.get_parameters(ctx.state)),
        governance.PARAMETERS.call_args(governance.get_parameters(ctx.state)),
    ):
        assert_noop(ctx, BOB, args, BadOrigin)


def test_parameter_changes_are_validated_as_genesis_validates_them() -> None:
    ctx = new_ext()
    staking_parameters = staking.get_parameters(ctx.state)
    offences_parameters = offences.get_parameters(ctx.state)
    governance_parameters = governance.get_parameters(ctx.state)
    refused = [
        (
            transaction_payment.PARAMETERS.call_args(replace(NEW_FEES, author_share_parts=PERBILL_ACCURACY + 1)),
            transaction_payment.BadParameters,
        ),
        (
            emission.PARAMETERS.call_args(emission.EmissionParameters(1, PERBILL_ACCURACY + 1, 0)),
            emission.BadParameters,
        ),
        (staking.PARAMETERS.call_args(replace(staking_parameters, era_length_blocks=20)), staking.BadParameters),
        (staking.PARAMETERS.call_args(replace(staking_parameters, validator_count=0)), staking.BadParameters),
        (
            staking.PARAMETERS.call_args(replace(staking_parameters, validator_count=staking.MAX_VALIDATORS + 1)),
            staking.BadParameters,
        ),
        # a slash waits 1 era: unbonded stake must stay at least 2
        (staking.PARAMETERS.call_args(replace(staking_parameters, bonding_duration_eras=1)), staking.BadParameters),
        (
            staking.PARAMETERS.call_args(replace(staking_parameters, max_commission_parts=PERBILL_ACCURACY + 1)),
            staking.BadParameters,
        ),
        (offences.PARAMETERS.call_args(replace(offences_parameters, slash_defer_eras=2)), offences.BadParameters),
        (
            offences.PARAMETERS.call_args(replace(offences_parameters, reporter_reward_parts=PERBILL_ACCURACY + 1)),
            offences.BadParameters,
        ),
        (
            governance.PARAMETERS.call_args(replace(governance_parameters, voting_period_blocks=0)),
            governance.BadParameters,
        ),
        (
            governance.PARAMETERS.call_args(
                replace(governance_parameters, approval_threshold_parts=PERBILL_ACCURACY + 1)
            ),
            governance.BadParameters,
        ),
        # a slash applies 1 era (10 blocks) after its offence: 3 + 3 + 1 + 2 blocks to cancel it is too slow
        (
            governance.PARAMETERS.call_args(
                replace(governance_parameters, flag_period_blocks=3, enactment_delay_blocks=3)
            ),
            governance.BadParameters,
        ),
    ]
    for args, error in refused:
        assert_noop(ctx, ROOT, args, error)


def test_parameter_changes_apply_through_root() -> None:
    ctx = new_ext()
    new_staking = replace(staking.get_parameters(ctx.state), bonding_duration_eras=4, max_commission_parts=PERCENT)
    new_offences = replace(offences.get_parameters(ctx.state), slash_defer_eras=3, min_block_equivocation_parts=0)
    dispatch(ctx, ROOT, staking.PARAMETERS.call_args(new_staking))
    dispatch(ctx, ROOT, offences.PARAMETERS.call_args(new_offences))
    dispatch(ctx, ROOT, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    assert staking.get_parameters(ctx.state) == new_staking
    assert offences.get_parameters(ctx.state) == new_offences
    assert transaction_payment.PARAMETERS.get(ctx.state) == NEW_FEES
    assert events_of(ctx)[-3:] == [
        staking.PARAMETERS.event(new_staking),
        offences.PARAMETERS.event(new_offences),
        transaction_payment.PARAMETERS.event(NEW_FEES),
    ]


def test_open_proposals_are_bounded() -> None:
    ctx = new_ext(proposalStake=ED)
    fees = transaction_payment.PARAMETERS.call_args(NEW_FEES)
    for _ in range(governance.MAX_OPEN_PROPOSALS):
        propose(ctx, fees, stake=ED)
    assert_noop(ctx, BOB, ProposeArgs(RUNTIME.encode_call(fees), DESCRIPTION, ED), governance.TooManyProposals)


# --- through real blocks: an emission split applied from the next block -------------------

EMISSION_KEYS = {name: named_keypair(name) for name in ("alice", "bob")}


def new_chain() -> DictState:
    """Alice and bob hold 1,000 FLOCK; emission pays 1 FLOCK a day (1,000 units a 1-second
    block here... at 86,400,000 units a day), half to the ML pool."""
    return build_genesis_state(
        RUNTIME,
        [key.public_key for key in EMISSION_KEYS.values()],
        config={
            "balances": {
                "balances": [
                    [encode_address(who), amount]
                    for who, amount in (
                        (TREASURY_ACCOUNT, 1_000 * FLOCK),
                        (EMISSION_RESERVE_ACCOUNT, 1_000_000 * FLOCK),
                        *((key.public_key, 1_000 * FLOCK) for key in EMISSION_KEYS.values()),
                    )
                ],
            },
            "emission": {"dailyEmission": 86_400_000, "monthlyDecayPerbill": 0, "mlSharePerbill": 50 * PERCENT},
            "governance": {**GOVERNANCE_SECTION, "proposalStake": FLOCK, "quorum": FLOCK, "flagThreshold": FLOCK},
        },
    )


def signed(name: str, args: Any, nonce: int) -> bytes:
    xt = sign_extrinsic(EMISSION_KEYS[name], TEST_GENESIS_HASH, nonce=nonce, call=RUNTIME.encode_call(args))
    return encode_extrinsic(xt)


def block_events(state: DictState) -> list[Any]:
    return [record.event for record in RUNTIME.decode_events(system.Events.get(state))]


def test_an_enacted_emission_split_applies_from_the_next_block_through_real_blocks() -> None:
    """Each 1-second block emits 1,000 units, 500 to the ML pool. The DAO raises the ML share to
    80 %: block 7 (whose end enacts it) still pays 500, block 8 pays 800, and emission's
    invariants (the schedule re-based at the change) hold in every block."""
    new_parameters = emission.EmissionParameters(86_400_000, 0, 80 * PERCENT)
    state = new_chain()
    alice = EMISSION_KEYS["alice"].public_key
    proposal = governance.ProposeArgs(
        RUNTIME.encode_call(emission.PARAMETERS.call_args(new_parameters)), DESCRIPTION, FLOCK
    )
    extrinsics_at = {1: [signed("alice", proposal, 0)], 4: [signed("bob", VoteArgs(0, VOTE_AYE, 10 * FLOCK), 0)]}
    ml_parts = {}
    for number in range(1, 9):
        state = execute_block(EXECUTIVE, state, extrinsics_at.get(number, ()), author=TEST_AUTHORITY.public_key)
        events = block_events(state)
        assert not any(isinstance(event, system.ExtrinsicFailed) for event in events), events
        assert RUNTIME.try_state(state) == []
        ml_parts[number] = next((event.ml_part for event in events if isinstance(event, emission.Emitted)), None)
        if number == 7:
            assert governance.Enacted(0) in events
            assert governance.ProposerRewarded(0, alice, 1_000) in events
    assert ml_parts[7] == 500
    assert ml_parts[8] == 800
    assert emission.get_parameters(state) == new_parameters
    assert BALANCES.get_free_balance(state, ML_REWARD_POOL_ACCOUNT) > 0


def test_an_emission_schedule_change_rebases_the_invariant() -> None:
    """After the daily emission doubles, every block pays twice as much and the cumulative
    schedule check still holds (what was emitted before the change, plus E_new since)."""
    state = new_chain()
    for _ in range(3):
        state = execute_block(EXECUTIVE, state)
    ctx = at_block(state, 3)
    dispatch(ctx, ROOT, emission.PARAMETERS.call_args(emission.EmissionParameters(2 * 86_400_000, 0, 50 * PERCENT)))
    state = state.apply(ctx.state.changes)
    assert emission.ScheduleChangedAt.get(state) == 3_000
    state = execute_block(EXECUTIVE, state)
    assert [event for event in block_events(state) if isinstance(event, emission.Emitted)] == [
        emission.Emitted(2_000, 1_000, 1_000)
    ]
    assert RUNTIME.try_state(state) == []
    assert emission.get_scheduled_total(state) == emission.TotalEmitted.get(state) == 4_000


# --- invariants ---------------------------------------------------------------------------


def test_invariants_catch_a_hold_that_does_not_match_the_records_and_a_wrong_tally() -> None:
    ctx = new_ext()
    ctx, proposal_id = to_voting(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 10_000))
    assert GOVERNANCE.try_state(ctx.state) == []
    proposal = governance.Proposals.get(ctx.state, proposal_id)
    governance.Proposals.put(ctx.state, proposal_id, replace(proposal, aye=9_999))
    assert GOVERNANCE.try_state(ctx.state) == [f"proposal {proposal_id}: the tally does not match its votes"]
    governance.Proposals.put(ctx.state, proposal_id, proposal)
    BALANCES.set_lock(ctx, CHARLIE, VOTE_LOCK_ID, 9_999)
    assert GOVERNANCE.try_state(ctx.state) == [f"{CHARLIE.hex()}'s vote lock is 9999, not its largest vote"]
    BALANCES.set_lock(ctx, CHARLIE, VOTE_LOCK_ID, 10_000)
    BALANCES.release(ctx, governance.HOLD_PROPOSAL, BOB, 1)
    assert GOVERNANCE.try_state(ctx.state) == [
        f"{BOB.hex()} holds {STAKE - 1} under {governance.HOLD_PROPOSAL!r}, but governance's records say {STAKE}"
    ]


def test_invariants_catch_a_decided_proposal_that_is_still_open() -> None:
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    governance.Outcomes.put(ctx.state, proposal_id, governance.OUTCOME_ENACTED)
    assert GOVERNANCE.try_state(ctx.state) == [
        f"proposal {proposal_id} is open but was never made or is decided already"
    ]


def test_open_proposal_ids_follow_proposals_and_invariants_catch_a_stale_list() -> None:
    ctx = new_ext()
    first = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    second = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES), who=CHARLIE)
    assert governance.get_open_proposal_ids(ctx.state) == (first, second)
    governance.close(ctx, first, governance.OUTCOME_REJECTED)
    assert governance.get_open_proposal_ids(ctx.state) == (second,)
    assert GOVERNANCE.try_state(ctx.state) == []
    governance.OpenProposalIds.put(ctx.state, ())
    assert GOVERNANCE.try_state(ctx.state) == ["the open proposal ids do not list exactly the open proposals"]


# --- genesis and stability ----------------------------------------------------------------


def test_genesis_export_round_trip() -> None:
    ctx = new_ext()
    exported = RUNTIME.export_genesis(ctx.state)
    assert exported["governance"] == GOVERNANCE_SECTION
    rebuilt = build_genesis_state(RUNTIME, [], config={"governance": exported["governance"]})
    assert RUNTIME.export_genesis(rebuilt)["governance"] == GOVERNANCE_SECTION


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"proposalStake": 0}, "proposalStake"),
        ({"flagPeriodBlocks": 0}, "flagPeriodBlocks"),
        ({"approvalThresholdPerbill": PERBILL_ACCURACY + 1}, "approvalThresholdPerbill"),
    ],
)
def test_genesis_refuses_bad_parameters(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_genesis_state(RUNTIME, [], config={"governance": {**GOVERNANCE_SECTION, **overrides}})


@pytest.mark.parametrize("name", ["dev", "local"])
def test_shipped_specs_carry_a_governance_section_with_short_periods(name: str) -> None:
    spec = load_chain_spec(name)
    section = spec.runtime_genesis["governance"]
    assert section["flagPeriodBlocks"] + section["votingPeriodBlocks"] + section["enactmentDelayBlocks"] <= 50
    state = DictState(build_spec_state(spec))
    assert RUNTIME.export_genesis(state)["governance"] == section


def test_error_codes_and_call_indices_are_stable() -> None:
    assert PALLET_INDICES["governance"] == 9
    assert [(error.__name__, error.code) for error in governance.Governance.ERRORS] == [
        (name, code)
        for code, name in enumerate(
            (
                "CallNotAllowed",
                "UndecodableCall",
                "StakeTooLow",
                "TooManyProposals",
                "NoSuchProposal",
                "FlagPeriodOver",
                "AlreadyFlagged",
                "NotVoting",
                "AlreadyVoted",
                "InsufficientBalance",
                "FundsLockedElsewhere",
                "AmountTooSmall",
                "BadVote",
                "NothingToFlagWith",
                "TooManyFlags",
                "TooManyVotes",
                "BadParameters",
            )
        )
    ]
    assert {index: definition.name for index, definition in governance.Governance.CALLS.items()} == {
        0: "propose",
        1: "flag",
        2: "vote",
        3: "set_parameters",
    }
    # Governance may make exactly the calls their pallets mark governable, all of the root origin.
    governable = {
        (pallet.NAME, definition.name): definition.origin
        for pallet in RUNTIME.pallets.values()
        for definition in pallet.CALLS.values()
        if definition.governable
    }
    assert governable == {
        ("emission", "set_parameters"): "root",
        ("staking", "set_parameters"): "root",
        ("offences", "set_parameters"): "root",
        ("offences", "cancel_deferred_slash"): "root",
        ("transaction_payment", "set_parameters"): "root",
        ("treasury", "spend"): "root",
        ("arena", "set_parameters"): "root",
        ("alliance", "set_parameters"): "root",
        ("governance", "set_parameters"): "root",
    }


def test_a_flag_counts_only_the_bond_that_stays_locked_through_the_flag_period() -> None:
    """The audit's double count: a matured unbonding chunk counted in a flag's weight, was then
    withdrawn, moved and flagged with again (599,990 counted from 300,010 held). Only bond locked
    through the end of the flag period counts now: an unlocking chunk that matures by then
    does not."""
    ctx = new_ext()
    dispatch(ctx, CHARLIE, BondArgs(60_000))
    dispatch(ctx, CHARLIE, UnbondArgs(40_000))  # a chunk for era 0 + 2
    for number in range(1, 21):  # two eras pass: the chunk has matured
        finalize_hooks(ctx, ("staking", "session"), number, ALICE)
    ctx = at_block(ctx.state, 21)
    assert staking.get_ledger(ctx.state, CHARLIE).total == 60_000
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, FlagArgs(proposal_id, 0))
    assert governance.Flags.get(ctx.state, proposal_id)[0].weight == 20_000  # the active bond alone


def test_a_due_deadline_weighs_its_releases_and_the_call_it_may_enact() -> None:
    ctx = new_ext()
    call = transaction_payment.PARAMETERS.call_args(NEW_FEES)
    proposal_id = propose(ctx, call)
    idle = GOVERNANCE.on_initialize(at_block(ctx.state, 2))
    assert idle == READ_WEIGHT  # one open proposal read, nothing due
    ctx, _ = finish_blocks(ctx, 3)
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 40_000))
    dispatch(ctx, DAVE, VoteArgs(proposal_id, VOTE_NAY, 10_000))
    due = GOVERNANCE.on_initialize(at_block(ctx.state, 6))
    call_weight = RUNTIME.decode_call(RUNTIME.encode_call(call)).definition.weight
    assert due > idle + call_weight + 2 * 2 * CURRENCY_WEIGHT  # two votes released, the call enacted
    assert GOVERNANCE.on_initialize(at_block(ctx.state, 5)) == idle


# --- boundaries and invariants the mutation pass found unpinned (docs/testing.md) ---------


def full_message(text: str) -> str:
    """A ``match=`` pattern for exactly ``text``."""
    import re

    return f"^{re.escape(text)}$"


def test_a_single_aye_unit_and_a_full_threshold() -> None:
    parameters = GovernanceParameters(1, 1, 0, False, 1, 0, 50 * PERCENT, 0, 0)
    assert governance.is_approved(parameters, 1, 0)
    governance.check_parameters(replace(parameters, approval_threshold_parts=PERBILL_ACCURACY))


def test_a_slash_exactly_as_late_as_governance_is_fast_can_be_cancelled() -> None:
    """flag 2 + voting 3 + enactment 1 + 2 = 8 blocks: a slash 8 blocks after its offence is in
    time, 7 is not."""
    parameters = GovernanceParameters(1, 2, 0, False, 3, 0, 50 * PERCENT, 1, 0)
    governance.check_cancellable(parameters, 8, 1)
    governance.check_cancellable(parameters, 4, 2)
    with pytest.raises(
        ValueError,
        match=full_message(
            "governance cannot cancel a deferred slash in time: it takes at least 8 blocks "
            "(flagPeriodBlocks + votingPeriodBlocks + enactmentDelayBlocks + 2), but a slash applies "
            "7 blocks after its offence (offences.slashDeferEras × staking.eraLengthBlocks)"
        ),
    ):
        governance.check_cancellable(parameters, 7, 1)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"proposalStake": 0}, "governance.proposalStake must be at least 1"),
        ({"flagPeriodBlocks": 0}, "governance.flagPeriodBlocks and votingPeriodBlocks must be at least 1"),
        ({"votingPeriodBlocks": 0}, "governance.flagPeriodBlocks and votingPeriodBlocks must be at least 1"),
        (
            {"approvalThresholdPerbill": PERBILL_ACCURACY + 1},
            "governance.approvalThresholdPerbill is 1000000001, outside 0..1000000000 (parts per 10^9)",
        ),
    ],
)
def test_genesis_messages_name_the_field(overrides: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=full_message(message)):
        build_genesis_state(RUNTIME, [], config={"governance": {**GOVERNANCE_SECTION, **overrides}})


def test_a_refused_call_is_named_in_the_error() -> None:
    ctx = new_ext()
    with pytest.raises(
        governance.CallNotAllowed,
        match=full_message(
            "governance may not call balances.transfer_allow_death "
            "(only parameter changes, cancelling a deferred slash and treasury spends)"
        ),
    ):
        dispatch(ctx, BOB, ProposeArgs(RUNTIME.encode_call(TransferArgs(BOB, 1)), DESCRIPTION, STAKE))


def test_one_proposer_holds_the_stakes_of_all_its_open_proposals() -> None:
    ctx = new_ext()
    propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    propose(ctx, treasury.SpendArgs(DAVE, 1))
    assert held(ctx, BOB, HOLD_PROPOSAL) == 2 * STAKE
    assert GOVERNANCE.try_state(ctx.state) == []


def test_a_vote_lock_falls_to_the_largest_remaining_vote() -> None:
    """V1 votes 40,000 on the first proposal and 30,000 on the second, whose voting ends a block
    later: when the first's ends the lock falls to 30,000, then to nothing."""
    ctx = new_ext()
    first = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    ctx, _ = finish_blocks(ctx, 1)
    second = propose(ctx, treasury.SpendArgs(DAVE, 1), who=CHARLIE)
    ctx, _ = finish_blocks(ctx, 4)  # block 5: both in their voting periods
    dispatch(ctx, V1, VoteArgs(first, VOTE_AYE, 40_000))
    dispatch(ctx, V1, VoteArgs(second, VOTE_NAY, 30_000))
    ctx, _ = finish_blocks(ctx, 6)  # the first's voting ends with block 6
    assert vote_lock(ctx, V1) == 30_000
    assert governance.VoteLocks.get(ctx.state, V1) == (governance.VoteLock(second, 30_000),)
    ctx, _ = finish_blocks(ctx, 7)
    assert vote_lock(ctx, V1) == 0 and not governance.VoteLocks.contains(ctx.state, V1)


def test_a_turnout_exactly_at_the_quorum_is_enough() -> None:
    ctx = new_ext()
    ctx, proposal_id = to_voting(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, V1, VoteArgs(proposal_id, VOTE_AYE, GOVERNANCE_SECTION["quorum"]))
    ctx, events = finish_blocks(ctx, 6)
    assert not [event for event in events if isinstance(event, governance.QuorumNotReached)]
    assert [event for event in events if isinstance(event, governance.Approved)]


def enact_new_fees(ctx: DispatchContext) -> list[Any]:
    ctx, proposal_id = to_voting(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, V1, VoteArgs(proposal_id, VOTE_AYE, 40_000))
    ctx, events = finish_blocks(ctx, 7)
    assert governance.Enacted(proposal_id) in events
    return events


def test_a_reward_of_one_unit_is_paid() -> None:
    events = enact_new_fees(ctx := new_ext(proposalReward=1))
    assert [event for event in events if isinstance(event, governance.ProposerRewarded)] == [
        governance.ProposerRewarded(0, BOB, 1)
    ]
    assert free(ctx, TREASURY_ACCOUNT) == BALANCE - 1


def test_a_reward_that_would_empty_the_treasury_is_not_paid() -> None:
    events = enact_new_fees(ctx := new_ext(proposalReward=BALANCE))
    assert not [event for event in events if isinstance(event, governance.ProposerRewarded)]
    assert free(ctx, TREASURY_ACCOUNT) == BALANCE


def test_invariants_report_vote_locks_that_do_not_list_the_votes() -> None:
    ctx = new_ext()
    ctx, proposal_id = to_voting(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    dispatch(ctx, CHARLIE, VoteArgs(proposal_id, VOTE_AYE, 10_000))
    governance.VoteLocks.put(ctx.state, CHARLIE, (governance.VoteLock(proposal_id, 9_000),))
    assert GOVERNANCE.try_state(ctx.state) == [
        "the vote locks do not list exactly the votes on open proposals",
        f"{CHARLIE.hex()}'s vote lock is 10000, not its largest vote",
    ]


def test_invariants_report_each_misfiled_proposal_record() -> None:
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    proposal = governance.Proposals.get(ctx.state, proposal_id)
    flag = governance.FlagRecord(CHARLIE, 0, 1)
    governance.Flags.put(ctx.state, 5, (flag,))
    assert GOVERNANCE.try_state(ctx.state) == ["flags are kept for proposal 5, which is not open"]
    governance.Flags.remove(ctx.state, 5)
    governance.Votes.put(ctx.state, 5, (governance.VoteRecord(CHARLIE, VOTE_AYE, 0),))
    assert GOVERNANCE.try_state(ctx.state) == [
        "the vote locks do not list exactly the votes on open proposals",
        "votes are kept for proposal 5, which is not open",
    ]
    governance.Votes.remove(ctx.state, 5)
    governance.Outcomes.put(ctx.state, 1, governance.OUTCOME_REJECTED)  # next id is 1
    assert GOVERNANCE.try_state(ctx.state) == ["proposal 1 has an outcome but was never made"]
    governance.Outcomes.remove(ctx.state, 1)
    unstaked = replace(proposal, stake=0)
    governance.Proposals.put(ctx.state, 1, unstaked)
    governance.OpenProposalIds.put(ctx.state, (proposal_id, 1))
    assert GOVERNANCE.try_state(ctx.state) == ["proposal 1 is open but was never made or is decided already"]


def test_invariants_allow_at_most_max_open_proposals() -> None:
    ctx = new_ext()
    proposal_id = propose(ctx, transaction_payment.PARAMETERS.call_args(NEW_FEES))
    unstaked = replace(governance.Proposals.get(ctx.state, proposal_id), stake=0)
    for extra in range(1, governance.MAX_OPEN_PROPOSALS):
        governance.Proposals.put(ctx.state, extra, unstaked)
    governance.NextProposalId.put(ctx.state, governance.MAX_OPEN_PROPOSALS + 1)
    governance.OpenProposalIds.put(ctx.state, tuple(range(governance.MAX_OPEN_PROPOSALS)))
    assert GOVERNANCE.try_state(ctx.state) == []
    governance.Proposals.put(ctx.state, governance.MAX_OPEN_PROPOSALS, unstaked)
    assert GOVERNANCE.try_state(ctx.state) == [
        f"{governance.MAX_OPEN_PROPOSALS + 1} proposals are open, more than {governance.MAX_OPEN_PROPOSALS}",
        "the open proposal ids do not list exactly the open proposals",
    ]


def test_proposal_problems_one_at_a_time() -> None:
    proposal = governance.Proposal(BOB, b"", bytes(32), 0, 1, governance.STATUS_FLAGGING, 3, 1, 0, 0, 0)
    flag, vote = governance.FlagRecord(CHARLIE, 0, 1), governance.VoteRecord(CHARLIE, VOTE_AYE, 1)
    problems = governance.compute_proposal_problems
    assert problems(7, proposal, (flag,), ()) == []
    assert problems(7, proposal, (flag, flag), ()) == [
        "proposal 7 counts one account's flag or vote twice",
        "proposal 7: flag weight 1 does not match its flags",
    ]
    assert problems(7, replace(proposal, flag_weight=2), (flag,), ()) == [
        "proposal 7: flag weight 2 does not match its flags"
    ]
    voting = replace(proposal, status=governance.STATUS_VOTING, aye=1)
    assert problems(7, voting, (), (vote,)) == []
    assert problems(7, voting, (flag,), (vote,)) == ["proposal 7 keeps flags or votes outside their period"]
    assert problems(7, voting, (), (vote, vote)) == [
        "proposal 7 counts one account's flag or vote twice",
        "proposal 7: the tally does not match its votes",
    ]
    assert problems(7, replace(proposal, flag_weight=0), (), (vote,)) == [
        "proposal 7 keeps flags or votes outside their period"
    ]
    approved = replace(proposal, status=governance.STATUS_APPROVED, flag_weight=0)
    assert problems(7, approved, (), ()) == []
    assert problems(7, replace(approved, stake=1), (), ()) == ["proposal 7 is approved but its stake was not returned"]

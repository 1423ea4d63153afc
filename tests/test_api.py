"""runtime/api.py, the one door into the runtime: the records it returns carry every field of
the state they read, and the extrinsics it builds are the calls they name."""

from __future__ import annotations

from test_offences import ALICE_KEY, block_equivocation
from test_offences import new_ext as new_offences_ext

from runtime import api
from runtime.block import VOTE_STAGE_PRECOMMIT, FinalityVote, UnsignedExtrinsic, decode_extrinsic, sign_finality_vote
from runtime.framework.pallet import Origin
from runtime.pallets import balances, governance, offences
from runtime_helpers import BALANCES, RUNTIME, TEST_GENESIS_HASH, dispatch, named_keypair, new_test_ext

ALICE, BOB = named_keypair("alice").public_key, named_keypair("bob").public_key


def test_equivocation_reports_are_the_unsigned_report_call_with_the_evidence() -> None:
    evidence = block_equivocation(ALICE_KEY, 2).evidence
    xt = decode_extrinsic(api.build_block_equivocation_report(evidence.first, evidence.second))
    assert isinstance(xt, UnsignedExtrinsic)
    assert RUNTIME.decode_call(xt.call).args == offences.ReportEquivocationUnsignedArgs(evidence)
    first, second = (
        sign_finality_vote(FinalityVote(0, 3, VOTE_STAGE_PRECOMMIT, bytes([n]) * 32, n), ALICE_KEY, TEST_GENESIS_HASH)
        for n in (1, 2)
    )
    xt = decode_extrinsic(api.build_vote_equivocation_report(first, second))
    assert RUNTIME.decode_call(xt.call).args == offences.ReportEquivocationUnsignedArgs(
        offences.VoteEquivocation(first, second)
    )


def test_recorded_offences_name_kind_offender_and_era() -> None:
    ctx = new_offences_ext()
    dispatch(ctx, Origin.signed(BOB), block_equivocation(ALICE_KEY, 2))
    assert api.get_recorded_offences(ctx.state) == [
        api.RecordedOffence(offences.KIND_BLOCK_EQUIVOCATION, ALICE_KEY.public_key, 0)
    ]


def test_an_account_view_carries_every_balance() -> None:
    ctx = new_test_ext(accounts=[(ALICE, 10_000)])
    BALANCES.hold(ctx, b"test/stk", ALICE, 3_000)
    BALANCES.set_lock(ctx, ALICE, b"lock0000", 2_000)
    assert api.get_account(ctx.state, ALICE) == api.AccountView(0, 7_000, 3_000, 3_000, 2_000)
    assert api.get_total_issuance(ctx.state) == balances.get_total_issuance(ctx.state) > 0


def test_governance_entries_decode_with_their_defaults() -> None:
    assert api.decode_open_proposal_ids(None) == ()
    assert api.decode_next_proposal_id(None) == 0
    ctx = new_test_ext(accounts=[(ALICE, 10**12)])
    governance.NextProposalId.put(ctx.state, 7)
    governance.OpenProposalIds.put(ctx.state, (3, 5))
    assert api.decode_next_proposal_id(ctx.state.get(governance.NextProposalId.key)) == 7
    assert api.decode_open_proposal_ids(ctx.state.get(governance.OpenProposalIds.key)) == (3, 5)


def test_a_proposal_view_carries_every_field() -> None:
    proposal = governance.Proposal(ALICE, b"\x01\x02", b"\x05" * 32, 11, 12, 9, 13, 14, 15, 16, 17)
    key = api.get_proposal_storage_key(4)
    view = api.decode_proposal(key, proposal.encode())
    assert view == api.ProposalView(
        id=4,
        storage_key=key,
        proposer=ALICE,
        call=b"\x01\x02",
        call_name="undecodable",
        description_hash=b"\x05" * 32,
        stake=11,
        submitted_at=12,
        status="unknown",
        deadline=13,
        flag_weight=14,
        aye=15,
        nay=16,
        abstain=17,
    )

"""governance: the DAO. Holders propose, flag, vote; approved calls run with the root origin.

A proposal's life, in blocks (``s`` is the block it was proposed in; every deadline is handled
in ``on_finalize`` of that block, after the hooks of emission, staking and session)::

    s ............ s + F      flag period: holders flag it as a scam or frivolous
    s + F + 1 .... s + F + V  voting period: aye / nay / abstain
    s + F + V + E             enactment: the call runs with the root origin

1. **propose** ``(call, description_hash, stake)``: ``call`` is the runtime's canonical call
   encoding; only calls their pallet marks governable (``CallDef.governable``: parameter
   changes, cancelling a deferred slash, treasury spends) are accepted, anything else is
   refused at once. ``stake`` (at least ``proposal_stake``) is held (``HOLD_PROPOSAL``) until
   the proposal is decided.
2. **flag** ``(id, deposit)``: a flag weighs ``deposit + bonded``: the free funds the flagger
   deposits with it (held, ``HOLD_FLAG``) and the part of its staking bond that stays locked
   through the end of the flag period (a chunk that matures sooner could be withdrawn, moved and
   flagged with again). At the end of the flag period, a flag weight of at least
   ``flag_threshold`` rejects the proposal and its stake is slashed to the treasury or burned
   (``flagged_stake_to_treasury``); either way the deposits are released and, if not flagged,
   voting starts.
3. **vote** ``(id, choice, amount)``: ``amount`` of the voter's free balance is locked
   (``VOTE_LOCK_ID``) for the voting period and weighs the vote. Locks overlap, as Substrate's
   do: bonded tokens (locked by staking) may vote, and one lock covers an account's votes on
   every open proposal (the largest of them), while locked tokens cannot move to vote again in
   another account's name. At its end every vote's lock is lifted, the stake released, and the
   proposal
   fails if the turnout ``aye + nay + abstain`` is below ``quorum``, or if
   ``aye × 10^9 ≤ approval_threshold × (aye + nay)``; else it is approved.
4. **enactment**, ``enactment_delay`` blocks later: the call runs in a child overlay with the
   root origin. A failing call is recorded by ``EnactmentFailed`` (its error's pallet index and
   code), not by a failed block. A call that succeeds earns the proposer ``proposal_reward``
   from the treasury, when the treasury can pay it.

Every decided proposal leaves ``Outcomes[id]`` and leaves ``Proposals``: nothing is decided or
executed twice. Stakes and deposits stay in their owners' accounts under the currency's named
holds, votes under its locks, at least the existential deposit each.

A chain whose deferred slashes governance could never cancel in time is refused at genesis and
by ``set_parameters``: with a deferral of ``D > 0`` eras of ``L`` blocks, a slash applies as soon
as ``D × L`` blocks after its offence, and the fastest cancellation takes
``F + V + E + 2`` blocks (a report, then a proposal, after the offence), so
``F + V + E + 2 ≤ D × L``. A deferral of 0 means slashes are not cancellable at all.

Burning slashes a hold to ``BURN_ACCOUNT``, which no key controls: the currency never destroys
tokens (the total issuance is fixed). ``docs/governance.md`` has the parameters and an example.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from runtime.abc import StateReader
from runtime.accounts import BURN_ACCOUNT, TREASURY_ACCOUNT
from runtime.errors import MalformedTransaction
from runtime.framework.pallet import ROOT, DispatchContext, DispatchError, Origin, Pallet, call, ensure_signed
from runtime.framework.parameters import PalletParameters
from runtime.framework.runtime import dispatch_in_child
from runtime.framework.storage import StorageMap, StorageValue
from runtime.framework.traits import Currency, SlashingInterface, StakingInterface
from runtime.framework.traits import InsufficientBalance as CurrencyInsufficientBalance
from runtime.framework.weights import CURRENCY_WEIGHT, READ_WEIGHT, WRITE_WEIGHT
from runtime.primitives.arithmetic import PERBILL_ACCURACY, checked_add
from runtime.primitives.codec import (
    U8,
    U32,
    AccountId,
    Balance,
    Boolean,
    Hash32,
    ListOf,
    Record,
    VarBytes,
    decode_value,
    record,
)

NAME = "governance"

# --- config -------------------------------------------------------------------------------

# The currency's hold reasons (an open proposal's stake, a flag's deposit) and the lock on votes.
HOLD_PROPOSAL = b"gov/prop"
HOLD_FLAG = b"gov/flag"
VOTE_LOCK_ID = b"gov/vote"

MAX_OPEN_PROPOSALS = 16
MAX_FLAGS_PER_PROPOSAL = 256
MAX_VOTES_PER_PROPOSAL = 256
MAX_PROPOSAL_CALL_SIZE = 16 * 1024

STATUS_FLAGGING = 0
STATUS_VOTING = 1
STATUS_APPROVED = 2

OUTCOME_FLAGGED = 0
OUTCOME_NO_QUORUM = 1
OUTCOME_REJECTED = 2
OUTCOME_ENACTED = 3
OUTCOME_ENACTMENT_FAILED = 4

VOTE_AYE = 0
VOTE_NAY = 1
VOTE_ABSTAIN = 2


@record
class GovernanceParameters(Record):
    """Set per chain spec; governance may change them (``set_parameters``)."""

    proposal_stake: Balance  # least stake to propose
    flag_period_blocks: U32
    flag_threshold: Balance  # flag weight (deposits + bonds) that rejects a proposal
    flagged_stake_to_treasury: Boolean  # a flagged proposal's stake: treasury (True) or burned
    voting_period_blocks: U32
    quorum: Balance  # least turnout aye + nay + abstain (vote amounts)
    approval_threshold_parts: U32  # Perbill: aye must exceed this share of aye + nay
    enactment_delay_blocks: U32
    proposal_reward: Balance  # paid from the treasury to the proposer of an enacted proposal


# Test chains without a governance section; shipped specs set every field.
DEFAULT_PARAMETERS = GovernanceParameters(
    proposal_stake=1_000,
    flag_period_blocks=10,
    flag_threshold=1_000_000,
    flagged_stake_to_treasury=True,
    voting_period_blocks=20,
    quorum=1_000_000,
    approval_threshold_parts=PERBILL_ACCURACY // 2,
    enactment_delay_blocks=5,
    proposal_reward=0,
)


class BadParameters(DispatchError):
    """The parameters are out of range (see check_parameters)."""

    code = 16


PARAMETERS = PalletParameters(NAME, __name__, GovernanceParameters, DEFAULT_PARAMETERS, BadParameters)

# --- storage ------------------------------------------------------------------------------


@record
class Proposal(Record):
    proposer: AccountId
    call: Annotated[bytes, VarBytes(MAX_PROPOSAL_CALL_SIZE)]
    description_hash: Hash32
    stake: Balance  # held from the proposer while flagging and voting, released after
    submitted_at: U32
    status: U8  # STATUS_*
    deadline: U32  # the block whose on_finalize ends the current status
    flag_weight: Balance
    aye: Balance
    nay: Balance
    abstain: Balance


@record
class FlagRecord(Record):
    who: AccountId
    deposit: Balance  # held from the flagger until the flag period ends
    weight: Balance  # deposit + the flagger's bond when it flagged


@record
class VoteRecord(Record):
    who: AccountId
    choice: U8  # VOTE_*
    amount: Balance  # locked in the voter's account until the voting period ends


NextProposalId = StorageValue(NAME, "NextProposalId", U32, 0)
# Open proposals (flagging, voting, or approved and waiting for enactment).
Proposals = StorageMap(NAME, "Proposals", U32, Proposal)
# Their ids, increasing: every block visits them, and a map cannot be listed without a scan of
# the whole state (the tree is ordered by key hash).
OpenProposalIds = StorageValue(NAME, "OpenProposalIds", Annotated[tuple, ListOf(U32, MAX_OPEN_PROPOSALS)], ())
Flags = StorageMap(NAME, "Flags", U32, Annotated[tuple, ListOf(FlagRecord, MAX_FLAGS_PER_PROPOSAL)], ())
Votes = StorageMap(NAME, "Votes", U32, Annotated[tuple, ListOf(VoteRecord, MAX_VOTES_PER_PROPOSAL)], ())


@record
class VoteLock(Record):
    proposal_id: U32
    amount: Balance


# Each voter's votes on open proposals: its vote lock is the largest of them.
VoteLocks = StorageMap(NAME, "VoteLocks", AccountId, Annotated[tuple, ListOf(VoteLock, MAX_OPEN_PROPOSALS)], ())
# How each decided proposal ended (OUTCOME_*); kept forever, so nothing is decided twice.
Outcomes = StorageMap(NAME, "Outcomes", U32, U8)

# --- events -------------------------------------------------------------------------------


@record
class Proposed(Record):
    proposal_id: U32
    proposer: AccountId
    stake: Balance
    description_hash: Hash32
    flag_period_end: U32


@record
class ProposalFlaggedBy(Record):
    proposal_id: U32
    who: AccountId
    weight: Balance


@record
class Voted(Record):
    proposal_id: U32
    who: AccountId
    choice: U8
    amount: Balance


@record
class RejectedByFlags(Record):
    proposal_id: U32
    flag_weight: Balance
    stake_to_treasury: Boolean  # False: the stake was burned


@record
class VotingStarted(Record):
    proposal_id: U32
    voting_period_end: U32


@record
class QuorumNotReached(Record):
    proposal_id: U32
    turnout: Balance


@record
class RejectedByVote(Record):
    proposal_id: U32
    aye: Balance
    nay: Balance


@record
class Approved(Record):
    proposal_id: U32
    enact_at: U32


@record
class Enacted(Record):
    proposal_id: U32


@record
class EnactmentFailed(Record):
    proposal_id: U32
    pallet_index: U8
    error_code: U8


@record
class ProposerRewarded(Record):
    proposal_id: U32
    proposer: AccountId
    amount: Balance


# --- errors -------------------------------------------------------------------------------


class CallNotAllowed(DispatchError):
    """Governance may not make this call (only the calls their pallets mark governable:
    parameter changes, cancelling a deferred slash and treasury spends)."""

    code = 0


class UndecodableCall(DispatchError):
    """The proposed call does not decode as a call of this runtime."""

    code = 1


class StakeTooLow(DispatchError):
    """The stake is below the proposal stake (or the existential deposit)."""

    code = 2


class TooManyProposals(DispatchError):
    """MAX_OPEN_PROPOSALS proposals are open already."""

    code = 3


class NoSuchProposal(DispatchError):
    """No open proposal has this id."""

    code = 4


class FlagPeriodOver(DispatchError):
    """The proposal's flag period is over: it can no longer be flagged."""

    code = 5


class AlreadyFlagged(DispatchError):
    """This account has flagged this proposal already."""

    code = 6


class NotVoting(DispatchError):
    """The proposal is not in its voting period."""

    code = 7


class AlreadyVoted(DispatchError):
    """This account has voted on this proposal already."""

    code = 8


class InsufficientBalance(DispatchError):
    """The account's free balance cannot pay the amount and stay above the existential deposit."""

    code = 9


class FundsLockedElsewhere(DispatchError):
    """The amount includes funds locked elsewhere (e.g. bonded): only unlocked funds count."""

    code = 10


class AmountTooSmall(DispatchError):
    """A deposit or vote amount must be at least the existential deposit."""

    code = 11


class BadVote(DispatchError):
    """A vote is aye (0), nay (1) or abstain (2)."""

    code = 12


class NothingToFlagWith(DispatchError):
    """A flag needs a deposit or a staking bond to weigh anything."""

    code = 13


class TooManyFlags(DispatchError):
    """The proposal carries MAX_FLAGS_PER_PROPOSAL flags already."""

    code = 14


class TooManyVotes(DispatchError):
    """The proposal carries MAX_VOTES_PER_PROPOSAL votes already."""

    code = 15


# --- calls' arguments ---------------------------------------------------------------------


@record
class ProposeArgs(Record):
    call: Annotated[bytes, VarBytes(MAX_PROPOSAL_CALL_SIZE)]  # ``Runtime.encode_call`` bytes
    description_hash: Hash32  # e.g. the blake2b-256 of a text published elsewhere
    stake: Balance


@record
class FlagArgs(Record):
    proposal_id: U32
    deposit: Balance  # free funds added to the flag's weight (0: the bond alone)


@record
class VoteArgs(Record):
    proposal_id: U32
    choice: U8
    amount: Balance


# --- pure computations --------------------------------------------------------------------


def is_approved(parameters: GovernanceParameters, aye: int, nay: int) -> bool:
    """``aye`` exceeds ``approval_threshold`` of ``aye + nay`` (exact integers, no rounding)."""
    return aye + nay > 0 and aye * PERBILL_ACCURACY > parameters.approval_threshold_parts * (aye + nay)


def compute_tally(proposal: Proposal, vote: VoteRecord) -> Proposal:
    """``proposal`` with ``vote`` counted."""
    if vote.choice == VOTE_AYE:
        return replace(proposal, aye=checked_add(proposal.aye, vote.amount))
    if vote.choice == VOTE_NAY:
        return replace(proposal, nay=checked_add(proposal.nay, vote.amount))
    return replace(proposal, abstain=checked_add(proposal.abstain, vote.amount))


def check_cancellable(parameters: GovernanceParameters, era_length: int, slash_defer_eras: int) -> None:
    """Governance can cancel a deferred slash before it applies (module docstring; ValueError)."""
    fastest = parameters.flag_period_blocks + parameters.voting_period_blocks + parameters.enactment_delay_blocks + 2
    if slash_defer_eras and fastest > slash_defer_eras * era_length:
        raise ValueError(
            f"governance cannot cancel a deferred slash in time: it takes at least {fastest} blocks "
            f"(flagPeriodBlocks + votingPeriodBlocks + enactmentDelayBlocks + 2), but a slash applies "
            f"{slash_defer_eras * era_length} blocks after its offence (offences.slashDeferEras × "
            "staking.eraLengthBlocks)"
        )


def check_parameters(parameters: GovernanceParameters) -> None:
    """Periods of at least one block, a positive stake, a Perbill in range (ValueError)."""
    if parameters.proposal_stake == 0:
        raise ValueError("governance.proposalStake must be at least 1")
    if parameters.flag_period_blocks == 0 or parameters.voting_period_blocks == 0:
        raise ValueError("governance.flagPeriodBlocks and votingPeriodBlocks must be at least 1")
    if parameters.approval_threshold_parts > PERBILL_ACCURACY:
        raise ValueError(
            f"governance.approvalThresholdPerbill is {parameters.approval_threshold_parts}, "
            f"outside 0..{PERBILL_ACCURACY} (parts per 10^9)"
        )


# --- state reads and checks ---------------------------------------------------------------


def get_parameters(state: StateReader) -> GovernanceParameters:
    return PARAMETERS.get(state)


def get_proposal(state: StateReader, proposal_id: int) -> Proposal:
    proposal = Proposals.get(state, proposal_id)
    if proposal is None:
        raise NoSuchProposal()
    return proposal


def get_open_proposal_ids(state: StateReader) -> tuple[int, ...]:
    """Open proposals' ids, in increasing order (the order their deadlines are handled)."""
    return OpenProposalIds.get(state)  # type: ignore[no-any-return]


def get_proposal_storage_key(proposal_id: int) -> bytes:
    return Proposals.storage_key(proposal_id)


def decode_proposal_id(storage_key: bytes) -> int:
    return Proposals.decode_key(storage_key)  # type: ignore[no-any-return]


def decode_proposal(raw: bytes) -> Proposal:
    return decode_value(Proposals.value_type, raw)  # type: ignore[no-any-return]


def decode_open_proposal_ids(raw: bytes) -> tuple[int, ...]:
    return decode_value(OpenProposalIds.value_type, raw)  # type: ignore[no-any-return]


def decode_next_proposal_id(raw: bytes) -> int:
    return decode_value(NextProposalId.value_type, raw)  # type: ignore[no-any-return]


def compute_expected_holds(
    proposals: dict[int, Proposal], flags: dict[int, tuple[FlagRecord, ...]]
) -> dict[tuple[bytes, bytes], int]:
    """What each account must hold under each of governance's reasons, from the records."""
    expected: dict[tuple[bytes, bytes], int] = {}
    entries = [
        *((proposal.proposer, HOLD_PROPOSAL, proposal.stake) for proposal in proposals.values()),
        *((flag.who, HOLD_FLAG, flag.deposit) for records in flags.values() for flag in records),
    ]
    for who, reason, amount in entries:
        if amount:
            expected[who, reason] = expected.get((who, reason), 0) + amount
    return expected


def check_allowed_call(ctx: DispatchContext, encoded: bytes) -> None:
    """``encoded`` decodes to a call governance may make, or the error that says why not."""
    try:
        decoded = ctx.runtime.decode_call(encoded)
    except MalformedTransaction:
        raise UndecodableCall() from None
    if not decoded.definition.governable:
        raise CallNotAllowed(
            f"governance may not call {decoded.pallet.NAME}.{decoded.definition.name} "
            "(only parameter changes, cancelling a deferred slash and treasury spends)"
        )


# --- mutations ----------------------------------------------------------------------------


def close(ctx: DispatchContext, proposal_id: int, outcome: int) -> None:
    Proposals.remove(ctx.state, proposal_id)
    OpenProposalIds.put(
        ctx.state, tuple(open_id for open_id in get_open_proposal_ids(ctx.state) if open_id != proposal_id)
    )
    Outcomes.put(ctx.state, proposal_id, outcome)


# --- the pallet ---------------------------------------------------------------------------


class Governance(Pallet):
    NAME = NAME
    STORAGE = (PARAMETERS.storage, NextProposalId, Proposals, OpenProposalIds, Flags, Votes, VoteLocks, Outcomes)
    EVENTS = (
        Proposed,
        ProposalFlaggedBy,
        Voted,
        RejectedByFlags,
        VotingStarted,
        QuorumNotReached,
        RejectedByVote,
        Approved,
        Enacted,
        EnactmentFailed,
        ProposerRewarded,
        PARAMETERS.event,
    )
    ERRORS = (
        CallNotAllowed,
        UndecodableCall,
        StakeTooLow,
        TooManyProposals,
        NoSuchProposal,
        FlagPeriodOver,
        AlreadyFlagged,
        NotVoting,
        AlreadyVoted,
        InsufficientBalance,
        FundsLockedElsewhere,
        AmountTooSmall,
        BadVote,
        NothingToFlagWith,
        TooManyFlags,
        TooManyVotes,
        BadParameters,
    )
    CONSTANTS = {
        "maxOpenProposals": MAX_OPEN_PROPOSALS,
        "maxFlagsPerProposal": MAX_FLAGS_PER_PROPOSAL,
        "maxVotesPerProposal": MAX_VOTES_PER_PROPOSAL,
        "maxProposalCallSize": MAX_PROPOSAL_CALL_SIZE,
        # The codes of a vote's choice and of a proposal's status.
        "voteAye": VOTE_AYE,
        "voteNay": VOTE_NAY,
        "voteAbstain": VOTE_ABSTAIN,
        "statusFlagging": STATUS_FLAGGING,
        "statusVoting": STATUS_VOTING,
        "statusApproved": STATUS_APPROVED,
    }

    def configure(self, *, currency: Currency, staking: StakingInterface, slashing: SlashingInterface) -> None:
        """``currency`` holds stakes and deposits and locks votes; ``staking`` tells a flagger's
        bond and the era length; ``slashing`` the deferral a cancellation must beat."""
        self.currency = currency
        self.staking = staking
        self.slashing = slashing

    # --- calls --------------------------------------------------------------------------

    @call(0, ProposeArgs, weight=500_000)
    def propose(self, ctx: DispatchContext, origin: Origin, args: ProposeArgs) -> None:
        """Submit ``call`` for the DAO, holding ``stake`` until the proposal is decided."""
        who = ensure_signed(origin)
        parameters = get_parameters(ctx.state)
        check_allowed_call(ctx, args.call)
        if args.stake < parameters.proposal_stake:
            raise StakeTooLow()
        open_ids = get_open_proposal_ids(ctx.state)
        if len(open_ids) >= MAX_OPEN_PROPOSALS:
            raise TooManyProposals()
        try:
            self.check_holdable(ctx.state, who, args.stake)
        except AmountTooSmall:
            raise StakeTooLow() from None
        proposal_id = NextProposalId.get(ctx.state)
        flag_end = ctx.block.number + parameters.flag_period_blocks
        self.currency.hold(ctx, HOLD_PROPOSAL, who, args.stake)
        proposal = Proposal(
            who, args.call, args.description_hash, args.stake, ctx.block.number, STATUS_FLAGGING, flag_end, 0, 0, 0, 0
        )
        Proposals.put(ctx.state, proposal_id, proposal)
        OpenProposalIds.put(ctx.state, (*open_ids, proposal_id))
        NextProposalId.put(ctx.state, proposal_id + 1)
        ctx.deposit_event(Proposed(proposal_id, who, args.stake, args.description_hash, flag_end))

    @call(1, FlagArgs, weight=300_000)
    def flag(self, ctx: DispatchContext, origin: Origin, args: FlagArgs) -> None:
        """Flag a proposal in its flag period, weighing ``deposit`` plus the caller's bond."""
        who = ensure_signed(origin)
        proposal = get_proposal(ctx.state, args.proposal_id)
        if proposal.status != STATUS_FLAGGING:
            raise FlagPeriodOver()
        flags = Flags.get(ctx.state, args.proposal_id)
        if any(flag.who == who for flag in flags):
            raise AlreadyFlagged()
        if len(flags) >= MAX_FLAGS_PER_PROPOSAL:
            raise TooManyFlags()
        if args.deposit:
            self.check_holdable(ctx.state, who, args.deposit)
        weight = args.deposit + self.staking.get_bonded_through(ctx.state, who, proposal.deadline)
        if weight == 0:
            raise NothingToFlagWith()
        if args.deposit:
            self.currency.hold(ctx, HOLD_FLAG, who, args.deposit)
        Flags.put(ctx.state, args.proposal_id, (*flags, FlagRecord(who, args.deposit, weight)))
        Proposals.put(
            ctx.state, args.proposal_id, replace(proposal, flag_weight=checked_add(proposal.flag_weight, weight))
        )
        ctx.deposit_event(ProposalFlaggedBy(args.proposal_id, who, weight))

    @call(2, VoteArgs, weight=300_000)
    def vote(self, ctx: DispatchContext, origin: Origin, args: VoteArgs) -> None:
        """Vote ``choice`` with ``amount`` of free funds (bonded ones too), locked for the voting
        period."""
        who = ensure_signed(origin)
        proposal = get_proposal(ctx.state, args.proposal_id)
        if proposal.status != STATUS_VOTING:
            raise NotVoting()
        if args.choice not in (VOTE_AYE, VOTE_NAY, VOTE_ABSTAIN):
            raise BadVote()
        votes = Votes.get(ctx.state, args.proposal_id)
        if any(vote.who == who for vote in votes):
            raise AlreadyVoted()
        if len(votes) >= MAX_VOTES_PER_PROPOSAL:
            raise TooManyVotes()
        if args.amount < self.currency.get_existential_deposit(ctx.state):
            raise AmountTooSmall()
        locks = (*VoteLocks.get(ctx.state, who), VoteLock(args.proposal_id, args.amount))
        lock = max(entry.amount for entry in locks)
        try:
            self.currency.check_lock(ctx.state, who, VOTE_LOCK_ID, lock)
        except CurrencyInsufficientBalance:
            raise InsufficientBalance() from None
        record = VoteRecord(who, args.choice, args.amount)
        tallied = compute_tally(proposal, record)
        self.currency.set_lock(ctx, who, VOTE_LOCK_ID, lock)
        VoteLocks.put(ctx.state, who, locks)
        Votes.put(ctx.state, args.proposal_id, (*votes, record))
        Proposals.put(ctx.state, args.proposal_id, tallied)
        ctx.deposit_event(Voted(args.proposal_id, who, args.choice, args.amount))

    # Governance: new parameters; open proposals keep the deadlines they have, the rest
    # applies at their next deadline.
    set_parameters = PARAMETERS.call(3, weight=100_000)

    def check_parameters(self, state: StateReader, parameters: GovernanceParameters) -> None:
        check_parameters(parameters)
        check_cancellable(parameters, self.staking.get_era_length(state), self.slashing.get_slash_defer_eras(state))

    # --- holding funds ------------------------------------------------------------------

    def check_holdable(self, state: StateReader, who: bytes, amount: int) -> None:
        """``who`` can hold ``amount`` (at least the existential deposit) of its unlocked free
        balance."""
        if amount < self.currency.get_existential_deposit(state):
            raise AmountTooSmall()
        if amount > self.currency.get_free_balance(state, who):
            raise InsufficientBalance()
        if amount > self.currency.get_usable_balance(state, who):
            raise FundsLockedElsewhere()

    def unlock_vote(self, ctx: DispatchContext, who: bytes, proposal_id: int) -> None:
        """Lift ``who``'s vote on ``proposal_id``: its lock falls to its largest other vote."""
        locks = tuple(entry for entry in VoteLocks.get(ctx.state, who) if entry.proposal_id != proposal_id)
        if locks:
            VoteLocks.put(ctx.state, who, locks)
            self.currency.set_lock(ctx, who, VOTE_LOCK_ID, max(entry.amount for entry in locks))
        else:
            VoteLocks.remove(ctx.state, who)
            self.currency.remove_lock(ctx, who, VOTE_LOCK_ID)

    # --- deadlines ----------------------------------------------------------------------

    def advance(self, ctx: DispatchContext, proposal_id: int) -> None:
        """Handle every deadline of the proposal due by this block (a zero enactment delay
        enacts in the block voting ends)."""
        while (proposal := Proposals.get(ctx.state, proposal_id)) is not None and proposal.deadline <= ctx.block.number:
            if proposal.status == STATUS_FLAGGING:
                self.end_flag_period(ctx, proposal_id, proposal)
            elif proposal.status == STATUS_VOTING:
                self.end_voting_period(ctx, proposal_id, proposal)
            else:
                self.enact(ctx, proposal_id, proposal)

    def end_flag_period(self, ctx: DispatchContext, proposal_id: int, proposal: Proposal) -> None:
        """Release the flag deposits; reject the proposal if flagged (its stake slashed to the
        treasury or burned), else open its voting period."""
        parameters = get_parameters(ctx.state)
        for flag in Flags.get(ctx.state, proposal_id):
            if flag.deposit:
                self.currency.release(ctx, HOLD_FLAG, flag.who, flag.deposit)
        Flags.remove(ctx.state, proposal_id)
        if proposal.flag_weight >= parameters.flag_threshold:
            to_treasury = parameters.flagged_stake_to_treasury
            destination = TREASURY_ACCOUNT if to_treasury else BURN_ACCOUNT
            self.currency.slash_held(ctx, HOLD_PROPOSAL, proposal.proposer, proposal.stake, destination)
            close(ctx, proposal_id, OUTCOME_FLAGGED)
            ctx.deposit_event(RejectedByFlags(proposal_id, proposal.flag_weight, to_treasury))
            return
        voting_end = ctx.block.number + parameters.voting_period_blocks
        Proposals.put(ctx.state, proposal_id, replace(proposal, status=STATUS_VOTING, deadline=voting_end))
        ctx.deposit_event(VotingStarted(proposal_id, voting_end))

    def end_voting_period(self, ctx: DispatchContext, proposal_id: int, proposal: Proposal) -> None:
        """Release the votes and the stake; decide by quorum and approval threshold."""
        parameters = get_parameters(ctx.state)
        for vote in Votes.get(ctx.state, proposal_id):
            self.unlock_vote(ctx, vote.who, proposal_id)
        Votes.remove(ctx.state, proposal_id)
        self.currency.release(ctx, HOLD_PROPOSAL, proposal.proposer, proposal.stake)
        turnout = proposal.aye + proposal.nay + proposal.abstain
        if turnout < parameters.quorum:
            close(ctx, proposal_id, OUTCOME_NO_QUORUM)
            ctx.deposit_event(QuorumNotReached(proposal_id, turnout))
        elif not is_approved(parameters, proposal.aye, proposal.nay):
            close(ctx, proposal_id, OUTCOME_REJECTED)
            ctx.deposit_event(RejectedByVote(proposal_id, proposal.aye, proposal.nay))
        else:
            enact_at = ctx.block.number + parameters.enactment_delay_blocks
            approved = replace(proposal, status=STATUS_APPROVED, deadline=enact_at, stake=0)
            Proposals.put(ctx.state, proposal_id, approved)
            ctx.deposit_event(Approved(proposal_id, enact_at))

    def enact(self, ctx: DispatchContext, proposal_id: int, proposal: Proposal) -> None:
        """Run the call with the root origin in a child overlay; reward the proposer if it worked."""
        error = dispatch_in_child(ctx, ctx.runtime.decode_call(proposal.call), ROOT)
        if error is not None:
            pallet_index, code = ctx.runtime.error_index(error)
            close(ctx, proposal_id, OUTCOME_ENACTMENT_FAILED)
            ctx.deposit_event(EnactmentFailed(proposal_id, pallet_index, code))
            return
        close(ctx, proposal_id, OUTCOME_ENACTED)
        ctx.deposit_event(Enacted(proposal_id))
        self.pay_reward(ctx, proposal_id, proposal.proposer)

    def pay_reward(self, ctx: DispatchContext, proposal_id: int, proposer: bytes) -> None:
        """The proposal reward from the treasury, unless the treasury cannot pay it."""
        reward = get_parameters(ctx.state).proposal_reward
        if reward == 0:
            return
        try:
            self.currency.check_withdraw(ctx.state, TREASURY_ACCOUNT, reward, keep_alive=True)
            self.currency.check_deposit(ctx.state, proposer, reward)
        except DispatchError:
            return  # the treasury is short: the proposal stays enacted, unrewarded
        self.currency.transfer(ctx, TREASURY_ACCOUNT, proposer, reward, keep_alive=True)
        ctx.deposit_event(ProposerRewarded(proposal_id, proposer, reward))

    # --- hooks --------------------------------------------------------------------------

    def on_initialize(self, ctx: DispatchContext) -> int:
        """Each open proposal read; for each with a deadline due: its flags' and votes' holds
        released (a transfer each, at most), its enactment (the call's own weight) and the
        proposer's reward. A deadline ends one period, yet a zero enactment delay enacts in
        the block voting ends, so a due proposal is weighed as if it did it all."""
        weight = 0
        for proposal_id in get_open_proposal_ids(ctx.state):
            weight += READ_WEIGHT
            proposal = Proposals.get(ctx.state, proposal_id)
            if proposal is None or proposal.deadline > ctx.block.number:
                continue
            releases = len(Flags.get(ctx.state, proposal_id)) + len(Votes.get(ctx.state, proposal_id))
            call_weight = ctx.runtime.decode_call(proposal.call).definition.weight
            # A vote's release rewrites its lock and the voter's list of vote locks.
            per_release = 2 * CURRENCY_WEIGHT + 2 * (READ_WEIGHT + WRITE_WEIGHT)
            weight += releases * per_release + 2 * CURRENCY_WEIGHT + 4 * WRITE_WEIGHT + call_weight
        return weight

    def on_finalize(self, ctx: DispatchContext) -> None:
        """Handle the deadlines due in this block, lowest id first: at most MAX_OPEN_PROPOSALS
        proposals, each releasing at most MAX_FLAGS or MAX_VOTES holds. Runs after the hooks
        of the pallets whose parameters it changes (``runtime/construct.py``), so an enacted
        change applies from the next block on."""
        for proposal_id in get_open_proposal_ids(ctx.state):
            self.advance(ctx, proposal_id)

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """The parameters (no section: ``DEFAULT_PARAMETERS``); no proposals at genesis."""
        parameters = PARAMETERS.from_genesis(config)
        check_parameters(parameters)
        PARAMETERS.storage.put(ctx.state, parameters)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        """The parameters only: open proposals and outcomes do not carry over."""
        return PARAMETERS.to_genesis(get_parameters(state))

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        return [*self._check_holds(state), *self._check_proposals(state)]

    def _check_holds(self, state: StateReader) -> list[str]:
        """Every account holds, under each of governance's reasons, exactly what its open
        proposals, flags and votes say."""
        expected = compute_expected_holds(dict(Proposals.iter(state)), dict(Flags.iter(state)))
        problems = [
            f"{who.hex()} holds {held} under {reason!r}, but governance's records say {amount}"
            for (who, reason), amount in sorted(expected.items())
            if (held := self.currency.get_held(state, who, reason)) != amount
        ]
        votes = {(vote.who, proposal_id): vote.amount for proposal_id, records in Votes.iter(state) for vote in records}
        locks = {(who, entry.proposal_id): entry.amount for who, entries in VoteLocks.iter(state) for entry in entries}
        if votes != locks:
            problems.append("the vote locks do not list exactly the votes on open proposals")
        for who, entries in VoteLocks.iter(state):
            lock = self.currency.get_lock(state, who, VOTE_LOCK_ID)
            if lock != max(entry.amount for entry in entries):
                problems.append(f"{who.hex()}'s vote lock is {lock}, not its largest vote")
        return problems

    def _check_proposals(self, state: StateReader) -> list[str]:
        problems = []
        next_id = NextProposalId.get(state)
        proposals = dict(Proposals.iter(state))
        if len(proposals) > MAX_OPEN_PROPOSALS:
            problems.append(f"{len(proposals)} proposals are open, more than {MAX_OPEN_PROPOSALS}")
        if list(get_open_proposal_ids(state)) != sorted(proposals):
            problems.append("the open proposal ids do not list exactly the open proposals")
        for proposal_id, proposal in proposals.items():
            if proposal_id >= next_id or Outcomes.contains(state, proposal_id):
                problems.append(f"proposal {proposal_id} is open but was never made or is decided already")
            problems += compute_proposal_problems(
                proposal_id, proposal, Flags.get(state, proposal_id), Votes.get(state, proposal_id)
            )
        for proposal_id, _ in Flags.iter(state):
            if proposal_id not in proposals:
                problems.append(f"flags are kept for proposal {proposal_id}, which is not open")
        for proposal_id, _ in Votes.iter(state):
            if proposal_id not in proposals:
                problems.append(f"votes are kept for proposal {proposal_id}, which is not open")
        for proposal_id, _ in Outcomes.iter(state):
            if proposal_id >= next_id:
                problems.append(f"proposal {proposal_id} has an outcome but was never made")
        return problems


def compute_proposal_problems(
    proposal_id: int, proposal: Proposal, flags: tuple[FlagRecord, ...], votes: tuple[VoteRecord, ...]
) -> list[str]:
    """What is wrong with one open proposal: its status, its flags or its tally."""
    where = f"proposal {proposal_id}"
    problems = []
    if proposal.status not in (STATUS_FLAGGING, STATUS_VOTING, STATUS_APPROVED):
        return [f"{where} has an unknown status {proposal.status}"]
    if (flags and proposal.status != STATUS_FLAGGING) or (votes and proposal.status != STATUS_VOTING):
        problems.append(f"{where} keeps flags or votes outside their period")
    if len({flag.who for flag in flags}) != len(flags) or len({vote.who for vote in votes}) != len(votes):
        problems.append(f"{where} counts one account's flag or vote twice")
    if proposal.status == STATUS_FLAGGING and proposal.flag_weight != sum(flag.weight for flag in flags):
        problems.append(f"{where}: flag weight {proposal.flag_weight} does not match its flags")
    tally = {choice: sum(vote.amount for vote in votes if vote.choice == choice) for choice in (0, 1, 2)}
    if proposal.status == STATUS_VOTING and (proposal.aye, proposal.nay, proposal.abstain) != tuple(tally.values()):
        problems.append(f"{where}: the tally does not match its votes")
    if proposal.status == STATUS_APPROVED and proposal.stake != 0:
        problems.append(f"{where} is approved but its stake was not returned")
    return problems

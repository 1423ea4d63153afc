"""finality: the authority weights consensus uses, and the finality votes blocks carry for rewards.

**Weights.** ``get_authority_weights`` gives each current authority's weight: its validator's
exposure in the current era (one each on a chain without exposures). The slot lottery's stake
shares and the finality voters' weights both come from here, so they can never disagree.

**Finality notes.** A block author puts in its block an unsigned ``note_finality`` with the
justification of the last block its node finalized, if that block is newer than the last one noted
on this chain. The runtime checks it before any write: the current set id; a target on this chain
(by its stored block hash), newer than the last note; precommits of one round, signed by current
authorities; and the precommits whose targets are on this chain at or above the target carry more
than two thirds of the weight. A voter with two different precommits (an equivocator, which a
GRANDPA justification may carry) counts towards the threshold whatever it voted, as GRANDPA's own
check counts it, but earns nothing. Each other authority counted earns one reward point for its
validator, as a block does (staking), so "no block and no finality vote in an era" is what makes a
validator unresponsive. An author can leave a voter's precommit out of the note it includes; that voter then
misses one point, not more, since the next note carries new precommits.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.abc import StateReader
from runtime.block import VOTE_STAGE_PRECOMMIT, Justification, verify_finality_vote
from runtime.errors import InvalidKey, InvalidSignature
from runtime.framework.pallet import ORIGIN_NONE, DispatchContext, DispatchError, Origin, Pallet, call
from runtime.framework.storage import StorageValue
from runtime.framework.traits import SessionInterface, StakingInterface
from runtime.pallets import system
from runtime.primitives.codec import U32, U64, BlockNumber, Record, record

NAME = "finality"

# --- storage --------------------------------------------------------------------------------

# The number of the last block whose justification a block of this chain carried.
LastNoted = StorageValue(NAME, "LastNoted", BlockNumber, 0)


# --- events and errors ----------------------------------------------------------------------


@record
class FinalityNoted(Record):
    number: BlockNumber
    set_id: U64
    voters: U32


class WrongSetId(DispatchError):
    """The justification is of another authority set than the current one."""

    code = 0


class NotOnThisChain(DispatchError):
    """The justification's target is not a block of this chain, or not newer than the last note."""

    code = 1


class BadPrecommit(DispatchError):
    """A precommit of another set, round or stage, by a non-authority, twice by one voter, or badly signed."""

    code = 2


class NotEnoughWeight(DispatchError):
    """The precommits for this chain do not carry more than two thirds of the authorities' weight."""

    code = 3


@record
class NoteFinalityArgs(Record):
    justification: Justification


# --- pure computations and reads -------------------------------------------------------------


@dataclass(frozen=True)
class WeightedAuthority:
    validator: bytes
    signing: bytes  # seals blocks and signs finality votes
    vrf: bytes
    weight: int


def compute_supermajority(total_weight: int) -> int:
    """The least weight strictly above two thirds of ``total_weight``."""
    return total_weight - (total_weight - 1) // 3


def get_last_noted(state: StateReader) -> int:
    return LastNoted.get(state)  # type: ignore[no-any-return]


def is_on_chain(state: StateReader, block_hash: bytes, number: int) -> bool:
    return system.get_block_hash(state, number) == block_hash


# --- the pallet -----------------------------------------------------------------------------


class Finality(Pallet):
    NAME = NAME
    STORAGE = (LastNoted,)
    EVENTS = (FinalityNoted,)
    ERRORS = (WrongSetId, NotOnThisChain, BadPrecommit, NotEnoughWeight)

    def configure(self, *, session: SessionInterface, staking: StakingInterface) -> None:
        """``session`` gives the current authorities, ``staking`` their weights and their points."""
        self.session = session
        self.staking = staking

    @call(0, NoteFinalityArgs, weight=2_000_000, origin=ORIGIN_NONE)
    def note_finality(self, ctx: DispatchContext, origin: Origin, args: NoteFinalityArgs) -> None:
        """Credit the authorities whose precommits prove a newer block of this chain final."""
        justification = args.justification
        voters = self.check_note(ctx.state, justification, ctx.block.number, ctx.genesis_hash)
        for signing in voters:
            self.staking.award_point(ctx, signing)
        LastNoted.put(ctx.state, justification.target_number)
        ctx.deposit_event(FinalityNoted(justification.target_number, justification.set_id, len(voters)))

    # --- weights --------------------------------------------------------------------------

    def get_authority_weights(self, state: StateReader) -> tuple[WeightedAuthority, ...]:
        """Each current authority with its weight (exposure, or 1 each without exposures)."""
        authorities = self.session.get_authority_keys(state)
        weights = [self.staking.get_validator_weight(state, validator) for validator, _, _ in authorities]
        if not any(weights):
            weights = [1] * len(authorities)
        return tuple(
            WeightedAuthority(validator, signing, vrf, weight)
            for (validator, signing, vrf), weight in zip(authorities, weights, strict=True)
        )

    def check_note(
        self, state: StateReader, justification: Justification, block_number: int, genesis_hash: bytes
    ) -> list[bytes]:
        """The signing keys the note credits, or the error that makes it no note (module docstring)."""
        if justification.set_id != self.session.get_set_id(state):
            raise WrongSetId()
        target_number = justification.target_number
        if not get_last_noted(state) < target_number < block_number or not is_on_chain(
            state, justification.target_hash, target_number
        ):
            raise NotOnThisChain()
        weights = {authority.signing: authority.weight for authority in self.get_authority_weights(state)}
        counted: set[bytes] = set()
        votes_of: dict[bytes, list[object]] = {}
        for signed in justification.precommits:
            vote = signed.vote
            if (vote.set_id, vote.round, vote.stage) != (
                justification.set_id,
                justification.round,
                VOTE_STAGE_PRECOMMIT,
            ):
                raise BadPrecommit()
            seen = votes_of.setdefault(signed.voter, [])
            if signed.voter not in weights or vote in seen or len(seen) >= 2:
                raise BadPrecommit()
            seen.append(vote)
            try:
                verify_finality_vote(signed, genesis_hash)
            except (InvalidKey, InvalidSignature):
                raise BadPrecommit() from None
            if target_number <= vote.target_number < block_number and is_on_chain(
                state, vote.target_hash, vote.target_number
            ):
                counted.add(signed.voter)
        # An equivocator (two precommits) counts towards the threshold whatever it voted, as in
        # GRANDPA's own justification check, but earns no point.
        equivocators = {voter for voter, votes in votes_of.items() if len(votes) == 2}
        weight = sum(weights[voter] for voter in counted | equivocators)
        if weight < compute_supermajority(sum(weights.values())):
            raise NotEnoughWeight()
        return sorted(counted - equivocators)

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        if get_last_noted(state) <= system.get_block_number(state):
            return []
        return ["the last note is ahead of the chain"]

"""offences: proofs of misbehaviour, slash fractions, deferred slashes and their application.

Offences come in **kinds** (``OffenceKind``, ``runtime/framework/traits.py``), each with the
pallet that holds its offenders' stake (an ``OffenderHandler``: what is at stake, who backs it,
how to slash it) and its rule for the slash fraction. Kinds are registered in
``runtime/construct.py``: a new kind (an ML market's provable faults, say) needs no change here,
and its pallet reports offences through ``report_offence`` (the ``OffenceReporter`` interface).

Built in are three validator offences, each by a validator elected in the current era (their
handler is staking):

* **block equivocation**: two different headers for the same slot, both sealed by their author
  under this chain's genesis hash;
* **finality-vote equivocation**: two different votes (``runtime.block.FinalityVote``) signed by
  one voter for the same ``(set_id, round, stage)``;
* **unresponsiveness**: no block authored in an era (read from staking's reward points at the
  era's end, so it is detected, never reported; a ``maxUnresponsivenessPerbill`` of 0 turns it
  off): an elected validator that went a whole epoch of the era without a block or a finality
  vote a block noted.

Equivocations are reported by any account with the signed call ``report_equivocation``; the
evidence must be from the current era (its block numbers), whose exposure snapshot is the one
at hand. Every offence is known by its ``OffenceId`` (kind, offender, slot / set, round, stage /
era), kept forever, and is punished once: a second report of it is refused.

**Fraction** of the validator kinds. With ``k`` distinct offenders of one kind in era ``e`` among
the ``n`` validators elected for it (Substrate's correlation rule, one rounding, down)::

    correlated = min(1, floor(10^9 × 9k² / n²) / 10^9)          ( = min(1, (3k/n)²) )
    fraction   = max(min_kind, correlated)                         (capped at max_unresponsiveness)

One offender has at most one slash per kind and era: a further offence, or a further offender
of that kind, only raises the fractions of the era's unapplied slashes of that kind.

**Deferral** (every kind; eras are staking's). A slash for an offence in era ``e`` waits in
``UnappliedSlashes[e + defer]`` and is applied at the end of that era, before the next election;
until then ``cancel_deferred_slash`` (root origin) may drop it. Each stake behind the offender
(its own first, then its backers') loses ``ceil(fraction × stake)`` (what the chain takes rounds
up, never above the stake), taken by the kind's handler (for validators from active and
unlocking bond pro rata, never more than the ledger still holds). Everything goes to the
treasury, which then pays the reporter ``floor(reporter_reward × slashed)``. The handler hears
of each recorded offence (staking chills the validator, so it misses the next election until it
calls ``validate`` again). ``docs/economics.md`` has a worked example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Annotated, Any, NamedTuple

from runtime.abc import StateReader
from runtime.accounts import TREASURY_ACCOUNT
from runtime.block import MAX_AUTHORITIES, Header, SignedFinalityVote, verify_finality_vote, verify_seal
from runtime.errors import InvalidKey, InvalidSignature
from runtime.framework.pallet import (
    ORIGIN_NONE,
    ORIGIN_ROOT,
    DispatchContext,
    DispatchError,
    Origin,
    Pallet,
    call,
    ensure_signed,
)
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageMap
from runtime.framework.traits import (
    Currency,
    ExistentialDeposit,
    OffenceKind,
    OffenderHandler,
    Overflow,
    SessionInterface,
    StakingInterface,
)
from runtime.framework.weights import CURRENCY_WEIGHT, READ_WEIGHT, WRITE_WEIGHT
from runtime.primitives.arithmetic import PERBILL_ACCURACY, Perbill
from runtime.primitives.codec import U8, U32, U64, AccountId, Balance, ListOf, OneOf, OptionOf, Record, record

NAME = "offences"

# --- config -------------------------------------------------------------------------------

KIND_BLOCK_EQUIVOCATION = 0
KIND_VOTE_EQUIVOCATION = 1
KIND_UNRESPONSIVENESS = 2
VALIDATOR_KINDS = (KIND_BLOCK_EQUIVOCATION, KIND_VOTE_EQUIVOCATION, KIND_UNRESPONSIVENESS)
MAX_SLASHED_STAKES = 513  # an offender's own stake and up to 512 backers (staking's exposure bound)
MAX_SLASHES_PER_ERA = 4 * MAX_AUTHORITIES  # waiting for one era's end, every kind together


@record
class OffencesParameters(Record):
    """Fixed per chain spec; governance may change them later."""

    slash_defer_eras: U32  # eras a slash waits, cancellable, before it applies
    reporter_reward_parts: U32  # Perbill of what a reported offence slashed
    min_block_equivocation_parts: U32  # least fraction per kind (Perbill parts)
    min_vote_equivocation_parts: U32
    min_unresponsiveness_parts: U32
    max_unresponsiveness_parts: U32  # cap on the unresponsiveness fraction; 0: not an offence


DEFAULT_PARAMETERS = OffencesParameters(0, 0, 0, 0, 0, 0)


class BadParameters(DispatchError):
    """The parameters are out of range, or a slash would wait as long as the bonding duration."""

    code = 8


PARAMETERS = PalletParameters(NAME, __name__, OffencesParameters, DEFAULT_PARAMETERS, BadParameters)

# --- storage ------------------------------------------------------------------------------


@record
class OffenceId(Record):
    """One offence: ``time`` is ``[slot]``, ``[set_id, round, stage]`` or ``[era]`` by kind."""

    kind: U8
    offender: AccountId
    time: Annotated[tuple, ListOf(U64, 3)]


class ProvenOffence(NamedTuple):
    offence: OffenceId
    era: int  # the era it was committed in


@record
class StakeSlash(Record):
    who: AccountId
    exposed: Balance  # the stake in the offender's exposure
    amount: Balance  # ceil(fraction × exposed)


@record
class UnappliedSlash(Record):
    offender: AccountId
    kind: U8
    offence_era: U32
    fraction_parts: U32
    reporter: Annotated[bytes | None, OptionOf(AccountId)]  # None: detected, not reported
    stakes: Annotated[tuple, ListOf(StakeSlash, MAX_SLASHED_STAKES)]  # the offender's own first


# Every offence ever recorded, with its era: a second report of one is refused.
Reports = StorageMap(NAME, "Reports", OffenceId, U32)


@record
class KindOffender(Record):
    kind: U8
    offender: AccountId


# Who has a slash (waiting or applied) of which kind for an offence in each era still in the
# slashing window: one slash per offender, kind and era, and the correlated fraction's ``k``.
SlashedInEra = StorageMap(NAME, "SlashedInEra", U32, Annotated[tuple, ListOf(KindOffender, MAX_SLASHES_PER_ERA)], ())
# Slashes by the era at whose end they apply.
UnappliedSlashes = StorageMap(
    NAME, "UnappliedSlashes", U32, Annotated[tuple, ListOf(UnappliedSlash, MAX_SLASHES_PER_ERA)], ()
)

# --- events -------------------------------------------------------------------------------


@record
class OffenceRecorded(Record):
    kind: U8
    offender: AccountId
    era: U32
    fraction_parts: U32
    apply_era: U32  # the slash applies at the end of this era


@record
class SlashApplied(Record):
    offender: AccountId
    kind: U8
    slashed: Balance  # in all, from the offender and its backers


@record
class ReporterRewarded(Record):
    reporter: AccountId
    amount: Balance


@record
class SlashCancelled(Record):
    apply_era: U32
    offender: AccountId
    kind: U8


# --- errors -------------------------------------------------------------------------------


class IdenticalEvidence(DispatchError):
    """The two headers or votes are the same: that is no equivocation."""

    code = 0


class DifferentTimes(DispatchError):
    """The two headers are for different slots, or the votes for different (set, round, stage)."""

    code = 1


class DifferentOffenders(DispatchError):
    """The two headers have different authors, or the votes different voters."""

    code = 2


class BadSignature(DispatchError):
    """A seal or vote signature does not verify under this chain's genesis hash."""

    code = 3


class NotPunishable(DispatchError):
    """The offender cannot be punished now: nothing of its kind is at stake (e.g. a validator
    not elected in the current era)."""

    code = 4


class OutsideSlashingWindow(DispatchError):
    """The evidence is from an era before the slashing window (bonding duration minus slash
    deferral eras, the current one included), or from a later era than the current one."""

    code = 5


class DuplicateReport(DispatchError):
    """This offence has been recorded already: it is punished once."""

    code = 6


class NoSuchSlash(DispatchError):
    """An index names no unapplied slash of that era, or is listed twice."""

    code = 7


class UnknownKind(DispatchError):
    """No offence kind of this id is registered."""

    code = 9


class TooManySlashes(DispatchError):
    """MAX_SLASHES_PER_ERA slashes already wait for that era's end."""

    code = 10


# --- calls' arguments ---------------------------------------------------------------------


@record
class BlockEquivocation(Record):
    first: Header
    second: Header


@record
class VoteEquivocation(Record):
    first: SignedFinalityVote
    second: SignedFinalityVote


Evidence = Annotated[object, OneOf({0: BlockEquivocation, 1: VoteEquivocation})]


@record
class ReportEquivocationArgs(Record):
    evidence: Evidence


@record
class ReportEquivocationUnsignedArgs(Record):
    evidence: Evidence


@record
class CancelDeferredSlashArgs(Record):
    era: U32  # the era at whose end the slashes would apply
    indices: Annotated[tuple, ListOf(U32, MAX_SLASHES_PER_ERA)]


# --- pure computations --------------------------------------------------------------------


def compute_correlated_fraction(offenders: int, validators: int) -> Perbill:
    """``min(1, (3k/n)²)`` as ``floor(10^9 × 9k² / n²)`` parts (one rounding, down)."""
    if validators == 0:
        return Perbill(PERBILL_ACCURACY)
    return Perbill.from_rational_floor(9 * offenders * offenders, validators * validators)


def compute_slash_fraction(kind: int, offenders: int, validators: int, parameters: OffencesParameters) -> Perbill:
    """A validator kind's fraction: the correlated one, at least the kind's minimum
    (unresponsiveness: at most its cap)."""
    minimum = {
        KIND_BLOCK_EQUIVOCATION: parameters.min_block_equivocation_parts,
        KIND_VOTE_EQUIVOCATION: parameters.min_vote_equivocation_parts,
        KIND_UNRESPONSIVENESS: parameters.min_unresponsiveness_parts,
    }[kind]
    parts = max(minimum, compute_correlated_fraction(offenders, validators).parts)
    if kind == KIND_UNRESPONSIVENESS:
        parts = min(parts, parameters.max_unresponsiveness_parts)
    return Perbill(parts)


def compute_stake_slashes(stakes: tuple[tuple[bytes, int], ...], fraction: Perbill) -> tuple[StakeSlash, ...]:
    """Each stake's slash ``ceil(fraction × stake)`` (never above the stake)."""
    return tuple(StakeSlash(who, stake, fraction.mul_ceil(stake)) for who, stake in stakes)


def compute_raised_slash(slash: UnappliedSlash, fraction: Perbill) -> UnappliedSlash:
    """``slash`` at ``fraction`` if that is higher (a fraction never falls)."""
    if fraction.parts <= slash.fraction_parts:
        return slash
    stakes = compute_stake_slashes(tuple((stake.who, stake.exposed) for stake in slash.stakes), fraction)
    return replace(slash, fraction_parts=fraction.parts, stakes=stakes)


def compute_slash_problems(slash: UnappliedSlash, apply_era: int, kinds: set[int]) -> list[str]:
    """What is wrong with one unapplied slash: its kind, fraction, era or stakes."""
    problems = []
    where = f"the slash of {slash.offender.hex()} (kind {slash.kind}, era {slash.offence_era})"
    if slash.kind not in kinds or slash.fraction_parts > PERBILL_ACCURACY or slash.offence_era > apply_era:
        problems.append(f"{where} is malformed")
        return problems
    if not slash.stakes or slash.stakes[0].who != slash.offender:
        problems.append(f"{where} does not start with the offender's own stake")
    fraction = Perbill(slash.fraction_parts)
    for stake in slash.stakes:
        if stake.amount > stake.exposed or stake.amount != fraction.mul_ceil(stake.exposed):
            problems.append(f"{where} takes {stake.amount} of {stake.exposed} exposed by {stake.who.hex()}")
    return problems


def check_genesis_parameters(parameters: OffencesParameters, bonding_duration_eras: int) -> None:
    """Perbills in range, and a slash applies before the stake it hits can be withdrawn."""
    for field, parts in (
        ("reporterRewardPerbill", parameters.reporter_reward_parts),
        ("minBlockEquivocationPerbill", parameters.min_block_equivocation_parts),
        ("minVoteEquivocationPerbill", parameters.min_vote_equivocation_parts),
        ("minUnresponsivenessPerbill", parameters.min_unresponsiveness_parts),
        ("maxUnresponsivenessPerbill", parameters.max_unresponsiveness_parts),
    ):
        if not 0 <= parts <= PERBILL_ACCURACY:
            raise ValueError(f"offences.{field} is {parts}, outside 0..{PERBILL_ACCURACY} (parts per 10^9)")
    if (
        parameters.max_unresponsiveness_parts
        and parameters.min_unresponsiveness_parts > parameters.max_unresponsiveness_parts
    ):
        raise ValueError("offences.minUnresponsivenessPerbill exceeds maxUnresponsivenessPerbill")
    if bonding_duration_eras and parameters.slash_defer_eras >= bonding_duration_eras:
        raise ValueError(
            f"offences.slashDeferEras ({parameters.slash_defer_eras}) must be below staking.bondingDurationEras "
            f"({bonding_duration_eras}): stake unbonded in an offence's era must still be there when it is slashed"
        )


# --- state reads ----------------------------------------------------------------------------


def get_parameters(state: StateReader) -> OffencesParameters:
    return PARAMETERS.get(state)


def iter_reports(state: StateReader) -> Iterator[tuple[OffenceId, int]]:
    """Every recorded offence with its era (lists a map: not for block execution)."""
    return Reports.iter(state)


def is_reported(state: StateReader, offence: OffenceId) -> bool:
    return Reports.contains(state, offence)


# --- the pallet ---------------------------------------------------------------------------


class Offences(Pallet):
    """Also the runtime's :class:`~runtime.framework.traits.SlashingInterface` (for staking) and
    :class:`~runtime.framework.traits.OffenceReporter` (for pallets that prove faults)."""

    NAME = NAME
    STORAGE = (PARAMETERS.storage, Reports, SlashedInEra, UnappliedSlashes)
    EVENTS = (OffenceRecorded, SlashApplied, ReporterRewarded, SlashCancelled, PARAMETERS.event)
    ERRORS = (
        IdenticalEvidence,
        DifferentTimes,
        DifferentOffenders,
        BadSignature,
        NotPunishable,
        OutsideSlashingWindow,
        DuplicateReport,
        NoSuchSlash,
        BadParameters,
        UnknownKind,
        TooManySlashes,
    )
    CONSTANTS = {"maxSlashedStakes": MAX_SLASHED_STAKES, "maxSlashesPerEra": MAX_SLASHES_PER_ERA}

    def configure(
        self,
        *,
        currency: Currency,
        session: SessionInterface,
        staking: StakingInterface,
        validators: OffenderHandler,
        kinds: tuple[OffenceKind, ...] = (),
    ) -> None:
        """``currency`` pays reporters; ``session`` names the validator behind a signing key;
        ``staking`` keeps the eras; ``validators`` handles the built-in validator kinds, and
        ``kinds`` are further kinds other pallets report."""
        self.currency = currency
        self.session = session
        self.staking = staking
        builtin = tuple(
            OffenceKind(kind, name, validators, self._validator_fraction(kind))
            for kind, name in zip(
                VALIDATOR_KINDS, ("block equivocation", "vote equivocation", "unresponsiveness"), strict=True
            )
        )
        self.kinds = {kind.id: kind for kind in (*builtin, *kinds)}
        if len(self.kinds) != len(builtin) + len(kinds):
            raise ValueError("two offence kinds share an id")

    @staticmethod
    def _validator_fraction(kind: int) -> Callable[[StateReader, int, int], Perbill]:
        def compute(state: StateReader, offenders: int, population: int) -> Perbill:
            return compute_slash_fraction(kind, offenders, population, get_parameters(state))

        return compute

    # --- calls --------------------------------------------------------------------------

    @call(0, ReportEquivocationArgs, weight=1_000_000)
    def report_equivocation(self, ctx: DispatchContext, origin: Origin, args: ReportEquivocationArgs) -> None:
        """Prove an equivocation; the caller is rewarded when its slash applies."""
        self._report_equivocation(ctx, args.evidence, ensure_signed(origin))

    @call(2, ReportEquivocationUnsignedArgs, weight=1_000_000, origin=ORIGIN_NONE)
    def report_equivocation_unsigned(
        self, ctx: DispatchContext, origin: Origin, args: ReportEquivocationUnsignedArgs
    ) -> None:
        """The same proof put in a block by its author (what nodes' consensus detects); no reward,
        and a block carrying a report that fails is invalid."""
        self._report_equivocation(ctx, args.evidence, None)

    @call(1, CancelDeferredSlashArgs, weight=200_000, origin=ORIGIN_ROOT, governable=True)
    def cancel_deferred_slash(self, ctx: DispatchContext, origin: Origin, args: CancelDeferredSlashArgs) -> None:
        """Drop the unapplied slashes at ``indices`` of those applying at the end of ``era``."""
        slashes = UnappliedSlashes.get(ctx.state, args.era)
        if len(set(args.indices)) != len(args.indices) or any(index >= len(slashes) for index in args.indices):
            raise NoSuchSlash()
        kept = tuple(slash for index, slash in enumerate(slashes) if index not in args.indices)
        if kept:
            UnappliedSlashes.put(ctx.state, args.era, kept)
        else:
            UnappliedSlashes.remove(ctx.state, args.era)
        for index in sorted(args.indices):
            ctx.deposit_event(SlashCancelled(args.era, slashes[index].offender, slashes[index].kind))

    # Governance: new slash fractions, reporter reward and deferral, checked as genesis checks
    # them; slashes already recorded keep their fractions and eras.
    set_parameters = PARAMETERS.call(3, weight=100_000)

    def check_parameters(self, state: StateReader, parameters: OffencesParameters) -> None:
        check_genesis_parameters(parameters, self.staking.get_bonding_duration(state))

    # --- evidence of validator equivocations --------------------------------------------

    def _report_equivocation(self, ctx: DispatchContext, evidence: object, reporter: bytes | None) -> None:
        if isinstance(evidence, BlockEquivocation):
            proven = self.check_block_equivocation(ctx.state, evidence, ctx.genesis_hash)
        else:
            assert isinstance(evidence, VoteEquivocation)
            proven = self.check_vote_equivocation(ctx.state, evidence, ctx.genesis_hash)
        self.record_offence(ctx, proven.offence, proven.era, reporter)

    def get_slashing_window(self, state: StateReader) -> int:
        """How many eras back, the current one included, evidence may come from: the bonding
        duration minus the slash deferral (Substrate's slashing window), so a slash always applies
        before the stake it hits can be withdrawn; at least the current era."""
        bonding = self.staking.get_bonding_duration(state)
        return max(1, bonding - get_parameters(state).slash_defer_eras)

    def check_evidence_era(self, state: StateReader, *numbers: int) -> int:
        """The era the evidence's blocks belong to (the first's), if every one is in the window."""
        current = self.staking.get_current_era(state)
        eras = [self.staking.get_era_of_block(state, number) for number in numbers]
        oldest = current - self.get_slashing_window(state) + 1
        if any(not oldest <= era <= current for era in eras):
            raise OutsideSlashingWindow()
        return eras[0]

    def check_block_equivocation(
        self, state: StateReader, evidence: BlockEquivocation, genesis_hash: bytes
    ) -> ProvenOffence:
        """The offence two headers prove, or the error that makes them no proof."""
        first, second = evidence.first, evidence.second
        if first.hash == second.hash:
            raise IdenticalEvidence()
        if first.slot != second.slot:
            raise DifferentTimes()
        if first.author != second.author:
            raise DifferentOffenders()
        era = self.check_evidence_era(state, first.number, second.number)
        # Headers name the author's session signing key; the offender is the validator that owns it.
        offender = self.session.get_key_owner(state, first.author) or first.author
        offence = OffenceId(KIND_BLOCK_EQUIVOCATION, offender, (first.slot,))
        self.check_offence(state, offence, era)
        try:
            verify_seal(first, genesis_hash)
            verify_seal(second, genesis_hash)
        except (InvalidKey, InvalidSignature):
            raise BadSignature() from None
        return ProvenOffence(offence, era)

    def check_vote_equivocation(
        self, state: StateReader, evidence: VoteEquivocation, genesis_hash: bytes
    ) -> ProvenOffence:
        """The offence two signed votes prove, or the error that makes them no proof."""
        first, second = evidence.first, evidence.second
        if first.vote == second.vote:
            raise IdenticalEvidence()
        time = (first.vote.set_id, first.vote.round, first.vote.stage)
        if time != (second.vote.set_id, second.vote.round, second.vote.stage):
            raise DifferentTimes()
        if first.voter != second.voter:
            raise DifferentOffenders()
        era = self.check_evidence_era(state, first.vote.target_number, second.vote.target_number)
        # Votes are signed with the voter's session signing key; the offender is the validator that owns it.
        offender = self.session.get_key_owner(state, first.voter) or first.voter
        offence = OffenceId(KIND_VOTE_EQUIVOCATION, offender, time)
        self.check_offence(state, offence, era)
        try:
            verify_finality_vote(first, genesis_hash)
            verify_finality_vote(second, genesis_hash)
        except (InvalidKey, InvalidSignature):
            raise BadSignature() from None
        return ProvenOffence(offence, era)

    # --- recording and slashing (any kind) ----------------------------------------------

    def report_offence(
        self, ctx: DispatchContext, kind: int, offender: bytes, time: tuple[int, ...], reporter: bytes | None
    ) -> None:
        """Record an offence another pallet proved, committed in the current era (its
        ``OffenceReporter``)."""
        if kind not in self.kinds:
            raise UnknownKind()
        offence = OffenceId(kind, offender, time)
        era = self.staking.get_current_era(ctx.state)
        self.check_offence(ctx.state, offence, era)
        self.record_offence(ctx, offence, era, reporter)

    def check_offence(self, state: StateReader, offence: OffenceId, era: int) -> None:
        """The offender can be punished for ``era``, and the offence was not recorded before."""
        if self.kinds[offence.kind].handler.get_stakes(state, offence.offender, era) is None:
            raise NotPunishable()
        if Reports.contains(state, offence):
            raise DuplicateReport()

    def record_offence(self, ctx: DispatchContext, offence: OffenceId, era: int, reporter: bytes | None) -> None:
        """Record ``offence`` (checked), committed in ``era``: defer its slash ``slash_defer_eras``
        from now, raise the waiting slashes of its kind and era to the new fraction, and tell the
        offender's handler. An offender with a slash of that kind and era already (waiting or
        applied) gets no second one."""
        kind = self.kinds[offence.kind]
        apply_era = self.staking.get_current_era(ctx.state) + get_parameters(ctx.state).slash_defer_eras
        slashed = SlashedInEra.get(ctx.state, era)
        offenders = {entry.offender for entry in slashed if entry.kind == offence.kind}
        fraction = kind.compute_fraction(
            ctx.state, len(offenders | {offence.offender}), kind.handler.get_population(ctx.state, era)
        )
        pending = dict(UnappliedSlashes.iter(ctx.state))
        if offence.offender not in offenders:
            waiting = pending.get(apply_era, ())
            if len(waiting) >= MAX_SLASHES_PER_ERA or len(slashed) >= MAX_SLASHES_PER_ERA:
                raise TooManySlashes()
            stakes = kind.handler.get_stakes(ctx.state, offence.offender, era)
            assert stakes is not None, "check_offence came first"
            new = UnappliedSlash(
                offence.offender, offence.kind, era, fraction.parts, reporter, compute_stake_slashes(stakes, fraction)
            )
            pending[apply_era] = (*waiting, new)
            SlashedInEra.put(ctx.state, era, (*slashed, KindOffender(offence.kind, offence.offender)))
        for due_era, slashes in sorted(pending.items()):
            raised = tuple(
                compute_raised_slash(slash, fraction)
                if slash.kind == offence.kind and slash.offence_era == era
                else slash
                for slash in slashes
            )
            if raised != UnappliedSlashes.get(ctx.state, due_era):
                UnappliedSlashes.put(ctx.state, due_era, raised)
        Reports.put(ctx.state, offence, era)
        kind.handler.on_offence(ctx, offence.offender)
        ctx.deposit_event(OffenceRecorded(offence.kind, offence.offender, era, fraction.parts, apply_era))

    def apply_slash(self, ctx: DispatchContext, slash: UnappliedSlash) -> None:
        """Take every stake's slash into the treasury, then pay the reporter its reward from there."""
        handler = self.kinds[slash.kind].handler
        slashed = sum(
            handler.slash(ctx, slash.offender, stake.who, stake.amount, TREASURY_ACCOUNT) for stake in slash.stakes
        )
        ctx.deposit_event(SlashApplied(slash.offender, slash.kind, slashed))
        reward = Perbill(get_parameters(ctx.state).reporter_reward_parts).mul_floor(slashed)
        if slash.reporter is None or reward == 0:
            return
        try:
            self.currency.check_deposit(ctx.state, slash.reporter, reward)
        except (ExistentialDeposit, Overflow):
            return  # the treasury keeps a reward its reporter cannot receive
        self.currency.transfer(ctx, TREASURY_ACCOUNT, slash.reporter, reward, keep_alive=True)
        ctx.deposit_event(ReporterRewarded(slash.reporter, reward))

    def record_unresponsive(self, ctx: DispatchContext, era: int, unresponsive: list[bytes]) -> None:
        """An unresponsiveness offence for each validator that went an epoch of ``era`` idle."""
        if get_parameters(ctx.state).max_unresponsiveness_parts == 0:
            return
        handler = self.kinds[KIND_UNRESPONSIVENESS].handler
        for validator in unresponsive:
            offence = OffenceId(KIND_UNRESPONSIVENESS, validator, (era,))
            if handler.get_stakes(ctx.state, validator, era) is not None and not Reports.contains(ctx.state, offence):
                self.record_offence(ctx, offence, era, None)

    # --- the slashing interface (for staking) -------------------------------------------

    def get_slash_defer_eras(self, state: StateReader) -> int:
        return get_parameters(state).slash_defer_eras

    def get_last_pending_slash_era(self, state: StateReader) -> int | None:
        return max((era for era, _ in UnappliedSlashes.iter(state)), default=None)

    def get_era_end_weight(self, state: StateReader, era: int, unresponsive: int) -> int:
        """Each unresponsive validator's offence recorded (its exposure read; the era's
        waiting slashes read and written again), then one transfer per stake of every slash
        due and per reporter paid."""
        due = UnappliedSlashes.get(state, era)
        waiting = sum(len(slashes) for _, slashes in UnappliedSlashes.iter(state))
        per_record = 4 * WRITE_WEIGHT + (1 + waiting + unresponsive) * READ_WEIGHT
        return unresponsive * per_record + sum(len(slash.stakes) + 1 for slash in due) * CURRENCY_WEIGHT

    def on_era_end(self, ctx: DispatchContext, era: int, unresponsive: list[bytes]) -> None:
        """Record ``era``'s unresponsive validators, then apply the slashes due at its end."""
        self.record_unresponsive(ctx, era, unresponsive)
        for slash in UnappliedSlashes.get(ctx.state, era):
            self.apply_slash(ctx, slash)
        UnappliedSlashes.remove(ctx.state, era)
        # The era that leaves the slashing window as the next begins can get no further slash.
        closed = era + 1 - self.get_slashing_window(ctx.state)
        for slashed_era, _ in list(SlashedInEra.iter(ctx.state)):
            if slashed_era <= closed:
                SlashedInEra.remove(ctx.state, slashed_era)

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """The parameters (no section: the defaults, every fraction 0, no unresponsiveness)."""
        parameters = PARAMETERS.from_genesis(config)
        self.check_parameters(ctx.state, parameters)
        PARAMETERS.storage.put(ctx.state, parameters)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        """The parameters only: recorded offences and unapplied slashes do not carry over."""
        return PARAMETERS.to_genesis(get_parameters(state))

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        problems = []
        current_era = self.staking.get_current_era(state)
        slashed = {era: set(entries) for era, entries in SlashedInEra.iter(state)}
        oldest = current_era - self.get_slashing_window(state) + 1
        for apply_era, slashes in UnappliedSlashes.iter(state):
            for slash in slashes:
                recorded = KindOffender(slash.kind, slash.offender) in slashed.get(slash.offence_era, set())
                if slash.offence_era >= oldest and not recorded:
                    problems.append(f"a waiting slash of {slash.offender.hex()} is not recorded for its era")
            if apply_era < current_era:
                problems.append(f"slashes due at the end of era {apply_era} were never applied")
            keys = [(slash.offender, slash.kind, slash.offence_era) for slash in slashes]
            if len(set(keys)) != len(keys):
                problems.append(f"era {apply_era} holds two slashes for one offender, kind and era")
            problems += [
                problem for slash in slashes for problem in compute_slash_problems(slash, apply_era, set(self.kinds))
            ]
        return problems

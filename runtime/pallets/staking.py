"""staking: bonded stake, validators and delegators, eras, the election and era payouts.

Stake never leaves its owner's account: bonding sets a balances lock (``STAKING_LOCK_ID``) over
the bonded amount, and only ``withdraw_unbonded`` shrinks it, ``bonding_duration`` eras after
``unbond``. Every account is its own controller. ``docs/economics.md`` explains it for operators.

An era is ``era_length_blocks`` blocks, a whole number of session epochs. Staking is session's
:class:`~runtime.framework.traits.SessionManager`: at every epoch's last block session asks it to
end the session (``end_session``), and the block whose number is a multiple of the era length
ends the era there (after emission has paid that block into the consensus reward pool):

1. **payout** of the ending era. ``R`` is what the consensus reward pool holds above its
   existential deposit. An elected validator ``v`` with ``p_v`` of the era's ``P`` reward points
   (one per block authored) earns ``R_v = floor(R × p_v / P)``; its commission
   ``c_v = floor(commission_v × R_v)`` goes to it first, and the rest ``R_v − c_v`` is shared pro
   rata to the stakes in its exposure snapshot (its own bond included):
   ``floor((R_v − c_v) × stake / total)``. Every division rounds down and whatever is not paid
   stays in the pool for the next era: nothing is ever created.
2. **election** of the next era's set: the ``validator_count`` validators with the most backing
   (own active bond + delegations to them), among those that are not chilled and bond at least
   ``min_validator_bond``; ties go to the lower account id. The set goes back to session, whose
   epoch rotation in the same block makes it the current set, so block authorship follows it
   from the new era's first block; if nobody qualifies the authorities stay as they are (and
   nobody is exposed, so nothing is paid for that era).

Between the two steps the slashing interface (the offences pallet) gets the elected validators
that went a whole epoch of the era with no reward point (no block, no noted finality vote;
``record_idle_validators`` checks at each epoch's end): it records their offences, chills
offenders and applies the slashes due, so chilled offenders already miss this election.
Staking is the offences pallet's :class:`~runtime.framework.traits.OffenderHandler` for
validators: a slash (``slash``) takes a bond pro rata from its active part and unlocking chunks
into the slash's destination, keeping ledger, lock, delegations and ``TotalBonded`` consistent.

Worked payout (``tests/test_staking.py::test_worked_payout_example``): validator V (commission
10 %) bonds 1,000, delegators D1 and D2 delegate 3,000 and 6,000 to it, V authors every block of
the era and the pool holds 1,000,007 above its existential deposit at the era's end. Then
``R_V = 1,000,007``, the commission is ``floor(0.1 × 1,000,007) = 100,000``, and the remaining
900,007 is shared 1:3:6: V ``floor(900,007 × 1,000 / 10,000) = 90,000``, D1 ``270,002``, D2
``540,004``. V receives 190,000, 1,000,006 is paid in all, and 1 base unit stays in the pool.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from runtime.abc import StateReader
from runtime.accounts import CONSENSUS_REWARD_POOL_ACCOUNT
from runtime.block import MAX_AUTHORITIES
from runtime.framework.pallet import DispatchContext, DispatchError, Origin, Pallet, call, ensure_signed
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageMap, StorageValue
from runtime.framework.traits import (
    Currency,
    ExistentialDeposit,
    InsufficientBalance,
    SessionInterface,
    SlashingInterface,
)
from runtime.framework.weights import CURRENCY_WEIGHT, READ_WEIGHT, WRITE_WEIGHT
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.arithmetic import (
    PERBILL_ACCURACY,
    Perbill,
    checked_add,
    checked_sub,
    compute_multiply_divide_floor,
    saturating_sub,
)
from runtime.primitives.codec import U8, U32, AccountId, Balance, Boolean, ListOf, Record, record

NAME = "staking"

# --- config -------------------------------------------------------------------------------

STAKING_LOCK_ID = b"staking "
MAX_UNLOCKING_CHUNKS = 32  # per ledger; unbonding in the same era merges into one chunk
MAX_DELEGATIONS = 16  # targets per delegator
MAX_EXPOSED_DELEGATORS = 512  # per validator and era: the largest delegations count, the rest not
# Past eras whose elected sets and exposures are kept: evidence of an offence in one of them may
# still be reported (the offences pallet's slashing window never reaches further back).
HISTORY_DEPTH = 28
MAX_VALIDATORS = MAX_AUTHORITIES


@record
class StakingParameters(Record):
    """Fixed per chain spec; governance may change them later."""

    era_length_blocks: U32  # 0: eras never end (test chains without a staking section)
    bonding_duration_eras: U32  # eras between unbond and withdraw
    validator_count: U32  # how many validators the election picks
    min_validator_bond: Balance  # least own active bond to validate and to be elected
    max_commission_parts: U32  # Perbill parts
    max_commission_change_parts: U32  # Perbill parts a commission may move within one era


DEFAULT_PARAMETERS = StakingParameters(
    era_length_blocks=0,
    bonding_duration_eras=0,
    validator_count=0,
    min_validator_bond=0,
    max_commission_parts=0,
    max_commission_change_parts=0,
)


class BadParameters(DispatchError):
    """The parameters are out of range, change the era length, or let stake be withdrawn
    before a slash for it applies."""

    code = 19


PARAMETERS = PalletParameters(NAME, __name__, StakingParameters, DEFAULT_PARAMETERS, BadParameters)

# --- storage ------------------------------------------------------------------------------


@record
class UnlockChunk(Record):
    value: Balance
    era: U32  # the era from which it may be withdrawn


@record
class StakingLedger(Record):
    active: Balance
    unlocking: Annotated[tuple, ListOf(UnlockChunk, MAX_UNLOCKING_CHUNKS)]

    @property
    def total(self) -> int:
        return self.active + sum(chunk.value for chunk in self.unlocking)


@record
class ValidatorPrefs(Record):
    """Kept while the account is bonded, so chilling and validating again cannot bypass the
    per-era commission change limit."""

    commission_parts: U32
    baseline_parts: U32  # the commission when the era ``baseline_era`` began for this validator
    baseline_era: U32
    active: Boolean  # False once chilled


@record
class Delegation(Record):
    validator: AccountId
    amount: Balance


@record
class IndividualExposure(Record):
    who: AccountId
    value: Balance


@record
class Exposure(Record):
    """Who backs an elected validator in the current era, and with how much."""

    total: Balance
    own: Balance
    others: Annotated[tuple, ListOf(IndividualExposure, MAX_EXPOSED_DELEGATORS)]
    commission_parts: U32  # the validator's commission when elected: the era pays at this rate


CurrentEra = StorageValue(NAME, "CurrentEra", U32, 0)
Ledger = StorageMap(NAME, "Ledger", AccountId, StakingLedger)
TotalBonded = StorageValue(NAME, "TotalBonded", Balance, 0)
Validators = StorageMap(NAME, "Validators", AccountId, ValidatorPrefs)
Delegations = StorageMap(NAME, "Delegations", AccountId, Annotated[tuple, ListOf(Delegation, MAX_DELEGATIONS)], ())
# The current era's elected set (in election order) and each one's exposure snapshot.
Elected = StorageValue(NAME, "Elected", Annotated[tuple, ListOf(AccountId, MAX_VALIDATORS)], ())
Exposures = StorageMap(NAME, "Exposures", AccountId, Exposure)


@record
class EraValidator(Record):
    era: U32
    validator: AccountId


# The same for the last HISTORY_DEPTH past eras (the current era's are Elected and Exposures).
ErasElected = StorageMap(NAME, "ErasElected", U32, Annotated[tuple, ListOf(AccountId, MAX_VALIDATORS)], ())
ErasExposures = StorageMap(NAME, "ErasExposures", EraValidator, Exposure)
# Points each elected validator earned in the current era: one per block it authored and one per
# finality vote a block noted (the finality pallet).
RewardPoints = StorageMap(NAME, "RewardPoints", AccountId, U32, 0)
# The elected validators that earned a point in the current epoch (cleared at each epoch's end).
ActiveInEpoch = StorageMap(NAME, "ActiveInEpoch", AccountId, U8, 0)
# The elected validators that went a whole epoch of this era without a point: unresponsive.
IdleInEra = StorageValue(NAME, "IdleInEra", Annotated[tuple, ListOf(AccountId, MAX_VALIDATORS)], ())

# --- events -------------------------------------------------------------------------------


@record
class Bonded(Record):
    who: AccountId
    amount: Balance


@record
class Unbonded(Record):
    who: AccountId
    amount: Balance
    withdrawable_era: U32


@record
class Withdrawn(Record):
    who: AccountId
    amount: Balance


@record
class Rebonded(Record):
    who: AccountId
    amount: Balance


@record
class ValidatorPrefsSet(Record):
    who: AccountId
    commission_parts: U32


@record
class Delegated(Record):
    who: AccountId
    targets: U32
    amount: Balance


@record
class Chilled(Record):
    who: AccountId


@record
class Rewarded(Record):
    who: AccountId
    amount: Balance


@record
class EraPaid(Record):
    era: U32
    paid: Balance
    left_in_pool: Balance


@record
class NewEra(Record):
    era: U32
    elected: U32  # 0: nobody qualified, the authorities were kept


@record
class Slashed(Record):
    who: AccountId
    amount: Balance  # taken from the bond and moved to the treasury


# --- errors -------------------------------------------------------------------------------


class NotBonded(DispatchError):
    """The account has not bonded."""

    code = 0


class AlreadyBonded(DispatchError):
    """The account has bonded already; use bond_extra."""

    code = 1


class InsufficientFunds(DispatchError):
    """The free balance cannot cover the bonded total."""

    code = 2


class BondTooSmall(DispatchError):
    """A first bond must be at least the existential deposit."""

    code = 3


class ZeroAmount(DispatchError):
    """The amount must not be zero."""

    code = 4


class InsufficientActive(DispatchError):
    """The amount exceeds the active bond."""

    code = 5


class TooManyUnlockChunks(DispatchError):
    """Too many unlocking chunks; withdraw or rebond first."""

    code = 6


class NotEnoughUnlocking(DispatchError):
    """The amount exceeds what is unlocking."""

    code = 7


class NothingToWithdraw(DispatchError):
    """No unlocking chunk has reached its era yet."""

    code = 8


class InsufficientBond(DispatchError):
    """A validating account's active bond would be below the minimum validator bond."""

    code = 9


class CommissionTooHigh(DispatchError):
    """The commission exceeds the maximum commission."""

    code = 10


class CommissionChangeTooLarge(DispatchError):
    """The commission would move more than the maximum change within this era."""

    code = 11


class IsDelegating(DispatchError):
    """The account delegates; chill before validating."""

    code = 12


class IsValidating(DispatchError):
    """The account validates; chill before delegating."""

    code = 13


class NotAValidator(DispatchError):
    """A delegation target is not a validator (or is chilled)."""

    code = 14


class DuplicateTarget(DispatchError):
    """A delegation target is listed twice."""

    code = 15


class DelegationsExceedActive(DispatchError):
    """Delegations would exceed the active bond (delegate less before unbonding)."""

    code = 16


class TooManyTargets(DispatchError):
    """At most MAX_DELEGATIONS targets."""

    code = 17


class AlreadyChilled(DispatchError):
    """The account neither validates nor delegates."""

    code = 18


# --- calls' arguments ---------------------------------------------------------------------


@record
class BondArgs(Record):
    value: Balance


@record
class BondExtraArgs(Record):
    value: Balance


@record
class UnbondArgs(Record):
    value: Balance


@record
class WithdrawUnbondedArgs(Record):
    pass


@record
class RebondArgs(Record):
    value: Balance


@record
class ValidateArgs(Record):
    commission_parts: U32


@record
class DelegateArgs(Record):
    targets: Annotated[tuple, ListOf(Delegation, MAX_DELEGATIONS)]


@record
class ChillArgs(Record):
    pass


# --- pure computations --------------------------------------------------------------------


def compute_unbonded(ledger: StakingLedger, value: int, withdrawable_era: int) -> StakingLedger:
    """``ledger`` with ``value`` moved from active into a chunk for ``withdrawable_era`` (merged
    with a chunk of the same era, so one era's unbonds take one chunk)."""
    chunks = list(ledger.unlocking)
    if chunks and chunks[-1].era == withdrawable_era:
        chunks[-1] = UnlockChunk(chunks[-1].value + value, withdrawable_era)
    else:
        chunks.append(UnlockChunk(value, withdrawable_era))
    return StakingLedger(ledger.active - value, tuple(chunks))


def compute_rebonded(ledger: StakingLedger, value: int) -> StakingLedger:
    """``ledger`` with ``value`` (≤ what is unlocking) moved back to active, newest chunks first."""
    chunks, left = list(ledger.unlocking), value
    while left:
        last = chunks.pop()
        taken = min(left, last.value)
        if taken < last.value:
            chunks.append(UnlockChunk(last.value - taken, last.era))
        left -= taken
    return StakingLedger(ledger.active + value, tuple(chunks))


def compute_withdrawable(ledger: StakingLedger, current_era: int) -> tuple[int, StakingLedger]:
    """``(amount, ledger)``: the chunks whose era has come, and the ledger without them."""
    released = sum(chunk.value for chunk in ledger.unlocking if chunk.era <= current_era)
    kept = tuple(chunk for chunk in ledger.unlocking if chunk.era > current_era)
    return released, StakingLedger(ledger.active, kept)


def compute_commission_allowed(prefs: ValidatorPrefs | None, new_parts: int, era: int, max_change: int) -> bool:
    """Whether ``new_parts`` is within ``max_change`` of the commission the era began with."""
    if prefs is None:
        return True
    baseline = prefs.baseline_parts if prefs.baseline_era == era else prefs.commission_parts
    return abs(new_parts - baseline) <= max_change


def compute_election(
    candidates: list[tuple[bytes, int, int]], backers: dict[bytes, list[IndividualExposure]], count: int
) -> list[tuple[bytes, Exposure]]:
    """The top ``count`` of ``candidates`` ``(validator, own bond, commission)`` by total backing,
    ties to the lower account id, each with its exposure (the largest ``MAX_EXPOSED_DELEGATORS``
    delegations count; the others back nothing this era)."""
    exposures = []
    for validator, own, commission in candidates:
        others = sorted(backers.get(validator, []), key=lambda backer: (-backer.value, backer.who))
        others = others[:MAX_EXPOSED_DELEGATORS]
        total = own + sum(backer.value for backer in others)
        exposures.append(
            (validator, Exposure(total, own, tuple(sorted(others, key=lambda backer: backer.who)), commission))
        )
    exposures.sort(key=lambda item: (-item[1].total, item[0]))
    return exposures[:count]


def compute_validator_payouts(
    available: int, points: dict[bytes, int], commissions: dict[bytes, int]
) -> dict[bytes, tuple[int, int]]:
    """Per validator ``(R_v, commission)``: ``R_v = floor(available × p_v / P)`` and the
    commission ``floor(commission_v × R_v)`` (see the module docstring)."""
    total_points = sum(points.values())
    if total_points == 0:
        return {}
    payouts = {}
    for validator, validator_points in points.items():
        reward = compute_multiply_divide_floor(available, validator_points, total_points)
        payouts[validator] = (reward, Perbill(commissions[validator]).mul_floor(reward))
    return payouts


def compute_exposure_shares(exposure: Exposure, validator: bytes, shared: int) -> list[tuple[bytes, int]]:
    """``shared`` split pro rata to the stakes in ``exposure`` (the validator's own first), floored."""
    if exposure.total == 0:
        return []
    stakes = [(validator, exposure.own), *((backer.who, backer.value) for backer in exposure.others)]
    return [(who, compute_multiply_divide_floor(shared, stake, exposure.total)) for who, stake in stakes]


def compute_slashed_ledger(ledger: StakingLedger, amount: int) -> StakingLedger:
    """``ledger`` less ``amount`` (at most its total), taken pro rata from the active bond and
    every unlocking chunk: a chunk ``c`` loses ``floor(amount × c / total)`` and the active bond
    the rest; the few units of rounding the active bond cannot cover come from the newest chunks."""
    total = ledger.total
    cuts = [compute_multiply_divide_floor(amount, chunk.value, total) for chunk in ledger.unlocking]
    active_cut = min(ledger.active, amount - sum(cuts))
    left = amount - sum(cuts) - active_cut
    values = [chunk.value - cut for chunk, cut in zip(ledger.unlocking, cuts, strict=True)]
    for index in reversed(range(len(values))):
        taken = min(left, values[index])
        values[index] -= taken
        left -= taken
    chunks = tuple(
        UnlockChunk(value, chunk.era) for value, chunk in zip(values, ledger.unlocking, strict=True) if value
    )
    return StakingLedger(ledger.active - active_cut, chunks)


def compute_slashed_delegations(
    delegations: tuple[Delegation, ...], validator: bytes, cut: int, active: int
) -> tuple[Delegation, ...]:
    """The delegation to ``validator`` lowered by ``cut`` (dropped at zero); if the rest still
    exceeds ``active``, the last delegations shrink until the sum fits."""
    lowered = [
        Delegation(delegation.validator, saturating_sub(delegation.amount, cut))
        if delegation.validator == validator
        else delegation
        for delegation in delegations
    ]
    excess = saturating_sub(sum(delegation.amount for delegation in lowered), active)
    for index in reversed(range(len(lowered))):
        taken = min(excess, lowered[index].amount)
        lowered[index] = Delegation(lowered[index].validator, lowered[index].amount - taken)
        excess -= taken
    return tuple(delegation for delegation in lowered if delegation.amount)


# --- state reads --------------------------------------------------------------------------


def get_parameters(state: StateReader) -> StakingParameters:
    return PARAMETERS.get(state)


def get_ledger(state: StateReader, who: bytes) -> StakingLedger:
    ledger = Ledger.get(state, who)
    if ledger is None:
        raise NotBonded()
    return ledger


def is_validating(state: StateReader, who: bytes) -> bool:
    prefs = Validators.get(state, who)
    return prefs is not None and prefs.active


def compute_block_era(number: int, era_length: int) -> int:
    """The era block ``number`` belongs to: blocks ``1..L`` are era 0 (no eras: always 0)."""
    if era_length == 0 or number == 0:
        return 0
    return (number - 1) // era_length


def is_era_end(state: StateReader, number: int) -> bool:
    era_length = get_parameters(state).era_length_blocks
    return era_length != 0 and number % era_length == 0


def get_exposure_at(state: StateReader, validator: bytes, era: int) -> Exposure | None:
    """``validator``'s exposure in ``era``: the current one, or a past one still kept."""
    if era == CurrentEra.get(state):
        return Exposures.get(state, validator)  # type: ignore[no-any-return]
    return ErasExposures.get(state, EraValidator(era, validator))  # type: ignore[no-any-return]


def get_elected_at(state: StateReader, era: int) -> tuple[bytes, ...]:
    """The set elected for ``era``: the current one, or a past one still kept (else empty)."""
    return Elected.get(state) if era == CurrentEra.get(state) else ErasElected.get(state, era)  # type: ignore[no-any-return]


def get_unresponsive(state: StateReader) -> list[bytes]:
    """The current era's elected validators that went a whole epoch of it (so far) with neither a
    block nor a noted finality vote, in election order."""
    idle = set(IdleInEra.get(state))
    return [validator for validator in Elected.get(state) if validator in idle]


def get_candidates(
    state: StateReader,
) -> tuple[list[tuple[bytes, int, int]], dict[bytes, list[IndividualExposure]]]:
    """The validators that may be elected (own bond, commission), and the delegations to them."""
    minimum = get_parameters(state).min_validator_bond
    candidates = []
    for validator, prefs in Validators.iter(state):
        own = get_ledger(state, validator).active
        if prefs.active and own >= minimum:
            candidates.append((validator, own, prefs.commission_parts))
    eligible = {candidate[0] for candidate in candidates}
    backers: dict[bytes, list[IndividualExposure]] = {}
    for delegator, delegations in Delegations.iter(state):
        for delegation in delegations:
            if delegation.validator in eligible:
                backers.setdefault(delegation.validator, []).append(IndividualExposure(delegator, delegation.amount))
    return candidates, backers


def check_validate(state: StateReader, who: bytes, commission_parts: int) -> None:
    parameters = get_parameters(state)
    ledger = get_ledger(state, who)
    if Delegations.get(state, who):
        raise IsDelegating()
    if ledger.active < parameters.min_validator_bond:
        raise InsufficientBond()
    if commission_parts > parameters.max_commission_parts:
        raise CommissionTooHigh()
    prefs = Validators.get(state, who)
    if not compute_commission_allowed(
        prefs, commission_parts, CurrentEra.get(state), parameters.max_commission_change_parts
    ):
        raise CommissionChangeTooLarge()


def check_genesis_parameters(parameters: StakingParameters, *, has_stakers: bool) -> None:
    """Perbills in range; a chain with stakers needs eras and at least one validator seat (a
    test chain without stakers may leave both 0: no eras, nobody elected)."""
    if has_stakers and parameters.era_length_blocks == 0:
        raise ValueError("staking.eraLengthBlocks must be at least 1 when there are stakers")
    if has_stakers and parameters.validator_count == 0:
        raise ValueError("staking.validatorCount must be at least 1 when there are stakers")
    for field, parts in (
        ("maxCommissionPerbill", parameters.max_commission_parts),
        ("maxCommissionChangePerbill", parameters.max_commission_change_parts),
    ):
        if not 0 <= parts <= PERBILL_ACCURACY:
            raise ValueError(f"staking.{field} is {parts}, outside 0..{PERBILL_ACCURACY} (parts per 10^9)")


# --- mutations of this pallet's own storage -----------------------------------------------


def put_validator(ctx: DispatchContext, who: bytes, commission_parts: int) -> None:
    era = CurrentEra.get(ctx.state)
    prefs = Validators.get(ctx.state, who)
    baseline = commission_parts if prefs is None else prefs.commission_parts
    if prefs is not None and prefs.baseline_era == era:
        baseline = prefs.baseline_parts
    Validators.put(ctx.state, who, ValidatorPrefs(commission_parts, baseline, era, True))
    ctx.deposit_event(ValidatorPrefsSet(who, commission_parts))


def chill_offender(ctx: DispatchContext, who: bytes) -> None:
    """Leave the next elections until ``who`` calls ``validate`` again (no-op if not validating)."""
    prefs = Validators.get(ctx.state, who)
    if prefs is not None and prefs.active:
        Validators.put(ctx.state, who, replace(prefs, active=False))
        ctx.deposit_event(Chilled(who))


def keep_history(ctx: DispatchContext, era: int) -> None:
    """File ``era``'s elected set and exposures (it is ending) among the past eras kept, and
    forget the era that falls out of the last HISTORY_DEPTH."""
    elected = Elected.get(ctx.state)
    ErasElected.put(ctx.state, era, elected)
    for validator in elected:
        ErasExposures.put(ctx.state, EraValidator(era, validator), Exposures.get(ctx.state, validator))
    forgotten = era - HISTORY_DEPTH
    if forgotten >= 0:
        for validator in ErasElected.get(ctx.state, forgotten):
            ErasExposures.remove(ctx.state, EraValidator(forgotten, validator))
        ErasElected.remove(ctx.state, forgotten)


def elect(ctx: DispatchContext) -> list[bytes]:
    """Elect the next era's set and snapshot its exposures (module docstring, step 2)."""
    for validator, _ in list(Exposures.iter(ctx.state)):
        Exposures.remove(ctx.state, validator)
    candidates, backers = get_candidates(ctx.state)
    elected = compute_election(candidates, backers, get_parameters(ctx.state).validator_count)
    for validator, exposure in elected:
        Exposures.put(ctx.state, validator, exposure)
    Elected.put(ctx.state, tuple(validator for validator, _ in elected))
    return [validator for validator, _ in elected]


# --- the pallet ---------------------------------------------------------------------------


class Staking(Pallet):
    """Also session's :class:`~runtime.framework.traits.SessionManager`, the runtime's
    :class:`~runtime.framework.traits.StakingInterface` and the offences pallet's
    :class:`~runtime.framework.traits.OffenderHandler` for validators."""

    NAME = NAME
    STORAGE = (
        PARAMETERS.storage,
        CurrentEra,
        Ledger,
        TotalBonded,
        Validators,
        Delegations,
        Elected,
        Exposures,
        ErasElected,
        ErasExposures,
        RewardPoints,
        ActiveInEpoch,
        IdleInEra,
    )
    EVENTS = (
        Bonded,
        Unbonded,
        Withdrawn,
        Rebonded,
        ValidatorPrefsSet,
        Delegated,
        Chilled,
        Rewarded,
        EraPaid,
        NewEra,
        Slashed,
        PARAMETERS.event,
    )
    ERRORS = (
        NotBonded,
        AlreadyBonded,
        InsufficientFunds,
        BondTooSmall,
        ZeroAmount,
        InsufficientActive,
        TooManyUnlockChunks,
        NotEnoughUnlocking,
        NothingToWithdraw,
        InsufficientBond,
        CommissionTooHigh,
        CommissionChangeTooLarge,
        IsDelegating,
        IsValidating,
        NotAValidator,
        DuplicateTarget,
        DelegationsExceedActive,
        TooManyTargets,
        AlreadyChilled,
        BadParameters,
    )
    CONSTANTS = {
        "maxUnlockingChunks": MAX_UNLOCKING_CHUNKS,
        "maxDelegations": MAX_DELEGATIONS,
        "maxExposedDelegators": MAX_EXPOSED_DELEGATORS,
        "maxValidators": MAX_VALIDATORS,
        "historyDepth": HISTORY_DEPTH,
    }

    def configure(self, *, currency: Currency, session: SessionInterface, slashing: SlashingInterface) -> None:
        """``currency`` locks bonds and pays rewards; ``session`` tells the current set;
        ``slashing`` (the offences pallet) acts on each era's end."""
        self.currency = currency
        self.session = session
        self.slashing = slashing

    # --- calls --------------------------------------------------------------------------

    @call(0, BondArgs, weight=200_000)
    def bond(self, ctx: DispatchContext, origin: Origin, args: BondArgs) -> None:
        """Lock ``value`` of the caller's free balance as its active bond."""
        who = ensure_signed(origin)
        if Ledger.contains(ctx.state, who):
            raise AlreadyBonded()
        if args.value == 0 or args.value < self.currency.get_existential_deposit(ctx.state):
            raise BondTooSmall()
        self.check_lockable(ctx.state, who, args.value)
        self.store_ledger(ctx, who, StakingLedger(args.value, ()))
        ctx.deposit_event(Bonded(who, args.value))

    @call(1, BondExtraArgs, weight=200_000)
    def bond_extra(self, ctx: DispatchContext, origin: Origin, args: BondExtraArgs) -> None:
        who = ensure_signed(origin)
        ledger = get_ledger(ctx.state, who)
        if args.value == 0:
            raise ZeroAmount()
        self.check_lockable(ctx.state, who, ledger.total + args.value)
        self.store_ledger(ctx, who, replace(ledger, active=ledger.active + args.value))
        ctx.deposit_event(Bonded(who, args.value))

    @call(2, UnbondArgs, weight=200_000)
    def unbond(self, ctx: DispatchContext, origin: Origin, args: UnbondArgs) -> None:
        """Move ``value`` from active into a chunk withdrawable ``bonding_duration`` eras on."""
        who = ensure_signed(origin)
        ledger = get_ledger(ctx.state, who)
        if args.value == 0:
            raise ZeroAmount()
        if args.value > ledger.active:
            raise InsufficientActive()
        withdrawable_era = CurrentEra.get(ctx.state) + get_parameters(ctx.state).bonding_duration_eras
        unbonded = compute_unbonded(ledger, args.value, withdrawable_era)
        if len(unbonded.unlocking) > MAX_UNLOCKING_CHUNKS:
            raise TooManyUnlockChunks()
        if is_validating(ctx.state, who) and unbonded.active < get_parameters(ctx.state).min_validator_bond:
            raise InsufficientBond()
        if sum(delegation.amount for delegation in Delegations.get(ctx.state, who)) > unbonded.active:
            raise DelegationsExceedActive()
        self.store_ledger(ctx, who, unbonded)
        ctx.deposit_event(Unbonded(who, args.value, withdrawable_era))

    @call(3, WithdrawUnbondedArgs, weight=200_000)
    def withdraw_unbonded(self, ctx: DispatchContext, origin: Origin, args: WithdrawUnbondedArgs) -> None:
        """Release the chunks whose era has come; an emptied ledger ends the staker."""
        who = ensure_signed(origin)
        released, ledger = compute_withdrawable(get_ledger(ctx.state, who), CurrentEra.get(ctx.state))
        if released == 0:
            raise NothingToWithdraw()
        self.store_ledger(ctx, who, ledger)
        ctx.deposit_event(Withdrawn(who, released))

    @call(4, RebondArgs, weight=200_000)
    def rebond(self, ctx: DispatchContext, origin: Origin, args: RebondArgs) -> None:
        """Move ``value`` of what is unlocking back to active, newest chunks first."""
        who = ensure_signed(origin)
        ledger = get_ledger(ctx.state, who)
        if args.value == 0:
            raise ZeroAmount()
        if args.value > ledger.total - ledger.active:
            raise NotEnoughUnlocking()
        self.store_ledger(ctx, who, compute_rebonded(ledger, args.value))
        ctx.deposit_event(Rebonded(who, args.value))

    @call(5, ValidateArgs, weight=200_000)
    def validate(self, ctx: DispatchContext, origin: Origin, args: ValidateArgs) -> None:
        """Offer to validate at ``commission_parts`` (Perbill) from the next election on."""
        who = ensure_signed(origin)
        check_validate(ctx.state, who, args.commission_parts)
        put_validator(ctx, who, args.commission_parts)

    @call(6, DelegateArgs, weight=300_000)
    def delegate(self, ctx: DispatchContext, origin: Origin, args: DelegateArgs) -> None:
        """Replace the caller's delegations by ``targets`` (their sum at most its active bond)."""
        who = ensure_signed(origin)
        ledger = get_ledger(ctx.state, who)
        if is_validating(ctx.state, who):
            raise IsValidating()
        if len(args.targets) > MAX_DELEGATIONS:
            raise TooManyTargets()
        if len({target.validator for target in args.targets}) != len(args.targets):
            raise DuplicateTarget()
        for target in args.targets:
            if target.amount == 0:
                raise ZeroAmount()
            if not is_validating(ctx.state, target.validator):
                raise NotAValidator()
        total = sum(target.amount for target in args.targets)
        if total > ledger.active:
            raise DelegationsExceedActive()
        if args.targets:
            Delegations.put(ctx.state, who, tuple(args.targets))
        else:
            Delegations.remove(ctx.state, who)
        ctx.deposit_event(Delegated(who, len(args.targets), total))

    @call(7, ChillArgs, weight=200_000)
    def chill(self, ctx: DispatchContext, origin: Origin, args: ChillArgs) -> None:
        """Stop validating and delegating from the next election on (the bond stays)."""
        who = ensure_signed(origin)
        get_ledger(ctx.state, who)
        prefs = Validators.get(ctx.state, who)
        validating = prefs is not None and prefs.active
        if not validating and not Delegations.contains(ctx.state, who):
            raise AlreadyChilled()
        if validating:
            Validators.put(ctx.state, who, replace(prefs, active=False))
        Delegations.remove(ctx.state, who)
        ctx.deposit_event(Chilled(who))

    # Governance: new bonding duration, validator count (from the next election on), minimum
    # bond and commission caps (for later ``validate`` calls). The era length is fixed.
    set_parameters = PARAMETERS.call(8, weight=100_000)

    def check_parameters(self, state: StateReader, parameters: StakingParameters) -> None:
        """``parameters`` may replace the running chain's (ValueError): as genesis checks them, the
        era length unchanged, at most MAX_VALIDATORS seats, and a bonding duration longer than the
        offences pallet's slash deferral."""
        has_stakers = next(Validators.iter(state), None) is not None
        check_genesis_parameters(parameters, has_stakers=has_stakers)
        if parameters.era_length_blocks != get_parameters(state).era_length_blocks:
            raise ValueError("staking.eraLengthBlocks cannot change on a running chain")
        if parameters.validator_count > MAX_VALIDATORS:
            raise ValueError(f"staking.validatorCount is {parameters.validator_count}, above {MAX_VALIDATORS}")
        bonding, defer = parameters.bonding_duration_eras, self.slashing.get_slash_defer_eras(state)
        if bonding and defer >= bonding:
            raise ValueError(
                f"staking.bondingDurationEras ({bonding}) must exceed offences.slashDeferEras ({defer}): stake "
                "unbonded in an offence's era must still be there when it is slashed"
            )
        last_pending = self.slashing.get_last_pending_slash_era(state)
        if last_pending is not None and CurrentEra.get(state) + bonding <= last_pending:
            raise ValueError(
                f"staking.bondingDurationEras ({bonding}) would let stake unbonded now be withdrawn before the "
                f"slash waiting for the end of era {last_pending} applies"
            )

    # --- bonds --------------------------------------------------------------------------

    def check_lockable(self, state: StateReader, who: bytes, total: int) -> None:
        """``who``'s free balance can carry a staking lock of ``total``."""
        try:
            self.currency.check_lock(state, who, STAKING_LOCK_ID, total)
        except InsufficientBalance:
            raise InsufficientFunds() from None

    def store_ledger(self, ctx: DispatchContext, who: bytes, ledger: StakingLedger) -> None:
        """Store ``ledger``, its lock and ``TotalBonded``; an empty ledger ends the staker."""
        previous = Ledger.get(ctx.state, who)
        previous_total = previous.total if previous is not None else 0
        total_bonded = checked_sub(checked_add(TotalBonded.get(ctx.state), ledger.total), previous_total)
        if ledger.total:
            self.currency.set_lock(ctx, who, STAKING_LOCK_ID, ledger.total)
            Ledger.put(ctx.state, who, ledger)
        else:
            self.currency.remove_lock(ctx, who, STAKING_LOCK_ID)
            Ledger.remove(ctx.state, who)
            Validators.remove(ctx.state, who)
            Delegations.remove(ctx.state, who)
        TotalBonded.put(ctx.state, total_bonded)

    # --- points, eras and payouts -------------------------------------------------------

    def award_point(self, ctx: DispatchContext, signing: bytes) -> None:
        """One point to the validator of session signing key ``signing``, if elected this era (for
        a block it authored, or a finality vote a block carried: the finality pallet)."""
        validator = self.session.get_validator_of(ctx.state, signing)
        if validator is not None and Exposures.contains(ctx.state, validator):
            RewardPoints.put(ctx.state, validator, RewardPoints.get(ctx.state, validator) + 1)
            ActiveInEpoch.put(ctx.state, validator, 1)

    def record_idle_validators(self, ctx: DispatchContext) -> None:
        """At an epoch's last block: the elected validators of its set without a point in it are
        unresponsive for this era; the next epoch starts with a clean slate."""
        idle = set(IdleInEra.get(ctx.state))
        for validator in self.session.get_validators(ctx.state):
            if Exposures.contains(ctx.state, validator) and not ActiveInEpoch.contains(ctx.state, validator):
                idle.add(validator)
        IdleInEra.put(ctx.state, tuple(sorted(idle)))
        for validator, _ in list(ActiveInEpoch.iter(ctx.state)):
            ActiveInEpoch.remove(ctx.state, validator)

    def get_pool_available(self, state: StateReader) -> int:
        """What the consensus reward pool holds above its existential deposit."""
        usable = self.currency.get_usable_balance(state, CONSENSUS_REWARD_POOL_ACCOUNT)
        return saturating_sub(usable, self.currency.get_existential_deposit(state))

    def pay_era(self, ctx: DispatchContext, era: int) -> None:
        """Pay the ending era's rewards out of the consensus reward pool (module docstring, step 1)."""
        points = dict(RewardPoints.iter(ctx.state))
        for validator in points:
            RewardPoints.remove(ctx.state, validator)
        available = self.get_pool_available(ctx.state)
        exposures = {validator: Exposures.get(ctx.state, validator) for validator in points}
        payouts = compute_validator_payouts(
            available, points, {validator: exposure.commission_parts for validator, exposure in exposures.items()}
        )
        paid = 0
        for validator, (reward, commission) in payouts.items():
            exposure = exposures[validator]
            shares = compute_exposure_shares(exposure, validator, reward - commission)
            amounts: dict[bytes, int] = {validator: commission}
            for who, share in shares:
                amounts[who] = amounts.get(who, 0) + share
            for who, amount in amounts.items():
                paid += self.pay_reward(ctx, who, amount)
        ctx.deposit_event(EraPaid(era, paid, checked_sub(available, paid)))

    def pay_reward(self, ctx: DispatchContext, who: bytes, amount: int) -> int:
        """Move ``amount`` from the pool to ``who``; what cannot be received stays in the pool."""
        if amount == 0:
            return 0
        try:
            self.currency.check_deposit(ctx.state, who, amount)
        except ExistentialDeposit:
            return 0
        self.currency.transfer(ctx, CONSENSUS_REWARD_POOL_ACCOUNT, who, amount, keep_alive=True)
        ctx.deposit_event(Rewarded(who, amount))
        return amount

    def end_era(self, ctx: DispatchContext) -> list[bytes]:
        """Pay the ending era, let the offences pallet act on it, elect the next era's set."""
        era = CurrentEra.get(ctx.state)
        unresponsive = get_unresponsive(ctx.state)
        IdleInEra.put(ctx.state, ())
        self.pay_era(ctx, era)
        self.slashing.on_era_end(ctx, era, unresponsive)
        keep_history(ctx, era)
        CurrentEra.put(ctx.state, era + 1)
        elected = elect(ctx)
        ctx.deposit_event(NewEra(era + 1, len(elected)))
        return elected

    # --- the session manager ------------------------------------------------------------

    def is_staker(self, state: StateReader, who: bytes) -> bool:
        return Ledger.contains(state, who)

    def end_session(self, ctx: DispatchContext) -> list[bytes] | None:
        """The epoch ends: record who was idle in it; at an era's end, pay, slash and elect."""
        self.record_idle_validators(ctx)
        return self.end_era(ctx) if is_era_end(ctx.state, ctx.block.number) else None

    def get_end_session_weight(self, state: StateReader, number: int) -> int:
        """Every epoch, the set's idle validators recorded; at an era's end also one transfer
        per validator paid and per backer of each, the slashes due, the exposures kept for
        history, and the election: every candidate and delegation read, every exposure
        written. Nothing bounds the delegations, so neither is this: it is counted, and the
        block carries fewer transactions."""
        elected = Elected.get(state)
        weight = len(self.session.get_validators(state)) * (READ_WEIGHT + WRITE_WEIGHT)
        if not is_era_end(state, number):
            return weight
        exposures = [exposure for validator in elected if (exposure := Exposures.get(state, validator)) is not None]
        payouts = sum(1 + len(exposure.others) for exposure in exposures)
        candidates = sum(1 for _ in Validators.iter(state))
        delegations = sum(len(delegations) for _, delegations in Delegations.iter(state))
        era = CurrentEra.get(state)
        return (
            weight
            + payouts * CURRENCY_WEIGHT
            + self.slashing.get_era_end_weight(state, era, len(elected))
            + 2 * len(elected) * WRITE_WEIGHT  # history kept, history forgotten
            + (candidates + delegations) * READ_WEIGHT
            + len(elected) * WRITE_WEIGHT  # the new exposures
        )

    # --- the staking interface ----------------------------------------------------------

    def get_current_era(self, state: StateReader) -> int:
        return CurrentEra.get(state)  # type: ignore[no-any-return]

    def get_era_length(self, state: StateReader) -> int:
        return get_parameters(state).era_length_blocks

    def get_era_of_block(self, state: StateReader, number: int) -> int:
        return compute_block_era(number, get_parameters(state).era_length_blocks)

    def get_bonding_duration(self, state: StateReader) -> int:
        return get_parameters(state).bonding_duration_eras

    def get_bonded_through(self, state: StateReader, who: bytes, block_number: int) -> int:
        """A chunk withdrawable from era ``w`` is locked through a block of an era before ``w``;
        the active bond is locked at least until ``CurrentEra + bonding_duration`` (the earliest a
        chunk unbonded now matures)."""
        ledger = Ledger.get(state, who)
        if ledger is None:
            return 0
        parameters = get_parameters(state)
        era = compute_block_era(block_number, parameters.era_length_blocks)
        locked = sum(chunk.value for chunk in ledger.unlocking if chunk.era > era)
        if CurrentEra.get(state) + parameters.bonding_duration_eras > era:
            locked += ledger.active
        return locked

    def get_validator_weight(self, state: StateReader, validator: bytes) -> int:
        exposure = Exposures.get(state, validator)
        return 0 if exposure is None else exposure.total

    # --- the offender handler (validators) ----------------------------------------------

    def get_stakes(self, state: StateReader, offender: bytes, era: int) -> tuple[tuple[bytes, int], ...] | None:
        """The exposure of a validator elected for ``era`` (the current one or a past one still
        kept), its own stake first."""
        exposure = get_exposure_at(state, offender, era)
        if exposure is None:
            return None
        return ((offender, exposure.own), *((backer.who, backer.value) for backer in exposure.others))

    def get_population(self, state: StateReader, era: int) -> int:
        return len(get_elected_at(state, era))

    def on_offence(self, ctx: DispatchContext, offender: bytes) -> None:
        chill_offender(ctx, offender)

    def slash(self, ctx: DispatchContext, offender: bytes, who: bytes, amount: int, dest: bytes) -> int:
        """Take up to ``amount`` of ``who``'s bond (active and unlocking, pro rata) into ``dest``;
        its delegation to ``offender`` shrinks by as much. What was taken: never more than the
        ledger holds, 0 if ``who`` is no longer bonded."""
        ledger = Ledger.get(ctx.state, who)
        if ledger is None or amount == 0:
            return 0
        slashed = min(amount, ledger.total)
        slashed_ledger = compute_slashed_ledger(ledger, slashed)
        delegations = compute_slashed_delegations(
            Delegations.get(ctx.state, who), offender, slashed, slashed_ledger.active
        )
        self.store_ledger(ctx, who, slashed_ledger)  # lowers the lock first, so the tokens can move
        if delegations and slashed_ledger.total:
            Delegations.put(ctx.state, who, delegations)
        else:
            Delegations.remove(ctx.state, who)
        self.currency.transfer(ctx, who, dest, slashed, keep_alive=False)
        ctx.deposit_event(Slashed(who, slashed))
        return slashed

    # --- hooks --------------------------------------------------------------------------

    def on_finalize(self, ctx: DispatchContext) -> None:
        """Credit the author's point (session's hook, which runs next, ends epochs and eras)."""
        self.award_point(ctx, ctx.block.author)

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """The staking section (module docstring and ``docs/economics.md``). Runs after balances
        and session (lower indices): stakers bond from their genesis balance and validate, the
        election runs for era 0, and its set must be exactly the session's authorities (which keep
        the spec's order until the first era boundary)."""
        parameters = PARAMETERS.from_genesis(config)
        stakers = config.get("stakers", [])
        check_genesis_parameters(parameters, has_stakers=bool(stakers))
        epoch_length = self.session.get_epoch_length(ctx.state)
        if parameters.era_length_blocks % epoch_length:
            raise ValueError(
                f"staking.eraLengthBlocks ({parameters.era_length_blocks}) must be a whole number of "
                f"session epochs (session.epochLengthBlocks is {epoch_length})"
            )
        PARAMETERS.storage.put(ctx.state, parameters)
        existential_deposit = self.currency.get_existential_deposit(ctx.state)
        for address, bonded, commission in stakers:
            who = decode_address(address)
            if Ledger.contains(ctx.state, who):
                raise ValueError(f"staking.stakers lists {address} twice")
            if bonded < max(parameters.min_validator_bond, existential_deposit, 1):
                raise ValueError(f"staking.stakers: {address} bonds {bonded}, below the minimum validator bond")
            if commission > parameters.max_commission_parts:
                raise ValueError(f"staking.stakers: {address} asks {commission} parts, above maxCommissionPerbill")
            if self.currency.get_free_balance(ctx.state, who) < bonded:
                raise ValueError(f"staking.stakers: {address} bonds {bonded}, more than its genesis balance")
            self.store_ledger(ctx, who, StakingLedger(bonded, ()))
            put_validator(ctx, who, commission)
        elected = set(elect(ctx))
        authorities = set(self.session.get_validators(ctx.state))
        if stakers and elected != authorities:
            raise ValueError(
                "staking.stakers elect "
                f"{sorted(encode_address(who) for who in elected)}, but session.authorities are "
                f"{sorted(encode_address(who) for who in authorities)}: they must be the same set"
            )

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        """Exact for a genesis state. From a running chain it keeps only the validating stakers'
        active bonds: delegations, chilled bonds and unlocking chunks do not carry over."""
        return {
            **PARAMETERS.to_genesis(get_parameters(state)),
            "stakers": [
                [encode_address(who), get_ledger(state, who).active, prefs.commission_parts]
                for who, prefs in Validators.iter(state)
                if prefs.active
            ],
        }

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        return [*self._check_ledgers(state), *self._check_delegations(state), *self._check_exposures(state)]

    def _check_ledgers(self, state: StateReader) -> list[str]:
        problems = []
        bonded = 0
        for who, ledger in Ledger.iter(state):
            bonded += ledger.total
            if ledger.total == 0:
                problems.append(f"{encode_address(who)} keeps an empty ledger")
            if len(ledger.unlocking) > MAX_UNLOCKING_CHUNKS:
                problems.append(f"{encode_address(who)} has {len(ledger.unlocking)} unlocking chunks")
            lock = self.currency.get_lock(state, who, STAKING_LOCK_ID)
            if lock != ledger.total:
                problems.append(f"{encode_address(who)}: staking lock {lock} but ledger total {ledger.total}")
        if bonded != TotalBonded.get(state):
            problems.append(f"ledgers hold {bonded} but TotalBonded is {TotalBonded.get(state)}")
        for who, _ in Validators.iter(state):
            if not Ledger.contains(state, who):
                problems.append(f"validator {encode_address(who)} has no ledger")
        return problems

    def _check_delegations(self, state: StateReader) -> list[str]:
        problems = []
        for who, delegations in Delegations.iter(state):
            ledger = Ledger.get(state, who)
            delegated = sum(delegation.amount for delegation in delegations)
            if ledger is None or delegated > ledger.active:
                active = 0 if ledger is None else ledger.active
                problems.append(f"{encode_address(who)} delegates {delegated}, more than its active {active}")
        return problems

    def _check_exposures(self, state: StateReader) -> list[str]:
        problems = []
        elected = Elected.get(state)
        exposed = {who: exposure for who, exposure in Exposures.iter(state)}
        if set(elected) != set(exposed) or len(set(elected)) != len(elected):
            problems.append("the exposure snapshot does not match the elected set")
        if len(elected) > MAX_VALIDATORS:
            # validatorCount may have been lowered since the election: it applies to the next one
            problems.append(f"{len(elected)} elected, more than {MAX_VALIDATORS}")
        for who, exposure in exposed.items():
            if exposure.total != exposure.own + sum(backer.value for backer in exposure.others):
                problems.append(f"the exposure of {encode_address(who)} does not add up")
        for who, _ in RewardPoints.iter(state):
            if who not in exposed:
                problems.append(f"{encode_address(who)} has reward points but is not elected")
        for who, _ in ActiveInEpoch.iter(state):
            if who not in exposed:
                problems.append(f"{encode_address(who)} is active in the epoch but not elected")
        if not set(IdleInEra.get(state)) <= set(Elected.get(state)):
            problems.append("a validator is idle in the era but not elected")
        return problems + self._check_history(state)

    def _check_history(self, state: StateReader) -> list[str]:
        problems = []
        current = CurrentEra.get(state)
        kept = dict(ErasElected.iter(state))
        for era, elected in kept.items():
            if not current - HISTORY_DEPTH <= era < current:
                problems.append(f"era {era}'s elected set is kept, outside the last {HISTORY_DEPTH} past eras")
            missing = [who for who in elected if not ErasExposures.contains(state, EraValidator(era, who))]
            if missing:
                problems.append(f"era {era} keeps no exposure of {len(missing)} of its elected validators")
        for key, _ in ErasExposures.iter(state):
            if key.validator not in kept.get(key.era, ()):
                problems.append(f"era {key.era} keeps the exposure of {encode_address(key.validator)}, not elected")
        return problems

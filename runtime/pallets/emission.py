"""emission: pays the fixed supply out of the emission reserve on a decaying schedule.

Nothing is ever minted: the tokens not allocated at genesis sit in ``EMISSION_RESERVE_ACCOUNT``
and every block moves what accrued since the previous block to the two reward pools, until the
reserve is spent. ``docs/economics.md`` explains the schedule for operators.

The schedule, in integers (time in ms since ``EmissionStart``, the first block's timestamp)::

    D_0     = daily_emission                              (base units per day)
    D_{m+1} = floor(D_m × (1 − d))                         (d = monthly_decay, a Perbill)
    E(τ)    = Σ_{k < m} 30 × D_k + floor(D_m × r / DAY_MS)  where m, r = divmod(τ, MONTH_MS)

``E(τ)`` is what the schedule has emitted after ``τ`` ms. A block at time ``t`` pays
``E(t − start) − E(paid_until − start)``: one difference of the cumulative curve, so however
time is cut into blocks, the payments add up to ``E`` of the whole span, to the base unit (the
floors never accumulate). ``floor(D × (1 − d))`` equals ``D − ceil(D × d)``: the decay is
rounded up, the amount kept rounded down.

Each payment is split the same way: the ML reward pool's parts add up to
``floor(ml_share × TotalEmitted)``, the consensus reward pool gets the rest. The reserve keeps
its existential deposit: when what is due reaches what it holds above that, it pays all of
it, emission stops for good, and ``ReserveExhausted`` is emitted.

**To ML tasks.** The block's ML part ``E`` (as much of it as the ML pool holds above its
existential deposit) is then spread over the active tasks of the ML markets (AI Arena, FL
Alliance: ``MlTaskRegistry``) in proportion to the stake on each, ``floor(E × S_i / Σ S_k)``,
into each task's own pool account; what rounding leaves, and everything while no task has
stake, stays in the ML pool.
"""

from __future__ import annotations

from typing import Any

from runtime.abc import StateReader
from runtime.accounts import (
    CONSENSUS_REWARD_POOL_ACCOUNT,
    EMISSION_RESERVE_ACCOUNT,
    ML_REWARD_POOL_ACCOUNT,
    TOTAL_SUPPLY,
    TREASURY_ACCOUNT,
)
from runtime.errors import ArithmeticOverflow
from runtime.framework.pallet import DispatchContext, DispatchError, Pallet
from runtime.framework.parameters import PalletParameters
from runtime.framework.storage import StorageValue
from runtime.framework.traits import Currency, ExistentialDeposit, MlTaskRegistry, Time
from runtime.framework.weights import CURRENCY_WEIGHT
from runtime.primitives.arithmetic import (
    PERBILL_ACCURACY,
    Perbill,
    checked_add,
    compute_multiply_divide_floor,
    saturating_sub,
)
from runtime.primitives.codec import U32, U64, Balance, Boolean, Record, record

NAME = "emission"

# --- config -------------------------------------------------------------------------------

DAY_MS = 86_400_000
DAYS_PER_MONTH = 30
MONTH_MS = DAYS_PER_MONTH * DAY_MS


@record
class EmissionParameters(Record):
    """The schedule and the split; governance may change them (see the module docstring)."""

    daily_emission: Balance  # D_0, base units per day in month 0
    monthly_decay_parts: U32  # d: Perbill parts by which the daily emission shrinks each month
    ml_share_parts: U32  # Perbill parts of each payment that go to the ML reward pool

    @property
    def monthly_decay(self) -> Perbill:
        return Perbill(self.monthly_decay_parts)

    @property
    def ml_share(self) -> Perbill:
        return Perbill(self.ml_share_parts)


# A runtime without an emission section emits nothing (test chains); shipped specs set all three.
DEFAULT_PARAMETERS = EmissionParameters(daily_emission=0, monthly_decay_parts=0, ml_share_parts=0)


class BadParameters(DispatchError):
    """The parameters are out of range (a Perbill above 10^9)."""

    code = 0


# --- storage ------------------------------------------------------------------------------

PARAMETERS = PalletParameters(NAME, __name__, EmissionParameters, DEFAULT_PARAMETERS, BadParameters)
# Timestamp (ms) of the first block: time zero of the schedule. Absent until that block.
EmissionStart = StorageValue(NAME, "EmissionStart", U64, 0)
# Timestamp (ms) up to which the schedule has been paid (the previous block's).
PaidUntil = StorageValue(NAME, "PaidUntil", U64, 0)
# Everything paid out of the reserve so far.
TotalEmitted = StorageValue(NAME, "TotalEmitted", Balance, 0)
# Set once the reserve could not pay what was due; nothing is paid after it.
Exhausted = StorageValue(NAME, "Exhausted", Boolean, False)
# Recorded at genesis, for the invariants: the reserve's balance and the total issuance.
ReserveAtStart = StorageValue(NAME, "ReserveAtStart", Balance, 0)
IssuanceAtStart = StorageValue(NAME, "IssuanceAtStart", Balance, 0)
# Set when governance changes the parameters: the paid-until time (ms) of the change and what
# had been emitted by then. The schedule is then E_new from that time on (see get_scheduled_total).
ScheduleChangedAt = StorageValue(NAME, "ScheduleChangedAt", U64, 0)
EmittedAtScheduleChange = StorageValue(NAME, "EmittedAtScheduleChange", Balance, 0)

# --- events -------------------------------------------------------------------------------


@record
class Emitted(Record):
    """A block's payment (only when it is not zero): ``amount = consensus_part + ml_part``."""

    amount: Balance
    consensus_part: Balance
    ml_part: Balance


@record
class ReserveExhausted(Record):
    """The reserve is spent down to its existential deposit; emission has stopped for good."""

    total_emitted: Balance


@record
class MlRewardsDistributed(Record):
    """The block's ML part went to ``tasks`` active tasks by stake (``amount`` in all)."""

    amount: Balance
    tasks: U32


# --- the schedule (pure) ------------------------------------------------------------------


def compute_next_daily_emission(parameters: EmissionParameters, daily: int) -> int:
    """``D_{m+1} = floor(D_m × (1 − d))``, which equals ``D_m − ceil(D_m × d)``."""
    return parameters.monthly_decay.complement().mul_floor(daily)


def compute_daily_emission(parameters: EmissionParameters, month: int) -> int:
    """``D_month``: the start value decayed month by month, rounding down each time."""
    daily = parameters.daily_emission
    for _ in range(month):
        if daily == 0:
            break
        daily = compute_next_daily_emission(parameters, daily)
    return daily


def compute_emitted_by(parameters: EmissionParameters, elapsed_ms: int) -> int:
    """``E(elapsed_ms)``: what the schedule has emitted ``elapsed_ms`` after its start.

    Full months pay ``30 × D_k`` each; the current month pays ``D_m`` per day pro rata to the
    milliseconds elapsed in it, rounded down. Exact integers (it may exceed u64 for absurd
    parameters; what is paid is bounded by the reserve).
    """
    if elapsed_ms < 0:
        raise ArithmeticOverflow(f"time went back {-elapsed_ms} ms before the emission start")
    months, into_month = divmod(elapsed_ms, MONTH_MS)
    emitted, daily = 0, parameters.daily_emission
    for _ in range(months):
        if daily == 0:
            break  # every later month pays nothing
        emitted += DAYS_PER_MONTH * daily
        daily = compute_next_daily_emission(parameters, daily)
    return emitted + daily * into_month // DAY_MS


def compute_emission_between(parameters: EmissionParameters, from_ms: int, to_ms: int) -> int:
    """What the schedule pays for the span ``[from_ms, to_ms]`` (ms since the start)."""
    if to_ms < from_ms:
        raise ArithmeticOverflow(f"the span {from_ms}..{to_ms} ends before it starts")
    return compute_emitted_by(parameters, to_ms) - compute_emitted_by(parameters, from_ms)


def compute_split(parameters: EmissionParameters, emitted_before: int, amount: int) -> tuple[int, int]:
    """``(consensus_part, ml_part)`` of a payment of ``amount`` after ``emitted_before``.

    Like the schedule, the split is a difference of a cumulative floor: the ML pool's parts
    add up to ``floor(ml_share × total emitted)`` however the payments were cut, and the
    consensus pool gets the rest of each payment, so the parts always add up to ``amount``.
    """
    ml_share = parameters.ml_share
    ml_part = ml_share.mul_floor(emitted_before + amount) - ml_share.mul_floor(emitted_before)
    return amount - ml_part, ml_part


def compute_task_shares(amount: int, stakes: list[tuple[bytes, int]]) -> list[tuple[bytes, int]]:
    """Each task's part ``floor(amount × S_i / Σ S_k)`` of the ML part (FLock's
    ``E · S_i^β / Σ S_k^β`` with β = 1); nothing when no task has stake."""
    total = sum(stake for _, stake in stakes)
    if total == 0:
        return []
    return [(account, compute_multiply_divide_floor(amount, stake, total)) for account, stake in stakes]


# --- state reads --------------------------------------------------------------------------


def get_parameters(state: StateReader) -> EmissionParameters:
    return PARAMETERS.get(state)


def is_started(state: StateReader) -> bool:
    return EmissionStart.exists(state)


def get_scheduled_total(state: StateReader) -> int:
    """``E`` at the paid-until time: the most emission may have paid so far. After a parameter
    change at ``c`` it is what was emitted by ``c`` plus ``E_new(paid_until) − E_new(c)``."""
    if not is_started(state):
        return 0
    parameters, start = get_parameters(state), EmissionStart.get(state)
    if not ScheduleChangedAt.exists(state):
        return compute_emitted_by(parameters, PaidUntil.get(state) - start)
    changed_at = ScheduleChangedAt.get(state)
    since_change = compute_emission_between(parameters, changed_at - start, PaidUntil.get(state) - start)
    return EmittedAtScheduleChange.get(state) + since_change


def check_parameters(parameters: EmissionParameters) -> None:
    """Both Perbills in range (ValueError)."""
    for field, parts in (
        ("monthlyDecayPerbill", parameters.monthly_decay_parts),
        ("mlSharePerbill", parameters.ml_share_parts),
    ):
        if not 0 <= parts <= PERBILL_ACCURACY:
            raise ValueError(f"emission.{field} is {parts}, outside 0..{PERBILL_ACCURACY} (parts per 10^9)")


# --- the pallet ---------------------------------------------------------------------------


class Emission(Pallet):
    NAME = NAME
    STORAGE = (
        PARAMETERS.storage,
        EmissionStart,
        PaidUntil,
        TotalEmitted,
        Exhausted,
        ReserveAtStart,
        IssuanceAtStart,
        ScheduleChangedAt,
        EmittedAtScheduleChange,
    )
    EVENTS = (Emitted, ReserveExhausted, PARAMETERS.event, MlRewardsDistributed)
    ERRORS = (BadParameters,)

    def configure(self, *, currency: Currency, time: Time, ml_markets: tuple[MlTaskRegistry, ...] = ()) -> None:
        """``currency`` pays from the reserve; ``time`` is the block's timestamp; ``ml_markets``
        tell the ML tasks the ML part goes to."""
        self.currency = currency
        self.time = time
        self.ml_markets = ml_markets

    # --- calls --------------------------------------------------------------------------

    # Governance: a new schedule and split for what accrues after the last payment. The
    # schedule keeps its time zero (months count from ``EmissionStart``).
    set_parameters = PARAMETERS.call(0, weight=100_000)

    def check_parameters(self, state: StateReader, parameters: EmissionParameters) -> None:
        check_parameters(parameters)

    def on_parameters_change(self, ctx: DispatchContext, parameters: EmissionParameters) -> None:
        """The schedule changes at the paid-until time: remember it and what was emitted by then."""
        if is_started(ctx.state):
            ScheduleChangedAt.put(ctx.state, PaidUntil.get(ctx.state))
            EmittedAtScheduleChange.put(ctx.state, TotalEmitted.get(ctx.state))

    # --- paying -------------------------------------------------------------------------

    def get_reserve_available(self, state: StateReader) -> int:
        """What the reserve can pay: its usable balance above the existential deposit."""
        usable = self.currency.get_usable_balance(state, EMISSION_RESERVE_ACCOUNT)
        return saturating_sub(usable, self.currency.get_existential_deposit(state))

    def get_payee(self, state: StateReader, pool: bytes, part: int) -> bytes:
        """``pool``, unless it does not exist and ``part`` is too small to open it: then the
        treasury (which always exists) takes the part, as it does with a fee the author cannot
        receive. Pools are opened by the first payment of at least the existential deposit."""
        try:
            self.currency.check_deposit(state, pool, part)
        except ExistentialDeposit:
            return TREASURY_ACCOUNT
        return pool

    def pay_emission(self, ctx: DispatchContext, now: int) -> None:
        """Pay what accrued from ``PaidUntil`` to ``now`` out of the reserve, split between the
        pools; if the reserve cannot pay it all, pay what it has and stop emission for good."""
        parameters = get_parameters(ctx.state)
        start = EmissionStart.get(ctx.state)
        due = compute_emission_between(parameters, PaidUntil.get(ctx.state) - start, now - start)
        available = self.get_reserve_available(ctx.state)
        amount = min(due, available)
        exhausted = due > 0 and due >= available
        emitted_before = TotalEmitted.get(ctx.state)
        consensus_part, ml_part = compute_split(parameters, emitted_before, amount)
        payments = [
            (self.get_payee(ctx.state, pool, part), part)
            for pool, part in ((CONSENSUS_REWARD_POOL_ACCOUNT, consensus_part), (ML_REWARD_POOL_ACCOUNT, ml_part))
            if part
        ]
        total_emitted = checked_add(emitted_before, amount)
        for payee, part in payments:
            self.currency.transfer(ctx, EMISSION_RESERVE_ACCOUNT, payee, part, keep_alive=True)
        TotalEmitted.put(ctx.state, total_emitted)
        PaidUntil.put(ctx.state, now)
        if amount:
            ctx.deposit_event(Emitted(amount, consensus_part, ml_part))
        if exhausted:
            Exhausted.put(ctx.state, True)
            ctx.deposit_event(ReserveExhausted(total_emitted))
        if ml_part:
            self.distribute_to_tasks(ctx, ml_part)

    def distribute_to_tasks(self, ctx: DispatchContext, ml_part: int) -> None:
        """Spread the block's ML part (what of it the ML pool holds above its existential
        deposit) over the active ML tasks by stake; the rest stays in the ML pool. At most
        one transfer per active task of each market."""
        stakes = [entry for market in self.ml_markets for entry in market.get_task_stakes(ctx.state)]
        usable = self.currency.get_usable_balance(ctx.state, ML_REWARD_POOL_ACCOUNT)
        available = min(ml_part, saturating_sub(usable, self.currency.get_existential_deposit(ctx.state)))
        shares = [(account, part) for account, part in compute_task_shares(available, stakes) if part]
        for account, part in shares:
            self.currency.transfer(ctx, ML_REWARD_POOL_ACCOUNT, account, part, keep_alive=True)
        if shares:
            ctx.deposit_event(MlRewardsDistributed(sum(part for _, part in shares), len(shares)))

    # --- hooks --------------------------------------------------------------------------

    def on_initialize(self, ctx: DispatchContext) -> int:
        """Once started and until exhausted: one transfer to each pool and one to each active
        ML task."""
        if not is_started(ctx.state) or Exhausted.get(ctx.state):
            return 0
        tasks = sum(len(market.get_task_stakes(ctx.state)) for market in self.ml_markets)
        return (2 + tasks) * CURRENCY_WEIGHT

    def on_finalize(self, ctx: DispatchContext) -> None:
        """After the timestamp inherent has set the time: the first block starts the schedule,
        every later block pays up to its own timestamp until the reserve is exhausted."""
        now = self.time.get_now(ctx.state)
        if not is_started(ctx.state):
            EmissionStart.put(ctx.state, now)
            PaidUntil.put(ctx.state, now)
        elif not Exhausted.get(ctx.state):
            self.pay_emission(ctx, now)

    # --- genesis ------------------------------------------------------------------------

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        """``{"dailyEmission": D_0, "monthlyDecayPerbill": d, "mlSharePerbill": s}``; runs
        after balances (a lower index), so it records the reserve and issuance it built."""
        parameters = PARAMETERS.from_genesis(config)
        check_parameters(parameters)
        PARAMETERS.storage.put(ctx.state, parameters)
        ReserveAtStart.put(ctx.state, self.currency.get_free_balance(ctx.state, EMISSION_RESERVE_ACCOUNT))
        IssuanceAtStart.put(ctx.state, self.currency.get_total_issuance(ctx.state))

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return PARAMETERS.to_genesis(get_parameters(state))

    # --- invariants ---------------------------------------------------------------------

    def try_state(self, state: StateReader) -> list[str]:
        return [*self._check_supply(state), *self._check_schedule(state)]

    def _check_supply(self, state: StateReader) -> list[str]:
        """Nothing minted or burned, and nothing taken from the reserve but emission.

        The reserve may hold more than ``ReserveAtStart − TotalEmitted`` (anyone may pay into
        it, e.g. as the dust receiver), never less.
        """
        problems = []
        issuance = self.currency.get_total_issuance(state)
        if issuance != IssuanceAtStart.get(state):
            problems.append(f"total issuance is {issuance}, but was {IssuanceAtStart.get(state)} at genesis")
        if issuance > TOTAL_SUPPLY:
            problems.append(f"total issuance {issuance} exceeds the fixed supply {TOTAL_SUPPLY}")
        reserve = self.currency.get_free_balance(state, EMISSION_RESERVE_ACCOUNT)
        emitted = TotalEmitted.get(state)
        if reserve + emitted < ReserveAtStart.get(state):
            problems.append(
                f"the reserve holds {reserve} after emitting {emitted}, less than the "
                f"{ReserveAtStart.get(state)} it started with"
            )
        return problems

    def _check_schedule(self, state: StateReader) -> list[str]:
        """Emission paid exactly the schedule up to ``PaidUntil`` (less only once exhausted)."""
        emitted, scheduled = TotalEmitted.get(state), get_scheduled_total(state)
        if emitted > scheduled:
            return [f"emitted {emitted}, more than the {scheduled} the schedule allows so far"]
        if emitted < scheduled and not Exhausted.get(state):
            return [f"emitted {emitted}, less than the {scheduled} due, yet the reserve is not exhausted"]
        return []

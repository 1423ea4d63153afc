"""What an ML market holds at stake for its tasks: one declaration per pallet, as
``PalletParameters`` declares a pallet's parameters.

Every stake a market takes (a task creator's, a trainer's, an evaluator's, an FL participant's,
a delegator's) sits in its owner's account under the market's named hold (``reason``), never in
a module account, and is recorded per task and account (``Staked``, one stake per account and
task) with each task's total (``TaskStake``, what emission weighs tasks by). The records always
add up to the holds: ``held(who, reason) = Σ_task Staked[task, who] + Unbonding[who]``.

When a task ends its stakes are released, except an account's whose slash for a proven fault
still waits in the offences pallet: its stake stays on hold in ``Unbonding`` until the era the
slash applies in is over (``SlashPendingUntil``), then ``withdraw`` releases it. So stake cannot
leave before its slash applies, however the task ends.

Money leaves a stake only through :meth:`MarketStakes.take` (to a destination: a task's pool, a
reporter, the treasury) and :meth:`MarketStakes.slash_offender` (an offence, across every task
the offender stakes in, in the order given, then its unbonding stake): the currency's
``slash_held``, so total issuance never changes.

The helper keeps no state of its own and emits no events (the currency emits its own); the
pallet lists :attr:`MarketStakes.storage` in its ``STORAGE``.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtime.abc import StateReader
from runtime.accounts import ML_REWARD_POOL_ACCOUNT, TREASURY_ACCOUNT
from runtime.framework.mlwork import TaskAccount, compute_penalty_split
from runtime.framework.pallet import DispatchContext
from runtime.framework.storage import StorageMap
from runtime.framework.traits import Currency, ExistentialDeposit, Overflow
from runtime.primitives.arithmetic import Perbill, checked_add, checked_sub, saturating_sub
from runtime.primitives.codec import U32, AccountId, Balance


def is_receivable(currency: Currency, state: StateReader, who: bytes, amount: int) -> bool:
    """Whether ``who`` can receive ``amount`` into its free balance (an account that does not
    exist needs at least the existential deposit)."""
    try:
        currency.check_deposit(state, who, amount)
    except (ExistentialDeposit, Overflow):
        return False
    return True


def get_pool_available(currency: Currency, state: StateReader, account: bytes) -> int:
    """What a task's pool can pay: its balance above the existential deposit."""
    return saturating_sub(currency.get_usable_balance(state, account), currency.get_existential_deposit(state))


def return_pool(ctx: DispatchContext, currency: Currency, account: bytes) -> int:
    """Everything in an ended task's pool back to the ML reward pool (to the treasury if the ML
    pool cannot receive it); the task's account is removed. What was returned."""
    amount = currency.get_free_balance(ctx.state, account)
    if amount:
        is_open = is_receivable(currency, ctx.state, ML_REWARD_POOL_ACCOUNT, amount)
        dest = ML_REWARD_POOL_ACCOUNT if is_open else TREASURY_ACCOUNT
        currency.transfer(ctx, account, dest, amount, keep_alive=False)
    return amount  # type: ignore[no-any-return]


class MarketStakes:
    def __init__(self, pallet: str, reason: bytes) -> None:
        self.reason = reason
        # What each account stakes in each task (absent: nothing).
        self.staked: StorageMap[TaskAccount, int] = StorageMap(pallet, "Staked", TaskAccount, Balance, 0)
        # Each task's total: what emission weighs the task by.
        self.task_stake: StorageMap[int, int] = StorageMap(pallet, "TaskStake", U32, Balance, 0)
        # Stake of ended tasks kept on hold until a waiting slash has applied.
        self.unbonding: StorageMap[bytes, int] = StorageMap(pallet, "Unbonding", AccountId, Balance, 0)
        # The last era at whose end a slash of the account may still apply.
        self.slash_pending_until: StorageMap[bytes, int] = StorageMap(pallet, "SlashPendingUntil", AccountId, U32)
        self.storage = (self.staked, self.task_stake, self.unbonding, self.slash_pending_until)

    # --- reads --------------------------------------------------------------------------

    def get(self, state: StateReader, task: int, who: bytes) -> int:
        return self.staked.get(state, TaskAccount(task, who))  # type: ignore[no-any-return]

    def get_task_total(self, state: StateReader, task: int) -> int:
        return self.task_stake.get(state, task)  # type: ignore[no-any-return]

    def is_staked(self, state: StateReader, task: int, who: bytes) -> bool:
        return self.staked.contains(state, TaskAccount(task, who))

    def is_slash_pending(self, state: StateReader, who: bytes, era: int) -> bool:
        """Whether a slash of ``who`` may still apply at the end of ``era`` or later."""
        until = self.slash_pending_until.get(state, who)
        return until is not None and era <= until

    def get_offender_stake(self, state: StateReader, who: bytes, tasks: Iterable[int]) -> int:
        """Everything ``who`` stakes in the market: in ``tasks`` and unbonding."""
        return sum(self.get(state, task, who) for task in tasks) + self.unbonding.get(state, who)

    # --- mutations ----------------------------------------------------------------------

    def add(self, ctx: DispatchContext, currency: Currency, task: int, who: bytes, amount: int) -> None:
        """Hold ``amount`` of ``who``'s usable balance as (more) stake in ``task``."""
        key = TaskAccount(task, who)
        staked = checked_add(self.staked.get(ctx.state, key), amount)
        total = checked_add(self.task_stake.get(ctx.state, task), amount)
        currency.hold(ctx, self.reason, who, amount)
        self.staked.put(ctx.state, key, staked)
        self.task_stake.put(ctx.state, task, total)

    def take(self, ctx: DispatchContext, currency: Currency, task: int, who: bytes, amount: int, dest: bytes) -> int:
        """Move up to ``amount`` of ``who``'s stake in ``task`` into ``dest``'s free balance;
        what was taken."""
        key = TaskAccount(task, who)
        staked = self.staked.get(ctx.state, key)
        taken = min(amount, staked)
        if taken == 0:
            return 0
        currency.slash_held(ctx, self.reason, who, taken, dest)
        self._put_staked(ctx, key, staked - taken)
        self.task_stake.put(ctx.state, task, checked_sub(self.task_stake.get(ctx.state, task), taken))
        return taken

    def penalise(
        self,
        ctx: DispatchContext,
        currency: Currency,
        task: int,
        who: bytes,
        parts: int,
        pool: bytes,
        reporter: tuple[bytes, int] | None,
    ) -> tuple[int, int]:
        """A market penalty: ``ceil(parts × stake)`` of ``who``'s stake in ``task``, the
        reporter's share (``reporter = (account, share parts)``) to the reporter if it can
        receive it, the rest to the task's ``pool``. What was taken, and what of it the reporter
        got."""
        amount = Perbill(parts).mul_ceil(self.get(ctx.state, task, who))
        to_pool, to_reporter = compute_penalty_split(amount, reporter[1]) if reporter is not None else (amount, 0)
        if reporter is None or reporter[0] == who or not is_receivable(currency, ctx.state, reporter[0], to_reporter):
            to_pool, to_reporter = amount, 0
        taken = self.take(ctx, currency, task, who, to_pool, pool)
        if to_reporter:
            to_reporter = self.take(ctx, currency, task, who, to_reporter, reporter[0])  # type: ignore[index]
        return taken + to_reporter, to_reporter

    def release(self, ctx: DispatchContext, currency: Currency, task: int, who: bytes, era: int) -> int:
        """End ``who``'s stake in ``task``: release it, or keep it on hold in ``Unbonding`` while a
        slash of ``who`` waits. What the stake was."""
        key = TaskAccount(task, who)
        amount = self.staked.get(ctx.state, key)
        if amount == 0:
            return 0
        if self.is_slash_pending(ctx.state, who, era):
            self.unbonding.put(ctx.state, who, checked_add(self.unbonding.get(ctx.state, who), amount))
        else:
            currency.release(ctx, self.reason, who, amount)
            if not self.unbonding.contains(ctx.state, who):
                self.slash_pending_until.remove(ctx.state, who)  # its slashes have all applied
        self.staked.remove(ctx.state, key)
        self.task_stake.put(ctx.state, task, checked_sub(self.task_stake.get(ctx.state, task), amount))
        return amount

    def close_task(self, ctx: DispatchContext, task: int) -> None:
        """Forget an ended task's total (every stake in it released first)."""
        self.task_stake.remove(ctx.state, task)

    def withdraw(self, ctx: DispatchContext, currency: Currency, who: bytes) -> int:
        """Release ``who``'s unbonding stake (the caller checked no slash is pending)."""
        amount = self.unbonding.get(ctx.state, who)
        if amount:
            currency.release(ctx, self.reason, who, amount)
            self.unbonding.remove(ctx.state, who)
        self.slash_pending_until.remove(ctx.state, who)
        return amount  # type: ignore[no-any-return]

    def note_offence(self, ctx: DispatchContext, who: bytes, until_era: int) -> None:
        """A slash of ``who`` may apply up to the end of ``until_era``."""
        current = self.slash_pending_until.get(ctx.state, who)
        self.slash_pending_until.put(ctx.state, who, until_era if current is None else max(current, until_era))

    def slash_offender(
        self, ctx: DispatchContext, currency: Currency, who: bytes, amount: int, dest: bytes, tasks: Iterable[int]
    ) -> int:
        """Take up to ``amount`` of ``who``'s stake into ``dest``: from each of ``tasks`` in
        turn, then from its unbonding stake; what was taken."""
        taken = 0
        for task in tasks:
            if taken == amount:
                break
            taken += self.take(ctx, currency, task, who, amount - taken, dest)
        unbonding = self.unbonding.get(ctx.state, who)
        rest = min(amount - taken, unbonding)
        if rest:
            currency.slash_held(ctx, self.reason, who, rest, dest)
            if unbonding - rest:
                self.unbonding.put(ctx.state, who, unbonding - rest)
            else:
                self.unbonding.remove(ctx.state, who)
            taken += rest
        return taken

    def _put_staked(self, ctx: DispatchContext, key: TaskAccount, amount: int) -> None:
        if amount:
            self.staked.put(ctx.state, key, amount)
        else:
            self.staked.remove(ctx.state, key)

    # --- invariants ---------------------------------------------------------------------

    def find_problems(self, state: StateReader, currency: Currency) -> list[str]:
        """The records add up: per task to its total, per account to what it holds."""
        problems = []
        per_task: dict[int, int] = {}
        per_account: dict[bytes, int] = {}
        for key, amount in self.staked.iter(state):
            if amount == 0:
                problems.append(f"task {key.task} keeps a zero stake of {key.who.hex()}")
            per_task[key.task] = per_task.get(key.task, 0) + amount
            per_account[key.who] = per_account.get(key.who, 0) + amount
        for who, amount in self.unbonding.iter(state):
            per_account[who] = per_account.get(who, 0) + amount
        totals = dict(self.task_stake.iter(state))
        for task in sorted(set(per_task) | set(totals)):
            if per_task.get(task, 0) != totals.get(task, 0):
                problems.append(f"task {task}: stakes add up to {per_task.get(task, 0)}, total {totals.get(task, 0)}")
        for who, amount in sorted(per_account.items()):
            held = currency.get_held(state, who, self.reason)
            if held != amount:
                problems.append(f"{who.hex()} holds {held} under {self.reason!r}, but its stakes add up to {amount}")
        return problems

"""The ``flock_*`` methods: staking, emission and the ML markets, each answer proven.

Every answer is a read of ``runtime/api.py`` made against a stated block (``hash``; left out,
the best block) and comes as ``{"at", "stateRoot", "value", "storage"}``
(:func:`~flockchain.rpc.methods.build_proven_answer`): ``storage`` holds every key the read
touched with its value and a proof under ``stateRoot``, so a client that trusts the block's
state root checks each entry and re-runs the same read over the proven values. Listings are
read from the index their pallet keeps (the elected set, the active tasks), never by scanning,
so the index's own proof proves a listing complete. ``null``: the node does not hold that
block's state.

Records are JSON objects with camelCase keys; accounts, hashes and roots are ``0x`` hex.
"""

from __future__ import annotations

from typing import Any

from flockchain.rpc.api import NodeApi
from flockchain.rpc.jsonrpc import InvalidParams
from flockchain.rpc.methods import build_proven_answer, resolve_block
from runtime import api

MAX_U32 = 2**32 - 1


def parse_market(value: Any) -> str:
    if value not in api.ML_MARKETS:
        raise InvalidParams(f"market must be one of {', '.join(api.ML_MARKETS)}")
    return str(value)


def parse_u32(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_U32:
        raise InvalidParams(f"{what} must be an integer in 0..{MAX_U32}")
    return value


class FlockMethods:
    """One async handler per ``flock_*`` read."""

    def __init__(self, node: NodeApi) -> None:
        self._node = node

    def _prove(self, hash: Any, read: Any) -> dict[str, Any] | None:
        block = resolve_block(self._node, hash)
        return None if block is None else build_proven_answer(block, read)

    async def flock_validators(self, hash: Any = None) -> dict[str, Any] | None:
        """The current era, the total bonded, and each elected validator (in slot order) with its
        commission, exposure (own stake and backers) and reward points this era, proven from the
        elected set staking keeps (``runtime.api.get_staking``)."""
        return self._prove(hash, api.get_staking)

    async def flock_era_rewards(self, hash: Any = None) -> dict[str, Any] | None:
        """The current era's reward points per elected validator, the consensus reward pool, and
        what each validator would be paid (commission included) if the era ended now
        (``runtime.api.get_era_rewards``)."""
        return self._prove(hash, api.get_era_rewards)

    async def flock_unapplied_slashes(self, hash: Any = None) -> dict[str, Any] | None:
        """Every slash waiting for an era's end (offender, kind, fraction, each stake's amount),
        proven complete by the entries of every era one can wait for, absent ones included
        (``runtime.api.get_unapplied_slashes``)."""
        return self._prove(hash, api.get_unapplied_slashes)

    async def flock_emission(self, hash: Any = None) -> dict[str, Any] | None:
        """The emission schedule after a block: issued so far, what the reserve holds, the month
        and its daily rate, the parameters (``runtime.api.get_emission``)."""
        return self._prove(hash, api.get_emission)

    async def flock_ml_tasks(self, market: Any, hash: Any = None) -> dict[str, Any] | None:
        """A market's (``arena`` or ``alliance``) active tasks, proven complete by the index of
        active tasks the market keeps (``runtime.api.get_ml_active_tasks``)."""
        name = parse_market(market)
        return self._prove(hash, lambda state: api.get_ml_active_tasks(state, name))

    async def flock_ml_task(self, market: Any, task: Any, hash: Any = None) -> dict[str, Any] | None:
        """One task (``value`` null: no such task; ``runtime.api.get_ml_task``)."""
        name, task_id = parse_market(market), parse_u32(task, "task")
        return self._prove(hash, lambda state: api.get_ml_task(state, name, task_id))

    async def flock_ml_submissions(self, market: Any, task: Any, round: Any, hash: Any = None) -> dict[str, Any] | None:
        """A round's committed work: arena submissions or FL updates, with their work proofs
        once revealed (``runtime.api.get_ml_work``)."""
        name, task_id, round_ = parse_market(market), parse_u32(task, "task"), parse_u32(round, "round")
        return self._prove(hash, lambda state: api.get_ml_work(state, name, task_id, round_))

    async def flock_ml_scores(self, market: Any, task: Any, round: Any, hash: Any = None) -> dict[str, Any] | None:
        """A round's scores: arena evaluators' attestations or FL voters' votes
        (``runtime.api.get_ml_attestations``)."""
        name, task_id, round_ = parse_market(market), parse_u32(task, "task"), parse_u32(round, "round")
        return self._prove(hash, lambda state: api.get_ml_attestations(state, name, task_id, round_))

    async def flock_ml_round(self, market: Any, task: Any, round: Any, hash: Any = None) -> dict[str, Any] | None:
        """A closed round's result: outcome, consensus scores and ranks (arena), the global
        model (alliance), rewards and penalties paid (``value`` null: still open; ``runtime.api.get_ml_round``)."""
        name, task_id, round_ = parse_market(market), parse_u32(task, "task"), parse_u32(round, "round")
        return self._prove(hash, lambda state: api.get_ml_round(state, name, task_id, round_))

    async def flock_model_provenance(self, task: Any, hash: Any = None) -> dict[str, Any] | None:
        """An FL task's accepted rounds in order, each with the global model root it produced
        (``runtime.api.get_model_provenance``)."""
        task_id = parse_u32(task, "task")
        return self._prove(hash, lambda state: api.get_model_provenance(state, task_id))

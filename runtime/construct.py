"""The flockchain runtime: every pallet at its explicit, permanent index, what each needs of the
others (FRAME's ``impl pallet::Config for Runtime``), and the order their hooks run in.

Indices are part of every encoded call and event; never renumber a pallet, only append. The hook
order is a property of the composition, not of the indices: it may change when pallets are added.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.abc import StateReader
from runtime.framework.runtime import Runtime
from runtime.pallets import session as session_pallet
from runtime.pallets.alliance import Alliance
from runtime.pallets.arena import Arena
from runtime.pallets.balances import Balances
from runtime.pallets.emission import Emission
from runtime.pallets.finality import Finality
from runtime.pallets.governance import Governance
from runtime.pallets.offences import Offences
from runtime.pallets.session import Session
from runtime.pallets.staking import Staking
from runtime.pallets.system import System
from runtime.pallets.timestamp import Timestamp
from runtime.pallets.transaction_payment import TransactionPayment
from runtime.pallets.treasury import Treasury


@dataclass(frozen=True)
class RuntimeVersion:
    """Substrate's ``RuntimeVersion``: ``spec_version`` rises with every change to what a block
    does; ``transaction_version`` with every change to how calls are encoded (indices, arguments),
    so a client knows when the transactions it signs offline would mean something else."""

    spec_name: str
    spec_version: int
    transaction_version: int


RUNTIME_VERSION = RuntimeVersion(spec_name="flockchain", spec_version=2, transaction_version=2)

PALLET_INDICES = {
    "system": 0,
    "timestamp": 1,
    "balances": 2,
    "transaction_payment": 3,
    "treasury": 4,
    "session": 5,
    "emission": 6,
    "staking": 7,
    "offences": 8,
    "governance": 9,
    "finality": 10,
    "arena": 11,
    "alliance": 12,
}

# on_initialize and on_finalize of every block, in this order. Emission pays the block into the
# reward pools before staking counts the author's point; session then ends the epoch (and, through
# staking, the era: payout, slashes, election) so the elected set authors from the next block;
# the ML markets close their rounds after emission has paid their tasks and after an era's
# slashes applied; governance enacts after all of them, so an enacted change applies from the
# next block on.
HOOK_ORDER = (
    "system",
    "timestamp",
    "balances",
    "transaction_payment",
    "treasury",
    "emission",
    "staking",
    "session",
    "offences",
    "arena",
    "alliance",
    "governance",
    "finality",
)


class SessionRandomness:
    """Session's epoch randomness as the ML markets' ``EpochRandomness`` (an adapter in the
    composition, as FRAME runtimes wire ``pallet_babe``'s randomness into other pallets)."""

    def get_epoch_randomness(self, state: StateReader) -> bytes:
        return session_pallet.get_randomness(state)


def construct_runtime() -> Runtime:
    system, timestamp, balances = System(), Timestamp(), Balances()
    payment, treasury, session, emission = TransactionPayment(), Treasury(), Session(), Emission()
    staking, offences, governance, finality = Staking(), Offences(), Governance(), Finality()
    arena, alliance, randomness = Arena(), Alliance(), SessionRandomness()

    payment.configure(currency=balances, session=session)
    treasury.configure(currency=balances)
    session.configure(manager=staking)
    emission.configure(currency=balances, time=timestamp, ml_markets=(arena, alliance))
    staking.configure(currency=balances, session=session, slashing=offences)
    offences.configure(
        currency=balances,
        session=session,
        staking=staking,
        validators=staking,
        kinds=(*arena.offence_kinds(), *alliance.offence_kinds()),
    )
    for market in (arena, alliance):
        market.configure(
            currency=balances, randomness=randomness, staking=staking, slashing=offences, offences=offences
        )
    governance.configure(currency=balances, staking=staking, slashing=offences)
    finality.configure(session=session, staking=staking)

    pallets = {
        "system": system,
        "timestamp": timestamp,
        "balances": balances,
        "transaction_payment": payment,
        "treasury": treasury,
        "session": session,
        "emission": emission,
        "staking": staking,
        "offences": offences,
        "governance": governance,
        "finality": finality,
        "arena": arena,
        "alliance": alliance,
    }
    return Runtime(((PALLET_INDICES[name], pallet) for name, pallet in pallets.items()), HOOK_ORDER)

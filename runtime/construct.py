"""The flockchain runtime: every pallet at its explicit, permanent index.

Indices are part of every encoded call and event; never renumber a pallet, only append.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.framework.runtime import Runtime
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


RUNTIME_VERSION = RuntimeVersion(spec_name="flockchain", spec_version=1, transaction_version=1)

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
}


def construct_runtime() -> Runtime:
    offences = Offences()
    return Runtime(
        [
            (PALLET_INDICES["system"], System()),
            (PALLET_INDICES["timestamp"], Timestamp()),
            (PALLET_INDICES["balances"], Balances()),
            (PALLET_INDICES["transaction_payment"], TransactionPayment()),
            (PALLET_INDICES["treasury"], Treasury()),
            (PALLET_INDICES["session"], Session()),
            (PALLET_INDICES["emission"], Emission()),
            (PALLET_INDICES["staking"], Staking(era_end_handler=offences)),
            (PALLET_INDICES["offences"], offences),
            (PALLET_INDICES["governance"], Governance()),
            (PALLET_INDICES["finality"], Finality()),
        ]
    )

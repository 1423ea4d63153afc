"""The simulated chain's genesis: the local testnet's parameters with N validators whose keys
come from a key seed and their index (bare account keys as session keys), each bonding its own
stake (finality and the slot lottery weigh validators by it)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from flockchain.chain.genesis import compute_genesis_header_from_state
from genesis.spec import load_chain_spec
from runtime.block import Header
from runtime.construct import construct_runtime
from runtime.framework.runtime import Runtime
from runtime.primitives.address import encode_address
from runtime.primitives.hashing import blake2b_256
from runtime.primitives.keys import Keypair

FLOCK = 10**9
VALIDATOR_BALANCE = 1_000_000 * FLOCK
VALIDATOR_BOND = 100_000 * FLOCK  # each validator's bond when the run gives no stakes


@dataclass(frozen=True)
class SimGenesis:
    runtime: Runtime
    keypairs: tuple[Keypair, ...]
    state: dict[bytes, bytes]
    header: Header


def sim_keypair(index: int, key_seed: int = 0) -> Keypair:
    """Validator ``index``'s key in runs of ``key_seed`` (seed 0: the keys every earlier run used)."""
    seed_bytes = b"" if key_seed == 0 else key_seed.to_bytes(8, "big")
    return Keypair.from_seed(blake2b_256(b"flockchain simulator validator" + seed_bytes + index.to_bytes(4, "big")))


def build_sim_genesis(
    validators: int,
    epoch_length: int,
    era_length: int,
    slot_ms: int,
    *,
    stakes: tuple[int, ...] = (),
    key_seed: int = 0,
) -> SimGenesis:
    """The genesis of a run; its runtime times slots of ``slot_ms`` (twice the timestamp pallet's
    minimum period), the slots the run announces. ``stakes``: each validator's bond in FLOCK
    (default: ``VALIDATOR_BOND`` each)."""
    bonds = [stake * FLOCK for stake in stakes] if stakes else [VALIDATOR_BOND] * validators
    if len(bonds) != validators or not all(0 < bond < VALIDATOR_BALANCE for bond in bonds):
        raise ValueError(f"{validators} validators need as many stakes below {VALIDATOR_BALANCE // FLOCK} FLOCK")
    runtime = construct_runtime()
    keypairs = tuple(sim_keypair(i, key_seed) for i in range(validators))
    addresses = [encode_address(keypair.public_key) for keypair in keypairs]
    config = copy.deepcopy(load_chain_spec("local").genesis["runtime"])
    balances = config["balances"]["balances"]
    treasury_like = max(balances, key=lambda entry: entry[1])
    treasury_like[1] -= VALIDATOR_BALANCE * validators
    balances.extend([address, VALIDATOR_BALANCE] for address in addresses)
    config["session"]["authorities"] = addresses
    config["session"]["epochLengthBlocks"] = epoch_length
    staking = config["staking"]
    staking["eraLengthBlocks"] = era_length
    staking["validatorCount"] = validators
    staking["stakers"] = [[address, bond, 0] for address, bond in zip(addresses, bonds)]
    config["timestamp"]["minimumPeriod"] = slot_ms // 2
    # Slashes apply at the end of the offence's era, so a run of a few eras shows them applied.
    config["offences"]["slashDeferEras"] = 0
    changes = runtime.build_genesis(config)
    state = {key: value for key, value in changes.items() if value is not None}
    return SimGenesis(runtime, keypairs, state, compute_genesis_header_from_state(state))

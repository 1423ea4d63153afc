"""The simulated chain's genesis: the local testnet's parameters with N validators of equal
stake whose keys come from their index (bare account keys as session keys)."""

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

VALIDATOR_BALANCE = 1_000_000 * 10**9
VALIDATOR_BOND = 100_000 * 10**9


@dataclass(frozen=True)
class SimGenesis:
    runtime: Runtime
    keypairs: tuple[Keypair, ...]
    state: dict[bytes, bytes]
    header: Header


def sim_keypair(index: int) -> Keypair:
    return Keypair.from_seed(blake2b_256(b"flockchain simulator validator" + index.to_bytes(4, "big")))


def build_sim_genesis(validators: int, epoch_length: int, era_length: int, slot_ms: int) -> SimGenesis:
    """The genesis of a run; its runtime times slots of ``slot_ms`` (twice the timestamp pallet's
    minimum period), the slots the run announces."""
    runtime = construct_runtime()
    keypairs = tuple(sim_keypair(i) for i in range(validators))
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
    staking["stakers"] = [[address, VALIDATOR_BOND, 0] for address in addresses]
    config["timestamp"]["minimumPeriod"] = slot_ms // 2
    # Slashes apply at the end of the offence's era, so a run of a few eras shows them applied.
    config["offences"]["slashDeferEras"] = 0
    changes = runtime.build_genesis(config)
    state = {key: value for key, value in changes.items() if value is not None}
    return SimGenesis(runtime, keypairs, state, compute_genesis_header_from_state(state))

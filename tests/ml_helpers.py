"""Scripted ML actors on the composed runtime: a chain of real blocks (the executive, signed
extrinsics, every pallet's hooks) whose invariants are checked after every block, and what a
worker computes off chain (work proofs, commitments, VRF proofs of its roles).

Fees are zero on these chains, so a test can compute every balance by hand from the ML
formulas alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.accounts import (
    CONSENSUS_REWARD_POOL_ACCOUNT,
    EMISSION_RESERVE_ACCOUNT,
    ML_REWARD_POOL_ACCOUNT,
    TREASURY_ACCOUNT,
)
from runtime.block import encode_extrinsic, sign_extrinsic
from runtime.executive import Executive
from runtime.framework.mlwork import (
    AttestationPayload,
    MlWorkProof,
    SignedMlWorkProof,
    compute_commitment,
    compute_vrf_input,
    prove_vrf_value,
    sign_work_proof,
)
from runtime.pallets import offences, system
from runtime.primitives.address import encode_address
from runtime.primitives.codec import Record
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.keys import Keypair
from runtime_helpers import (
    BALANCES,
    RUNTIME,
    TEST_AUTHORITY,
    TEST_GENESIS_HASH,
    DictState,
    build_genesis_state,
    execute_block,
    named_keypair,
)

ED = 1_000
NO_FEES = {"baseFee": 0, "lengthFee": 0, "weightFee": 0, "authorSharePerbill": 0}
PERCENT = 10_000_000  # Perbill parts
ONE = 10**9  # fixed point 1.0


def root(label: str) -> bytes:
    """A stand-in Merkle root or commitment named by ``label``."""
    return hashlib.blake2b(label.encode(), digest_size=32).digest()


def salt(label: str) -> bytes:
    return hashlib.blake2b(b"salt " + label.encode(), digest_size=32).digest()


def ml_genesis(
    balances: Mapping[bytes, int],
    *,
    arena: Mapping[str, Any] | None = None,
    alliance: Mapping[str, Any] | None = None,
    ml_per_block: int = 0,
    era_length: int = 0,
    reserve: int = 10**15,
) -> DictState:
    """A test chain: ``balances``, the treasury and both reward pools at the existential deposit,
    the emission reserve, no fees, and (``ml_per_block``) an emission schedule whose ML part is
    exactly that much a block (one block a second, half of it to ML). ``era_length``: staking
    with the test authority as its one validator, eras of that many blocks, slashes applied at
    the end of the era they are reported in."""
    accounts = [
        (TREASURY_ACCOUNT, ED),
        (CONSENSUS_REWARD_POOL_ACCOUNT, ED),
        (ML_REWARD_POOL_ACCOUNT, ED),
        (EMISSION_RESERVE_ACCOUNT, reserve),
        (TEST_AUTHORITY.public_key, 10**12),
        *balances.items(),
    ]
    config: dict[str, dict[str, Any]] = {"transaction_payment": dict(NO_FEES)}
    if arena is not None:
        config["arena"] = dict(arena)
    if alliance is not None:
        config["alliance"] = dict(alliance)
    if ml_per_block:
        daily = 2 * ml_per_block * 86_400  # a second pays 2 × ml_per_block, half of it to ML
        config["emission"] = {"dailyEmission": daily, "monthlyDecayPerbill": 0, "mlSharePerbill": 50 * PERCENT}
    stakers: tuple[tuple[bytes, int, int], ...] = ()
    if era_length:
        config["session"] = {"epochLengthBlocks": era_length}
        config["staking"] = {
            "eraLengthBlocks": era_length,
            "bondingDurationEras": 2,
            "validatorCount": 1,
            "minValidatorBond": ED,
            "maxCommissionPerbill": 0,
            "maxCommissionChangePerbill": 0,
        }
        config["offences"] = {
            "slashDeferEras": 0,
            "reporterRewardPerbill": 10 * PERCENT,
            "minBlockEquivocationPerbill": 0,
            "minVoteEquivocationPerbill": 0,
            "minUnresponsivenessPerbill": 0,
            "maxUnresponsivenessPerbill": 0,
        }
        stakers = ((TEST_AUTHORITY.public_key, 10**11, 0),)
    return build_genesis_state(accounts=accounts, existential_deposit=ED, stakers=stakers, config=config)


@dataclass
class Chain:
    """Blocks on a state, one after another; ``try_state`` must hold after each."""

    state: DictState
    executive: Executive = field(default_factory=lambda: Executive(RUNTIME, TEST_GENESIS_HASH))
    nonces: dict[bytes, int] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)  # the last block's

    @property
    def number(self) -> int:
        return system.get_block_number(self.state)

    def block(self, *calls: tuple[Keypair, Record], expect_ok: bool = True) -> list[bool]:
        """The next block with ``calls`` signed by their keys; whether each succeeded (all must,
        unless ``expect_ok`` is False)."""
        extrinsics = []
        for key, args in calls:
            nonce = self.nonces.get(key.public_key, 0)
            self.nonces[key.public_key] = nonce + 1
            call = RUNTIME.encode_call(args)
            extrinsics.append(encode_extrinsic(sign_extrinsic(key, TEST_GENESIS_HASH, nonce=nonce, call=call)))
        self.state = execute_block(self.executive, self.state, extrinsics)
        records = RUNTIME.decode_events(system.Events.get(self.state))
        self.events = [record.event for record in records]
        outcomes = [
            isinstance(record.event, system.ExtrinsicSuccess)
            for record in records
            if isinstance(record.event, system.ExtrinsicSuccess | system.ExtrinsicFailed) and record.extrinsic_index
        ]
        assert RUNTIME.try_state(self.state) == []
        if expect_ok:
            failed = [event for event in self.events if isinstance(event, system.ExtrinsicFailed)]
            assert all(outcomes) and len(outcomes) == len(calls), f"a call failed: {failed}"
        return outcomes

    def errors(self) -> list[tuple[int, int]]:
        """``(pallet index, error code)`` of each call that failed in the last block."""
        return [
            (event.pallet_index, event.error_code) for event in self.events if isinstance(event, system.ExtrinsicFailed)
        ]

    def run_to(self, number: int) -> None:
        """Empty blocks until block ``number`` is the last one."""
        while self.number < number:
            self.block()

    def end_era(self, era_length: int) -> None:
        """Empty blocks to the end of the current era (of ``era_length`` blocks): the slashes
        reported in it apply."""
        self.run_to((self.number // era_length + 1) * era_length)

    def free(self, who: bytes) -> int:
        return BALANCES.get_free_balance(self.state, who)

    def held(self, who: bytes, reason: bytes) -> int:
        return BALANCES.get_held(self.state, who, reason)

    def total(self, who: bytes) -> int:
        return system.get_account(self.state, who).total

    def issuance(self) -> int:
        return BALANCES.get_total_issuance(self.state)


@dataclass(frozen=True)
class Worker:
    """A worker's key, and what it computes off chain."""

    name: str

    @property
    def key(self) -> Keypair:
        return named_keypair(self.name)

    @property
    def account(self) -> bytes:
        return self.key.public_key

    @property
    def address(self) -> str:
        return encode_address(self.account)

    def prove(self, market: int, purpose: int, seed: bytes, task: int, round_: int, subject: int) -> tuple[bytes, int]:
        """Its VRF proof for a role and the value it draws (the account key is the VRF key)."""
        return prove_vrf_value(self.key.seed, compute_vrf_input(market, purpose, seed, task, round_, subject))

    def work(self, market: int, task: int, round_: int, parent: bytes, label: str, **fields: Any) -> SignedMlWorkProof:
        """A signed work proof whose blobs are named by ``label``."""
        proof = MlWorkProof(
            market=market,
            task=task,
            round=round_,
            worker=self.account,
            slot=fields.get("slot", 0),
            parent_model_root=parent,
            update_root=fields.get("update_root", root(f"update {label}")),
            update_chunks=fields.get("update_chunks", 4),
            data_commitment=root(f"data {label}"),
            trace_root=root(f"trace {label}"),
            steps=fields.get("steps", 100),
            checkpoint_interval=10,
            claimed_metric=fields.get("claimed_metric", 0),
        )
        return sign_work_proof(self.key, proof, TEST_GENESIS_HASH)

    def commit_work(self, signed: SignedMlWorkProof, label: str) -> bytes:
        return compute_commitment(self.account, signed.proof.encode(), salt(label))

    def commit_values(
        self,
        market: int,
        task: int,
        round_: int,
        items: Iterable[Any],
        values: Iterable[int],
        label: str,
        aggregate_root: bytes = ZERO_HASH,
    ) -> bytes:
        payload = AttestationPayload(market, task, round_, tuple(items), tuple(values), aggregate_root)
        return compute_commitment(self.account, payload.encode(), salt(label))


def endow(*workers: Worker, amount: int) -> dict[bytes, int]:
    return {worker.account: amount for worker in workers}


def offence_recorded(chain: Chain, kind: int, offender: Worker) -> bool:
    """Whether the last block recorded an offence of ``kind`` by ``offender``."""
    return any(
        isinstance(event, offences.OffenceRecorded) and (event.kind, event.offender) == (kind, offender.account)
        for event in chain.events
    )

"""The one door into the runtime (Substrate's runtime APIs): what the node, consensus, RPC and CLI
may ask of it, as pure functions over a state reader, and the extrinsics a node builds itself.

Nothing outside ``runtime/`` imports a pallet; it asks here (``tests/test_architecture.py``
enforces it). Blocks are executed and transactions validated by the executive
(``runtime/executive.py``, Substrate's ``Core``, ``BlockBuilder`` and ``TaggedTransactionQueue``
APIs); everything else a client needs to know of the runtime's shape (calls, events, errors,
storage items and their keys) is in its metadata (``get_metadata``).

Answers are plain frozen records, never a pallet's storage types, so a pallet may change how it
stores something without a change outside ``runtime/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from runtime.abc import StateReader
from runtime.block import (
    Header,
    Justification,
    SignedFinalityVote,
    UnsignedExtrinsic,
    decode_extrinsic,
    encode_extrinsic,
)
from runtime.construct import RUNTIME_VERSION, RuntimeVersion, construct_runtime
from runtime.errors import EncodingError, MalformedTransaction
from runtime.framework.metadata import build_metadata, compute_metadata_hash, encode_metadata_json
from runtime.framework.runtime import Runtime
from runtime.pallets import balances, finality, governance, offences, session, system, timestamp, transaction_payment

# The composed runtime the answers below come from (pallets keep no state of their own, so any
# instance answers alike; the node executes blocks with its own from ``construct_runtime``).
RUNTIME: Runtime = construct_runtime()
_FINALITY: finality.Finality = RUNTIME.pallet(finality.NAME)  # type: ignore[assignment]

OFFENCE_BLOCK_EQUIVOCATION = offences.KIND_BLOCK_EQUIVOCATION
OFFENCE_VOTE_EQUIVOCATION = offences.KIND_VOTE_EQUIVOCATION
OFFENCE_UNRESPONSIVENESS = offences.KIND_UNRESPONSIVENESS

PROPOSAL_STATUS_NAMES = {
    governance.STATUS_FLAGGING: "flagging",
    governance.STATUS_VOTING: "voting",
    governance.STATUS_APPROVED: "approved",
}


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BabeAuthority:
    signing_key: bytes  # ed25519: seals the blocks (``Header.author``) and signs finality votes
    vrf_key: bytes
    weight: int  # the slot lottery's stake and the finality vote's weight


@dataclass(frozen=True)
class BabeEpoch:
    """What the slot lottery of the children of a block needs (Substrate's ``BabeApi``)."""

    index: int
    randomness: bytes
    authorities: tuple[BabeAuthority, ...]
    primary_probability: tuple[int, int]  # BABE's c as (numerator, denominator)
    slot_duration_ms: int


@dataclass(frozen=True)
class FinalityAuthorities:
    """The voters that finalize the children of a block (Substrate's ``GrandpaApi``)."""

    set_id: int
    voters: tuple[tuple[bytes, int], ...]  # (signing key, weight), in slot order


@dataclass(frozen=True)
class AccountView:
    nonce: int
    free: int
    reserved: int  # everything not free, holds included
    held: int  # the part of ``reserved`` under named holds
    frozen: int  # the largest lock on ``free``


@dataclass(frozen=True)
class RecordedOffence:
    kind: int  # OFFENCE_*
    offender: bytes
    era: int


@dataclass(frozen=True)
class GovernanceKeys:
    """Storage keys a governance listing proves: the parameters, the next proposal id and the
    index of open proposals (a proof of the index proves a listing complete)."""

    parameters: bytes
    next_proposal_id: bytes
    open_proposal_ids: bytes


@dataclass(frozen=True)
class ProposalView:
    id: int
    storage_key: bytes  # where its record lies, for a state proof
    proposer: bytes
    call: bytes
    call_name: str  # ``pallet.call``, or "undecodable"
    description_hash: bytes
    stake: int
    submitted_at: int
    status: str  # "flagging", "voting" or "approved"
    deadline: int
    flag_weight: int
    aye: int
    nay: int
    abstain: int


# --- version --------------------------------------------------------------------------------


def get_runtime_version() -> RuntimeVersion:
    return RUNTIME_VERSION


# --- consensus ------------------------------------------------------------------------------


def get_babe_epoch(state: StateReader) -> BabeEpoch:
    """The epoch of the children of the block whose post-state is ``state``."""
    numerator, denominator = session.get_primary_probability(state)
    authorities = tuple(
        BabeAuthority(authority.signing, authority.vrf, authority.weight)
        for authority in _FINALITY.get_authority_weights(state)
    )
    return BabeEpoch(
        session.get_current_epoch(state),
        session.get_randomness(state),
        authorities,
        (numerator, denominator),
        timestamp.get_slot_duration_ms(state),
    )


def get_finality_set_id(state: StateReader) -> int:
    """The authority set id after the block whose post-state is ``state``."""
    return session.get_set_id(state)


def get_finality_authorities(state: StateReader) -> FinalityAuthorities:
    """The weighted voters that finalize the children of the block with post-state ``state``."""
    voters = tuple((authority.signing, authority.weight) for authority in _FINALITY.get_authority_weights(state))
    return FinalityAuthorities(session.get_set_id(state), voters)


def get_last_noted_finality(state: StateReader) -> int:
    """The number of the last block whose justification this chain's blocks carried."""
    return finality.get_last_noted(state)


def build_timestamp_inherent(now_ms: int) -> bytes:
    """The encoded timestamp inherent every block starts with."""
    return _encode_unsigned(timestamp.SetArgs(now_ms))


def build_finality_note(justification: Justification) -> bytes:
    """The encoded unsigned ``note_finality`` an author puts in its block."""
    return _encode_unsigned(finality.NoteFinalityArgs(justification))


def build_block_equivocation_report(first: Header, second: Header) -> bytes:
    """The encoded unsigned report of two headers one author sealed for one slot."""
    evidence = offences.BlockEquivocation(first, second)
    return _encode_unsigned(offences.ReportEquivocationUnsignedArgs(evidence))


def build_vote_equivocation_report(first: SignedFinalityVote, second: SignedFinalityVote) -> bytes:
    """The encoded unsigned report of two votes one voter signed for one (set, round, stage)."""
    evidence = offences.VoteEquivocation(first, second)
    return _encode_unsigned(offences.ReportEquivocationUnsignedArgs(evidence))


def get_recorded_offences(state: StateReader) -> list[RecordedOffence]:
    """Every offence recorded on chain (not on the block-execution path: it lists a map)."""
    return [RecordedOffence(offence.kind, offence.offender, era) for offence, era in offences.iter_reports(state)]


def _encode_unsigned(args: Any) -> bytes:
    return encode_extrinsic(UnsignedExtrinsic(RUNTIME.encode_call(args)))


# --- accounts and tokens --------------------------------------------------------------------


def get_account(state: StateReader, who: bytes) -> AccountView:
    info = system.get_account(state, who)
    return AccountView(info.nonce, info.free, info.reserved, balances.get_total_held(state, who), info.frozen)


def get_total_issuance(state: StateReader) -> int:
    return balances.get_total_issuance(state)


# --- governance -----------------------------------------------------------------------------


GOVERNANCE_KEYS = GovernanceKeys(
    governance.PARAMETERS.storage.key, governance.NextProposalId.key, governance.OpenProposalIds.key
)


def decode_open_proposal_ids(raw: bytes | None) -> tuple[int, ...]:
    """The open proposal ids from the index's storage entry (None: absent, so none)."""
    return () if raw is None else governance.decode_open_proposal_ids(raw)


def decode_next_proposal_id(raw: bytes | None) -> int:
    return 0 if raw is None else governance.decode_next_proposal_id(raw)


def get_open_proposal_ids(state: StateReader) -> tuple[int, ...]:
    """The ids of the open proposals, increasing: the index governance keeps, complete."""
    return governance.get_open_proposal_ids(state)


def get_open_proposals(state: StateReader) -> list[ProposalView]:
    """Every open proposal, by id (from the index, so a proof of the index proves the list complete)."""
    return [
        decode_proposal(key, raw)
        for key in map(get_proposal_storage_key, get_open_proposal_ids(state))
        if (raw := state.get(key)) is not None
    ]


def get_proposal_storage_key(proposal_id: int) -> bytes:
    return governance.get_proposal_storage_key(proposal_id)


def decode_proposal(storage_key: bytes, raw: bytes) -> ProposalView:
    """A proposal from its storage entry (as a state proof gives it to a light client)."""
    proposal = governance.decode_proposal(raw)
    return ProposalView(
        id=governance.decode_proposal_id(storage_key),
        storage_key=storage_key,
        proposer=proposal.proposer,
        call=proposal.call,
        call_name=describe_call(proposal.call),
        description_hash=proposal.description_hash,
        stake=proposal.stake,
        submitted_at=proposal.submitted_at,
        status=PROPOSAL_STATUS_NAMES.get(proposal.status, "unknown"),
        deadline=proposal.deadline,
        flag_weight=proposal.flag_weight,
        aye=proposal.aye,
        nay=proposal.nay,
        abstain=proposal.abstain,
    )


def describe_call(call: bytes) -> str:
    """``pallet.call`` of an encoded call, or "undecodable"."""
    try:
        decoded = RUNTIME.decode_call(call)
    except MalformedTransaction:
        return "undecodable"
    return f"{decoded.pallet.NAME}.{decoded.definition.name}"


# --- metadata and fees --------------------------------------------------------------------

DISPATCH_CLASS_NORMAL = "normal"  # a signed transaction: pays its fee
DISPATCH_CLASS_MANDATORY = "mandatory"  # an inherent: the block author's, pays nothing


@dataclass(frozen=True)
class FeeInfo:
    """Substrate's ``RuntimeDispatchInfo`` (``payment_queryInfo``)."""

    weight: int
    dispatch_class: str  # DISPATCH_CLASS_*
    partial_fee: int  # the fee without the tip


def get_metadata() -> dict[str, Any]:
    """The runtime's metadata document (``runtime/framework/metadata.py``); a fresh copy."""
    return json.loads(get_metadata_json())


@cache
def get_metadata_json() -> str:
    """The metadata's canonical JSON text (the runtime cannot change while the process runs)."""
    return encode_metadata_json(build_metadata(RUNTIME, RUNTIME_VERSION))


def get_metadata_hash() -> bytes:
    """blake2b-256 of :func:`get_metadata_json`."""
    return compute_metadata_hash(get_metadata_json())


def compute_fee_info(state: StateReader, encoded_extrinsic: bytes) -> FeeInfo:
    """What ``encoded_extrinsic`` pays in a block after ``state``, computed as the executive
    charges it (its encoded length and its call's weight; the tip comes on top). Its signature,
    nonce and balance are not checked. Raises :class:`MalformedTransaction`."""
    try:
        xt = decode_extrinsic(encoded_extrinsic)
    except EncodingError as exc:
        raise MalformedTransaction(f"extrinsic does not decode: {exc}") from None
    weight = RUNTIME.decode_call(xt.call).definition.weight
    if isinstance(xt, UnsignedExtrinsic):
        return FeeInfo(weight, DISPATCH_CLASS_MANDATORY, 0)
    return FeeInfo(weight, DISPATCH_CLASS_NORMAL, transaction_payment.get_fee(state, len(encoded_extrinsic), weight))

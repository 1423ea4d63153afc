"""Slot claims: the author's side (``claim_slot``) and the importer's (``verify_slot_claim``).

An authority wins the primary slot when its VRF output for the slot, its first 16 bytes read as a
big-endian u128, is below its threshold (``threshold.compute_primary_threshold``). Several authorities
may win a slot, or none; for the latter, every slot also has one secondary author, who may claim it
without a win (``epochs.compute_secondary_author_index``), so a slot is empty only if that author is
offline. Fork choice prefers primary blocks; that is not this module's concern.
"""

from __future__ import annotations

from consensus.babe.digest import KIND_PRIMARY, KIND_SECONDARY, PreDigest, find_pre_digest
from consensus.babe.epochs import Authority, Epoch, compute_secondary_author_index, compute_slot_vrf_input
from consensus.babe.errors import (
    BadVrfProof,
    ThresholdExceeded,
    WrongAuthorityIndex,
    WrongSecondaryAuthor,
)
from consensus.babe.threshold import compute_primary_threshold
from runtime.block import Header
from runtime.errors import InvalidKey, InvalidVrfProof
from runtime.primitives import vrf

THRESHOLD_BYTES = 16


def compute_authority_threshold(epoch: Epoch, authority_index: int) -> int:
    stake = epoch.authorities[authority_index].stake
    return compute_primary_threshold(stake, epoch.total_stake, epoch.c_numerator, epoch.c_denominator)


def is_primary_win(vrf_output: bytes, threshold: int) -> bool:
    return int.from_bytes(vrf_output[:THRESHOLD_BYTES], "big") < threshold


def claim_slot(slot: int, epoch: Epoch, authority_index: int, vrf_seed: bytes) -> PreDigest | None:
    """The claim of authority ``authority_index`` (holding ``vrf_seed``) on ``slot``: primary if its VRF
    output wins, else secondary if it is the slot's secondary author, else ``None``."""
    authority = _get_authority(epoch, authority_index)
    if vrf.public_key(vrf_seed) != authority.vrf_key:
        raise WrongAuthorityIndex(f"the VRF seed is not that of authority {authority_index}")
    proof = vrf.prove(vrf_seed, compute_slot_vrf_input(epoch.randomness, slot, epoch.index))
    output = vrf.proof_to_hash(proof)
    if is_primary_win(output, compute_authority_threshold(epoch, authority_index)):
        return PreDigest(KIND_PRIMARY, authority_index, slot, output, proof)
    if compute_secondary_author_index(epoch.randomness, slot, len(epoch.authorities)) == authority_index:
        return PreDigest(KIND_SECONDARY, authority_index, slot, b"", b"")
    return None


def verify_slot_claim(pre_digest: PreDigest, header_author: bytes, epoch: Epoch) -> bytes:
    """Checks that ``pre_digest`` lets ``header_author`` author its slot in ``epoch``; returns the VRF
    output of a primary claim (empty for a secondary one). Raises an :class:`InvalidSlotClaim`."""
    authority = _get_authority(epoch, pre_digest.authority_index)
    if authority.account != header_author:
        raise WrongAuthorityIndex(f"authority {pre_digest.authority_index} is not the header's author")
    if pre_digest.is_primary:
        return _verify_primary_claim(pre_digest, authority, epoch)
    secondary_index = compute_secondary_author_index(epoch.randomness, pre_digest.slot, len(epoch.authorities))
    if secondary_index != pre_digest.authority_index:
        raise WrongSecondaryAuthor(f"slot {pre_digest.slot}'s secondary author is authority {secondary_index}")
    return b""


def verify_header_slot_claim(header: Header, epoch: Epoch) -> PreDigest:
    """The header's verified pre-digest (feed it to the epoch's randomness accumulator)."""
    pre_digest = find_pre_digest(header)
    verify_slot_claim(pre_digest, header.author, epoch)
    return pre_digest


def _verify_primary_claim(pre_digest: PreDigest, authority: Authority, epoch: Epoch) -> bytes:
    vrf_input = compute_slot_vrf_input(epoch.randomness, pre_digest.slot, epoch.index)
    try:
        output = vrf.verify(authority.vrf_key, vrf_input, pre_digest.vrf_proof)
    except (InvalidVrfProof, InvalidKey) as error:
        raise BadVrfProof(f"slot {pre_digest.slot}: {error}") from error
    if output != pre_digest.vrf_output:
        raise BadVrfProof(f"slot {pre_digest.slot}: the proof proves another output than the one claimed")
    if not is_primary_win(output, compute_authority_threshold(epoch, pre_digest.authority_index)):
        raise ThresholdExceeded(f"slot {pre_digest.slot}: VRF output is not below authority's threshold")
    return output


def _get_authority(epoch: Epoch, authority_index: int) -> Authority:
    if not 0 <= authority_index < len(epoch.authorities):
        raise WrongAuthorityIndex(f"authority index {authority_index} outside a set of {len(epoch.authorities)}")
    return epoch.authorities[authority_index]

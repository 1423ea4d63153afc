"""Block equivocation detection and the slashing-protection record."""

from __future__ import annotations

from dataclasses import replace

import pytest

from consensus.babe.equivocation import BlockEquivocationDetector, BlockEquivocationEvidence
from consensus.evidence import BadEvidenceSignature, NotAnEquivocation, check_evidence
from consensus.signing_record import SigningRecord
from runtime.block import (
    VOTE_STAGE_PRECOMMIT,
    VOTE_STAGE_PREVOTE,
    FinalityVote,
    Header,
    SignedFinalityVote,
    seal_header,
    sign_finality_vote,
)
from runtime.primitives.hashing import ZERO_HASH
from runtime.primitives.keys import Keypair
from runtime_helpers import named_keypair

AUTHOR, OTHER = b"\x01" * 32, b"\x02" * 32
GENESIS_HASH = b"\x07" * 32


def header(slot: int, author: bytes = AUTHOR, timestamp: int = 0) -> Header:
    return Header(ZERO_HASH, 1, slot, timestamp, ZERO_HASH, ZERO_HASH, author, (), bytes(64))


def test_two_headers_for_one_slot_by_one_author_are_evidence() -> None:
    detector = BlockEquivocationDetector()
    first = header(5)
    assert detector.observe(first) is None
    assert detector.observe(first) is None  # the same header again is no offence
    assert detector.observe(header(5, OTHER)) is None  # another author in the slot
    assert detector.observe(header(6)) is None  # the author's next slot
    second = replace(first, timestamp=1)
    evidence = detector.observe(second)
    assert evidence is not None and (evidence.first, evidence.second) == (first, second)


def test_pruned_slots_are_forgotten() -> None:
    detector = BlockEquivocationDetector()
    detector.observe(header(5))
    detector.observe(header(9))
    detector.prune(5)
    assert detector.observe(header(5, timestamp=1)) is None  # slot 5 forgotten: no longer comparable
    assert detector.observe(header(9, timestamp=1)) is not None


def test_the_signing_record_allows_only_later_slots_and_round_trips() -> None:
    record = SigningRecord.empty()
    assert record.may_seal_block(1) and not record.may_seal_block(0)
    record = record.with_block(7).with_voter_state(b"voter")
    assert not record.may_seal_block(7) and not record.may_seal_block(3) and record.may_seal_block(8)
    with pytest.raises(ValueError, match="not after"):
        record.with_block(7)
    assert SigningRecord.decode(record.encode()) == record


def test_checking_a_header_against_the_detector_remembers_nothing() -> None:
    detector = BlockEquivocationDetector()
    first = header(5)
    assert detector.check(first) is None
    assert detector.observe(first) is None  # the check did not keep ``first``
    second = replace(first, timestamp=1)
    assert detector.check(second) == BlockEquivocationEvidence(first, second)
    assert detector.check(second) is not None and detector.observe(first) is None


SIGNER, OTHER_SIGNER = named_keypair("signer"), named_keypair("other signer")


def sealed(slot: int, timestamp: int = 0, signer: Keypair = SIGNER) -> Header:
    return seal_header(header(slot, signer.public_key, timestamp), signer, GENESIS_HASH)


def vote(target: bytes, signer: Keypair = SIGNER, stage: int = VOTE_STAGE_PREVOTE) -> SignedFinalityVote:
    return sign_finality_vote(FinalityVote(0, 1, stage, target, 1), signer, GENESIS_HASH)


def test_evidence_proves_an_equivocation_only_with_two_different_signed_things_of_one_key_and_time() -> None:
    check_evidence(sealed(5), sealed(5, timestamp=1), GENESIS_HASH)
    check_evidence(vote(b"\x01" * 32), vote(b"\x02" * 32), GENESIS_HASH)
    for first, second in [
        (sealed(5), sealed(5)),  # the same header
        (sealed(5), sealed(6, timestamp=1)),  # another slot
        (sealed(5), sealed(5, 1, OTHER_SIGNER)),  # another author
        (vote(b"\x01" * 32), vote(b"\x01" * 32)),  # the same vote
        (vote(b"\x01" * 32), vote(b"\x02" * 32, stage=VOTE_STAGE_PRECOMMIT)),  # another stage
        (vote(b"\x01" * 32), vote(b"\x02" * 32, OTHER_SIGNER)),  # another voter
        (sealed(5), vote(b"\x01" * 32)),  # a header and a vote
    ]:
        with pytest.raises(NotAnEquivocation):
            check_evidence(first, second, GENESIS_HASH)
    with pytest.raises(BadEvidenceSignature):
        check_evidence(sealed(5), replace(sealed(5, timestamp=1), seal=bytes(64)), GENESIS_HASH)
    with pytest.raises(BadEvidenceSignature):
        check_evidence(vote(b"\x01" * 32), vote(b"\x02" * 32), bytes(32))  # signed for another chain

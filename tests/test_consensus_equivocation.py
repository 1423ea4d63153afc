"""Block equivocation detection and the slashing-protection record."""

from __future__ import annotations

from dataclasses import replace

import pytest

from consensus.babe.equivocation import BlockEquivocationDetector
from consensus.signing_record import SigningRecord
from runtime.block import Header
from runtime.primitives.hashing import ZERO_HASH

AUTHOR, OTHER = b"\x01" * 32, b"\x02" * 32


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

"""Pending equivocation reports: kept until a finalized block carries them, parked while finality
decides a refusal, taken once each, bounded per offender and in total."""

from __future__ import annotations

from flockchain.node.messages import EquivocationMessage
from flockchain.node.reports import PendingReports

EVIDENCE = EquivocationMessage(object(), object())  # type: ignore[arg-type]  # opaque to the bookkeeping
OFFENDER, OTHER = b"\x01" * 32, b"\x02" * 32


def key(slot: int, offender: bytes = OFFENDER) -> tuple[int, bytes, tuple[int, ...]]:
    return 0, offender, (slot,)


def reports() -> PendingReports:
    return PendingReports(max_count=4, max_per_offender=2, max_seen=16)


def test_one_report_per_offence_the_newest_per_offender_and_the_newest_in_all() -> None:
    pending = reports()
    assert pending.add(key(1), b"r1", EVIDENCE) and not pending.add(key(1), b"r1 again", EVIDENCE)
    pending.add(key(2), b"r2", EVIDENCE)
    pending.add(key(3), b"r3", EVIDENCE)  # a third offence of one offender: its oldest goes
    assert [report.encoded for report in pending.get_unparked()] == [b"r2", b"r3"]
    assert not pending.add(key(1), b"r1", EVIDENCE)  # pushed out, but taken once already
    pending.add(key(1, OTHER), b"o1", EVIDENCE)
    pending.add(key(2, OTHER), b"o2", EVIDENCE)
    assert len(pending) == 4
    pending.add(key(1, b"\x03" * 32), b"t1", EVIDENCE)
    assert len(pending) == 4 and not pending.knows(key(2))  # full: the oldest of all went


def test_a_report_leaves_when_a_finalized_block_carries_it_and_is_never_taken_back() -> None:
    pending = reports()
    pending.add(key(1), b"r1", EVIDENCE)
    pending.on_finalized({b"r1"}, lambda _: False, lambda _: False)
    assert len(pending) == 0 and pending.knows(key(1), b"r1")  # a peer's re-send is no news
    assert not pending.add(key(1), b"r1", EVIDENCE)


def test_a_refused_report_waits_for_finality_to_decide() -> None:
    pending = reports()
    pending.add(key(1), b"r1", EVIDENCE)
    pending.add(key(2), b"r2", EVIDENCE)
    pending.park([b"r1", b"r2", b"a transaction"], b"parent A")
    assert pending.get_unparked() == [] and pending.knows(key(1))
    pending.on_finalized(set(), lambda _: False, lambda block: block == b"parent A")  # A abandoned
    assert [report.encoded for report in pending.get_unparked()] == [b"r1", b"r2"]
    pending.park([b"r1"], b"parent B")
    pending.on_finalized(set(), lambda block: block == b"parent B", lambda _: False)  # B final: refused for good
    assert [report.encoded for report in pending.get_unparked()] == [b"r2"] and not pending.add(key(1), b"r1", EVIDENCE)

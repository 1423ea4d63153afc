"""Per-source bounds: the blocks the engine wants for others' votes and commits, its answers to requests."""

from __future__ import annotations

from flockchain.node.limits import AnswerBudget, WantedBlocks


def test_a_source_at_its_share_of_wanted_blocks_pushes_out_its_own_oldest() -> None:
    wanted = WantedBlocks(max_count=4, max_per_source=2, timeout_ms=1_000)
    for name, source in ((b"a", "x"), (b"b", "y"), (b"c", "x"), (b"d", "x")):
        wanted.add(name, source, 0)
    assert b"a" not in wanted and all(name in wanted for name in (b"b", b"c", b"d"))
    wanted.add(b"e", "z", 0)
    wanted.add(b"f", "w", 0)
    assert len(wanted) == 4 and b"b" not in wanted  # full: the oldest of all goes


def test_wanted_blocks_are_forgotten_once_known_or_wanted_too_long() -> None:
    wanted = WantedBlocks(max_count=8, max_per_source=8, timeout_ms=1_000)
    wanted.add(b"old", "x", 0)
    wanted.add(b"known", "x", 500)
    wanted.add(b"lacking", "x", 500)
    assert wanted.get_lacking(1_001, lambda block_hash: block_hash == b"known") == [b"lacking"]
    assert len(wanted) == 1


def test_a_peer_gets_its_answers_per_window_and_no_more() -> None:
    budget = AnswerBudget(per_window=3, window_ms=1_000, max_peers=2)
    assert [budget.spend("a", 0) for _ in range(5)] == [True, True, True, False, False]
    assert budget.spend("b", 10) and budget.spend("a", 1_000)  # another peer; the next window
    budget.spend("c", 20)
    assert len(budget) == 2  # the peer seen least recently is forgotten

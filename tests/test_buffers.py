"""Held blocks: bounded per peer, in count and in bytes; orphans by parent, early blocks by slot."""

from __future__ import annotations

from flockchain.node.buffers import EarlyBlocks, HeldBlock, HeldBlocks, HeldCommit, HeldCommits, OrphanBlocks
from runtime.block import Header, Justification
from runtime.primitives.hashing import blake2b_256


def held(name: str, peer: int = 1, *, parent: str = "genesis", number: int = 1, size: int = 10) -> HeldBlock:
    header = Header(
        parent_hash=blake2b_256(parent.encode()),
        number=number,
        slot=number,
        timestamp=number * 1_000,
        state_root=bytes(32),
        extrinsics_root=bytes(32),
        author=bytes(32),
        digests=(),
        seal=bytes(64),
    )
    return HeldBlock(bytes(size), header, blake2b_256(name.encode()), peer)


def test_a_peer_at_its_limit_pushes_out_its_own_oldest_block_only() -> None:
    blocks = HeldBlocks(max_count=10, max_bytes=1_000, max_per_peer=2)
    a, b, c, other = held("a"), held("b"), held("c"), held("other", peer=2)
    for block in (a, other, b, c):
        blocks.add(block)
    assert a.hash not in blocks and all(block.hash in blocks for block in (b, c, other))


def test_the_total_count_and_bytes_are_bounded_oldest_out_first() -> None:
    blocks = HeldBlocks(max_count=2, max_bytes=1_000, max_per_peer=10)
    first, second, third = held("1", peer=1), held("2", peer=2), held("3", peer=3)
    for block in (first, second, third):
        blocks.add(block)
    assert first.hash not in blocks and second.hash in blocks and third.hash in blocks
    by_bytes = HeldBlocks(max_count=10, max_bytes=25, max_per_peer=10)
    for block in (held("x", size=10), held("y", size=10), held("z", size=10)):
        by_bytes.add(block)
    assert len(by_bytes) == 2
    by_bytes.add(held("huge", size=26))  # larger than the whole buffer: not held, nothing pushed out
    assert len(by_bytes) == 2 and blake2b_256(b"huge") not in by_bytes


def test_orphans_come_out_lowest_first_once_their_parent_is_known_and_ask_for_the_missing_root() -> None:
    orphans = OrphanBlocks(max_count=10, max_bytes=1_000, max_per_peer=10)
    child = held("child", parent="parent", number=2)
    parent = held("parent", parent="genesis", number=1)
    orphans.add(child)
    orphans.add(parent)
    assert orphans.get_missing_ancestor(child.header.parent_hash) == blake2b_256(b"genesis")
    known = {blake2b_256(b"genesis")}
    assert orphans.pop_importable(known.__contains__) == parent
    assert orphans.pop_importable(known.__contains__) is None
    known.add(parent.hash)
    assert orphans.pop_importable(known.__contains__) == child and len(orphans) == 0


def test_orphans_at_or_below_finality_are_pruned() -> None:
    orphans = OrphanBlocks(max_count=10, max_bytes=1_000, max_per_peer=10)
    low, high = held("low", number=3), held("high", number=4)
    orphans.add(low)
    orphans.add(high)
    orphans.prune(3)
    assert low.hash not in orphans and high.hash in orphans


def test_early_blocks_come_out_when_their_slot_starts_earliest_first() -> None:
    early = EarlyBlocks(max_count=10, max_bytes=1_000, max_per_peer=10)
    later, sooner = held("later", number=5), held("sooner", number=4)
    early.add(later)
    early.add(sooner)
    assert early.pop_due(3_999) == []
    assert early.pop_due(5_000) == [sooner, later] and len(early) == 0


def commit(round_: int) -> Justification:
    return Justification(0, round_, bytes(32), 1, ())


def test_held_commits_are_bounded_per_peer_then_in_total() -> None:
    commits = HeldCommits(max_count=3, max_per_peer=2)
    for round_, peer in ((1, 1), (2, 1), (3, 2), (4, 1)):
        commits.add(HeldCommit(commit(round_), peer, 0))
    assert commit(1) not in commits and all(commit(r) in commits for r in (2, 3, 4))  # peer 1's oldest out
    commits.add(HeldCommit(commit(5), 3, 0))
    assert commit(2) not in commits and len(commits) == 3  # then the oldest of all
    assert [held.justification.round for held in commits.pop_all()] == [3, 4, 5] and len(commits) == 0

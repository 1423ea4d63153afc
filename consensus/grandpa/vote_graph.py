"""The vote graph of one stage of one round: every block on a path from the round's base to a
voted block, each with the set of voters (a bitmask of voter indices) who voted for it or for a
descendant. Cumulative sets rather than sums so that equivocators can be OR-ed in at query time
(the paper counts an equivocator as voting for every block, once).

Nodes are kept uncompressed (one per block): simpler to reason about than finality-grandpa's
compressed graph, and rounds are short-lived, with paths no longer than the unfinalized chain.
Children are visited in hash order, so every node computes the same GHOST from the same votes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from consensus.grandpa.chain import BlockRef, BlockTree

MaskCondition = Callable[[int], bool]


@dataclass
class _Node:
    number: int
    parent: bytes | None
    children: list[bytes] = field(default_factory=list)
    voters: int = 0


class VoteGraph:
    """Cumulative votes over the blocks ``>= base``."""

    def __init__(self, base: BlockRef) -> None:
        self.base = base
        self._nodes: dict[bytes, _Node] = {base[0]: _Node(base[1], None)}

    def contains(self, block_hash: bytes) -> bool:
        return block_hash in self._nodes

    def get_voters(self, block_hash: bytes) -> int:
        """Bitmask of voters with a vote ``>=`` the block (0 for a block nobody voted at or above)."""
        node = self._nodes.get(block_hash)
        return 0 if node is None else node.voters

    def get_children(self, block_hash: bytes) -> tuple[bytes, ...]:
        node = self._nodes.get(block_hash)
        return () if node is None else tuple(sorted(node.children))

    def get_number(self, block_hash: bytes) -> int:
        return self._nodes[block_hash].number

    def insert(self, target: BlockRef, voter_index: int, tree: BlockTree) -> bool:
        """Add a vote; ``False`` (nothing changed) when ``tree`` cannot place the target above base."""
        path = tree.ancestry(self.base[0], target[0])
        if path is None or len(path) != target[1] - self.base[1]:
            return False
        bit = 1 << voter_index
        parent = self.base[0]
        self._nodes[parent].voters |= bit
        for offset, block_hash in enumerate(reversed(path), start=1):
            node = self._nodes.get(block_hash)
            if node is None:
                node = _Node(self.base[1] + offset, parent)
                self._nodes[block_hash] = node
                self._nodes[parent].children.append(block_hash)
            node.voters |= bit
            parent = block_hash
        return True

    def is_descendant_or_equal(self, block: BlockRef, ancestor: BlockRef) -> bool:
        """Whether ``block >= ancestor``, both already in the graph."""
        if block[0] not in self._nodes or ancestor[0] not in self._nodes:
            return False
        cursor: bytes | None = block[0]
        while cursor is not None and self._nodes[cursor].number > ancestor[1]:
            cursor = self._nodes[cursor].parent
        return cursor == ancestor[0]

    def get_chain(self, block_hash: bytes) -> list[BlockRef]:
        """The blocks from ``block_hash`` (first) down to base (last); ``[]`` if not in the graph."""
        chain: list[BlockRef] = []
        cursor: bytes | None = block_hash if block_hash in self._nodes else None
        while cursor is not None:
            chain.append((cursor, self._nodes[cursor].number))
            cursor = self._nodes[cursor].parent
        return chain

    def find_ghost(self, current_best: BlockRef | None, condition: MaskCondition) -> BlockRef | None:
        """The highest block whose voter set satisfies ``condition`` (GHOST), ``None`` if not even base.

        ``condition`` must be monotone (true for a block => true for its ancestors); then satisfying
        blocks form a subtree containing base and we descend from it. ``current_best`` (a previous
        result, still valid since votes only add) is where the descent starts, when it still qualifies.
        Among several satisfying children (possible only with more than the tolerated equivocations),
        the one with the most voters' bits, then the lowest hash, wins.
        """
        start = self.base[0]
        if current_best is not None and current_best[0] in self._nodes:
            if condition(self._nodes[current_best[0]].voters):
                start = current_best[0]
        if not condition(self._nodes[start].voters):
            return None
        cursor = start
        while True:
            qualifying = [child for child in self.get_children(cursor) if condition(self._nodes[child].voters)]
            if not qualifying:
                return (cursor, self._nodes[cursor].number)
            cursor = max(qualifying, key=lambda child: (self._nodes[child].voters.bit_count(), _invert(child)))

    def find_ancestor(self, block: BlockRef, condition: MaskCondition) -> BlockRef | None:
        """The highest block on the chain ending at ``block`` (inclusive) whose voters satisfy ``condition``.

        A block above base that nobody voted for is not in the graph: walking starts from its highest
        ancestor in the graph only when ``block`` itself is in the graph (callers pass GHOST results).
        """
        cursor: bytes | None = block[0] if block[0] in self._nodes else None
        while cursor is not None:
            node = self._nodes[cursor]
            if condition(node.voters):
                return (cursor, node.number)
            cursor = node.parent
        return None


def _invert(block_hash: bytes) -> bytes:
    return bytes(255 - b for b in block_hash)

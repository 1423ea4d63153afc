"""Vote graph: cumulative voter sets and GHOST over small trees."""

from consensus.grandpa.chain import DictBlockTree
from consensus.grandpa.vote_graph import VoteGraph


def h(name: str) -> bytes:
    return name.encode().ljust(32, b"\0")


def make_tree() -> DictBlockTree:
    """G - A - B - C - D, with a fork B - C2 - D2."""
    tree = DictBlockTree(h("G"))
    for block, parent in [("A", "G"), ("B", "A"), ("C", "B"), ("D", "C"), ("C2", "B"), ("D2", "C2")]:
        tree.add_block(h(block), h(parent))
    return tree


def at_least(count: int, equivocators: int = 0):
    return lambda mask: (mask | equivocators).bit_count() >= count


def test_ancestry_convention() -> None:
    tree = make_tree()
    assert tree.ancestry(h("A"), h("D")) == [h("D"), h("C"), h("B")]
    assert tree.ancestry(h("D"), h("D")) == []
    assert tree.ancestry(h("C"), h("D2")) is None
    assert tree.ancestry(h("G"), h("X")) is None
    assert tree.best_chain_containing(h("C2")) == (h("D2"), 4)
    assert tree.best_chain_containing(h("G")) == (min(h("D"), h("D2")), 4)


def test_cumulative_votes_and_ghost_on_a_fork() -> None:
    tree = make_tree()
    graph = VoteGraph((h("G"), 0))
    assert graph.insert((h("D"), 4), 0, tree)
    assert graph.insert((h("D2"), 4), 1, tree)
    assert graph.insert((h("C"), 3), 2, tree)
    assert graph.get_voters(h("B")) == 0b111
    assert graph.get_voters(h("C")) == 0b101
    assert graph.get_voters(h("C2")) == 0b010
    assert graph.find_ghost(None, at_least(3)) == (h("B"), 2)
    assert graph.find_ghost(None, at_least(2)) == (h("C"), 3)
    assert graph.find_ghost(None, at_least(4)) is None
    assert graph.get_children(h("B")) == tuple(sorted([h("C"), h("C2")]))


def test_votes_on_ancestors_and_descendants() -> None:
    tree = make_tree()
    graph = VoteGraph((h("A"), 1))
    graph.insert((h("A"), 1), 0, tree)  # a vote for the base itself
    graph.insert((h("B"), 2), 1, tree)
    graph.insert((h("D"), 4), 2, tree)
    assert graph.find_ghost(None, at_least(3)) == (h("A"), 1)
    assert graph.find_ghost(None, at_least(2)) == (h("B"), 2)
    assert graph.find_ghost((h("B"), 2), at_least(1)) == (h("D"), 4)
    assert graph.find_ancestor((h("D"), 4), at_least(2)) == (h("B"), 2)
    assert graph.is_descendant_or_equal((h("D"), 4), (h("B"), 2))
    assert not graph.is_descendant_or_equal((h("B"), 2), (h("D"), 4))


def test_unplaceable_votes_change_nothing() -> None:
    tree = make_tree()
    graph = VoteGraph((h("C"), 3))
    assert not graph.insert((h("D2"), 4), 0, tree)  # not a descendant of base
    assert not graph.insert((h("X"), 5), 0, tree)  # unknown block
    assert not graph.insert((h("D"), 9), 0, tree)  # number does not match the path
    assert graph.get_voters(h("C")) == 0


def test_equivocator_counts_for_every_block() -> None:
    tree = make_tree()
    graph = VoteGraph((h("G"), 0))
    graph.insert((h("D"), 4), 0, tree)
    graph.insert((h("D"), 4), 1, tree)
    graph.insert((h("D2"), 4), 2, tree)  # voter 2 also voted elsewhere: an equivocator
    equivocators = 0b100
    assert graph.find_ghost(None, at_least(3)) == (h("B"), 2)
    assert graph.find_ghost(None, at_least(3, equivocators)) == (h("D"), 4)

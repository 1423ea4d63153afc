"""Forks: every block after the last finalized one is executed and kept; fork choice picks the
head; finality prunes what it abandons; a restart rebuilds the tree of unfinalized blocks."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from consensus.babe.digest import find_pre_digest
from flockchain.chain.chain import Chain, StateDelta, TreeRoute
from flockchain.chain.genesis import compute_genesis_header_from_state
from flockchain.db.leveldb import LevelDBStore
from flockchain.db.memory import MemoryStore
from flockchain.errors import BelowFinalized, CorruptDatabase, UnknownBlock
from runtime.accounts import FLOCK
from runtime.block import Block
from runtime.construct import construct_runtime
from runtime_helpers import BALANCES, TEST_AUTHORITY, build_genesis_state, named_keypair, sign_transfer

RUNTIME = construct_runtime()
ALICE, BOB = named_keypair("alice"), named_keypair("bob")
GENESIS_STATE = dict(build_genesis_state(RUNTIME, [ALICE.public_key, BOB.public_key]).iter_prefix(b""))
GENESIS_HEADER = compute_genesis_header_from_state(GENESIS_STATE)
NOW_MS = 1_000_000  # a clock after every slot these tests use


def open_chain(store: object | None = None) -> Chain:
    return Chain(store or MemoryStore(), RUNTIME, GENESIS_HEADER, GENESIS_STATE)  # type: ignore[arg-type]


def transfer(nonce: int, amount: int = FLOCK) -> bytes:
    return sign_transfer(RUNTIME, ALICE, BOB.public_key, amount, nonce=nonce, genesis_hash=GENESIS_HEADER.hash)


def build(chain: Chain, parent: bytes, slot: int, candidates: list[bytes] = ()) -> Block:  # type: ignore[assignment]
    claim = chain.claim_slot(TEST_AUTHORITY, slot, parent)
    assert claim is not None
    return chain.author_block(TEST_AUTHORITY, claim, candidates, parent_hash=parent).block


def secondary_slots(chain: Chain, count: int) -> list[int]:
    """The first ``count`` slots the one authority may only claim as secondary (on genesis's epoch)."""
    found = (s for s in range(1, 400) if not chain.claim_slot(TEST_AUTHORITY, s).is_primary)  # type: ignore[union-attr]
    return [next(found) for _ in range(count)]


def bob_free(chain: Chain, block_hash: bytes) -> int:
    return BALANCES.get_free_balance(chain.state_at(block_hash), BOB.public_key)


def test_a_longer_fork_takes_over_and_each_fork_keeps_its_own_state() -> None:
    chain = open_chain()
    genesis = chain.head_hash
    s1, s2, s3, s4, s5 = secondary_slots(chain, 5)
    a1 = build(chain, genesis, s1, [transfer(0)])
    b1 = build(chain, genesis, s2)
    assert chain.head_hash == min(a1.hash, b1.hash)  # same height, both secondary: the lower hash wins
    start = bob_free(chain, genesis)
    assert bob_free(chain, a1.hash) == start + FLOCK and bob_free(chain, b1.hash) == start
    b2 = build(chain, b1.hash, s3)
    assert chain.head_hash == b2.hash and bob_free(chain, chain.head_hash) == start
    a2 = build(chain, a1.hash, s4)
    a3 = build(chain, a2.hash, s5, [transfer(1)])
    assert chain.head_hash == a3.hash
    assert bob_free(chain, a3.hash) == start + 2 * FLOCK
    assert chain.blocks.get_canonical_hash(1) == a1.hash and chain.blocks.get_canonical_hash(3) == a3.hash
    # The head's state equals what a fresh chain computes along that fork alone.
    straight = open_chain()
    for block in (a1, a2, a3):
        straight.import_block(block.encode(), now_ms=NOW_MS)
    assert straight.state.root == chain.state.root == a3.header.state_root


def test_importing_the_same_forks_in_another_order_gives_the_same_head() -> None:
    author = open_chain()
    genesis = author.head_hash
    blocks = [build(author, genesis, 1), build(author, genesis, 2)]
    blocks.append(build(author, blocks[1].hash, 3))
    blocks.append(build(author, blocks[0].hash, 4))
    for order in ([0, 1, 2, 3], [0, 1, 3, 2], [1, 0, 3, 2], [1, 2, 0, 3]):
        chain = open_chain()
        for index in order:
            chain.import_block(blocks[index].encode(), now_ms=NOW_MS)
        assert chain.head_hash == author.head_hash
        assert chain.state.root == author.state.root


def test_primary_blocks_break_a_height_tie() -> None:
    chain = open_chain()
    genesis = chain.head_hash
    # One authority with c = 1/4 wins a primary slot about every fourth slot: find one.
    slot = next(s for s in range(1, 200) if chain.claim_slot(TEST_AUTHORITY, s).is_primary)  # type: ignore[union-attr]
    secondary = next(s for s in range(1, 200) if not chain.claim_slot(TEST_AUTHORITY, s).is_primary)  # type: ignore[union-attr]
    secondary_block = build(chain, genesis, secondary)
    primary_block = build(chain, genesis, slot)
    assert find_pre_digest(primary_block.header).is_primary
    assert not find_pre_digest(secondary_block.header).is_primary
    assert chain.head_hash == primary_block.hash


def test_finality_moves_the_head_onto_the_finalized_fork_and_prunes_the_rest() -> None:
    store = MemoryStore()
    chain = open_chain(store)
    genesis = chain.head_hash
    a1 = build(chain, genesis, 1, [transfer(0)])
    a2 = build(chain, a1.hash, 2)
    b1 = build(chain, genesis, 3)
    assert chain.head_hash == a2.hash
    assert chain.finalize(b1.hash, b"proof") == [b1.hash]
    assert chain.head_hash == b1.hash and chain.finalized_hash == b1.hash
    assert chain.get_justification(b1.hash) == b"proof"
    assert chain.state.root == b1.header.state_root
    assert chain.blocks.get_header(a1.hash) is None and chain.blocks.get_header(a2.hash) is None
    assert chain.blocks.get_canonical_hash(2) is None
    with pytest.raises(BelowFinalized):
        chain.import_block(build(open_chain(), genesis, 9).encode(), now_ms=NOW_MS)
    with pytest.raises(UnknownBlock):
        chain.state_at(genesis)
    reopened = open_chain(store)
    assert (reopened.head_hash, reopened.finalized_hash) == (b1.hash, b1.hash)


def test_finalizing_several_blocks_returns_them_lowest_first() -> None:
    chain = open_chain()
    parent, built = chain.head_hash, []
    for slot in range(1, 5):
        built.append(build(chain, parent, slot))
        parent = built[-1].hash
    assert chain.finalize(built[2].hash) == [block.hash for block in built[:3]]
    assert chain.finalize(built[2].hash) == []
    assert chain.unfinalized_hashes() == [built[3].hash]


def test_restart_rebuilds_the_unfinalized_tree(tmp_path: Path) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    chain = open_chain(store)
    genesis = chain.head_hash
    a1 = build(chain, genesis, 1, [transfer(0)])
    a2 = build(chain, a1.hash, 2)
    b1 = build(chain, genesis, 3)
    chain.finalize(a1.hash)
    head, root, fork = chain.head_hash, chain.state.root, chain.unfinalized_hashes()
    store.close()
    store = LevelDBStore(str(tmp_path / "db"))
    reopened = open_chain(store)
    assert (reopened.head_hash, reopened.state.root, reopened.unfinalized_hashes()) == (head, root, fork)
    assert reopened.blocks.get_header(b1.hash) is None  # abandoned by finality
    a3 = build(reopened, a2.hash, 4, [transfer(1)])
    assert reopened.head_hash == a3.hash and bob_free(reopened, a3.hash) == bob_free(reopened, a1.hash) + FLOCK
    store.close()


def test_ancestry_and_best_descendant() -> None:
    chain = open_chain()
    genesis = chain.head_hash
    a1 = build(chain, genesis, 1)
    a2 = build(chain, a1.hash, 2)
    b1 = build(chain, genesis, 3)
    assert chain.ancestry(genesis, a2.hash) == [a2.hash, a1.hash]
    assert chain.ancestry(a1.hash, a1.hash) == []
    assert chain.ancestry(b1.hash, a2.hash) is None
    assert chain.best_descendant(genesis) == a2.hash
    assert chain.best_descendant(b1.hash) == b1.hash


def test_state_delta_round_trips_and_reads_the_older_pair_lists() -> None:
    delta = StateDelta({b"a": b"1", b"b": None}, {b"a": None, b"b": b"2"})
    assert StateDelta.decode(delta.encode()) == delta
    older = msgpack.packb([list(delta.changes.items()), list(delta.undo.items())], use_bin_type=True)
    assert StateDelta.decode(older) == delta
    with pytest.raises(CorruptDatabase):
        StateDelta.decode(msgpack.packb([1, 2]))


def test_a_tree_route_lists_the_blocks_a_head_change_retracts_and_enacts() -> None:
    chain = open_chain()
    genesis = chain.head_hash
    a1 = build(chain, genesis, 1)
    a2 = build(chain, a1.hash, 2)
    b1 = build(chain, genesis, 3)
    b2 = build(chain, b1.hash, 4)
    b3 = build(chain, b2.hash, 5)
    route = chain.compute_tree_route(a2.hash, b3.hash)
    assert route.retracted == (a2.hash, a1.hash) and route.enacted == (b1.hash, b2.hash, b3.hash)
    assert chain.compute_tree_route(a1.hash, a2.hash) == TreeRoute((), (a2.hash,))
    assert chain.compute_tree_route(b3.hash, b3.hash) == TreeRoute((), ())


def next_slot(chain: Chain, parent: bytes, after: int, *, primary: bool) -> int:
    """The first slot after ``after`` that the authority claims on ``parent`` as primary or not."""
    claims = ((slot, chain.claim_slot(TEST_AUTHORITY, slot, parent)) for slot in range(after + 1, after + 400))
    return next(slot for slot, claim in claims if claim is not None and claim.is_primary == primary)


def build_fork(chain: Chain, parent: bytes, length: int, *, primary: bool) -> bytes:
    """``length`` blocks on ``parent``, all primary or all secondary; the tip's hash."""
    slot = chain.get_header(parent).slot  # type: ignore[union-attr]
    for _ in range(length):
        slot = next_slot(chain, parent, slot, primary=primary)
        parent = build(chain, parent, slot).hash
    return parent


def test_height_outranks_primary_blocks() -> None:
    """Fork choice is height first: a longer fork of secondary blocks beats a shorter fork of
    primary ones (a mutant ranking primaries above height survived every other test)."""
    chain = open_chain()
    primary_tip = build_fork(chain, chain.head_hash, 2, primary=True)
    assert chain.head_hash == primary_tip
    secondary_tip = build_fork(chain, chain.finalized_hash, 3, primary=False)
    assert chain.head_hash == secondary_tip

"""Block authoring and import: every rejection is typed and leaves the store untouched."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from consensus.babe.digest import PreDigest
from flockchain.abc import KeyValueStore
from flockchain.chain.chain import Chain
from flockchain.chain.genesis import compute_genesis_header_from_state
from flockchain.db.leveldb import LevelDBStore
from flockchain.db.memory import MemoryStore
from flockchain.errors import (
    BadSeal,
    FutureBlock,
    GenesisMismatch,
    InvalidBlock,
    InvalidBlockExecution,
    MalformedBlock,
    NotSlotAuthor,
    OversizedBlock,
    UnknownParent,
    WrongAuthor,
    WrongExtrinsicsRoot,
    WrongStateRoot,
    WrongTimestamp,
)
from runtime.accounts import FLOCK
from runtime.block import MAX_BLOCK_SIZE, Block, compute_extrinsics_root, seal_header
from runtime.construct import construct_runtime
from runtime.errors import BadTransactionProof
from runtime.pallets import system
from runtime.primitives import vrf
from runtime_helpers import TEST_AUTHORITY, build_genesis_state, named_keypair, sign_transfer

RUNTIME = construct_runtime()
ALICE, BOB = named_keypair("alice"), named_keypair("bob")
GENESIS_STATE = dict(build_genesis_state(RUNTIME, [ALICE.public_key, BOB.public_key]).iter_prefix(b""))
GENESIS_HEADER = compute_genesis_header_from_state(GENESIS_STATE)
SLOT_MS = 1_000  # the runtime's: twice the timestamp pallet's default minimum period
NOW_MS = 1_000_000  # a clock after every slot these tests use


def open_chain(store: KeyValueStore) -> Chain:
    return Chain(store, RUNTIME, GENESIS_HEADER, GENESIS_STATE)


def transfer(nonce: int, amount: int = FLOCK) -> bytes:
    return sign_transfer(RUNTIME, ALICE, BOB.public_key, amount, nonce=nonce, genesis_hash=GENESIS_HEADER.hash)


def claim(chain: Chain, slot: int) -> PreDigest:
    pre_digest = chain.claim_slot(TEST_AUTHORITY, slot)
    assert pre_digest is not None  # the one authority is every slot's secondary author
    return pre_digest


def author(chain: Chain, candidates: list[bytes], slot: int | None = None) -> Block:
    slot = chain.head.slot + 1 if slot is None else slot
    return chain.author_block(TEST_AUTHORITY, claim(chain, slot), candidates).block


def snapshot(store: MemoryStore) -> dict[bytes, bytes]:
    return dict(store.iterate())


def resealed(block: Block, **fields: object) -> bytes:
    header = seal_header(replace(block.header, **fields), TEST_AUTHORITY, GENESIS_HEADER.hash)
    return Block(header, block.extrinsics).encode()


@pytest.fixture
def chains() -> tuple[Chain, Chain, MemoryStore]:
    importer_store = MemoryStore()
    return open_chain(MemoryStore()), open_chain(importer_store), importer_store


def test_authored_blocks_import_elsewhere_to_the_same_state(chains: tuple[Chain, Chain, MemoryStore]) -> None:
    authoring, importing, _ = chains
    for nonce in range(3):
        block = author(authoring, [transfer(nonce)])
        importing.import_block(block.encode(), now_ms=NOW_MS)
    assert importing.head_hash == authoring.head_hash
    assert importing.state.root == authoring.state.root == importing.head.state_root
    assert system.get_account(importing.best_state(), BOB.public_key).nonce == 0
    assert system.get_account(importing.best_state(), ALICE.public_key).nonce == 3


def test_author_skips_invalid_transactions() -> None:
    chain = open_chain(MemoryStore())
    forged = sign_transfer(RUNTIME, ALICE, BOB.public_key, FLOCK, nonce=0, genesis_hash=b"\x01" * 32)
    authored = chain.author_block(TEST_AUTHORITY, claim(chain, 1), [forged, transfer(0)])
    assert authored.included == (transfer(0),)
    assert [type(error) for _, error in authored.rejected] == [BadTransactionProof]


@pytest.mark.parametrize(
    "make_bad, error",
    [
        (lambda block: resealed(block, state_root=b"\x01" * 32), WrongStateRoot),
        (lambda block: resealed(block, extrinsics_root=b"\x01" * 32), WrongExtrinsicsRoot),
        (lambda block: resealed(block, parent_hash=b"\x01" * 32), UnknownParent),
        (lambda block: resealed(block, number=5), InvalidBlock),
        (lambda block: resealed(block, timestamp=block.header.timestamp + 1), WrongTimestamp),
        (lambda block: resealed(block, slot=block.header.slot + 1), WrongTimestamp),
        (lambda block: replace(block, header=replace(block.header, seal=bytes(64))).encode(), BadSeal),
        (
            lambda block: Block(
                seal_header(replace(block.header, author=BOB.public_key), BOB, GENESIS_HEADER.hash), block.extrinsics
            ).encode(),
            WrongAuthor,
        ),
        (lambda block: block.encode()[:-3], MalformedBlock),
        (lambda block: b"\x00" * (MAX_BLOCK_SIZE + 1), OversizedBlock),
        (lambda block: block.encode() + b"\x00", MalformedBlock),
    ],
)
def test_import_rejections_change_nothing(chains: tuple[Chain, Chain, MemoryStore], make_bad, error) -> None:  # type: ignore[no-untyped-def]
    authoring, importing, importer_store = chains
    block = author(authoring, [transfer(0)])
    before, root_before = snapshot(importer_store), importing.state.root
    with pytest.raises(error):
        importing.import_block(make_bad(block), now_ms=NOW_MS)
    assert snapshot(importer_store) == before
    assert importing.state.root == root_before and importing.head_hash == GENESIS_HEADER.hash
    importing.import_block(block.encode(), now_ms=NOW_MS)  # the good block still imports
    assert importing.head_hash == block.hash


def test_block_with_bad_transaction_signature_is_rejected(chains: tuple[Chain, Chain, MemoryStore]) -> None:
    authoring, importing, importer_store = chains
    block = author(authoring, [transfer(0)])
    tampered = bytearray(block.extrinsics[1])
    tampered[-1] ^= 1  # the last byte of the transaction's signature
    extrinsics = (block.extrinsics[0], bytes(tampered))
    bad = resealed(Block(block.header, extrinsics), extrinsics_root=compute_extrinsics_root(extrinsics))
    before = snapshot(importer_store)
    with pytest.raises(InvalidBlockExecution, match="signature"):
        importing.import_block(bad, now_ms=NOW_MS)
    assert snapshot(importer_store) == before


def test_restart_resumes_at_the_same_head(tmp_path: Path) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    chain = open_chain(store)
    for nonce in range(3):
        author(chain, [transfer(nonce)])
    head_hash, root = chain.head_hash, chain.state.root
    store.close()
    store = LevelDBStore(str(tmp_path / "db"))
    reopened = open_chain(store)
    assert (reopened.head_hash, reopened.state.root) == (head_hash, root)
    assert reopened.blocks.get_canonical_hash(3) == head_hash
    author(reopened, [transfer(3)])
    assert reopened.head.number == 4
    store.close()


def test_other_genesis_refused(tmp_path: Path) -> None:
    store = LevelDBStore(str(tmp_path / "db"))
    open_chain(store)
    other_state = dict(build_genesis_state(RUNTIME, [BOB.public_key]).iter_prefix(b""))
    with pytest.raises(GenesisMismatch, match="base-path"):
        Chain(store, RUNTIME, compute_genesis_header_from_state(other_state), other_state)
    store.close()


def test_a_block_whose_slot_has_not_started_is_refused_until_it_has(chains: tuple[Chain, Chain, MemoryStore]) -> None:
    authoring, importing, importer_store = chains
    block = author(authoring, [], slot=5)
    assert block.header.timestamp == 5 * SLOT_MS  # its slot's start, by the runtime's slot duration
    before = snapshot(importer_store)
    with pytest.raises(FutureBlock) as refused:
        importing.import_block(block.encode(), now_ms=block.header.timestamp - 1)
    assert refused.value.slot_start_ms == block.header.timestamp
    assert snapshot(importer_store) == before and importing.head_hash == GENESIS_HEADER.hash
    importing.import_block(block.encode(), now_ms=block.header.timestamp)
    assert importing.head_hash == block.hash


def test_authoring_takes_the_claim_and_proves_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = open_chain(MemoryStore())
    pre_digest = claim(chain, 3)

    def no_second_proof(*args: bytes) -> bytes:
        raise AssertionError("the claim was proved again")

    monkeypatch.setattr(vrf, "prove", no_second_proof)
    block = chain.author_block(TEST_AUTHORITY, pre_digest, []).block
    assert block.header.slot == 3 and chain.head_hash == block.hash
    assert chain.get_slot_duration_ms(GENESIS_HEADER.hash) == SLOT_MS


def test_a_claim_for_another_author_or_an_older_slot_is_refused() -> None:
    chain = open_chain(MemoryStore())
    pre_digest = claim(chain, 1)
    with pytest.raises(NotSlotAuthor):
        chain.author_block(BOB, pre_digest, [])
    chain.author_block(TEST_AUTHORITY, pre_digest, [])
    with pytest.raises(NotSlotAuthor):  # the head is now at that slot
        chain.author_block(TEST_AUTHORITY, pre_digest, [])

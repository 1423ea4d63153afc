"""The consensus engine's inbox handler: one event in, messages and a verdict out.

Validator 0's engine takes blocks, votes and commits from peers; a separate chain (``source``)
builds the peers' blocks. Time is the ``now_ms`` each event is handled at.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from consensus.grandpa import justification as justification_module
from flockchain.abc import WriteBatch
from flockchain.chain.chain import Chain
from flockchain.db import schema
from flockchain.db.memory import MemoryStore
from flockchain.node.engine import (
    MAX_ANSWERS_PER_PEER,
    MAX_DRIFT_MS,
    MAX_WANTED_PER_SOURCE,
    MAX_WANTED_REQUESTS_PER_TICK,
    ChainView,
    ConsensusEngine,
)
from flockchain.node.inbox import (
    ACCEPT,
    Ignore,
    IgnoreReason,
    Outcome,
    PeerMessage,
    PeerVerdict,
    Reject,
    SlotStarted,
    SubmitTransaction,
    TimerTick,
)
from flockchain.node.messages import (
    BlockAnnounce,
    BlockRequest,
    Broadcast,
    CatchUpMessage,
    CommitMessage,
    EquivocationMessage,
    Reply,
    VoteMessage,
)
from flockchain.simulator.genesis import build_sim_genesis
from flockchain.txpool import AlreadyInPool, PooledFeesUnpayable
from runtime import api
from runtime.block import (
    VOTE_STAGE_PRECOMMIT,
    VOTE_STAGE_PREVOTE,
    Block,
    FinalityVote,
    Justification,
    compute_extrinsic_hash,
    seal_header,
    sign_finality_vote,
)
from runtime.errors import BadInherent
from runtime.primitives import vrf
from runtime.primitives.hashing import blake2b_256
from runtime_helpers import named_keypair, sign_transfer

SLOT_MS = 1_000
GENESIS = build_sim_genesis(4, 10, 40, SLOT_MS)
KEYS = GENESIS.keypairs
PEER = 7
LATE = 10**6  # a time after every slot these tests use


def open_chain() -> Chain:
    return Chain(MemoryStore(), GENESIS.runtime, GENESIS.header, GENESIS.state)


@pytest.fixture
def engine() -> ConsensusEngine:
    return ConsensusEngine(open_chain(), KEYS[0], gossip_duration_ms=200)


@pytest.fixture
def source() -> Chain:
    return open_chain()


def build(source: Chain, slot: int, parent: bytes | None = None, candidates: tuple[bytes, ...] = ()) -> Block:
    """A block for ``slot`` on ``parent`` (default: the head) by a validator that may author it."""
    parent = source.head_hash if parent is None else parent
    for keypair in KEYS:  # every slot has a secondary author
        claim = source.claim_slot(keypair, slot, parent)
        if claim is not None:
            return source.author_block(keypair, claim, candidates, parent_hash=parent).block
    raise AssertionError(f"no validator may author slot {slot}")


def deliver(engine: ConsensusEngine, block: Block, now_ms: int = LATE, peer: int = PEER) -> Outcome:
    return engine.handle(PeerMessage(peer, BlockAnnounce(block.encode())), now_ms)


def transfer(nonce: int = 0) -> bytes:
    sender, dest = KEYS[2], named_keypair("dest").public_key
    return sign_transfer(GENESIS.runtime, sender, dest, 10**9, nonce=nonce, genesis_hash=GENESIS.header.hash)


def resealed(block: Block, **fields: object) -> Block:
    author = next(key for key in KEYS if key.public_key == block.header.author)
    return Block(seal_header(replace(block.header, **fields), author, GENESIS.header.hash), block.extrinsics)


# --- verdicts on blocks -----------------------------------------------------------------------


def test_a_new_block_is_accepted_and_relayed_and_a_duplicate_ignored(engine: ConsensusEngine, source: Chain) -> None:
    block = build(source, 1)
    outcome = deliver(engine, block)
    assert outcome.verdict == ACCEPT and engine.chain.head_hash == block.hash
    assert Broadcast(BlockAnnounce(block.encode())) in outcome.outgoing
    again = deliver(engine, block)
    assert again.verdict == Ignore(IgnoreReason.DUPLICATE) and again.outgoing == ()


@pytest.mark.parametrize(
    ("tamper", "rule"),
    [
        (lambda block: resealed(block, state_root=b"\x01" * 32), "WrongStateRoot"),
        (lambda block: resealed(block, timestamp=block.header.timestamp + 1), "WrongTimestamp"),
        (lambda block: replace(block, header=replace(block.header, seal=bytes(64))), "BadSeal"),
        (lambda block: resealed(block, number=3), "InvalidBlock"),
    ],
)
def test_a_bad_block_is_rejected_with_the_rule_it_breaks(engine: ConsensusEngine, source: Chain, tamper, rule) -> None:  # type: ignore[no-untyped-def]
    outcome = deliver(engine, tamper(build(source, 1)))
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == rule, outcome.verdict
    assert outcome.outgoing == () and engine.chain.head.number == 0


def test_undecodable_bytes_are_rejected(engine: ConsensusEngine) -> None:
    outcome = engine.handle(PeerMessage(PEER, BlockAnnounce(b"\x93\x01")), LATE)
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == "MalformedBlock"


def test_final_blocks_and_blocks_finality_abandoned_are_ignored(engine: ConsensusEngine, source: Chain) -> None:
    genesis = source.head_hash
    k1 = build(source, 1, genesis)
    k2 = build(source, 3, k1.hash)
    abandoned = build(source, 2, genesis)
    deliver(engine, k1)
    deliver(engine, k2)
    engine.chain.finalize(k2.hash)
    assert deliver(engine, k1).verdict == Ignore(IgnoreReason.ALREADY_FINAL)
    assert deliver(engine, abandoned).verdict == Ignore(IgnoreReason.STALE)


# --- future and early blocks ------------------------------------------------------------------


def test_a_block_from_beyond_the_drift_is_refused(engine: ConsensusEngine, source: Chain) -> None:
    block = build(source, 50)
    outcome = deliver(engine, block, now_ms=block.header.timestamp - MAX_DRIFT_MS - 1)
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == "FutureBlock"
    later = engine.handle(TimerTick(), block.header.timestamp)
    assert later.resolved == () and engine.chain.head.number == 0  # refused, not held


def test_a_slightly_early_block_is_imported_when_its_slot_comes(engine: ConsensusEngine, source: Chain) -> None:
    block = build(source, 50)
    slot_start = block.header.timestamp
    assert deliver(engine, block, now_ms=slot_start - 500).verdict == Ignore(IgnoreReason.EARLY)
    assert deliver(engine, block, now_ms=slot_start - 400).verdict == Ignore(IgnoreReason.DUPLICATE)
    assert engine.handle(TimerTick(), slot_start - 1).resolved == () and engine.chain.head.number == 0
    outcome = engine.handle(TimerTick(), slot_start)
    assert outcome.resolved == (PeerVerdict(PEER, ACCEPT),)
    assert engine.chain.head_hash == block.hash
    assert Broadcast(BlockAnnounce(block.encode())) in outcome.outgoing


# --- orphans --------------------------------------------------------------------------------


def test_an_orphan_is_imported_once_its_parent_arrives(engine: ConsensusEngine, source: Chain) -> None:
    b1 = build(source, 1)
    b2 = build(source, 2)
    b3 = build(source, 3)
    outcome = deliver(engine, b3, peer=8)
    assert outcome.verdict == Ignore(IgnoreReason.ORPHAN)
    assert outcome.outgoing == (Reply((BlockRequest(b2.hash),)),)  # the parent, asked of the sender
    outcome = deliver(engine, b2, peer=9)
    assert outcome.verdict == Ignore(IgnoreReason.ORPHAN)
    assert outcome.outgoing == (Reply((BlockRequest(b1.hash),)),)
    assert engine.chain.head.number == 0
    outcome = deliver(engine, b1)
    assert outcome.verdict == ACCEPT
    assert outcome.resolved == (PeerVerdict(9, ACCEPT), PeerVerdict(8, ACCEPT))
    assert engine.chain.head_hash == b3.hash
    relayed = [item.message for item in outcome.outgoing if isinstance(item, Broadcast)]
    assert [BlockAnnounce(b.encode()) for b in (b1, b2, b3)] == [m for m in relayed if isinstance(m, BlockAnnounce)]


def test_a_bad_orphan_is_rejected_for_its_sender_once_imported(engine: ConsensusEngine, source: Chain) -> None:
    b1 = build(source, 1)
    bad = resealed(build(source, 2), state_root=b"\x02" * 32)
    assert deliver(engine, bad, peer=8).verdict == Ignore(IgnoreReason.ORPHAN)
    outcome = deliver(engine, b1)
    ((peer, verdict),) = [(held.peer, held.verdict) for held in outcome.resolved]
    assert peer == 8 and isinstance(verdict, Reject) and verdict.rule == "WrongStateRoot"
    assert engine.chain.head_hash == b1.hash


def test_an_orphan_from_beyond_the_drift_is_refused(engine: ConsensusEngine, source: Chain) -> None:
    build(source, 1)
    orphan = build(source, 60)
    outcome = deliver(engine, orphan, now_ms=orphan.header.timestamp - MAX_DRIFT_MS - 1)
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == "FutureBlock"


# --- verdicts on votes and commits ------------------------------------------------------------


def vote_message(signer_index: int | None, target: Block | None = None, stage: int = VOTE_STAGE_PREVOTE) -> VoteMessage:
    signer = named_keypair("stranger") if signer_index is None else KEYS[signer_index]
    hash_, number = (GENESIS.header.hash, 0) if target is None else (target.hash, target.header.number)
    return VoteMessage(sign_finality_vote(FinalityVote(0, 1, stage, hash_, number), signer, GENESIS.header.hash))


def test_a_vote_is_accepted_once_and_a_repeat_ignored(engine: ConsensusEngine) -> None:
    message = vote_message(1)
    outcome = engine.handle(PeerMessage(PEER, message), LATE)
    assert outcome.verdict == ACCEPT and Broadcast(message) in outcome.outgoing
    assert engine.handle(PeerMessage(PEER, message), LATE).verdict == Ignore(IgnoreReason.DUPLICATE)


def test_a_vote_from_a_non_voter_is_rejected(engine: ConsensusEngine) -> None:
    outcome = engine.handle(PeerMessage(PEER, vote_message(None)), LATE)
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == "UnknownVoter"
    assert outcome.outgoing == ()  # not relayed


def test_a_vote_with_a_bad_signature_is_rejected(engine: ConsensusEngine) -> None:
    signed = vote_message(1).vote
    forged = replace(signed, signature=bytes(64))
    outcome = engine.handle(PeerMessage(PEER, VoteMessage(forged)), LATE)
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == "BadVoteSignature"


def test_votes_of_a_later_set_ask_for_the_set_change(engine: ConsensusEngine) -> None:
    vote = vote_message(1).vote
    later = sign_finality_vote(replace(vote.vote, set_id=1), KEYS[1], GENESIS.header.hash)
    outcome = engine.handle(PeerMessage(PEER, VoteMessage(later)), LATE)
    assert outcome.verdict == Ignore(IgnoreReason.LATER_SET) and len(outcome.outgoing) == 1


def commit(target: Block, signers: range, round_: int = 1) -> CommitMessage:
    precommits = tuple(
        sign_finality_vote(
            FinalityVote(0, round_, VOTE_STAGE_PRECOMMIT, target.hash, target.header.number),
            KEYS[i],
            GENESIS.header.hash,
        )
        for i in signers
    )
    return CommitMessage(Justification(0, round_, target.hash, target.header.number, precommits).encode())


def test_a_valid_commit_finalizes_and_a_bad_one_is_rejected(engine: ConsensusEngine, source: Chain) -> None:
    block = build(source, 1)
    deliver(engine, block)
    weak = engine.handle(PeerMessage(PEER, commit(block, range(1, 2))), LATE)  # one voter of four
    assert isinstance(weak.verdict, Reject) and weak.verdict.rule == "InsufficientWeight"
    outcome = engine.handle(PeerMessage(PEER, commit(block, range(1, 4))), LATE)
    assert outcome.verdict == ACCEPT and engine.chain.finalized_hash == block.hash
    again = engine.handle(PeerMessage(PEER, commit(block, range(1, 4))), LATE)
    assert again.verdict in (ACCEPT, Ignore(IgnoreReason.ALREADY_FINAL))


def test_a_commit_for_blocks_we_lack_is_ignored_until_they_arrive(engine: ConsensusEngine, source: Chain) -> None:
    block = build(source, 1)
    outcome = engine.handle(PeerMessage(PEER, commit(block, range(1, 4))), LATE)
    assert outcome.verdict == Ignore(IgnoreReason.AWAITING_BLOCKS)
    assert outcome.outgoing == (Reply((BlockRequest(block.hash),)),)


def test_undecodable_commits_are_rejected(engine: ConsensusEngine) -> None:
    outcome = engine.handle(PeerMessage(PEER, CommitMessage(b"\x01")), LATE)
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == "EncodingError"


# --- the pool follows the head ----------------------------------------------------------------


def test_a_submission_gets_the_pools_answer(engine: ConsensusEngine) -> None:
    tx = transfer()
    assert engine.handle(SubmitTransaction(tx), LATE).answer == compute_extrinsic_hash(tx)
    refused = engine.handle(SubmitTransaction(tx), LATE).answer
    assert isinstance(refused, AlreadyInPool)


def test_a_sender_cannot_pool_more_fees_than_it_can_pay_and_what_it_pools_all_applies(
    engine: ConsensusEngine, source: Chain
) -> None:
    """The pooled-fees attack through the node's inbox: tips that each fit the sender's balance
    but not together. The engine's pool reads the sender's fee budget on the best state."""
    tip = api.get_fee_budget(engine.chain.best_state(), KEYS[2].public_key) // 3
    sender, dest = KEYS[2], named_keypair("dest").public_key
    answers = [
        engine.handle(
            SubmitTransaction(
                sign_transfer(GENESIS.runtime, sender, dest, 1, nonce=n, tip=tip, genesis_hash=GENESIS.header.hash)
            ),
            LATE,
        ).answer
        for n in range(4)
    ]
    assert [isinstance(answer, bytes) for answer in answers] == [True, True, False, False]
    assert isinstance(answers[2], PooledFeesUnpayable)
    block = build(source, 1, candidates=tuple(engine.pool.ready()))
    assert len(block.extrinsics) == 1 + 2  # the timestamp and both pooled transfers applied


def test_the_pool_drops_a_transaction_a_peer_block_includes(engine: ConsensusEngine, source: Chain) -> None:
    tx = transfer()
    engine.handle(SubmitTransaction(tx), LATE)
    assert compute_extrinsic_hash(tx) in engine.pool
    block = build(source, 1, candidates=(tx,))
    assert tx in block.extrinsics
    deliver(engine, block)
    assert compute_extrinsic_hash(tx) not in engine.pool


def test_a_retracted_transaction_returns_to_the_pool_after_a_reorg(engine: ConsensusEngine, source: Chain) -> None:
    genesis = source.head_hash
    tx = transfer()
    engine.handle(SubmitTransaction(tx), LATE)
    a1 = build(source, 1, genesis, candidates=(tx,))
    deliver(engine, a1)
    assert engine.chain.head_hash == a1.hash and len(engine.pool) == 0
    b1 = build(source, 2, genesis)
    b2 = build(source, 3, b1.hash)
    deliver(engine, b1)
    deliver(engine, b2)
    assert engine.chain.head_hash == b2.hash  # the longer fork, without the transaction
    assert engine.pool.ready() == [tx]


def test_a_finality_that_moves_the_head_gives_back_what_it_retracts(engine: ConsensusEngine, source: Chain) -> None:
    genesis = source.head_hash
    tx = transfer()
    a1 = build(source, 1, genesis, candidates=(tx,))
    a2 = build(source, 3, a1.hash)
    b1 = build(source, 2, genesis)
    for block in (a1, a2, b1):
        deliver(engine, block)
    assert engine.chain.head_hash == a2.hash and len(engine.pool) == 0
    outcome = engine.handle(PeerMessage(PEER, commit(b1, range(1, 4))), LATE)
    assert outcome.verdict == ACCEPT
    assert engine.chain.head_hash == b1.hash  # finality abandoned the longer fork, and deleted it
    assert engine.chain.blocks.get_block(a1.hash) is None
    assert engine.pool.ready() == [tx]


# --- authoring ------------------------------------------------------------------------------


def own_slot(engine: ConsensusEngine) -> int:
    return next(s for s in range(1, 500) if engine.chain.claim_slot(KEYS[0], s) is not None)


def test_an_authored_slot_proves_its_claim_once(engine: ConsensusEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    slot = own_slot(engine)
    proofs = []
    prove = vrf.prove

    def counting_prove(*args: bytes) -> bytes:
        proofs.append(args)
        return prove(*args)

    monkeypatch.setattr(vrf, "prove", counting_prove)
    outcome = engine.handle(SlotStarted(slot), slot * SLOT_MS)
    assert engine.chain.head.slot == slot and any(isinstance(item, Broadcast) for item in outcome.outgoing)
    assert len(proofs) == 1


def test_an_authoring_error_skips_the_slot_and_is_logged(
    engine: ConsensusEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    slot = own_slot(engine)

    def failing_author_block(*args: object, **kwargs: object) -> None:
        raise BadInherent("timestamp inherent refused")

    monkeypatch.setattr(engine.chain, "author_block", failing_author_block)
    with caplog.at_level(logging.WARNING, logger="flockchain.node"):
        outcome = engine.handle(SlotStarted(slot), slot * SLOT_MS)
    assert outcome.outgoing == () and engine.chain.head.number == 0
    assert "BadInherent" in caplog.text and f"Slot {slot} skipped" in caplog.text


def test_an_authored_block_takes_the_pools_transactions_and_the_pool_drops_them(engine: ConsensusEngine) -> None:
    tx = transfer()
    engine.handle(SubmitTransaction(tx), LATE)
    slot = own_slot(engine)
    engine.handle(SlotStarted(slot), slot * SLOT_MS)
    head = engine.chain.blocks.get_block(engine.chain.head_hash)
    assert head is not None and tx in head.extrinsics and len(engine.pool) == 0


# --- the finality voter's view of the chain ---------------------------------------------------


def test_votes_of_a_set_stop_at_its_change_block_even_when_based_on_it(
    engine: ConsensusEngine, source: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    b1, b2, b3 = build(source, 1), build(source, 2), build(source, 3)
    for block in (b1, b2, b3):
        deliver(engine, block)
    # b2's state starts set 1: set 0 must finalize b2 itself and vote no further.
    next_set = {b2.hash, b3.hash}
    monkeypatch.setattr(engine, "_get_set_id", lambda block_hash: 1 if block_hash in next_set else 0)
    view = ChainView(engine)
    assert view.best_chain_containing(GENESIS.header.hash) == (b2.hash, 2)
    assert view.best_chain_containing(b1.hash) == (b2.hash, 2)
    assert view.best_chain_containing(b2.hash) == (b2.hash, 2)  # not its child b3


# --- slashing protection --------------------------------------------------------------------


class RecordingStore(MemoryStore):
    """Writes in order: the keys each batch puts, and whether it asked for a synchronous write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[set[bytes], bool]] = []

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        self.writes.append(({key for key, value in batch if value is not None}, sync))
        super().write(batch, sync=sync)


def test_the_signing_record_is_written_synchronously_before_a_block_is_sealed_or_a_vote_sent() -> None:
    store = RecordingStore()
    engine = ConsensusEngine(
        Chain(store, GENESIS.runtime, GENESIS.header, GENESIS.state), KEYS[0], gossip_duration_ms=200
    )
    slot = own_slot(engine)
    store.writes.clear()
    engine.handle(SlotStarted(slot), slot * SLOT_MS)
    block_key = schema.header_key(engine.chain.head_hash)
    record_write = next(i for i, (keys, _) in enumerate(store.writes) if schema.SIGNING_RECORD in keys)
    block_write = next(i for i, (keys, _) in enumerate(store.writes) if block_key in keys)
    assert record_write < block_write and store.writes[record_write][1] is True
    assert all(not sync for keys, sync in store.writes if schema.SIGNING_RECORD not in keys)  # only the record
    store.writes.clear()
    voted = []
    for tick in range(1, 20):
        outcome = engine.handle(TimerTick(), slot * SLOT_MS + tick * 200)
        voted += [item for item in outcome.outgoing if isinstance(item.message, VoteMessage)]
    assert voted and store.writes and all(sync for keys, sync in store.writes if schema.SIGNING_RECORD in keys)


# --- bounded under floods -----------------------------------------------------------------------


def signed_vote(signer: int, round_: int, target_hash: bytes, number: int, stage: int = VOTE_STAGE_PREVOTE):  # type: ignore[no-untyped-def]
    return sign_finality_vote(FinalityVote(0, round_, stage, target_hash, number), KEYS[signer], GENESIS.header.hash)


def relayed_votes(outcome: Outcome) -> list[VoteMessage]:
    return [
        item.message
        for item in outcome.outgoing
        if isinstance(item, Broadcast) and isinstance(item.message, VoteMessage)
    ]


def random_hash(index: int) -> bytes:
    return blake2b_256(b"no such block" + index.to_bytes(4, "big"))


def test_votes_for_rounds_the_voter_ignores_are_neither_kept_nor_relayed(engine: ConsensusEngine) -> None:
    relayed = 0
    for round_ in range(6, 5_006):  # one key, 5,000 rounds beyond the four buffered ahead
        outcome = engine.handle(PeerMessage(PEER, VoteMessage(signed_vote(1, round_, GENESIS.header.hash, 0))), LATE)
        assert outcome.verdict == Ignore(IgnoreReason.AHEAD)
        relayed += len(relayed_votes(outcome))
    assert relayed == 0
    assert engine.held_counts()["future votes"] == 0


def test_one_voter_naming_random_blocks_is_kept_to_its_share(engine: ConsensusEngine) -> None:
    relayed, verdicts = 0, set()
    for index in range(2_000):  # rounds 1 (live) to 5 (buffered), each stage, random block hashes
        round_, stage = 1 + index % 5, (VOTE_STAGE_PREVOTE, VOTE_STAGE_PRECOMMIT)[index // 5 % 2]
        vote = signed_vote(1, round_, random_hash(index), 1 + index % 7, stage)
        outcome = engine.handle(PeerMessage(PEER, VoteMessage(vote)), LATE)
        relayed += len(relayed_votes(outcome))
        verdicts.add(outcome.verdict)
    assert relayed == 5 * 2 * 2  # two votes (an equivocation) per round and stage: the rest are surplus
    assert verdicts == {ACCEPT, Ignore(IgnoreReason.SURPLUS)}
    counts = engine.held_counts()
    assert counts["future votes"] == 4 * 2 * 2 and counts["wanted blocks"] <= MAX_WANTED_PER_SOURCE
    requests = [
        item
        for tick in range(1, 30)
        for item in engine.handle(TimerTick(), LATE + tick * 100).outgoing
        if isinstance(item, Broadcast) and isinstance(item.message, BlockRequest)
    ]
    assert len(requests) <= MAX_WANTED_PER_SOURCE * 3  # each wanted block asked for at most once a second


def test_the_wanted_blocks_and_the_requests_for_them_are_bounded(engine: ConsensusEngine) -> None:
    for signer in (1, 2, 3):
        for index in range(2_000):
            vote = signed_vote(signer, 1 + index % 5, random_hash(signer * 10_000 + index), 1, VOTE_STAGE_PREVOTE)
            engine.handle(PeerMessage(PEER, VoteMessage(vote)), LATE)
    assert engine.held_counts()["wanted blocks"] <= 3 * MAX_WANTED_PER_SOURCE
    outcome = engine.handle(TimerTick(), LATE + 5_000)
    requests = [
        item for item in outcome.outgoing if isinstance(item, Broadcast) and isinstance(item.message, BlockRequest)
    ]
    assert len(requests) == MAX_WANTED_REQUESTS_PER_TICK


def test_a_flooding_voter_cannot_push_out_an_honest_vote_for_a_later_round(engine: ConsensusEngine) -> None:
    for index in range(500):  # round 3: buffered, two rounds ahead
        engine.handle(PeerMessage(PEER, VoteMessage(signed_vote(1, 3, random_hash(index), 1))), LATE)
    honest = VoteMessage(signed_vote(2, 3, GENESIS.header.hash, 0))
    outcome = engine.handle(PeerMessage(8, honest), LATE)
    assert outcome.verdict == ACCEPT and Broadcast(honest) in outcome.outgoing
    assert honest.vote in engine.voter.future_votes[3]
    assert engine.handle(PeerMessage(8, honest), LATE).verdict == Ignore(IgnoreReason.DUPLICATE)


def test_a_re_sent_commit_has_its_signatures_checked_once(
    engine: ConsensusEngine, source: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    b1 = build(source, 1)
    b2 = build(source, 2)
    deliver(engine, b1)
    checked = []
    verify = justification_module.verify_finality_vote

    def counting_verify(*args: object) -> None:
        checked.append(args)
        verify(*args)

    monkeypatch.setattr(justification_module, "verify_finality_vote", counting_verify)
    precommits = tuple(signed_vote(i, 1, b2.hash, 2, VOTE_STAGE_PRECOMMIT) for i in (1, 2, 3))
    message = CommitMessage(Justification(0, 1, b1.hash, 1, precommits).encode())  # names b2, which we lack
    for _ in range(10):
        assert engine.handle(PeerMessage(PEER, message), LATE).verdict in (
            Ignore(IgnoreReason.AWAITING_BLOCKS),
            Ignore(IgnoreReason.DUPLICATE),
        )
    assert len(checked) == 3
    outcome = deliver(engine, b2)
    assert PeerVerdict(PEER, ACCEPT) in outcome.resolved and engine.chain.finalized_hash == b1.hash
    assert len(checked) == 3


def test_block_requests_are_answered_within_a_budget_per_peer(engine: ConsensusEngine, source: Chain) -> None:
    block = build(source, 1)
    deliver(engine, block)
    answered = sum(
        engine.handle(PeerMessage(PEER, BlockRequest(block.hash)), LATE).verdict == ACCEPT for _ in range(1_000)
    )
    assert answered == MAX_ANSWERS_PER_PEER
    assert engine.handle(PeerMessage(8, BlockRequest(block.hash)), LATE).verdict == ACCEPT  # another peer's share
    assert engine.handle(PeerMessage(PEER, BlockRequest(block.hash)), LATE + 1_000).verdict == ACCEPT  # next window


# --- evidence lands -------------------------------------------------------------------------


def build_by(
    source: Chain, author: int, parent: bytes, after_slot: int = 0, candidates: tuple[bytes, ...] = ()
) -> Block:
    """A block on ``parent`` by ``KEYS[author]``, in the first slot after ``after_slot`` it may author there."""
    slot = next(s for s in range(after_slot + 1, after_slot + 500) if source.claim_slot(KEYS[author], s, parent))
    claim = source.claim_slot(KEYS[author], slot, parent)
    assert claim is not None
    return source.author_block(KEYS[author], claim, candidates, parent_hash=parent).block


def equivocation(source: Chain, author: int, parent: bytes) -> tuple[Block, Block]:
    """Two blocks by one author for one slot on one parent (one carries a transfer), in the order
    a report puts their headers (by encoding)."""
    first = build_by(source, author, parent)
    second = build_by(source, author, parent, candidates=(transfer(),))
    assert first.header.slot == second.header.slot and first.hash != second.hash
    return (first, second) if first.header.encode() < second.header.encode() else (second, first)


def test_evidence_a_peer_sends_is_checked_kept_relayed_and_put_in_our_next_block(
    engine: ConsensusEngine, source: Chain
) -> None:
    first, second = equivocation(source, 1, GENESIS.header.hash)
    message = EquivocationMessage(first.header, second.header)
    outcome = engine.handle(PeerMessage(PEER, message), LATE)
    assert outcome.verdict == ACCEPT and Broadcast(message) in outcome.outgoing
    swapped = EquivocationMessage(second.header, first.header)  # the same offence: the same report
    assert engine.handle(PeerMessage(8, swapped), LATE).verdict == Ignore(IgnoreReason.DUPLICATE)
    slot = own_slot(engine)
    engine.handle(SlotStarted(slot), slot * SLOT_MS)
    head = engine.chain.blocks.get_block(engine.chain.head_hash)
    assert head is not None and head.header.author == KEYS[0].public_key
    assert api.build_block_equivocation_report(first.header, second.header) in head.extrinsics


@pytest.mark.parametrize(
    ("second", "rule"),
    [
        (lambda first, second: first, "NotAnEquivocation"),
        (lambda first, second: replace(second, seal=bytes(64)), "BadEvidenceSignature"),
    ],
)
def test_evidence_that_proves_nothing_is_rejected(engine: ConsensusEngine, source: Chain, second, rule) -> None:  # type: ignore[no-untyped-def]
    first, other = equivocation(source, 1, GENESIS.header.hash)
    outcome = engine.handle(
        PeerMessage(PEER, EquivocationMessage(first.header, second(first.header, other.header))), LATE
    )
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == rule and outcome.outgoing == ()


def test_a_report_stays_pending_until_a_finalized_block_carries_it(engine: ConsensusEngine, source: Chain) -> None:
    genesis = GENESIS.header.hash
    first, second = equivocation(source, 1, genesis)
    report = api.build_block_equivocation_report(first.header, second.header)
    deliver(engine, second)
    assert any(isinstance(item.message, EquivocationMessage) for item in deliver(engine, first).outgoing)
    slot = own_slot(engine)
    engine.handle(SlotStarted(slot), slot * SLOT_MS)
    ours = engine.chain.blocks.get_block(engine.chain.head_hash)
    assert ours is not None and report in ours.extrinsics
    other = build_by(source, 2, genesis, after_slot=slot)  # finality goes another way: our block is abandoned
    deliver(engine, other)
    engine.handle(PeerMessage(PEER, commit(other, range(1, 4))), LATE)
    assert engine.chain.finalized_hash == other.hash and engine.chain.blocks.get_block(ours.hash) is None
    later = next(s for s in range(other.header.slot + 1, 500) if engine.chain.claim_slot(KEYS[0], s))
    engine.handle(SlotStarted(later), later * SLOT_MS)
    again = engine.chain.blocks.get_block(engine.chain.head_hash)
    assert again is not None and again.header.parent_hash == other.hash and report in again.extrinsics
    engine.handle(PeerMessage(PEER, commit(again, range(1, 4), round_=2)), LATE)
    assert engine.chain.finalized_hash == again.hash and engine.held_counts()["reports"] == 0


def test_an_equivocation_on_a_fork_finality_abandoned_is_still_caught(engine: ConsensusEngine, source: Chain) -> None:
    genesis = GENESIS.header.hash
    first, second = equivocation(source, 1, genesis)
    deliver(engine, second)
    kept = build_by(source, 2, genesis, after_slot=first.header.slot)
    above = build_by(source, 3, kept.hash, after_slot=kept.header.slot)
    for block in (kept, above):
        deliver(engine, block)
    engine.handle(PeerMessage(PEER, commit(above, range(1, 4))), LATE)
    assert engine.chain.finalized_hash == above.hash  # ``first``'s fork is abandoned
    outcome = deliver(engine, first)  # below finality: never imported, still watched
    assert outcome.verdict == Ignore(IgnoreReason.STALE)
    assert Broadcast(EquivocationMessage(first.header, second.header)) in outcome.outgoing
    assert list(engine.equivocations_seen) == [EquivocationMessage(first.header, second.header)]


def test_a_commit_for_a_block_not_yet_known_is_held_until_the_block_arrives(
    engine: ConsensusEngine, source: Chain
) -> None:
    block = build(source, 1)
    outcome = engine.handle(PeerMessage(PEER, commit(block, range(1, 4))), LATE)
    assert outcome.verdict == Ignore(IgnoreReason.AWAITING_BLOCKS) and engine.held_counts()["held commits"] == 1
    outcome = deliver(engine, block, peer=8)
    assert PeerVerdict(PEER, ACCEPT) in outcome.resolved and engine.chain.finalized_hash == block.hash


def test_a_valid_commit_for_a_fork_our_finality_abandoned_raises_the_alarm(
    engine: ConsensusEngine, source: Chain, caplog: pytest.LogCaptureFixture
) -> None:
    genesis = GENESIS.header.hash
    ours = build_by(source, 1, genesis)
    theirs = build_by(source, 2, genesis)
    deliver(engine, ours)
    engine.handle(PeerMessage(PEER, commit(ours, range(1, 4))), LATE)
    assert engine.chain.finalized_hash == ours.hash
    conflicting = commit(theirs, range(1, 4), round_=2)  # voters 1-3 (> 2/3) finalized both
    assert engine.handle(PeerMessage(PEER, conflicting), LATE).verdict == Ignore(IgnoreReason.AWAITING_BLOCKS)
    with caplog.at_level(logging.ERROR, logger="flockchain.node"):
        outcome = deliver(engine, theirs)
    assert PeerVerdict(PEER, Ignore(IgnoreReason.CONFLICTING)) in outcome.resolved
    assert engine.conflicting_justifications == 1 and "SAFETY ALARM" in caplog.text
    assert engine.finality_conflicts == [(engine.chain.get_justification(ours.hash), conflicting.justification)]
    assert engine.handle(PeerMessage(PEER, conflicting), LATE).verdict == Ignore(IgnoreReason.DUPLICATE)
    assert engine.conflicting_justifications == 1


# --- catch-up ---------------------------------------------------------------------------------


def test_a_lagging_node_catches_up_from_a_peers_completed_round_and_helps_the_next(
    engine: ConsensusEngine, source: Chain
) -> None:
    block = build(source, 1)
    deliver(engine, block)
    votes = tuple(
        signed_vote(signer, 2, block.hash, 1, stage)
        for stage in (VOTE_STAGE_PREVOTE, VOTE_STAGE_PRECOMMIT)
        for signer in (1, 2, 3)
    )
    outcome = engine.handle(PeerMessage(PEER, CatchUpMessage(0, 2, votes)), LATE)
    assert outcome.verdict == ACCEPT and engine.voter.round_number == 3
    assert engine.chain.finalized_hash == block.hash  # round 2's precommits finalize the block
    lagging_vote = VoteMessage(signed_vote(1, 1, block.hash, 1))  # from a voter still in round 1
    outcome = engine.handle(PeerMessage(8, lagging_vote), LATE)
    assert outcome.verdict == Ignore(IgnoreReason.STALE)
    assert outcome.outgoing == (Reply((CatchUpMessage(0, 2, votes),)),)
    assert engine.handle(PeerMessage(8, lagging_vote), LATE + 10).outgoing == ()  # once per retry interval


def test_a_catch_up_for_an_earlier_round_is_stale_and_one_with_a_forged_vote_is_rejected(
    engine: ConsensusEngine, source: Chain
) -> None:
    block = build(source, 1)
    deliver(engine, block)
    vote = signed_vote(1, 2, block.hash, 1)
    forged = replace(vote, signature=bytes(64))
    assert engine.handle(PeerMessage(PEER, CatchUpMessage(0, 0, ())), LATE).verdict == Ignore(IgnoreReason.STALE)
    outcome = engine.handle(PeerMessage(PEER, CatchUpMessage(0, 2, (vote, forged))), LATE)
    assert isinstance(outcome.verdict, Reject) and outcome.verdict.rule == "BadVoteSignature"
    assert engine.voter.round_number == 1

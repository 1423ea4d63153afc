"""The consensus engine of one node: the chain, the slot lottery, the finality voter, equivocation
detection and the transaction pool, driven by one event at a time.

It is sans-I/O: :meth:`ConsensusEngine.handle` takes one inbox event (:mod:`flockchain.node.inbox`:
a slot started, a timer tick, a peer's message, a local transaction) and the local clock, and
returns an :class:`~flockchain.node.inbox.Outcome`: the messages to send, a verdict on a peer's
message, the pool's answer to a submission. Its only I/O is the chain's database and log lines.
The trio node (:mod:`flockchain.node.service`) feeds it from one bounded channel in the one task
that writes the database; the simulator (``flockchain.simulator``) from a seeded fake network and
a virtual clock. Both run exactly this code.

Blocks it cannot import yet are held, bounded (:mod:`flockchain.node.buffers`): an *orphan*
(parent unknown) while its parent is asked of the sender, then imported once the parent is,
and its own orphans after it; an *early* block (its slot starts within ``max_drift_ms`` of the
clock, say a peer's clock runs ahead) until its slot starts. A block further ahead is refused:
fork choice prefers the highest block, so importing one from the far future would leave honest
authors waiting for its slot.

Everything kept for others is bounded per source, then in total (:mod:`flockchain.node.limits`,
the voter's rounds): a vote is checked, kept and relayed only if the voter keeps it (two per
voter and stage in each live or buffered round), blocks that votes or commits name and we lack
are wanted a few per voter or peer, each peer gets a budget of answers per second. A commit that
names blocks we lack is held until they arrive; its signatures are checked once.

Evidence always lands: equivocations (in blocks we import, or in the headers of blocks finality
abandoned) are gossiped, and every block we author carries the pending reports until a finalized
block does (:mod:`flockchain.node.reports`). A valid commit for a fork our finality abandoned is
the safety alarm: logged, counted and kept. A voter two rounds behind gets a peer's last
completed round (catch-up).

The pool follows every change of the best head (a block we author or import, a re-org, a
finality that moves the head): it drops what the newly enacted blocks include, takes back the
signed transactions of retracted blocks that are still valid, and re-validates the rest.

Slashing protection: before this node seals a block or signs a finality vote it writes its
:class:`~consensus.signing_record.SigningRecord` to the database with a synchronous write, so
after a crash, even a power loss, it never signs a conflicting block or vote.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from consensus.authority_sets import get_voter_set
from consensus.babe.equivocation import BlockEquivocationDetector
from consensus.evidence import InvalidEvidence, NotAnEquivocation, check_evidence, get_offence_key
from consensus.grandpa.errors import InsufficientWeight
from consensus.grandpa.voter import (
    KEPT_VOTE_USES,
    STAGES,
    BroadcastCommit,
    BroadcastVote,
    Finalize,
    ReportVoteEquivocation,
    Voter,
    VoterState,
    VoteUse,
)
from consensus.signing_record import SigningRecord
from flockchain.abc import WriteBatch
from flockchain.chain.chain import AuthoredBlock, Chain
from flockchain.db import schema
from flockchain.errors import BelowFinalized, FutureBlock, InvalidBlock, StorageError, UnknownParent
from flockchain.node.buffers import EarlyBlocks, HeldBlock, HeldCommit, HeldCommits, OrphanBlocks, StaleHeaders
from flockchain.node.inbox import (
    ACCEPT,
    Event,
    Ignore,
    IgnoreReason,
    Outcome,
    PeerId,
    PeerMessage,
    PeerVerdict,
    Reject,
    SlotStarted,
    TimerTick,
    Verdict,
)
from flockchain.node.limits import AnswerBudget, WantedBlocks
from flockchain.node.messages import (
    MAX_BLOCKS_PER_RESPONSE,
    BlockAnnounce,
    BlockRequest,
    Broadcast,
    CatchUpMessage,
    CommitMessage,
    EquivocationMessage,
    Message,
    Outgoing,
    Reply,
    SetChangeRequest,
    VoteMessage,
)
from flockchain.node.reports import OffenceKey, PendingReports
from flockchain.txpool import TransactionPool
from runtime import api
from runtime.block import (
    Block,
    Header,
    Justification,
    SignedExtrinsic,
    SignedFinalityVote,
    compute_extrinsic_hash,
    decode_block,
    decode_extrinsic,
    verify_seal,
)
from runtime.errors import FlockError, FutureTransaction, InvalidKey, InvalidSignature, InvalidTransaction
from runtime.executive import ValidTransaction
from runtime.primitives.address import encode_address
from runtime.primitives.hashing import blake2b_256
from runtime.primitives.keys import Keypair

log = logging.getLogger("flockchain.node")

_IGNORED_VOTE_REASONS = {
    VoteUse.DUPLICATE: IgnoreReason.DUPLICATE,
    VoteUse.SURPLUS: IgnoreReason.SURPLUS,
    VoteUse.STALE: IgnoreReason.STALE,
    VoteUse.AHEAD: IgnoreReason.AHEAD,
}

MAX_PENDING_REPORTS = 64
MAX_REPORTS_PER_OFFENDER = 4  # offences of one kind pending per offender: the newest
MAX_SEEN_REPORTS = 4_096  # reports remembered once taken, so that none is taken twice
MAX_PENDING_REQUESTS = 256
REQUEST_RETRY_MS = 1_000
WANTED_TIMEOUT_MS = 60_000  # stop asking for a block no peer sends
MAX_WANTED = 128
MAX_WANTED_PER_SOURCE = 8  # blocks one voter's votes (or one peer's commits) make us ask for
MAX_WANTED_REQUESTS_PER_TICK = 8
MAX_ANSWERS_PER_PEER = 32  # requests answered per peer and second: an answer may carry 64 blocks
ANSWER_WINDOW_MS = 1_000
MAX_TRACKED_PEERS = 1_024
NEIGHBOUR_INTERVAL_MS = 2_000  # re-send our head and latest finality proof this often: gossip is lossy
MAX_DRIFT_MS = 2_000  # a block whose slot starts up to this far ahead of our clock is held, further is refused
MAX_ORPHANS = 256
MAX_ORPHANS_PER_PEER = MAX_BLOCKS_PER_RESPONSE  # one answer to a block request
MAX_ORPHAN_BYTES = 64 * 1024 * 1024
MAX_EARLY_BLOCKS = 64
MAX_EARLY_BLOCKS_PER_PEER = 8
MAX_EARLY_BYTES = 16 * 1024 * 1024
MAX_HELD_COMMITS = 8
MAX_HELD_COMMITS_PER_PEER = 2
MAX_STALE_HEADERS = 1_024
MAX_STALE_HEADERS_PER_AUTHOR = 128
EQUIVOCATION_WINDOW_SLOTS = 1_024  # headers are kept this far below the finalized slot to catch equivocations
MAX_FINALITY_CONFLICTS = 16  # conflicting justification pairs kept as evidence
MAX_CONFLICTS_REMEMBERED = 1_024  # conflicting justifications counted once each


@dataclass(frozen=True)
class _HeadChange:
    """What the pool must learn when the best head moves to ``head``."""

    head: bytes
    enacted: tuple[bytes, ...]  # hashes of the extrinsics of the blocks that joined the best chain
    retracted: tuple[bytes, ...]  # the signed transactions of the blocks that left it


class ConsensusEngine:
    def __init__(
        self,
        chain: Chain,
        keypair: Keypair | None,
        *,
        gossip_duration_ms: int,
        max_drift_ms: int = MAX_DRIFT_MS,
    ) -> None:
        self.chain = chain
        self.keypair = keypair
        self.gossip_duration_ms = gossip_duration_ms
        self.max_drift_ms = max_drift_ms
        # The pool checks what each sender's pooled transactions pay together against what it holds,
        # so a sender cannot fill blocks with transactions whose fees only one of them can pay.
        self.pool = TransactionPool(
            self._validate_transaction, self._get_account_nonce, get_fee_budget=self._get_fee_budget
        )
        # The evidence of the equivocations this node reported lately, for whoever watches (the simulator)
        self.equivocations_seen: deque[EquivocationMessage] = deque(maxlen=MAX_PENDING_REPORTS)
        raw = chain.store.get(schema.SIGNING_RECORD)
        self._record = SigningRecord.empty() if raw is None else SigningRecord.decode(raw)
        self._detector = BlockEquivocationDetector()
        self._reports = PendingReports(
            max_count=MAX_PENDING_REPORTS, max_per_offender=MAX_REPORTS_PER_OFFENDER, max_seen=MAX_SEEN_REPORTS
        )
        self._stale = StaleHeaders(max_count=MAX_STALE_HEADERS, max_per_author=MAX_STALE_HEADERS_PER_AUTHOR)
        # Safety alarm: (our justification, a valid one for a block conflicting with our finality)
        self.finality_conflicts: list[tuple[bytes, bytes]] = []
        self.conflicting_justifications = 0
        self._conflicts_seen: dict[bytes, None] = {}  # hashes of the conflicting justifications counted
        self._set_ids: dict[bytes, int] = {}
        self._requested: dict[bytes, int] = {}  # request key (a block hash, ...) -> when we last sent it, oldest first
        self._wanted = WantedBlocks(
            max_count=MAX_WANTED, max_per_source=MAX_WANTED_PER_SOURCE, timeout_ms=WANTED_TIMEOUT_MS
        )
        self._catch_ups_sent: dict[PeerId, tuple[int, int]] = {}  # peer -> (round, when), oldest first
        self._answers = AnswerBudget(
            per_window=MAX_ANSWERS_PER_PEER, window_ms=ANSWER_WINDOW_MS, max_peers=MAX_TRACKED_PEERS
        )
        self._orphans = OrphanBlocks(
            max_count=MAX_ORPHANS, max_bytes=MAX_ORPHAN_BYTES, max_per_peer=MAX_ORPHANS_PER_PEER
        )
        self._early = EarlyBlocks(
            max_count=MAX_EARLY_BLOCKS, max_bytes=MAX_EARLY_BYTES, max_per_peer=MAX_EARLY_BLOCKS_PER_PEER
        )
        self._held_commits = HeldCommits(max_count=MAX_HELD_COMMITS, max_per_peer=MAX_HELD_COMMITS_PER_PEER)
        self._resolved: list[PeerVerdict] = []  # verdicts on held blocks and commits, during one event
        self._blocks_arrived = False  # during one event: held commits may be complete now
        self._pool_head = chain.head_hash  # the head the pool last followed
        self._last_neighbour_ms: int | None = None
        self._now_ms = 0
        self.voter = self._start_voter(resume=True)

    # --- the one entry point ---------------------------------------------------------------

    def handle(self, event: Event, now_ms: int) -> Outcome:
        """Handle one event at local time ``now_ms``; the node and the simulator call nothing else
        that changes the chain."""
        self._now_ms = now_ms
        self._resolved = []
        self._blocks_arrived = False
        verdict: Verdict | None = None
        answer: bytes | InvalidTransaction | None = None
        if isinstance(event, SlotStarted):
            out = self.on_slot(event.slot) + self._import_due_blocks()
        elif isinstance(event, TimerTick):
            out = self._import_due_blocks() + self.on_tick()
        elif isinstance(event, PeerMessage):
            verdict, out = self.on_peer_message(event.peer, event.message)
        else:
            answer, out = self._submit(event.encoded), []
        out += self._import_orphans()
        if self._blocks_arrived:
            out += self._retry_held_commits()
        self._follow_head()
        return Outcome(tuple(out), verdict, tuple(self._resolved), answer)

    def held_counts(self) -> dict[str, int]:
        """How many entries each bounded collection holds now (metrics; tests that measure
        memory under floods count these)."""
        return {
            "orphans": len(self._orphans),
            "early blocks": len(self._early),
            "held commits": len(self._held_commits),
            "wanted blocks": len(self._wanted),
            "requests sent": len(self._requested),
            "peers answered": len(self._answers),
            "reports": len(self._reports),
            "stale headers": len(self._stale),
            "finality conflicts": len(self.finality_conflicts),
            "future votes": sum(len(votes) for votes in self.voter.future_votes.values()),
        }

    # --- events (a Byzantine test node overrides these; callers use ``handle``) -------------

    def on_slot(self, slot: int) -> list[Outgoing]:
        """A new slot began: author on the head if we won it. An authoring error skips the slot
        (it is logged): nothing a block's contents do may stop the node."""
        if self.keypair is None or not self._record.may_seal_block(slot):
            return []
        try:
            pre_digest = self.chain.claim_slot(self.keypair, slot)
            if pre_digest is None:
                return []
            self._save_record(self._record.with_block(slot))
            unsigned = (*self._finality_note(), *(report.encoded for report in self._reports.get_unparked()))
            authored = self.chain.author_block(self.keypair, pre_digest, self.pool.ready(), unsigned=unsigned)
        except StorageError:
            raise
        except FlockError as error:
            log.warning("Slot %d skipped, authoring failed: %s: %s", slot, type(error).__name__, error)
            return []
        self._after_authoring(authored)
        self._detector.observe(authored.block.header)
        header = authored.block.header
        log.info(
            "Imported #%d (0x%s…) slot %d, %d transaction(s), author %s",
            header.number,
            authored.block.hash.hex()[:12],
            header.slot,
            len(authored.included),
            encode_address(header.author),
        )
        out: list[Outgoing] = [Broadcast(BlockAnnounce(authored.block.encode()))]
        return out + self._voter_actions(self.voter.on_block_imported(self._now_ms, self._tree()))

    def on_tick(self) -> list[Outgoing]:
        out = self._voter_actions(self.voter.on_tick(self._now_ms, self._tree())) + self._request_wanted()
        if self._last_neighbour_ms is None or self._now_ms - self._last_neighbour_ms >= NEIGHBOUR_INTERVAL_MS:
            self._last_neighbour_ms = self._now_ms
            out += self.neighbour_messages()
        return out

    def on_peer_message(self, peer: PeerId, message: Message) -> tuple[Verdict, list[Outgoing]]:
        if isinstance(message, BlockAnnounce):
            return self._on_block(peer, message.data)
        if isinstance(message, VoteMessage):
            return self._on_vote(peer, message.vote)
        if isinstance(message, CommitMessage):
            return self._on_commit(peer, message.justification)
        if isinstance(message, EquivocationMessage):
            return self._on_equivocation(message)
        if isinstance(message, CatchUpMessage):
            return self._on_catch_up(peer, message)
        if not self._answers.spend(peer, self._now_ms):
            return Ignore(IgnoreReason.RATE_LIMITED), []
        if isinstance(message, SetChangeRequest):
            return self._on_set_change_request(message.set_id)
        return self._on_block_request(message.block_hash)

    def neighbour_messages(self) -> list[Outgoing]:
        """What a node re-sends now and then so that peers that missed messages catch up: our
        head, our latest finality proof and the equivocation reports still waiting for a block."""
        out: list[Outgoing] = []
        head = self.chain.blocks.get_block(self.chain.head_hash)
        if head is not None and head.header.number > 0:
            out.append(Broadcast(BlockAnnounce(head.encode())))
        justification = self.chain.get_justification(self.chain.finalized_hash)
        if justification is not None:
            out.append(Broadcast(CommitMessage(justification)))
        return out + [Broadcast(report.evidence) for report in self._reports.get_unparked()]

    def vote_messages(self, vote: SignedFinalityVote) -> list[Outgoing]:
        """How our vote leaves the node."""
        return [Broadcast(VoteMessage(vote))]

    # --- authoring ------------------------------------------------------------------------

    def _finality_note(self) -> tuple[bytes, ...]:
        """The unsigned note of our last finalized block's justification, for the next block to
        carry if the head's chain has not noted it (its precommits earn reward points)."""
        state = self.chain.best_state()
        finalized = self.chain.finalized_header
        if finalized.number <= api.get_last_noted_finality(state):
            return ()
        encoded = self.chain.get_justification(self.chain.finalized_hash)
        if encoded is None:
            return ()
        justification = Justification.decode(encoded)
        if justification.set_id != api.get_finality_set_id(state):
            return ()
        return (api.build_finality_note(justification),)

    def _after_authoring(self, authored: AuthoredBlock) -> None:
        """Drop what may never go in a block here (a future nonce may still become valid: it
        stays), and park the reports the runtime refused on this parent. The reports the block
        carries stay pending until a finalized block carries them: this one may be abandoned."""
        dropped = [encoded for encoded, error in authored.rejected if not isinstance(error, FutureTransaction)]
        self.pool.remove([compute_extrinsic_hash(encoded) for encoded in dropped])
        self._reports.park(dropped, authored.block.header.parent_hash)

    # --- the pool -------------------------------------------------------------------------

    def _submit(self, encoded: bytes) -> bytes | InvalidTransaction:
        try:
            return self.pool.submit(encoded)
        except InvalidTransaction as error:
            return error

    def _validate_transaction(self, encoded: bytes) -> ValidTransaction:
        chain = self.chain
        return chain.executive.validate_transaction(chain.best_state(), encoded, chain.head.number + 1, chain.head_hash)

    def _get_account_nonce(self, who: bytes) -> int:
        return api.get_account(self.chain.best_state(), who).nonce

    def _get_fee_budget(self, who: bytes) -> int:
        return api.get_fee_budget(self.chain.best_state(), who)

    def _follow_head(self) -> None:
        change = self._get_head_change(self.chain.head_hash)
        if change is not None:
            self._apply_head_change(change)

    def _get_head_change(self, new_head: bytes) -> _HeadChange | None:
        """How the best chain changes from the pool's head to ``new_head`` (None: it does not)."""
        if new_head == self._pool_head:
            return None
        route = self.chain.compute_tree_route(self._pool_head, new_head)
        enacted = [xt for block_hash in route.enacted for xt in self._get_extrinsics(block_hash)]
        retracted = [xt for block_hash in route.retracted for xt in self._get_extrinsics(block_hash)]
        signed = [xt for xt in retracted if isinstance(decode_extrinsic(xt), SignedExtrinsic)]
        return _HeadChange(new_head, tuple(map(compute_extrinsic_hash, enacted)), tuple(signed))

    def _get_extrinsics(self, block_hash: bytes) -> tuple[bytes, ...]:
        block = self.chain.blocks.get_block(block_hash)
        assert block is not None, "every tree block is stored"
        return block.extrinsics

    def _apply_head_change(self, change: _HeadChange) -> None:
        """Drop what the new best chain includes, take back what left it (if still valid), re-validate."""
        self.pool.remove(change.enacted)
        for encoded in change.retracted:
            with contextlib.suppress(InvalidTransaction):
                self.pool.submit(encoded)
        self.pool.on_new_head(self._validate_transaction, self._get_account_nonce, change.enacted)
        self._pool_head = change.head

    # --- blocks ---------------------------------------------------------------------------

    def _on_block(self, peer: PeerId, data: bytes) -> tuple[Verdict, list[Outgoing]]:
        try:
            imported = self.chain.import_block(data, now_ms=self._now_ms)
        except UnknownParent:
            return self._hold_orphan(peer, data)
        except FutureBlock as error:
            return self._hold_early(peer, data, error)
        except BelowFinalized:
            block = decode_block(data)  # import decoded it before it found the parent final
            if self.chain.blocks.get_header(block.hash) is not None:
                return Ignore(IgnoreReason.ALREADY_FINAL), []
            return self._on_stale(block.header)
        except InvalidBlock as error:
            return Reject.from_error(error), []
        if imported.known:
            return Ignore(IgnoreReason.DUPLICATE), []
        return ACCEPT, self._on_imported(imported.block, data, peer)

    def _on_imported(self, block: Block, data: bytes, peer: PeerId) -> list[Outgoing]:
        """A peer's block joined the tree: watch for equivocation, relay it (peers may not have
        it), and let the voter place votes that named it."""
        self._blocks_arrived = True
        header = block.header
        log.info("Imported #%d (0x%s…) slot %d from peer %s", header.number, block.hash.hex()[:12], header.slot, peer)
        relay: list[Outgoing] = [Broadcast(BlockAnnounce(data)), *self._observe_header(header)]
        return relay + self._voter_actions(self.voter.on_block_imported(self._now_ms, self._tree()))

    def _on_stale(self, header: Header) -> tuple[Verdict, list[Outgoing]]:
        """A block on a fork finality abandoned: not imported, but its header is kept (seal
        checked) to catch an equivocation there and to place a commit that names the fork."""
        try:
            verify_seal(header, self.chain.genesis_hash)
        except (InvalidKey, InvalidSignature) as error:
            return Reject("BadSeal", f"bad seal on a stale block: {error}"), []
        if not self.voter.voter_set.contains(header.author):
            return Ignore(IgnoreReason.STALE), []
        out = self._observe_header(header, stale=True)
        self._stale.add(header)
        self._blocks_arrived = True  # a held commit may name this fork
        return Ignore(IgnoreReason.STALE), out

    def _hold_orphan(self, peer: PeerId, data: bytes) -> tuple[Verdict, list[Outgoing]]:
        """Hold a block whose parent is unknown and ask the sender for the missing ancestor."""
        block = decode_block(data)  # import decoded it before it found the parent missing
        header = block.header
        if block.hash in self._orphans:
            return Ignore(IgnoreReason.DUPLICATE), []
        if header.number <= self.chain.finalized_header.number or self._stale.get(header.parent_hash) is not None:
            return self._on_stale(header)
        slot_start_ms = header.slot * self.chain.get_slot_duration_ms(self.chain.head_hash)
        if slot_start_ms > self._now_ms + self.max_drift_ms:
            message = f"orphan of slot {header.slot} starts {slot_start_ms - self._now_ms} ms from now"
            return Reject.from_error(FutureBlock(message, slot_start_ms)), []
        self._orphans.add(HeldBlock(data, header, block.hash, peer))
        return Ignore(IgnoreReason.ORPHAN), self._request(self._orphans.get_missing_ancestor(header.parent_hash))

    def _hold_early(self, peer: PeerId, data: bytes, error: FutureBlock) -> tuple[Verdict, list[Outgoing]]:
        """Hold a block whose slot starts within the drift; refuse one further ahead."""
        if error.slot_start_ms > self._now_ms + self.max_drift_ms:
            return Reject.from_error(error), []
        block = decode_block(data)
        if block.hash in self._early:
            return Ignore(IgnoreReason.DUPLICATE), []
        self._early.add(HeldBlock(data, block.header, block.hash, peer))
        return Ignore(IgnoreReason.EARLY), []

    def _import_due_blocks(self) -> list[Outgoing]:
        """Import the held early blocks whose slot has started."""
        out: list[Outgoing] = []
        for held in self._early.pop_due(self._now_ms):
            out += self._import_held(held)
        return out

    def _import_orphans(self) -> list[Outgoing]:
        """Import the held orphans whose parent is now in the tree, lowest first, so that an
        orphan's own orphans follow it."""
        out: list[Outgoing] = []
        while (held := self._orphans.pop_importable(self.chain.is_unfinalized_tree_block)) is not None:
            out += self._import_held(held)
        return out

    def _import_held(self, held: HeldBlock) -> list[Outgoing]:
        verdict, out = self._on_block(held.peer, held.data)
        self._resolved.append(PeerVerdict(held.peer, verdict))
        return out

    # --- requests -------------------------------------------------------------------------

    def _is_request_due(self, key: bytes) -> bool:
        """Whether to (re)send the request named ``key`` now: once per retry interval."""
        asked = self._requested.pop(key, None)
        if asked is not None and self._now_ms - asked < REQUEST_RETRY_MS:
            self._requested[key] = asked
            return False
        if len(self._requested) >= MAX_PENDING_REQUESTS:
            del self._requested[next(iter(self._requested))]
        self._requested[key] = self._now_ms
        return True

    def _request(self, block_hash: bytes) -> list[Outgoing]:
        """Ask the sender for a missing block (and its ancestors)."""
        return [Reply((BlockRequest(block_hash),))] if self._is_request_due(block_hash) else []

    def _request_set_change(self) -> list[Outgoing]:
        """Peers are in a later authority set: ask for the justification that ended ours."""
        set_id = self.voter.voter_set.set_id
        return [Reply((SetChangeRequest(set_id),))] if self._is_request_due(b"set change %d" % set_id) else []

    def _on_set_change_request(self, set_id: int) -> tuple[Verdict, list[Outgoing]]:
        block_hash = self.chain.get_set_change(set_id)
        justification = None if block_hash is None else self.chain.get_justification(block_hash)
        if justification is None:
            return Ignore(IgnoreReason.NOT_FOUND), []
        return ACCEPT, [Reply((CommitMessage(justification),))]

    def _request_wanted(self) -> list[Outgoing]:
        """Ask every peer again for the blocks votes and commits named that we still lack: a few
        per tick, each at most once per retry interval."""
        out: list[Outgoing] = []
        for block_hash in self._wanted.get_lacking(self._now_ms, self._is_known_block):
            if len(out) == MAX_WANTED_REQUESTS_PER_TICK:
                break
            if self._is_request_due(block_hash):
                out.append(Broadcast(BlockRequest(block_hash)))
        return out

    def _is_known_block(self, block_hash: bytes) -> bool:
        return self._get_any_header(block_hash) is not None

    def _on_block_request(self, block_hash: bytes) -> tuple[Verdict, list[Outgoing]]:
        found: list[bytes] = []
        cursor = block_hash
        while len(found) < MAX_BLOCKS_PER_RESPONSE:
            block = self.chain.blocks.get_block(cursor)
            if block is None or block.header.number == 0:
                break
            found.append(block.encode())
            cursor = block.header.parent_hash
        if not found:
            return Ignore(IgnoreReason.NOT_FOUND), []
        return ACCEPT, [Reply(tuple(BlockAnnounce(data) for data in reversed(found)))]

    def _observe_header(self, header: Header, *, stale: bool = False) -> list[Outgoing]:
        """Watch a checked header for equivocation: against the headers of imported blocks (which
        it joins unless ``stale``) and those of stale blocks."""
        evidence = self._detector.check(header) if stale else self._detector.observe(header)
        if evidence is not None:
            return self._report(evidence.first, evidence.second)
        other = self._stale.find(header.slot, header.author)
        return [] if other is None or other.hash == header.hash else self._report(other, header)

    # --- finality -------------------------------------------------------------------------

    def _on_vote(self, peer: PeerId, vote: SignedFinalityVote) -> tuple[Verdict, list[Outgoing]]:
        """Count a vote and gossip it on once, so that every voter sees every vote (and so both
        halves of an equivocation). Only a vote the voter keeps is checked, kept and relayed: the
        voter's rounds are the record of what we have seen, bounded per voter."""
        set_id = self.voter.voter_set.set_id
        if vote.vote.set_id > set_id:
            return Ignore(IgnoreReason.LATER_SET), self._request_set_change()
        if vote.vote.set_id < set_id:
            return Ignore(IgnoreReason.STALE), []
        use = self.voter.get_vote_use(vote)
        if use not in KEPT_VOTE_USES:
            out = self._send_catch_up(peer, vote.vote.round) if use == VoteUse.STALE else []
            return Ignore(_IGNORED_VOTE_REASONS[use]), out
        try:
            actions = self.voter.on_vote(vote, self._now_ms, self._tree())
        except FlockError as error:
            return Reject.from_error(error), []
        out: list[Outgoing] = [Broadcast(VoteMessage(vote)), *self._voter_actions(actions)]
        if self.chain.get_header(vote.vote.target_hash) is None:
            # The voter holds the vote until it can place it: fetch what it voted for, from the
            # sender now and from every peer on later ticks until it arrives.
            self._wanted.add(vote.vote.target_hash, vote.voter, self._now_ms)
            out.extend(self._request(vote.vote.target_hash))
        return ACCEPT, out

    def _send_catch_up(self, peer: PeerId, round_number: int) -> list[Outgoing]:
        """The sender's vote shows it two or more rounds behind us: send it our last completed
        round's votes, at most once per retry interval and within its answer budget."""
        catch_up = self.voter.get_catch_up()
        if catch_up is None or round_number >= catch_up[0]:
            return []
        last = self._catch_ups_sent.pop(peer, None)
        if last is not None and last[0] == catch_up[0] and self._now_ms - last[1] < REQUEST_RETRY_MS:
            self._catch_ups_sent[peer] = last
            return []
        if len(self._catch_ups_sent) >= MAX_TRACKED_PEERS:
            del self._catch_ups_sent[next(iter(self._catch_ups_sent))]
        self._catch_ups_sent[peer] = (catch_up[0], self._now_ms)
        if not self._answers.spend(peer, self._now_ms):
            return []
        return [Reply((CatchUpMessage(self.voter.voter_set.set_id, *catch_up),))]

    def _on_catch_up(self, peer: PeerId, message: CatchUpMessage) -> tuple[Verdict, list[Outgoing]]:
        """A peer's completed round: if it is ahead of ours and completable here, we join the
        round after it. Votes naming blocks we lack make us ask the sender for them."""
        voter = self.voter
        if message.set_id != voter.voter_set.set_id or message.round < voter.round_number:
            return Ignore(IgnoreReason.STALE), []
        if len(message.votes) > 2 * (len(STAGES) - 1) * len(voter.voter_set):
            return Reject("OversizedCatchUp", f"{len(message.votes)} votes in a catch-up"), []
        before = voter.round_number
        try:
            actions = voter.on_catch_up(message.round, message.votes, self._now_ms, self._tree())
        except FlockError as error:
            return Reject.from_error(error), []
        out = self._voter_actions(actions)
        named = dict.fromkeys(signed.vote.target_hash for signed in message.votes)
        missing = [block_hash for block_hash in named if not self._is_known_block(block_hash)]
        for block_hash in missing:
            self._wanted.add(block_hash, peer, self._now_ms)
        if self.voter.round_number > before:
            return ACCEPT, out
        return Ignore(IgnoreReason.AWAITING_BLOCKS if missing else IgnoreReason.STALE), out

    def _on_commit(self, peer: PeerId, encoded: bytes) -> tuple[Verdict, list[Outgoing]]:
        try:
            justification = Justification.decode(encoded)
        except FlockError as error:
            return Reject.from_error(error), []
        set_id = self.voter.voter_set.set_id
        if justification.set_id > set_id:
            return Ignore(IgnoreReason.LATER_SET), self._request_set_change()
        if justification.set_id < set_id:
            return Ignore(IgnoreReason.STALE), []
        if justification in self._held_commits:
            return Ignore(IgnoreReason.DUPLICATE), []
        target = justification.target_hash
        # A commit for a final block tells us nothing, unless it is for our round or a later one,
        # which fast-forwards us (neighbours re-send their latest commit every few seconds).
        if self._is_below_finalized(target) or (
            target == self.chain.finalized_hash and justification.round < self.voter.round_number
        ):
            return Ignore(IgnoreReason.ALREADY_FINAL), []
        verdict, out = self._apply_commit(justification, peer, self._now_ms)
        if verdict == Ignore(IgnoreReason.AWAITING_BLOCKS) and not self._is_known_block(target):
            out += self._request(target)
        return verdict, out

    def _apply_commit(
        self, justification: Justification, peer: PeerId, since_ms: int
    ) -> tuple[Verdict, list[Outgoing]]:
        """Finalize a commit's target; hold a commit that names blocks we lack until they arrive;
        raise the alarm for a valid commit whose target is on a fork our finality abandoned."""
        try:
            if self._stale.get(justification.target_hash) is not None:
                self.voter.check_commit(justification, self._get_ancestry_with_stale)
                return self._raise_finality_alarm(justification), []
            actions = self.voter.on_commit(justification, self._now_ms, self._tree())
        except InsufficientWeight as error:
            # Precommits for blocks we lack count for nothing yet: an honest commit fails until
            # they arrive, so only a commit that fails with all of them known is a bad one.
            named = (justification.target_hash, *(signed.vote.target_hash for signed in justification.precommits))
            missing = [block_hash for block_hash in dict.fromkeys(named) if not self._is_known_block(block_hash)]
            if not missing:
                return Reject.from_error(error), []
            for block_hash in missing:
                self._wanted.add(block_hash, peer, self._now_ms)
            self._held_commits.add(HeldCommit(justification, peer, since_ms))
            return Ignore(IgnoreReason.AWAITING_BLOCKS), []
        except FlockError as error:
            return Reject.from_error(error), []
        return ACCEPT, self._voter_actions(actions)

    def _retry_held_commits(self) -> list[Outgoing]:
        """Blocks arrived: apply the held commits they complete; drop those finality or a set
        change made stale, or held too long."""
        out: list[Outgoing] = []
        for held in self._held_commits.pop_all():
            justification = held.justification
            if self._now_ms - held.since_ms > WANTED_TIMEOUT_MS:
                continue
            if justification.set_id != self.voter.voter_set.set_id:
                self._resolved.append(PeerVerdict(held.peer, Ignore(IgnoreReason.STALE)))
                continue
            if self._is_below_finalized(justification.target_hash):
                self._resolved.append(PeerVerdict(held.peer, Ignore(IgnoreReason.ALREADY_FINAL)))
                continue
            verdict, actions = self._apply_commit(justification, held.peer, held.since_ms)
            if verdict != Ignore(IgnoreReason.AWAITING_BLOCKS):
                self._resolved.append(PeerVerdict(held.peer, verdict))
            out += actions
        return out

    def _raise_finality_alarm(self, justification: Justification) -> Verdict:
        """A valid justification for a block that conflicts with our finality: the set's
        safety is broken (more than a third of its weight equivocated). Count it, keep both
        justifications as evidence, say so loudly; nothing automatic can repair it."""
        encoded = justification.encode()
        key = blake2b_256(encoded)
        if key in self._conflicts_seen:
            return Ignore(IgnoreReason.DUPLICATE)
        self._conflicts_seen[key] = None
        if len(self._conflicts_seen) > MAX_CONFLICTS_REMEMBERED:
            del self._conflicts_seen[next(iter(self._conflicts_seen))]
        self.conflicting_justifications += 1
        ours = self.chain.get_justification(self.chain.finalized_hash) or b""
        if len(self.finality_conflicts) < MAX_FINALITY_CONFLICTS:
            self.finality_conflicts.append((ours, encoded))
        log.error(
            "SAFETY ALARM: set %d round %d finalized #%d (0x%s…), which conflicts with our finalized #%d (0x%s…): "
            "more than a third of the set's weight equivocated",
            justification.set_id,
            justification.round,
            justification.target_number,
            justification.target_hash.hex()[:12],
            self.chain.finalized_header.number,
            self.chain.finalized_hash.hex()[:12],
        )
        return Ignore(IgnoreReason.CONFLICTING)

    def _get_any_header(self, block_hash: bytes) -> Header | None:
        """A block's header: one of our chain, or a stale one (a fork finality abandoned)."""
        header = self.chain.get_header(block_hash)
        return header if header is not None else self._stale.get(block_hash)

    def _get_ancestry_with_stale(self, base: bytes, block: bytes) -> list[bytes] | None:
        """``ancestry`` (``consensus.grandpa.chain``) over our chain and the stale headers: how a
        commit for an abandoned fork is weighed."""
        base_header, header = self._get_any_header(base), self._get_any_header(block)
        if base_header is None or header is None:
            return None
        route, cursor = [], block
        while header.number > base_header.number:
            route.append(cursor)
            cursor = header.parent_hash
            header = self._get_any_header(cursor)
            if header is None:
                return None
        return route if cursor == base else None

    def _voter_actions(self, actions: list) -> list[Outgoing]:
        out: list[Outgoing] = []
        for action in actions:
            if isinstance(action, BroadcastVote):
                voter_state = self.voter.persisted_state().encode()
                if voter_state != self._record.voter_state:  # a re-send of a recorded vote needs no write
                    self._save_record(self._record.with_voter_state(voter_state))
                out.extend(self.vote_messages(action.signed_vote))
            elif isinstance(action, BroadcastCommit):
                out.append(Broadcast(CommitMessage(action.commit.encode())))
            elif isinstance(action, Finalize):
                out.extend(self._finalize(action))
            elif isinstance(action, ReportVoteEquivocation):
                out.extend(self._report(action.first, action.second))
        return out

    def _finalize(self, action: Finalize) -> list[Outgoing]:
        if not self.chain.is_unfinalized_tree_block(action.hash) or action.hash == self.chain.finalized_hash:
            return []
        current_set = self.voter.voter_set.set_id
        ends_set = current_set if self._get_set_id(action.hash) != current_set else None
        best = self.chain.best_descendant(action.hash)
        assert best is not None
        head_change = self._get_head_change(best)  # now: finality deletes the blocks it retracts
        newly_final = self.chain.finalize(action.hash, action.justification.encode(), ends_set=ends_set)
        if head_change is not None:
            self._apply_head_change(head_change)
        finalized = self.chain.finalized_header
        log.info("Finalized #%d (0x%s…)", finalized.number, self.chain.finalized_hash.hex()[:12])
        carried = {encoded for block_hash in newly_final for encoded in self._get_extrinsics(block_hash)}
        self._reports.on_finalized(carried, self._is_final_block, self._is_abandoned_block)
        self._detector.prune(finalized.slot - EQUIVOCATION_WINDOW_SLOTS)
        out = self._drop_stale_orphans(finalized.number)
        self._set_ids = {h: s for h, s in self._set_ids.items() if self.chain.is_unfinalized_tree_block(h)}
        if ends_set is not None:
            self.voter = self._start_voter(resume=False)
        return out + self._voter_actions(self.voter.on_block_imported(self._now_ms, self._tree()))

    def _drop_stale_orphans(self, finalized_number: int) -> list[Outgoing]:
        """Orphans at or below the finalized height can never join the chain: their senders get a
        verdict and their headers are watched as stale ones."""
        out: list[Outgoing] = []
        for held in self._orphans.prune(finalized_number):
            verdict, evidence = self._on_stale(held.header)
            self._resolved.append(PeerVerdict(held.peer, verdict))
            out += evidence
        return out

    def _is_final_block(self, block_hash: bytes) -> bool:
        """Whether ``block_hash`` is the last finalized block or below it on the finalized chain."""
        return block_hash == self.chain.finalized_hash or self._is_below_finalized(block_hash)

    def _is_below_finalized(self, block_hash: bytes) -> bool:
        """Whether ``block_hash`` is on the finalized chain, below the last finalized block."""
        return not self.chain.is_unfinalized_tree_block(block_hash) and self.chain.get_header(block_hash) is not None

    def _is_abandoned_block(self, block_hash: bytes) -> bool:
        """Whether finality abandoned ``block_hash`` (and so deleted it)."""
        return self.chain.get_header(block_hash) is None

    def _start_voter(self, *, resume: bool) -> Voter:
        """The voter of the set that finalizes the children of the last finalized block."""
        finalized = self.chain.finalized_header
        voter_set = get_voter_set(self.chain.state_at(self.chain.finalized_hash))
        state = None
        if resume and self._record.voter_state:
            persisted = VoterState.decode(self._record.voter_state)
            if persisted.set_id == voter_set.set_id:
                state = persisted
        return Voter(
            voter_set,
            (self.chain.finalized_hash, finalized.number),
            self.keypair,
            self.chain.genesis_hash,
            self.gossip_duration_ms,
            state,
        )

    def _get_set_id(self, block_hash: bytes) -> int:
        set_id = self._set_ids.get(block_hash)
        if set_id is None:
            set_id = api.get_finality_set_id(self.chain.state_at(block_hash))
            self._set_ids[block_hash] = set_id
        return set_id

    def _tree(self) -> ChainView:
        return ChainView(self)

    # --- reports and the signing record ----------------------------------------------------

    def _report(self, first: Header | SignedFinalityVote, second: Header | SignedFinalityVote) -> list[Outgoing]:
        """Keep the report of an equivocation (checked evidence) for the blocks we author, and
        gossip the evidence if it is new, so that whoever authors next puts it on chain."""
        key, encoded, evidence = _build_report(first, second)
        if not self._reports.add(key, encoded, evidence):
            return []
        self.equivocations_seen.append(evidence)
        log.warning("Equivocation of kind %d by %s: reported", key[0], encode_address(key[1]))
        return [Broadcast(evidence)]

    def _on_equivocation(self, message: EquivocationMessage) -> tuple[Verdict, list[Outgoing]]:
        """A peer's evidence: checked (unless we hold a report of that offence, or took this one
        before), kept and relayed once."""
        first, second = message.first, message.second
        if not isinstance(first, Header | SignedFinalityVote) or type(first) is not type(second):
            return Reject.from_error(NotAnEquivocation("evidence is two headers or two finality votes")), []
        key, encoded, _ = _build_report(first, second)
        if self._reports.knows(key, encoded):
            return Ignore(IgnoreReason.DUPLICATE), []
        try:
            check_evidence(first, second, self.chain.genesis_hash)
        except InvalidEvidence as error:
            return Reject.from_error(error), []
        if not self.voter.voter_set.contains(key[1]):
            return Ignore(IgnoreReason.STALE), []
        return ACCEPT, self._report(first, second)

    def _save_record(self, record: SigningRecord) -> None:
        """Write the record synchronously: what we sign next must be on disk even if the machine
        loses power the moment after (a write the OS still buffers would survive only a crash)."""
        batch = WriteBatch()
        batch.put(schema.SIGNING_RECORD, record.encode())
        self.chain.store.write(batch, sync=True)
        self._record = record


class ChainView:
    """The chain as the finality voter sees it (``consensus.grandpa.chain.BlockTree``): votes
    stop at the first block whose state starts a new authority set, which the current set must
    finalize before the next set takes over (GRANDPA's standard set change)."""

    def __init__(self, engine: ConsensusEngine) -> None:
        self._engine = engine

    def ancestry(self, base: bytes, block: bytes) -> list[bytes] | None:
        return self._engine.chain.ancestry(base, block)

    def best_chain_containing(self, base: bytes) -> tuple[bytes, int] | None:
        engine, chain = self._engine, self._engine.chain
        if not chain.is_unfinalized_tree_block(base) and chain.ancestry(base, chain.finalized_hash) is not None:
            base = chain.finalized_hash  # every chain we may build contains it, so base too
        best = chain.best_descendant(base)
        if best is None:
            return None
        route = chain.ancestry(base, best)
        assert route is not None
        set_id = engine.voter.voter_set.set_id
        target = best
        # Lowest first, from ``base`` itself: when ``base`` is the change block, its children
        # already belong to the next set, so the chain of set ``set_id`` ends at ``base``.
        for block_hash in (base, *reversed(route)):
            if engine._get_set_id(block_hash) != set_id:
                target = block_hash
                break
        header = chain.get_header(target)
        assert header is not None
        return target, header.number


def _build_report(
    first: Header | SignedFinalityVote, second: Header | SignedFinalityVote
) -> tuple[OffenceKey, bytes, EquivocationMessage]:
    """The offence, the report extrinsic and the evidence message of an equivocation; its two
    halves in a fixed order, so that one equivocation always makes the same report."""
    if isinstance(first, Header) and isinstance(second, Header):
        low, high = sorted((first, second), key=Header.encode)
        return get_offence_key(low), api.build_block_equivocation_report(low, high), EquivocationMessage(low, high)
    assert isinstance(first, SignedFinalityVote) and isinstance(second, SignedFinalityVote)
    one, other = sorted((first, second), key=SignedFinalityVote.encode)
    return get_offence_key(one), api.build_vote_equivocation_report(one, other), EquivocationMessage(one, other)

"""The consensus engine of one node: the chain, the slot lottery, the finality voter and
equivocation detection, driven by events and answering with messages to send.

It is synchronous and does no I/O of its own beyond the chain's database: the trio node feeds it
from the network and the system clock, the simulator (``flockchain.simulator``) from a seeded
fake network and a virtual clock. Both run exactly this code.

Messages between engines are plain frozen records (``BlockAnnounce``, ``VoteMessage``,
``CommitMessage``, ``BlockRequest``); the network layer decides how they travel.

Slashing protection: before this node seals a block or signs a finality vote it writes its
:class:`~consensus.signing_record.SigningRecord` to the database, so after a crash it never signs
a conflicting block or vote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from consensus.authority_sets import get_voter_set
from consensus.babe.equivocation import BlockEquivocationDetector
from consensus.grandpa.voter import (
    BroadcastCommit,
    BroadcastVote,
    Finalize,
    ReportVoteEquivocation,
    Voter,
    VoterState,
)
from consensus.signing_record import SigningRecord
from flockchain.abc import WriteBatch
from flockchain.chain.chain import AuthoredBlock, Chain
from flockchain.db import schema
from flockchain.errors import InvalidBlock, UnknownParent
from runtime import api
from runtime.block import Header, Justification, SignedFinalityVote, decode_block
from runtime.errors import FlockError, FutureTransaction
from runtime.primitives.keys import Keypair

MAX_BLOCKS_PER_RESPONSE = 64
MAX_PENDING_REPORTS = 64
MAX_SEEN_VOTES = 4_096
MAX_PENDING_REQUESTS = 256
REQUEST_RETRY_MS = 1_000
WANTED_TIMEOUT_MS = 60_000  # stop asking for a block no peer sends


# --- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockAnnounce:
    data: bytes  # an encoded block


@dataclass(frozen=True)
class VoteMessage:
    vote: SignedFinalityVote


@dataclass(frozen=True)
class CommitMessage:
    justification: bytes  # an encoded Justification


@dataclass(frozen=True)
class BlockRequest:
    block_hash: bytes  # send this block and up to MAX_BLOCKS_PER_RESPONSE - 1 ancestors


@dataclass(frozen=True)
class SetChangeRequest:
    """Send the justification that ended authority set ``set_id`` (a node that missed a set
    change cannot follow the next set's votes or commits without it)."""

    set_id: int


Message = BlockAnnounce | VoteMessage | CommitMessage | BlockRequest | SetChangeRequest


@dataclass(frozen=True)
class Broadcast:
    message: Message


@dataclass(frozen=True)
class Reply:
    """Send ``messages`` to the peer whose message caused them."""

    messages: tuple[Message, ...]


Outgoing = Broadcast | Reply


class ConsensusEngine:
    def __init__(
        self,
        chain: Chain,
        keypair: Keypair | None,
        *,
        gossip_duration_ms: int,
    ) -> None:
        self.chain = chain
        self.keypair = keypair
        self.gossip_duration_ms = gossip_duration_ms
        # (offence kind, offender key) of every equivocation detected, for whoever watches (the simulator)
        self.equivocations_seen: list[tuple[int, bytes]] = []
        raw = chain.store.get(schema.SIGNING_RECORD)
        self._record = SigningRecord.empty() if raw is None else SigningRecord.decode(raw)
        self._detector = BlockEquivocationDetector()
        self._reports: dict[bytes, bytes] = {}  # unsigned report extrinsics to include (insertion order)
        self._set_ids: dict[bytes, int] = {}
        self._seen_votes: dict[bytes, int] = {}  # encoded vote -> round (what we gossiped on)
        self._requested: dict[bytes, int] = {}  # request key (a block hash, ...) -> when we last sent it
        self._wanted: dict[bytes, int] = {}  # blocks votes named that we lack -> since when
        self._now_ms = 0
        self.voter = self._start_voter(resume=True)

    # --- events -------------------------------------------------------------------------

    def on_slot(self, slot: int, now_ms: int) -> list[Outgoing]:
        """A new slot began: author on the head if we won it (the claim is proved once, here)."""
        self._now_ms = now_ms
        if self.keypair is None or not self._record.may_seal_block(slot):
            return []
        pre_digest = self.chain.claim_slot(self.keypair, slot)
        if pre_digest is None:
            return []
        self._save_record(self._record.with_block(slot))
        unsigned = (*self._finality_note(), *self._reports.values())
        authored = self.chain.author_block(self.keypair, pre_digest, self.candidates(), unsigned=unsigned)
        self._after_authoring(authored)
        self._detector.observe(authored.block.header)
        out: list[Outgoing] = [Broadcast(BlockAnnounce(authored.block.encode()))]
        return out + self._voter_actions(self.voter.on_block_imported(now_ms, self._tree()))

    def on_tick(self, now_ms: int) -> list[Outgoing]:
        self._now_ms = now_ms
        return self._voter_actions(self.voter.on_tick(now_ms, self._tree())) + self._request_wanted()

    def on_message(self, message: Message, now_ms: int) -> list[Outgoing]:
        self._now_ms = now_ms
        if isinstance(message, BlockAnnounce):
            return self._on_block(message.data)
        if isinstance(message, VoteMessage):
            return self._on_vote(message.vote)
        if isinstance(message, CommitMessage):
            return self._on_commit(message.justification)
        if isinstance(message, SetChangeRequest):
            return self._on_set_change_request(message.set_id)
        return self._on_block_request(message.block_hash)

    def neighbour_messages(self) -> list[Outgoing]:
        """What a node re-sends now and then so that peers that missed messages catch up: our
        head and our latest finality proof."""
        out: list[Outgoing] = []
        head = self.chain.blocks.get_block(self.chain.head_hash)
        if head is not None and head.header.number > 0:
            out.append(Broadcast(BlockAnnounce(head.encode())))
        justification = self.chain.get_justification(self.chain.finalized_hash)
        if justification is not None:
            out.append(Broadcast(CommitMessage(justification)))
        return out

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

    # --- hooks for the node ---------------------------------------------------------------

    def candidates(self) -> Iterable[bytes]:
        """Transactions to offer the block author (the node overrides with its pool)."""
        return ()

    def _after_authoring(self, authored: AuthoredBlock) -> None:
        for encoded, error in authored.rejected:
            if not isinstance(error, FutureTransaction):
                self._drop_report(encoded)
        for encoded in authored.unsigned:
            self._drop_report(encoded)

    # --- blocks ---------------------------------------------------------------------------

    def _on_block(self, data: bytes) -> list[Outgoing]:
        try:
            imported = self.chain.import_block(data, now_ms=self._now_ms)
        except UnknownParent:
            return self._request(decode_block(data).header.parent_hash)
        except InvalidBlock:
            return []
        if imported.known:
            return []
        self._observe_header(imported.block.header)
        relay: list[Outgoing] = [Broadcast(BlockAnnounce(data))]  # gossip: peers may not have it
        return relay + self._voter_actions(self.voter.on_block_imported(self._now_ms, self._tree()))

    def _is_request_due(self, key: bytes) -> bool:
        """Whether to (re)send the request named ``key`` now: once per retry interval."""
        asked = self._requested.get(key)
        if asked is not None and self._now_ms - asked < REQUEST_RETRY_MS:
            return False
        if len(self._requested) >= MAX_PENDING_REQUESTS:
            self._requested.clear()
        self._requested[key] = self._now_ms
        return True

    def _request(self, block_hash: bytes) -> list[Outgoing]:
        """Ask the sender for a missing block (and its ancestors)."""
        return [Reply((BlockRequest(block_hash),))] if self._is_request_due(block_hash) else []

    def _request_set_change(self) -> list[Outgoing]:
        """Peers are in a later authority set: ask for the justification that ended ours."""
        set_id = self.voter.voter_set.set_id
        return [Reply((SetChangeRequest(set_id),))] if self._is_request_due(b"set change %d" % set_id) else []

    def _on_set_change_request(self, set_id: int) -> list[Outgoing]:
        block_hash = self.chain.get_set_change(set_id)
        justification = None if block_hash is None else self.chain.get_justification(block_hash)
        return [] if justification is None else [Reply((CommitMessage(justification),))]

    def _request_wanted(self) -> list[Outgoing]:
        """Ask every peer again for the blocks votes named that we still lack."""
        out: list[Outgoing] = []
        for block_hash, since in list(self._wanted.items()):
            if self.chain.get_header(block_hash) is not None or self._now_ms - since > WANTED_TIMEOUT_MS:
                del self._wanted[block_hash]
                continue
            if self._is_request_due(block_hash):
                out.append(Broadcast(BlockRequest(block_hash)))
        return out

    def _on_block_request(self, block_hash: bytes) -> list[Outgoing]:
        found: list[bytes] = []
        cursor = block_hash
        while len(found) < MAX_BLOCKS_PER_RESPONSE:
            block = self.chain.blocks.get_block(cursor)
            if block is None or block.header.number == 0:
                break
            found.append(block.encode())
            cursor = block.header.parent_hash
        return [Reply(tuple(BlockAnnounce(data) for data in reversed(found)))] if found else []

    def _observe_header(self, header: Header) -> None:
        evidence = self._detector.observe(header)
        if evidence is not None:
            report = api.build_block_equivocation_report(evidence.first, evidence.second)
            self._add_report(report, api.OFFENCE_BLOCK_EQUIVOCATION, header.author)

    # --- finality -------------------------------------------------------------------------

    def _on_vote(self, vote: SignedFinalityVote) -> list[Outgoing]:
        """Count a vote and gossip it on once, so that every voter sees every vote (and so both
        halves of an equivocation)."""
        encoded = vote.encode()
        if encoded in self._seen_votes:
            return []
        if vote.vote.set_id > self.voter.voter_set.set_id:
            return self._request_set_change()
        try:
            actions = self.voter.on_vote(vote, self._now_ms, self._tree())
        except FlockError:
            return []
        self._remember_vote(encoded, vote.vote.round)
        out: list[Outgoing] = [Broadcast(VoteMessage(vote)), *self._voter_actions(actions)]
        if self.chain.get_header(vote.vote.target_hash) is None:
            # The voter holds the vote until it can place it: fetch what it voted for, from the
            # sender now and from every peer on later ticks until it arrives.
            self._wanted.setdefault(vote.vote.target_hash, self._now_ms)
            out.extend(self._request(vote.vote.target_hash))
        return out

    def _remember_vote(self, encoded: bytes, round_number: int) -> None:
        self._seen_votes[encoded] = round_number
        if len(self._seen_votes) > MAX_SEEN_VOTES:
            oldest = self.voter.round_number - 2
            self._seen_votes = {vote: r for vote, r in self._seen_votes.items() if r >= oldest}

    def _on_commit(self, encoded: bytes) -> list[Outgoing]:
        try:
            justification = Justification.decode(encoded)
        except FlockError:
            return []
        if justification.set_id > self.voter.voter_set.set_id:
            return self._request_set_change()
        if justification.set_id != self.voter.voter_set.set_id:
            return []
        if not self.chain.is_unfinalized_tree_block(justification.target_hash):
            if self.chain.get_header(justification.target_hash) is None:
                return self._request(justification.target_hash)
            return []  # final already
        try:
            actions = self.voter.on_commit(justification, self._now_ms, self._tree())
        except FlockError:
            return []
        return self._voter_actions(actions)

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
                report = api.build_vote_equivocation_report(action.first, action.second)
                self._add_report(report, api.OFFENCE_VOTE_EQUIVOCATION, action.first.voter)
        return out

    def vote_messages(self, vote: SignedFinalityVote) -> list[Outgoing]:
        """How our vote leaves the node (a Byzantine test node overrides this)."""
        return [Broadcast(VoteMessage(vote))]

    def _finalize(self, action: Finalize) -> list[Outgoing]:
        if not self.chain.is_unfinalized_tree_block(action.hash) or action.hash == self.chain.finalized_hash:
            return []
        current_set = self.voter.voter_set.set_id
        ends_set = current_set if self._get_set_id(action.hash) != current_set else None
        self.chain.finalize(action.hash, action.justification.encode(), ends_set=ends_set)
        self._detector.prune(self.chain.finalized_header.slot)
        self._set_ids = {h: s for h, s in self._set_ids.items() if self.chain.is_unfinalized_tree_block(h)}
        if ends_set is not None:
            self.voter = self._start_voter(resume=False)
        return self._voter_actions(self.voter.on_block_imported(self._now_ms, self._tree()))

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

    def _add_report(self, encoded: bytes, kind: int, offender: bytes) -> None:
        """Keep an unsigned equivocation report for our next block (``offender``: the signing key)."""
        self.equivocations_seen.append((kind, offender))
        if len(self._reports) < MAX_PENDING_REPORTS:
            self._reports[encoded] = encoded

    def _drop_report(self, encoded: bytes) -> None:
        self._reports.pop(encoded, None)

    def _save_record(self, record: SigningRecord) -> None:
        batch = WriteBatch()
        batch.put(schema.SIGNING_RECORD, record.encode())
        self.chain.store.write(batch)
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
        for block_hash in reversed(route):  # lowest first: stop at the first set change
            if engine._get_set_id(block_hash) != set_id:
                target = block_hash
                break
        header = chain.get_header(target)
        assert header is not None
        return target, header.number

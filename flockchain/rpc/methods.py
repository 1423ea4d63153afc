"""The node's RPC methods, with Substrate's names and result shapes, over :class:`NodeApi`.

Substrate's conventions: byte strings and block numbers travel as lowercase ``0x`` hex (numbers
without leading zeros), an unknown block is ``null`` rather than an error, and a refused
transaction is error 1010 "Invalid Transaction" whose ``data`` says why. Headers carry our
extra fields (``slot``, ``timestamp``, ``author``, ``seal``) beside Substrate's.

The pool may hold more than one reply can carry, so ``author_pendingExtrinsics`` also pages
(as Substrate's ``state_getKeysPaged`` does: a count and the key to start after), and its
unpaged form is an error, not a giant reply, when the pool would not fit.
"""

from __future__ import annotations

import dataclasses
import heapq
import re
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple, TypeVar

from flockchain.rpc.api import NodeApi, NodeHealth, ProvableState
from flockchain.rpc.jsonrpc import (
    DEFAULT_MAX_REPLY_SIZE,
    InvalidParams,
    OversizedResponse,
    RpcError,
)
from runtime import api
from runtime.block import Block, DigestItem, Header, compute_extrinsic_hash
from runtime.errors import FlockError, InvalidKey, InvalidTransaction, MalformedTransaction
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.codec import encode_value

NODE_NAME = "flockchain"
INVALID_TRANSACTION = 1010  # Substrate's author error code for a transaction the pool refuses
KEYSTORE_ERROR = 5002  # Substrate's author error code for a keystore failure
SESSION_KEY_TYPES = ("babe", "gran")  # Substrate's key types; one ed25519 session key serves both
MAX_REMOVE_COUNT = 256
HASH_SIZE = 32
MAX_BLOCK_NUMBER = 2**32 - 1  # BlockNumber is a u32
MAX_PENDING_PAGE_SIZE = 256  # extrinsics in one page of author_pendingExtrinsics
REPLY_MARGIN = 256  # characters of a reply around its list of extrinsics: envelope, id, next key
PAGING_HINT = "; page with author_pendingExtrinsics(count, startKey)"

_HEX_BYTES = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_HEX_NUMBER = re.compile(r"0x[0-9a-fA-F]+")


def get_node_version() -> str:
    """The installed package's version (what ``system_version`` reports)."""
    try:
        return version("flockchain")
    except PackageNotFoundError:
        return "unknown"


# --- JSON shapes --------------------------------------------------------------------------


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def to_hex_number(value: int) -> str:
    """Substrate's number form: lowercase hex without leading zeros (``0x0`` for zero)."""
    return hex(value)


def encode_header_json(header: Header) -> dict[str, Any]:
    return {
        "parentHash": to_hex(header.parent_hash),
        "number": to_hex_number(header.number),
        "stateRoot": to_hex(header.state_root),
        "extrinsicsRoot": to_hex(header.extrinsics_root),
        "digest": {"logs": [to_hex(encode_value(DigestItem, item)) for item in header.digests]},
        "slot": to_hex_number(header.slot),
        "timestamp": to_hex_number(header.timestamp),
        "author": to_hex(header.author),
        "seal": to_hex(header.seal),
    }


GRANDPA_ENGINE_ID = "FRNK"  # Substrate's engine id for GRANDPA justifications


def encode_block_json(block: Block, justification: bytes | None = None) -> dict[str, Any]:
    """Substrate's ``SignedBlock``: ``justifications`` is ``[["FRNK", "0x<encoded
    runtime.block.Justification>"]]`` for a block finalized with a stored proof, else null."""
    return {
        "block": {
            "header": encode_header_json(block.header),
            "extrinsics": [to_hex(extrinsic) for extrinsic in block.extrinsics],
        },
        "justifications": None if justification is None else [[GRANDPA_ENGINE_ID, to_hex(justification)]],
    }


def get_health(node: NodeApi) -> NodeHealth:
    """The node's health as named fields, whatever tuple the node returned."""
    return NodeHealth._make(node.health())


def encode_health_json(health: NodeHealth) -> dict[str, Any]:
    return {"peers": health.peers, "isSyncing": health.is_syncing, "shouldHavePeers": health.should_have_peers}


def encode_proven_json(state: ProvableState, key: bytes, value: bytes | None) -> dict[str, Any]:
    """A storage entry with its proof: ``verify_proof(stateRoot, key, value, proof)`` checks it."""
    return {"key": to_hex(key), "value": None if value is None else to_hex(value), "proof": to_hex(state.prove(key))}


def to_camel_case(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def encode_record_json(value: Any) -> Any:
    """A runtime API answer as JSON: records as objects with camelCase keys, bytes as 0x hex,
    tuples as arrays; integers stay integers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            to_camel_case(field.name): encode_record_json(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, bytes):
        return to_hex(value)
    if isinstance(value, (tuple, list)):
        return [encode_record_json(item) for item in value]
    return value


T = TypeVar("T")


class ResolvedBlock(NamedTuple):
    """A block a read is made against: its hash, its header and its state with proofs."""

    hash: bytes
    header: Header
    state: ProvableState


def resolve_block(node: NodeApi, hash: Any) -> ResolvedBlock | None:
    """The block ``hash`` names (the best block when left out) and its state, or None when
    this node does not hold that block's state."""
    block_hash = parse_block_hash(hash)
    block_hash = node.best_hash() if block_hash is None else block_hash
    header = node.get_header(block_hash)
    state = None if header is None else node.provable_state(block_hash)
    return None if header is None or state is None else ResolvedBlock(block_hash, header, state)


def build_proven_answer(block: ResolvedBlock, read: Callable[[Any], T]) -> dict[str, Any]:
    """``read`` (a ``runtime.api`` function of a state) against ``block``, with a proof of
    every storage key it read: ``{"at", "stateRoot", "value", "storage": [{"key", "value",
    "proof"}]}``. A client checks each entry against ``stateRoot`` and runs the same read over
    the proven values to get ``value`` (a listing read from its pallet's index is then proven
    complete)."""
    answer, keys = api.record_reads(block.state, read)  # type: ignore[arg-type]
    return {
        "at": to_hex(block.hash),
        "stateRoot": to_hex(block.header.state_root),
        "value": encode_record_json(answer),
        "storage": [encode_proven_json(block.state, key, block.state.get(key)) for key in keys],
    }


def encode_proposal_json(proposal: api.ProposalView, state: ProvableState) -> dict[str, Any]:
    return {
        "id": proposal.id,
        "proposer": encode_address(proposal.proposer),
        "call": to_hex(proposal.call),
        "callName": proposal.call_name,
        "descriptionHash": to_hex(proposal.description_hash),
        "stake": proposal.stake,
        "submittedAt": proposal.submitted_at,
        "status": proposal.status,
        "deadline": proposal.deadline,
        "flagWeight": proposal.flag_weight,
        "aye": proposal.aye,
        "nay": proposal.nay,
        "abstain": proposal.abstain,
        "storage": encode_proven_json(state, proposal.storage_key, state.get(proposal.storage_key)),
    }


def encode_proposals_json(block_hash: bytes, header: Header, state: ProvableState) -> dict[str, Any]:
    """The open proposals after a block, each with the proof of its storage entry; the index of
    open proposal ids with its proof (so a client checks that the list is complete), and the
    governance parameters and next proposal id with theirs (ids below it that are not open are
    decided)."""
    keys = api.GOVERNANCE_KEYS
    next_id, open_ids = state.get(keys.next_proposal_id), state.get(keys.open_proposal_ids)
    return {
        "at": to_hex(block_hash),
        "stateRoot": to_hex(header.state_root),
        "parameters": encode_proven_json(state, keys.parameters, state.get(keys.parameters)),
        "nextProposalId": {
            "value": api.decode_next_proposal_id(next_id),
            "storage": encode_proven_json(state, keys.next_proposal_id, next_id),
        },
        "openProposalIds": {
            "value": list(api.decode_open_proposal_ids(open_ids)),
            "storage": encode_proven_json(state, keys.open_proposal_ids, open_ids),
        },
        "proposals": [encode_proposal_json(proposal, state) for proposal in api.get_open_proposals(state)],
    }


def encode_runtime_version_json() -> dict[str, Any]:
    """Substrate's ``RuntimeVersion``. Ours names the node as the implementation, versions
    only the spec and the transaction format, and lists no runtime API ids (its APIs are the
    functions of ``runtime/api.py``)."""
    version = api.get_runtime_version()
    return {
        "specName": version.spec_name,
        "implName": NODE_NAME,
        "authoringVersion": 0,
        "specVersion": version.spec_version,
        "implVersion": 0,
        "apis": [],
        "transactionVersion": version.transaction_version,
    }


def encode_fee_info_json(info: api.FeeInfo) -> dict[str, Any]:
    """Substrate's ``RuntimeDispatchInfo``: one-dimensional weight (as before Substrate's
    ``Weight`` v2), and the fee as a decimal string, as Substrate sends balances."""
    return {"weight": info.weight, "class": info.dispatch_class, "partialFee": str(info.partial_fee)}


# --- parameters ---------------------------------------------------------------------------


def parse_hex_bytes(value: Any, what: str) -> bytes:
    """Bytes from a ``0x`` hex string (either case); raises InvalidParams."""
    if not isinstance(value, str) or not _HEX_BYTES.fullmatch(value):
        raise InvalidParams(f"{what} must be a 0x-prefixed hex string of whole bytes")
    return bytes.fromhex(value[2:])


def parse_hash(value: Any, what: str) -> bytes | None:
    """A 32-byte hash, or None when the caller left it out."""
    if value is None:
        return None
    parsed = parse_hex_bytes(value, what)
    if len(parsed) != HASH_SIZE:
        raise InvalidParams(f"{what} must be {HASH_SIZE} bytes")
    return parsed


def parse_required_hash(value: Any, what: str) -> bytes:
    """32 bytes of hex that may not be left out."""
    if value is None:
        raise InvalidParams(f"{what} must be {HASH_SIZE} bytes of 0x hex, not null")
    return parse_hash(value, what)  # type: ignore[return-value]


def parse_block_hash(value: Any) -> bytes | None:
    """A 32-byte block hash, or None when the caller left it out (meaning the best block)."""
    return parse_hash(value, "block hash")


def parse_page_count(value: Any) -> int:
    """How many extrinsics a page may hold: 1 to MAX_PENDING_PAGE_SIZE, that many when left out."""
    if value is None:
        return MAX_PENDING_PAGE_SIZE
    if type(value) is not int or not 1 <= value <= MAX_PENDING_PAGE_SIZE:
        raise InvalidParams(f"count must be an integer in 1..{MAX_PENDING_PAGE_SIZE}")
    return value


def parse_account(value: Any) -> bytes:
    """An account id written as SS58 (any network prefix: it names the same key) or 0x-hex."""
    if not isinstance(value, str):
        raise InvalidParams("account must be an SS58 address or 0x-hex string")
    try:
        return decode_address(value, prefix=None)
    except InvalidKey as error:
        raise InvalidParams(str(error)) from None


def parse_extrinsics_or_hashes(value: Any) -> list[bytes]:
    """Substrate's ``Vec<ExtrinsicOrHash>``: each ``{"hash": h}`` or ``{"extrinsic": x}``, as hashes."""
    if not isinstance(value, list) or len(value) > MAX_REMOVE_COUNT:
        raise InvalidParams(f'bytesOrHash must be an array of at most {MAX_REMOVE_COUNT} {{"hash"}} or {{"extrinsic"}}')
    hashes = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or len(item) != 1 or not {"hash", "extrinsic"} >= item.keys():
            raise InvalidParams(f'bytesOrHash[{index}] must be {{"hash": "0x…"}} or {{"extrinsic": "0x…"}}')
        if "hash" in item:
            hashes.append(parse_required_hash(item["hash"], f"bytesOrHash[{index}].hash"))
        else:
            hashes.append(compute_extrinsic_hash(parse_hex_bytes(item["extrinsic"], f"bytesOrHash[{index}].extrinsic")))
    return hashes


def parse_block_number(value: Any) -> int | None:
    """A block number given as a JSON integer or a ``0x`` hex string; None when left out."""
    if value is None:
        return None
    if isinstance(value, str) and _HEX_NUMBER.fullmatch(value):
        value = int(value, 16)
    if type(value) is not int or not 0 <= value <= MAX_BLOCK_NUMBER:
        raise InvalidParams(f"block number must be an integer or hex string in 0..{MAX_BLOCK_NUMBER}")
    return value


# --- the pool, page by page ---------------------------------------------------------------


def compute_hex_item_size(item: bytes) -> int:
    """Characters of ``item`` in a JSON array of hex strings: ``"0x…",``."""
    return 2 * len(item) + len('"0x",')


def compute_hex_list_size(items: list[bytes]) -> int:
    """Characters of the JSON array of ``items`` as hex strings, without building it."""
    return len("[]") + sum(map(compute_hex_item_size, items))


class PendingIndex:
    """The pool's extrinsics by hash, paged out in hash order.

    A page starts after the last hash of the one before, so an extrinsic pending throughout is
    paged out exactly once, whatever enters or leaves the pool meanwhile. Hashing is what a page
    costs, so the hashes of extrinsics still pending are kept from one call to the next (the pool
    hands back the same bytes objects, and a bytes object hashes itself for a dict only once).
    """

    def __init__(self) -> None:
        self._hashes: dict[bytes, bytes] = {}

    def get_page(
        self, pending: list[bytes], start_key: bytes | None, count: int, max_size: int
    ) -> tuple[list[bytes], bytes | None]:
        """Up to ``count`` extrinsics hashed above ``start_key``, in hash order, as many as fit
        ``max_size`` characters as a hex list (at least one); and the hash to start the next
        page after, None after the last."""
        known = self._hashes
        self._hashes = {encoded: known.get(encoded) or compute_extrinsic_hash(encoded) for encoded in pending}
        later = [
            (tx_hash, encoded) for encoded, tx_hash in self._hashes.items() if start_key is None or tx_hash > start_key
        ]
        page: list[tuple[bytes, bytes]] = []
        size = compute_hex_list_size([])
        for tx_hash, encoded in heapq.nsmallest(count, later):
            size += compute_hex_item_size(encoded)
            if page and size > max_size:
                break
            page.append((tx_hash, encoded))
        next_key = page[-1][0] if len(page) < len(later) else None
        return [encoded for _, encoded in page], next_key


# --- methods ------------------------------------------------------------------------------


class NodeMethods:
    """One async handler per RPC method; parameter names follow Substrate's."""

    def __init__(self, node: NodeApi, *, max_reply_size: int = DEFAULT_MAX_REPLY_SIZE) -> None:
        self._api = node
        self._max_reply_size = max_reply_size
        self._pending_index = PendingIndex()

    def _resolve_hash(self, hash: Any) -> bytes:
        block_hash = parse_block_hash(hash)
        return self._api.best_hash() if block_hash is None else block_hash

    async def chain_get_header(self, hash: Any = None) -> dict[str, Any] | None:
        """The header of block ``hash`` (left out: the best block), or null for an unknown block."""
        header = self._api.get_header(self._resolve_hash(hash))
        return None if header is None else encode_header_json(header)

    async def chain_get_block(self, hash: Any = None) -> dict[str, Any] | None:
        """``{"block": {"header", "extrinsics"}, "justifications"}`` of block ``hash`` (left out:
        the best), or null; ``justifications`` is ``[["FRNK", "0x<Justification>"]]`` for a block
        finalized with a stored proof, else null."""
        block = self._api.get_block(self._resolve_hash(hash))
        return None if block is None else encode_block_json(block, self._api.get_justification(block.hash))

    async def chain_get_block_hash(self, number: Any = None) -> str | None:
        """The hash of the best chain's block at height ``number`` (integer or hex; left out: the
        best block), or null above the head."""
        block_number = parse_block_number(number)
        if block_number is None:
            return to_hex(self._api.best_hash())
        block_hash = self._api.get_canonical_hash(block_number)
        return None if block_hash is None else to_hex(block_hash)

    async def chain_get_finalized_head(self) -> str:
        """The hash of the last finalized block."""
        return to_hex(self._api.finalized_hash())

    async def author_submit_extrinsic(self, extrinsic: Any) -> str:
        """Validate and pool an encoded extrinsic; its hash. A refusal is error 1010 whose data
        says why."""
        encoded = parse_hex_bytes(extrinsic, "extrinsic")
        try:
            return to_hex(await self._api.submit_extrinsic(encoded))
        except InvalidTransaction as error:
            raise RpcError(INVALID_TRANSACTION, "Invalid Transaction", describe_invalid_transaction(error)) from None

    async def author_pending_extrinsics(self, count: Any = None, startKey: Any = None) -> Any:
        """Without params, Substrate's list of every pooled extrinsic (an error when it would not
        fit one reply); with either, ``{"extrinsics": [...], "nextKey": "0x…" | null}``: up to
        ``count`` extrinsics whose hashes follow ``startKey``, and the key of the next page."""
        pending = self._api.pending_extrinsics()
        max_list_size = self._max_reply_size - REPLY_MARGIN
        if count is None and startKey is None:
            if compute_hex_list_size(pending) > max_list_size:
                raise OversizedResponse(self._max_reply_size, PAGING_HINT)
            return [to_hex(extrinsic) for extrinsic in pending]
        page_count, start_key = parse_page_count(count), parse_hash(startKey, "startKey")
        page, next_key = self._pending_index.get_page(pending, start_key, page_count, max_list_size)
        return {"extrinsics": [to_hex(extrinsic) for extrinsic in page], "nextKey": next_key and to_hex(next_key)}

    async def system_account_next_index(self, account: Any) -> int:
        """The nonce ``account``'s (SS58 or 0x hex) next transaction must carry, pool included."""
        return self._api.account_next_index(parse_account(account))

    async def system_health(self) -> dict[str, Any]:
        """``{"peers", "isSyncing", "shouldHavePeers"}``."""
        return encode_health_json(get_health(self._api))

    async def system_chain(self) -> str:
        """The chain spec's name."""
        return self._api.chain_name

    async def system_name(self) -> str:
        """``"flockchain"``."""
        return NODE_NAME

    async def system_version(self) -> str:
        """The installed package's version."""
        return get_node_version()

    async def system_properties(self) -> dict[str, Any]:
        """The chain spec's properties (token symbol and decimals, SS58 prefix)."""
        return dict(self._api.properties)

    async def system_chain_type(self) -> str:
        """The chain spec's type: ``"Development"``, ``"Local"`` or ``"Live"``."""
        return self._api.chain_type

    async def system_node_roles(self) -> list[str]:
        """``["Authority"]`` for a node that authors blocks, else ``["Full"]``."""
        return self._api.node_roles()

    async def system_local_peer_id(self) -> str | None:
        """The node's libp2p peer id (base58); null while the node has no network (a dev node)."""
        return self._api.local_peer_id()

    async def system_peers(self) -> list[dict[str, Any]]:
        """``[{"peerId", "roles", "bestHash", "bestNumber"}]``: the connected peers (none on a
        dev node, which has no network)."""
        return [
            {
                "peerId": peer.peer_id,
                "roles": peer.roles,
                "bestHash": to_hex(peer.best_hash),
                "bestNumber": peer.best_number,
            }
            for peer in self._api.peers()
        ]

    async def system_sync_state(self) -> dict[str, int]:
        """``{"startingBlock", "currentBlock", "highestBlock"}`` (block numbers); a node without
        peers is at its own best block."""
        sync = self._api.sync_state()
        return {
            "startingBlock": sync.starting_block,
            "currentBlock": sync.current_block,
            "highestBlock": sync.highest_block,
        }

    async def author_remove_extrinsic(self, bytesOrHash: Any) -> list[str]:
        """Take transactions out of the pool, named ``[{"hash": "0x…"} | {"extrinsic": "0x…"}, ...]``
        (at most 256); the hashes of those that were in it."""
        hashes = parse_extrinsics_or_hashes(bytesOrHash)
        return [to_hex(tx_hash) for tx_hash in self._api.remove_extrinsics(hashes)]

    async def author_rotate_keys(self) -> str:
        """Generate new session keys into the node's keystore and answer their public keys as
        ``session.set_keys`` takes them: the 32-byte signing key then the 32-byte VRF key."""
        try:
            return to_hex(self._api.rotate_keys())
        except FlockError as error:
            raise RpcError(KEYSTORE_ERROR, "Keystore operation failed", str(error)) from None

    async def author_has_key(self, publicKey: Any, keyType: Any) -> bool:
        """Whether the node's keystore holds the secret of ``publicKey`` (32 bytes of hex) as a
        ``keyType`` key: ``"babe"`` (block authoring) or ``"gran"`` (finality votes), one ed25519
        key for both here."""
        public_key = parse_required_hash(publicKey, "publicKey")
        if keyType not in SESSION_KEY_TYPES:
            raise InvalidParams(f"keyType must be one of {', '.join(SESSION_KEY_TYPES)}")
        return self._api.has_key(public_key, keyType)

    async def state_get_metadata(self, hash: Any = None) -> dict[str, Any] | None:
        """The runtime's metadata as a JSON document (``docs/metadata.md``); null for an unknown block."""
        return None if self._api.get_header(self._resolve_hash(hash)) is None else api.get_metadata()

    async def state_get_runtime_version(self, hash: Any = None) -> dict[str, Any] | None:
        """``{"specName", "implName", "authoringVersion", "specVersion", "implVersion", "apis",
        "transactionVersion"}`` at block ``hash``, or null for an unknown block."""
        return None if self._api.get_header(self._resolve_hash(hash)) is None else encode_runtime_version_json()

    async def payment_query_info(self, extrinsic: Any, hash: Any = None) -> dict[str, Any] | None:
        """``{"weight", "class", "partialFee"}``: what an encoded extrinsic would pay after block
        ``hash`` (tip excluded; the fee a decimal string); null for a block whose state this node
        does not hold."""
        encoded = parse_hex_bytes(extrinsic, "extrinsic")
        state = self._api.provable_state(self._resolve_hash(hash))
        if state is None:
            return None
        try:
            return encode_fee_info_json(api.compute_fee_info(state, encoded))  # type: ignore[arg-type]
        except MalformedTransaction as error:
            raise InvalidParams(str(error)) from None

    async def flock_proposals(self, hash: Any = None) -> dict[str, Any] | None:
        """The open governance proposals after block ``hash``, each with its storage entry and
        state proof, and the index of open proposal ids with its proof (``docs/governance.md``);
        null for a block whose state this node cannot prove."""
        block_hash = self._resolve_hash(hash)
        header = self._api.get_header(block_hash)
        state = self._api.provable_state(block_hash)
        if header is None or state is None:
            return None
        return encode_proposals_json(block_hash, header, state)


def describe_invalid_transaction(error: InvalidTransaction) -> str:
    """The reason a client sees: the error's message, or its class's one-line description."""
    return str(error) or (type(error).__doc__ or type(error).__name__).strip().splitlines()[0]

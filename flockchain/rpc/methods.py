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

import heapq
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flockchain.rpc.api import NodeApi, NodeHealth, ProvableState
from flockchain.rpc.jsonrpc import (
    DEFAULT_COST,
    DEFAULT_MAX_BATCH_COST,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_REPLY_SIZE,
    Dispatcher,
    InvalidParams,
    OversizedResponse,
    RpcError,
)
from runtime import api
from runtime.block import Block, DigestItem, Header, compute_extrinsic_hash
from runtime.errors import InvalidKey, InvalidTransaction, MalformedTransaction
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.codec import encode_value

NODE_NAME = "flockchain"
INVALID_TRANSACTION = 1010  # Substrate's author error code for a transaction the pool refuses
HASH_SIZE = 32
MAX_BLOCK_NUMBER = 2**32 - 1  # BlockNumber is a u32
MAX_PENDING_PAGE_SIZE = 256  # extrinsics in one page of author_pendingExtrinsics
REPLY_MARGIN = 256  # characters of a reply around its list of extrinsics: envelope, id, next key
PAGING_HINT = "; page with author_pendingExtrinsics(count, startKey)"

# What one call counts against a batch's budget (the dispatcher's max_batch_cost); DEFAULT_COST
# if unlisted.
METHOD_COSTS = {
    "author_pendingExtrinsics": 100,  # up to a whole reply's worth of the pool
    "chain_getBlock": 10,  # up to a full block
    "flock_proposals": 10,  # every open proposal with its proof
    "state_getMetadata": 10,  # the whole document
}

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
        header = self._api.get_header(self._resolve_hash(hash))
        return None if header is None else encode_header_json(header)

    async def chain_get_block(self, hash: Any = None) -> dict[str, Any] | None:
        block = self._api.get_block(self._resolve_hash(hash))
        return None if block is None else encode_block_json(block, self._api.get_justification(block.hash))

    async def chain_get_block_hash(self, number: Any = None) -> str | None:
        block_number = parse_block_number(number)
        if block_number is None:
            return to_hex(self._api.best_hash())
        block_hash = self._api.get_canonical_hash(block_number)
        return None if block_hash is None else to_hex(block_hash)

    async def chain_get_finalized_head(self) -> str:
        return to_hex(self._api.finalized_hash())

    async def author_submit_extrinsic(self, extrinsic: Any) -> str:
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
        return self._api.account_next_index(parse_account(account))

    async def system_health(self) -> dict[str, Any]:
        return encode_health_json(get_health(self._api))

    async def system_chain(self) -> str:
        return self._api.chain_name

    async def system_name(self) -> str:
        return NODE_NAME

    async def system_version(self) -> str:
        return get_node_version()

    async def system_properties(self) -> dict[str, Any]:
        return dict(self._api.properties)

    async def state_get_metadata(self, hash: Any = None) -> dict[str, Any] | None:
        """The runtime's metadata document (``docs/metadata.md``); null for an unknown block."""
        return None if self._api.get_header(self._resolve_hash(hash)) is None else api.get_metadata()

    async def state_get_runtime_version(self, hash: Any = None) -> dict[str, Any] | None:
        return None if self._api.get_header(self._resolve_hash(hash)) is None else encode_runtime_version_json()

    async def payment_query_info(self, extrinsic: Any, hash: Any = None) -> dict[str, Any] | None:
        """What an extrinsic would pay after a block (tip excluded); null for a block whose
        state this node does not hold."""
        encoded = parse_hex_bytes(extrinsic, "extrinsic")
        state = self._api.provable_state(self._resolve_hash(hash))
        if state is None:
            return None
        try:
            return encode_fee_info_json(api.compute_fee_info(state, encoded))  # type: ignore[arg-type]
        except MalformedTransaction as error:
            raise InvalidParams(str(error)) from None

    async def flock_proposals(self, hash: Any = None) -> dict[str, Any] | None:
        """Open governance proposals after a block, with state proofs; null for a block whose
        state this node cannot prove."""
        block_hash = self._resolve_hash(hash)
        header = self._api.get_header(block_hash)
        state = self._api.provable_state(block_hash)
        if header is None or state is None:
            return None
        return encode_proposals_json(block_hash, header, state)


def describe_invalid_transaction(error: InvalidTransaction) -> str:
    """The reason a client sees: the error's message, or its class's one-line description."""
    return str(error) or (type(error).__doc__ or type(error).__name__).strip().splitlines()[0]


def register_node_methods(dispatcher: Dispatcher, node: NodeApi) -> None:
    """Register every chain, author and system method with its cost, and ``rpc_methods``
    listing them all."""
    methods = NodeMethods(node, max_reply_size=dispatcher.max_reply_size)
    table = {
        "chain_getHeader": methods.chain_get_header,
        "chain_getBlock": methods.chain_get_block,
        "chain_getBlockHash": methods.chain_get_block_hash,
        "chain_getFinalizedHead": methods.chain_get_finalized_head,
        "author_submitExtrinsic": methods.author_submit_extrinsic,
        "author_pendingExtrinsics": methods.author_pending_extrinsics,
        "system_accountNextIndex": methods.system_account_next_index,
        "system_health": methods.system_health,
        "system_chain": methods.system_chain,
        "system_name": methods.system_name,
        "system_version": methods.system_version,
        "system_properties": methods.system_properties,
        "state_getMetadata": methods.state_get_metadata,
        "state_getRuntimeVersion": methods.state_get_runtime_version,
        "payment_queryInfo": methods.payment_query_info,
        "flock_proposals": methods.flock_proposals,
    }
    for name, handler in table.items():
        dispatcher.register(name, handler, cost=METHOD_COSTS.get(name, DEFAULT_COST))
    register_rpc_methods(dispatcher)


def register_rpc_methods(dispatcher: Dispatcher) -> None:
    """``rpc_methods`` reads the registry when called, so methods added later are listed too."""

    async def rpc_methods() -> dict[str, list[str]]:
        return {"methods": dispatcher.method_names}

    dispatcher.register("rpc_methods", rpc_methods)


def build_dispatcher(
    node: NodeApi,
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    max_batch_cost: int = DEFAULT_MAX_BATCH_COST,
    max_reply_size: int = DEFAULT_MAX_REPLY_SIZE,
) -> Dispatcher:
    dispatcher = Dispatcher(max_batch_size=max_batch_size, max_batch_cost=max_batch_cost, max_reply_size=max_reply_size)
    register_node_methods(dispatcher, node)
    return dispatcher

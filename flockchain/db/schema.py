"""Every database key the node writes, built here and nowhere else.

The store is one flat ordered keyspace. Each kind of record owns a one-byte namespace prefix;
no prefix is a prefix of another (checked at import), so a prefix scan of one namespace never
sees another's keys. Integers inside keys are fixed-width big-endian, so byte order is numeric
order and range scans by version or height work.

Namespaces::

    0x01-0x0f  authenticated state (flockchain.state)
        0x01 STATE_NODE   version u64 | depth u16 | path prefix  -> tree node record
        0x02 STATE_STALE  stale_since u64                         -> node keys it replaced
        0x03 STATE_ROOT   version u64                              -> root record
        0x04 STATE_META   name                                     -> u64 (latest, pruned-below, format)
    0x10-0x1f  chain store (blocks, headers, canonical index, head/finalized pointers)
"""

import struct
from collections.abc import Iterable

from flockchain.errors import CorruptDatabase

U64 = 8
U16 = 2

# --- authenticated state -------------------------------------------------------------------

STATE_NODE = b"\x01"
STATE_STALE = b"\x02"
STATE_ROOT = b"\x03"
STATE_META = b"\x04"

STATE_LATEST_VERSION = STATE_META + b"latest-version"
STATE_PRUNED_BELOW = STATE_META + b"pruned-below"
STATE_FORMAT = STATE_META + b"format"  # the tree's layout version; absent in stores of format 1

# --- chain store (0x10-0x1f) -----------------------------------------------------------------
#   0x10 CHAIN_HEADER         block hash -> encoded header
#   0x11 CHAIN_BODY           block hash -> encoded extrinsics list
#   0x12 CHAIN_CANONICAL      number u64 -> block hash (the canonical chain)
#   0x13 CHAIN_STATE_VERSION  block hash -> state version u64 of the block's post-state
#   0x14 CHAIN_META           name       -> block hash (head, finalized, genesis)
#   0x15 CHAIN_DELTA          block hash -> state delta of an unfinalized block (changes, undo)
#   0x16 CHAIN_JUSTIFICATION  block hash -> the finality proof of a finalized block
#   0x17 CONSENSUS_META       name       -> the node's signing record (slashing protection)
#   0x18 CHAIN_SET_CHANGE     set id u64 -> the finalized block that ended that authority set

CHAIN_HEADER = b"\x10"
CHAIN_BODY = b"\x11"
CHAIN_CANONICAL = b"\x12"
CHAIN_STATE_VERSION = b"\x13"
CHAIN_META = b"\x14"
CHAIN_DELTA = b"\x15"
CHAIN_JUSTIFICATION = b"\x16"
CONSENSUS_META = b"\x17"
SIGNING_RECORD = CONSENSUS_META + b"signing-record"
CHAIN_SET_CHANGE = b"\x18"

CHAIN_HEAD = CHAIN_META + b"head"
CHAIN_FINALIZED = CHAIN_META + b"finalized"
CHAIN_GENESIS = CHAIN_META + b"genesis"


def header_key(block_hash: bytes) -> bytes:
    return CHAIN_HEADER + block_hash


def body_key(block_hash: bytes) -> bytes:
    return CHAIN_BODY + block_hash


def canonical_key(number: int) -> bytes:
    return CHAIN_CANONICAL + encode_u64(number)


def block_state_version_key(block_hash: bytes) -> bytes:
    return CHAIN_STATE_VERSION + block_hash


def block_delta_key(block_hash: bytes) -> bytes:
    return CHAIN_DELTA + block_hash


def justification_key(block_hash: bytes) -> bytes:
    return CHAIN_JUSTIFICATION + block_hash


def set_change_key(set_id: int) -> bytes:
    return CHAIN_SET_CHANGE + encode_u64(set_id)


_ALL_PREFIXES = (
    STATE_NODE,
    STATE_STALE,
    STATE_ROOT,
    STATE_META,
    CHAIN_HEADER,
    CHAIN_BODY,
    CHAIN_CANONICAL,
    CHAIN_STATE_VERSION,
    CHAIN_META,
    CHAIN_DELTA,
    CHAIN_JUSTIFICATION,
    CONSENSUS_META,
    CHAIN_SET_CHANGE,
)


def _check_prefixes(prefixes: tuple[bytes, ...]) -> None:
    for a in prefixes:
        for b in prefixes:
            if a is not b and b.startswith(a):
                raise AssertionError(f"key prefix {a!r} is a prefix of {b!r}")


_check_prefixes(_ALL_PREFIXES)


def encode_u64(value: int) -> bytes:
    """Fixed-width big-endian, so that keys sort numerically."""
    return value.to_bytes(U64, "big")


def decode_u64(data: bytes) -> int:
    """Inverse of :func:`encode_u64`; a wrong length means the database is corrupt."""
    if len(data) != U64:
        raise CorruptDatabase(f"expected an 8-byte integer, found {len(data)} bytes")
    return int.from_bytes(data, "big")


_NODE_KEY_HEAD = struct.Struct(">BQH")  # STATE_NODE, version, depth
_STALE_KEY_HEAD = struct.Struct(">BQ")  # STATE_STALE, stale_since

# Per depth: the bytes of path a node key keeps, and the shift that brings them to the low end
# (tables: a commit builds thousands of node keys).
NODE_KEY_PATH_LAYOUT = tuple((256 - (((depth + 7) >> 3) << 3), (depth + 7) >> 3) for depth in range(257))
_NODE_KEY_PATH_MASKS = tuple(((1 << depth) - 1) << (256 - depth) for depth in range(257))


def state_node_key(version: int, depth: int, path: int) -> bytes:
    """Key of the tree node written at ``version`` at position (``depth``, ``path``'s prefix).

    Keys are positional (Jellyfish-style), not content hashes: every node has exactly one key,
    so pruning can delete precisely the nodes a version replaced, and all nodes of a version
    share the key prefix :func:`state_node_version_prefix` so a revert can range-delete them.
    ``path`` is any 256-bit path inside the node's subtree; only its first ``depth`` bits are
    kept, left-aligned in ``ceil(depth / 8)`` bytes.
    """
    shift, size = NODE_KEY_PATH_LAYOUT[depth]
    prefix = (path & _NODE_KEY_PATH_MASKS[depth]) >> shift
    return _NODE_KEY_HEAD.pack(STATE_NODE[0], version, depth) + prefix.to_bytes(size, "big")


def state_node_key_heads(version: int) -> tuple[bytes, ...]:
    """The key of every node written at ``version`` is ``heads[depth]`` followed by, with
    ``(shift, size) = NODE_KEY_PATH_LAYOUT[depth]``, ``(path >> shift).to_bytes(size, "big")``
    for a ``path`` with no bit set past ``depth``: what :func:`state_node_key` returns, for a
    commit that writes thousands of keys of one version."""
    return tuple(_NODE_KEY_HEAD.pack(STATE_NODE[0], version, depth) for depth in range(257))


def state_node_version_prefix(version: int) -> bytes:
    """The first key of the nodes written at ``version`` (those of later versions sort after)."""
    return STATE_NODE + encode_u64(version)


def state_stale_key(stale_since: int) -> bytes:
    """Pruning index entry of version ``stale_since``: it lists every node that version
    replaced (one record per version, not per node, halves a commit's writes)."""
    return _STALE_KEY_HEAD.pack(STATE_STALE[0], stale_since)


def state_stale_since_prefix(stale_since: int) -> bytes:
    """The first stale index key for nodes replaced at ``stale_since`` or later."""
    return STATE_STALE + encode_u64(stale_since)


def parse_state_stale_key(key: bytes) -> int:
    """The ``stale_since`` version a stale index key names."""
    if not key.startswith(STATE_STALE) or len(key) != 1 + U64:
        raise CorruptDatabase(f"malformed stale index key {key.hex()}")
    return int.from_bytes(key[1:], "big")


_LENGTH_BYTES = tuple(bytes([length]) for length in range(256))


def encode_node_key_list(positions: Iterable[tuple[int, int, int]]) -> bytes:
    """The keys of the nodes at ``(version, depth, path)`` positions (:func:`state_node_key`,
    built inline: a commit lists thousands), each preceded by its length byte."""
    head, layout, kind = _NODE_KEY_HEAD.pack, _LISTED_NODE_KEY_LAYOUT, STATE_NODE[0]
    parts = []
    for version, depth, path in positions:
        length, mask, shift, size = layout[depth]
        parts.append(length + head(kind, version, depth) + ((path & mask) >> shift).to_bytes(size, "big"))
    return b"".join(parts)


# Per depth, for encode_node_key_list: the key's length byte, then state_node_key's mask, shift
# and path size.
_LISTED_NODE_KEY_LAYOUT = tuple(
    (_LENGTH_BYTES[_NODE_KEY_HEAD.size + size], _NODE_KEY_PATH_MASKS[depth], shift, size)
    for depth, (shift, size) in enumerate(NODE_KEY_PATH_LAYOUT)
)


def decode_node_key_list(data: bytes) -> list[bytes]:
    """The node keys :func:`encode_node_key_list` lists; anything else means a corrupt database."""
    keys, position = [], 0
    while position < len(data):
        end = position + 1 + data[position]
        key = data[position + 1 : end]
        if end > len(data) or not key.startswith(STATE_NODE):
            raise CorruptDatabase("malformed stale node list")
        keys.append(key)
        position = end
    return keys


def state_root_key(version: int) -> bytes:
    """Key of the root record of ``version``."""
    return STATE_ROOT + encode_u64(version)


def parse_state_root_key(key: bytes) -> int:
    """The version a root record key names."""
    if not key.startswith(STATE_ROOT):
        raise CorruptDatabase(f"not a state root key: {key.hex()}")
    return decode_u64(key[1:])

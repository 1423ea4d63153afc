"""Chain specs: load, validate, build the genesis state and compute the genesis block.

A chain spec is JSON modelled on Substrate's (``docs/chain-spec.md`` describes every field)::

    {"name", "id", "chainType", "bootNodes", "properties",
     "genesis": {"runtime": {<pallet>: <section>, ...}}}

Each runtime section is exactly what that pallet's ``build_genesis`` reads, and every pallet's
section is required with every field: a spec that silently fell back on code defaults would
change its genesis hash whenever a default changed. The sections a spec must hold are taken
from the runtime itself (``export_genesis`` of the empty state), so a new pallet needs no
change here, only its section in the shipped specs.

Validation parses rather than checks: :func:`validate` turns a JSON value into a
:class:`ChainSpec` or raises one :class:`GenesisError` naming the offending field, and it
builds the genesis state, so a spec that validates always builds.

A spec is a file anyone may hand the node, so nothing in it may raise anything but a
:class:`GenesisError`: the text is bounded (size, nesting, integer length) before it is parsed
(``genesis.strict_json``), and every value is checked for shape and range before the runtime
builds from it.

A *raw* spec (``chain-spec build --raw``) adds ``genesis.raw.top`` (the storage, hex key to
hex value, as Substrate writes it) and a top-level ``genesisHash``. Both are optional on load,
and when present they must equal what the runtime section builds: a pinned hash catches a
spec, or a runtime, that drifted. The storage is checked here; the hash is kept
(``ChainSpec.pinned_genesis_hash``) and checked by the node, which alone computes state roots
(``flockchain/chain/genesis.py``): chain specs are data, and this package imports nothing from
the node.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from genesis.dev_accounts import DevKeyError, check_dev_key_allowed, is_dev_chain_type
from genesis.strict_json import JsonInputError, parse_json, read_bounded_text
from runtime.abc import EmptyState, StateReader
from runtime.accounts import EMISSION_RESERVE_ACCOUNT, TOTAL_SUPPLY
from runtime.construct import construct_runtime
from runtime.errors import FlockError, InvalidKey
from runtime.framework.storage import Overlay
from runtime.primitives import vrf
from runtime.primitives.address import GENERIC_SS58_PREFIX, decode_address, encode_address
from runtime.primitives.arithmetic import PERBILL_ACCURACY
from runtime.primitives.hashing import HASH_SIZE
from runtime.primitives.keys import Keypair, is_valid_public_key

SHIPPED_SPECS = ("dev", "local")
CHAIN_TYPES = ("Development", "Local", "Live")
TOKEN_DECIMALS = 9  # fixed by the runtime: 1 FLOCK = 10^9 base units (runtime.accounts.FLOCK)
U64_MAX = (1 << 64) - 1
# Far above any real spec (a raw spec of 10,000 accounts is about 3 MiB; a spec nests 6 deep),
# far below what would exhaust the parser.
MAX_CHAIN_SPEC_SIZE = 16 * 1024 * 1024
MAX_CHAIN_SPEC_DEPTH = 16

_TOP_LEVEL_FIELDS = ("name", "id", "chainType", "bootNodes", "properties", "genesis")
_PROPERTY_FIELDS = ("tokenSymbol", "tokenDecimals", "ss58Format")
# The chain id names the database directory (``chains/<id>/db``): no path tricks.
_CHAIN_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# Lone surrogates are not Unicode: no file can hold them, and printing one raises.
_SURROGATE = re.compile("[\ud800-\udfff]")


class GenesisError(FlockError, ValueError):
    """A chain spec that is malformed, inconsistent, or does not build; names the field."""


def _fail(where: str, problem: str) -> NoReturn:
    raise GenesisError(f"{where}: {problem}" if where else problem)


# --- the parsed spec ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChainSpec:
    """A validated chain spec. Obtain one from :func:`load_chain_spec` or :func:`validate`;
    treat its dicts as read-only (they are private copies of the input)."""

    name: str
    id: str
    chain_type: str
    boot_nodes: tuple[str, ...]
    properties: dict[str, Any]
    genesis: dict[str, Any]  # {"runtime": {pallet name: section}}
    # The ``genesisHash`` a raw spec pins (None: none); the node checks it against the state.
    pinned_genesis_hash: bytes | None = dataclasses.field(default=None, compare=False)

    @property
    def runtime_genesis(self) -> dict[str, dict[str, Any]]:
        return self.genesis["runtime"]

    @property
    def is_development(self) -> bool:
        """Whether the well-known dev keys may be used with this chain."""
        return is_dev_chain_type(self.chain_type)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "chainType": self.chain_type,
            "bootNodes": list(self.boot_nodes),
            "properties": copy.deepcopy(self.properties),
            "genesis": copy.deepcopy(self.genesis),
        }

    def to_json(self) -> str:
        """The canonical text: sorted keys, 2-space indent, trailing newline."""
        return to_canonical_json(self.to_dict())

    def to_raw_json(self, genesis_hash: bytes) -> str:
        """The canonical text with the genesis storage (``genesis.raw.top``) and ``genesis_hash``
        (which the node computes: ``flockchain.chain.genesis.to_raw_json``) added."""
        state = build_genesis_state(self)
        data = self.to_dict()
        data["genesis"]["raw"] = {"top": {_hex(key): _hex(value) for key, value in state.items()}}
        data["genesisHash"] = _hex(genesis_hash)
        return to_canonical_json(data)


def to_canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2) + "\n"


# --- loading ------------------------------------------------------------------------------


def load_chain_spec(name_or_path: str | Path) -> ChainSpec:
    """A shipped spec by name ("dev", "local"), else the spec file at that path."""
    if isinstance(name_or_path, str) and name_or_path in SHIPPED_SPECS:
        text = resources.files("genesis").joinpath("specs", f"{name_or_path}.json").read_text("utf-8")
        return parse_chain_spec(text)
    path = Path(name_or_path)
    try:
        if not path.is_file():  # not a directory, nor a pipe that would block the read
            shipped = ", ".join(SHIPPED_SPECS)
            raise GenesisError(f"no chain spec {str(name_or_path)!r}: not a shipped spec ({shipped}) nor a file")
        text = read_bounded_text(path, MAX_CHAIN_SPEC_SIZE)
    except (OSError, UnicodeDecodeError, JsonInputError) as exc:
        raise GenesisError(f"cannot read chain spec {path}: {exc}") from None
    return parse_chain_spec(text)


def parse_chain_spec(text: str) -> ChainSpec:
    """Parse bounded, strict JSON (``genesis.strict_json``: no duplicate keys, no floats, no NaN)
    and validate it."""
    try:
        data = parse_json(text, max_size=MAX_CHAIN_SPEC_SIZE, max_depth=MAX_CHAIN_SPEC_DEPTH)
    except JsonInputError as exc:
        _fail("chain spec", str(exc))
    return validate(data)


# --- validation ---------------------------------------------------------------------------


def validate(data: Any) -> ChainSpec:
    """The :class:`ChainSpec` of a parsed JSON value, or a :class:`GenesisError` naming the field."""
    _check_json_value(data)
    _check_fields(data, "", _TOP_LEVEL_FIELDS, optional=("genesisHash",))
    chain_type = data["chainType"]
    if chain_type not in CHAIN_TYPES:
        _fail("chainType", f"{chain_type!r} is not one of {', '.join(CHAIN_TYPES)}")
    genesis = data["genesis"]
    _check_fields(genesis, "genesis", ("runtime",), optional=("raw",))
    spec = ChainSpec(
        name=_check_name(data["name"]),
        id=_check_id(data["id"]),
        chain_type=chain_type,
        boot_nodes=_check_boot_nodes(data["bootNodes"]),
        properties=_check_properties(data["properties"]),
        genesis={"runtime": _check_runtime(genesis["runtime"], chain_type)},
        pinned_genesis_hash=_check_genesis_hash(data["genesisHash"]) if "genesisHash" in data else None,
    )
    state = build_genesis_state(spec)
    if "raw" in genesis:
        _check_raw(genesis["raw"], state)
    return spec


def _check_json_value(data: Any) -> None:
    """``data`` holds only what a spec may: objects with printable string keys, lists, Unicode
    strings, u64 integers, booleans and null, nested at most ``MAX_CHAIN_SPEC_DEPTH`` deep.
    Iterative, since :func:`validate` takes any Python value (a cycle is just too deep)."""
    pending: list[tuple[Any, str, int]] = [(data, "", 1)]
    while pending:
        value, where, depth = pending.pop()
        if type(value) is dict or type(value) is list:
            if depth > MAX_CHAIN_SPEC_DEPTH:
                _fail(where or "chain spec", f"nested more than {MAX_CHAIN_SPEC_DEPTH} levels deep")
            pending.extend((item, at, depth + 1) for at, item in reversed(_members(value, where)))
        elif type(value) is str:
            if _SURROGATE.search(value):
                _fail(where, "not valid Unicode text: it holds a lone surrogate (an unpaired \\ud800-\\udfff)")
        elif type(value) is int:
            _check_u64(value, where)
        elif type(value) is float:
            _fail(where, f"{value!r} is not an integer; numbers in a chain spec are integers (amounts in base units)")
        elif value is not None and type(value) is not bool:
            _fail(where, f"a {type(value).__name__} is not a JSON value")


def _members(value: dict[Any, Any] | list[Any], where: str) -> list[tuple[str, Any]]:
    """The items of an object or list with their paths; object keys must be printable strings."""
    if type(value) is list:
        return [(f"{where}[{index}]", item) for index, item in enumerate(value)]
    prefix = f"{where}." if where else ""
    for key in value:
        if type(key) is not str:
            _fail(where or "chain spec", f"the key {_describe(key)} is not a string")
        if not key.isprintable():
            _fail(where or "chain spec", f"the key {key!r} is not printable text")
    return [(f"{prefix}{key}", item) for key, item in value.items()]


def _check_fields(value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """``value`` is an object with every ``required`` field and nothing unknown (typos fail)."""
    if type(value) is not dict:
        _fail(where or "chain spec", f"expected a JSON object, got {_json_type(value)}")
    prefix = f"{where}." if where else ""
    for field in required:
        if field not in value:
            _fail(f"{prefix}{field}", "missing")
    for field in value:
        if field not in required and field not in optional:
            _fail(f"{prefix}{field}", f"unknown field (expected {', '.join(required + optional)})")


def _check_name(value: Any) -> str:
    if type(value) is not str or not value.strip():
        _fail("name", "expected a non-empty string")
    return value


def _check_id(value: Any) -> str:
    if type(value) is not str or not _CHAIN_ID.fullmatch(value):
        _fail("id", "expected 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit")
    return value


def _check_boot_nodes(value: Any) -> tuple[str, ...]:
    if type(value) is not list:
        _fail("bootNodes", f"expected a list of multiaddrs, got {_json_type(value)}")
    for index, address in enumerate(value):
        if type(address) is not str or not address.startswith("/"):
            _fail(f"bootNodes[{index}]", "expected a multiaddr string such as /ip4/127.0.0.1/tcp/30333/p2p/<peer id>")
    return tuple(value)


def _check_properties(value: Any) -> dict[str, Any]:
    """The three properties wallets need; other properties pass through untouched."""
    if type(value) is not dict:
        _fail("properties", f"expected a JSON object, got {_json_type(value)}")
    for field in _PROPERTY_FIELDS:
        if field not in value:
            _fail(f"properties.{field}", "missing")
    symbol = value["tokenSymbol"]
    if type(symbol) is not str or not symbol:
        _fail("properties.tokenSymbol", "expected a non-empty string")
    if value["tokenDecimals"] != TOKEN_DECIMALS or type(value["tokenDecimals"]) is not int:
        _fail("properties.tokenDecimals", f"must be {TOKEN_DECIMALS}: the runtime fixes 1 FLOCK = 10^9 base units")
    if value["ss58Format"] != GENERIC_SS58_PREFIX or type(value["ss58Format"]) is not int:
        _fail("properties.ss58Format", f"must be {GENERIC_SS58_PREFIX}: the runtime's genesis sections use that prefix")
    return copy.deepcopy(value)


@lru_cache(maxsize=1)
def _section_templates() -> dict[str, dict[str, Any]]:
    """Every pallet's section with default values: its required fields and their JSON types."""
    return construct_runtime().export_genesis(EmptyState())


def _check_runtime(value: Any, chain_type: str) -> dict[str, dict[str, Any]]:
    templates = _section_templates()
    if type(value) is not dict:
        _fail("genesis.runtime", f"expected a JSON object, got {_json_type(value)}")
    for pallet in value:
        if pallet not in templates:
            _fail(
                f"genesis.runtime.{pallet}",
                f"no pallet named {pallet!r} in the runtime (pallets: {', '.join(templates)})",
            )
    for pallet, template in templates.items():
        if pallet not in value:
            _fail(f"genesis.runtime.{pallet}", "missing (every pallet's section is required)")
        _check_like(value[pallet], template, f"genesis.runtime.{pallet}")
    _check_balances(value["balances"], chain_type)
    _check_authorities(value["session"]["authorities"], chain_type)
    _check_stakers(value["staking"]["stakers"], chain_type)
    _check_minimum_period(value["timestamp"]["minimumPeriod"])
    _check_slashes_cancellable(value["governance"], value["offences"], value["staking"])
    return copy.deepcopy(value)


def _check_slashes_cancellable(governance: dict[str, Any], offences: dict[str, Any], staking: dict[str, Any]) -> None:
    """Governance can cancel a deferred slash before it applies: its fastest path (a report, a
    proposal, then the flag, voting and enactment periods) is no longer than the deferral
    (``docs/governance.md``); a deferral of 0 makes slashes uncancellable on purpose."""
    fastest = governance["flagPeriodBlocks"] + governance["votingPeriodBlocks"] + governance["enactmentDelayBlocks"] + 2
    deferral = offences["slashDeferEras"] * staking["eraLengthBlocks"]
    if offences["slashDeferEras"] and fastest > deferral:
        _fail(
            "genesis.runtime.governance",
            f"governance could never cancel a deferred slash in time: it needs {fastest} blocks "
            "(flagPeriodBlocks + votingPeriodBlocks + enactmentDelayBlocks + 2), but a slash applies "
            f"{deferral} blocks after its offence (offences.slashDeferEras × staking.eraLengthBlocks)",
        )


def _check_like(value: Any, template: Any, where: str) -> None:
    """``value`` has ``template``'s shape: the same fields, the same JSON types (a boolean is
    no integer). Integers are in u64 already (:func:`_check_json_value`)."""
    if type(template) is dict:
        _check_fields(value, where, tuple(template))
        for field, inner in template.items():
            _check_like(value[field], inner, f"{where}.{field}")
    elif type(value) is not type(template):
        _fail(where, f"expected {_json_type(template)}, got {_json_type(value)}")
    else:
        _check_no_nulls(value, where)


def _check_no_nulls(value: Any, where: str) -> None:
    """No nulls below ``value`` (list items' meaning is the pallet's or this module's to check)."""
    if value is None:
        _fail(where, "null is not allowed")
    elif type(value) is list:
        for index, item in enumerate(value):
            _check_no_nulls(item, f"{where}[{index}]")
    elif type(value) is dict:
        for field, item in value.items():
            _check_no_nulls(item, f"{where}.{field}")


def _check_u64(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value <= U64_MAX:
        _fail(where, f"expected an unsigned 64-bit integer, got {_describe(value)}")
    return value


def _check_commission(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value <= PERBILL_ACCURACY:
        _fail(where, f"expected a commission in parts per 10^9 (0 to {PERBILL_ACCURACY}), got {_describe(value)}")
    return value


def _check_account(value: Any, where: str, chain_type: str) -> bytes:
    """An SS58 address in canonical form, and no dev key on a chain that is not for development."""
    if type(value) is not str:
        _fail(where, f"expected an SS58 address, got {_json_type(value)}")
    try:
        account = decode_address(value)
    except InvalidKey as exc:
        _fail(where, str(exc))
    if encode_address(account) != value:
        _fail(where, f"write accounts as SS58 addresses ({encode_address(account)}), not {value!r}")
    try:
        check_dev_key_allowed(account, chain_type)
    except DevKeyError as exc:
        _fail(where, str(exc))
    return account


def _check_balances(section: dict[str, Any], chain_type: str) -> None:
    """Well-formed entries, each account once, each at least the existential deposit, and a
    total of exactly ``TOTAL_SUPPLY``: the supply is fixed, so genesis must hold all of it."""
    where = "genesis.runtime.balances.balances"
    existential_deposit = section["existentialDeposit"]
    _check_account(section["dustReceiver"], "genesis.runtime.balances.dustReceiver", chain_type)
    first_index: dict[bytes, int] = {}
    total = 0
    for index, entry in enumerate(section["balances"]):
        if type(entry) is not list or len(entry) != 2:
            _fail(f"{where}[{index}]", "expected [SS58 address, amount in base units]")
        account = _check_account(entry[0], f"{where}[{index}][0]", chain_type)
        amount = _check_u64(entry[1], f"{where}[{index}][1]")
        if amount < existential_deposit:
            _fail(f"{where}[{index}][1]", f"{amount} is below the existential deposit {existential_deposit}")
        if account in first_index:
            _fail(f"{where}[{index}]", f"account {entry[0]} is listed twice (first at [{first_index[account]}])")
        first_index[account] = index
        total += amount
    if total != TOTAL_SUPPLY:
        _fail(
            where,
            f"the balances sum to {total}, but the total supply must be exactly {TOTAL_SUPPLY} "
            f"base units (off by {total - TOTAL_SUPPLY:+d}); the unallocated rest belongs to the "
            f"emission reserve {encode_address(EMISSION_RESERVE_ACCOUNT)}",
        )


def _check_authorities(authorities: list[Any], chain_type: str) -> None:
    """Each entry ``[validator address, signing address, "0x" + 64 hex digits VRF key]``: valid
    keys, each validator and each signing key once, no dev key on a live chain."""
    where = "genesis.runtime.session.authorities"
    if not authorities:
        _fail(where, "at least one authority is needed to author blocks")
    seen: set[bytes] = set()
    signing_seen: set[bytes] = set()
    for index, entry in enumerate(authorities):
        at = f"{where}[{index}]"
        if type(entry) is not list or len(entry) != 3:
            _fail(at, "expected [validator SS58 address, signing key SS58 address, 0x-hex VRF public key]")
        address, signing_address, vrf_hex = entry
        account = _check_account(address, f"{at}[0]", chain_type)
        if not is_valid_public_key(account):
            _fail(f"{at}[0]", f"{address} is not a valid ed25519 public key")
        if account in seen:
            _fail(at, f"authority {address} is listed twice")
        seen.add(account)
        signing = _check_account(signing_address, f"{at}[1]", chain_type)
        if not is_valid_public_key(signing):
            _fail(f"{at}[1]", f"signing key {signing_address} is not a valid ed25519 public key")
        if signing in signing_seen:
            _fail(f"{at}[1]", f"signing key {signing_address} is used by two authorities")
        signing_seen.add(signing)
        vrf_key = _unhex(vrf_hex, f"{at}[2]")
        if len(vrf_key) != 32 or vrf_hex != _hex(vrf_key):
            _fail(f"{at}[2]", f"expected a VRF public key as 0x and 64 lowercase hex digits, got {vrf_hex!r}")
        if not is_valid_public_key(vrf_key):
            _fail(f"{at}[2]", f"{vrf_hex} is not a valid VRF public key")


def _check_stakers(stakers: list[Any], chain_type: str) -> None:
    """Each entry ``[validator address, bond in base units, commission in parts per 10^9]``, each
    validator once. Whether the bonds fit the balances and elect the authorities is the staking
    pallet's to check, when it builds."""
    where = "genesis.runtime.staking.stakers"
    first_index: dict[bytes, int] = {}
    for index, entry in enumerate(stakers):
        at = f"{where}[{index}]"
        if type(entry) is not list or len(entry) != 3:
            _fail(at, "expected [validator SS58 address, bond in base units, commission in parts per 10^9]")
        account = _check_account(entry[0], f"{at}[0]", chain_type)
        _check_u64(entry[1], f"{at}[1]")
        _check_commission(entry[2], f"{at}[2]")
        if account in first_index:
            _fail(at, f"validator {entry[0]} is listed twice (first at [{first_index[account]}])")
        first_index[account] = index


def _check_minimum_period(minimum_period: int) -> None:
    """A slot lasts twice the minimum period and the node divides time by it: at least 1 ms, and
    twice it fits u64. (The timestamp pallet builds from any u64, 0 included.)"""
    if not 1 <= minimum_period <= U64_MAX // 2:
        _fail(
            "genesis.runtime.timestamp.minimumPeriod",
            f"must be 1 to {U64_MAX // 2} ms (a slot lasts twice it), got {minimum_period}",
        )


def authority_entry(keypair: Keypair) -> list[str]:
    """The ``session.authorities`` entry of a validator that signs with its account key and
    uses the VRF key derived from it: ``[address, address, "0x" VRF public key]``."""
    address = encode_address(keypair.public_key)
    return [address, address, _hex(vrf.public_key(keypair.derive_vrf_seed()))]


def _check_raw(raw: Any, state: Mapping[bytes, bytes]) -> None:
    _check_fields(raw, "genesis.raw", ("top",))
    top = raw["top"]
    if type(top) is not dict:
        _fail("genesis.raw.top", f"expected a JSON object, got {_json_type(top)}")
    stored = {_unhex(key, "genesis.raw.top"): _unhex(value, f"genesis.raw.top.{key}") for key, value in top.items()}
    if stored != dict(state):
        differing = len(set(stored.items()) ^ set(state.items()))
        _fail("genesis.raw.top", f"does not match the state that genesis.runtime builds ({differing} entries differ)")


def _check_genesis_hash(value: Any) -> bytes:
    pinned = _unhex(value, "genesisHash")
    if len(pinned) != HASH_SIZE:
        _fail("genesisHash", f"expected {HASH_SIZE} bytes, got {len(pinned)}")
    return pinned


def _describe(value: Any) -> str:
    """``repr`` for a message; an integer too long to print is described by its size."""
    if type(value) is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    return repr(value)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(value: Any, where: str) -> bytes:
    if type(value) is not str or not value.startswith("0x"):
        _fail(where, f"expected 0x-prefixed hex, got {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        _fail(where, f"{value!r} is not valid hex")


# --- building -----------------------------------------------------------------------------


def build_genesis_state(spec: ChainSpec) -> dict[bytes, bytes]:
    """The genesis storage, in key order: what the runtime's ``build_genesis`` writes."""
    try:
        changes = construct_runtime().build_genesis(spec.runtime_genesis)
    except (FlockError, ValueError, TypeError, KeyError) as exc:
        raise GenesisError(f"genesis.runtime does not build: {exc}") from None
    state = {key: value for key, value in sorted(changes.items()) if value is not None}
    assert len(state) == len(changes), "genesis only writes; it never deletes"
    return state


def read_genesis_state(state: Mapping[bytes, bytes]) -> StateReader:
    """A reader over genesis storage (prefix iteration included), for export and inspection."""
    reader = Overlay(EmptyState())
    reader.changes.update(state)
    return reader


def export_runtime_genesis(state: Mapping[bytes, bytes]) -> dict[str, dict[str, Any]]:
    """The runtime section that rebuilds ``state``: the inverse of :func:`build_genesis_state`."""
    return construct_runtime().export_genesis(read_genesis_state(state))

"""Test fixtures over the real composed runtime (FRAME's mock runtime and ``new_test_ext``): a
dict-backed state, the one builder of test genesis states, dispatch contexts at a block, the
pallets' hooks run in the runtime's order, transfers signed by named test keys, and blocks
executed on a state.

Everything is deterministic (keys come from names, block hashes and timestamps from block
numbers), so a test that fails fails the same way every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from runtime.abc import StateReader
from runtime.accounts import FLOCK, TREASURY_ACCOUNT
from runtime.block import IMMORTAL, Mortality, UnsignedExtrinsic, encode_extrinsic, sign_extrinsic
from runtime.construct import construct_runtime
from runtime.executive import Executive
from runtime.framework.pallet import BadOrigin, BlockEnvironment, DispatchContext, DispatchError, Origin
from runtime.framework.runtime import Runtime
from runtime.framework.storage import Overlay
from runtime.pallets import balances, emission, finality, governance, offences, session, staking, system
from runtime.pallets.timestamp import SetArgs
from runtime.primitives.address import encode_address
from runtime.primitives.codec import Record
from runtime.primitives.hashing import TAG_GENESIS, TAG_HEADER, tagged_hash
from runtime.primitives.keys import Keypair

# Stands in for the hash of a genesis header (tests have no header): what transactions sign.
TEST_GENESIS_HASH = tagged_hash(TAG_GENESIS, b"flockchain runtime tests")
TEST_SLOT_DURATION_MS = 1_000
INITIAL_BALANCE = 1_000 * FLOCK

# The composed runtime and its pallets, as tests call them (``BALANCES.transfer(ctx, ...)``).
RUNTIME = construct_runtime()
BALANCES: balances.Balances = RUNTIME.pallet("balances")  # type: ignore[assignment]
SESSION: session.Session = RUNTIME.pallet("session")  # type: ignore[assignment]
STAKING: staking.Staking = RUNTIME.pallet("staking")  # type: ignore[assignment]
OFFENCES: offences.Offences = RUNTIME.pallet("offences")  # type: ignore[assignment]
GOVERNANCE: governance.Governance = RUNTIME.pallet("governance")  # type: ignore[assignment]
EMISSION: emission.Emission = RUNTIME.pallet("emission")  # type: ignore[assignment]
FINALITY: finality.Finality = RUNTIME.pallet("finality")  # type: ignore[assignment]


class DictState(StateReader):
    """One version of the state in a dict; :meth:`apply` gives the next version."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[bytes, bytes] | None = None) -> None:
        self._items = dict(items or {})

    def get(self, key: bytes) -> bytes | None:
        return self._items.get(key)

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return iter(sorted((key, value) for key, value in self._items.items() if key.startswith(prefix)))

    def apply(self, changes: Mapping[bytes, bytes | None]) -> DictState:
        """A new state with ``changes`` (None: delete) applied; this one is left as it was."""
        items = dict(self._items)
        for key, value in changes.items():
            if value is None:
                items.pop(key, None)
            else:
                items[key] = value
        return DictState(items)


def named_keypair(name: str) -> Keypair:
    """A key pair whose seed is the hash of ``name``: the same name, the same account."""
    return Keypair.from_seed(hashlib.blake2b(name.encode(), digest_size=32).digest())


TEST_AUTHORITY = named_keypair("authority")


def build_genesis_state(
    runtime: Runtime = RUNTIME,
    endowed: Iterable[bytes] = (),
    *,
    balance: int = INITIAL_BALANCE,
    accounts: Iterable[tuple[bytes, int]] = (),
    existential_deposit: int | None = None,
    authorities: Iterable[Any] = (TEST_AUTHORITY.public_key,),
    stakers: Iterable[tuple[bytes, int, int]] = (),
    config: Mapping[str, dict[str, Any]] | None = None,
) -> DictState:
    """The one builder of test genesis states.

    The treasury and each ``endowed`` account hold ``balance``, each of ``accounts`` its own
    amount (an account listed there first is not endowed again); ``authorities`` are the session's
    (an address or a ``[validator, signing, vrf]`` entry each), ``stakers`` bond
    ``(who, bond, commission)`` and validate. ``config`` adds to or replaces whole per-pallet
    sections of the chain spec (``{"staking": {...parameters}}``; a staking section's stakers
    are ``stakers``).
    """
    amounts = dict(accounts)
    for who in (TREASURY_ACCOUNT, *endowed):
        amounts.setdefault(who, balance)
    sections = {name: dict(section) for name, section in (config or {}).items()}
    balances_section = sections.setdefault("balances", {})
    balances_section.setdefault("balances", [[encode_address(who), amount] for who, amount in amounts.items()])
    if existential_deposit is not None:
        balances_section["existentialDeposit"] = existential_deposit
    sections.setdefault("session", {}).setdefault(
        "authorities", [who if isinstance(who, list) else encode_address(who) for who in authorities]
    )
    if stakers:
        sections.setdefault("staking", {})["stakers"] = [
            [encode_address(who), bond, commission] for who, bond, commission in stakers
        ]
    return DictState().apply(runtime.build_genesis(sections))


def at_block(
    state: StateReader, number: int, author: bytes = TEST_AUTHORITY.public_key, runtime: Runtime = RUNTIME
) -> DispatchContext:
    """A dispatch context in block ``number`` (slot ``number``, timestamp ``number`` seconds)
    over ``state``; an overlay is written through, any other state gets one."""
    env = BlockEnvironment(number, compute_test_block_hash(number - 1), number, number * TEST_SLOT_DURATION_MS, author)
    overlay = state if isinstance(state, Overlay) else Overlay(state)
    return DispatchContext(runtime, overlay, env, TEST_GENESIS_HASH)


def new_test_ext(
    *, author: bytes = TEST_AUTHORITY.public_key, runtime: Runtime = RUNTIME, **genesis: Any
) -> DispatchContext:
    """Block 1 over :func:`build_genesis_state` of ``genesis`` (FRAME's ``new_test_ext``)."""
    return at_block(build_genesis_state(runtime, **genesis), 1, author, runtime)


def finalize_hooks(ctx: DispatchContext, pallets: Iterable[str], number: int, author: bytes) -> list[Any]:
    """Run ``on_finalize`` of ``pallets`` (in ``ctx``'s runtime's hook order) for block
    ``number`` by ``author`` over ``ctx``'s state; the events they deposit."""
    block = at_block(ctx.state, number, author, ctx.runtime)
    names = set(pallets)
    for pallet in ctx.runtime.hooked:
        if pallet.NAME in names:
            pallet.on_finalize(block)
    return [record.event for record in block.event_records()]


def sign_transfer(
    runtime: Runtime,
    sender: Keypair,
    dest: bytes,
    amount: int,
    *,
    nonce: int,
    tip: int = 0,
    mortality: Mortality = IMMORTAL,
    birth_hash: bytes | None = None,
    genesis_hash: bytes = TEST_GENESIS_HASH,
) -> bytes:
    """An encoded ``balances.transfer`` signed by ``sender``."""
    call = runtime.encode_call(balances.TransferArgs(dest, amount))
    xt = sign_extrinsic(
        sender, genesis_hash, nonce=nonce, call=call, tip=tip, mortality=mortality, birth_hash=birth_hash
    )
    return encode_extrinsic(xt)


def get_round_robin_author(state: StateReader, slot: int) -> bytes:
    """The current set's signing keys taken in turn: a simple author schedule for runtime tests
    (the node's schedule is the slot lottery, ``consensus.babe``)."""
    authorities = session.get_authorities(state)
    return authorities[slot % len(authorities)]


def compute_test_block_hash(number: int) -> bytes:
    """A stand-in hash for block ``number`` (tests have no headers to hash)."""
    return tagged_hash(TAG_HEADER, b"test block %d" % number)


def execute_block(
    executive: Executive,
    state: DictState,
    extrinsics: Iterable[bytes] = (),
    *,
    author: bytes = TEST_AUTHORITY.public_key,
) -> DictState:
    """The state after the next block on ``state``: its timestamp inherent, then
    ``extrinsics`` (each must apply). Slot = number; the parent hash is a stand-in."""
    number = system.Number.get(state) + 1
    timestamp = number * TEST_SLOT_DURATION_MS
    env = BlockEnvironment(number, compute_test_block_hash(number - 1), number, timestamp, author)
    inherent = encode_extrinsic(UnsignedExtrinsic(executive.runtime.encode_call(SetArgs(timestamp))))
    changes = executive.execute_block(state, env, (inherent, *extrinsics))
    return state.apply(changes)


def dispatch(ctx: DispatchContext, origin: Origin | bytes, args: Record) -> None:
    """Dispatch a call as the executive does (origin checked), without fees; ``bytes`` is a
    signed origin. Errors propagate, so a caller sees exactly what the call raised."""
    origin = Origin.signed(origin) if isinstance(origin, bytes) else origin
    call = ctx.runtime.decode_call(ctx.runtime.encode_call(args))
    if call.definition.origin != origin.kind:
        raise BadOrigin()
    call.definition.handler(call.pallet, ctx, origin, call.args)


def assert_noop(ctx: DispatchContext, origin: Origin | bytes, args: Record, error: type[DispatchError]) -> None:
    """The call raises ``error`` having written nothing and emitted nothing: every check
    comes before the first write (FRAME's ``assert_noop``)."""
    changes_before, events_before = dict(ctx.state.changes), list(ctx.events)
    with pytest.raises(error):
        dispatch(ctx, origin, args)
    assert ctx.state.changes == changes_before
    assert ctx.events == events_before

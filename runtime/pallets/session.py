"""session: the authority set that may author blocks.

For now a fixed set from the chain spec (authorities take slots in turn); the staking and
session issue replaces it with elected sets per epoch, keeping this storage as the place the
node reads the current set from.
"""

from __future__ import annotations

from typing import Annotated, Any

from runtime.abc import StateReader
from runtime.framework.pallet import DispatchContext, Pallet
from runtime.framework.storage import StorageValue
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.codec import AccountId, ListOf
from runtime.primitives.keys import is_valid_public_key

NAME = "session"
MAX_AUTHORITIES = 1_000

Authorities = StorageValue(NAME, "Authorities", Annotated[tuple, ListOf(AccountId, MAX_AUTHORITIES)], ())


def get_authorities(state: StateReader) -> tuple[bytes, ...]:
    return Authorities.get(state)


def get_slot_author(state: StateReader, slot: int) -> bytes:
    """The authority whose turn ``slot`` is (round robin over the set)."""
    authorities = get_authorities(state)
    return authorities[slot % len(authorities)]


class Session(Pallet):
    NAME = NAME

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        authorities = tuple(decode_address(address) for address in config.get("authorities", []))
        if not authorities:
            raise ValueError("genesis needs at least one authority")
        if len(set(authorities)) != len(authorities):
            raise ValueError("genesis lists an authority twice")
        for authority in authorities:
            if not is_valid_public_key(authority):
                raise ValueError(f"authority {encode_address(authority)} is not a valid ed25519 key")
        Authorities.put(ctx.state, authorities)

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return {"authorities": [encode_address(authority) for authority in get_authorities(state)]}

    def try_state(self, state: StateReader) -> list[str]:
        return [] if get_authorities(state) else ["the authority set is empty"]

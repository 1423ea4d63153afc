"""timestamp: the block's time, set by a mandatory inherent that must equal the header's
timestamp and advance by at least ``minimum_period`` milliseconds per block."""

from __future__ import annotations

from typing import Any

from runtime.abc import StateReader
from runtime.errors import BadInherent, BlockExecutionError
from runtime.framework.pallet import ORIGIN_NONE, DispatchContext, Origin, Pallet, call
from runtime.framework.storage import StorageValue
from runtime.primitives.codec import U64, Boolean, Record, record

NAME = "timestamp"
DEFAULT_MINIMUM_PERIOD = 500

# --- storage ------------------------------------------------------------------------------

Now = StorageValue(NAME, "Now", U64, 0)
DidUpdate = StorageValue(NAME, "DidUpdate", Boolean, False)
MinimumPeriod = StorageValue(NAME, "MinimumPeriod", U64, DEFAULT_MINIMUM_PERIOD)

# --- calls' arguments ---------------------------------------------------------------------


@record
class SetArgs(Record):
    now: U64


def get_now(state: StateReader) -> int:
    """The current block's timestamp (ms), once its inherent ran."""
    return Now.get(state)  # type: ignore[no-any-return]


def get_slot_duration_ms(state: StateReader) -> int:
    """Twice the minimum period (Aura's convention): a block's timestamp is its slot's start."""
    return 2 * MinimumPeriod.get(state)  # type: ignore[no-any-return]


class Timestamp(Pallet):
    """Also the runtime's :class:`~runtime.framework.traits.Time`."""

    NAME = NAME
    STORAGE = (Now, DidUpdate, MinimumPeriod)

    def get_now(self, state: StateReader) -> int:
        return get_now(state)

    @call(0, SetArgs, weight=1_000, origin=ORIGIN_NONE)
    def set(self, ctx: DispatchContext, origin: Origin, args: SetArgs) -> None:
        """The inherent: once per block, first, equal to the header's timestamp."""
        if ctx.extrinsic_index != 0:  # so also never twice in a block
            raise BadInherent("the timestamp inherent must be the block's first extrinsic")
        if args.now != ctx.block.timestamp:
            raise BadInherent(f"timestamp inherent {args.now} differs from the header's {ctx.block.timestamp}")
        previous = Now.get(ctx.state)
        if previous and args.now < previous + MinimumPeriod.get(ctx.state):
            raise BadInherent(f"timestamp {args.now} is less than the minimum period after {previous}")
        Now.put(ctx.state, args.now)
        DidUpdate.put(ctx.state, True)

    def on_finalize(self, ctx: DispatchContext) -> None:
        if not DidUpdate.get(ctx.state):
            raise BlockExecutionError("the block has no timestamp inherent")
        DidUpdate.kill(ctx.state)

    def build_genesis(self, ctx: DispatchContext, config: dict[str, Any]) -> None:
        MinimumPeriod.put(ctx.state, config.get("minimumPeriod", DEFAULT_MINIMUM_PERIOD))

    def export_genesis(self, state: StateReader) -> dict[str, Any]:
        return {"minimumPeriod": MinimumPeriod.get(state)}

"""timestamp: the inherent advances time by at least the minimum period, and the slot duration
the node and consensus use is twice that period."""

from __future__ import annotations

import pytest

from runtime.errors import BadInherent
from runtime.framework.pallet import NONE
from runtime.pallets import timestamp
from runtime_helpers import dispatch, new_test_ext


def test_timestamp_minimum_period() -> None:
    ctx = new_test_ext()
    timestamp.Now.put(ctx.state, 800)
    with pytest.raises(BadInherent, match="minimum period"):
        dispatch(ctx, NONE, timestamp.SetArgs(1_000))
    timestamp.Now.put(ctx.state, 500)
    dispatch(ctx, NONE, timestamp.SetArgs(1_000))
    assert timestamp.get_now(ctx.state) == 1_000


def test_the_slot_duration_is_twice_the_minimum_period() -> None:
    ctx = new_test_ext(config={"timestamp": {"minimumPeriod": 250}})
    assert timestamp.get_slot_duration_ms(ctx.state) == 500

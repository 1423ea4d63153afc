"""Weights: what a block's work costs against its budget (``system.maxBlockWeight``).

The unit is set by the calls: a balance transfer weighs ``TRANSFER_WEIGHT`` (the transaction's
signature, fee and nonce included). Hooks weigh their work in the same unit, item by item, with
the constants below; ``bench/hook_weights.py`` times the heavy hooks against a transfer and
prints what they declare ÷ what they cost (kept between 1.5 and 3 here: a margin for other
machines, not so much that blocks lose room for nothing).
"""

from __future__ import annotations

TRANSFER_WEIGHT = 100_000  # the balances.transfer_* calls
CURRENCY_WEIGHT = 10_000  # one balance movement inside the runtime (a payout, a release, a slash)
READ_WEIGHT = 2_000  # one storage item read and decoded
WRITE_WEIGHT = 5_000  # one storage item encoded and written (or removed)

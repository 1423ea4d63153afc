"""``grandpa_proveFinality`` and ``grandpa_roundState``: how a client follows finality.

A light client that trusts the authority set of some block follows finality from there with
the justifications of the blocks that ended each later set, then the justification of the last
finalized block. This node keeps a justification for every block that ended a set (and for the
blocks its voter finalized), so ``grandpa_proveFinality(n)`` answers those from block ``n`` on.
The next set is known today only from the state of the block that ended the previous one, so
each set change carries the next set's voters with state proofs under that block's state root,
while the node still holds that state (``null`` once pruned). :func:`encode_finality_proof_json`
is the one place the answer is encoded, so that vote ancestries and a set-change digest in the
header can join it there.
"""

from __future__ import annotations

from typing import Any

from flockchain.rpc.api import FinalityRounds, NodeApi, RoundState
from flockchain.rpc.methods import (
    build_proven_answer,
    parse_block_number,
    resolve_block,
    to_hex,
)
from runtime import api
from runtime.block import Header
from runtime.primitives.address import encode_address

MAX_SET_CHANGES_PER_PROOF = 256  # a client asks again from the last one's number + 1


class FinalityMethods:
    def __init__(self, node: NodeApi) -> None:
        self._node = node

    async def grandpa_prove_finality(self, blockNumber: Any) -> dict[str, Any] | None:
        """The justifications that take a client from block ``blockNumber`` (integer or hex) to
        the last finalized block: each later authority-set change (block header, justification
        by the ending set, and the next set's voters with state proofs, or null once the node
        pruned that state), then the last finalized block's header and justification. At most
        256 set changes: ``complete`` false says to ask again from after the last one (and then
        ``finalized`` is null). Null when ``blockNumber`` is not finalized yet."""
        number = parse_block_number(blockNumber) or 0
        finalized_hash = self._node.finalized_hash()
        finalized = self._node.get_header(finalized_hash)
        if finalized is None or number > finalized.number:
            return None
        set_changes = self._get_set_changes_from(number, finalized_hash)
        complete = len(set_changes) <= MAX_SET_CHANGES_PER_PROOF
        return encode_finality_proof_json(
            self._node, set_changes[:MAX_SET_CHANGES_PER_PROOF], (finalized_hash, finalized) if complete else None
        )

    def _get_set_changes_from(self, number: int, finalized_hash: bytes) -> list[tuple[int, bytes, Header]]:
        """``(set id, block, header)`` of every set change at or after block ``number``, in
        order, up to one more than a proof holds. Set changes happen at increasing heights, so
        the first one is found by bisection over set ids."""
        state = self._node.provable_state(finalized_hash)
        ended = 0 if state is None else api.get_finality_set_id(state)  # type: ignore[arg-type]
        low, high = 0, ended
        while low < high:
            middle = (low + high) // 2
            if self._get_set_change_header(middle)[1].number < number:
                low = middle + 1
            else:
                high = middle
        changes = []
        for set_id in range(low, min(ended, low + MAX_SET_CHANGES_PER_PROOF + 1)):
            block_hash, header = self._get_set_change_header(set_id)
            changes.append((set_id, block_hash, header))
        return changes

    def _get_set_change_header(self, set_id: int) -> tuple[bytes, Header]:
        block_hash = self._node.get_set_change(set_id)
        header = None if block_hash is None else self._node.get_header(block_hash)
        assert block_hash is not None and header is not None, "every ended set has its finalized set change"
        return block_hash, header

    async def grandpa_round_state(self) -> dict[str, Any]:
        """The finality voter's current round (``best``) and the previous one if it still runs
        (``background``): for each, the total and threshold weight, and per stage the weight
        that voted and the voters (SS58) still missing."""
        return encode_round_state_json(self._node.finality_rounds())


def encode_finality_proof_json(
    node: NodeApi, set_changes: list[tuple[int, bytes, Header]], finalized: tuple[bytes, Header] | None
) -> dict[str, Any]:
    """The answer of ``grandpa_proveFinality``: headers and justifications (``0x`` + their
    canonical encoding: ``runtime.block.Header``, ``runtime.block.Justification``)."""

    def encode_block(block_hash: bytes, header: Header) -> dict[str, Any]:
        justification = node.get_justification(block_hash)
        return {
            "block": to_hex(block_hash),
            "header": to_hex(header.encode()),
            "justification": None if justification is None else to_hex(justification),
        }

    def encode_set_change(set_id: int, block_hash: bytes, header: Header) -> dict[str, Any]:
        block = resolve_block(node, to_hex(block_hash))
        next_set = None if block is None else build_proven_answer(block, api.get_finality_authorities)
        return {"setId": set_id, **encode_block(block_hash, header), "nextAuthorities": next_set}

    return {
        "setChanges": [encode_set_change(*change) for change in set_changes],
        "finalized": None if finalized is None else encode_block(*finalized),
        "complete": finalized is not None,
    }


def encode_round_state_json(rounds: FinalityRounds) -> dict[str, Any]:
    """Substrate's ``ReportedRoundStates``."""
    return {
        "setId": rounds.set_id,
        "best": encode_round_json(rounds.best),
        "background": [encode_round_json(round_) for round_ in rounds.background],
    }


def encode_round_json(round_: RoundState) -> dict[str, Any]:
    def encode_tally(current_weight: int, missing: tuple[bytes, ...]) -> dict[str, Any]:
        return {"currentWeight": current_weight, "missing": [encode_address(voter) for voter in missing]}

    return {
        "round": round_.round,
        "totalWeight": round_.total_weight,
        "thresholdWeight": round_.threshold_weight,
        "prevotes": encode_tally(round_.prevotes.current_weight, round_.prevotes.missing),
        "precommits": encode_tally(round_.precommits.current_weight, round_.precommits.missing),
    }

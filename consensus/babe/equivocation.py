"""Block equivocation: two different headers for one slot sealed by one author.

Every node feeds the headers it sees (after checking their slot claims and seals) to a
:class:`BlockEquivocationDetector`; a second, different header for a (slot, author) it has seen
comes back as evidence for the offences pallet. Headers are kept per slot until the caller
prunes slots that can no longer matter (at or below the last finalized block's slot).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.block import Header


@dataclass(frozen=True)
class BlockEquivocationEvidence:
    first: Header
    second: Header


@dataclass
class BlockEquivocationDetector:
    _seen: dict[tuple[int, bytes], Header] = field(default_factory=dict)

    def observe(self, header: Header) -> BlockEquivocationEvidence | None:
        """Remember ``header``; evidence if its author already sealed another header for its slot."""
        slot_author = (header.slot, header.author)
        if slot_author not in self._seen:
            self._seen[slot_author] = header
            return None
        return self.check(header)

    def check(self, header: Header) -> BlockEquivocationEvidence | None:
        """Evidence if the author already sealed another header for ``header``'s slot; remembers
        nothing (for headers of blocks that will never be imported)."""
        first = self._seen.get((header.slot, header.author))
        if first is None or first.hash == header.hash:
            return None
        return BlockEquivocationEvidence(first, header)

    def prune(self, up_to_slot: int) -> None:
        """Forget the headers of slots up to ``up_to_slot``."""
        for slot_author in sorted(key for key in self._seen if key[0] <= up_to_slot):
            del self._seen[slot_author]

"""The weighted authority set that votes in one GRANDPA set, and its supermajority threshold."""

from __future__ import annotations

from dataclasses import dataclass, field

from consensus.grandpa.errors import InvalidVoterSet

PUBLIC_KEY_SIZE = 32


def compute_threshold(total_weight: int) -> int:
    """The smallest integer weight ``W`` with ``W > 2/3 · total`` (i.e. ``3W > 2·total``).

    ``total − floor((total − 1) / 3)``: ``floor((total − 1) / 3)`` is the largest faulty weight ``f``
    with ``3f < total``, and ``total − f`` is then the least weight strictly above two thirds.
    """
    if total_weight <= 0:
        raise InvalidVoterSet("total weight must be positive")
    return total_weight - (total_weight - 1) // 3


@dataclass(frozen=True)
class VoterSet:
    """Voters in a fixed order (their index is their bit in vote bitmasks), each with weight > 0."""

    set_id: int
    voters: tuple[tuple[bytes, int], ...]
    _index: dict[bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.set_id) is not int or self.set_id < 0:
            raise InvalidVoterSet("set id must be a non-negative integer")
        if not self.voters:
            raise InvalidVoterSet("a voter set needs at least one voter")
        for key, weight in self.voters:
            if type(key) is not bytes or len(key) != PUBLIC_KEY_SIZE:
                raise InvalidVoterSet(f"voter keys must be {PUBLIC_KEY_SIZE} bytes")
            if type(weight) is not int or weight <= 0:
                raise InvalidVoterSet("voter weights must be positive integers")
        index = {key: position for position, (key, _) in enumerate(self.voters)}
        if len(index) != len(self.voters):
            raise InvalidVoterSet("a key appears twice in the voter set")
        object.__setattr__(self, "_index", index)

    @property
    def total_weight(self) -> int:
        return sum(weight for _, weight in self.voters)

    @property
    def threshold(self) -> int:
        return compute_threshold(self.total_weight)

    @property
    def faulty_weight(self) -> int:
        """The most weight that may equivocate while supermajorities stay safe: ``total − threshold``."""
        return self.total_weight - self.threshold

    def __len__(self) -> int:
        return len(self.voters)

    def contains(self, key: bytes) -> bool:
        return key in self._index

    def get_index(self, key: bytes) -> int | None:
        return self._index.get(key)

    def weight_of(self, key: bytes) -> int:
        """The voter's weight, 0 for a key outside the set."""
        position = self._index.get(key)
        return 0 if position is None else self.voters[position][1]

    def compute_mask_weight(self, mask: int) -> int:
        """Total weight of the voters whose index bits are set in ``mask``."""
        return sum(weight for position, (_, weight) in enumerate(self.voters) if mask >> position & 1)

    def primary_for_round(self, round_number: int) -> bytes:
        """Round robin by round number, as in finality-grandpa (``round mod n``)."""
        return self.voters[round_number % len(self.voters)][0]

"""Voter sets and the > 2/3 threshold in integers."""

import pytest

from consensus.grandpa.errors import InvalidVoterSet
from consensus.grandpa.voter_set import VoterSet, compute_threshold


def make_set(weights: list[int]) -> VoterSet:
    return VoterSet(7, tuple((bytes([index + 1]) * 32, weight) for index, weight in enumerate(weights)))


@pytest.mark.parametrize(("count", "threshold"), [(1, 1), (3, 3), (4, 3), (7, 5), (10, 7)])
def test_threshold_equal_weights(count: int, threshold: int) -> None:
    assert make_set([1] * count).threshold == threshold
    assert make_set([5] * count).threshold == compute_threshold(5 * count)


@pytest.mark.parametrize(
    ("weights", "threshold"),
    [([4, 7, 3], 10), ([1, 1, 1, 2], 4), ([10], 7), ([1, 2, 3, 4, 5, 6, 7], 19), ([3] * 9 + [100], 85)],
)
def test_threshold_unequal_weights(weights: list[int], threshold: int) -> None:
    voter_set = make_set(weights)
    assert voter_set.threshold == threshold
    assert voter_set.faulty_weight == sum(weights) - threshold


def test_threshold_is_smallest_weight_above_two_thirds() -> None:
    for total in range(1, 2000):
        threshold = compute_threshold(total)
        assert 3 * threshold > 2 * total
        assert 3 * (threshold - 1) <= 2 * total


def test_lookup_and_primary() -> None:
    voter_set = make_set([1, 2, 3])
    key = bytes([2]) * 32
    assert voter_set.contains(key) and voter_set.weight_of(key) == 2 and voter_set.get_index(key) == 1
    assert not voter_set.contains(bytes(32)) and voter_set.weight_of(bytes(32)) == 0
    assert [voter_set.primary_for_round(r) for r in range(4)] == [bytes([n]) * 32 for n in (1, 2, 3, 1)]
    assert voter_set.compute_mask_weight(0b101) == 4


@pytest.mark.parametrize("weights", [[], [0], [1, -1]])
def test_invalid_sets(weights: list[int]) -> None:
    with pytest.raises(InvalidVoterSet):
        make_set(weights)


def test_duplicate_key_rejected() -> None:
    with pytest.raises(InvalidVoterSet):
        VoterSet(0, ((bytes(32), 1), (bytes(32), 1)))

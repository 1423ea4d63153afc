"""Hypothesis strategies that break a valid JSON document structurally, for the property that a
parser of files users hand the node (chain specs, keystore files) returns a value or raises its
own typed error, and nothing else, whatever the file holds.

A mutation picks a place in the document and replaces, deletes, wraps, duplicates or
transplants what is there (an address where a number goes, a list where an object goes), or
inserts something new; a few mutations in a row reach deeper. ``mutated_text`` also edits the
JSON text itself (a character dropped, a bracket added, the text cut short).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]

# Values that sit on the edges the checks have to get right.
EDGE_VALUES = st.sampled_from(
    [0, 1, -1, True, False, None, 2**31, 2**32, 2**63, 2**64 - 1, 2**64, -(2**63), 10**19, 10**20]
    + ["", "0x", "0x00", "0xzz", "\ud800", "\udc00x", "a\nb", "x" * 300, "5" * 48, "0x" + "11" * 32, "0X" + "ab" * 32]
    + [[], {}, [[]], [1, 2], [1, 4], ["a", 1, 2], {"": None}]
).map(copy.deepcopy)  # a fresh copy: mutations edit containers in place
POWERS_OF_TWO = st.integers(min_value=0, max_value=70).map(lambda exponent: 2**exponent)
LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | POWERS_OF_TWO | st.text(max_size=8) | EDGE_VALUES
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=8,
)
# What ``json.loads`` never gives but a Python caller of a ``validate(value)`` may pass.
PYTHON_ODDITIES = st.sampled_from(
    [1.0, 0.5, float("nan"), float("inf"), (), (1, 2), b"\x00", {1: 2}, {None: 1}, {(1,): 2}, 10**5000, -(10**5000)]
).map(copy.deepcopy)


def paths(value: Any, path: Path = ()) -> list[Path]:
    """Every place in ``value``, the root first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*path, index))
    return found


def get_at(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def set_at(value: Any, path: Path, new: Any) -> Any:
    """``value`` with the place at ``path`` replaced by ``new`` (the root replaced: ``new``)."""
    if not path:
        return new
    get_at(value, path[:-1])[path[-1]] = new
    return value


def delete_at(value: Any, path: Path) -> Any:
    if path:
        del get_at(value, path[:-1])[path[-1]]
    return value


@st.composite
def mutated(draw: st.DrawFn, originals: list[Any], *, python_values: bool = False) -> Any:
    """One of ``originals`` (deep-copied) after one to three structural mutations."""
    value = copy.deepcopy(draw(st.sampled_from(originals)))
    new_values = (JSON_VALUES | PYTHON_ODDITIES) if python_values else JSON_VALUES
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = paths(value)
        path = draw(st.sampled_from(places))
        target = get_at(value, path)
        action = draw(st.sampled_from(["replace", "transplant", "delete", "insert", "wrap", "duplicate", "tweak"]))
        if action == "replace":
            value = set_at(value, path, draw(new_values))
        elif action == "transplant":
            value = set_at(value, path, copy.deepcopy(get_at(value, draw(st.sampled_from(places)))))
        elif action == "delete":
            value = delete_at(value, path)
        elif action == "insert" and isinstance(target, dict):
            target[draw(st.text(max_size=6) | st.sampled_from(sorted(target) or [""]))] = draw(new_values)
        elif action == "insert" and isinstance(target, list):
            target.insert(draw(st.integers(min_value=0, max_value=len(target))), draw(new_values))
        elif action == "wrap":
            value = set_at(value, path, [target])
        elif action == "duplicate" and isinstance(target, list) and target:
            target.append(copy.deepcopy(draw(st.sampled_from(target))))
        elif action == "tweak" and type(target) is int and target.bit_length() <= 128:  # str() of 10**5000 raises
            value = set_at(value, path, draw(st.sampled_from([target + 1, target - 1, -target, str(target), True])))
    return value


@st.composite
def mutated_text(draw: st.DrawFn, originals: list[Any]) -> str:
    """The JSON text of a :func:`mutated` document, sometimes edited as text too."""
    text = json.dumps(draw(mutated(originals)))
    edit = draw(st.sampled_from(["none", "none", "none", "drop", "insert", "cut"]))
    position = draw(st.integers(min_value=0, max_value=len(text)))
    if edit == "drop":
        return text[:position] + text[position + 1 :]
    if edit == "insert":
        return (
            text[:position]
            + draw(st.sampled_from(["[", "]", "{", "}", '"', ",", ":", "\\", "1e999", "-"]))
            + text[position:]
        )
    if edit == "cut":
        return text[:position]
    return text

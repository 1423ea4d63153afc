"""Strict, bounded JSON for the files a user hands the node: chain specs and keystore files.

Python's ``json`` accepts more than these files may hold, and fails in ways that are not
errors of this project: nesting deeper than the interpreter's recursion limit raises
``RecursionError``, an integer of more than 4,300 digits ``ValueError``, a large file costs
its size in memory before anything is checked. Here the text is bounded first (its size, then
its nesting depth, found without parsing), then parsed with no duplicate keys, no floats, NaN
or Infinity, and no integer longer than a u64's 20 digits; every refusal is one
:class:`JsonInputError` saying what is wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NoReturn

from runtime.errors import FlockError

MAX_INTEGER_DIGITS = 20  # 2^64 - 1 has 20 digits

# A string token, up to its closing quote or the end of the text (so that an unclosed string is
# consumed once, not rescanned at every later quote); brackets inside strings do not nest.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"[\[{][\]}]")


class JsonInputError(FlockError, ValueError):
    """Text that is not strict JSON within the caller's bounds; the message says what is wrong."""


def _fail(problem: str) -> NoReturn:
    raise JsonInputError(problem)


def read_bounded_text(path: Path, max_size: int) -> str:
    """The UTF-8 text of the file at ``path``, refused unread beyond ``max_size`` bytes.

    Raises ``OSError`` and ``UnicodeDecodeError`` as reading does, for the caller to word.
    """
    with Path(path).open("rb") as file:
        data = file.read(max_size + 1)
    if len(data) > max_size:
        _fail(f"larger than {_describe_size(max_size)}")
    return data.decode("utf-8")


def parse_json(text: str, *, max_size: int, max_depth: int) -> Any:
    """The JSON value of ``text``: at most ``max_size`` characters and ``max_depth`` nested
    objects and lists, objects without duplicate keys, integers of at most 20 digits and no
    other numbers."""
    if len(text) > max_size:
        _fail(f"larger than {_describe_size(max_size)}")
    _check_depth(text, max_depth)
    try:
        return json.loads(
            text, object_pairs_hook=_unique_keys, parse_int=_integer, parse_float=_no_float, parse_constant=_no_float
        )
    except json.JSONDecodeError as exc:
        _fail(f"not valid JSON: {exc}")


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse ``text`` if its objects and lists nest more than ``max_depth`` deep, or if it opens
    more than ``max_depth`` that it never closes (what would make the parser recurse).

    Each round deletes the innermost bracket pairs, so nesting ``d`` deep takes ``d`` rounds;
    regular expressions keep each round linear in the text, however hostile."""
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        brackets, removed = _INNERMOST_PAIR.subn("", brackets)
        if not removed:
            break
    unclosed = brackets.count("[") + brackets.count("{")
    if _INNERMOST_PAIR.search(brackets) or unclosed > max_depth:
        _fail(f"nested more than {max_depth} levels deep")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            _fail(f"the key {key!r} appears twice in one JSON object")
        data[key] = value
    return data


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        _fail(f"an integer of {digits} digits; integers have at most {MAX_INTEGER_DIGITS} (an unsigned 64-bit one)")
    return int(text)


def _no_float(text: str) -> NoReturn:
    _fail(f"{text} is not an integer; numbers are integers here (amounts in base units)")


def _describe_size(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"

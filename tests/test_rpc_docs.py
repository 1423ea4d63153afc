"""``docs/rpc.md``'s method reference is the registry's: it fails when either drifts."""

from __future__ import annotations

from pathlib import Path

from flockchain.rpc.docs import BEGIN_MARKER, END_MARKER, render_reference, replace_reference
from flockchain.rpc.registry import METHODS

DOC = Path(__file__).resolve().parent.parent / "docs" / "rpc.md"


def test_the_method_reference_in_docs_matches_the_registry() -> None:
    document = DOC.read_text()
    assert document == replace_reference(document), "run: python -m flockchain.rpc.docs docs/rpc.md"


def test_the_reference_documents_every_method_with_its_safety_and_an_example() -> None:
    reference = render_reference()
    for entry in METHODS:
        section = reference.split(f"##### `{entry.name}`\n", 1)[1].split("#####", 1)[0]
        assert ("· unsafe" in section) is entry.unsafe
        assert f'"method": "{entry.name}"' in section
    assert "##### `rpc_methods`" in reference


def test_the_hand_written_sections_stay() -> None:
    document = DOC.read_text()
    head, rest = document.split(BEGIN_MARKER)
    tail = rest.split(END_MARKER)[1]
    for section in ("## Limits", "## Errors", "### The pool, page by page", "## WebSocket and subscriptions"):
        assert section in head + tail

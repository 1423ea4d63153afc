"""``docs/rpc.md``'s method reference, generated from the method registry.

Each method's params come from its handler's signature (``name?`` when it may be left out),
its result from the handler's docstring, its safety and cost from the registry table, and its
example from the table's example params. The reference sits between two markers in
``docs/rpc.md``; the hand-written sections around it stay as written. ``tests/test_rpc_docs.py``
fails when the file and the registry drift apart; regenerate with::

    python -m flockchain.rpc.docs docs/rpc.md
"""

from __future__ import annotations

import inspect
import json
import sys
from itertools import groupby
from pathlib import Path
from typing import cast

from flockchain.rpc.api import NodeApi
from flockchain.rpc.jsonrpc import MethodInfo
from flockchain.rpc.registry import build_dispatcher

BEGIN_MARKER = "<!-- BEGIN GENERATED: method reference (python -m flockchain.rpc.docs docs/rpc.md) -->"
END_MARKER = "<!-- END GENERATED: method reference -->"
NAMESPACE_TITLES = {
    "author": "author: the transaction pool and the keystore",
    "chain": "chain: blocks and heads",
    "flock": "flock: staking, emission, governance and the ML markets, with state proofs",
    "grandpa": "grandpa: finality",
    "payment": "payment: fees",
    "rpc": "rpc",
    "state": "state: storage, proofs, metadata and runtime version",
    "system": "system: the node",
}


def describe_params(method: MethodInfo) -> str:
    names = [
        name if parameter.default is inspect.Parameter.empty else f"{name}?"
        for name, parameter in method.signature.parameters.items()
    ]
    return f"[{', '.join(names)}]"


def describe_result(method: MethodInfo) -> str:
    """The handler's docstring as one paragraph."""
    return " ".join(line.strip() for line in inspect.getdoc(method.handler).splitlines()).strip()  # type: ignore[union-attr]


def render_example(method: MethodInfo) -> str:
    request = {"jsonrpc": "2.0", "id": 1, "method": method.name, "params": list(method.example)}
    return json.dumps(request, ensure_ascii=False)


def render_method(method: MethodInfo) -> str:
    traits = ["unsafe" if method.unsafe else "safe"]
    if method.needs_session:
        traits.append("WebSocket only")
    if method.cost > 1:
        traits.append(f"costs {method.cost} in a batch")
    return "\n".join(
        [
            f"##### `{method.name}`",
            "",
            f"Params `{describe_params(method)}` · {' · '.join(traits)}",
            "",
            describe_result(method),
            "",
            f"```json\n{render_example(method)}\n```",
        ]
    )


def render_reference() -> str:
    """The method reference: every registered method, by namespace then name."""
    methods = build_dispatcher(cast(NodeApi, None)).describe_methods()
    sections = []
    for namespace, group in groupby(methods, key=lambda method: method.name.split("_")[0]):
        entries = list(group)
        sections.append(
            f"#### {NAMESPACE_TITLES.get(namespace, namespace)}\n\n" + "\n\n".join(map(render_method, entries))
        )
    return "\n\n".join(sections)


def replace_reference(document: str) -> str:
    """``document`` with the text between the markers replaced by the current reference."""
    head, begin, rest = document.partition(BEGIN_MARKER)
    _, end, tail = rest.partition(END_MARKER)
    if not begin or not end:
        raise ValueError(f"the document lacks the markers {BEGIN_MARKER!r} and {END_MARKER!r}")
    return f"{head}{BEGIN_MARKER}\n\n{render_reference()}\n\n{END_MARKER}{tail}"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path("docs/rpc.md")
    path.write_text(replace_reference(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

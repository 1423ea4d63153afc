"""The determinism rules for runtime/ and consensus/, checked on their source (DESIGN §2-3).

Both layers must compute the same result on every node: no I/O, no clocks, no randomness,
no floats, and no way back up into the node layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUARDED_PACKAGES = ("runtime", "consensus")
FORBIDDEN_MODULES = frozenset(
    {
        "trio",
        "libp2p",
        "plyvel",
        "torch",
        "time",
        "random",
        "os",
        "flockchain",
        # Other doors to the outside world or to non-determinism.
        "datetime",
        "secrets",
        "socket",
        "subprocess",
        "threading",
        "asyncio",
        "numpy",
    }
)


def find_violations(source: str, filename: str) -> list[str]:
    """Every forbidden import, float literal and ``float(`` call in ``source``."""
    violations = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""] if node.level == 0 else []
        else:
            modules = []
        for module in modules:
            if module.split(".")[0] in FORBIDDEN_MODULES:
                violations.append(f"{filename}:{node.lineno}: imports {module}")
        if isinstance(node, ast.Constant) and isinstance(node.value, (float, complex)):
            violations.append(f"{filename}:{node.lineno}: float literal {node.value!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
            violations.append(f"{filename}:{node.lineno}: calls float()")
    return violations


def guarded_files() -> list[Path]:
    return sorted(path for package in GUARDED_PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_guard_sees_the_source_tree() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in guarded_files()}
    assert "runtime/primitives/codec.py" in names
    assert "runtime/primitives/vrf.py" in names


def test_runtime_and_consensus_are_deterministic() -> None:
    violations = [
        violation
        for path in guarded_files()
        for violation in find_violations(path.read_text(), path.relative_to(ROOT).as_posix())
    ]
    assert violations == []


@pytest.mark.parametrize(
    "source",
    [
        "import time",
        "import os.path",
        "from random import randint",
        "from flockchain.db import schema",
        "import trio as t",
        "x = 0.5",
        "x = 1e9",
        "x = float(3)",
        "def f():\n    from plyvel import DB",
    ],
)
def test_guard_catches_violations(source: str) -> None:
    assert find_violations(source, "example.py")


def test_guard_accepts_integer_code() -> None:
    assert find_violations("from runtime.primitives import codec\nx = 10**9 // 3\n", "ok.py") == []

"""Pallets own their storage: no pallet imports another (``system``, the base every pallet builds
on, excepted) and no pallet names another pallet's storage items, not even system's. They reach
each other through the interfaces in ``runtime/framework/traits.py``, wired in ``construct.py``.

Checked on the source with an AST scan, as the determinism guard is; the scan is shown to catch
what it forbids.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from runtime.framework.storage import StorageMap, StorageValue
from runtime_helpers import RUNTIME

ROOT = Path(__file__).resolve().parent.parent
PALLETS = ROOT / "runtime" / "pallets"
BASE_PALLET = "system"


def get_storage_names() -> dict[str, set[str]]:
    """Each pallet module's name → the module-level names bound to its storage items."""
    names: dict[str, set[str]] = {}
    for pallet in RUNTIME.pallets.values():
        module = __import__(type(pallet).__module__, fromlist=["_"])
        items = {id(item) for item in pallet.STORAGE}
        names[module.__name__.rsplit(".", 1)[1]] = {
            name
            for name, value in vars(module).items()
            if isinstance(value, StorageValue | StorageMap) and id(value) in items
        }
    return names


def find_violations(source: str, module: str, storage: dict[str, set[str]]) -> list[str]:
    """Imports of other pallets (system excepted) and uses of other pallets' storage items."""
    aliases: dict[str, str] = {}  # local name -> pallet module it stands for
    violations = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in ("runtime.pallets", "runtime"):
            for alias in node.names:
                target = alias.name if node.module == "runtime.pallets" else None
                if node.module == "runtime" and alias.name == "pallets":
                    violations.append(f"{module}: imports runtime.pallets")
                if target is not None:
                    aliases[alias.asname or alias.name] = target
                    if target not in (module, BASE_PALLET):
                        violations.append(f"{module}: imports the {target} pallet")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("runtime.pallets."):
            target = (node.module or "").split(".")[2]
            if target not in (module, BASE_PALLET):
                violations.append(f"{module}: imports from the {target} pallet")
            for alias in node.names:
                if target != module and alias.name in storage.get(target, set()):
                    violations.append(f"{module}: imports {target}.{alias.name}, a storage item")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["runtime", "pallets"] and len(parts) > 2 and parts[2] not in (module, BASE_PALLET):
                    violations.append(f"{module}: imports the {parts[2]} pallet")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            target = aliases.get(node.value.id)
            if target is not None and target != module and node.attr in storage.get(target, set()):
                violations.append(f"{module}: reads {target}.{node.attr}, another pallet's storage item")
    return violations


def pallet_sources() -> list[tuple[str, str]]:
    return [(path.stem, path.read_text()) for path in sorted(PALLETS.glob("*.py")) if path.stem != "__init__"]


def test_every_pallet_module_is_scanned_and_declares_its_storage() -> None:
    storage = get_storage_names()
    assert {name for name, _ in pallet_sources()} == set(storage)
    assert storage["system"] >= {"Account", "Number", "Events"}
    assert storage["balances"] >= {"TotalIssuance", "Locks", "Holds"}


def test_no_pallet_imports_another_or_reads_its_storage() -> None:
    storage = get_storage_names()
    violations = [
        problem for module, source in pallet_sources() for problem in find_violations(source, module, storage)
    ]
    assert violations == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("from runtime.pallets import staking\n", "imports the staking pallet"),
        ("from runtime.pallets.session import get_keys\n", "imports from the session pallet"),
        ("import runtime.pallets.offences\n", "imports the offences pallet"),
        ("from runtime import pallets\n", "imports runtime.pallets"),
        ("from runtime.pallets import system\nsystem.Account.get(state, who)\n", "reads system.Account"),
        ("from runtime.pallets.system import Account\n", "imports system.Account, a storage item"),
        ("def f():\n    from runtime.pallets import balances\n", "imports the balances pallet"),
    ],
)
def test_the_scan_catches_what_it_forbids(source: str, problem: str) -> None:
    assert any(problem in violation for violation in find_violations(source, "governance", get_storage_names()))


def test_the_scan_allows_system_functions_and_own_storage() -> None:
    source = "from runtime.pallets import system\nsystem.get_account(state, who)\nProposals.get(state, 1)\n"
    assert find_violations(source, "governance", get_storage_names()) == []

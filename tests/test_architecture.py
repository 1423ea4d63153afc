"""The runtime's boundary, checked on the source: nothing outside ``runtime/`` imports a pallet (it
asks ``runtime/api.py``, or reads the metadata), and every storage item a pallet module defines
is listed in its pallet's ``STORAGE``, so the metadata describes all of the state.

Tests and ``bench/`` may import pallets: they drive the runtime from inside.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import runtime.pallets
from runtime.framework.pallet import Pallet
from runtime.framework.storage import StorageMap, StorageValue
from runtime.primitives.codec import U32

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE_PACKAGES = ("consensus", "flockchain", "genesis", "mlworker")
PALLETS_PACKAGE = "runtime.pallets"
IMPORTERS = frozenset({"import_module", "__import__"})


# --- nothing outside runtime/ imports a pallet --------------------------------------------


def is_pallets_module(module: str) -> bool:
    return module == PALLETS_PACKAGE or module.startswith(PALLETS_PACKAGE + ".")


def get_imported_modules(node: ast.AST) -> list[str]:
    """The modules an import statement (or a call of ``import_module`` with a literal) loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if function in IMPORTERS and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def find_pallet_imports(source: str, filename: str) -> list[str]:
    """Every import of ``runtime.pallets`` (or of a module in it) in ``source``."""
    return [
        f"{filename}:{getattr(node, 'lineno', 0)}: imports {module}"
        for node in ast.walk(ast.parse(source, filename))
        for module in get_imported_modules(node)
        if is_pallets_module(module)
    ]


def outside_files() -> list[Path]:
    return sorted(path for package in OUTSIDE_PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_the_scan_sees_the_source_tree() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in outside_files()}
    assert {"flockchain/cli/tx.py", "flockchain/cli/gov.py", "genesis/spec.py", "consensus/grandpa/voter.py"} <= names


def test_nothing_outside_the_runtime_imports_a_pallet() -> None:
    violations = [
        violation
        for path in outside_files()
        for violation in find_pallet_imports(path.read_text(), path.relative_to(ROOT).as_posix())
    ]
    assert violations == []


@pytest.mark.parametrize(
    "source",
    [
        "import runtime.pallets",
        "import runtime.pallets.balances",
        "import runtime.pallets.balances as b",
        "from runtime.pallets import balances",
        "from runtime.pallets.governance import Proposals",
        "from runtime import pallets",
        "def f():\n    from runtime.pallets import system",
        "importlib.import_module('runtime.pallets.staking')",
        "__import__('runtime.pallets')",
    ],
)
def test_the_scan_catches_a_pallet_import(source: str) -> None:
    assert find_pallet_imports(source, "example.py")


@pytest.mark.parametrize(
    "source",
    [
        "from runtime import api",
        "from runtime.framework.metadata import MetadataCodec",
        "import runtime.palletsx",
        "from runtime import pallet_names",
        "from . import pallets",
    ],
)
def test_the_scan_accepts_what_is_not_a_pallet_import(source: str) -> None:
    assert find_pallet_imports(source, "example.py") == []


# --- every storage item is in its pallet's STORAGE ----------------------------------------


def find_unlisted_storage(module: ModuleType, pallets: dict[str, type[Pallet]]) -> list[str]:
    """Storage items defined at ``module``'s top level that their pallet (by ``item.pallet``)
    does not list in ``STORAGE``: the metadata would not describe them."""
    problems = []
    for name, item in sorted(vars(module).items()):
        if not isinstance(item, StorageValue | StorageMap):
            continue
        pallet = pallets.get(item.pallet)
        if pallet is None:
            problems.append(f"{module.__name__}.{name}: no pallet is named {item.pallet!r}")
        elif not any(listed is item for listed in pallet.STORAGE):
            problems.append(f"{module.__name__}.{name}: not in {pallet.__name__}.STORAGE")
    return problems


def import_pallet_modules() -> list[ModuleType]:
    """Every module under ``runtime/pallets`` (a pallet may be a module or a package)."""
    walked = pkgutil.walk_packages(runtime.pallets.__path__, PALLETS_PACKAGE + ".")
    return [importlib.import_module(info.name) for info in walked]


def get_pallet_classes() -> dict[str, type[Pallet]]:
    """The pallets defined under ``runtime/pallets``, by name."""
    found: dict[str, type[Pallet]] = {}
    pending: list[type[Pallet]] = [Pallet]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if is_pallets_module(subclass.__module__):
                found[subclass.NAME] = subclass
    return found


def test_every_storage_item_of_a_pallet_module_is_in_its_pallets_storage() -> None:
    modules = import_pallet_modules()
    pallets = get_pallet_classes()
    assert {"system", "balances", "governance"} <= set(pallets)
    assert [problem for module in modules for problem in find_unlisted_storage(module, pallets)] == []


class Toy(Pallet):
    NAME = "toy"
    Listed: Any = StorageValue("toy", "Listed", U32, 0)
    STORAGE = (Listed,)


def test_the_storage_check_catches_an_unlisted_item() -> None:
    module = ModuleType("toy_pallet")
    module.Listed = Toy.Listed  # type: ignore[attr-defined]
    module.Forgotten = StorageMap("toy", "Forgotten", U32, U32)  # type: ignore[attr-defined]
    module.Stray = StorageValue("elsewhere", "Stray", U32)  # type: ignore[attr-defined]
    assert find_unlisted_storage(module, {"toy": Toy}) == [
        "toy_pallet.Forgotten: not in Toy.STORAGE",
        "toy_pallet.Stray: no pallet is named 'elsewhere'",
    ]

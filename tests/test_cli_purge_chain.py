"""``flockchain purge-chain`` as an operator runs it (through ``cli.main``)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from flockchain.abc import WriteBatch
from flockchain.cli import main
from flockchain.db import LevelDBStore


def make_database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    store = LevelDBStore(str(path))
    batch = WriteBatch()
    batch.put(b"\x14head", b"x")
    store.write(batch)
    store.close()


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A base path with the dev and local chains' databases and a keystore beside them."""
    make_database(tmp_path / "chains" / "dev" / "db")
    make_database(tmp_path / "chains" / "local" / "db")
    (tmp_path / "chains" / "dev" / "keystore").mkdir()
    return tmp_path


def purge(capsys: pytest.CaptureFixture[str], base: Path, *argv: str) -> tuple[int, str]:
    status = main(["purge-chain", "--base-path", str(base), *argv])
    return status, capsys.readouterr().out


def test_removes_only_the_chains_database(base, capsys):
    status, out = purge(capsys, base, "--chain", "dev", "-y")
    assert status == 0 and "removed" in out
    assert not (base / "chains" / "dev" / "db").exists()
    assert (base / "chains" / "dev" / "keystore").is_dir()
    assert (base / "chains" / "local" / "db").is_dir()


def test_asks_first_and_keeps_the_database_unless_told_yes(base, capsys, monkeypatch):
    database = base / "chains" / "dev" / "db"
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    status, out = purge(capsys, base)
    assert status == 1 and "Are you sure" in out and "Aborted" in out
    assert database.is_dir()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    status, out = purge(capsys, base)
    assert status == 0 and not database.exists()


def test_a_missing_database_is_not_an_error(tmp_path, capsys):
    status, out = purge(capsys, tmp_path, "-y")
    assert status == 0 and "did not exist" in out


def test_an_unknown_chain_is_one_error_line(tmp_path, capsys):
    assert main(["purge-chain", "--base-path", str(tmp_path), "--chain", str(tmp_path / "nope.json"), "-y"]) == 1
    assert capsys.readouterr().err.startswith("error: no chain spec")

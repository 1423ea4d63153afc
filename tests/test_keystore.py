"""The encrypted keystore: round trip, wrong passwords, tampering, file mode and atomic writes."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from flockchain.keystore import (
    DEFAULT_SCRYPT,
    KeystoreError,
    ScryptParams,
    load_key,
    read_password_file,
    save_key,
)
from genesis.dev_accounts import dev_keypair
from runtime.errors import FlockError
from runtime.primitives.address import encode_address
from runtime.primitives.keys import Keypair

FAST = ScryptParams(n=1 << 4, r=8, p=1)  # tests only: the default is n = 2^15
PASSWORD = "correct horse battery staple"


@pytest.fixture
def keypair() -> Keypair:
    return Keypair.from_seed(bytes(range(32)))


@pytest.fixture
def key_file(tmp_path: Path, keypair: Keypair) -> Path:
    return save_key(tmp_path / "keys", keypair, PASSWORD, scrypt=FAST)


def edit(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def flip_hex(value: str) -> str:
    """The same hex with the last nibble changed."""
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def test_round_trip(key_file: Path, keypair: Keypair) -> None:
    assert key_file.name == encode_address(keypair.public_key) + ".json"
    loaded = load_key(key_file, PASSWORD)
    assert (loaded.seed, loaded.public_key) == (keypair.seed, keypair.public_key)


def test_default_parameters_are_the_strong_ones(tmp_path: Path, keypair: Keypair) -> None:
    assert (DEFAULT_SCRYPT.n, DEFAULT_SCRYPT.r, DEFAULT_SCRYPT.p) == (1 << 15, 8, 1)
    path = save_key(tmp_path, keypair, PASSWORD)
    record = json.loads(path.read_text())
    assert record["version"] == 1
    assert record["address"] == encode_address(keypair.public_key)
    assert record["publicKey"] == "0x" + keypair.public_key.hex()
    crypto = record["crypto"]
    assert (crypto["kdf"], crypto["cipher"]) == ("scrypt", "chacha20-poly1305")
    params = crypto["kdfparams"]
    assert (params["n"], params["r"], params["p"], params["dklen"]) == (1 << 15, 8, 1, 32)
    assert len(bytes.fromhex(params["salt"][2:])) == 16
    assert len(bytes.fromhex(crypto["nonce"][2:])) == 12
    assert keypair.seed.hex() not in path.read_text()
    assert load_key(path, PASSWORD).seed == keypair.seed


def test_ciphertext_matches_the_documented_construction(key_file: Path, keypair: Keypair) -> None:
    """Anyone with the password can decrypt the file with standard tools."""
    crypto = json.loads(key_file.read_text())["crypto"]
    params = crypto["kdfparams"]
    key = Scrypt(salt=bytes.fromhex(params["salt"][2:]), length=32, n=params["n"], r=params["r"], p=params["p"]).derive(
        PASSWORD.encode()
    )
    seed = ChaCha20Poly1305(key).decrypt(
        bytes.fromhex(crypto["nonce"][2:]), bytes.fromhex(crypto["ciphertext"][2:]), keypair.public_key
    )
    assert seed == keypair.seed


def test_fresh_salt_and_nonce_per_file(tmp_path: Path, keypair: Keypair) -> None:
    first = json.loads(save_key(tmp_path / "a", keypair, PASSWORD, scrypt=FAST).read_text())["crypto"]
    second = json.loads(save_key(tmp_path / "b", keypair, PASSWORD, scrypt=FAST).read_text())["crypto"]
    assert first["kdfparams"]["salt"] != second["kdfparams"]["salt"]
    assert first["nonce"] != second["nonce"]
    assert first["ciphertext"] != second["ciphertext"]


def test_wrong_password(key_file: Path) -> None:
    with pytest.raises(KeystoreError, match="wrong password, or the file was tampered with"):
        load_key(key_file, PASSWORD + "!")
    assert issubclass(KeystoreError, FlockError)


TAMPERING: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("ciphertext", lambda r: r["crypto"].update(ciphertext=flip_hex(r["crypto"]["ciphertext"])), "wrong password"),
    (
        "salt",
        lambda r: r["crypto"]["kdfparams"].update(salt=flip_hex(r["crypto"]["kdfparams"]["salt"])),
        "wrong password",
    ),
    ("nonce", lambda r: r["crypto"].update(nonce=flip_hex(r["crypto"]["nonce"])), "wrong password"),
    ("kdf cost", lambda r: r["crypto"]["kdfparams"].update(n=1 << 5), "wrong password"),
    (
        "address",
        lambda r: r.update(address=encode_address(dev_keypair("bob").public_key)),
        "address does not match the public key",
    ),
    ("address checksum", lambda r: r.update(address=r["address"][:-1] + "x"), "bad address"),
    (
        "public key and address",
        lambda r: r.update(
            publicKey="0x" + dev_keypair("bob").public_key.hex(), address=encode_address(dev_keypair("bob").public_key)
        ),
        "wrong password",
    ),
    ("version", lambda r: r.update(version=2), "unsupported keystore version 2"),
    ("cipher", lambda r: r["crypto"].update(cipher="aes-128-ctr"), "unsupported kdf/cipher"),
    (
        "short ciphertext",
        lambda r: r["crypto"].update(ciphertext=r["crypto"]["ciphertext"][:-2]),
        "ciphertext must be 48 bytes",
    ),
    ("hex without 0x", lambda r: r["crypto"].update(nonce=r["crypto"]["nonce"][2:]), "nonce must be 0x-prefixed hex"),
    ("memory-hungry kdf", lambda r: r["crypto"]["kdfparams"].update(n=1 << 30), "needs more than 256 MiB"),
    ("n not a power of two", lambda r: r["crypto"]["kdfparams"].update(n=1000), "power of two"),
    ("boolean parameter", lambda r: r["crypto"]["kdfparams"].update(p=True), "kdfparams.p must be int"),
    ("dklen", lambda r: r["crypto"]["kdfparams"].update(dklen=16), "dklen must be 32"),
    ("not an object", lambda r: r.update(crypto=[]), "crypto must be an object"),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in TAMPERING], ids=[i for i, _, _ in TAMPERING])
def test_tampered_file_is_refused(key_file: Path, change: Callable[[dict[str, Any]], object], message: str) -> None:
    edit(key_file, change)
    with pytest.raises(KeystoreError, match=message):
        load_key(key_file, PASSWORD)


def test_seed_that_does_not_give_the_public_key_is_refused(key_file: Path, keypair: Keypair) -> None:
    """A file sealed (with the right password and public key as associated data) around another seed."""
    crypto = json.loads(key_file.read_text())["crypto"]
    params = crypto["kdfparams"]
    key = Scrypt(salt=bytes.fromhex(params["salt"][2:]), length=32, n=params["n"], r=params["r"], p=params["p"]).derive(
        PASSWORD.encode()
    )
    other = ChaCha20Poly1305(key).encrypt(bytes.fromhex(crypto["nonce"][2:]), bytes(32), keypair.public_key)
    edit(key_file, lambda r: r["crypto"].update(ciphertext="0x" + other.hex()))
    with pytest.raises(KeystoreError, match="decrypted seed does not give the stored public key"):
        load_key(key_file, PASSWORD)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="cannot read keystore file"):
        load_key(tmp_path / "missing.json", PASSWORD)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(KeystoreError, match="cannot read keystore file"):
        load_key(garbage, PASSWORD)


def test_file_is_private_and_written_atomically(key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert os.listdir(key_file.parent) == [key_file.name]  # no temporary file left behind


def test_failed_write_leaves_nothing(tmp_path: Path, keypair: Keypair, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_key(tmp_path, keypair, PASSWORD, scrypt=FAST)
    assert os.listdir(tmp_path) == []


def test_refusals(tmp_path: Path, key_file: Path, keypair: Keypair) -> None:
    with pytest.raises(KeystoreError, match="already exists"):
        save_key(key_file.parent, keypair, "another password", scrypt=FAST)
    assert load_key(key_file, PASSWORD).seed == keypair.seed
    with pytest.raises(KeystoreError, match="empty keystore password"):
        save_key(tmp_path, keypair, "", scrypt=FAST)
    with pytest.raises(KeystoreError, match="refusing to store //Alice"):
        save_key(tmp_path, dev_keypair("alice"), PASSWORD, scrypt=FAST)
    with pytest.raises(KeystoreError, match="power of two"):
        save_key(tmp_path, keypair, PASSWORD, scrypt=ScryptParams(n=3))


def test_password_file_drops_the_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("s3cret with spaces \n")
    assert read_password_file(path) == "s3cret with spaces "
    with pytest.raises(KeystoreError, match="cannot read password file"):
        read_password_file(tmp_path / "missing")

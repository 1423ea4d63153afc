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
from hypothesis import HealthCheck, given, settings
from json_mutations import mutated_text

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

FAST = ScryptParams(n=1 << 14, r=8, p=1)  # the cheapest that loads (16 MiB); the default is n = 2^15
PASSWORD = "correct horse battery staple"
# A valid file (the key of ``bytes(range(32))`` under PASSWORD, n = 2^14), for the property test.
VALID_RECORD = (Path(__file__).resolve().parent / "vectors" / "keystore_v1.json").read_text()


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


def test_the_version_1_vector_still_loads(tmp_path: Path, keypair: Keypair) -> None:
    path = tmp_path / "vector.json"
    path.write_text(VALID_RECORD)
    assert load_key(path, PASSWORD).seed == keypair.seed


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
    ("kdf cost", lambda r: r["crypto"]["kdfparams"].update(p=2), "wrong password"),
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
    with pytest.raises(KeystoreError, match=r"cannot write keystore file .*: disk full"):
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
    with path.open("wb") as file:
        file.truncate(1 << 40)
    with pytest.raises(KeystoreError, match=r"cannot read password file .*: larger than 64 KiB"):
        read_password_file(path)


# --- hostile files: every one a KeystoreError ---------------------------------------------


def write_keystore(path: Path, keypair: Keypair, password: str, n: int, r: int, p: int) -> Path:
    """A keystore file made by hand with the documented construction and any scrypt cost."""
    salt, nonce = os.urandom(16), os.urandom(12)
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode())
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, keypair.seed, keypair.public_key)
    kdfparams = {"n": n, "r": r, "p": p, "dklen": 32, "salt": "0x" + salt.hex()}
    crypto = {"kdf": "scrypt", "kdfparams": kdfparams, "cipher": "chacha20-poly1305"}
    crypto.update(nonce="0x" + nonce.hex(), ciphertext="0x" + ciphertext.hex())
    record = {"version": 1, "address": encode_address(keypair.public_key), "publicKey": "0x" + keypair.public_key.hex()}
    path.write_text(json.dumps({**record, "crypto": crypto}))
    return path


@pytest.mark.parametrize(("n", "r", "p"), [(1 << 4, 8, 1), (1 << 10, 8, 16), (1 << 15, 1, 1), (1 << 13, 8, 1)])
def test_a_cheap_kdf_is_refused(tmp_path: Path, keypair: Keypair, n: int, r: int, p: int) -> None:
    """Guessing the password of such a file is cheap: refuse it even with the right password."""
    path = write_keystore(tmp_path / "cheap.json", keypair, PASSWORD, n, r, p)
    with pytest.raises(KeystoreError, match=r"too cheap: scrypt must use at least 16 MiB"):
        load_key(path, PASSWORD)
    with pytest.raises(KeystoreError, match="too cheap"):
        save_key(tmp_path / "keys", keypair, PASSWORD, scrypt=ScryptParams(n, r, p))


COSTLY: list[tuple[dict[str, int], str]] = [
    ({"n": 1 << 21, "r": 1}, r"kdfparams\.n must be below 2\^16 when r is 1"),  # once MemoryError
    ({"n": 2, "r": 1 << 20, "p": 16}, r"kdfparams\.r must be 1 to 32, got 1048576"),  # once MemoryError
    ({"n": 1 << 17, "r": 32}, r"needs more than 256 MiB"),
    ({"n": 1 << 20, "r": 2, "p": 16}, r"too slow: 128\*n\*r\*p must be at most 512 MiB"),
    ({"n": 1 << 30}, r"needs more than 256 MiB"),
    ({"n": 1 << 64}, r"needs more than 256 MiB"),
    ({"n": 1000}, r"kdfparams\.n must be a power of two, got 1000"),
    ({"n": 0}, r"kdfparams\.n must be a power of two, got 0"),
    ({"r": 0}, r"kdfparams\.r must be 1 to 32, got 0"),
    ({"p": 0}, r"kdfparams\.p must be 1 to 16, got 0"),
    ({"p": 17}, r"kdfparams\.p must be 1 to 16, got 17"),
    ({"p": -1}, r"kdfparams\.p must be 1 to 16, got -1"),
]


@pytest.mark.parametrize(("change", "message"), COSTLY)
def test_kdf_parameters_out_of_bounds_are_refused_before_deriving(
    key_file: Path, change: dict[str, int], message: str
) -> None:
    edit(key_file, lambda r: r["crypto"]["kdfparams"].update(change))
    with pytest.raises(KeystoreError, match=message):
        load_key(key_file, PASSWORD)


NON_CANONICAL: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("version true", lambda r: r.update(version=True), r"unsupported keystore version True"),
    ("version a string", lambda r: r.update(version="1"), r"unsupported keystore version '1'"),
    ("uppercase hex", lambda r: r["crypto"].update(nonce="0x" + r["crypto"]["nonce"][2:].upper()), r"nonce must be 0x"),
    ("hex with spaces", lambda r: r["crypto"].update(nonce="0x " + r["crypto"]["nonce"][2:]), r"nonce must be 0x"),
    ("unknown field", lambda r: r.update(id="x"), r"unknown field 'id'"),
    ("unknown crypto field", lambda r: r["crypto"].update(mac="00"), r"crypto: unknown field 'mac'"),
    ("missing field", lambda r: r.pop("address"), r"the file: missing field 'address'"),
    ("dklen a boolean", lambda r: r["crypto"]["kdfparams"].update(dklen=True), r"kdfparams\.dklen must be 32"),
    ("kdf not a string", lambda r: r["crypto"].update(kdf=["scrypt"]), r"unsupported kdf/cipher"),
    ("a list", lambda r: r.clear(), r"the file: missing field 'version'"),
]


@pytest.mark.parametrize(
    ("change", "message"), [(c, m) for _, c, m in NON_CANONICAL], ids=[i for i, _, _ in NON_CANONICAL]
)
def test_non_canonical_fields_are_refused(
    key_file: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    edit(key_file, change)
    with pytest.raises(KeystoreError, match=message):
        load_key(key_file, PASSWORD)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": ' + "[" * 5_000 + "]" * 5_000 + "}", "nested more than 8 levels deep"),
        ('{"version": 1.0}', r"1\.0 is not an integer"),
        ('{"version": 1, "version": 1}', "the key 'version' appears twice"),
        ('{"version": ' + "9" * 5_000 + "}", "an integer of 5000 digits"),
        ("[]", "the file must be an object"),
    ],
    ids=["deep", "float", "duplicate key", "long integer", "not an object"],
)
def test_hostile_json_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(text)
    with pytest.raises(KeystoreError, match=message):
        load_key(path, PASSWORD)


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(1 << 40)  # sparse: a terabyte that takes no disk space
    with pytest.raises(KeystoreError, match=r"huge\.json: larger than 16 KiB"):
        load_key(path, PASSWORD)


@pytest.mark.parametrize("password", ["\ud800", "pass\udcffword"])
def test_a_password_that_is_not_unicode_is_refused(
    tmp_path: Path, key_file: Path, keypair: Keypair, password: str
) -> None:
    """What a terminal that is not UTF-8 gives ``getpass`` (undecodable bytes as lone surrogates)."""
    with pytest.raises(KeystoreError, match="the password is not valid Unicode text"):
        save_key(tmp_path / "other", keypair, password, scrypt=FAST)
    with pytest.raises(KeystoreError, match="the password is not valid Unicode text"):
        load_key(key_file, password)


def test_a_directory_open_to_others_is_refused(tmp_path: Path, keypair: Keypair) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(KeystoreError, match=r"shared is open to other users \(mode 0755\); chmod 700 it"):
        save_key(shared, keypair, PASSWORD, scrypt=FAST)
    assert os.listdir(shared) == []
    shared.chmod(0o700)
    path = save_key(shared, keypair, PASSWORD, scrypt=FAST)
    assert (stat.S_IMODE(shared.stat().st_mode), stat.S_IMODE(path.stat().st_mode)) == (0o700, 0o600)


def test_a_directory_that_cannot_be_made_is_a_keystore_error(tmp_path: Path, keypair: Keypair) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KeystoreError, match=r"cannot write keystore file .*file/"):
        save_key(blocker / "keys", keypair, PASSWORD, scrypt=FAST)
    with pytest.raises(KeystoreError, match=r"cannot write keystore file .*File name too long"):
        save_key(tmp_path / ("k" * 5_000), keypair, PASSWORD, scrypt=FAST)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(text=mutated_text([json.loads(VALID_RECORD)]))
def test_any_mutation_of_a_keystore_file_loads_or_is_a_keystore_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mutated.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_key(path, PASSWORD)
    except KeystoreError as exc:
        assert "\n" not in str(exc)

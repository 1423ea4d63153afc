"""Password-encrypted key files: one JSON file per key, named ``<SS58 address>.json``.

Format (version 1; ``docs/keys.md`` has an example)::

    {"version": 1, "address": SS58, "publicKey": 0x-hex,
     "crypto": {"kdf": "scrypt", "kdfparams": {"n", "r", "p", "dklen": 32, "salt": 0x-hex},
                "cipher": "chacha20-poly1305", "nonce": 0x-hex, "ciphertext": 0x-hex}}

The 32-byte ed25519 seed is sealed with ChaCha20-Poly1305 under a key stretched from the
password by scrypt (n = 2^15, r = 8, p = 1 by default: ~32 MiB and tens of milliseconds, so
guessing is slow), with a fresh random salt and nonce per file. The public key is the AEAD's
associated data, so a file whose public key was swapped fails authentication; a wrong
password or any change to salt, parameters, nonce or ciphertext fails it too. After
decryption the seed must give back the stored public key, and the address must encode it.

Files are written with mode 0600 through a temporary file and a rename, so a crash never
leaves half a key behind. The well-known dev keys are refused: a keystore holds real keys.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from genesis.dev_accounts import find_dev_name
from runtime.errors import FlockError, InvalidKey
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.keys import PUBLIC_KEY_SIZE, SEED_SIZE, Keypair

KEYSTORE_VERSION = 1
KDF = "scrypt"
CIPHER = "chacha20-poly1305"
KEY_SIZE = 32
SALT_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16
# Loading refuses costs beyond these, so a crafted file cannot make us spend gigabytes or minutes.
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
MAX_SCRYPT_P = 16


class KeystoreError(FlockError):
    """A key file that cannot be written, read, or decrypted (wrong password or tampered)."""


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost: memory is 128·n·r bytes. Lower ``n`` only in tests."""

    n: int = 1 << 15
    r: int = 8
    p: int = 1

    def check(self) -> None:
        if not (1 < self.n and self.n & (self.n - 1) == 0):
            raise KeystoreError(f"scrypt n must be a power of two above 1, got {self.n}")
        if not (0 < self.r and 0 < self.p <= MAX_SCRYPT_P):
            raise KeystoreError(f"scrypt needs r >= 1 and p in 1..{MAX_SCRYPT_P}")
        if 128 * self.n * self.r > MAX_SCRYPT_MEMORY:
            raise KeystoreError(f"scrypt n={self.n}, r={self.r} needs more than {MAX_SCRYPT_MEMORY >> 20} MiB")


DEFAULT_SCRYPT = ScryptParams()


def keystore_file_name(public_key: bytes) -> str:
    return f"{encode_address(public_key)}.json"


def save_key(directory: Path, keypair: Keypair, password: str, *, scrypt: ScryptParams = DEFAULT_SCRYPT) -> Path:
    """Encrypt ``keypair`` into ``directory/<address>.json`` (mode 0600) and return the path.

    Refuses an empty password, a dev key, and overwriting an existing file (whose password
    would otherwise be lost with the old salt).
    """
    if not password:
        raise KeystoreError("refusing an empty keystore password")
    dev_name = find_dev_name(keypair.public_key)
    if dev_name is not None:
        raise KeystoreError(f"refusing to store //{dev_name.capitalize()}: a well-known dev key is no secret")
    scrypt.check()
    directory = Path(directory)
    path = directory / keystore_file_name(keypair.public_key)
    if path.exists():
        raise KeystoreError(f"{path} already exists")
    record = _encrypt(keypair, password, scrypt)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_atomically(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return path


def load_key(path: Path, password: str) -> Keypair:
    """Decrypt the key file at ``path``; :class:`KeystoreError` says what is wrong."""
    try:
        record = json.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise KeystoreError(f"cannot read keystore file {path}: {exc}") from None
    try:
        return _decrypt(record, password)
    except KeystoreError as exc:
        raise KeystoreError(f"{path}: {exc}") from None


def read_password_file(path: Path) -> str:
    """The password in ``path``, without its trailing newline (as ``echo pw > file`` writes it)."""
    try:
        return Path(path).read_text("utf-8").rstrip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeystoreError(f"cannot read password file {path}: {exc}") from None


# --- encryption ---------------------------------------------------------------------------


def _derive_key(password: str, salt: bytes, scrypt: ScryptParams) -> bytes:
    return Scrypt(salt=salt, length=KEY_SIZE, n=scrypt.n, r=scrypt.r, p=scrypt.p).derive(password.encode("utf-8"))


def _encrypt(keypair: Keypair, password: str, scrypt: ScryptParams) -> dict[str, Any]:
    salt, nonce = os.urandom(SALT_SIZE), os.urandom(NONCE_SIZE)
    key = _derive_key(password, salt, scrypt)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, keypair.seed, keypair.public_key)
    return {
        "version": KEYSTORE_VERSION,
        "address": encode_address(keypair.public_key),
        "publicKey": _hex(keypair.public_key),
        "crypto": {
            "kdf": KDF,
            "kdfparams": {"n": scrypt.n, "r": scrypt.r, "p": scrypt.p, "dklen": KEY_SIZE, "salt": _hex(salt)},
            "cipher": CIPHER,
            "nonce": _hex(nonce),
            "ciphertext": _hex(ciphertext),
        },
    }


def _decrypt(record: Any, password: str) -> Keypair:
    """Check every field before the expensive KDF, then authenticate, then cross-check keys."""
    _expect(record, dict, "the file")
    if record.get("version") != KEYSTORE_VERSION:
        raise KeystoreError(f"unsupported keystore version {record.get('version')!r}")
    public_key = _field_bytes(record, "publicKey", PUBLIC_KEY_SIZE)
    try:
        address_key = decode_address(_expect(record.get("address"), str, "address"))
    except InvalidKey as exc:
        raise KeystoreError(f"bad address: {exc}") from None
    if address_key != public_key:
        raise KeystoreError("the address does not match the public key (tampered file?)")
    crypto = _expect(record.get("crypto"), dict, "crypto")
    if crypto.get("kdf") != KDF or crypto.get("cipher") != CIPHER:
        raise KeystoreError(f"unsupported kdf/cipher {crypto.get('kdf')!r}/{crypto.get('cipher')!r}")
    params = _expect(crypto.get("kdfparams"), dict, "kdfparams")
    scrypt = ScryptParams(*(_expect(params.get(name), int, f"kdfparams.{name}") for name in ("n", "r", "p")))
    scrypt.check()
    if params.get("dklen") != KEY_SIZE:
        raise KeystoreError(f"kdfparams.dklen must be {KEY_SIZE}")
    salt = _field_bytes(params, "salt", SALT_SIZE)
    nonce = _field_bytes(crypto, "nonce", NONCE_SIZE)
    ciphertext = _field_bytes(crypto, "ciphertext", SEED_SIZE + TAG_SIZE)
    key = _derive_key(password, salt, scrypt)
    try:
        seed = ChaCha20Poly1305(key).decrypt(nonce, ciphertext, public_key)
    except InvalidTag:
        raise KeystoreError("wrong password, or the file was tampered with") from None
    keypair = Keypair.from_seed(seed)
    if keypair.public_key != public_key:
        raise KeystoreError("the decrypted seed does not give the stored public key")
    return keypair


def _expect(value: Any, kind: type, name: str) -> Any:
    if type(value) is not kind:
        raise KeystoreError(f"{name} must be {'an object' if kind is dict else kind.__name__}")
    return value


def _field_bytes(record: dict[str, Any], name: str, size: int) -> bytes:
    value = record.get(name)
    try:
        if type(value) is not str or not value.startswith("0x"):
            raise ValueError
        data = bytes.fromhex(value[2:])
    except ValueError:
        raise KeystoreError(f"{name} must be 0x-prefixed hex") from None
    if len(data) != size:
        raise KeystoreError(f"{name} must be {size} bytes, got {len(data)}")
    return data


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file (mkstemp creates it 0600) in the same directory, fsync, rename, fsync the dir."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)

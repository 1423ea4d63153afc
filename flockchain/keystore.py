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

Files are written with mode 0600, in a directory only their owner may enter (0700), through a
temporary file and a rename, so a crash never leaves half a key behind. The well-known dev keys
are refused: a keystore holds real keys.

A key file may come from anyone, so loading refuses everything but the canonical form before it
spends anything: the text is bounded and strictly parsed (``genesis.strict_json``), every field
has its one JSON type and encoding, and scrypt's cost is bounded both ways (below, guessing the
password of a stolen file is cheap; above, a crafted file would take gigabytes or minutes, or
make OpenSSL refuse). Every refusal is a :class:`KeystoreError`.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from genesis.dev_accounts import find_dev_name
from genesis.strict_json import JsonInputError, parse_json, read_bounded_text
from runtime.errors import FlockError, InvalidKey
from runtime.primitives import vrf
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.keys import PUBLIC_KEY_SIZE, SEED_SIZE, Keypair

KEYSTORE_VERSION = 1
KDF = "scrypt"
CIPHER = "chacha20-poly1305"
KEY_SIZE = 32
SALT_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16
# A key file is about 600 bytes and nests 3 deep.
MAX_KEYSTORE_FILE_SIZE = 16 * 1024
MAX_KEYSTORE_DEPTH = 8
MAX_PASSWORD_FILE_SIZE = 64 * 1024
# scrypt's cost, bounded both ways; its memory is 128*n*r bytes and its time grows with 128*n*r*p.
MIN_SCRYPT_MEMORY = 16 * 1024 * 1024  # half the default: cheaper makes guessing a password cheap
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024
MAX_SCRYPT_WORK = 512 * 1024 * 1024  # about a second
MAX_SCRYPT_R = 32  # a larger block only slows scrypt's PBKDF2 steps
MAX_SCRYPT_P = 16

_RECORD_FIELDS = ("version", "address", "publicKey", "crypto")
_CRYPTO_FIELDS = ("kdf", "kdfparams", "cipher", "nonce", "ciphertext")
_KDFPARAMS_FIELDS = ("n", "r", "p", "dklen", "salt")


class KeystoreError(FlockError):
    """A key file that cannot be written, read, or decrypted (wrong password or tampered)."""


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost: memory is 128·n·r bytes. Tests lower ``n`` to the minimum, 2^14."""

    n: int = 1 << 15
    r: int = 8
    p: int = 1

    def check(self) -> None:
        """Refuse a cost outside the bounds (the module's constants), naming the file's field."""
        for name in ("n", "r", "p"):
            if type(getattr(self, name)) is not int:
                raise KeystoreError(f"kdfparams.{name} must be int")
        n, r, p = self.n, self.r, self.p
        if n < 2 or n & (n - 1):
            raise KeystoreError(f"kdfparams.n must be a power of two, got {n}")
        if not 1 <= r <= MAX_SCRYPT_R:
            raise KeystoreError(f"kdfparams.r must be 1 to {MAX_SCRYPT_R}, got {r}")
        if not 1 <= p <= MAX_SCRYPT_P:
            raise KeystoreError(f"kdfparams.p must be 1 to {MAX_SCRYPT_P}, got {p}")
        if n.bit_length() > 16 * r:  # RFC 7914 (and OpenSSL): n < 2^(128 r / 8)
            raise KeystoreError(f"kdfparams.n must be below 2^{16 * r} when r is {r} (RFC 7914)")
        memory = 128 * n * r
        if memory > MAX_SCRYPT_MEMORY:
            raise KeystoreError(f"kdfparams n={n}, r={r} needs more than {MAX_SCRYPT_MEMORY >> 20} MiB")
        if memory < MIN_SCRYPT_MEMORY:
            raise KeystoreError(
                f"kdfparams n={n}, r={r} is too cheap: scrypt must use at least {MIN_SCRYPT_MEMORY >> 20} MiB "
                "(128*n*r) so that guessing the password is slow"
            )
        if memory * p > MAX_SCRYPT_WORK:
            raise KeystoreError(
                f"kdfparams n={n}, r={r}, p={p} is too slow: 128*n*r*p must be at most {MAX_SCRYPT_WORK >> 20} MiB"
            )


DEFAULT_SCRYPT = ScryptParams()


def keystore_file_name(public_key: bytes) -> str:
    return f"{encode_address(public_key)}.json"


def save_key(directory: Path, keypair: Keypair, password: str, *, scrypt: ScryptParams = DEFAULT_SCRYPT) -> Path:
    """Encrypt ``keypair`` into ``directory/<address>.json`` (mode 0600) and return the path.

    Refuses an empty password, a dev key, a directory others may enter (it is created 0700),
    and overwriting an existing file (whose password would otherwise be lost with the old salt).
    """
    if not password:
        raise KeystoreError("refusing an empty keystore password")
    dev_name = find_dev_name(keypair.public_key)
    if dev_name is not None:
        raise KeystoreError(f"refusing to store //{dev_name.capitalize()}: a well-known dev key is no secret")
    scrypt.check()
    path = Path(directory) / keystore_file_name(keypair.public_key)
    record = _encrypt(keypair, password, scrypt)
    try:
        _write_new_private_file(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    except OSError as exc:
        raise KeystoreError(f"cannot write keystore file {path}: {exc}") from None
    return path


def load_key(path: Path, password: str) -> Keypair:
    """Decrypt the key file at ``path``; :class:`KeystoreError` says what is wrong."""
    try:
        text = read_bounded_text(path, MAX_KEYSTORE_FILE_SIZE)
        record = parse_json(text, max_size=MAX_KEYSTORE_FILE_SIZE, max_depth=MAX_KEYSTORE_DEPTH)
    except (OSError, UnicodeDecodeError, JsonInputError) as exc:
        raise KeystoreError(f"cannot read keystore file {path}: {exc}") from None
    try:
        return _decrypt(record, password)
    except KeystoreError as exc:
        raise KeystoreError(f"{path}: {exc}") from None


def read_password_file(path: Path) -> str:
    """The password in ``path``, without its trailing newline (as ``echo pw > file`` writes it)."""
    try:
        return read_bounded_text(path, MAX_PASSWORD_FILE_SIZE).rstrip("\n")
    except (OSError, UnicodeDecodeError, JsonInputError) as exc:
        raise KeystoreError(f"cannot read password file {path}: {exc}") from None


# --- the node's session keys --------------------------------------------------------------


class SessionKeystore:
    """The node's keystore (``<base path>/chains/<chain id>/keystore``, as Substrate lays it
    out): session keys that ``author_rotateKeys`` generates, one encrypted file per key.

    A session key is one ed25519 seed: its public key signs blocks and finality votes
    (Substrate's ``babe`` and ``gran`` keys) and its VRF key is derived from it, so the session
    keys ``session.set_keys`` takes are that public key and that VRF key. ``password`` None
    leaves the keystore locked: nothing can be written (a key file is never stored in clear).
    """

    def __init__(self, directory: Path, password: str | None, *, scrypt: ScryptParams = DEFAULT_SCRYPT) -> None:
        self.directory = directory
        self._password = password
        self._scrypt = scrypt

    def generate_session_keys(self) -> bytes:
        """A fresh key saved to the keystore; its session keys (signing key ‖ VRF key)."""
        if self._password is None:
            raise KeystoreError("the node's keystore is locked: start the node with --password-filename")
        keypair = Keypair.generate()
        save_key(self.directory, keypair, self._password, scrypt=self._scrypt)
        return keypair.public_key + vrf.public_key(keypair.derive_vrf_seed())

    def has_key(self, public_key: bytes) -> bool:
        """Whether the keystore holds a key file for ``public_key``."""
        return (self.directory / keystore_file_name(public_key)).is_file()


# --- encryption ---------------------------------------------------------------------------


def _derive_key(password: str, salt: bytes, scrypt: ScryptParams) -> bytes:
    try:
        secret = password.encode("utf-8")
    except UnicodeEncodeError:
        # What getpass returns for bytes a non-UTF-8 terminal sent: a lone surrogate per byte.
        raise KeystoreError("the password is not valid Unicode text (is the terminal's encoding UTF-8?)") from None
    return Scrypt(salt=salt, length=KEY_SIZE, n=scrypt.n, r=scrypt.r, p=scrypt.p).derive(secret)


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
    _check_fields(record, "the file", _RECORD_FIELDS)
    version = record["version"]
    if type(version) is not int or version != KEYSTORE_VERSION:
        raise KeystoreError(f"unsupported keystore version {version!r} (this node reads version {KEYSTORE_VERSION})")
    public_key = _field_bytes(record, "publicKey", PUBLIC_KEY_SIZE)
    address = _expect(record["address"], str, "address")
    try:
        address_key = decode_address(address)
    except InvalidKey as exc:
        raise KeystoreError(f"bad address: {exc}") from None
    if address_key != public_key:
        raise KeystoreError("the address does not match the public key (tampered file?)")
    if address != encode_address(public_key):
        raise KeystoreError(f"address must be written as the SS58 address {encode_address(public_key)}")
    crypto = record["crypto"]
    _check_fields(crypto, "crypto", _CRYPTO_FIELDS)
    if crypto["kdf"] != KDF or crypto["cipher"] != CIPHER:
        raise KeystoreError(f"unsupported kdf/cipher {crypto['kdf']!r}/{crypto['cipher']!r}")
    params = crypto["kdfparams"]
    _check_fields(params, "kdfparams", _KDFPARAMS_FIELDS)
    scrypt = ScryptParams(params["n"], params["r"], params["p"])
    scrypt.check()
    if type(params["dklen"]) is not int or params["dklen"] != KEY_SIZE:
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


def _check_fields(value: Any, name: str, fields: tuple[str, ...]) -> None:
    """``value`` is an object with exactly ``fields``: nothing missing, nothing unknown."""
    _expect(value, dict, name)
    for field in fields:
        if field not in value:
            raise KeystoreError(f"{name}: missing field {field!r}")
    for field in value:
        if field not in fields:
            raise KeystoreError(f"{name}: unknown field {field!r} (expected {', '.join(fields)})")


def _expect(value: Any, kind: type, name: str) -> Any:
    if type(value) is not kind:
        raise KeystoreError(f"{name} must be {'an object' if kind is dict else kind.__name__}")
    return value


def _field_bytes(record: dict[str, Any], name: str, size: int) -> bytes:
    """The bytes of a field written as ``_hex`` writes them (fromhex alone allows case and spaces)."""
    value = record[name]
    try:
        if type(value) is not str or not value.startswith("0x"):
            raise ValueError
        data = bytes.fromhex(value[2:])
        if value != _hex(data):
            raise ValueError
    except ValueError:
        raise KeystoreError(f"{name} must be 0x-prefixed hex (lowercase, no spaces)") from None
    if len(data) != size:
        raise KeystoreError(f"{name} must be {size} bytes, got {len(data)}")
    return data


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _write_new_private_file(path: Path, data: bytes) -> None:
    """Write ``path`` (0600) into a directory only its owner may enter, never over a file.

    A directory that exists open to others is refused rather than changed: it may be shared
    (``/tmp``), and what others could already see there is not for this call to judge."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        raise KeystoreError(f"{directory} is open to other users (mode {mode:04o}); chmod 700 it")
    if path.exists():
        raise KeystoreError(f"{path} already exists")
    _write_atomically(path, data)


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

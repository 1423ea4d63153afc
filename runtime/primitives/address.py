"""How accounts are written for people: SS58 addresses, as Substrate writes them.

An account id is a 32-byte ed25519 public key. It is shown as SS58
(base58 of ``prefix ‖ account id ‖ checksum``, the checksum being the first two bytes of
blake2b-512 of ``b"SS58PRE" ‖ prefix ‖ account id``), so that a typo is caught before money
moves, and so that Substrate tooling reads our addresses. The prefix is the chain spec's
``ss58Format`` property (42, Substrate's generic prefix, by default). Input also accepts
``0x``-prefixed hex of the 32 bytes.
"""

from __future__ import annotations

import hashlib

import base58

from runtime.errors import InvalidKey

ACCOUNT_ID_SIZE = 32
GENERIC_SS58_PREFIX = 42
_CHECKSUM_SIZE = 2


def _checksum(body: bytes) -> bytes:
    return hashlib.blake2b(b"SS58PRE" + body, digest_size=64).digest()[:_CHECKSUM_SIZE]


def encode_address(account_id: bytes, prefix: int = GENERIC_SS58_PREFIX) -> str:
    if len(account_id) != ACCOUNT_ID_SIZE:
        raise InvalidKey(f"an account id is {ACCOUNT_ID_SIZE} bytes, got {len(account_id)}")
    if not 0 <= prefix < 64:
        raise ValueError("only the one-byte SS58 prefixes 0..63 are supported")
    body = bytes([prefix]) + account_id
    return base58.b58encode(body + _checksum(body)).decode("ascii")


def decode_address(text: str, prefix: int | None = GENERIC_SS58_PREFIX) -> bytes:
    """The account id written as SS58 (checked against ``prefix`` unless it is None) or 0x-hex."""
    text = text.strip()
    if text.startswith("0x"):
        try:
            account_id = bytes.fromhex(text[2:])
        except ValueError:
            raise InvalidKey(f"{text!r} is not valid hex") from None
        if len(account_id) != ACCOUNT_ID_SIZE:
            raise InvalidKey(f"an account id is {ACCOUNT_ID_SIZE} bytes, got {len(account_id)}")
        return account_id
    try:
        raw = base58.b58decode(text)
    except ValueError:
        raise InvalidKey(f"{text!r} is neither an SS58 address nor 0x-hex") from None
    if len(raw) != 1 + ACCOUNT_ID_SIZE + _CHECKSUM_SIZE:
        raise InvalidKey(f"{text!r} is not a 32-byte-account SS58 address")
    body, checksum = raw[:-_CHECKSUM_SIZE], raw[-_CHECKSUM_SIZE:]
    if _checksum(body) != checksum:
        raise InvalidKey(f"{text!r} has a wrong checksum (a typo?)")
    if prefix is not None and body[0] != prefix:
        raise InvalidKey(f"{text!r} is an address for network prefix {body[0]}, not {prefix}")
    return body[1:]

"""SS58 account display."""

import pytest

from runtime.errors import InvalidKey
from runtime.primitives.address import decode_address, encode_address

ALICE_SR25519 = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")


def test_matches_substrate_generic_address() -> None:
    # Substrate's well-known Alice account under the generic prefix 42.
    assert encode_address(ALICE_SR25519) == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    assert decode_address("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY") == ALICE_SR25519


def test_hex_input_accepted() -> None:
    assert decode_address("0x" + ALICE_SR25519.hex()) == ALICE_SR25519


@pytest.mark.parametrize(
    "text, message",
    [
        ("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", "checksum"),
        ("0x1234", "32 bytes"),
        ("0xzz", "hex"),
        ("not-base58-0OIl", "neither"),
    ],
)
def test_bad_addresses_rejected(text: str, message: str) -> None:
    with pytest.raises(InvalidKey, match=message):
        decode_address(text)


def test_other_network_prefix_rejected() -> None:
    with pytest.raises(InvalidKey, match="prefix 0"):
        decode_address(encode_address(ALICE_SR25519, prefix=0))
    assert decode_address(encode_address(ALICE_SR25519, prefix=0), prefix=None) == ALICE_SR25519

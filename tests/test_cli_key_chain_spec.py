"""``flockchain key`` and ``flockchain chain-spec`` as a user runs them (through ``cli.main``)."""

from __future__ import annotations

import getpass
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from flockchain.chain.genesis import compute_genesis_hash
from flockchain.cli import main
from genesis.dev_accounts import dev_keypair
from genesis.spec import authority_entry, load_chain_spec
from runtime.accounts import EMISSION_RESERVE_ACCOUNT, FLOCK, TOTAL_SUPPLY, TREASURY_ACCOUNT
from runtime.primitives import vrf
from runtime.primitives.address import encode_address
from runtime.primitives.keys import Keypair

ALICE = dev_keypair("alice")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_error_line(result: tuple[int, str, str], *fragments: str) -> None:
    status, out, err = result
    assert status == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


def write_spec(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def dev_data() -> dict[str, Any]:
    return load_chain_spec("dev").to_dict()


def live_spec(tmp_path: Path) -> Path:
    """A valid Live chain spec: one fresh authority, no dev keys."""
    keypair = Keypair.from_seed(bytes(range(32)))
    authority = encode_address(keypair.public_key)
    data = dev_data()
    data.update(name="Live", id="live", chainType="Live")
    runtime = data["genesis"]["runtime"]
    runtime["session"]["authorities"] = [authority_entry(keypair)]
    runtime["staking"].update(minValidatorBond=1_000 * FLOCK, stakers=[[authority, 1_000 * FLOCK, 0]])
    runtime["balances"]["balances"] = [
        [authority, 1_000 * FLOCK],
        [encode_address(TREASURY_ACCOUNT), 1_000 * FLOCK],
        [encode_address(EMISSION_RESERVE_ACCOUNT), TOTAL_SUPPLY - 2_000 * FLOCK],
    ]
    return write_spec(tmp_path / "live.json", data)


# --- chain-spec ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "local"])
def test_build_prints_the_canonical_spec(capsys: pytest.CaptureFixture[str], name: str) -> None:
    status, out, _ = run(capsys, "chain-spec", "build", "--chain", name)
    assert status == 0
    assert out == load_chain_spec(name).to_json()


def test_build_raw_adds_storage_and_hash_and_validates(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = run(capsys, "chain-spec", "build", "--chain", "local", "--raw")
    assert status == 0
    raw = json.loads(out)
    assert raw["genesisHash"] == "0x" + compute_genesis_hash(load_chain_spec("local")).hex()
    assert raw["genesis"]["raw"]["top"] and raw["genesis"]["runtime"]
    path = tmp_path / "raw.json"
    path.write_text(out)
    assert run(capsys, "chain-spec", "validate", "--chain", str(path)) == (0, "ok\n", "")


def test_inspect_summarises_the_genesis(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "chain-spec", "inspect", "--chain", "local")
    assert status == 0
    spec = load_chain_spec("local")
    assert f"Genesis hash:  0x{compute_genesis_hash(spec).hex()}" in out
    assert "Chain type:    Local" in out
    assert f"Authorities:   {encode_address(ALICE.public_key)} (//Alice)" in out
    assert f"{encode_address(dev_keypair('dave').public_key)} (//Dave)" in out
    assert f"Total supply:  1000000000 FLOCK ({TOTAL_SUPPLY} base units)" in out
    assert "Token:         FLOCK, 9 decimals, SS58 format 42" in out
    assert "State root:    0x" in out


def test_validate_accepts_a_good_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_spec(tmp_path / "spec.json", dev_data())
    assert run(capsys, "chain-spec", "validate", "--chain", str(path)) == (0, "ok\n", "")


def test_unknown_spec_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_error_line(run(capsys, "chain-spec", "inspect", "--chain", "dve"), "no chain spec 'dve'")


def test_malformed_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",')
    assert_one_error_line(run(capsys, "chain-spec", "validate", "--chain", str(path)), "not valid JSON")


def test_wrong_total_supply(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = dev_data()
    data["genesis"]["runtime"]["balances"]["balances"][0][1] += 1
    path = write_spec(tmp_path / "spec.json", data)
    assert_one_error_line(
        run(capsys, "chain-spec", "validate", "--chain", str(path)),
        "genesis.runtime.balances.balances:",
        "off by +1",
    )


def test_unknown_pallet_section(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = dev_data()
    data["genesis"]["runtime"]["balance"] = {}
    path = write_spec(tmp_path / "spec.json", data)
    assert_one_error_line(
        run(capsys, "chain-spec", "build", "--chain", str(path)), "genesis.runtime.balance: no pallet named"
    )


def test_duplicate_accounts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = dev_data()
    entries = data["genesis"]["runtime"]["balances"]["balances"]
    entries[1][1] -= FLOCK
    entries.append([entries[1][0], FLOCK])
    path = write_spec(tmp_path / "spec.json", data)
    assert_one_error_line(run(capsys, "chain-spec", "validate", "--chain", str(path)), "is listed twice (first at [1])")


def hostile_spec_texts() -> list[tuple[str, str, str]]:
    """(id, file text, what its error line says): files that once escaped as Python's own errors."""
    text = json.dumps(dev_data())
    staker = encode_address(ALICE.public_key)
    return [
        ("deep", "[" * 100_000 + "]" * 100_000, "chain spec: nested more than 16 levels deep"),
        ("long integer", text.replace("2400", "9" * 5_000), "an integer of 5000 digits"),
        (
            "staker address a number",
            text.replace(f'[["{staker}", 100000000000000, ', "[[5, 100000000000000, "),
            "stakers[0][0]: expected an SS58 address",
        ),
        (
            "staker a string",
            text.replace(f'[["{staker}", 100000000000000, 50000000]]', '["x"]'),
            "stakers[0]: expected [",
        ),
        ("lone surrogate", text.replace('"Development"', '"\\ud800"', 1), "not valid Unicode"),
    ]


@pytest.mark.parametrize(
    ("text", "fragment"), [(t, f) for _, t, f in hostile_spec_texts()], ids=[i for i, _, _ in hostile_spec_texts()]
)
@pytest.mark.parametrize(
    "argv",
    [["chain-spec", "validate"], ["chain-spec", "inspect"], ["chain-spec", "build"], ["key", "inspect", "//Bob"]],
)
def test_hostile_spec_files_give_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], text: str, fragment: str
) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(text)
    assert_one_error_line(run(capsys, *argv, "--chain", str(path)), fragment)


def test_a_spec_name_too_long_for_the_file_system(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_error_line(run(capsys, "chain-spec", "validate", "--chain", "a" * 5_000), "File name too long")


# --- key generate -------------------------------------------------------------------------


def test_generate_json_is_consistent(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "key", "generate", "--output-type", "json")
    assert status == 0
    info = json.loads(out)
    keypair = Keypair.from_seed(bytes.fromhex(info["secretSeed"][2:]))
    assert info["publicKey"] == "0x" + keypair.public_key.hex()
    assert info["ss58Address"] == encode_address(keypair.public_key)
    assert info["vrfPublicKey"] == "0x" + vrf.public_key(keypair.derive_vrf_seed()).hex()
    assert "devKey" not in info


def test_generate_text_and_fresh_keys(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "key", "generate")[1]
    second = run(capsys, "key", "generate")[1]
    assert first != second
    labels = [line.split(":")[0] for line in first.splitlines()]
    assert labels == ["Secret seed", "Public key (hex)", "SS58 address", "VRF public key"]


def test_generate_into_keystore_and_inspect_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("hunter2\n")
    status, out, _ = run(
        capsys,
        "key",
        "generate",
        "--keystore",
        str(tmp_path / "keys"),
        "--password-file",
        str(password),
        "--output-type",
        "json",
    )
    assert status == 0
    generated = json.loads(out)
    key_file = Path(generated["keystoreFile"])
    assert key_file == tmp_path / "keys" / f"{generated['ss58Address']}.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    status, out, _ = run(
        capsys, "key", "inspect", str(key_file), "--password-file", str(password), "--output-type", "json"
    )
    assert status == 0
    assert json.loads(out) == {
        field: generated[field] for field in ("secretSeed", "publicKey", "ss58Address", "vrfPublicKey")
    }

    password.write_text("wrong\n")
    assert_one_error_line(
        run(capsys, "key", "inspect", str(key_file), "--password-file", str(password)), "wrong password"
    )


def test_generate_password_file_needs_a_keystore(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert_one_error_line(
        run(capsys, "key", "generate", "--password-file", str(tmp_path / "password")), "give --keystore DIR too"
    )


def test_generate_with_no_terminal_for_the_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def end_of_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", end_of_input)
    assert_one_error_line(
        run(capsys, "key", "generate", "--keystore", str(tmp_path / "keys")), "no password: the input ended"
    )


def test_generate_into_a_directory_that_cannot_be_made(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("hunter2\n")
    argv = ["key", "generate", "--keystore", str(password / "keys"), "--password-file", str(password)]
    assert_one_error_line(run(capsys, *argv), "cannot write keystore file", "Not a directory")


def test_inspect_hostile_keystore_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("hunter2\n")
    deep = tmp_path / "deep.json"
    deep.write_text('{"version": ' + "[" * 5_000 + "]" * 5_000 + "}")
    argv = ["key", "inspect", str(deep), "--password-file", str(password)]
    assert_one_error_line(run(capsys, *argv), "nested more than 8 levels deep")
    assert_one_error_line(run(capsys, "key", "inspect", "a" * 5_000), "is not a 0x-hex seed or public key")


# --- key inspect --------------------------------------------------------------------------


def test_inspect_dev_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "key", "inspect", "//Alice", "--output-type", "json")
    assert status == 0
    assert json.loads(out) == {
        "secretSeed": "0x" + ALICE.seed.hex(),
        "publicKey": "0x" + ALICE.public_key.hex(),
        "ss58Address": encode_address(ALICE.public_key),
        "vrfPublicKey": "0x" + vrf.public_key(ALICE.derive_vrf_seed()).hex(),
        "devKey": "//Alice",
    }


def test_inspect_secret_seed(capsys: pytest.CaptureFixture[str]) -> None:
    keypair = Keypair.from_seed(bytes(range(32)))
    status, out, _ = run(capsys, "key", "inspect", "0x" + keypair.seed.hex())
    assert status == 0
    assert f"SS58 address:     {encode_address(keypair.public_key)}" in out
    assert f"Secret seed:      0x{keypair.seed.hex()}" in out


@pytest.mark.parametrize("form", ["ss58", "hex"])
def test_inspect_public_forms_show_no_secret(capsys: pytest.CaptureFixture[str], form: str) -> None:
    argv = [encode_address(ALICE.public_key)] if form == "ss58" else ["0x" + ALICE.public_key.hex(), "--public"]
    status, out, _ = run(capsys, "key", "inspect", *argv, "--output-type", "json")
    assert status == 0
    assert json.loads(out) == {
        "publicKey": "0x" + ALICE.public_key.hex(),
        "ss58Address": encode_address(ALICE.public_key),
        "devKey": "//Alice",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["//Zed"], "'//Zed' is not a dev key"),
        (["0x1234"], "a seed or public key is 32 bytes, got 2"),
        (["0xzz"], "is not valid hex"),
        (["0x" + "00" * 32, "--public"], "is not a valid ed25519 public key"),
        (["not-a-key"], "is not a 0x-hex seed or public key, an SS58 address"),
    ],
)
def test_inspect_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert_one_error_line(run(capsys, "key", "inspect", *argv), message)


def test_dev_keys_only_with_development_specs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    live = str(live_spec(tmp_path))
    assert run(capsys, "key", "inspect", "//Bob", "--chain", "local")[0] == 0
    assert_one_error_line(
        run(capsys, "key", "inspect", "//Bob", "--chain", live), "//Bob is a well-known dev key", "not a Live chain"
    )
    assert_one_error_line(
        run(capsys, "key", "inspect", encode_address(ALICE.public_key), "--chain", live),
        "//Alice is a well-known dev key",
    )
    stranger = "0x" + bytes(range(32)).hex()
    assert run(capsys, "key", "inspect", stranger, "--chain", live)[0] == 0

"""Chain specs: the shipped specs, validation errors, the genesis block and the export round trip."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from json_mutations import mutated, mutated_text

from flockchain.chain.genesis import compute_genesis_hash, compute_genesis_header, compute_state_root, to_raw_json
from genesis.dev_accounts import (
    DEV_ACCOUNT_NAMES,
    DevKeyError,
    check_dev_key_allowed,
    dev_keypair,
    dev_seed,
    find_dev_name,
)
from genesis.spec import (
    SHIPPED_SPECS,
    ChainSpec,
    GenesisError,
    authority_entry,
    build_genesis_state,
    export_runtime_genesis,
    load_chain_spec,
    parse_chain_spec,
    read_genesis_state,
    validate,
)
from runtime.accounts import EMISSION_RESERVE_ACCOUNT, FLOCK, TOTAL_SUPPLY, TREASURY_ACCOUNT
from runtime.construct import construct_runtime
from runtime.errors import FlockError
from runtime.pallets import balances, session, system
from runtime.primitives.address import decode_address, encode_address
from runtime.primitives.hashing import ZERO_HASH, blake2b_256
from runtime.primitives.keys import Keypair

SPECS_DIR = Path(__file__).resolve().parent.parent / "genesis" / "specs"


def spec_dict(name: str = "dev") -> dict[str, Any]:
    return json.loads((SPECS_DIR / f"{name}.json").read_text())


def address_of(name: str) -> str:
    return encode_address(dev_keypair(name).public_key)


def genesis_balances(spec: ChainSpec) -> dict[bytes, int]:
    return {decode_address(address): amount for address, amount in spec.runtime_genesis["balances"]["balances"]}


# --- dev keys -----------------------------------------------------------------------------


def test_dev_keys_follow_the_documented_derivation() -> None:
    for name in DEV_ACCOUNT_NAMES:
        seed = blake2b_256(b"flockchain dev key " + name.encode())
        assert dev_seed(name) == seed
        assert dev_keypair(name).public_key == Keypair.from_seed(seed).public_key


def test_dev_key_names_accept_substrate_spelling() -> None:
    assert dev_keypair("//Alice").public_key == dev_keypair("alice").public_key == dev_keypair("ALICE").public_key
    assert len({dev_keypair(name).public_key for name in DEV_ACCOUNT_NAMES}) == len(DEV_ACCOUNT_NAMES)


def test_unknown_dev_key_name_is_refused() -> None:
    with pytest.raises(DevKeyError, match="//Alice, //Bob"):
        dev_keypair("zed")


def test_dev_keys_are_refused_outside_development_chains() -> None:
    alice = dev_keypair("alice").public_key
    assert find_dev_name(alice) == "alice"
    assert find_dev_name(Keypair.from_seed(bytes(32)).public_key) is None
    check_dev_key_allowed(alice, "Development")
    check_dev_key_allowed(alice, "Local")
    with pytest.raises(DevKeyError, match="//Alice is a well-known dev key"):
        check_dev_key_allowed(alice, "Live")
    assert issubclass(DevKeyError, FlockError)


# --- the shipped specs --------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_shipped_spec_files_are_canonical(name: str) -> None:
    spec = load_chain_spec(name)
    assert spec.to_json() == (SPECS_DIR / f"{name}.json").read_text()
    assert spec.to_json().endswith("}\n")
    assert spec.properties == {"tokenSymbol": "FLOCK", "tokenDecimals": 9, "ss58Format": 42}
    assert spec.boot_nodes == ()
    assert spec.is_development


def test_shipped_spec_identities() -> None:
    dev, local = load_chain_spec("dev"), load_chain_spec("local")
    assert (dev.name, dev.id, dev.chain_type) == ("Development", "dev", "Development")
    assert (local.name, local.id, local.chain_type) == ("Local Testnet", "local", "Local")
    assert dev.runtime_genesis["session"]["authorities"] == [authority_entry(dev_keypair("alice"))]
    assert local.runtime_genesis["session"]["authorities"] == [
        authority_entry(dev_keypair(n)) for n in ("alice", "bob", "charlie", "dave")
    ]


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_genesis_holds_exactly_the_total_supply(name: str) -> None:
    spec = load_chain_spec(name)
    amounts = genesis_balances(spec)
    assert sum(amounts.values()) == TOTAL_SUPPLY
    for dev_name in DEV_ACCOUNT_NAMES:
        assert amounts[dev_keypair(dev_name).public_key] == 1_000_000 * FLOCK
    assert amounts[TREASURY_ACCOUNT] > 0
    assert amounts[EMISSION_RESERVE_ACCOUNT] == TOTAL_SUPPLY - sum(
        amount for account, amount in amounts.items() if account != EMISSION_RESERVE_ACCOUNT
    )
    state = read_genesis_state(build_genesis_state(spec))
    assert balances.get_total_issuance(state) == TOTAL_SUPPLY
    assert sum(info.total for _, info in system.Account.iter(state)) == TOTAL_SUPPLY


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_genesis_state_passes_every_invariant(name: str) -> None:
    state = read_genesis_state(build_genesis_state(load_chain_spec(name)))
    assert construct_runtime().try_state(state) == []


# --- the genesis block --------------------------------------------------------------------


def test_genesis_hash_is_deterministic_and_differs_between_chains() -> None:
    first = [compute_genesis_hash(load_chain_spec(name)) for name in SHIPPED_SPECS]
    second = [compute_genesis_hash(load_chain_spec(name)) for name in SHIPPED_SPECS]
    assert first == second
    assert len(set(first)) == len(SHIPPED_SPECS)


def test_genesis_header_commits_only_to_the_state() -> None:
    spec = load_chain_spec("dev")
    header = compute_genesis_header(spec)
    assert (header.parent_hash, header.number, header.slot, header.timestamp) == (ZERO_HASH, 0, 0, 0)
    assert header.extrinsics_root == ZERO_HASH
    assert header.author == bytes(32) and header.seal == bytes(64) and header.digests == ()
    assert header.state_root == compute_state_root(build_genesis_state(spec)) != ZERO_HASH
    assert header.hash == compute_genesis_hash(spec)


def test_any_genesis_change_changes_the_hash() -> None:
    data = spec_dict()
    data["genesis"]["runtime"]["timestamp"]["minimumPeriod"] += 1
    assert compute_genesis_hash(validate(data)) != compute_genesis_hash(load_chain_spec("dev"))


def test_name_and_boot_nodes_do_not_change_the_genesis_hash() -> None:
    data = spec_dict()
    data["name"] = "Renamed"
    data["bootNodes"] = ["/ip4/127.0.0.1/tcp/30333/p2p/12D3KooWExample"]
    assert compute_genesis_hash(validate(data)) == compute_genesis_hash(load_chain_spec("dev"))


# --- export round trip --------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_export_gives_back_the_runtime_section(name: str) -> None:
    spec = load_chain_spec(name)
    exported = export_runtime_genesis(build_genesis_state(spec))
    assert exported == spec.runtime_genesis
    rebuilt = validate({**spec.to_dict(), "genesis": {"runtime": exported}})
    assert compute_genesis_hash(rebuilt) == compute_genesis_hash(spec)


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_raw_spec_round_trips_and_pins_its_state(name: str) -> None:
    spec = load_chain_spec(name)
    raw = json.loads(to_raw_json(spec))
    assert raw["genesisHash"] == "0x" + compute_genesis_hash(spec).hex()
    assert raw["genesis"]["runtime"] == spec.runtime_genesis
    assert len(raw["genesis"]["raw"]["top"]) == len(build_genesis_state(spec))
    parsed = parse_chain_spec(to_raw_json(spec))
    assert parsed == spec
    assert parsed.pinned_genesis_hash == compute_genesis_hash(spec)


def test_raw_spec_with_altered_storage_is_refused() -> None:
    raw = json.loads(to_raw_json(load_chain_spec("dev")))
    key = next(iter(raw["genesis"]["raw"]["top"]))
    raw["genesis"]["raw"]["top"][key] = "0x00"
    with pytest.raises(GenesisError, match=r"genesis\.raw\.top: does not match .* \(2 entries differ\)"):
        validate(raw)


def test_pinned_genesis_hash_must_match() -> None:
    """The spec keeps the hash it pins; the node (which alone computes state roots) refuses a
    spec whose genesis builds to another."""
    data = spec_dict()
    data["genesisHash"] = "0x" + "11" * 32
    with pytest.raises(GenesisError, match="genesisHash: the spec pins 0x1111"):
        compute_genesis_header(validate(data))
    data["genesisHash"] = "0x" + compute_genesis_hash(load_chain_spec("dev")).hex()
    assert compute_genesis_header(validate(data)) == compute_genesis_header(load_chain_spec("dev"))
    data["genesisHash"] = "0x1111"
    with pytest.raises(GenesisError, match="genesisHash: expected 32 bytes"):
        validate(data)


def test_the_genesis_package_imports_nothing_from_the_node() -> None:
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "genesis"
    imported = {
        node.module or ""
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not [module for module in imported if module.split(".")[0] == "flockchain"]


# --- validation ---------------------------------------------------------------------------


def runtime_of(data: dict[str, Any]) -> dict[str, Any]:
    return data["genesis"]["runtime"]


def move_funds(data: dict[str, Any], amount: int) -> None:
    """Add ``amount`` to the first entry and take it from the emission reserve, keeping the total."""
    entries = runtime_of(data)["balances"]["balances"]
    reserve = encode_address(EMISSION_RESERVE_ACCOUNT)
    entries[0][1] += amount
    next(entry for entry in entries if entry[0] == reserve)[1] -= amount


def duplicate_account(data: dict[str, Any]) -> None:
    entries = runtime_of(data)["balances"]["balances"]
    entries[0][1] -= FLOCK
    entries.append([entries[0][0], FLOCK])


def live_with_alice(data: dict[str, Any]) -> None:
    data["chainType"] = "Live"


Mutation = Callable[[dict[str, Any]], object]

INVALID: list[tuple[str, Mutation, str]] = [
    ("top level not an object", lambda d: d.clear() or d.update({"x": 1}), r"^name: missing"),
    ("missing name", lambda d: d.pop("name"), r"^name: missing"),
    ("unknown top-level field", lambda d: d.update(telemetry=[]), r"^telemetry: unknown field"),
    ("empty name", lambda d: d.update(name=" "), r"^name: expected a non-empty string"),
    ("id with a path", lambda d: d.update(id="../etc"), r"^id: expected 1-64 characters"),
    ("unknown chain type", lambda d: d.update(chainType="Prod"), r"^chainType: 'Prod' is not one of"),
    (
        "boot node not a multiaddr",
        lambda d: d.update(bootNodes=["localhost:30333"]),
        r"^bootNodes\[0\]: expected a multiaddr",
    ),
    ("token decimals", lambda d: d["properties"].update(tokenDecimals=12), r"^properties\.tokenDecimals: must be 9"),
    ("ss58 format", lambda d: d["properties"].update(ss58Format=0), r"^properties\.ss58Format: must be 42"),
    ("missing token symbol", lambda d: d["properties"].pop("tokenSymbol"), r"^properties\.tokenSymbol: missing"),
    ("raw only", lambda d: d["genesis"].pop("runtime"), r"^genesis\.runtime: missing"),
    (
        "unknown pallet section",
        lambda d: runtime_of(d).update(no_such_pallet={}),
        r"^genesis\.runtime\.no_such_pallet: no pallet named 'no_such_pallet'",
    ),
    ("missing pallet section", lambda d: runtime_of(d).pop("treasury"), r"^genesis\.runtime\.treasury: missing"),
    (
        "unknown section field",
        lambda d: runtime_of(d)["timestamp"].update(minimumPeriodMs=1),
        r"^genesis\.runtime\.timestamp\.minimumPeriodMs: unknown field",
    ),
    (
        "missing section field",
        lambda d: runtime_of(d)["system"].pop("blockHashCount"),
        r"^genesis\.runtime\.system\.blockHashCount: missing",
    ),
    (
        "string for a number",
        lambda d: runtime_of(d)["timestamp"].update(minimumPeriod="500"),
        r"^genesis\.runtime\.timestamp\.minimumPeriod: expected an integer, got a string",
    ),
    (
        "boolean for a number",
        lambda d: runtime_of(d)["timestamp"].update(minimumPeriod=True),
        r"minimumPeriod: expected an integer, got a boolean",
    ),
    (
        "negative number",
        lambda d: runtime_of(d)["timestamp"].update(minimumPeriod=-1),
        r"minimumPeriod: expected an unsigned 64-bit integer",
    ),
    (
        "number beyond u64",
        lambda d: runtime_of(d)["system"].update(maxBlockWeight=1 << 64),
        r"maxBlockWeight: expected an unsigned 64-bit integer",
    ),
    (
        "number beyond the field",
        lambda d: runtime_of(d)["system"].update(maxBlockLength=1 << 40),
        r"^genesis\.runtime does not build",
    ),
    (
        "null section",
        lambda d: runtime_of(d).update(treasury=None),
        r"^genesis\.runtime\.treasury: expected a JSON object, got null",
    ),
    (
        "total too high",
        lambda d: runtime_of(d)["balances"]["balances"][0].__setitem__(1, 2_000_000 * FLOCK),
        r"^genesis\.runtime\.balances\.balances: the balances sum to .* \(off by \+1000000000000000\)",
    ),
    (
        "total too low",
        lambda d: runtime_of(d)["balances"]["balances"].pop(),
        r"total supply must be exactly 1000000000000000000",
    ),
    (
        "duplicate account",
        duplicate_account,
        r"^genesis\.runtime\.balances\.balances\[8\]: account \w+ is listed twice \(first at \[0\]\)",
    ),
    (
        "balance entry shape",
        lambda d: runtime_of(d)["balances"]["balances"].__setitem__(0, {"who": 1}),
        r"balances\[0\]: expected \[SS58 address, amount in base units\]",
    ),
    (
        "null in a list",
        lambda d: runtime_of(d)["session"]["authorities"].append(None),
        r"^genesis\.runtime\.session\.authorities\[1\]: null is not allowed",
    ),
    (
        "negative in a list",
        lambda d: runtime_of(d)["balances"]["balances"][2].__setitem__(1, -5),
        r"balances\[2\]\[1\]: expected an unsigned 64-bit integer, got -5",
    ),
    (
        "balance entry length",
        lambda d: runtime_of(d)["balances"]["balances"][0].append(1),
        r"balances\[0\]: expected \[SS58 address, amount in base units\]",
    ),
    (
        "string amount",
        lambda d: runtime_of(d)["balances"]["balances"][0].__setitem__(1, "1000"),
        r"balances\[0\]\[1\]: expected an unsigned 64-bit integer",
    ),
    (
        "below existential deposit",
        lambda d: move_funds(d, 1 - runtime_of(d)["balances"]["balances"][0][1]),
        r"balances\[0\]\[1\]: 1 is below the existential deposit",
    ),
    (
        "address typo",
        lambda d: runtime_of(d)["balances"]["balances"][0].__setitem__(0, address_of("alice")[:-1] + "x"),
        r"balances\[0\]\[0\]: .*(checksum|SS58)",
    ),
    (
        "hex account",
        lambda d: runtime_of(d)["balances"]["balances"][0].__setitem__(
            0, "0x" + decode_address(runtime_of(d)["balances"]["balances"][0][0]).hex()
        ),
        r"balances\[0\]\[0\]: write accounts as SS58 addresses",
    ),
    (
        "bad dust receiver",
        lambda d: runtime_of(d)["balances"].update(dustReceiver="nobody"),
        r"^genesis\.runtime\.balances\.dustReceiver: ",
    ),
    (
        "no authorities",
        lambda d: runtime_of(d)["session"].update(authorities=[]),
        r"^genesis\.runtime\.session\.authorities: at least one authority",
    ),
    (
        "duplicate authority",
        lambda d: runtime_of(d)["session"]["authorities"].append(authority_entry(dev_keypair("alice"))),
        r"authorities\[1\]: authority \w+ is listed twice",
    ),
    (
        "authority not a key",
        lambda d: runtime_of(d)["session"]["authorities"][0].__setitem__(0, encode_address(TREASURY_ACCOUNT)),
        r"authorities\[0\]\[0\]: \w+ is not a valid ed25519 public key",
    ),
    (
        "dev keys on a live chain",
        live_with_alice,
        r"^genesis\.runtime\.balances\.balances\[\d\]\[0\]: //\w+ is a well-known dev key",
    ),
    (
        "unknown raw field",
        lambda d: d["genesis"].update(raw={"top": {}, "childrenDefault": {}}),
        r"^genesis\.raw\.childrenDefault: unknown field",
    ),
    (
        "bad raw hex",
        lambda d: d["genesis"].update(raw={"top": {"0xzz": "0x00"}}),
        r"^genesis\.raw\.top: '0xzz' is not valid hex",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, e) for _, m, e in INVALID], ids=[i for i, _, _ in INVALID])
def test_malformed_spec_is_refused_naming_the_field(mutate: Mutation, message: str) -> None:
    data = spec_dict()
    mutate(data)
    with pytest.raises(GenesisError, match=message):
        validate(data)


def test_dev_authority_refused_on_a_live_chain_even_when_unfunded() -> None:
    stranger = Keypair.from_seed(bytes(range(32)))
    data = spec_dict()
    data["chainType"] = "Live"
    entries = runtime_of(data)["balances"]["balances"]
    dev_total = sum(amount for address, amount in entries if find_dev_name(decode_address(address)))
    entries[:] = [entry for entry in entries if not find_dev_name(decode_address(entry[0]))]
    entries.append([encode_address(stranger.public_key), dev_total])
    with pytest.raises(GenesisError, match=r"session\.authorities\[0\]\[0\]: //Alice is a well-known dev key"):
        validate(copy.deepcopy(data))
    runtime_of(data)["session"]["authorities"] = [authority_entry(stranger)]
    for staker in runtime_of(data)["staking"]["stakers"]:
        staker[0] = encode_address(stranger.public_key)
    assert not validate(data).is_development


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"name": "a", "name": "b"}', "the key 'name' appears twice"),
        ('{"x": 1.5}', "1.5 is not an integer"),
        ('{"x": NaN}', "NaN is not an integer"),
        ("[]", "chain spec: expected a JSON object, got a list"),
    ],
)
def test_json_that_is_not_a_spec_is_refused(text: str, message: str) -> None:
    with pytest.raises(GenesisError, match=message):
        parse_chain_spec(text)


def test_load_by_path_and_unknown_names(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(load_chain_spec("local").to_json())
    assert load_chain_spec(path) == load_chain_spec(str(path)) == load_chain_spec("local")
    with pytest.raises(GenesisError, match=r"no chain spec 'dve': not a shipped spec \(dev, local\) nor a file"):
        load_chain_spec("dve")
    with pytest.raises(GenesisError, match="no chain spec"):
        load_chain_spec(tmp_path)


def test_spec_is_a_private_copy_of_its_input() -> None:
    data = spec_dict()
    spec = validate(data)
    runtime_of(data)["timestamp"]["minimumPeriod"] = 1
    data["properties"]["tokenSymbol"] = "X"
    assert spec == load_chain_spec("dev")
    assert spec.to_dict()["genesis"] is not spec.genesis


def test_authorities_in_state_match_the_spec() -> None:
    spec = load_chain_spec("local")
    state = read_genesis_state(build_genesis_state(spec))
    assert session.get_authorities(state) == tuple(
        decode_address(signing) for _, signing, _ in spec.runtime_genesis["session"]["authorities"]
    )


# --- hostile input: every malformed spec is a GenesisError, nothing else -------------------


def dev_text_with(old: str, new: str) -> str:
    """The dev spec's text with the first ``old`` replaced by ``new``."""
    text = (SPECS_DIR / "dev.json").read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than 16 levels deep"),
        ("[" * 100_000, "nested more than 16 levels deep"),
        ('{"name": ' + "[" * 900 + "]" * 900 + "}", "nested more than 16 levels deep"),
        (dev_text_with('"tokenSymbol"', '"deep": ' + "[" * 17 + "]" * 17 + ', "tokenSymbol"'), "nested more than 16"),
        (dev_text_with('"blockHashCount": 2400', '"blockHashCount": ' + "9" * 5_000), "5000 digits"),
        (dev_text_with('"blockHashCount": 2400', '"blockHashCount": -' + "9" * 5_000), "5000 digits"),
        (" " * (16 * 1024 * 1024 + 1), "chain spec: larger than 16 MiB"),
    ],
    ids=[
        "deep list",
        "unclosed brackets",
        "deep but below Python's limit",
        "deep property",
        "5000 digits",
        "negative",
        "huge",
    ],
)
def test_hostile_json_is_refused_before_parsing(text: str, message: str) -> None:
    with pytest.raises(GenesisError, match=message):
        parse_chain_spec(text)


def test_a_spec_nested_to_the_limit_still_parses() -> None:
    spec = parse_chain_spec(dev_text_with('"tokenSymbol"', '"deep": ' + "[" * 13 + "]" * 13 + ', "tokenSymbol"'))
    assert spec.properties["deep"] == [[[[[[[[[[[[[]]]]]]]]]]]]]
    brackets_in_strings = json.dumps(["[" * 100, '"' + "{" * 100, "\\", "]" * 100])
    with pytest.raises(GenesisError, match="^chain spec: expected a JSON object, got a list$"):
        parse_chain_spec(brackets_in_strings)


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(1 << 40)  # sparse: a terabyte that takes no disk space
    with pytest.raises(GenesisError, match=r"huge\.json: larger than 16 MiB"):
        load_chain_spec(path)


def stakers_of(data: dict[str, Any]) -> list[Any]:
    return runtime_of(data)["staking"]["stakers"]


HOSTILE: list[tuple[str, Mutation, str]] = [
    ("integer beyond u64 in properties", lambda d: d["properties"].update(x=10**100), r"^properties\.x: expected an"),
    ("negative in properties", lambda d: d["properties"].update(x=[-1]), r"^properties\.x\[0\]: expected an unsigned"),
    (
        "staker a string",
        lambda d: stakers_of(d).__setitem__(0, "abc"),
        r"^genesis\.runtime\.staking\.stakers\[0\]: expected \[",
    ),
    (
        "staker too short",
        lambda d: stakers_of(d)[0].pop(),
        r"staking\.stakers\[0\]: expected \[validator SS58 address, ",
    ),
    ("staker too long", lambda d: stakers_of(d)[0].append(0), r"staking\.stakers\[0\]: expected \["),
    (
        "staker an object",
        lambda d: stakers_of(d).__setitem__(0, {"a": 1, "b": 2, "c": 3}),
        r"stakers\[0\]: expected \[",
    ),
    (
        "staker address a number",
        lambda d: stakers_of(d)[0].__setitem__(0, 5),
        r"stakers\[0\]\[0\]: expected an SS58 address",
    ),
    ("staker address hex", lambda d: stakers_of(d)[0].__setitem__(0, "0x" + "11" * 32), r"stakers\[0\]\[0\]: "),
    (
        "staker bond a string",
        lambda d: stakers_of(d)[0].__setitem__(1, "100000000000000"),
        r"stakers\[0\]\[1\]: expected an",
    ),
    (
        "staker bond a boolean",
        lambda d: stakers_of(d)[0].__setitem__(1, True),
        r"stakers\[0\]\[1\]: expected an unsigned",
    ),
    (
        "staker commission a string",
        lambda d: stakers_of(d)[0].__setitem__(2, "0"),
        r"stakers\[0\]\[2\]: expected a commission",
    ),
    (
        "staker commission a boolean",
        lambda d: stakers_of(d)[0].__setitem__(2, True),
        r"stakers\[0\]\[2\]: expected a commission",
    ),
    (
        "staker commission beyond u32",
        lambda d: stakers_of(d)[0].__setitem__(2, 1 << 40),
        r"stakers\[0\]\[2\]: expected a commission",
    ),
    (
        "staker listed twice",
        lambda d: stakers_of(d).append(list(stakers_of(d)[0])),
        r"stakers\[1\]: validator \w+ is listed twice",
    ),
    (
        "authority a number",
        lambda d: runtime_of(d)["session"]["authorities"][0].__setitem__(1, 7),
        r"authorities\[0\]\[1\]: expected an SS58",
    ),
    (
        "balance amount a boolean",
        lambda d: runtime_of(d)["balances"]["balances"][0].__setitem__(1, True),
        r"balances\[0\]\[1\]: expected an",
    ),
    (
        "balance entry a string",
        lambda d: runtime_of(d)["balances"]["balances"].__setitem__(0, "ab"),
        r"balances\[0\]: expected \[SS58",
    ),
    ("lone surrogate in the name", lambda d: d.update(name="Dev\ud800"), r"^name: .*not valid Unicode"),
    (
        "lone surrogate in a property",
        lambda d: d["properties"].update(tokenSymbol="\udc80"),
        r"^properties\.tokenSymbol: .*Unicode",
    ),
    ("non-string key", lambda d: d["properties"].update({1: 2}), r"^properties: the key 1 is not a string"),
    (
        "a float",
        lambda d: runtime_of(d)["timestamp"].update(minimumPeriod=500.0),
        r"minimumPeriod: 500\.0 is not an integer",
    ),
    ("a tuple", lambda d: d.update(bootNodes=()), r"^bootNodes: a tuple is not a JSON value"),
    (
        "zero-length slots",
        lambda d: runtime_of(d)["timestamp"].update(minimumPeriod=0),
        r"^genesis\.runtime\.timestamp\.minimumPeriod: must be 1 to 9223372036854775807 ms",
    ),
    (
        "slots beyond u64",
        lambda d: runtime_of(d)["timestamp"].update(minimumPeriod=1 << 63),
        r"minimumPeriod: must be 1 to 9223372036854775807 ms \(a slot lasts twice it\), got 9223372036854775808",
    ),
    ("a cycle", lambda d: d["properties"].update(loop=d["properties"]), r"nested more than 16 levels deep"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, e) for _, m, e in HOSTILE], ids=[i for i, _, _ in HOSTILE])
def test_hostile_value_is_a_genesis_error_naming_the_field(mutate: Mutation, message: str) -> None:
    data = spec_dict()
    mutate(data)
    with pytest.raises(GenesisError, match=message):
        validate(data)


SHIPPED = [spec_dict(name) for name in SHIPPED_SPECS]


def assert_parses_or_refuses(parse: Callable[[Any], ChainSpec], value: Any) -> None:
    """``parse`` gives a spec or one GenesisError of one line; any other exception fails the test."""
    try:
        parse(value)
    except GenesisError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_text(SHIPPED))
def test_any_mutation_of_a_shipped_spec_parses_or_is_a_genesis_error(text: str) -> None:
    assert_parses_or_refuses(parse_chain_spec, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(SHIPPED, python_values=True))
def test_any_python_value_validates_or_is_a_genesis_error(data: Any) -> None:
    assert_parses_or_refuses(validate, data)


def test_a_spec_where_governance_could_never_cancel_a_slash_is_refused() -> None:
    """The audit found the dev chain's slashes applying 20 blocks after their offence while
    governance needed 37 to cancel one. Slower governance than the deferral is refused."""
    data = spec_dict()
    runtime = data["genesis"]["runtime"]
    runtime["staking"]["eraLengthBlocks"] = 10  # slashes wait 2 eras: 20 blocks
    with pytest.raises(GenesisError, match=r"genesis\.runtime\.governance: governance could never cancel"):
        validate(data)
    runtime["offences"]["slashDeferEras"] = 0  # no deferral: slashes are not cancellable on purpose
    assert validate(data).runtime_genesis["offences"]["slashDeferEras"] == 0

"""The benchmarks keep running: each at a tiny size, checking what it reports (never its speed).

They live outside the package (``bench/``), so they are loaded from their files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_import_transfers_reports_a_ratio_and_its_breakdown():
    bench = load("import_transfers")
    small = bench.run(transfers=8, blocks=2, rounds=1)
    larger = bench.run(transfers=8, blocks=2, rounds=1, idle_accounts=200)
    assert larger["state_keys"] == small["state_keys"] + 200
    for result in (small, larger):
        assert result["import_per_transfer_in_raw_verifies"] > 0 and result["transfers_per_s"] > 0
        assert result["rounds_in_raw_verifies"] == [result["import_per_transfer_in_raw_verifies"]]
        assert result["raw_verify_us"] > 0 and result["raw_verify_distinct_over_repeated"] > 0
        breakdown = result["breakdown_in_raw_verifies"]
        assert set(breakdown) == {
            "decode",
            "signatures",
            "execute_including_signatures",
            "undo_and_delta",
            "state_root",
            "commit",
        }
        assert all(ratio > 0 for ratio in breakdown.values())


def test_state_tree_reports_costs_proofs_and_the_collector():
    bench = load("state_tree")
    report = bench.run([1_500], blocks=2, block_size=100)
    (row,) = report["sizes"]
    assert row["keys"] == 1_500 and row["blocks"] == 2 and row["block_size"] == 100
    assert row["apply_us_per_key"] > 0 and row["commit_us_per_key"] > 0 and row["nodes_written_per_key"] > 0
    assert row["proof_bytes_mean"] > 0 and row["proof_bytes_max"] >= row["proof_bytes_mean"]
    # Updates change leaves in place; only the block's 10 inserts leave objects behind (a
    # leaf, its key's prefix group, a leaf moved down, sometimes a node with its two lists).
    assert 0 < row["oldest_generation_objects_per_block"] < row["block_size"]
    assert row["full_collections"] >= 0 and row["longest_full_collection_ms"] >= 0
    # A pause is reported exactly when a full collection ran (one takes milliseconds here).
    assert (row["full_collections"] == 0) == (row["longest_full_collection_ms"] == 0)


def test_rpc_reports_requests_per_second_for_one_and_eight_clients():
    report = load("rpc").run(requests=16, rounds=1, in_process=True)
    assert set(report["figures"]) == {
        f"{transport} {method}" for transport in ("http", "ws") for method in ("chain_getHeader", "state_getStorage")
    }
    for row in report["figures"].values():
        assert row["requests_per_s_1_client"] > 0 and row["requests_per_s_8_clients"] > 0 and row["ratio_8_to_1"] > 0


def test_hook_weights_reports_declared_and_measured_weights():
    report = load("hook_weights").run(validators=4, delegators=8, votes=4, rounds=1)
    assert report["transfer_us"] > 0 and report["ordinary_block_ms"] > 0
    assert len(report["blocks"]) == 2
    for row in report["blocks"].values():
        assert row["declared"] > 0 and row["ms"] > 0

"""Benchmark of the authenticated state tree (flockchain.state).

For each size N it builds a tree of N random keys (the bulk path: one ``apply`` on an empty
tree), commits it to LevelDB, then imports ``--blocks`` blocks of ``--block-size`` touched
keys (mostly updates of existing keys, some inserts) and reports:

* apply: µs per touched key (tree work plus hashing keys and values, no disk) and that cost
  divided by one blake2b-256 of 64 bytes. Both are timed on the thread's CPU clock, so
  LevelDB's background compaction and other processes taking the CPU are not counted; the
  hash is timed again right after every block and each block gets its own ratio, and the
  median block is reported, so load that changes during the run skews neither side (the
  wall-clock median is reported too);
* commit: µs per touched key to serialise the block's nodes and write them to LevelDB;
* collector: objects per block that the blocks left, alive, in the cyclic GC's oldest
  generation, and the full collections that ran during the blocks with their longest pause.
  Every object there counts toward the next full collection, which scans the whole tree
  (docs/decisions.md); updates change nodes in place, so this is about what inserts add;
* root: the time to compute a root from scratch over N keys (the bulk build);
* proofs: mean and max encoded size, and verification time;
* reopen: loading the latest tree from LevelDB into memory (a node restart), hashes checked;
* memory: resident size once the tree is built (tree, values, the bench's own key list), and
  the process's peak so far (the bulk commit's write batch, at the largest size).

Run ``python bench/state_tree.py --sizes 10000,100000,1000000 [--json]``; ``run(sizes)``
returns the same figures as a dict (``bench/primitives.py`` calls it).
"""

import argparse
import gc
import hashlib
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flockchain.abc import WriteBatch  # noqa: E402
from flockchain.db import LevelDBStore  # noqa: E402
from flockchain.db.schema import STATE_NODE  # noqa: E402
from flockchain.state import StateTree, verify_proof  # noqa: E402

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
KEY_SIZE = 32
VALUE_SIZE = 40
INSERT_SHARE = 0.1  # of a block's touched keys; the rest update existing keys
PROOF_SAMPLES = 1_000


def blake2b_64_us(number: int = 20_000) -> float:
    """One blake2b-256 of 64 bytes, in thread CPU µs (best of three runs of ``number``)."""
    data = os.urandom(64)
    best = min(
        timeit.repeat(
            lambda: hashlib.blake2b(data, digest_size=32).digest(),
            number=number,
            repeat=3,
            timer=time.thread_time,
        )
    )
    return best / number * 1e6


def _block(rng: random.Random, keys: list[bytes], size: int) -> dict[bytes, bytes]:
    """A block's changes: random updates of existing keys plus fresh inserts (appended to keys)."""
    changes = {}
    inserts = int(size * INSERT_SHARE)
    for key in rng.sample(keys, size - inserts):
        changes[key] = rng.randbytes(VALUE_SIZE)
    for _ in range(inserts):
        key = rng.randbytes(KEY_SIZE)
        keys.append(key)
        changes[key] = rng.randbytes(VALUE_SIZE)
    return changes


def _rss_mib() -> int:
    """Resident memory now (Linux), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def bench_size(size: int, *, blocks: int, block_size: int) -> dict:
    """All figures for one tree size."""
    rng = random.Random(size)
    keys = [rng.randbytes(KEY_SIZE) for _ in range(size)]
    initial = {key: rng.randbytes(VALUE_SIZE) for key in keys}
    with tempfile.TemporaryDirectory(prefix="flock-bench-") as path:
        store = LevelDBStore(path)
        tree = StateTree(store, prune_depth=16)
        started = time.perf_counter()
        tree.apply(initial)
        build_s = time.perf_counter() - started
        del initial
        gc.collect()
        rss_after_build = _rss_mib()
        started = time.perf_counter()
        tree.commit(0)
        store.compact()
        build_commit_s = time.perf_counter() - started

        apply_us, apply_wall_us, ratios, commit_us = [], [], [], []
        nodes_written = 0
        gc.collect()
        oldest_before = {id(thing) for thing in gc.get_objects(generation=2)}
        full_pauses: list[float] = []
        collection_started = 0.0

        def time_full_collections(phase: str, info: dict) -> None:
            nonlocal collection_started
            if phase == "start":
                collection_started = time.perf_counter()
            elif info["generation"] == 2:
                full_pauses.append(time.perf_counter() - collection_started)

        gc.callbacks.append(time_full_collections)
        for number in range(1, blocks + 1):
            changes = _block(rng, keys, block_size)
            wall, cpu = time.perf_counter(), time.thread_time()
            tree.apply(changes)
            apply_us.append((time.thread_time() - cpu) / block_size * 1e6)
            apply_wall_us.append((time.perf_counter() - wall) / block_size * 1e6)
            ratios.append(apply_us[-1] / blake2b_64_us())
            batch = WriteBatch()
            started = time.perf_counter()
            tree.commit(number, batch)
            store.write(batch)
            commit_us.append((time.perf_counter() - started) / block_size * 1e6)
            nodes_written += sum(1 for key, value in batch if value and key[:1] == STATE_NODE)
        gc.callbacks.remove(time_full_collections)
        gc.collect(1)  # the blocks' survivors join the oldest generation, as they would in time
        oldest_added = sum(1 for thing in gc.get_objects(generation=2) if id(thing) not in oldest_before)
        del oldest_before
        touched = blocks * block_size

        proof_sizes, verify_s = [], 0.0
        root = tree.root
        for key in rng.sample(keys, PROOF_SAMPLES):
            value = tree.get(key)
            encoded = tree.prove(key).encode()
            proof_sizes.append(len(encoded))
            started = time.perf_counter()
            verify_proof(root, key, value, encoded)
            verify_s += time.perf_counter() - started
        absent_sizes = [len(tree.prove(rng.randbytes(KEY_SIZE)).encode()) for _ in range(200)]
        del tree
        gc.collect()
        started = time.perf_counter()
        reopened = StateTree(store, prune_depth=16)
        reopen_s = time.perf_counter() - started
        assert reopened.root == root
        del reopened
        store.close()

    return {
        "keys": size,
        "block_size": block_size,
        "blocks": blocks,
        "apply_us_per_key": round(statistics.median(apply_us), 3),
        "apply_wall_us_per_key": round(statistics.median(apply_wall_us), 3),
        "apply_blake2b_ratio": round(statistics.median(ratios), 1),
        "apply_blake2b_ratio_min": round(min(ratios), 1),
        "commit_us_per_key": round(statistics.median(commit_us), 3),
        "nodes_written_per_key": round(nodes_written / touched, 2),
        "oldest_generation_objects_per_block": round(oldest_added / blocks),
        "full_collections": len(full_pauses),
        "longest_full_collection_ms": round(max(full_pauses, default=0.0) * 1e3, 1),
        "root_from_scratch_s": round(build_s, 3),
        "root_from_scratch_us_per_key": round(build_s / size * 1e6, 3),
        "initial_commit_and_compact_s": round(build_commit_s, 3),
        "reopen_s": round(reopen_s, 3),
        "proof_bytes_mean": round(statistics.fmean(proof_sizes), 1),
        "proof_bytes_max": max(proof_sizes),
        "absence_proof_bytes_mean": round(statistics.fmean(absent_sizes), 1),
        "absence_proof_bytes_max": max(absent_sizes),
        "proof_verify_us": round(verify_s / PROOF_SAMPLES * 1e6, 2),
        "rss_after_build_mib": rss_after_build,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def run(sizes=DEFAULT_SIZES, *, blocks: int = 20, block_size: int = 1_000) -> dict:
    """Benchmark every size; returns ``{"blake2b_64_us": ..., "sizes": [per-size dicts]}``.

    Ratios are per block against a hash timed right after it; ``blake2b_64_us`` is one
    more measurement at the end, for the record.
    """
    results = [bench_size(size, blocks=blocks, block_size=block_size) for size in sizes]
    return {"blake2b_64_us": round(blake2b_64_us(200_000), 4), "sizes": results}


def print_report(report: dict) -> None:
    """Print :func:`run`'s figures as a table, one row per size."""
    print(f"one blake2b-256 of 64 bytes: {report['blake2b_64_us']:.3f} µs (thread CPU)")
    columns = [
        ("keys", "keys"),
        ("apply_us_per_key", "apply µs/key"),
        ("apply_wall_us_per_key", "(wall)"),
        ("apply_blake2b_ratio", "× blake2b"),
        ("apply_blake2b_ratio_min", "(min)"),
        ("commit_us_per_key", "commit µs/key"),
        ("nodes_written_per_key", "nodes/key"),
        ("oldest_generation_objects_per_block", "GC-old objs/block"),
        ("full_collections", "full GCs"),
        ("root_from_scratch_s", "root from scratch s"),
        ("proof_bytes_mean", "proof B mean"),
        ("proof_bytes_max", "proof B max"),
        ("absence_proof_bytes_max", "absent B max"),
        ("proof_verify_us", "verify µs"),
        ("reopen_s", "reopen s"),
        ("rss_after_build_mib", "RSS MiB"),
        ("peak_rss_mib", "peak MiB"),
    ]
    print("  ".join(title for _, title in columns))
    for row in report["sizes"]:
        print("  ".join(f"{row[name]!s:>{len(title)}}" for name, title in columns))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated tree sizes (default: %(default)s)",
    )
    parser.add_argument("--blocks", type=int, default=20, help="blocks imported per size")
    parser.add_argument("--block-size", type=int, default=1_000, help="touched keys per block")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    report = run(sizes, blocks=args.blocks, block_size=args.block_size)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
